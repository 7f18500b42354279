"""What the engine asks its caller to do, or tells it happened: frozen values, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass

from sessionkeeper.session.kinds import Link as Link
from sessionkeeper.session.kinds import SessionKind
from sessionkeeper.session.kinds import SignOutReason as SignOutReason


@dataclass(frozen=True, slots=True)
class Proceed:
    """Send the call now with the token of this generation."""

    generation: int


@dataclass(frozen=True, slots=True)
class AwaitFlight:
    """A refresh or re-authentication is in flight: wait for its outcome, then ask again."""


@dataclass(frozen=True, slots=True)
class StartRefresh:
    pass


@dataclass(frozen=True, slots=True)
class StartReauth:
    pass


@dataclass(frozen=True, slots=True)
class StartGuestSession:
    pass


@dataclass(frozen=True, slots=True)
class Replay:
    """Send the rejected call once more, with the current token (after any flight ends)."""


@dataclass(frozen=True, slots=True)
class GiveUp:
    """The call fails for good; no further replay."""

    reason: str


@dataclass(frozen=True, slots=True)
class ShowPrompt:
    """Near expiry in an active flow: show the prompt with a live countdown."""

    seconds_left: float


@dataclass(frozen=True, slots=True)
class WarningWindow:
    """The warning window opened; `action` says what the engine did about it (rule 4)."""

    seconds_left: float
    action: str  # "prompt" | "refresh" | "lapse"


@dataclass(frozen=True, slots=True)
class HidePrompt:
    pass


@dataclass(frozen=True, slots=True)
class SignOut:
    """End the user's session gracefully; the draft is always kept."""

    reason: SignOutReason


@dataclass(frozen=True, slots=True)
class DiscardSession:
    """A session arrived for a flight abandoned at sign-out: revoke it, keep nothing of it."""


@dataclass(frozen=True, slots=True)
class ResyncProfile:
    """After a silent re-authentication: fetch the user's data again, touch no screen."""


@dataclass(frozen=True, slots=True)
class DeadlineMoved:
    deadline: float


@dataclass(frozen=True, slots=True)
class TTLLowered:
    old_s: float
    new_s: float


@dataclass(frozen=True, slots=True)
class RefreshRetryScheduled:
    at: float
    failures: int


@dataclass(frozen=True, slots=True)
class SessionLapsed:
    """The deadline passed; recovery waits for the next action (a guest, or a user offline)."""

    kind: SessionKind


@dataclass(frozen=True, slots=True)
class ConnectivityChanged:
    link: Link

    @property
    def online(self) -> bool:
        return self.link is Link.ONLINE


@dataclass(frozen=True, slots=True)
class LifetimeWarning:
    """The session reaches its absolute lifetime in `seconds_left` (rule 15): past it only the
    password renews it. Said once per sign-in."""

    seconds_left: float


@dataclass(frozen=True, slots=True)
class SessionShared:
    """This instance took on the session another instance on the same data dir obtained (rule 14):
    a sign-in, a refresh, a re-authentication or a new guest session."""

    kind: SessionKind


@dataclass(frozen=True, slots=True)
class BackgroundEnded:
    """Back from the background after `away_s`; `detected` when no Backgrounded came first. `how`:
    "away" (a return from the background: focus, Ctrl+Z), "stop" (the process was stopped from
    outside, found from a late wake-up or a SIGCONT), "sleep" (the machine slept)."""

    away_s: float
    detected: bool
    how: str = "away"


Decision = (
    Proceed
    | AwaitFlight
    | StartRefresh
    | StartReauth
    | StartGuestSession
    | Replay
    | GiveUp
    | ShowPrompt
    | WarningWindow
    | HidePrompt
    | SignOut
    | DiscardSession
    | ResyncProfile
    | DeadlineMoved
    | TTLLowered
    | RefreshRetryScheduled
    | SessionLapsed
    | ConnectivityChanged
    | BackgroundEnded
    | SessionShared
    | LifetimeWarning
)
