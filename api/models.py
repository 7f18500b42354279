"""What the typed clients return: the client's own reading of the backend's answers.

Kept apart from `api/backend/models.py` on purpose: the client checks what it is sent instead of
trusting shared code, so a backend that drifts shows up as a MalformedResponse, not a crash.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Money(_Out):
    amount_cents: int = Field(alias="amountCents")
    currency: str

    def __str__(self) -> str:
        return f"{self.amount_cents / 100:,.2f} {self.currency}"


class Airport(_Out):
    code: str
    name: str
    city: str
    country: str


class Flight(_Out):
    id: str
    number: str
    origin: str
    destination: str
    departure: dt.datetime
    arrival: dt.datetime
    duration_min: int
    aircraft: str
    price_from: Money


class Draft(_Out):
    id: str
    step: str
    data: dict[str, Any]
    owner: Literal["user", "guest"]
    user: str | None = None
    version: int
    booking: str | None = None


class Passenger(_Out):
    name: str
    email: str


class Booking(_Out):
    record_locator: str
    status: str
    flight_id: str
    fare_code: str
    passengers: list[Passenger]
    seats: list[str]
    total: Money
    draft_id: str | None = None
    card_last4: str
    points_earned: int = 0  # loyalty points the booking earned; older backends don't send it
    made_as_guest: bool = False  # made before its guest signed in (then moved to the user)


class WhoAmI(_Out):
    session_id: str
    kind: Literal["guest", "user"]


class Fare(_Out):
    code: str
    name: str
    cabin: str
    price: Money
    refundable: bool
    checked_bags: int = Field(alias="checkedBags")


class Seat(_Out):
    code: str
    column: str
    status: str


class SeatRow(_Out):
    number: int
    cabin: str
    seats: list[Seat]


class SeatMap(_Out):
    flight_id: str = Field(alias="flightId")
    aircraft: str
    columns: list[str]
    rows: list[SeatRow]


class SeatHold(_Out):
    flight_id: str = Field(alias="flightId")
    seat: str
    draft_id: str = Field(alias="draftId")
    expires_in_s: float = Field(alias="expiresInS")


class Loyalty(_Out):
    tier: str
    points: int
    member_since: str = Field(alias="memberSince")


class Profile(_Out):
    username: str
    name: str
    email: str
    loyalty: Loyalty
