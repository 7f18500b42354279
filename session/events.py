"""What can happen to a session: the events the engine accepts, each a frozen value checked on build.

Times inside events (`sent_at`) are readings of the injected clock; the time an event is handled
at is passed to `SessionEngine.handle` beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sessionkeeper.session.kinds import SessionKind as SessionKind
from sessionkeeper.session.kinds import Source as Source


def _check_time(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value)):  # a tuple: faster than int | float
        raise ValueError(f"{name} must be a finite clock reading, got {value!r}")


@dataclass(frozen=True, slots=True)
class SessionIssued:
    """A new token arrived: a guest session, a login, or a re-authentication."""

    kind: SessionKind
    source: Source
    sent_at: float

    def __post_init__(self) -> None:
        _check_time("sent_at", self.sent_at)
        if self.source is Source.GUEST and self.kind is not SessionKind.GUEST:
            raise ValueError("a guest session is of kind guest")
        if self.source in (Source.LOGIN, Source.REAUTH) and self.kind is not SessionKind.USER:
            raise ValueError(f"a session from {self.source.value} is of kind user")


@dataclass(frozen=True, slots=True)
class SessionRestored:
    """A session stored by an earlier run; `elapsed_wall_s` is wall time since its last extension."""

    kind: SessionKind
    elapsed_wall_s: float

    def __post_init__(self) -> None:
        if not isinstance(self.elapsed_wall_s, int | float) or math.isnan(self.elapsed_wall_s):
            raise ValueError("elapsed_wall_s must be a number")


@dataclass(frozen=True, slots=True)
class SharedExtension:
    """Another instance on the same data dir had a call accepted on the token this one holds too
    (rule 14); `sent_at` is that call's send time, read on this instance's clock."""

    sent_at: float

    def __post_init__(self) -> None:
        _check_time("sent_at", self.sent_at)


@dataclass(frozen=True, slots=True)
class SignedOutElsewhere:
    """The user's session this instance holds was signed out by another instance (rule 14): the
    stored session is gone, or is now a guest's."""


@dataclass(frozen=True, slots=True)
class LifetimeKnown:
    """When the signed-in session reaches its absolute lifetime (rule 15), on the session's clock;
    None: not known (a guest, or a backend whose cap the client has not learned yet)."""

    ends_at: float | None

    def __post_init__(self) -> None:
        if self.ends_at is not None:
            _check_time("ends_at", self.ends_at)


@dataclass(frozen=True, slots=True)
class CallStarting:
    """A REST or GraphQL call wants to go out: may it, and with which token?"""


@dataclass(frozen=True, slots=True)
class ResponseAccepted:
    """The server answered a call in a way that shows it accepted the token (2xx, non-auth 4xx)."""

    sent_at: float
    generation: int

    def __post_init__(self) -> None:
        _check_time("sent_at", self.sent_at)


@dataclass(frozen=True, slots=True)
class ResponseRejected:
    """The server rejected a call's token (REST 401, GraphQL UNAUTHENTICATED or 401).

    `attempt` is 1 for the first sending of the request, 2 for its one replay.
    """

    sent_at: float
    generation: int
    attempt: int = 1

    def __post_init__(self) -> None:
        _check_time("sent_at", self.sent_at)
        if self.attempt < 1:
            raise ValueError("attempt counts from 1")


@dataclass(frozen=True, slots=True)
class ResponseFailed:
    """A call got no verdict on its token: a transport failure, or a 5xx."""

    sent_at: float
    generation: int
    transport: bool

    def __post_init__(self) -> None:
        _check_time("sent_at", self.sent_at)


@dataclass(frozen=True, slots=True)
class RefreshSucceeded:
    sent_at: float

    def __post_init__(self) -> None:
        _check_time("sent_at", self.sent_at)


@dataclass(frozen=True, slots=True)
class RefreshFailed:
    """`rejected`: the server said the session is gone (401). Otherwise a 5xx or transport failure."""

    rejected: bool
    transport: bool = False


@dataclass(frozen=True, slots=True)
class RecoveryFailed:
    """A re-authentication or a new guest session did not come through. `lifetime`: the server
    refused it because the session reached its absolute lifetime (rule 15)."""

    rejected: bool
    transport: bool = False
    lifetime: bool = False


@dataclass(frozen=True, slots=True)
class UserActivity:
    """A key press or mouse action."""


@dataclass(frozen=True, slots=True)
class ScreenChanged:
    """The user moved to an active flow (a booking step) or a passive screen."""

    active_flow: bool


@dataclass(frozen=True, slots=True)
class Backgrounded:
    """Terminal focus lost, Ctrl+Z, or the QA action "background for N minutes"."""


@dataclass(frozen=True, slots=True)
class Resumed:
    """Back in the foreground; with no Backgrounded before it, the process was stopped from outside.

    `alive_at`: the latest moment the process is known to have been running (its last heartbeat).
    After a stop from outside, the time away is measured from there. `slept`: what was noticed
    was the machine sleeping (the session clock ran ahead of the monotonic one), not a stop.
    """

    alive_at: float | None = None
    slept: bool = False


@dataclass(frozen=True, slots=True)
class PromptAnswered:
    stay: bool


@dataclass(frozen=True, slots=True)
class SignOutRequested:
    """The user chose to sign out (outside the prompt)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """Time has passed; the engine checks its deadlines.

    `scheduled_for`: when a scheduled wake-up was due. One that fires much later than that means
    the process was stopped (or the machine slept) in between, which is read as a return from
    the background, not as plain time passing. `alive_at`: as for `Resumed`.
    """

    scheduled_for: float | None = None
    alive_at: float | None = None


Event = (
    SessionIssued
    | SessionRestored
    | SharedExtension
    | SignedOutElsewhere
    | LifetimeKnown
    | CallStarting
    | ResponseAccepted
    | ResponseRejected
    | ResponseFailed
    | RefreshSucceeded
    | RefreshFailed
    | RecoveryFailed
    | UserActivity
    | ScreenChanged
    | Backgrounded
    | Resumed
    | PromptAnswered
    | SignOutRequested
    | Tick
)
