"""Pydantic shapes of every REST and QA request and response (they make up /openapi.json).

Request models are strict and forbid extra fields: a typo'd field is an error, not a no-op.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# -- errors -------------------------------------------------------------------------------


class FieldErrorOut(BaseModel):
    field: str = Field(description="where the problem is, e.g. `payment.card_number`")
    message: str


class ErrorOut(BaseModel):
    """Every error answer: a stable `error` code, a human `detail`, and per-field problems."""

    error: str = Field(description="stable machine-readable code, e.g. `session_expired`")
    detail: str | None = None
    fields: list[FieldErrorOut] | None = None


# -- sessions -----------------------------------------------------------------------------


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(max_length=256)


class ReauthIn(_In):
    reauth_key: str = Field(max_length=256)


class UserOut(BaseModel):
    username: str
    name: str
    email: str


class GuestSessionOut(BaseModel):
    token: str
    kind: Literal["guest"] = "guest"


class UserSessionOut(BaseModel):
    token: str
    kind: Literal["user"] = "user"
    reauth_key: str
    user: UserOut


class RefreshOut(BaseModel):
    token: str


class WhoAmIOut(BaseModel):
    session_id: str = Field(description="the opaque id /__qa/state lists; not the token")
    kind: Literal["guest", "user"]
    user: UserOut | None


# -- catalog ------------------------------------------------------------------------------


class MoneyOut(BaseModel):
    amount_cents: int
    currency: str


class AirportOut(BaseModel):
    code: str
    name: str
    city: str
    country: str


class AirportsOut(BaseModel):
    airports: list[AirportOut]


class FlightSearchIn(BaseModel):
    """GET /api/flights query parameters (query strings arrive as text, so not strict)."""

    model_config = ConfigDict(extra="forbid")

    origin: str = Field(pattern=r"^[A-Z]{3}$", description="IATA code, e.g. LHR")
    destination: str = Field(pattern=r"^[A-Z]{3}$", description="IATA code, e.g. CDG")
    date: dt.date = Field(description="YYYY-MM-DD")


class FlightOut(BaseModel):
    id: str = Field(description="e.g. `LHR-CDG-20250601-1`; use it for fares, seat map, booking")
    number: str
    origin: str
    destination: str
    departure: dt.datetime
    arrival: dt.datetime
    duration_min: int
    aircraft: str
    price_from: MoneyOut


class FlightsOut(BaseModel):
    flights: list[FlightOut]


# -- drafts and bookings ------------------------------------------------------------------


class DraftIn(_In):
    step: str = Field(description="the booking step the user is on, 1 to 64 characters")
    data: dict[str, Any] = Field(description="free-form form state, at most 16 KiB as JSON")


class DraftOut(BaseModel):
    id: str
    step: str
    data: dict[str, Any]
    owner: Literal["user", "guest"]
    user: str | None
    version: int = Field(description="1 on create, +1 on every update")
    created_at: float = Field(description="server clock, seconds")
    updated_at: float = Field(description="server clock, seconds")
    booking: str | None = Field(description="the record locator once booked")


class DraftsOut(BaseModel):
    drafts: list[DraftOut]


class PassengerIn(_In):
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)


class PaymentIn(_In):
    card_number: str = Field(max_length=32, description="12-19 digits, Luhn-valid")
    expiry: str = Field(max_length=8, description="MM/YY, not before the current month")
    cvc: str = Field(max_length=8, description="3 or 4 digits")


class BookingIn(_In):
    flight_id: str = Field(max_length=64)
    fare_code: str = Field(max_length=32)
    passengers: list[PassengerIn] = Field(min_length=1, max_length=9)
    seats: list[str] = Field(default_factory=list, max_length=9)
    payment: PaymentIn
    draft_id: str | None = Field(default=None, max_length=32)


class PassengerOut(BaseModel):
    name: str
    email: str


class BookingOut(BaseModel):
    record_locator: str = Field(min_length=6, max_length=6)
    status: Literal["confirmed"] = "confirmed"
    flight_id: str
    fare_code: str
    passengers: list[PassengerOut]
    seats: list[str]
    total: MoneyOut
    draft_id: str | None
    card_last4: str
    points_earned: int = Field(
        ge=0,
        description="loyalty points this booking earned when it was made: 1 per whole euro of the"
        " total times the tier multiplier (BLUE 1, SILVER 1.5, GOLD 2, PLATINUM 3), rounded down;"
        " 0 for a guest",
    )
    made_as_guest: bool = Field(
        default=False,
        description="made by a guest session: a signed-in user's list shows it once that guest"
        " signed in (a guest's bookings move to the user at sign-in)",
    )


class BookingsOut(BaseModel):
    bookings: list[BookingOut] = Field(description="newest first")


# -- QA -----------------------------------------------------------------------------------


# Beyond ~30 years, float seconds lose the precision a 60 s TTL needs.
MAX_SECONDS = 1e9


class ClockIn(_In):
    advance_s: float = Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)


class ClockOut(BaseModel):
    now: float


ScopedFault = Literal["refresh", "latency", "down"]


class ScopeIn(_In):
    rate: float = Field(
        default=1.0, gt=0, le=1, allow_inf_nan=False, description="the probability per request (1: every one)"
    )
    path: str = Field(
        default="",
        max_length=200,
        description='a request applies when its path contains this ("": every path)',
    )


class ScopeOut(BaseModel):
    rate: float
    path: str


class FaultsIn(_In):
    refresh: Literal["ok", "error", "reject"] | None = None
    latency_ms: int | None = Field(default=None, ge=0, le=60_000)
    down: StrictBool | None = None
    graphql_auth_error: Literal["extensions", "http"] | None = None
    ttl_s: float | None = Field(default=None, gt=0, le=MAX_SECONDS, allow_inf_nan=False)
    lifetime_s: float | None = Field(default=None, gt=0, le=MAX_SECONDS, allow_inf_nan=False)
    scopes: dict[ScopedFault, ScopeIn] | None = Field(
        default=None,
        description="narrow a fault to a path and a probability; a scope given replaces that fault's,"
        ' a fault not named keeps its own; rate 1 with path "" is everywhere again',
    )
    seed: int | None = Field(default=None, description="reseed the draws of scoped faults (a run repeats)")


class FaultsOut(BaseModel):
    refresh: Literal["ok", "error", "reject"]
    latency_ms: int
    down: bool
    graphql_auth_error: Literal["extensions", "http"]
    ttl_s: float
    lifetime_s: float
    scopes: dict[str, ScopeOut] = Field(default_factory=dict, description="the faults narrowed, and where")


class RevokeIn(_In):
    all: StrictBool | None = None
    session_id: str | None = Field(default=None, max_length=32)
    reauth_keys: StrictBool = Field(
        default=False, description="also revoke the sessions' reauth keys (default: keep them)"
    )

    @model_validator(mode="after")
    def _one_target(self) -> RevokeIn:
        if (self.all is True) == (self.session_id is not None):
            raise ValueError('give exactly one of {"all": true} or {"session_id": id}')
        return self


class RevokeOut(BaseModel):
    revoked: list[str] = Field(description="ids of the sessions this call ended")


class QaWhoseOut(BaseModel):
    id: str = Field(description="the opaque id of the session the bearer token belongs to")


class QaSessionOut(BaseModel):
    id: str = Field(description="opaque (s1, s2, ...); not the token, not derived from it")
    kind: Literal["guest", "user"]
    user: str | None
    expires_in_s: float = Field(description="deadline minus now, server clock; <= 0 if expired")
    lifetime_left_s: float = Field(
        description="the absolute lifetime's end minus now: counted from the sign-in (a guest's "
        "creation), kept by a re-auth; <= 0 once reached"
    )
    revoked: bool
    ended: str | None = Field(description="signed_out, revoked_by_qa or upgraded_to_user")


class CountersOut(BaseModel):
    api_calls: int
    graphql_calls: int
    refreshes: int
    refresh_failures: int
    logins: int
    login_failures: int
    reauths: int
    reauth_failures: int
    guest_sessions: int
    rejected: int
    signouts: int
    faulted: int
    bookings: int
    seat_holds: int


class StateOut(BaseModel):
    now: float
    ttl_s: float
    lifetime_s: float
    grace_s: float
    faults: FaultsOut
    sessions: list[QaSessionOut]
    counters: CountersOut


class ResetOut(BaseModel):
    reset: Literal[True] = True
    now: float
