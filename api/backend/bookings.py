"""The airline's mutable side: booking drafts, seat holds and confirmed bookings.

Everything here is keyed by an *owner key*: `user:<name>` for a signed-in user, or
`session:<id>` for a guest (a guest's things belong to that one session). Someone else's
draft, hold or booking is reported as not found, so ids reveal nothing.

A seat hold lasts HOLD_TTL_S, and no longer than its owner: a guest's hold ends with the guest's
session (expired, revoked or signed out), since nobody can use it after that; a user's hold
outlives the session it was made in. Whether an owner is still there is asked of the session
store through the `owner_alive` callable the desk is given, so this module knows no sessions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sessionkeeper.api.backend import catalog
from sessionkeeper.api.backend.clock import ServerClock

MAX_DRAFT_DATA_BYTES = 16 * 1024
# Deeper documents would make the JSON serializer give up (pydantic stops at ~255 levels).
MAX_DRAFT_DATA_DEPTH = 32
MAX_DRAFTS_PER_OWNER = 50
MAX_SEATS_PER_DRAFT = 9
HOLD_TTL_S = 900.0

log = logging.getLogger("sessionkeeper.backend")
_LOCATOR_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I/O/0/1: read aloud on a phone
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_EXPIRY = re.compile(r"^(\d{2})/(\d{2})$")


class NotFound(Exception):
    """The thing does not exist, or belongs to someone else (the two look the same)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"no such {what}")
        self.what = what


class Conflict(Exception):
    """The request is well-formed but clashes with the current state (`code` names how)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidInput(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass
class Draft:
    id: str
    owner: str
    step: str
    data: dict[str, Any]
    created_at: float
    updated_at: float
    version: int = 1
    booking: str | None = None


@dataclass
class Hold:
    flight_id: str
    seat: str
    draft_id: str
    owner: str
    expires_at: float


@dataclass(frozen=True)
class Passenger:
    name: str
    email: str


@dataclass(frozen=True)
class Payment:
    card_number: str = field(repr=False)
    expiry: str = field(repr=False)
    cvc: str = field(repr=False)


@dataclass(frozen=True)
class BookingRequest:
    flight_id: str
    fare_code: str
    passengers: list[Passenger]
    seats: list[str]
    payment: Payment
    draft_id: str | None = None


@dataclass
class Booking:
    locator: str
    owner: str
    flight_id: str
    fare_code: str
    passengers: list[Passenger]
    seats: list[str]
    total_cents: int
    created_at: float
    draft_id: str | None
    card_last4: str
    points_earned: int = 0  # loyalty points credited when it was made (0 for a guest)
    # Made by a guest session: still so once it moved to the user who signed in there (`transfer`).
    made_as_guest: bool = False


@dataclass(frozen=True)
class Moved:
    """What `BookingDesk.transfer` handed from a guest session to a user."""

    drafts: int
    bookings: int


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def payment_errors(payment: Payment, today: date) -> list[FieldError]:
    errors = []
    number = re.sub(r"[ -]", "", payment.card_number)
    if not number.isdigit() or not 12 <= len(number) <= 19:
        errors.append(FieldError("payment.card_number", "must be 12 to 19 digits"))
    elif not luhn_ok(number):
        errors.append(FieldError("payment.card_number", "fails the Luhn checksum"))
    match = _EXPIRY.match(payment.expiry)
    if match is None or not 1 <= int(match.group(1)) <= 12:
        errors.append(FieldError("payment.expiry", "must be MM/YY"))
    else:
        # A card is valid to the end of its expiry month.
        month, year = int(match.group(1)), 2000 + int(match.group(2))
        if (year, month) < (today.year, today.month):
            errors.append(FieldError("payment.expiry", "the card has expired"))
    if not (payment.cvc.isdigit() and len(payment.cvc) in (3, 4)):
        errors.append(FieldError("payment.cvc", "must be 3 or 4 digits"))
    return errors


def passenger_errors(passengers: list[Passenger]) -> list[FieldError]:
    errors = []
    if not passengers:
        errors.append(FieldError("passengers", "at least one passenger is required"))
    for i, p in enumerate(passengers):
        if not p.name.strip():
            errors.append(FieldError(f"passengers[{i}].name", "must not be empty"))
        elif len(p.name) > 100:
            errors.append(FieldError(f"passengers[{i}].name", "must be at most 100 characters"))
        if not _EMAIL.match(p.email):
            errors.append(FieldError(f"passengers[{i}].email", "is not a valid email address"))
    return errors


class BookingDesk:
    def __init__(
        self,
        clock: ServerClock,
        today: Callable[[], date],
        owner_alive: Callable[[str], bool] = lambda _owner: True,
    ) -> None:
        """`owner_alive(owner_key)` says whether an owner can still act (for a guest: whether its
        session is alive); a hold whose owner is gone is not live. The default keeps every owner."""
        self._clock = clock
        self._today = today
        self._owner_alive = owner_alive
        self.clear()

    def clear(self) -> None:
        self._drafts: dict[str, Draft] = {}
        self._holds: dict[tuple[str, str], Hold] = {}
        self._bookings: dict[str, Booking] = {}
        # seats sold by this server, per flight (the seeded ones come from the catalog)
        self._sold: dict[str, set[str]] = {}
        self._next_draft = 1
        self._next_booking = 1

    # -- drafts -----------------------------------------------------------------------

    def create_draft(self, owner: str, step: str, data: dict[str, Any]) -> Draft:
        _check_draft(step, data)
        if sum(1 for d in self._drafts.values() if d.owner == owner) >= MAX_DRAFTS_PER_OWNER:
            raise Conflict("too_many_drafts", f"at most {MAX_DRAFTS_PER_OWNER} drafts per owner")
        now = self._clock.now()
        draft = Draft(f"d{self._next_draft}", owner, step, data, now, now)
        self._next_draft += 1
        self._drafts[draft.id] = draft
        return draft

    def get_draft(self, owner: str, draft_id: str) -> Draft:
        draft = self._drafts.get(draft_id)
        if draft is None or draft.owner != owner:
            raise NotFound("draft")
        return draft

    def list_drafts(self, owner: str) -> list[Draft]:
        return [d for d in self._drafts.values() if d.owner == owner]

    def update_draft(self, owner: str, draft_id: str, step: str, data: dict[str, Any]) -> Draft:
        draft = self.get_draft(owner, draft_id)
        _check_draft(step, data)
        draft.step, draft.data = step, data
        draft.version += 1
        draft.updated_at = self._clock.now()
        return draft

    def transfer(self, old_owner: str, new_owner: str) -> Moved:
        """A guest who signs in keeps what they built: drafts, holds and bookings move to the user.

        The guest's session may already be ended when this runs (login ends it first): its holds
        are read from the table as they are, not through the liveness check, so they move too.
        """
        drafts = bookings = 0
        for draft in self._drafts.values():
            if draft.owner == old_owner:
                draft.owner = new_owner
                drafts += 1
        for hold in self._holds.values():
            if hold.owner == old_owner:
                hold.owner = new_owner
        for booking in self._bookings.values():
            if booking.owner == old_owner:
                booking.owner = new_owner
                bookings += 1
        return Moved(drafts=drafts, bookings=bookings)

    # -- seats ------------------------------------------------------------------------

    def seat_status(self, owner: str | None, flight: catalog.Flight, seat: str) -> str:
        if seat in self._sold.get(flight.id, ()) or catalog.seeded_occupied(flight, seat):
            return "OCCUPIED"
        hold = self._live_hold(flight.id, seat)
        if hold is None:
            return "AVAILABLE"
        return "HELD_BY_YOU" if hold.owner == owner else "HELD"

    def hold_seat(self, owner: str, flight_id: str, seat: str, draft_id: str) -> Hold:
        flight = catalog.find_flight(flight_id)
        if flight is None:
            raise NotFound("flight")
        self.get_draft(owner, draft_id)
        if not catalog.is_seat(flight, seat):
            raise InvalidInput([FieldError("seat", f"{seat!r} is not a seat on this flight")])
        status = self.seat_status(owner, flight, seat)
        if status in ("OCCUPIED", "HELD"):
            raise Conflict("seat_unavailable", f"seat {seat} is not available")
        held = [h for h in self._live_holds() if h.draft_id == draft_id and h.flight_id == flight_id]
        if status == "AVAILABLE" and len(held) >= MAX_SEATS_PER_DRAFT:
            raise Conflict("too_many_seats", f"at most {MAX_SEATS_PER_DRAFT} seats per draft")
        hold = Hold(flight_id, seat, draft_id, owner, self._clock.now() + HOLD_TTL_S)
        self._holds[(flight_id, seat)] = hold
        return hold

    def release_seat(self, owner: str, flight_id: str, seat: str, draft_id: str) -> bool:
        self.get_draft(owner, draft_id)
        hold = self._live_hold(flight_id, seat)
        if hold is None or hold.owner != owner:
            return False
        self._holds.pop((flight_id, seat), None)
        return True

    def hold_expires_in(self, hold: Hold) -> float:
        return hold.expires_at - self._clock.now()

    def _live_hold(self, flight_id: str, seat: str) -> Hold | None:
        """The hold on a seat, if it still stands. Dropped for good when it ran out or its owner
        is gone (a guest session that ended): neither can come back. Checked here, on every read,
        because a session expires by the clock alone, with no event to act on."""
        hold = self._holds.get((flight_id, seat))
        if hold is None:
            return None
        # pop, not del: REST routes run in a thread pool, so two reads may drop the same hold.
        if hold.expires_at <= self._clock.now():
            self._holds.pop((flight_id, seat), None)
            return None
        if not self._owner_alive(hold.owner):
            self._holds.pop((flight_id, seat), None)
            log.info("seat %s on %s released: its holder's session ended", seat, flight_id)
            return None
        return hold

    def _live_holds(self) -> list[Hold]:
        return [h for h in list(self._holds.values()) if self._live_hold(h.flight_id, h.seat)]

    # -- bookings ---------------------------------------------------------------------

    def book(self, owner: str, request: BookingRequest) -> Booking:
        draft = self.get_draft(owner, request.draft_id) if request.draft_id is not None else None
        if draft is not None and draft.booking is not None:
            raise Conflict("draft_already_booked", f"this draft was booked as {draft.booking}")
        errors = passenger_errors(request.passengers)
        errors += payment_errors(request.payment, self._today())
        flight = catalog.find_flight(request.flight_id)
        if flight is None:
            errors.append(FieldError("flight_id", "no such flight"))
            fare = None
        else:
            fare = next((f for f in catalog.fares_for(flight) if f.code == request.fare_code), None)
            if fare is None:
                errors.append(FieldError("fare_code", "no such fare on this flight"))
            errors += self._seat_errors(owner, flight, request)
        if errors:
            raise InvalidInput(errors)
        assert flight is not None and fare is not None  # no errors means both were found
        locator = self._new_locator()
        sold = self._sold.setdefault(flight.id, set())
        for seat in request.seats:
            sold.add(seat)
            self._holds.pop((flight.id, seat), None)
        booking = Booking(
            locator=locator,
            owner=owner,
            flight_id=flight.id,
            fare_code=fare.code,
            passengers=list(request.passengers),
            seats=list(request.seats),
            total_cents=fare.price_cents * len(request.passengers),
            created_at=self._clock.now(),
            draft_id=request.draft_id,
            card_last4=re.sub(r"[ -]", "", request.payment.card_number)[-4:],
            made_as_guest=owner.startswith("session:"),
        )
        self._bookings[locator] = booking
        if draft is not None:
            draft.booking = locator
        return booking

    def list_bookings(self, owner: str) -> list[Booking]:
        """The owner's bookings, newest first (the order they were made in)."""
        return [b for b in reversed(self._bookings.values()) if b.owner == owner]

    def get_booking(self, owner: str, locator: str) -> Booking:
        booking = self._bookings.get(locator)
        if booking is None or booking.owner != owner:
            raise NotFound("booking")
        return booking

    def _seat_errors(self, owner: str, flight: catalog.Flight, request: BookingRequest) -> list[FieldError]:
        errors = []
        if len(request.seats) > len(request.passengers):
            errors.append(FieldError("seats", "more seats than passengers"))
        if len(set(request.seats)) != len(request.seats):
            errors.append(FieldError("seats", "a seat is listed twice"))
        for i, seat in enumerate(request.seats):
            if not catalog.is_seat(flight, seat):
                errors.append(FieldError(f"seats[{i}]", f"{seat!r} is not a seat on this flight"))
            elif self.seat_status(owner, flight, seat) in ("OCCUPIED", "HELD"):
                errors.append(FieldError(f"seats[{i}]", f"seat {seat} is not available"))
        return errors

    def _new_locator(self) -> str:
        while True:
            h = hashlib.sha256(f"booking|{self._next_booking}".encode()).digest()
            self._next_booking += 1
            locator = "".join(_LOCATOR_ALPHABET[b % len(_LOCATOR_ALPHABET)] for b in h[:6])
            if locator not in self._bookings:
                return locator


def _check_draft(step: str, data: dict[str, Any]) -> None:
    errors = []
    if not step.strip() or len(step) > 64:
        errors.append(FieldError("step", "must be 1 to 64 characters"))
    if _depth(data) > MAX_DRAFT_DATA_DEPTH:
        errors.append(FieldError("data", f"must be nested at most {MAX_DRAFT_DATA_DEPTH} deep"))
    elif len(json.dumps(data, separators=(",", ":"))) > MAX_DRAFT_DATA_BYTES:
        errors.append(FieldError("data", f"must serialize to at most {MAX_DRAFT_DATA_BYTES} bytes"))
    if errors:
        raise InvalidInput(errors)


def _depth(value: object) -> int:
    """How deeply lists and objects nest (iterative: the input may be very deep)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
