"""Loyalty points that change: each backend's own balances, seeded from the demo accounts.

The rule: a booking made by a signed-in user earns 1 point per whole euro of its total (cents
are dropped), times the user's tier multiplier, rounded down. A guest's booking earns nothing,
and a booking keeps the points it earned when it was made (a guest booking that moves to the
user at sign-in still shows 0). Tiers never change here, whatever the balance.

Balances live in one `LoyaltyLedger` per `BackendState`: the seed (`users.DEMO_USERS`) is
frozen and only read, so backends in one process never see each other's points.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction

from sessionkeeper.api.backend.users import DEMO_USERS, Loyalty, User

# Points per whole currency unit, by tier (the GraphQL enum LoyaltyTier).
TIER_MULTIPLIERS: Mapping[str, Fraction] = {
    "BLUE": Fraction(1),
    "SILVER": Fraction(3, 2),
    "GOLD": Fraction(2),
    "PLATINUM": Fraction(3),
}


def points_for(tier: str, total_cents: int) -> int:
    """What a booking of `total_cents` earns a member of `tier` (see the module docstring)."""
    whole_units = max(total_cents, 0) // 100
    return int(whole_units * TIER_MULTIPLIERS[tier])  # int() of a positive Fraction rounds down


class LoyaltyLedger:
    """Live point balances for the demo users; `clear()` puts them back to the seed."""

    def __init__(self, users: Mapping[str, User] = DEMO_USERS) -> None:
        self._users = users
        # Sync routes run on a thread pool: one lock keeps "read, add, write" whole.
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._points = {name: user.loyalty.points for name, user in self._users.items()}

    def balance(self, username: str) -> int:
        return self._points[username]

    def loyalty(self, username: str) -> Loyalty:
        """The user's seeded loyalty record with the live balance."""
        return replace(self._users[username].loyalty, points=self.balance(username))

    def earn(self, username: str, total_cents: int) -> int:
        """Credits a booking's points to the user; answers how many it earned."""
        points = points_for(self._users[username].loyalty.tier, total_cents)
        with self._lock:
            self._points[username] += points
        return points
