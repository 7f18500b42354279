"""The session's vocabulary: the enumerations every layer names (how a session was obtained, what the
engine holds, what the UI shows, what is in flight, the link, why a session ended).

A module of its own, with nothing but `enum` under it: the app's first frame needs these words
(tui/wording.py), and not the events, decisions and engine around them. The modules that define
behaviour re-export the names they use, so `session.engine.State` and the like still read as before.
"""

from __future__ import annotations

from enum import Enum


class SessionKind(Enum):
    GUEST = "guest"
    USER = "user"


class Source(Enum):
    """How a session was obtained."""

    GUEST = "guest"  # POST /api/session/guest, started by the engine (a flight)
    LOGIN = "login"  # the user signed in (user-initiated, not a flight)
    REAUTH = "reauth"  # silent re-authentication with the reauth key (a flight)
    SHARED = "shared"  # another instance on the same data dir obtained it (rule 14)


class SignOutReason(Enum):
    EXPIRED = "expired"  # rule 5: the deadline passed with no refresh
    USER_CHOICE = "user_choice"  # "Sign out" in the prompt or elsewhere
    RECOVERY_FAILED = "recovery_failed"  # rule 7: re-authentication was rejected
    LIFETIME_REACHED = "lifetime_reached"  # rule 15: past the absolute lifetime, only the password
    ELSEWHERE = "signed_out_elsewhere"  # rule 14: another instance on the same data dir signed out


class Link(Enum):
    """What the client last learned of its way to the server."""

    ONLINE = "online"  # the server answered with a verdict (accepted or rejected)
    UNREACHABLE = "unreachable"  # no answer at all: refused, timed out, the client offline
    FAILING = "failing"  # the server answered, but with a 5xx or nothing readable: its verdict unknown


class Status(Enum):
    """What the engine holds. Stored; the UI's `State` is worked out from it and the clock."""

    NO_SESSION = "no_session"  # nothing issued yet (or the first guest session failed)
    LIVE = "live"  # a token the server accepted; good until the deadline, as far as we know
    LAPSED = "lapsed"  # the deadline passed; recovered on the next action
    REJECTED = "rejected"  # the token was rejected, or recovery got no answer; recovered on the next call
    SIGNED_OUT = "signed_out"  # ended by the user, or by the rules; the next call starts a guest session
    REFRESHING = "refreshing"  # a refresh is out
    REAUTHENTICATING = "reauthenticating"  # a silent re-authentication is out
    STARTING_GUEST = "starting_guest"  # a new guest session is being asked for


class State(Enum):
    """What the UI shows: the status, read against the clock and the background."""

    NO_SESSION = "no_session"  # nothing issued yet, or signed-out/lapsed and waiting for an action
    ACTIVE = "active"
    WARNING = "warning"  # remaining <= warn window
    REFRESHING = "refreshing"
    RECOVERING = "recovering"  # a re-authentication or a new guest session is in flight
    PAUSED = "paused"  # in the background
    EXPIRED = "expired"  # known or estimated dead; recovery waits for the next action
    SIGNED_OUT = "signed_out"


class SessionFlight(Enum):
    REFRESH = "refresh"
    REAUTH = "reauth"
    NEW_GUEST = "new_guest"
