"""The booking form validators: a table of accepted and refused inputs per field, the whole-form
helpers, and the Luhn checksum against an independent reference (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api import forms

TODAY = dt.date(2026, 5, 9)
KNOWN = frozenset({"LHR", "CDG", "AMS", "FRA", "MAD", "FCO", "CPH", "DUB", "LIS", "JFK"})
TEST_CARD = "4242 4242 4242 4242"


def fullwidth(text: str) -> str:
    """The same text in fullwidth digits (U+FF10..), which str.isdigit() also calls digits."""
    return "".join(chr(0xFF10 + int(ch)) if ch.isdigit() else ch for ch in text)


def reference_luhn_check_digit(payload: str) -> int:
    """The textbook algorithm, written independently of the module: double every second digit
    from the right of the full number (the check digit being the rightmost), sum the digits."""
    total = 0
    for position, ch in enumerate(reversed(payload), start=1):
        digit = int(ch)
        if position % 2 == 1:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10


# -- airport codes --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["LHR", "lhr", " cdg ", "Jfk"])
def test_airport_code_of_three_letters_in_any_case_is_accepted(text: str) -> None:
    assert forms.validate_airport_code(text) is None
    assert forms.validate_airport_code(text, KNOWN) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        ("   ", "required"),
        ("LH", "3 letters, like LHR"),
        ("LHRX", "3 letters, like LHR"),
        ("L1R", "3 letters, like LHR"),
        ("L R", "3 letters, like LHR"),
        ("ÅÄÖ", "3 letters, like LHR"),
    ],
)
def test_airport_code_that_is_not_three_letters_is_refused(text: str, message: str) -> None:
    assert forms.validate_airport_code(text) == message


def test_airport_code_outside_the_known_set_is_refused_only_when_a_set_is_given() -> None:
    assert forms.validate_airport_code("xyz") is None
    assert forms.validate_airport_code("xyz", KNOWN) == "no airport with code XYZ"
    assert forms.validate_airport_code("LHR", set()) == "no airport with code LHR"


def test_airport_code_normaliser_upper_cases_and_strips() -> None:
    assert forms.normalise_airport_code("  lhr ") == "LHR"


# -- travel dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-05-09", "2026-05-10", " 2028-02-29 ", "2099-12-31"])
def test_travel_date_from_today_to_the_end_of_the_schedule_is_accepted(text: str) -> None:
    assert forms.validate_travel_date(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        ("2026-5-9", "YYYY-MM-DD, like 2025-06-01"),
        ("20260601", "YYYY-MM-DD, like 2025-06-01"),
        ("2026-W23-1", "YYYY-MM-DD, like 2025-06-01"),
        ("09/05/2026", "YYYY-MM-DD, like 2025-06-01"),
        ("2026-06-01T10:00", "YYYY-MM-DD, like 2025-06-01"),
        (fullwidth("2026-06-01"), "YYYY-MM-DD, like 2025-06-01"),
        ("2026-02-30", "no such date"),
        ("2027-02-29", "no such date"),
        ("2026-13-01", "no such date"),
        ("2026-00-10", "no such date"),
        ("2026-05-08", "in the past"),
        ("1999-12-31", "in the past"),
        ("2100-01-01", "no flights after 2099-12-31"),
    ],
)
def test_travel_date_that_is_malformed_unreal_past_or_unscheduled_is_refused(text: str, message: str) -> None:
    assert forms.validate_travel_date(text, TODAY) == message


def test_travel_date_parser_gives_the_date_or_none() -> None:
    assert forms.parse_travel_date(" 2026-06-01 ") == dt.date(2026, 6, 1)
    assert forms.parse_travel_date("2026-02-30") is None
    assert forms.parse_travel_date("20260601") is None


# -- passenger name and email ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Ada Lovelace", "  Grace  Hopper ", "Jean-Luc O'Neill", "Martin Luther King Jr.", "José Núñez",
     "Jose\u0301", "O\u2019Brien", "李小龍", "A" * forms.NAME_MAX],
)
def test_passenger_name_of_letters_and_name_punctuation_is_accepted(text: str) -> None:
    assert forms.validate_name(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        ("   ", "required"),
        ("A" * (forms.NAME_MAX + 1), f"at most {forms.NAME_MAX} characters"),
        ("R2D2", "letters, spaces, - ' and . only"),
        ("Ada <script>", "letters, spaces, - ' and . only"),
        ("Ada\tLovelace\x00", "letters, spaces, - ' and . only"),
        ("Ada, Countess", "letters, spaces, - ' and . only"),
        ("--", "needs at least one letter"),
        (". '", "needs at least one letter"),
    ],
)
def test_passenger_name_that_is_empty_too_long_or_has_other_characters_is_refused(
    text: str, message: str
) -> None:
    assert forms.validate_name(text) == message


def test_name_normaliser_collapses_spaces_and_composes_accents() -> None:
    assert forms.normalise_name("  Jose\u0301   Núñez ") == "José Núñez"


@pytest.mark.parametrize(
    "text",
    ["ada@example.com", " grace@navy.mil.us ", "a.b+tag@sub.example.co", "x@y.io", "ü@exämple.de",
     "a" * 64 + "@" + "b" * 185 + ".com"],
)
def test_email_with_one_at_and_a_dotted_domain_is_accepted(text: str) -> None:
    assert forms.validate_email(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        ("a" * 64 + "@" + "b" * 186 + ".com", "at most 254 characters"),
        ("ada lovelace@example.com", "no spaces"),
        ("ada@exa\u00a0mple.com", "no spaces"),
        ("ada.example.com", "like name@example.com"),
        ("@example.com", "like name@example.com"),
        ("ada@@example.com", "like name@example.com"),
        ("ada@b@example.com", "like name@example.com"),
        ("ada@", "domain like example.com"),
        ("ada@localhost", "domain like example.com"),
        ("ada@example.", "domain like example.com"),
        ("ada@.com", "domain like example.com"),
        ("ada@example..com", "domain like example.com"),
    ],
)
def test_email_without_that_shape_is_refused(text: str, message: str) -> None:
    assert forms.validate_email(text) == message


# -- payment --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [TEST_CARD, "4242-4242-4242-4242", "4242424242424242", "5555 5555 5555 4444", "378282246310005",
     "4111 1111 1111 1111", "000000000000", "4" + "0" * 17 + "6"],
)
def test_card_number_of_12_to_19_digits_passing_luhn_is_accepted(text: str) -> None:
    assert forms.validate_card_number(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        (" - ", "required"),
        ("4242 4242 4242 424x", "digits only"),
        (fullwidth("4242424242424242"), "digits only"),
        ("42424242424", "12 to 19 digits"),
        ("4" + "0" * 18 + "4", "12 to 19 digits"),
        ("4242 4242 4242 4241", "not a valid card number (check for a typo)"),
        ("4242 4242 4242 2442", "not a valid card number (check for a typo)"),
    ],
)
def test_card_number_that_is_short_long_non_digit_or_fails_luhn_is_refused(text: str, message: str) -> None:
    assert forms.validate_card_number(text) == message


def test_card_number_normaliser_drops_spaces_and_dashes_only() -> None:
    assert forms.normalise_card_number(" 4242-4242 4242\t4242 ") == "4242424242424242"
    assert forms.normalise_card_number("4242.4242") == "4242.4242"


@pytest.mark.parametrize("text", ["05/26", "12/26", "01/27", " 08 / 30 ", "12/99"])
def test_expiry_from_this_month_on_is_accepted(text: str) -> None:
    assert forms.validate_expiry(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        ("5/26", "MM/YY, like 08/27"),
        ("0526", "MM/YY, like 08/27"),
        ("05/2026", "MM/YY, like 08/27"),
        ("05-26", "MM/YY, like 08/27"),
        ("00/27", "month must be 01 to 12"),
        ("13/27", "month must be 01 to 12"),
        ("04/26", "the card has expired"),
        ("12/25", "the card has expired"),
    ],
)
def test_expiry_that_is_malformed_or_before_this_month_is_refused(text: str, message: str) -> None:
    assert forms.validate_expiry(text, TODAY) == message


@pytest.mark.parametrize("text", ["123", "0000", " 737 "])
def test_cvc_of_three_or_four_digits_is_accepted(text: str) -> None:
    assert forms.validate_cvc(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        ("12", "3 or 4 digits"),
        ("12345", "3 or 4 digits"),
        ("12a", "3 or 4 digits"),
        ("1 23", "3 or 4 digits"),
        ("\u0661\u0662\u0663", "3 or 4 digits"),  # Arabic-Indic digits
    ],
)
def test_cvc_that_is_not_three_or_four_digits_is_refused(text: str, message: str) -> None:
    assert forms.validate_cvc(text) == message


# -- seats ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1A", "12C", " 12c ", "99F", "30F"])
def test_seat_code_of_row_and_column_letter_is_accepted(text: str) -> None:
    assert forms.validate_seat_code(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        ("C12", "row and letter, like 12C"),
        ("0A", "row and letter, like 12C"),
        ("012A", "row and letter, like 12C"),
        ("100A", "row and letter, like 12C"),
        ("12", "row and letter, like 12C"),
        ("12 C", "row and letter, like 12C"),
        ("12CD", "row and letter, like 12C"),
        ("12G", "no seat letter G (only A-F)"),
    ],
)
def test_seat_code_that_is_not_row_then_column_letter_is_refused(text: str, message: str) -> None:
    assert forms.validate_seat_code(text) == message


def test_seat_code_checks_the_row_and_columns_of_the_aircraft_when_given() -> None:
    assert forms.validate_seat_code("30A", rows=30) is None
    assert forms.validate_seat_code("31A", rows=30) == "no row 31 (rows 1-30)"
    assert forms.validate_seat_code("5E", columns="ABCD") == "no seat letter E (only A-D)"


# -- whole forms ----------------------------------------------------------------------------------


def test_search_form_that_is_valid_has_no_errors() -> None:
    assert forms.validate_search("lhr", "CDG", "2026-06-01", TODAY, KNOWN) == {}


def test_search_form_names_every_bad_field() -> None:
    assert forms.validate_search("", "XYZ", "yesterday", TODAY, KNOWN) == {
        "origin": "required",
        "destination": "no airport with code XYZ",
        "date": "YYYY-MM-DD, like 2025-06-01",
    }


def test_search_form_refuses_the_same_origin_and_destination_on_the_destination_field() -> None:
    assert forms.validate_search("LHR", " lhr", "2026-06-01", TODAY, KNOWN) == {
        "destination": "same as the origin"
    }


def test_search_form_reports_same_airports_only_once_both_codes_are_valid() -> None:
    assert forms.validate_search("LH", "LH", "2026-06-01", TODAY) == {
        "origin": "3 letters, like LHR",
        "destination": "3 letters, like LHR",
    }


def test_passenger_form_names_each_bad_field() -> None:
    assert forms.validate_passenger("Ada Lovelace", "ada@example.com") == {}
    assert forms.validate_passenger(" ", "ada") == {"name": "required", "email": "like name@example.com"}


def test_payment_form_uses_the_backends_field_names() -> None:
    assert forms.validate_payment(TEST_CARD, "12/27", "123", TODAY) == {}
    assert forms.validate_payment("4242", "13/27", "1", TODAY) == {
        "card_number": "12 to 19 digits",
        "expiry": "month must be 01 to 12",
        "cvc": "3 or 4 digits",
    }


def test_validators_are_pure_the_same_input_gives_the_same_answer_whatever_the_real_date() -> None:
    # "today" comes only from the argument: a date far from the real one is honoured.
    assert forms.validate_travel_date("2001-01-01", dt.date(2000, 6, 1)) is None
    assert forms.validate_expiry("01/01", dt.date(2001, 1, 31)) is None
    assert forms.validate_expiry("12/00", dt.date(2001, 1, 1)) == "the card has expired"


# -- Luhn -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("4242424242424242", True), ("79927398713", True), ("0", True), ("18", True),
     ("79927398710", False), ("4242424242424241", False), ("1", False),
     ("", False), ("4242 4242", False), ("\u0664\u0662", False)],
)
def test_luhn_ok_matches_known_numbers_and_refuses_non_digits(digits: str, ok: bool) -> None:
    assert forms.luhn_ok(digits) is ok


digit_strings = st.text(alphabet="0123456789", min_size=0, max_size=30)


@given(digit_strings)
def test_appending_the_right_check_digit_makes_any_digit_string_pass_luhn(payload: str) -> None:
    check = reference_luhn_check_digit(payload)
    assert forms.luhn_check_digit(payload) == str(check)
    assert forms.luhn_ok(payload + str(check))


@given(digit_strings, st.data())
def test_changing_any_single_digit_of_a_valid_number_makes_it_fail_luhn(
    payload: str, data: st.DataObject
) -> None:
    number = payload + str(reference_luhn_check_digit(payload))
    position = data.draw(st.integers(0, len(number) - 1), label="position")
    others = [d for d in "0123456789" if d != number[position]]
    replacement = data.draw(st.sampled_from(others), label="digit")
    changed = number[:position] + replacement + number[position + 1 :]
    assert not forms.luhn_ok(changed)


def test_luhn_check_digit_refuses_a_payload_that_is_not_digits() -> None:
    with pytest.raises(ValueError):
        forms.luhn_check_digit("42a")
