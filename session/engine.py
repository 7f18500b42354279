"""The session engine: a pure state machine. Events and clock readings in, decisions out; no I/O.

It holds the one client-side deadline (rule 1) and decides, for every event, what the client must
do next (rules 1 to 10 and 13 of docs/rules.md). It never sleeps, never reads a clock, never talks to
the network: the async manager around it does that and reports back with events.

What it holds is one `Status` (stored), plus the few values that are independent of it: the
deadline and the TTL estimate, the prompt, the time it went to the background, the link, and the
refresh retry. `TRANSITIONS` is the table of which event each status accepts and which handler
takes it; anything else raises `SessionProtocolError`. docs/engine.md walks through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from session import decisions as d
from session import events as e
from session.events import SessionKind, Source
from session.kinds import Flight as Flight
from session.kinds import State as State
from session.kinds import Status as Status
from session.policy import Policy


class SessionProtocolError(Exception):
    """An event that cannot happen in the current status: a bug in the caller, not the server.

    The engine is unchanged when it is raised.
    """


FLIGHT_STATUS = {
    Flight.REFRESH: Status.REFRESHING,
    Flight.REAUTH: Status.REAUTHENTICATING,
    Flight.NEW_GUEST: Status.STARTING_GUEST,
}
_STATUS_FLIGHT = {status: flight for flight, status in FLIGHT_STATUS.items()}
IN_FLIGHT = frozenset(FLIGHT_STATUS.values())


# -- flights and the events that report their outcome: the one mapping ----------------------------


def success_event(flight: Flight, sent_at: float) -> e.Event:
    """The event that tells the engine a flight came back with a session."""
    if flight is Flight.REFRESH:
        return e.RefreshSucceeded(sent_at)
    if flight is Flight.REAUTH:
        return e.SessionIssued(SessionKind.USER, Source.REAUTH, sent_at)
    return e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at)


def failure_event(flight: Flight, *, rejected: bool, transport: bool) -> e.Event:
    """The event that tells the engine a flight failed (`rejected`: the server said no)."""
    if flight is Flight.REFRESH:
        return e.RefreshFailed(rejected=rejected, transport=transport)
    return e.RecoveryFailed(rejected=rejected, transport=transport)


def answers(event: e.Event, flight: Flight) -> bool:
    """Whether `event` is the outcome of `flight` (the inverse of the two functions above)."""
    if isinstance(event, e.RefreshSucceeded | e.RefreshFailed):
        return flight is Flight.REFRESH
    if isinstance(event, e.SessionIssued):
        return event.source is {Flight.REAUTH: Source.REAUTH, Flight.NEW_GUEST: Source.GUEST}.get(flight)
    if isinstance(event, e.RecoveryFailed):
        return flight is not Flight.REFRESH
    return False


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
    status: Status = Status.NO_SESSION
    token_usable: bool = False  # a call may go out now with the current token, no flight first
    last_extension_sent: float | None = None  # send time of the latest call that moved the deadline
    next_wakeup: float | None = None  # the earliest moment a Tick could change something


class SessionEngine:
    """One client session's lifecycle. Call `handle(event, now)`; carry out what it returns."""

    def __init__(self, policy: Policy | None = None, now: float = 0.0) -> None:
        self.policy = policy or Policy()
        self._now = now
        self._previous_now = now
        # -- the one stored status, and what a flight started from
        self.status = Status.NO_SESSION
        self.before_flight = Status.NO_SESSION  # the status the flight in progress started from
        # Flights that were out when their session ended (a sign-out, or a login that won), oldest
        # first: their outcomes are void. The manager sends flights one at a time, so outcomes
        # arrive in this order, and a new flight's outcome after all of these.
        self.abandoned: list[Flight] = []
        # -- the session
        self.kind: SessionKind | None = None
        self.generation = 0  # bumps with every new token (issue, refresh, re-auth)
        self.deadline: float | None = None
        self.last_extension_sent: float | None = None
        self.ttl_s = self.policy.ttl_s  # the estimate: lowered when the server shows it is shorter
        # -- what the user is doing
        self.last_activity: float | None = None
        self.active_flow = False
        self.paused_since: float | None = None
        self.prompt_visible = False
        self.warned = False  # the warning for the current deadline was handled
        self.stay_pending = False  # the prompt was answered "stay": no new prompt until it lands
        # -- the network
        self.link = d.Link.ONLINE
        self.refresh_failures = 0
        self.retry_at: float | None = None

    # -- reading -------------------------------------------------------------------------------

    @property
    def flight(self) -> Flight | None:
        return _STATUS_FLIGHT.get(self.status)

    @property
    def signed_out(self) -> bool:
        return self.status is Status.SIGNED_OUT

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

    def state_at(self, now: float) -> State:
        status = self.status
        # A flight first: after a sign-out, the next call's guest session is one, and its outcome
        # must be taken like any other.
        if status is Status.REFRESHING:
            return State.REFRESHING
        if status in IN_FLIGHT:
            return State.RECOVERING
        if status is Status.SIGNED_OUT:
            return State.SIGNED_OUT
        if self.paused_since is not None:
            return State.PAUSED
        if status is Status.NO_SESSION:
            return State.NO_SESSION
        assert self.deadline is not None
        if status is not Status.LIVE or now >= self.deadline:
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
            remaining = 0.0 if self.token_spent() else max(0.0, self.deadline - now)
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
            status=self.status,
            token_usable=self.token_usable(now),
            last_extension_sent=self.last_extension_sent,
            next_wakeup=self.next_wakeup(),
        )

    def token_usable(self, now: float) -> bool:
        """True when a call may go out with the current token without asking the server first."""
        return self.status is Status.LIVE and self.deadline is not None and now < self.deadline

    def next_wakeup(self) -> float | None:
        """The earliest clock time at which a Tick could change something, or None."""
        if self.paused_since is not None or self.status is not Status.LIVE:
            return None
        assert self.deadline is not None
        times = [self.deadline]
        if not self.warned:
            times.append(self.deadline - self.warn_s)
        if self.retry_at is not None:
            times.append(self.retry_at)
        return min(times)

    def token_spent(self) -> bool:
        """The current token is known to be no good (lapsed, rejected, or being replaced by a
        recovery), so no time is left on it, whatever the deadline says."""
        if self.status in (Status.LAPSED, Status.REJECTED, Status.REAUTHENTICATING, Status.STARTING_GUEST):
            return True
        return self.status is Status.REFRESHING and self.before_flight is Status.REJECTED

    # -- the one entry point ---------------------------------------------------------------------

    def handle(self, event: e.Event, now: float) -> list[d.Decision]:
        if now < self._now:
            raise SessionProtocolError(f"time went backwards: {now} after {self._now}")
        if self.abandoned and answers(event, self.abandoned[0]):
            # The outcome of a flight that was out when its session ended: it changes nothing,
            # and a session it brought must not sign anyone back in.
            self._previous_now, self._now = self._now, now
            del self.abandoned[0]
            issued = isinstance(event, e.SessionIssued | e.RefreshSucceeded)
            return [d.DiscardSession()] if issued else []
        handler = self._check(event)
        self._previous_now, self._now = self._now, now
        return handler(self, event, now)

    def _check(self, event: e.Event) -> _Handler:
        handler = TRANSITIONS[self.status].get(type(event))
        if handler is None:
            raise SessionProtocolError(f"{type(event).__name__} is not legal in status {self.status.value}")
        if isinstance(event, e.SessionIssued) and event.source not in (
            Source.LOGIN,
            _ISSUED_BY.get(self.status),
        ):
            flight = self.flight.value if self.flight else "none"
            raise SessionProtocolError(f"a session from {event.source.value} while the flight is {flight}")
        if isinstance(event, e.PromptAnswered) and not self.prompt_visible:
            raise SessionProtocolError("PromptAnswered while no prompt is shown")
        if isinstance(event, e.SessionRestored) and self.generation != 0:
            raise SessionProtocolError("a stored session can only be restored at start-up")
        return handler

    # -- small steps the handlers share -------------------------------------------------------------

    def _fly(self, flight: Flight) -> d.Decision:
        """Start a flight from the current status."""
        self.before_flight = self.status
        self.status = FLIGHT_STATUS[flight]
        starts: dict[Flight, d.Decision] = {
            Flight.REFRESH: d.StartRefresh(),
            Flight.REAUTH: d.StartReauth(),
            Flight.NEW_GUEST: d.StartGuestSession(),
        }
        return starts[flight]

    def _hide_prompt(self) -> list[d.Decision]:
        if not self.prompt_visible:
            return []
        self.prompt_visible = False
        return [d.HidePrompt()]

    def _quiet_refresh(self) -> None:
        """A new deadline: nothing to warn about, retry or wait for yet."""
        self.warned = False
        self.stay_pending = False
        self.refresh_failures = 0
        self.retry_at = None

    def _set_link(self, link: d.Link) -> list[d.Decision]:
        if self.link is link:
            return []
        self.link = link
        return [d.ConnectivityChanged(link)]

    def _online(self) -> list[d.Decision]:
        """The server answered with a verdict on the token: it is reachable and working."""
        return self._set_link(d.Link.ONLINE)

    def _unanswered(self, *, transport: bool) -> list[d.Decision]:
        """No verdict came back: nothing at all (transport), or a 5xx. Either way the server's
        answer is unknown, and the client says so (rule 6)."""
        return self._set_link(d.Link.UNREACHABLE if transport else d.Link.FAILING)

    def _mark_rejected(self) -> None:
        """The current token was rejected: no call may use it again."""
        if self.status in (Status.LIVE, Status.LAPSED):
            self.status = Status.REJECTED
        elif self.status is Status.REFRESHING:
            self.before_flight = Status.REJECTED  # if the refresh fails, the token is still dead

    def _holds(self, status: Status) -> bool:
        """The status now (a method, so that a check after a handler call reads it afresh)."""
        return self.status is status

    def _token_known_rejected(self) -> bool:
        return self.status is Status.REJECTED or (
            self.status in IN_FLIGHT and self.before_flight is Status.REJECTED
        )

    # -- the session ------------------------------------------------------------------------------

    def _issue(self, kind: SessionKind, sent_at: float) -> list[d.Decision]:
        """A fresh token: everything about the old one is forgotten."""
        self.status = Status.LIVE
        self.kind = kind
        self.generation += 1
        self.deadline = sent_at + self.ttl_s
        self.last_extension_sent = sent_at
        self._quiet_refresh()
        return [*self._hide_prompt(), d.DeadlineMoved(self.deadline)]

    def _on_issued(self, ev: e.SessionIssued, now: float) -> list[d.Decision]:
        if ev.source is Source.LOGIN and self.flight is not None:
            # A login answered while a flight was out (it was asked for before the flight began):
            # the login's session wins, and whatever the flight brings is void.
            self.abandoned.append(self.flight)
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
            self.status = Status.LIVE
            return [d.DeadlineMoved(self.deadline), self._fly(Flight.REFRESH)]
        # Rule 3: a negative or absurd wall-clock gap is treated as expired; then rule 9's path.
        self.deadline = now
        self.status = Status.REJECTED
        return self._recover()

    def _recover(self) -> list[d.Decision]:
        """Rule 7: the token is gone; get a new session in one flight."""
        return [self._fly(Flight.REAUTH if self.kind is SessionKind.USER else Flight.NEW_GUEST)]

    def _on_call(self, ev: e.CallStarting, now: float) -> list[d.Decision]:
        if self.status in IN_FLIGHT:
            return [d.AwaitFlight()]
        if self.status in (Status.NO_SESSION, Status.SIGNED_OUT):
            return [self._fly(Flight.NEW_GUEST)]
        if self.status in (Status.REJECTED, Status.LAPSED):
            return self._recover()
        assert self.deadline is not None
        if now >= self.deadline:
            if self.refresh_failures > 0:
                # Rule 6: refreshes kept failing until the deadline. The server's verdict is
                # unknown, so nobody is signed out for it: recover now, as on any later action.
                out = self._expire()
                if self._holds(Status.LAPSED):
                    out += self._recover()
                return out
            # Our estimate is conservative: the server may hold the session a little longer.
            # One refresh tells; a rejection leads to recovery (rule 7).
            return [self._fly(Flight.REFRESH)]
        return [d.Proceed(self.generation)]

    def _extend(self, sent_at: float) -> list[d.Decision]:
        assert self.deadline is not None
        candidate = sent_at + self.ttl_s
        if candidate <= self.deadline:
            return []
        self.deadline = candidate
        self.last_extension_sent = sent_at
        self._quiet_refresh()
        out: list[d.Decision] = [d.DeadlineMoved(candidate)]
        if self._now < candidate - self.warn_s:
            out += self._hide_prompt()
        return out

    def _on_accepted(self, ev: e.ResponseAccepted, now: float) -> list[d.Decision]:
        out = self._online()
        # Rule 1: only an answer to the current token moves the deadline, from the send time.
        # A call made with a rotated-out token (still in grace) says nothing about the new one.
        usable = self.status is Status.LIVE or (
            self.status is Status.REFRESHING and self.before_flight is Status.LIVE
        )
        if ev.generation == self.generation and usable:
            out += self._extend(ev.sent_at)
        return out

    def _on_failed(self, ev: e.ResponseFailed, now: float) -> list[d.Decision]:
        # Rule 2: a transport failure or 5xx moves nothing: the server may never have seen it.
        return self._unanswered(transport=ev.transport)

    def _on_rejected(self, ev: e.ResponseRejected, now: float) -> list[d.Decision]:
        out = self._online()
        current = ev.generation == self.generation
        if ev.attempt >= 2:
            # Never loop: the replay was rejected too. The token it used is dead.
            if current and self.kind is not None:
                self._mark_rejected()
            return [*out, d.GiveUp("rejected again after one replay")]
        if not current:
            # Rule 7, rotation: the token was replaced while this call was out. Replay, no refresh.
            return [*out, d.Replay()]
        if self.kind is None:
            return [*out, d.GiveUp("no session")]
        if not self._token_known_rejected():
            out += self._maybe_lower_ttl(ev.sent_at)
        self._mark_rejected()
        out += self._hide_prompt()
        if self.status not in IN_FLIGHT:
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

    # -- flights coming back ----------------------------------------------------------------------

    def _on_refresh_ok(self, ev: e.RefreshSucceeded, now: float) -> list[d.Decision]:
        assert self.kind is not None
        return self._online() + self._issue(self.kind, ev.sent_at)

    def _on_refresh_failed(self, ev: e.RefreshFailed, now: float) -> list[d.Decision]:
        self.status = Status.REJECTED if self.before_flight is Status.REJECTED else Status.LIVE
        if ev.rejected:
            # Rule 6: a rejected refresh means the session is gone; rule 7.
            self.status = Status.REJECTED
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
        flight = self.flight
        # The flight is over: out of its status first, so a sign-out below abandons nothing.
        self.status = Status.REJECTED if self.kind is not None else self.before_flight
        if ev.rejected:
            out = self._online()
            if flight is Flight.REAUTH:
                return out + self._sign_out(d.SignOutReason.RECOVERY_FAILED)
            return out
        # The network or the server failed us, not the credentials: no sign-out for that alone
        # (edge case 16). Recovery is tried again on the next call.
        return self._unanswered(transport=ev.transport)

    # -- the deadline -------------------------------------------------------------------------------

    def _expire(self) -> list[d.Decision]:
        """Rule 5, at the deadline with no refresh."""
        out = self._hide_prompt()
        self.retry_at = None
        self.stay_pending = False
        assert self.kind is not None
        if self.kind is SessionKind.USER and not self.offline and self.refresh_failures == 0:
            # Nobody asked for a refresh (an idle user, or one who ignored the prompt): rule 5.
            return out + self._sign_out(d.SignOutReason.EXPIRED)
        # A guest is renewed silently on the next action. A user whose refresh got no verdict
        # (unreachable, or a 5xx) is re-authenticated on the next action rather than signed out
        # for the network or the server alone (rule 6).
        self.status = Status.LAPSED
        return [*out, d.SessionLapsed(self.kind)]

    def _sign_out(self, reason: d.SignOutReason) -> list[d.Decision]:
        out = self._hide_prompt()
        if self.flight is not None:
            self.abandoned.append(self.flight)
        self.status = Status.SIGNED_OUT
        self.kind = None
        self.deadline = None
        self._quiet_refresh()
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
            self.status is Status.LIVE
            and self.deadline is not None
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
            return [d.WarningWindow(left, "refresh"), self._fly(Flight.REFRESH)]
        return [d.WarningWindow(left, "lapse")]  # an idle user's session is allowed to lapse

    def _on_tick(self, ev: e.Tick, now: float) -> list[d.Decision]:
        due = ev.scheduled_for
        if due is not None and self.paused_since is None and now - due > self.policy.stop_gap_s:
            # Stopped from outside (no suspend came first) and woken: this is a resume (rule 9),
            # whatever the deadline says, or a user would be signed out instead of re-authenticated.
            return self._returned(now, self._last_alive(ev.alive_at), detected=True)
        return self._due(now)

    def _due(self, now: float) -> list[d.Decision]:
        """What the clock alone calls for now: the deadline, a retry, the warning window. A Tick
        asks this; so does every event of the user's, since a wake-up can come late (a sleeping
        machine stops the event loop's clock but not the session's)."""
        if self.paused_since is not None or self.status is not Status.LIVE:
            return []  # rule 9: nothing while away; a flight's outcome comes as its own event
        assert self.deadline is not None
        if now >= self.deadline:
            return self._expire()
        if self.retry_at is not None and now >= self.retry_at:
            self.retry_at = None
            return [self._fly(Flight.REFRESH)]
        if not self.warned and now >= self.deadline - self.warn_s:
            return self._warn(now)
        return []

    # -- the user -----------------------------------------------------------------------------------

    def _on_activity(self, ev: e.UserActivity, now: float) -> list[d.Decision]:
        self.last_activity = now
        out = self._due(now)
        # A user who comes back to life inside the warning window on a passive screen.
        if self.warned and not self.active_flow and self.paused_since is None and self._in_warning(now):
            return [*out, self._fly(Flight.REFRESH)]
        return out

    def _on_screen(self, ev: e.ScreenChanged, now: float) -> list[d.Decision]:
        self.active_flow = ev.active_flow
        out = self._due(now)
        if not self._in_warning(now) or self.paused_since is not None:
            return out
        if ev.active_flow:
            return out + self._warn(now)
        if self.prompt_visible:
            # Leaving the flow from the prompt is itself an action: a passive screen refreshes.
            return [*out, *self._hide_prompt(), *self._warn(now)]
        return out

    def _on_background(self, ev: e.Backgrounded, now: float) -> list[d.Decision]:
        if self.paused_since is not None:
            return []
        out = self._due(now)  # a deadline already passed is applied before going away
        self.paused_since = now
        self.warned = False
        self.stay_pending = False
        return out + self._hide_prompt()

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
        if self.status not in (Status.LIVE, Status.LAPSED, Status.REJECTED):
            return out  # no session, signed out, or a flight already out
        assert self.deadline is not None
        if self.status is not Status.LIVE or now >= self.deadline:
            # Expired: a guest gets a new session; a user is re-authenticated silently.
            self.status = Status.REJECTED
            return out + self._recover()
        # Still valid: refresh and restart.
        return [*out, self._fly(Flight.REFRESH)]

    def _on_prompt_answer(self, ev: e.PromptAnswered, now: float) -> list[d.Decision]:
        self.prompt_visible = False
        if not ev.stay:
            return self._sign_out(d.SignOutReason.USER_CHOICE)
        self.last_activity = now
        out: list[d.Decision] = [d.HidePrompt()]
        if self.status is Status.LIVE:
            assert self.deadline is not None
            if now >= self.deadline:
                return out + self._expire()
            self.stay_pending = True
            out.append(self._fly(Flight.REFRESH))
        return out

    def _on_sign_out(self, ev: e.SignOutRequested, now: float) -> list[d.Decision]:
        if self.kind is None:
            return []
        return self._sign_out(d.SignOutReason.USER_CHOICE)


_Handler = Callable[[SessionEngine, Any, float], list[d.Decision]]
E = SessionEngine

# The flight whose session a status waits for. A login is taken in every status: the user may
# have asked for it before a flight began.
_ISSUED_BY = {Status.REAUTHENTICATING: Source.REAUTH, Status.STARTING_GUEST: Source.GUEST}

# Events that can arrive at any moment, whatever the status: answers to calls made earlier, what
# the user and the terminal do, time passing, and a sign-out.
_ANYTIME: dict[type[e.Event], _Handler] = {
    e.CallStarting: E._on_call,
    e.ResponseAccepted: E._on_accepted,
    e.ResponseRejected: E._on_rejected,
    e.ResponseFailed: E._on_failed,
    e.UserActivity: E._on_activity,
    e.ScreenChanged: E._on_screen,
    e.Backgrounded: E._on_background,
    e.Resumed: E._on_resume,
    e.Tick: E._on_tick,
    e.SignOutRequested: E._on_sign_out,
}
# A login can come in any status (see _ISSUED_BY); in a flight's, it voids the flight.
_LOGIN: dict[type[e.Event], _Handler] = {e.SessionIssued: E._on_issued}
# A prompt can be answered wherever one can be shown (`_check` also wants it shown).
_PROMPT: dict[type[e.Event], _Handler] = {e.PromptAnswered: E._on_prompt_answer}

# status -> event -> handler. An event not listed for the status raises SessionProtocolError
# and changes nothing. Read a row as "in this status, the engine takes these events".
TRANSITIONS: dict[Status, dict[type[e.Event], _Handler]] = {
    Status.NO_SESSION: {**_ANYTIME, **_LOGIN, e.SessionRestored: E._on_restored},
    Status.LIVE: {**_ANYTIME, **_LOGIN, **_PROMPT},
    Status.LAPSED: {**_ANYTIME, **_LOGIN, **_PROMPT},
    Status.REJECTED: {**_ANYTIME, **_LOGIN, **_PROMPT},
    Status.SIGNED_OUT: {**_ANYTIME, **_LOGIN},
    Status.REFRESHING: {
        **_ANYTIME,
        **_LOGIN,
        **_PROMPT,
        e.RefreshSucceeded: E._on_refresh_ok,
        e.RefreshFailed: E._on_refresh_failed,
    },
    Status.REAUTHENTICATING: {
        **_ANYTIME,
        **_PROMPT,
        e.SessionIssued: E._on_issued,  # from the re-auth, or a login
        e.RecoveryFailed: E._on_recovery_failed,
    },
    Status.STARTING_GUEST: {
        **_ANYTIME,
        **_PROMPT,
        e.SessionIssued: E._on_issued,  # the new guest session, or a login
        e.RecoveryFailed: E._on_recovery_failed,
    },
}


def describe_transitions() -> str:
    """The table as a Markdown grid: an event per row, a status per column, the handler that takes
    it in each cell (`-` where the event is illegal). docs/engine.md shows it; a test keeps the two
    the same."""
    events: list[type[e.Event]] = []
    for row in TRANSITIONS.values():
        events += [event for event in row if event not in events]
    statuses = list(TRANSITIONS)
    lines = [
        "| event | " + " | ".join(status.value for status in statuses) + " |",
        "| --- | " + " | ".join("---" for _ in statuses) + " |",
    ]
    for event in events:
        cells = [TRANSITIONS[status].get(event) for status in statuses]
        names = [f"`{cell.__name__.removeprefix('_on_')}`" if cell else "-" for cell in cells]
        lines.append(f"| {event.__name__} | " + " | ".join(names) + " |")
    return "\n".join(lines)
