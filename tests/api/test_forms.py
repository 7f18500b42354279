"""The booking form parsers: a table of accepted inputs (with the normalised value each one sends)
and refused inputs (with the message) per field, the whole-form parsers, the masked reprs, the
parsed values against the backend's own checks, and the Luhn checksum against an independent
reference (hypothesis)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkeeper.api import forms
from sessionkeeper.api.backend import bookings, catalog, models
from sessionkeeper.api.forms import Credentials, Invalid, Passenger, Payment, SearchQuery

TODAY = dt.date(2026, 5, 9)
HINT = "YYYY-MM-DD, like 2026-06-08"  # a month after today: never in the past
KNOWN = frozenset({"LHR", "CDG", "AMS", "FRA", "MAD", "FCO", "CPH", "DUB", "LIS", "JFK"})
TEST_CARD = "4242 4242 4242 4242"
TEST_DIGITS = "4242424242424242"


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


@pytest.mark.parametrize(
    ("text", "sent"), [("LHR", "LHR"), ("lhr", "LHR"), (" cdg ", "CDG"), ("Jfk", "JFK"), ("\tams\n", "AMS")]
)
def test_airport_code_of_three_letters_in_any_case_parses_to_the_upper_case_code(
    text: str, sent: str
) -> None:
    assert forms.parse_airport_code(text) == sent
    assert forms.parse_airport_code(text, KNOWN) == sent


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
        ("\u00dfa", "3 letters, like LHR"),  # "ßa".upper() is "SSA": three letters only after upper()
        ("\u0131st", "3 letters, like LHR"),  # the dotless i upper-cases to an ASCII "I"
    ],
)
def test_airport_code_that_is_not_three_ascii_letters_is_refused(text: str, message: str) -> None:
    assert forms.parse_airport_code(text) == Invalid(message)


def test_airport_code_outside_the_known_set_is_refused_only_when_a_set_is_given() -> None:
    assert forms.parse_airport_code("xyz") == "XYZ"
    assert forms.parse_airport_code("xyz", KNOWN) == Invalid("no airport with code XYZ")
    assert forms.parse_airport_code("LHR", set()) == Invalid("no airport with code LHR")


def test_airport_code_is_sent_upper_cased_and_stripped() -> None:
    assert forms.parse_airport_code("  lhr ") == "LHR"


# -- travel dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("2026-05-09", dt.date(2026, 5, 9)),
        ("2026-05-10", dt.date(2026, 5, 10)),
        (" 2028-02-29 ", dt.date(2028, 2, 29)),
        ("2099-12-31", dt.date(2099, 12, 31)),
    ],
)
def test_travel_date_from_today_to_the_end_of_the_schedule_parses_to_that_date(
    text: str, sent: dt.date
) -> None:
    assert forms.parse_travel_date(text, TODAY) == sent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        ("2026-5-9", HINT),
        ("20260601", HINT),
        ("2026-W23-1", HINT),
        ("09/05/2026", HINT),
        ("2026-06-01T10:00", HINT),
        (fullwidth("2026-06-01"), HINT),
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
    assert forms.parse_travel_date(text, TODAY) == Invalid(message)


def test_travel_date_parser_gives_the_date_or_why_not() -> None:
    assert forms.parse_travel_date(" 2026-06-01 ", TODAY) == dt.date(2026, 6, 1)
    assert forms.parse_travel_date("2026-02-30", TODAY) == Invalid("no such date")
    assert forms.parse_travel_date("20260601", TODAY) == Invalid(HINT)


# -- passenger name and email ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("  Grace  Hopper ", "Grace Hopper"),
        ("Jean-Luc O'Neill", "Jean-Luc O'Neill"),
        ("Martin Luther King Jr.", "Martin Luther King Jr."),
        ("José Núñez", "José Núñez"),
        ("Jose\u0301", "Jos\u00e9"),
        ("O\u2019Brien", "O\u2019Brien"),
        ("李小龍", "李小龍"),
        ("A" * forms.NAME_MAX, "A" * forms.NAME_MAX),
    ],
)
def test_passenger_name_of_letters_and_name_punctuation_parses_to_its_tidy_form(text: str, sent: str) -> None:
    assert forms.parse_name(text) == sent


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
    assert forms.parse_name(text) == Invalid(message)


def test_name_is_sent_with_spaces_collapsed_and_accents_composed() -> None:
    sent = forms.parse_name("  Jose\u0301   Núñez ")
    assert sent == "José Núñez"
    assert isinstance(sent, str) and unicodedata.is_normalized("NFC", sent)


def test_name_with_runs_of_any_whitespace_is_sent_with_single_spaces() -> None:
    assert forms.parse_name("\tAda \n\u00a0 King   Lovelace  ") == "Ada King Lovelace"


def test_name_length_limit_counts_the_composed_name_that_is_sent() -> None:
    # 2 * NAME_MAX code points as typed (e + combining accent), NAME_MAX once composed.
    assert forms.parse_name("e\u0301" * forms.NAME_MAX) == "\u00e9" * forms.NAME_MAX


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("ada@example.com", "ada@example.com"),
        (" grace@navy.mil.us ", "grace@navy.mil.us"),
        ("a.b+tag@sub.example.co", "a.b+tag@sub.example.co"),
        ("x@y.io", "x@y.io"),
        ("ü@exämple.de", "ü@exämple.de"),
        ("a" * 64 + "@" + "b" * 185 + ".com", "a" * 64 + "@" + "b" * 185 + ".com"),
    ],
)
def test_email_with_one_at_and_a_dotted_domain_parses_to_the_stripped_address(text: str, sent: str) -> None:
    assert forms.parse_email(text) == sent


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
    assert forms.parse_email(text) == Invalid(message)


def test_email_is_sent_stripped_of_surrounding_whitespace_only() -> None:
    assert forms.parse_email("\t Ada.Lovelace@Example.com \n") == "Ada.Lovelace@Example.com"


# -- payment --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        (TEST_CARD, TEST_DIGITS),
        ("4242-4242-4242-4242", TEST_DIGITS),
        ("4242424242424242", TEST_DIGITS),
        ("5555 5555 5555 4444", "5555555555554444"),
        ("378282246310005", "378282246310005"),
        ("4111 1111 1111 1111", "4111111111111111"),
        ("000000000000", "000000000000"),
        ("4" + "0" * 17 + "6", "4" + "0" * 17 + "6"),
    ],
)
def test_card_number_of_12_to_19_digits_passing_luhn_parses_to_the_bare_digits(text: str, sent: str) -> None:
    assert forms.parse_card_number(text) == sent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        (" - ", "required"),
        ("4242 4242 4242 424x", "digits only"),
        (fullwidth("4242424242424242"), "digits only"),
        ("4242.4242.4242.4242", "digits only"),
        ("42424242424", "12 to 19 digits"),
        ("4" + "0" * 18 + "4", "12 to 19 digits"),
        ("4242 4242 4242 4241", "not a valid card number (check for a typo)"),
        ("4242 4242 4242 2442", "not a valid card number (check for a typo)"),
    ],
)
def test_card_number_that_is_short_long_non_digit_or_fails_luhn_is_refused(text: str, message: str) -> None:
    assert forms.parse_card_number(text) == Invalid(message)


def test_card_number_is_sent_without_its_spaces_and_dashes_and_nothing_else_is_dropped() -> None:
    assert forms.parse_card_number(" 4242-4242 4242\t4242 ") == TEST_DIGITS
    assert forms.parse_card_number("4242.4242") == Invalid("digits only")


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("05/26", "05/26"),
        ("12/26", "12/26"),
        ("01/27", "01/27"),
        (" 08 / 30 ", "08/30"),
        ("12/99", "12/99"),
        ("12 / 30", "12/30"),
        # one-digit months and four-digit years (2000-2099) are read, and sent as MM/YY
        ("5/26", "05/26"),
        ("1/30", "01/30"),
        ("05/2026", "05/26"),
        ("12/2030", "12/30"),
        ("\t1 / 2099 ", "01/99"),
    ],
)
def test_expiry_from_this_month_on_parses_to_canonical_mm_yy(text: str, sent: str) -> None:
    assert forms.parse_expiry(text, TODAY) == sent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "required"),
        (" \t", "required"),
        ("0526", "MM/YY, like 08/27"),
        ("05-26", "MM/YY, like 08/27"),
        ("05.26", "MM/YY, like 08/27"),
        ("0 5/26", "MM/YY, like 08/27"),
        ("05/2 6", "MM/YY, like 08/27"),
        ("005/26", "MM/YY, like 08/27"),
        ("05/6", "MM/YY, like 08/27"),
        ("05/202", "MM/YY, like 08/27"),
        ("05/20266", "MM/YY, like 08/27"),
        ("05/26/27", "MM/YY, like 08/27"),
        (fullwidth("05/26"), "MM/YY, like 08/27"),
        ("00/27", "month must be 01 to 12"),
        ("0/27", "month must be 01 to 12"),
        ("13/27", "month must be 01 to 12"),
        ("13/2027", "month must be 01 to 12"),
        ("05/2100", "year must be 2000 to 2099"),
        ("05/1999", "year must be 2000 to 2099"),
        ("04/26", "the card has expired"),
        ("4/2026", "the card has expired"),
        ("12/25", "the card has expired"),
    ],
)
def test_expiry_that_is_malformed_or_before_this_month_is_refused(text: str, message: str) -> None:
    assert forms.parse_expiry(text, TODAY) == Invalid(message)


@pytest.mark.parametrize(("text", "sent"), [("123", "123"), ("0000", "0000"), (" 737 ", "737")])
def test_cvc_of_three_or_four_digits_parses_to_the_stripped_digits(text: str, sent: str) -> None:
    assert forms.parse_cvc(text) == sent


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
    assert forms.parse_cvc(text) == Invalid(message)


# -- seats ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sent"),
    [("1A", "1A"), ("12C", "12C"), (" 12c ", "12C"), ("99F", "99F"), ("30F", "30F"), ("30f", "30F")],
)
def test_seat_code_of_row_and_column_letter_parses_to_the_upper_case_code(text: str, sent: str) -> None:
    assert forms.parse_seat_code(text) == sent


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
        ("12\u0131", "row and letter, like 12C"),  # the dotless i upper-cases to an ASCII "I"
        (fullwidth("12") + "C", "row and letter, like 12C"),
        ("12G", "no seat letter G (only A-F)"),
        ("12g", "no seat letter G (only A-F)"),
    ],
)
def test_seat_code_that_is_not_row_then_column_letter_is_refused(text: str, message: str) -> None:
    assert forms.parse_seat_code(text) == Invalid(message)


def test_seat_code_checks_the_row_and_columns_of_the_aircraft_when_given() -> None:
    assert forms.parse_seat_code("30a", rows=30) == "30A"
    assert forms.parse_seat_code("31A", rows=30) == Invalid("no row 31 (rows 1-30)")
    assert forms.parse_seat_code("5e", columns="ABCD") == Invalid("no seat letter E (only A-D)")


def test_seat_form_sends_the_upper_case_code_of_a_free_seat() -> None:
    assert forms.parse_seat(" 12c ") == "12C"
    assert forms.parse_seat(" 12c ", {"12C", "14A"}) == "12C"


def test_seat_form_refuses_a_seat_that_is_not_free_only_when_the_free_seats_are_known() -> None:
    assert forms.parse_seat("12d", {"12C", "14A"}) == {"seat": "12D is not free"}
    assert forms.parse_seat("12d", set()) == "12D"
    assert forms.parse_seat("12d", None) == "12D"


def test_seat_form_reports_a_malformed_code_under_the_seat_key() -> None:
    assert forms.parse_seat("", {"12C"}) == {"seat": "required"}
    assert forms.parse_seat("C12", {"12C"}) == {"seat": "row and letter, like 12C"}


# -- sign-in --------------------------------------------------------------------------------------


def test_username_is_sent_stripped_and_is_required() -> None:
    assert forms.parse_username("  ada \t") == "ada"
    assert forms.parse_username("") == Invalid("required")
    assert forms.parse_username("   ") == Invalid("required")


def test_username_longer_than_the_backend_takes_is_refused() -> None:
    assert forms.parse_username(" " + "u" * 64 + " ") == "u" * 64
    assert forms.parse_username("u" * 65) == Invalid("at most 64 characters")


def test_password_is_sent_exactly_as_typed_spaces_included() -> None:
    assert forms.parse_password("  lovelace ") == "  lovelace "
    assert forms.parse_password("   ") == "   "
    assert forms.parse_password("") == Invalid("required")


def test_password_longer_than_the_backend_takes_is_refused() -> None:
    assert forms.parse_password("p" * 256) == "p" * 256
    assert forms.parse_password("p" * 257) == Invalid("at most 256 characters")


def test_sign_in_form_gives_credentials_with_the_stripped_username_and_the_password_as_typed() -> None:
    assert forms.parse_credentials(" ada ", " lovelace") == Credentials("ada", " lovelace")


def test_sign_in_form_names_each_missing_field() -> None:
    assert forms.parse_credentials("", "") == {"username": "required", "password": "required"}
    assert forms.parse_credentials("  ", "x") == {"username": "required"}
    assert forms.parse_credentials("ada", "") == {"password": "required"}


# -- whole forms ----------------------------------------------------------------------------------


def test_search_form_that_is_valid_gives_the_query() -> None:
    assert forms.parse_search("lhr", "CDG", "2026-06-01", TODAY, KNOWN) == SearchQuery(
        "LHR", "CDG", dt.date(2026, 6, 1)
    )


def test_search_form_sends_upper_case_codes_and_a_date_not_the_typed_text() -> None:
    assert forms.parse_search(" lhr", "cdg ", " 2030-05-01 ", TODAY, KNOWN) == SearchQuery(
        "LHR", "CDG", dt.date(2030, 5, 1)
    )


def test_search_form_names_every_bad_field() -> None:
    assert forms.parse_search("", "XYZ", "yesterday", TODAY, KNOWN) == {
        "origin": "required",
        "destination": "no airport with code XYZ",
        "date": HINT,
    }


def test_search_form_refuses_the_same_origin_and_destination_on_the_destination_field() -> None:
    assert forms.parse_search("LHR", " lhr", "2026-06-01", TODAY, KNOWN) == {
        "destination": "same as the origin"
    }


def test_search_form_reports_the_same_airports_alongside_a_bad_date() -> None:
    assert forms.parse_search("LHR", "lhr", "2026-02-30", TODAY, KNOWN) == {
        "destination": "same as the origin",
        "date": "no such date",
    }


def test_search_form_reports_same_airports_only_once_both_codes_are_valid() -> None:
    assert forms.parse_search("LH", "LH", "2026-06-01", TODAY) == {
        "origin": "3 letters, like LHR",
        "destination": "3 letters, like LHR",
    }


def test_passenger_form_names_each_bad_field() -> None:
    assert forms.parse_passenger("Ada Lovelace", "ada@example.com") == Passenger(
        "Ada Lovelace", "ada@example.com"
    )
    assert forms.parse_passenger(" ", "ada") == {"name": "required", "email": "like name@example.com"}


def test_passenger_form_sends_the_tidy_name_and_the_stripped_email() -> None:
    passenger = forms.parse_passenger("  Ada   Lovelace ", " ada@example.com\n")
    assert passenger == Passenger("Ada Lovelace", "ada@example.com")
    assert isinstance(passenger, Passenger)
    assert passenger.as_json() == {"name": "Ada Lovelace", "email": "ada@example.com"}


def test_payment_form_uses_the_backends_field_names() -> None:
    assert forms.parse_payment(TEST_CARD, "12/27", "123", TODAY) == Payment(TEST_DIGITS, "12/27", "123")
    assert forms.parse_payment("4242", "13/27", "1", TODAY) == {
        "card_number": "12 to 19 digits",
        "expiry": "month must be 01 to 12",
        "cvc": "3 or 4 digits",
    }


def test_payment_form_sends_bare_digits_and_canonical_expiry_not_the_typed_text() -> None:
    payment = forms.parse_payment(" 4111-1111 1111 1111 ", "12 / 30", " 123 ", TODAY)
    assert isinstance(payment, Payment)
    assert payment.card_number == "4111111111111111"
    assert payment.expiry == "12/30"
    assert payment.cvc == "123"
    assert payment.as_json() == {"card_number": "4111111111111111", "expiry": "12/30", "cvc": "123"}


def test_payment_form_reports_only_the_bad_fields() -> None:
    assert forms.parse_payment(TEST_CARD, "04/26", "123", TODAY) == {"expiry": "the card has expired"}


def test_parsers_are_pure_the_same_input_gives_the_same_answer_whatever_the_real_date() -> None:
    # "today" comes only from the argument: a date far from the real one is honoured.
    assert forms.parse_travel_date("2001-01-01", dt.date(2000, 6, 1)) == dt.date(2001, 1, 1)
    assert forms.parse_expiry("01/01", dt.date(2001, 1, 31)) == "01/01"
    assert forms.parse_expiry("12/00", dt.date(2001, 1, 1)) == Invalid("the card has expired")


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (forms.parse_airport_code, " lhr "),
        (lambda text: forms.parse_travel_date(text, TODAY), " 2026-06-01 "),
        (forms.parse_name, "  Jose\u0301   Núñez "),
        (forms.parse_email, " ada@example.com "),
        (forms.parse_card_number, " 4111-1111 1111 1111 "),
        (lambda text: forms.parse_expiry(text, TODAY), " 1 / 2030 "),
        (forms.parse_cvc, " 123 "),
        (forms.parse_seat_code, " 12c "),
        (forms.parse_username, " ada "),
        (forms.parse_password, " lovelace "),
    ],
)
def test_a_parsed_value_parses_to_itself(parse: Callable[[str], object], text: str) -> None:
    sent = parse(text)
    assert isinstance(sent, str | dt.date)
    assert parse(sent.isoformat() if isinstance(sent, dt.date) else sent) == sent


# -- secrets stay out of reprs --------------------------------------------------------------------


def test_payment_repr_masks_the_card_number_and_the_cvc() -> None:
    payment = forms.parse_payment("4111 1111 1111 1111", "12/30", "987", TODAY)
    assert isinstance(payment, Payment)
    for shown in (repr(payment), str(payment), f"{payment!r}", repr([payment]), repr({"p": payment})):
        assert "4111111111111111" not in shown
        assert "411111" not in shown
        assert "987" not in shown
        assert "****1111" in shown
        assert "cvc='***'" in shown
        assert "12/30" in shown


def test_payment_repr_shows_no_digits_of_a_number_too_short_to_hide() -> None:
    assert "1234" not in repr(Payment("1234", "12/30", "1234"))


def test_credentials_repr_hides_the_password() -> None:
    credentials = forms.parse_credentials("ada", "hunter2-secret")
    assert isinstance(credentials, Credentials)
    for shown in (repr(credentials), str(credentials), repr([credentials])):
        assert "hunter2" not in shown
        assert "ada" in shown


def test_form_values_are_frozen() -> None:
    payment = Payment(TEST_DIGITS, "12/30", "123")
    with pytest.raises(AttributeError):
        payment.cvc = "456"  # type: ignore[misc]


# -- the backend accepts what the parsers send ----------------------------------------------------


@pytest.mark.parametrize(
    ("card", "expiry", "cvc"),
    [
        (" 4111-1111 1111 1111 ", "12 / 30", " 123 "),
        (TEST_CARD, "5/26", "0000"),
        ("378282246310005", "1/2030", "1234"),
        ("4" + "0" * 17 + "6", " 12/2099 ", "999"),
    ],
)
def test_backend_accepts_a_parsed_payment(card: str, expiry: str, cvc: str) -> None:
    payment = forms.parse_payment(card, expiry, cvc, TODAY)
    assert isinstance(payment, Payment)
    models.PaymentIn.model_validate(payment.as_json())  # strict: raises on any problem
    assert bookings.payment_errors(bookings.Payment(**payment.as_json()), TODAY) == []


def test_backend_refuses_the_typed_expiry_the_old_form_sent_as_is() -> None:
    # Why the parser must canonicalise: the backend itself does not read "12 / 30" (it answered 422).
    raw = bookings.Payment(card_number=TEST_DIGITS, expiry="12 / 30", cvc="123")
    assert [e.field for e in bookings.payment_errors(raw, TODAY)] == ["payment.expiry"]


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("  Ada   Lovelace ", " ada@example.com "),
        ("Jose\u0301 O\u2019Brien", "ü@exämple.de"),
        ("e\u0301" * forms.NAME_MAX, "a" * 64 + "@" + "b" * 185 + ".com"),
    ],
)
def test_backend_accepts_a_parsed_passenger(name: str, email: str) -> None:
    passenger = forms.parse_passenger(name, email)
    assert isinstance(passenger, Passenger)
    models.PassengerIn.model_validate(passenger.as_json())
    assert bookings.passenger_errors([bookings.Passenger(**passenger.as_json())]) == []


def test_backend_accepts_a_parsed_seat_and_every_seat_of_the_aircraft_parses_to_itself() -> None:
    flight = catalog.search_flights("LHR", "CDG", dt.date(2026, 6, 1))[0]
    seat = forms.parse_seat(" 12c ")
    assert seat == "12C"
    assert isinstance(seat, str) and catalog.is_seat(flight, seat)
    for code in catalog.seat_codes(flight):
        assert forms.parse_seat_code(f" {code.lower()} ", rows=flight.rows) == code
    assert isinstance(forms.parse_seat_code(f"{flight.rows + 1}A", rows=flight.rows), Invalid)


def test_backend_accepts_a_parsed_search_query() -> None:
    query = forms.parse_search(" lhr", "cdg ", " 2030-05-01 ", TODAY, catalog.AIRPORTS)
    assert isinstance(query, SearchQuery)
    params = {"origin": query.origin, "destination": query.destination, "date": query.date.isoformat()}
    assert models.FlightSearchIn.model_validate(params).date == query.date
    assert catalog.search_flights(query.origin, query.destination, query.date)


def test_backend_accepts_parsed_credentials() -> None:
    credentials = forms.parse_credentials(" ada ", "lovelace")
    assert isinstance(credentials, Credentials)
    models.LoginIn.model_validate({"username": credentials.username, "password": credentials.password})


@st.composite
def typed_expiries(draw: st.DrawFn) -> str:
    """Month/year as someone might type it: 1 or 2 month digits, a 2 or 4 digit year, loose spaces."""
    month = draw(st.integers(0, 13))
    year = draw(st.one_of(st.integers(0, 99), st.integers(1995, 2105)))
    month_text = draw(st.sampled_from([f"{month}", f"{month:02d}"]))
    pads = draw(st.lists(st.sampled_from(["", " ", "\t"]), min_size=4, max_size=4))
    return f"{pads[0]}{month_text}{pads[1]}/{pads[2]}{year:02d}{pads[3]}"


expiry_texts = st.one_of(
    st.text(alphabet="0123456789/ \t-", max_size=10),
    st.from_regex(r"\s*[0-9]{1,2}\s*/\s*[0-9]{2,4}\s*", fullmatch=True),
    typed_expiries(),
)


@given(expiry_texts)
def test_backend_accepts_any_expiry_the_parser_accepts(text: str) -> None:
    expiry = forms.parse_expiry(text, TODAY)
    if isinstance(expiry, Invalid):
        return
    assert forms.parse_expiry(expiry, TODAY) == expiry
    payment = bookings.Payment(card_number=TEST_DIGITS, expiry=expiry, cvc="123")
    assert bookings.payment_errors(payment, TODAY) == []
    models.PaymentIn.model_validate({"card_number": TEST_DIGITS, "expiry": expiry, "cvc": "123"})


@given(
    st.text(alphabet="0123456789", min_size=11, max_size=18),
    st.lists(st.sampled_from([" ", "-", "\t", ""]), max_size=20),
)
def test_backend_accepts_any_grouped_card_number_the_parser_accepts(
    payload: str, separators: list[str]
) -> None:
    digits = payload + forms.luhn_check_digit(payload)
    typed = "".join(ch + (separators[i] if i < len(separators) else "") for i, ch in enumerate(digits))
    number = forms.parse_card_number(typed)
    assert number == digits
    payment = bookings.Payment(card_number=digits, expiry="12/30", cvc="123")
    assert bookings.payment_errors(payment, TODAY) == []
    models.PaymentIn.model_validate({"card_number": digits, "expiry": "12/30", "cvc": "123"})


name_texts = st.one_of(
    st.text(max_size=120),
    st.text(
        st.one_of(st.characters(categories=["L", "M"]), st.sampled_from(" -'.\u2019\t\u00a0")), max_size=120
    ),
)


@given(name_texts, st.one_of(st.emails(), st.text(max_size=40)))
def test_backend_accepts_any_passenger_the_parser_accepts(name: str, email: str) -> None:
    passenger = forms.parse_passenger(name, email)
    if not isinstance(passenger, Passenger):
        return
    assert forms.parse_passenger(passenger.name, passenger.email) == passenger
    models.PassengerIn.model_validate(passenger.as_json())
    assert bookings.passenger_errors([bookings.Passenger(**passenger.as_json())]) == []


# -- Luhn -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("4242424242424242", True),
        ("79927398713", True),
        ("0", True),
        ("18", True),
        ("79927398710", False),
        ("4242424242424241", False),
        ("1", False),
        ("", False),
        ("4242 4242", False),
        ("\u0664\u0662", False),
    ],
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
    with pytest.raises(ValueError, match="ASCII digits"):
        forms.luhn_check_digit("42a")


def test_old_validate_and_normalise_functions_are_gone() -> None:
    # The UI can only send what a parser returned: there is nothing else to call.
    leftovers = [name for name in dir(forms) if name.startswith(("validate_", "normalise_"))]
    assert leftovers == []
