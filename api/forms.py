"""Validators and normalisers for the booking forms: pure functions, no I/O, no clock.

Each `validate_*` returns None when the value is acceptable, else a short message naming the problem,
fit to show inline under the field (DESIGN edge case 19: bad input never reaches the backend).
A validator judges a value as its `normalise_*` function would send it, so the form must send the
normalised value. "Today" is always a parameter: the caller decides which calendar the check uses.
The rules are never looser than the backend's (docs/backend.md), so a form that passes here is not
answered 422 for the same field.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection

FormErrors = dict[str, str]
"""Field name -> message; empty when the whole form is valid."""

FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)
# The backend's model caps a name at 200 characters, but its booking check rejects more than 100:
# the stricter one is what a form must respect.
NAME_MAX = 100
EMAIL_MAX = 254
SEAT_COLUMNS = "ABCDEF"

# ASCII digits only: str.isdigit() would also accept "²" or Arabic-Indic digits.
_CODE = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_CARD = re.compile(r"[0-9]{12,19}")
_EXPIRY = re.compile(r"([0-9]{2})/([0-9]{2})")
_CVC = re.compile(r"[0-9]{3,4}")
_SEAT = re.compile(r"([1-9][0-9]?)([A-Z])")
_NAME_PUNCTUATION = frozenset(" -'.\u2019")  # \u2019: the typographic apostrophe a phone keyboard types

# -- normalisers --------------------------------------------------------------------------------


def normalise_airport_code(text: str) -> str:
    return text.strip().upper()


def normalise_date(text: str) -> str:
    return text.strip()


def normalise_name(text: str) -> str:
    # NFC so that "é" typed as e + combining accent counts as one letter; runs of spaces collapse.
    return " ".join(unicodedata.normalize("NFC", text).split())


def normalise_email(text: str) -> str:
    return text.strip()


def normalise_card_number(text: str) -> str:
    """Digits as printed on the card, grouped with spaces or dashes, without the grouping."""
    return re.sub(r"[\s-]", "", text)


def normalise_expiry(text: str) -> str:
    return re.sub(r"\s", "", text)


def normalise_cvc(text: str) -> str:
    return text.strip()


def normalise_seat_code(text: str) -> str:
    return text.strip().upper()


# -- single fields ------------------------------------------------------------------------------


def validate_airport_code(text: str, known_codes: Collection[str] | None = None) -> str | None:
    """3 letters; with `known_codes`, also one of them (None skips that check)."""
    code = normalise_airport_code(text)
    if not code:
        return "required"
    if not _CODE.fullmatch(code):
        return "3 letters, like LHR"
    if known_codes is not None and code not in known_codes:
        return f"no airport with code {code}"
    return None


def parse_travel_date(text: str) -> dt.date | None:
    """The date in a strict YYYY-MM-DD text, or None if it is not one (a real date, any year)."""
    # date.fromisoformat alone would also take "20250601" and "2025-W23-1".
    match = _DATE.fullmatch(normalise_date(text))
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def validate_travel_date(text: str, today: dt.date) -> str | None:
    """YYYY-MM-DD, a real date, from `today` to 2099-12-31 (the backend's schedule)."""
    stripped = normalise_date(text)
    if not stripped:
        return "required"
    if not _DATE.fullmatch(stripped):
        return "YYYY-MM-DD, like 2025-06-01"
    day = parse_travel_date(stripped)
    if day is None:
        return "no such date"
    if day < max(today, FIRST_DATE):
        return "in the past"
    if day > LAST_DATE:
        return f"no flights after {LAST_DATE.isoformat()}"
    return None


def validate_route(origin: str, destination: str) -> str | None:
    """A form-level check: the trip must go somewhere."""
    if normalise_airport_code(origin) == normalise_airport_code(destination):
        return "same as the origin"
    return None


def validate_name(text: str) -> str | None:
    """Non-empty, at most NAME_MAX characters, letters with spaces, hyphens, apostrophes and dots."""
    name = normalise_name(text)
    if not name:
        return "required"
    if len(name) > NAME_MAX:
        return f"at most {NAME_MAX} characters"
    # Category L is letters, M the combining marks some scripts need on top of them.
    letters = [unicodedata.category(ch)[0] in "LM" for ch in name]
    if not all(ok or ch in _NAME_PUNCTUATION for ch, ok in zip(name, letters, strict=True)):
        return "letters, spaces, - ' and . only"
    if not any(letters):
        return "needs at least one letter"
    return None


def validate_email(text: str) -> str | None:
    """Pragmatic, not RFC 5322: one @, something before it, a dotted domain after it, no spaces."""
    email = normalise_email(text)
    if not email:
        return "required"
    if len(email) > EMAIL_MAX:
        return f"at most {EMAIL_MAX} characters"
    if any(ch.isspace() for ch in email):
        return "no spaces"
    local, at, domain = email.partition("@")
    if not at or not local or "@" in domain:
        return "like name@example.com"
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        return "domain like example.com"
    return None


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


def validate_card_number(text: str) -> str | None:
    number = normalise_card_number(text)
    if not number:
        return "required"
    if not number.isascii() or not number.isdigit():
        return "digits only"
    if not _CARD.fullmatch(number):
        return "12 to 19 digits"
    if not luhn_ok(number):
        return "not a valid card number (check for a typo)"
    return None


def validate_expiry(text: str, today: dt.date) -> str | None:
    """MM/YY, month 01-12, not before today's month: a card is valid to the end of that month."""
    expiry = normalise_expiry(text)
    if not expiry:
        return "required"
    match = _EXPIRY.fullmatch(expiry)
    if match is None:
        return "MM/YY, like 08/27"
    month, year = int(match[1]), 2000 + int(match[2])
    if not 1 <= month <= 12:
        return "month must be 01 to 12"
    if (year, month) < (today.year, today.month):
        return "the card has expired"
    return None


def validate_cvc(text: str) -> str | None:
    cvc = normalise_cvc(text)
    if not cvc:
        return "required"
    if not _CVC.fullmatch(cvc):
        return "3 or 4 digits"
    return None


def validate_seat_code(text: str, *, rows: int | None = None, columns: str = SEAT_COLUMNS) -> str | None:
    """Row number and column letter, like 12C; with `rows`, the row must exist on the aircraft."""
    code = normalise_seat_code(text)
    if not code:
        return "required"
    match = _SEAT.fullmatch(code)
    if match is None:
        return "row and letter, like 12C"
    row, column = int(match[1]), match[2]
    if column not in columns:
        return f"no seat letter {column} (only {columns[0]}-{columns[-1]})"
    if rows is not None and row > rows:
        return f"no row {row} (rows 1-{rows})"
    return None


# -- whole forms --------------------------------------------------------------------------------


def _collect(**results: str | None) -> FormErrors:
    return {field: message for field, message in results.items() if message is not None}


def validate_search(
    origin: str,
    destination: str,
    date_text: str,
    today: dt.date,
    known_codes: Collection[str] | None = None,
) -> FormErrors:
    """The flight search form: fields `origin`, `destination`, `date`."""
    errors = _collect(
        origin=validate_airport_code(origin, known_codes),
        destination=validate_airport_code(destination, known_codes),
        date=validate_travel_date(date_text, today),
    )
    # Comparing two codes only means something once each is a code.
    if "origin" not in errors and "destination" not in errors:
        errors |= _collect(destination=validate_route(origin, destination))
    return errors


def validate_passenger(name: str, email: str) -> FormErrors:
    """One passenger: fields `name`, `email`."""
    return _collect(name=validate_name(name), email=validate_email(email))


def validate_payment(card: str, expiry: str, cvc: str, today: dt.date) -> FormErrors:
    """The payment form: fields `card_number`, `expiry`, `cvc` (the backend's names)."""
    return _collect(
        card_number=validate_card_number(card),
        expiry=validate_expiry(expiry, today),
        cvc=validate_cvc(cvc),
    )
