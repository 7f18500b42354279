"""The demo accounts: credentials, profiles and the seed of their loyalty data.

Everything here is frozen and shared by every backend in the process; the live point balances
(which bookings raise) are per backend, in `loyalty.py`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Loyalty:
    tier: str  # one of the GraphQL enum LoyaltyTier: BLUE, SILVER, GOLD, PLATINUM
    points: int
    member_since: str  # ISO date


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    loyalty: Loyalty
    password: str  # a demo password, published in the README; a real server would store a hash

    def __repr__(self) -> str:
        return f"User(username={self.username!r})"


DEMO_USERS: dict[str, User] = {
    user.username: user
    for user in (
        User(
            "ada",
            "Ada Lovelace",
            "ada@example.com",
            Loyalty("GOLD", 48_250, "2015-12-10"),
            password="lovelace",
        ),
        User(
            "grace",
            "Grace Hopper",
            "grace@example.com",
            Loyalty("PLATINUM", 131_900, "2009-12-09"),
            password="hopper",
        ),
        User(
            "alan", "Alan Turing", "alan@example.com", Loyalty("BLUE", 1_200, "2024-06-23"), password="turing"
        ),
    )
}


def check_credentials(username: str, password: str) -> User | None:
    user = DEMO_USERS.get(username)
    # Compare even for unknown users so timing does not tell which usernames exist.
    expected = user.password if user is not None else "\x00unknown-user"
    if hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8")) and user:
        return user
    return None
