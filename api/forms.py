"""Parsers for the booking forms: pure functions, no I/O, no clock.

Parse, don't validate: each `parse_*` returns either the normalised, typed value that must be sent,
or an `Invalid` (a whole form: `FormErrors`). A form sends what its parser returned, never the raw text.

Messages are short, fit to show inline under the field (edge case 19 of docs/rules.md: bad input never reaches
the backend). "Today" is always a parameter: the caller decides which calendar the check uses. The
rules are never looser than the backend's (docs/backend.md, api/backend/), so a parsed value is not
answered 422 for the same field. Build the form dataclasses through their parsers only.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why a field's text was refused: a short message, e.g. "3 letters, like LHR"."""

    message: str


FormErrors = dict[str, str]
"""Field name -> message; a parser returns it only when it is non-empty."""

FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)
# The backend's model caps a name at 200 characters, but its booking check rejects more than 100:
# the stricter one is what a form must respect.
NAME_MAX = 100
EMAIL_MAX = 254
SEAT_COLUMNS = "ABCDEF"
# The backend's login model: 1 to 64 characters of username, at most 256 of password.
_USERNAME_MAX = 64
_PASSWORD_MAX = 256

# ASCII digits and letters only: str.isdigit() would also accept "²" or Arabic-Indic digits, and
# str.upper() turns "ß" into "SS" and a dotless i (U+0131) into "I".
_CODE = re.compile(r"[A-Za-z]{3}")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_CARD = re.compile(r"[0-9]{12,19}")
_CARD_GROUPING = re.compile(r"[\s-]")
# Month of one or two digits, year of two or four; spaces only around the parts, not inside them.
_EXPIRY = re.compile(r"\s*([0-9]{1,2})\s*/\s*([0-9]{2}|[0-9]{4})\s*")
_CVC = re.compile(r"[0-9]{3,4}")
_SEAT = re.compile(r"([1-9][0-9]?)([A-Za-z])")
_NAME_PUNCTUATION = frozenset(" -'.\u2019")  # \u2019: the typographic apostrophe a phone keyboard types


# -- single fields ------------------------------------------------------------------------------


def parse_airport_code(text: str, known_codes: Collection[str] | None = None) -> str | Invalid:
    """3 letters, sent upper-case ("lhr " -> "LHR"); with `known_codes`, also one of them."""
    stripped = text.strip()
    if not stripped:
        return Invalid("required")
    if not _CODE.fullmatch(stripped):
        return Invalid("3 letters, like LHR")
    code = stripped.upper()
    if known_codes is not None and code not in known_codes:
        return Invalid(f"no airport with code {code}")
    return code


def parse_travel_date(text: str, today: dt.date) -> dt.date | Invalid:
    """Strict YYYY-MM-DD, a real date, from `today` to 2099-12-31 (the backend's schedule)."""
    stripped = text.strip()
    if not stripped:
        return Invalid("required")
    # date.fromisoformat alone would also take "20250601" and "2025-W23-1".
    match = _DATE.fullmatch(stripped)
    if match is None:
        return Invalid(f"YYYY-MM-DD, like {(today + dt.timedelta(days=30)).isoformat()}")
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return Invalid("no such date")
    if day < max(today, FIRST_DATE):
        return Invalid("in the past")
    if day > LAST_DATE:
        return Invalid(f"no flights after {LAST_DATE.isoformat()}")
    return day


def parse_name(text: str) -> str | Invalid:
    """At most NAME_MAX characters, letters with spaces, hyphens, apostrophes and dots.

    Sent in NFC (so "é" typed as e + combining accent is one letter), with runs of whitespace
    collapsed to one space and none at the ends.
    """
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        return Invalid("required")
    if len(name) > NAME_MAX:
        return Invalid(f"at most {NAME_MAX} characters")
    # Category L is letters, M the combining marks some scripts need on top of them.
    letters = [unicodedata.category(ch)[0] in "LM" for ch in name]
    if not all(ok or ch in _NAME_PUNCTUATION for ch, ok in zip(name, letters, strict=True)):
        return Invalid("letters, spaces, - ' and . only")
    if not any(letters):
        return Invalid("needs at least one letter")
    return name


def parse_email(text: str) -> str | Invalid:
    """Pragmatic, not RFC 5322: one @, something before it, a dotted domain after it, no spaces.

    Sent stripped.
    """
    email = text.strip()
    if not email:
        return Invalid("required")
    if len(email) > EMAIL_MAX:
        return Invalid(f"at most {EMAIL_MAX} characters")
    if any(ch.isspace() for ch in email):
        return Invalid("no spaces")
    local, at, domain = email.partition("@")
    if not at or not local or "@" in domain:
        return Invalid("like name@example.com")
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        return Invalid("domain like example.com")
    return email


def luhn_ok(digits: str) -> bool:
    """True if `digits` (ASCII digits only, at least one) passes the Luhn checksum."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    return _luhn_sum(digits) % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that, appended to `payload` (ASCII digits), makes it pass the Luhn checksum."""
    if not re.fullmatch(r"[0-9]*", payload):
        raise ValueError("payload must be ASCII digits")
    # Appending a "0" places every payload digit where it will sit in the full number.
    return str(-_luhn_sum(payload + "0") % 10)


def _luhn_sum(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def parse_card_number(text: str) -> str | Invalid:
    """12 to 19 ASCII digits passing Luhn, as printed on the card (grouped with spaces or dashes).

    Sent as the digits alone: "4242-4242 4242 4242" -> "4242424242424242".
    """
    number = _CARD_GROUPING.sub("", text)
    if not number:
        return Invalid("required")
    if not number.isascii() or not number.isdigit():
        return Invalid("digits only")
    if not _CARD.fullmatch(number):
        return Invalid("12 to 19 digits")
    if not luhn_ok(number):
        return Invalid("not a valid card number (check for a typo)")
    return number


def parse_expiry(text: str, today: dt.date) -> str | Invalid:
    """Month/year, not before today's month (a card is valid to the end of that month).

    Accepts "MM/YY", a one-digit month ("1/30") and a four-digit year from 2000 to 2099
    ("12/2030"), with spaces around the parts ("12 / 30"); always sent as the backend's "MM/YY".
    """
    if not text.strip():
        return Invalid("required")
    match = _EXPIRY.fullmatch(text)
    if match is None:
        return Invalid("MM/YY, like 08/27")
    month, year = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        return Invalid("month must be 01 to 12")
    if len(match[2]) == 2:
        year += 2000
    elif not 2000 <= year <= 2099:  # the backend reads YY as 20YY: no other century can be sent
        return Invalid("year must be 2000 to 2099")
    if (year, month) < (today.year, today.month):
        return Invalid("the card has expired")
    return f"{month:02d}/{year % 100:02d}"


def parse_cvc(text: str) -> str | Invalid:
    """3 or 4 ASCII digits, sent stripped."""
    cvc = text.strip()
    if not cvc:
        return Invalid("required")
    if not _CVC.fullmatch(cvc):
        return Invalid("3 or 4 digits")
    return cvc


def parse_seat_code(text: str, *, rows: int | None = None, columns: str = SEAT_COLUMNS) -> str | Invalid:
    """Row number and column letter, sent upper-case (" 12c " -> "12C").

    With `rows`, the row must exist on the aircraft.
    """
    stripped = text.strip()
    if not stripped:
        return Invalid("required")
    match = _SEAT.fullmatch(stripped)
    if match is None:
        return Invalid("row and letter, like 12C")
    row, column = int(match[1]), match[2].upper()
    if column not in columns:
        return Invalid(f"no seat letter {column} (only {columns[0]}-{columns[-1]})")
    if rows is not None and row > rows:
        return Invalid(f"no row {row} (rows 1-{rows})")
    return f"{row}{column}"


def parse_username(text: str) -> str | Invalid:
    """Sent stripped; at most 64 characters (the backend's limit)."""
    username = text.strip()
    if not username:
        return Invalid("required")
    if len(username) > _USERNAME_MAX:
        return Invalid(f"at most {_USERNAME_MAX} characters")
    return username


def parse_password(text: str) -> str | Invalid:
    """Sent exactly as typed, spaces included (a password is what was typed); at most 256 characters."""
    if not text:
        return Invalid("required")
    if len(text) > _PASSWORD_MAX:
        return Invalid(f"at most {_PASSWORD_MAX} characters")
    return text


# -- whole forms --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchQuery:
    origin: str
    destination: str
    date: dt.date


@dataclass(frozen=True, slots=True)
class Passenger:
    name: str
    email: str

    def as_json(self) -> dict[str, str]:
        """The backend's `PassengerIn` body."""
        return {"name": self.name, "email": self.email}


@dataclass(frozen=True, slots=True)
class Payment:
    """A parsed card. Its repr masks the number and the CVC, so neither can reach a log or a traceback."""

    card_number: str
    expiry: str
    cvc: str

    def as_json(self) -> dict[str, str]:
        """The backend's `PaymentIn` body."""
        return {"card_number": self.card_number, "expiry": self.expiry, "cvc": self.cvc}

    def __repr__(self) -> str:
        # The last four digits are what a receipt shows; a number too short to hide is not shown at all.
        last4 = self.card_number[-4:] if len(self.card_number) >= 12 else ""
        return f"Payment(card_number='****{last4}', expiry={self.expiry!r}, cvc='***')"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A parsed sign-in. Its repr hides the password."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


def _errors(**results: object) -> FormErrors:
    return {field: result.message for field, result in results.items() if isinstance(result, Invalid)}


def parse_search(
    origin: str,
    destination: str,
    date_text: str,
    today: dt.date,
    known_codes: Collection[str] | None = None,
) -> SearchQuery | FormErrors:
    """The flight search form: fields `origin`, `destination`, `date`; the trip must go somewhere."""
    from_code = parse_airport_code(origin, known_codes)
    to_code = parse_airport_code(destination, known_codes)
    day = parse_travel_date(date_text, today)
    errors = _errors(origin=from_code, destination=to_code, date=day)
    # Comparing two codes only means something once each is a code (the date may still be bad).
    if isinstance(from_code, str) and from_code == to_code:
        errors["destination"] = "same as the origin"
    if isinstance(from_code, Invalid) or isinstance(to_code, Invalid) or isinstance(day, Invalid) or errors:
        return errors
    return SearchQuery(from_code, to_code, day)


def parse_passenger(name: str, email: str) -> Passenger | FormErrors:
    """One passenger: fields `name`, `email`."""
    parsed_name, parsed_email = parse_name(name), parse_email(email)
    if isinstance(parsed_name, Invalid) or isinstance(parsed_email, Invalid):
        return _errors(name=parsed_name, email=parsed_email)
    return Passenger(parsed_name, parsed_email)


def parse_payment(card: str, expiry: str, cvc: str, today: dt.date) -> Payment | FormErrors:
    """The payment form: fields `card_number`, `expiry`, `cvc` (the backend's names)."""
    number, until, code = parse_card_number(card), parse_expiry(expiry, today), parse_cvc(cvc)
    if isinstance(number, Invalid) or isinstance(until, Invalid) or isinstance(code, Invalid):
        return _errors(card_number=number, expiry=until, cvc=code)
    return Payment(number, until, code)


def parse_seat(text: str, available: Collection[str] | None = None) -> str | FormErrors:
    """The seat form: field `seat`; with `available` non-empty (the free seats), one of them."""
    seat = parse_seat_code(text)
    if isinstance(seat, Invalid):
        return {"seat": seat.message}
    if available and seat not in available:
        return {"seat": f"{seat} is not free"}
    return seat


def parse_credentials(username: str, password: str) -> Credentials | FormErrors:
    """The sign-in form: fields `username`, `password`."""
    parsed_username, parsed_password = parse_username(username), parse_password(password)
    if isinstance(parsed_username, Invalid) or isinstance(parsed_password, Invalid):
        return _errors(username=parsed_username, password=parsed_password)
    return Credentials(parsed_username, parsed_password)
