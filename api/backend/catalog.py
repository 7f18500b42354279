"""The airline's read-only catalog: airports, the flight schedule, fares and cabin layouts.

Everything is derived from a SHA-256 of its inputs, so any route and date has the same
flights on every run and nothing random happens at import.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class Airport:
    code: str
    name: str
    city: str
    country: str
    lat: float
    lon: float


AIRPORTS: dict[str, Airport] = {
    a.code: a
    for a in (
        Airport("LHR", "London Heathrow", "London", "GB", 51.470, -0.454),
        Airport("CDG", "Paris Charles de Gaulle", "Paris", "FR", 49.010, 2.548),
        Airport("AMS", "Amsterdam Schiphol", "Amsterdam", "NL", 52.310, 4.768),
        Airport("FRA", "Frankfurt am Main", "Frankfurt", "DE", 50.033, 8.571),
        Airport("MAD", "Adolfo Suarez Madrid-Barajas", "Madrid", "ES", 40.472, -3.561),
        Airport("FCO", "Rome Fiumicino", "Rome", "IT", 41.800, 12.239),
        Airport("CPH", "Copenhagen Kastrup", "Copenhagen", "DK", 55.618, 12.656),
        Airport("DUB", "Dublin", "Dublin", "IE", 53.421, -6.270),
        Airport("LIS", "Lisbon Humberto Delgado", "Lisbon", "PT", 38.774, -9.134),
        Airport("JFK", "New York John F. Kennedy", "New York", "US", 40.640, -73.779),
    )
}

CURRENCY = "EUR"
# The schedule covers these days; outside them, arrival times could overflow `datetime`.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
SEAT_COLUMNS = ("A", "B", "C", "D", "E", "F")
BUSINESS_ROWS = 3
_FLIGHT_ID = re.compile(r"^([A-Z]{3})-([A-Z]{3})-(\d{8})-([1-9])$")
_SEAT_CODE = re.compile(r"^([1-9]\d?)([A-F])$")


@dataclass(frozen=True)
class Flight:
    id: str
    number: str
    origin: str
    destination: str
    departure: datetime
    arrival: datetime
    aircraft: str
    base_price_cents: int

    @property
    def duration_min(self) -> int:
        return int((self.arrival - self.departure).total_seconds() // 60)

    @property
    def rows(self) -> int:
        return 40 if self.aircraft == "A350" else 30


@dataclass(frozen=True)
class Fare:
    code: str
    name: str
    cabin: str  # GraphQL enum Cabin: ECONOMY or BUSINESS
    price_cents: int
    refundable: bool
    checked_bags: int


def _hash(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()


def _distance_km(a: Airport, b: Airport) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def search_flights(origin: str, destination: str, day: date) -> list[Flight]:
    """The day's flights on a route (1 to 4), sorted by departure; [] for an unknown route
    or a day outside FIRST_DAY..LAST_DAY."""
    a, b = AIRPORTS.get(origin), AIRPORTS.get(destination)
    if a is None or b is None or a == b or not FIRST_DAY <= day <= LAST_DAY:
        return []
    h = _hash(origin, destination, day.isoformat())
    distance = _distance_km(a, b)
    minutes_in_air = int(30 + distance / 800 * 60)
    departures = sorted({6 * 60 + (h[1 + i] * 11 % (16 * 12)) * 5 for i in range(1 + h[0] % 4)})
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    flights = []
    for i, minute in enumerate(departures):
        departure = midnight + timedelta(minutes=minute)
        flights.append(
            Flight(
                id=f"{origin}-{destination}-{day:%Y%m%d}-{i + 1}",
                number=f"SK{100 + (h[8 + i] * 7 + i) % 900}",
                origin=origin,
                destination=destination,
                departure=departure,
                arrival=departure + timedelta(minutes=minutes_in_air),
                aircraft="A350" if distance > 3000 else "A320",
                base_price_cents=int((4000 + distance * 8) * (0.8 + h[16 + i] / 255 * 0.6)),
            )
        )
    return flights


def find_flight(flight_id: str) -> Flight | None:
    match = _FLIGHT_ID.match(flight_id)
    if match is None:
        return None
    origin, destination, ymd, index = match.groups()
    try:
        day = datetime.strptime(ymd, "%Y%m%d").date()
    except ValueError:
        return None
    flights = search_flights(origin, destination, day)
    i = int(index) - 1
    return flights[i] if i < len(flights) else None


def fares_for(flight: Flight) -> list[Fare]:
    base = flight.base_price_cents
    return [
        Fare("ECONOMY_LIGHT", "Economy Light", "ECONOMY", base, False, 0),
        Fare("ECONOMY_CLASSIC", "Economy Classic", "ECONOMY", base * 13 // 10, False, 1),
        Fare("ECONOMY_FLEX", "Economy Flex", "ECONOMY", base * 18 // 10, True, 1),
        Fare("BUSINESS", "Business", "BUSINESS", base * 35 // 10, True, 2),
    ]


def seat_codes(flight: Flight) -> list[str]:
    return [f"{row}{col}" for row in range(1, flight.rows + 1) for col in SEAT_COLUMNS]


def is_seat(flight: Flight, seat: str) -> bool:
    match = _SEAT_CODE.match(seat)
    return match is not None and int(match.group(1)) <= flight.rows


def cabin_of_row(row: int) -> str:
    return "BUSINESS" if row <= BUSINESS_ROWS else "ECONOMY"


def seeded_occupied(flight: Flight, seat: str) -> bool:
    """About 30% of seats are taken by other travellers, the same ones on every run."""
    return _hash(flight.id, seat)[0] < 77
