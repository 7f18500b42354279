"""Validators for the booking forms: pure functions, no I/O, no clock (today is a parameter).

Each returns None when the value is fine, else a short message naming the problem; the
`validate_*` helpers return a field -> message map for a whole form (empty when valid).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

FormErrors = dict[str, str]

KNOWN_AIRPORTS = frozenset({"LHR", "CDG", "AMS", "FRA", "MAD", "FCO", "CPH", "DUB", "LIS", "JFK"})
LAST_DATE = dt.date(2099, 12, 31)
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]*)*\.?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_SEAT = re.compile(r"^[1-9][0-9]?[A-K]$")


def airport_code(text: str, known: Collection[str] | None = KNOWN_AIRPORTS) -> str | None:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        return "3 letters, like LHR"
    if known is not None and code not in known:
        return f"{code} is not an airport we fly to"
    return None


def travel_date(text: str, today: dt.date) -> str | None:
    try:
        date = dt.date.fromisoformat(text.strip())
    except ValueError:
        return "a date as YYYY-MM-DD"
    if date < today:
        return "that day has passed"
    if date > LAST_DATE:
        return "no flights after 2099"
    return None


def passenger_name(text: str) -> str | None:
    name = text.strip()
    if not name:
        return "enter the passenger's name"
    if len(name) > 200:
        return "at most 200 characters"
    if not _NAME.match(name):
        return "letters, spaces, hyphens and apostrophes only"
    return None


def email(text: str) -> str | None:
    value = text.strip()
    if not value:
        return "enter an email address"
    if len(value) > 254 or not _EMAIL.match(value):
        return "an email address, like ada@example.com"
    return None


def normalise_card(text: str) -> str:
    return re.sub(r"[\s-]", "", text)


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_number(text: str) -> str | None:
    digits = normalise_card(text)
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return "12 to 19 digits"
    if not luhn_ok(digits):
        return "this card number has a typo (checksum)"
    return None


def card_expiry(text: str, today: dt.date) -> str | None:
    match = re.fullmatch(r"(\d{2})/(\d{2})", text.strip())
    if not match:
        return "MM/YY"
    month, year = int(match.group(1)), 2000 + int(match.group(2))
    if not 1 <= month <= 12:
        return "month 01 to 12"
    if (year, month) < (today.year, today.month):
        return "this card has expired"
    return None


def cvc(text: str) -> str | None:
    return None if re.fullmatch(r"\d{3,4}", text.strip()) else "3 or 4 digits"


def seat_code(text: str) -> str | None:
    return None if _SEAT.match(text.strip().upper()) else "a row and a letter, like 12C"


def _collect(**checks: str | None) -> FormErrors:
    return {name: problem for name, problem in checks.items() if problem}


def validate_search(
    origin: str,
    destination: str,
    date_text: str,
    today: dt.date,
    known: Collection[str] | None = KNOWN_AIRPORTS,
) -> FormErrors:
    errors = _collect(
        origin=airport_code(origin, known),
        destination=airport_code(destination, known),
        date=travel_date(date_text, today),
    )
    if not errors.get("destination") and origin.strip().upper() == destination.strip().upper():
        errors["destination"] = "choose a different airport from the origin"
    return errors


def validate_passenger(name: str, email_text: str) -> FormErrors:
    return _collect(name=passenger_name(name), email=email(email_text))


def validate_payment(card: str, expiry: str, cvc_text: str, today: dt.date) -> FormErrors:
    return _collect(card_number=card_number(card), expiry=card_expiry(expiry, today), cvc=cvc(cvc_text))
