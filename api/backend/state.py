"""Everything one backend instance holds: clock, sessions, bookings, loyalty, faults and counters.

One `BackendState` per app, so two apps in one process (tests, an embedded server next to a
foreground one) never share anything.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Literal

from sessionkeeper.api.backend.bookings import BookingDesk
from sessionkeeper.api.backend.clock import ServerClock
from sessionkeeper.api.backend.loyalty import LoyaltyLedger
from sessionkeeper.api.backend.sessions import DEFAULT_LIFETIME_S, Issued, ServerSessions

log = logging.getLogger("sessionkeeper.backend")

RefreshFault = Literal["ok", "error", "reject"]
GraphQLAuthStyle = Literal["extensions", "http"]


# The faults a scope can narrow: each applies per request (docs/backend.md, "Flaky faults").
SCOPED_FAULTS = ("refresh", "latency", "down")


@dataclass(frozen=True)
class Scope:
    """Where a fault applies: to a request whose path contains `path` ("" for every path), and
    then with probability `rate` (1 for every such request). Drawn per request, so "503 on 30 %
    of /graphql" fails about three GraphQL calls in ten and never a REST one."""

    rate: float = 1.0
    path: str = ""

    @property
    def everywhere(self) -> bool:
        return self.rate >= 1.0 and not self.path

    def applies(self, path: str, chance: Callable[[], float]) -> bool:
        # The path first: a request outside the filter draws nothing, so a seeded run's draws
        # depend only on the requests the fault could reach.
        return self.path in path and (self.rate >= 1.0 or chance() < self.rate)


@dataclass
class Faults:
    refresh: RefreshFault = "ok"
    latency_ms: int = 0
    down: bool = False
    graphql_auth_error: GraphQLAuthStyle = "extensions"
    # A fault named here applies only within its scope; one not named, everywhere.
    scopes: dict[str, Scope] = field(default_factory=dict)

    def scope(self, fault: str) -> Scope:
        return self.scopes.get(fault, EVERYWHERE)


EVERYWHERE = Scope()


@dataclass
class Counters:
    """What the server saw. The exact meaning of each is in docs/backend.md ("Counters").

    api_calls         every HTTP request whose path starts with /api/ (any method, any route,
                      known or not), counted on arrival: before faults, auth and validation.
    graphql_calls     every HTTP request to /graphql (any method), counted on arrival,
                      introspection and rejected ones included.
    refreshes         every POST /api/session/refresh received, whatever its answer.
    refresh_failures  those refreshes answered with anything but 200.
    logins            every POST /api/session/login received.
    login_failures    those answered with anything but 200.
    reauths           every POST /api/session/reauth received.
    reauth_failures   those answered with anything but 200.
    guest_sessions    guest sessions created (POST /api/session/guest answered 201).
    rejected          auth rejections: every REST 401 whose error is session_expired or
                      invalid_token (on any /api route, refresh and sign-out included, and the
                      `refresh: reject` fault), plus every GraphQL UNAUTHENTICATED answer
                      (HTTP 200 or 401 style). Not counted: invalid_credentials, reauth_rejected.
    signouts          sessions ended by DELETE /api/session (answered 204).
    faulted           faults applied: each time latency, down or a refresh fault was applied to
                      a request (within its scope: what a flaky fault hit).
    bookings          bookings created (POST /api/bookings answered 201).
    seat_holds        successful holdSeat mutations.
    """

    api_calls: int = 0
    graphql_calls: int = 0
    refreshes: int = 0
    refresh_failures: int = 0
    logins: int = 0
    login_failures: int = 0
    reauths: int = 0
    reauth_failures: int = 0
    guest_sessions: int = 0
    rejected: int = 0
    signouts: int = 0
    faulted: int = 0
    bookings: int = 0
    seat_holds: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class BackendState:
    def __init__(
        self,
        *,
        ttl_s: float,
        grace_s: float,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        clock: Callable[[], float] | None,
        token_factory: Callable[[], str] | None,
        today: Callable[[], date] | None,
        seed: int | None = None,
    ) -> None:
        """`seed`: the draws of flaky faults (a scope's rate) repeat from run to run."""
        if not (math.isfinite(ttl_s) and ttl_s > 0):
            raise ValueError(f"ttl_s must be a positive number of seconds, got {ttl_s!r}")
        if not (math.isfinite(grace_s) and grace_s >= 0):
            raise ValueError(f"grace_s must be >= 0 seconds, got {grace_s!r}")
        if not (math.isfinite(lifetime_s) and lifetime_s > 0):
            raise ValueError(f"lifetime_s must be a positive number of seconds, got {lifetime_s!r}")
        self.initial_ttl_s = ttl_s
        self.initial_lifetime_s = lifetime_s
        self.clock = ServerClock(clock)
        self.sessions = ServerSessions(
            self.clock, ttl_s=ttl_s, grace_s=grace_s, lifetime_s=lifetime_s, token_factory=token_factory
        )
        self.desk = BookingDesk(
            self.clock,
            today if today is not None else self._calendar_today,
            owner_alive=self.sessions.owner_alive,
        )
        self.loyalty = LoyaltyLedger()
        self.faults = Faults()
        self.counters = Counters()
        self.random = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """The draws of flaky faults from here on: the same seed, the same draws."""
        self.random.seed(seed)

    def faulty(self, fault: str, path: str) -> bool:
        """Whether `fault` (switched on) applies to this request, counted when it does."""
        if not self.faults.scope(fault).applies(path, self.random.random):
            return False
        self.counters.faulted += 1
        return True

    def open_guest_session(self) -> Issued:
        """`POST /api/session/guest`: a new guest session, counted (both the full app and the
        quick start answer it through here)."""
        issued = self.sessions.create_guest()
        self.counters.guest_sessions += 1
        log.info("session %s (guest) created", issued.session.id)
        return issued

    def _calendar_today(self) -> date:
        """The calendar date (UTC) for card expiry, moved along by the QA clock offset."""
        return datetime.fromtimestamp(datetime.now(UTC).timestamp() + self.clock.offset, UTC).date()

    def reset(self) -> None:
        """Sessions, reauth keys, counters, faults, TTL, bookings and loyalty points back to the start.

        The clock keeps its offset: time never runs backwards, and a client that skipped
        ahead with the server stays in step with it.
        """
        self.sessions.clear()
        self.sessions.ttl_s = self.initial_ttl_s
        self.sessions.lifetime_s = self.initial_lifetime_s
        self.desk.clear()
        self.loyalty.clear()
        self.faults = Faults()
        self.counters = Counters()
        log.info("state reset")
