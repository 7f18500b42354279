"""The session engine: a pure state machine. Events and clock readings in, decisions out; no I/O.

It holds the one client-side deadline (rule 1) and decides, for every event, what the client must
do next (rules 1 to 10 and 13 of DESIGN.md). It never sleeps, never reads a clock, never talks to
the network: the async manager around it does that and reports back with events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from session import decisions as d
from session import events as e
from session.events import SessionKind, Source
from session.policy import Policy


class SessionProtocolError(Exception):
    """An event that cannot happen in the current state: a bug in the caller, not the server.

    The engine's state is unchanged when it is raised.
    """


class State(Enum):
    NO_SESSION = "no_session"  # nothing issued yet, or signed-out/lapsed and waiting for an action
    ACTIVE = "active"
    WARNING = "warning"  # remaining <= warn window
    REFRESHING = "refreshing"
    RECOVERING = "recovering"  # a re-authentication or a new guest session is in flight
    PAUSED = "paused"  # in the background
    EXPIRED = "expired"  # known or estimated dead; recovery waits for the next action
    SIGNED_OUT = "signed_out"


class Flight(Enum):
    REFRESH = "refresh"
    REAUTH = "reauth"
    NEW_GUEST = "new_guest"


# The flight a session of each source comes from (a login is no flight: the user started it).
FLIGHT_OF_SOURCE = {Source.GUEST: Flight.NEW_GUEST, Source.REAUTH: Flight.REAUTH}

_ANY = frozenset(State)
_NOT_IN_FLIGHT = _ANY - {State.REFRESHING, State.RECOVERING}

# Which events are legal in which states. Anything else is a SessionProtocolError. Responses,
# activity, screen and lifecycle events can arrive at any moment, so they are legal everywhere;
# the outcome of a flight only while that flight is out, a prompt answer only while it is shown
# (checked in `_check` as well, since the prompt is not a state of its own).
TRANSITIONS: dict[type[e.Event], frozenset[State]] = {
    e.SessionIssued: _ANY,  # further checked against the flight in `_check`
    e.SessionRestored: frozenset({State.NO_SESSION}),
    e.CallStarting: _ANY,
    e.ResponseAccepted: _ANY,
    e.ResponseRejected: _ANY,
    e.ResponseFailed: _ANY,
    e.RefreshSucceeded: frozenset({State.REFRESHING}),
    e.RefreshFailed: frozenset({State.REFRESHING}),
    e.RecoveryFailed: frozenset({State.RECOVERING}),
    e.UserActivity: _ANY,
    e.ScreenChanged: _ANY,
    e.Backgrounded: _ANY,
    e.Resumed: _ANY,
    e.PromptAnswered: _ANY - {State.NO_SESSION, State.SIGNED_OUT},
    e.SignOutRequested: _ANY,
    e.Tick: _ANY,
}


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the UI and the manager may read of the engine at a moment."""

    state: State
    kind: SessionKind | None
    generation: int
    deadline: float | None
    remaining_s: float | None
    ttl_s: float
    warn_s: float
    prompt_visible: bool
    offline: bool  # the link is not ONLINE: unreachable, or the server failing
    paused: bool
    flight: Flight | None
    link: d.Link = d.Link.ONLINE
    retry_at: float | None = None  # when a failed refresh is tried again
    stay_pending: bool = False  # "Stay" was chosen and the refresh it asked for has not landed yet


class SessionEngine:
    """One client session's lifecycle. Call `handle(event, now)`; carry out what it returns."""

    def __init__(self, policy: Policy | None = None, now: float = 0.0) -> None:
        self.policy = policy or Policy()
        self.ttl_s = self.policy.ttl_s
        self._now = now
        self._previous_now = now
        self.kind: SessionKind | None = None
        self.generation = 0  # bumps with every new token (issue, refresh, re-auth)
        self.deadline: float | None = None
        self.last_extension_sent: float | None = None
        self.last_activity: float | None = None
        self.active_flow = False
        self.flight: Flight | None = None
        self.abandoned: Flight | None = None  # out when the user signed out; its outcome is void
        self.dead = False  # the current token was rejected
        self.lapsed = False  # the deadline passed; recover on the next call
        self.signed_out = False
        self.prompt_visible = False
        self.warned = False  # the warning for the current deadline was handled
        self.refresh_failures = 0
        self.retry_at: float | None = None
        self.link = d.Link.ONLINE
        self.stay_pending = False  # the prompt was answered "stay": no new prompt until it lands
        self.paused_since: float | None = None

    @property
    def offline(self) -> bool:
        return self.link is not d.Link.ONLINE

    @property
    def warn_s(self) -> float:
        """The warning window, kept in proportion to the TTL estimate (rule 4).

        When a rejection lowers the estimate, the window shrinks with it, so that a "Stay" still
        buys the same share of a session without a prompt (20 s of 60 becomes 8.3 s of 25).
        """
        return self.policy.warn_s * self.ttl_s / self.policy.ttl_s

    # -- reading -------------------------------------------------------------------------------

    def state_at(self, now: float) -> State:
        # A flight first: after a sign-out, the next call's guest session is one, and its
        # outcome must be taken like any other.
        if self.flight is Flight.REFRESH:
            return State.REFRESHING
        if self.flight is not None:
            return State.RECOVERING
        if self.signed_out:
            return State.SIGNED_OUT
        if self.paused_since is not None:
            return State.PAUSED
        if self.kind is None or self.deadline is None:
            return State.NO_SESSION
        if self.dead or self.lapsed or now >= self.deadline:
            return State.EXPIRED
        if now >= self.deadline - self.warn_s:
            return State.WARNING
        return State.ACTIVE

    @property
    def state(self) -> State:
        return self.state_at(self._now)

    @property
    def now(self) -> float:
        """The time of the latest event handled."""
        return self._now

    def view(self, now: float) -> SessionView:
        remaining = None
        if self.deadline is not None and self.kind is not None:
            # While paused the countdown shows the time left as of now; nothing counts by itself.
            remaining = max(0.0, self.deadline - now)
            if self.dead or self.lapsed:
                remaining = 0.0
        return SessionView(
            state=self.state_at(now),
            kind=self.kind,
            generation=self.generation,
            deadline=self.deadline,
            remaining_s=remaining,
            ttl_s=self.ttl_s,
            warn_s=self.warn_s,
            prompt_visible=self.prompt_visible,
            offline=self.offline,
            paused=self.paused_since is not None,
            flight=self.flight,
            link=self.link,
            retry_at=self.retry_at,
            stay_pending=self.stay_pending,
        )

    def token_usable(self, now: float) -> bool:
        """True when a call may go out with the current token without asking the server first."""
        return (
            self.kind is not None
            and self.deadline is not None
            and not (self.dead or self.lapsed or self.signed_out)
            and self.flight is None
            and now < self.deadline
        )

    def next_wakeup(self) -> float | None:
        """The earliest clock time at which a Tick could change something, or None."""
        if self.paused_since is not None or self.flight is not None or self.deadline is None:
            return None
        if self.kind is None or self.dead or self.lapsed or self.signed_out:
            return None
        times = [self.deadline]
        if not self.warned:
            times.append(self.deadline - self.warn_s)
        if self.retry_at is not None:
            times.append(self.retry_at)
        return min(times)

    # -- the one entry point ---------------------------------------------------------------------

    def handle(self, event: e.Event, now: float) -> list[d.Decision]:
        if now < self._now:
            raise SessionProtocolError(f"time went backwards: {now} after {self._now}")
        if self.abandoned is not None and _answers(event, self.abandoned):
            # The outcome of a flight that was out when the user signed out: it changes nothing,
            # and a session it brought must not sign anyone back in.
            self._previous_now, self._now = self._now, now
            self.abandoned = None
            issued = isinstance(event, e.SessionIssued | e.RefreshSucceeded)
            return [d.DiscardSession()] if issued else []
        self._check(event, now)
        self._previous_now, self._now = self._now, now
        handler = _HANDLERS[type(event)]
        return handler(self, event, now)

    def _check(self, event: e.Event, now: float) -> None:
        allowed = TRANSITIONS[type(event)]
        if allowed is not _ANY:  # most events are legal anywhere: skip working out the state
            state = self.state_at(now)
            if state not in allowed:
                raise SessionProtocolError(f"{type(event).__name__} is not legal in state {state.value}")
        if isinstance(event, e.SessionIssued) and self.flight is not FLIGHT_OF_SOURCE.get(event.source):
            raise SessionProtocolError(
                f"a session from {event.source.value} while the flight is "
                f"{self.flight.value if self.flight else 'none'}"
            )
        if isinstance(event, e.PromptAnswered) and not self.prompt_visible:
            raise SessionProtocolError("PromptAnswered while no prompt is shown")
        if isinstance(event, e.SessionRestored) and self.generation != 0:
            raise SessionProtocolError("a stored session can only be restored at start-up")

    # -- handlers ----------------------------------------------------------------------------------

    def _issue(self, kind: SessionKind, sent_at: float) -> list[d.Decision]:
        """A fresh token: everything about the old one is forgotten."""
        out: list[d.Decision] = []
        self.kind = kind
        self.generation += 1
        self.deadline = sent_at + self.ttl_s
        self.last_extension_sent = sent_at
        self.dead = self.lapsed = self.signed_out = False
        self.warned = False
        self.stay_pending = False
        self.refresh_failures = 0
        self.retry_at = None
        if self.prompt_visible:
            self.prompt_visible = False
            out.append(d.HidePrompt())
        out.append(d.DeadlineMoved(self.deadline))
        return out

    def _on_issued(self, ev: e.SessionIssued, now: float) -> list[d.Decision]:
        self.flight = None
        out = self._online() + self._issue(ev.kind, ev.sent_at)
        if ev.source is Source.REAUTH:
            # Rule 9: a silent re-auth re-syncs the user's data, whatever triggered it.
            out.append(d.ResyncProfile())
        return out

    def _on_restored(self, ev: e.SessionRestored, now: float) -> list[d.Decision]:
        elapsed = ev.elapsed_wall_s
        self.kind = ev.kind
        self.generation = 1
        if 0 <= elapsed < self.ttl_s:
            # Rule 10: within the TTL, resume it, refreshing it first.
            self.deadline = now + (self.ttl_s - elapsed)
            self.last_extension_sent = now - elapsed
            self.flight = Flight.REFRESH
            return [d.DeadlineMoved(self.deadline), d.StartRefresh()]
        # Rule 3: a negative or absurd wall-clock gap is treated as expired; then rule 9's path.
        self.deadline = now
        self.dead = True
        return self._recover()

    def _recover(self) -> list[d.Decision]:
        """Rule 7: the token is gone; get a new session in one flight."""
        if self.kind is SessionKind.USER:
            self.flight = Flight.REAUTH
            return [d.StartReauth()]
        self.flight = Flight.NEW_GUEST
        return [d.StartGuestSession()]

    def _on_call(self, ev: e.CallStarting, now: float) -> list[d.Decision]:
        if self.flight is not None:
            return [d.AwaitFlight()]
        if self.kind is None or self.signed_out:
            self.flight = Flight.NEW_GUEST
            return [d.StartGuestSession()]
        if self.dead or self.lapsed:
            return self._recover()
        assert self.deadline is not None
        if now >= self.deadline:
            if self.refresh_failures > 0:
                # Rule 6: refreshes kept failing until the deadline. The server's verdict is
                # unknown, so nobody is signed out for it: recover now, as on any later action.
                out = self._expire()
                if self.lapsed:
                    out += self._recover()
                return out
            # Our estimate is conservative: the server may hold the session a little longer.
            # One refresh tells; a rejection leads to recovery (rule 7).
            self.flight = Flight.REFRESH
            return [d.StartRefresh()]
        return [d.Proceed(self.generation)]

    def _extend(self, sent_at: float) -> list[d.Decision]:
        assert self.deadline is not None
        candidate = sent_at + self.ttl_s
        if candidate <= self.deadline:
            return []
        self.deadline = candidate
        self.last_extension_sent = sent_at
        self.warned = False
        self.stay_pending = False
        self.refresh_failures = 0
        self.retry_at = None
        out: list[d.Decision] = [d.DeadlineMoved(candidate)]
        if self.prompt_visible and self._now < candidate - self.warn_s:
            self.prompt_visible = False
            out.append(d.HidePrompt())
        return out

    def _set_link(self, link: d.Link) -> list[d.Decision]:
        if self.link is link:
            return []
        self.link = link
        return [d.ConnectivityChanged(link)]

    def _online(self) -> list[d.Decision]:
        """The server answered with a verdict on the token: it is reachable and working."""
        return self._set_link(d.Link.ONLINE)

    def _on_accepted(self, ev: e.ResponseAccepted, now: float) -> list[d.Decision]:
        out = self._online()
        # Rule 1: only an answer to the current token moves the deadline, from the send time.
        # A call made with a rotated-out token (still in grace) says nothing about the new one.
        usable = not (self.dead or self.lapsed or self.signed_out)
        if ev.generation == self.generation and self.kind is not None and usable:
            out += self._extend(ev.sent_at)
        return out

    def _unanswered(self, *, transport: bool) -> list[d.Decision]:
        """No verdict came back: nothing at all (transport), or a 5xx. Either way the server's
        answer is unknown, and the client says so (rule 6)."""
        return self._set_link(d.Link.UNREACHABLE if transport else d.Link.FAILING)

    def _on_failed(self, ev: e.ResponseFailed, now: float) -> list[d.Decision]:
        # Rule 2: a transport failure or 5xx moves nothing: the server may never have seen it.
        return self._unanswered(transport=ev.transport)

    def _on_rejected(self, ev: e.ResponseRejected, now: float) -> list[d.Decision]:
        out = self._online()
        current = ev.generation == self.generation
        if ev.attempt >= 2:
            # Never loop: the replay was rejected too. The token it used is dead.
            if current and self.kind is not None:
                self.dead = True
            return [*out, d.GiveUp("rejected again after one replay")]
        if not current:
            # Rule 7, rotation: the token was replaced while this call was out. Replay, no refresh.
            return [*out, d.Replay()]
        if self.kind is None or self.signed_out:
            return [*out, d.GiveUp("no session")]
        if not self.dead:
            out += self._maybe_lower_ttl(ev.sent_at)
        self.dead = True
        if self.prompt_visible:
            self.prompt_visible = False
            out.append(d.HidePrompt())
        if self.flight is None:
            out += self._recover()
        return [*out, d.Replay()]

    def _maybe_lower_ttl(self, sent_at: float) -> list[d.Decision]:
        if self.deadline is None or self.last_extension_sent is None or sent_at >= self.deadline:
            return []
        elapsed = sent_at - self.last_extension_sent
        if elapsed < self.ttl_s * self.policy.ttl_evidence_fraction:
            return []  # too early to be the TTL: read it as a revocation
        # Never so low that the warning window swallows the whole session.
        floor = self.policy.warn_s + self.policy.min_ttl_s
        new = max(floor, elapsed * self.policy.ttl_shrink_factor)
        if new >= self.ttl_s:
            return []
        old, self.ttl_s = self.ttl_s, new
        return [d.TTLLowered(old_s=old, new_s=new)]

    def _on_refresh_ok(self, ev: e.RefreshSucceeded, now: float) -> list[d.Decision]:
        assert self.kind is not None
        self.flight = None
        return self._online() + self._issue(self.kind, ev.sent_at)

    def _on_refresh_failed(self, ev: e.RefreshFailed, now: float) -> list[d.Decision]:
        self.flight = None
        if ev.rejected:
            # Rule 6: a rejected refresh means the session is gone; rule 7.
            self.dead = True
            return [*self._online(), *self._recover()]
        out = self._unanswered(transport=ev.transport)
        self.refresh_failures += 1
        assert self.deadline is not None
        retry = now + self.policy.backoff(self.refresh_failures)
        if now >= self.deadline:
            return out + self._expire()
        if retry < self.deadline:
            self.retry_at = retry
            out.append(d.RefreshRetryScheduled(at=retry, failures=self.refresh_failures))
        else:
            self.retry_at = None  # the deadline tick will apply rule 5
        return out

    def _on_recovery_failed(self, ev: e.RecoveryFailed, now: float) -> list[d.Decision]:
        flight, self.flight = self.flight, None
        if ev.rejected:
            out = self._online()
            if flight is Flight.REAUTH:
                return out + self._sign_out(d.SignOutReason.RECOVERY_FAILED)
        else:
            out = self._unanswered(transport=ev.transport)
        # The network or the server failed us, not the credentials: no sign-out for that alone
        # (edge case 16). Recovery is tried again on the next call.
        self.dead = True
        return out

    def _expire(self) -> list[d.Decision]:
        """Rule 5, at the deadline with no refresh."""
        out: list[d.Decision] = []
        if self.prompt_visible:
            self.prompt_visible = False
            out.append(d.HidePrompt())
        self.retry_at = None
        self.stay_pending = False
        assert self.kind is not None
        if self.kind is SessionKind.USER and not self.offline and self.refresh_failures == 0:
            # Nobody asked for a refresh (an idle user, or one who ignored the prompt): rule 5.
            return out + self._sign_out(d.SignOutReason.EXPIRED)
        # A guest is renewed silently on the next action. A user whose refresh got no verdict
        # (unreachable, or a 5xx) is re-authenticated on the next action rather than signed out
        # for the network or the server alone (rule 6).
        self.lapsed = True
        return [*out, d.SessionLapsed(self.kind)]

    def _sign_out(self, reason: d.SignOutReason) -> list[d.Decision]:
        out: list[d.Decision] = []
        if self.prompt_visible:
            self.prompt_visible = False
            out.append(d.HidePrompt())
        self.signed_out = True
        if self.flight is not None:
            self.abandoned, self.flight = self.flight, None
        self.kind = None
        self.deadline = None
        self.dead = self.lapsed = False
        self.warned = False
        self.stay_pending = False
        self.refresh_failures = 0
        self.retry_at = None
        return [*out, d.SignOut(reason)]

    def _active_since_extension(self) -> bool:
        if not self.policy.idle_rule:
            return True
        return (
            self.last_activity is not None
            and self.last_extension_sent is not None
            and self.last_activity > self.last_extension_sent
        )

    def _in_warning(self, now: float) -> bool:
        return (
            self.deadline is not None
            and self.kind is not None
            and not (self.dead or self.lapsed or self.signed_out)
            and self.deadline - self.warn_s <= now < self.deadline
        )

    def _warn(self, now: float) -> list[d.Decision]:
        """Rule 4: what to do once the warning window opens (or the screen changes inside it)."""
        assert self.deadline is not None
        self.warned = True
        left = self.deadline - now
        if self.active_flow:
            if self.prompt_visible or self.stay_pending:
                return []  # already asked, or answered "stay" and its refresh is still being tried
            self.prompt_visible = True
            return [d.WarningWindow(left, "prompt"), d.ShowPrompt(seconds_left=left)]
        if self._active_since_extension():
            self.flight = Flight.REFRESH
            return [d.WarningWindow(left, "refresh"), d.StartRefresh()]
        return [d.WarningWindow(left, "lapse")]  # an idle user's session is allowed to lapse

    def _on_tick(self, ev: e.Tick, now: float) -> list[d.Decision]:
        due = ev.scheduled_for
        if due is not None and self.paused_since is None and now - due > self.policy.stop_gap_s:
            # Stopped from outside (no suspend came first) and woken: this is a resume (rule 9),
            # whatever the deadline says, or a user would be signed out instead of re-authenticated.
            return self._returned(now, self._last_alive(ev.alive_at), detected=True)
        if self.paused_since is not None or self.flight is not None:
            return []  # rule 9: nothing while away; a flight's outcome comes as its own event
        if self.kind is None or self.signed_out or self.dead or self.lapsed:
            return []
        assert self.deadline is not None
        if now >= self.deadline:
            return self._expire()
        if self.retry_at is not None and now >= self.retry_at:
            self.retry_at = None
            self.flight = Flight.REFRESH
            return [d.StartRefresh()]
        if not self.warned and now >= self.deadline - self.warn_s:
            return self._warn(now)
        return []

    def _on_activity(self, ev: e.UserActivity, now: float) -> list[d.Decision]:
        self.last_activity = now
        # A user who comes back to life inside the warning window on a passive screen.
        if (
            self.warned
            and not self.active_flow
            and self.flight is None
            and self.paused_since is None
            and self._in_warning(now)
        ):
            self.flight = Flight.REFRESH
            return [d.StartRefresh()]
        return []

    def _on_screen(self, ev: e.ScreenChanged, now: float) -> list[d.Decision]:
        self.active_flow = ev.active_flow
        if not self._in_warning(now) or self.paused_since is not None or self.flight is not None:
            return []
        if ev.active_flow:
            return self._warn(now)
        if self.prompt_visible:
            # Leaving the flow from the prompt is itself an action: a passive screen refreshes.
            self.prompt_visible = False
            return [d.HidePrompt(), *self._warn(now)]
        return []

    def _on_background(self, ev: e.Backgrounded, now: float) -> list[d.Decision]:
        if self.paused_since is not None:
            return []
        self.paused_since = now
        self.warned = False
        self.stay_pending = False
        if self.prompt_visible:
            self.prompt_visible = False
            return [d.HidePrompt()]
        return []

    def _on_resume(self, ev: e.Resumed, now: float) -> list[d.Decision]:
        if self.paused_since is not None:
            return self._returned(now, self.paused_since, detected=False)
        return self._returned(now, self._last_alive(ev.alive_at), detected=True)

    def _last_alive(self, heartbeat: float | None) -> float:
        """The latest moment the process is known to have run: its last event or heartbeat.

        A stop from outside began after it; a late wake-up's due time says nothing of when
        (the process may have stopped long before the timer was due).
        """
        known = self._previous_now if heartbeat is None else max(self._previous_now, heartbeat)
        return min(known, self._now)

    def _returned(self, now: float, since: float, *, detected: bool) -> list[d.Decision]:
        """Rule 9: back in the foreground after being away since `since`."""
        self.paused_since = None
        out: list[d.Decision] = [d.BackgroundEnded(away_s=now - since, detected=detected)]
        if self.kind is None or self.signed_out or self.flight is not None:
            return out
        assert self.deadline is not None
        if self.dead or self.lapsed or now >= self.deadline:
            # Expired: a guest gets a new session; a user is re-authenticated silently.
            self.lapsed = False
            self.dead = True
            return out + self._recover()
        # Still valid: refresh and restart.
        self.flight = Flight.REFRESH
        return [*out, d.StartRefresh()]

    def _on_prompt_answer(self, ev: e.PromptAnswered, now: float) -> list[d.Decision]:
        self.prompt_visible = False
        if not ev.stay:
            return self._sign_out(d.SignOutReason.USER_CHOICE)
        self.last_activity = now
        out: list[d.Decision] = [d.HidePrompt()]
        if self.flight is None:
            if self.kind is not None and self.deadline is not None and now >= self.deadline:
                return out + self._expire()
            self.stay_pending = True
            self.flight = Flight.REFRESH
            out.append(d.StartRefresh())
        return out

    def _on_sign_out(self, ev: e.SignOutRequested, now: float) -> list[d.Decision]:
        if self.kind is None:
            return []
        return self._sign_out(d.SignOutReason.USER_CHOICE)


def _answers(event: e.Event, flight: Flight) -> bool:
    """Whether an event is the outcome of that flight."""
    if isinstance(event, e.RefreshSucceeded | e.RefreshFailed):
        return flight is Flight.REFRESH
    if isinstance(event, e.SessionIssued):
        return FLIGHT_OF_SOURCE.get(event.source) is flight
    if isinstance(event, e.RecoveryFailed):
        return flight is not Flight.REFRESH
    return False


_Handler = Callable[[SessionEngine, Any, float], list[d.Decision]]

_HANDLERS: dict[type[e.Event], _Handler] = {
    e.SessionIssued: SessionEngine._on_issued,
    e.SessionRestored: SessionEngine._on_restored,
    e.CallStarting: SessionEngine._on_call,
    e.ResponseAccepted: SessionEngine._on_accepted,
    e.ResponseRejected: SessionEngine._on_rejected,
    e.ResponseFailed: SessionEngine._on_failed,
    e.RefreshSucceeded: SessionEngine._on_refresh_ok,
    e.RefreshFailed: SessionEngine._on_refresh_failed,
    e.RecoveryFailed: SessionEngine._on_recovery_failed,
    e.UserActivity: SessionEngine._on_activity,
    e.ScreenChanged: SessionEngine._on_screen,
    e.Backgrounded: SessionEngine._on_background,
    e.Resumed: SessionEngine._on_resume,
    e.PromptAnswered: SessionEngine._on_prompt_answer,
    e.SignOutRequested: SessionEngine._on_sign_out,
    e.Tick: SessionEngine._on_tick,
}
