"""The session engine: a pure state machine. Events and clock readings in, decisions out; no I/O.

It holds the one client-side deadline (rule 1) and decides, for every event, what the client must
do next (rules 1 to 10 and 13 of docs/rules.md). It never sleeps, never reads a clock, never talks to
the network: the async manager around it does that and reports back with events.

What it holds is one `Status` (stored), plus the few values that are independent of it: the
deadline and the TTL estimate, the prompt, the time it went to the background, the link, and the
refresh retry. `TRANSITIONS` is the whole of what happens: for each event, the statuses that take
it and, per group of statuses that behave alike, a cell with the method that does it and the
outcome in words (a condition beyond the status is a guard on the cell). Anything the table does
not take raises `SessionProtocolError`. `describe_transitions()` prints it for docs/engine.md,
which walks through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sessionkeeper.session import decisions as d
from sessionkeeper.session import events as e
from sessionkeeper.session.events import SessionKind, Source
from sessionkeeper.session.kinds import SessionFlight as SessionFlight
from sessionkeeper.session.kinds import State as State
from sessionkeeper.session.kinds import Status as Status
from sessionkeeper.session.policy import Policy


class SessionProtocolError(Exception):
    """An event that cannot happen in the current status: a bug in the caller, not the server.

    The engine is unchanged when it is raised.
    """


FLIGHT_STATUS = {
    SessionFlight.REFRESH: Status.REFRESHING,
    SessionFlight.REAUTH: Status.REAUTHENTICATING,
    SessionFlight.NEW_GUEST: Status.STARTING_GUEST,
}
_STATUS_FLIGHT = {status: flight for flight, status in FLIGHT_STATUS.items()}
IN_FLIGHT = frozenset(FLIGHT_STATUS.values())


# -- flights and the events that report their outcome: the one mapping ----------------------------


def success_event(flight: SessionFlight, sent_at: float) -> e.Event:
    """The event that tells the engine a flight came back with a session."""
    if flight is SessionFlight.REFRESH:
        return e.RefreshSucceeded(sent_at)
    if flight is SessionFlight.REAUTH:
        return e.SessionIssued(SessionKind.USER, Source.REAUTH, sent_at)
    return e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at)


def failure_event(
    flight: SessionFlight, *, rejected: bool, transport: bool, lifetime: bool = False
) -> e.Event:
    """The event that tells the engine a flight failed (`rejected`: the server said no;
    `lifetime`: because the session reached its absolute lifetime)."""
    if flight is SessionFlight.REFRESH:
        return e.RefreshFailed(rejected=rejected, transport=transport)
    return e.RecoveryFailed(rejected=rejected, transport=transport, lifetime=lifetime)


def answers(event: e.Event, flight: SessionFlight) -> bool:
    """Whether `event` is the outcome of `flight` (the inverse of the two functions above)."""
    if isinstance(event, e.RefreshSucceeded | e.RefreshFailed):
        return flight is SessionFlight.REFRESH
    if isinstance(event, e.SessionIssued):
        return event.source is {
            SessionFlight.REAUTH: Source.REAUTH,
            SessionFlight.NEW_GUEST: Source.GUEST,
        }.get(flight)
    if isinstance(event, e.RecoveryFailed):
        return flight is not SessionFlight.REFRESH
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
    flight: SessionFlight | None
    link: d.Link = d.Link.ONLINE
    retry_at: float | None = None  # when a failed refresh is tried again
    stay_pending: bool = False  # "Stay" was chosen and the refresh it asked for has not landed yet
    status: Status = Status.NO_SESSION
    token_usable: bool = False  # a call may go out now with the current token, no flight first
    last_extension_sent: float | None = None  # send time of the latest call that moved the deadline
    next_wakeup: float | None = None  # the earliest moment a Tick could change something
    lifetime_left_s: float | None = None  # until the absolute lifetime (rule 15), when it is known


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
        self.abandoned: list[SessionFlight] = []
        # -- the session
        self.kind: SessionKind | None = None
        self.generation = 0  # bumps with every new token (issue, refresh, re-auth)
        self.deadline: float | None = None
        self.last_extension_sent: float | None = None
        self.ttl_s = self.policy.ttl_s  # the estimate: lowered when the server shows it is shorter
        # Rule 15: when the signed-in session reaches its absolute lifetime, once known; the
        # deadline never goes past it, and the user is told `lifetime_warn_s` before it.
        self.lifetime_end: float | None = None
        self.lifetime_warned = False
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
    def flight(self) -> SessionFlight | None:
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
            lifetime_left_s=None if self.lifetime_end is None else max(0.0, self.lifetime_end - now),
        )

    def token_usable(self, now: float) -> bool:
        """True when a call may go out with the current token without asking the server first."""
        return self.status is Status.LIVE and self.deadline is not None and now < self.deadline

    def next_wakeup(self) -> float | None:
        """The earliest clock time at which a Tick could change something, or None."""
        if self.paused_since is not None or self.status is not Status.LIVE:
            return None
        assert self.deadline is not None
        # The earliest of the deadline, the warning (not yet given) and a retry: on every call's path.
        when = self.deadline
        if not self.warned:
            when = min(when, self.deadline - self.warn_s)
        if self.retry_at is not None:
            when = min(when, self.retry_at)
        if self.lifetime_end is not None and not self.lifetime_warned:
            when = min(when, self.lifetime_end - self.policy.lifetime_warn_s)
        return when

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
        cell = self._cell(event)
        self._previous_now, self._now = self._now, now
        return cell.handler(self, event, now)

    def _cell(self, event: e.Event) -> Cell:
        """The table's cell for `event` in the status now: the first listed whose guard holds.

        With none, the event is not legal here: this raises, and nothing has changed yet.
        """
        # `row_of` and `cells_for`, written out: two events a call come through here.
        row: Row = (e.SessionIssued, event.source) if isinstance(event, e.SessionIssued) else type(event)
        cells = _CELLS.get((row, self.status), ())
        for cell in cells:
            if cell.guard is None or cell.guard.holds(self, event):
                return cell
        unless = " or ".join(cell.guard.words for cell in cells if cell.guard is not None)
        refusal = f"{row_name(row)} is not legal in status {self.status.value}"
        raise SessionProtocolError(f"{refusal} unless {unless}" if unless else refusal)

    # -- small steps the cells share -----------------------------------------------------------------

    def _fly(self, flight: SessionFlight) -> d.Decision:
        """Start a flight from the current status."""
        self.before_flight = self.status
        self.status = FLIGHT_STATUS[flight]
        starts: dict[SessionFlight, d.Decision] = {
            SessionFlight.REFRESH: d.StartRefresh(),
            SessionFlight.REAUTH: d.StartReauth(),
            SessionFlight.NEW_GUEST: d.StartGuestSession(),
        }
        return starts[flight]

    def _recover(self) -> list[d.Decision]:
        """Rule 7: the token is gone; get a new session in one flight."""
        return [self._fly(SessionFlight.REAUTH if self.kind is SessionKind.USER else SessionFlight.NEW_GUEST)]

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

    def _capped(self, deadline: float) -> float:
        """Rule 15: the server never slides a session past its lifetime; nor does the client."""
        return deadline if self.lifetime_end is None else min(deadline, self.lifetime_end)

    def _new_lifetime(self) -> None:
        """A sign-in (here or in another instance) starts a lifetime of its own, unknown until told."""
        self.lifetime_end = None
        self.lifetime_warned = False

    def _issue(self, kind: SessionKind, sent_at: float) -> list[d.Decision]:
        """A fresh token: everything about the old one is forgotten."""
        if kind is SessionKind.GUEST:
            self._new_lifetime()
        self.status = Status.LIVE
        self.kind = kind
        self.generation += 1
        self.deadline = self._capped(sent_at + self.ttl_s)
        self.last_extension_sent = sent_at
        self._quiet_refresh()
        return [*self._hide_prompt(), d.DeadlineMoved(self.deadline)]

    def _extend(self, sent_at: float) -> list[d.Decision]:
        assert self.deadline is not None
        candidate = self._capped(sent_at + self.ttl_s)
        if candidate <= self.deadline:
            return []
        self.deadline = candidate
        self.last_extension_sent = sent_at
        self._quiet_refresh()
        out: list[d.Decision] = [d.DeadlineMoved(candidate)]
        if self._now < candidate - self.warn_s:
            out += self._hide_prompt()
        return out

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

    def _expire(self) -> list[d.Decision]:
        """Rule 5, at the deadline with no refresh."""
        out = self._hide_prompt()
        self.retry_at = None
        self.stay_pending = False
        assert self.kind is not None
        if self.kind is SessionKind.USER and self.lifetime_end is not None and self._now >= self.lifetime_end:
            # Rule 15: at the lifetime nothing renews the session, whatever the link says.
            return out + self._sign_out(d.SignOutReason.LIFETIME_REACHED)
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
        # The status is read, not assumed: a cell asks this after `_due`, which may have moved it.
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
        if self.lifetime_end is not None and self.deadline >= self.lifetime_end:
            # Rule 15: this deadline is the lifetime's; no Stay or refresh can move it. The person
            # was told before (LifetimeWarning); at it, the password is asked for.
            return [d.WarningWindow(left, "lifetime")]
        if self.active_flow:
            if self.prompt_visible or self.stay_pending:
                return []  # already asked, or answered "stay" and its refresh is still being tried
            self.prompt_visible = True
            return [d.WarningWindow(left, "prompt"), d.ShowPrompt(seconds_left=left)]
        if self._active_since_extension():
            return [d.WarningWindow(left, "refresh"), self._fly(SessionFlight.REFRESH)]
        return [d.WarningWindow(left, "lapse")]  # an idle user's session is allowed to lapse

    def _due(self, now: float) -> list[d.Decision]:
        """What the clock alone calls for now on a live token: the deadline, a retry, the warning
        window. A Tick asks this; so does every event of the user's, since a wake-up can come late
        (a sleeping machine stops the event loop's clock but not the session's). Only the `live`
        cells call it: in any other status the clock has nothing to do."""
        if self.paused_since is not None:
            return []  # rule 9: nothing while away
        assert self.deadline is not None
        return self._lifetime_due(now) + self._due_deadline(now)

    def _due_deadline(self, now: float) -> list[d.Decision]:
        assert self.deadline is not None
        if now >= self.deadline:
            return self._expire()
        if self.retry_at is not None and now >= self.retry_at:
            self.retry_at = None
            return [self._fly(SessionFlight.REFRESH)]
        if not self.warned and now >= self.deadline - self.warn_s:
            return self._warn(now)
        return []

    def _pause(self, now: float) -> list[d.Decision]:
        """Rule 9: away. The warning is handled afresh on return, so a prompt goes with it."""
        self.paused_since = now
        self.warned = False
        self.stay_pending = False
        return self._hide_prompt()

    def _last_alive(self, heartbeat: float | None) -> float:
        """The latest moment the process is known to have run: its last event or heartbeat.

        A stop from outside began after it; a late wake-up's due time says nothing of when
        (the process may have stopped long before the timer was due).
        """
        known = self._previous_now if heartbeat is None else max(self._previous_now, heartbeat)
        return min(known, self._now)

    def _returned(self, now: float, since: float, *, how: str) -> list[d.Decision]:
        """Rule 9: back in the foreground after being away since `since`. What the token needs
        then depends on the status: the cells that call this add it."""
        self.paused_since = None
        return [d.BackgroundEnded(away_s=now - since, detected=how != "away", how=how)]

    def _back(self, ev: e.Resumed, now: float) -> list[d.Decision]:
        if self.paused_since is not None:
            return self._returned(now, self.paused_since, how="away")
        # No Backgrounded came first: the process was stopped from outside (or the machine
        # slept), some time after it was last seen alive.
        return self._returned(now, self._last_alive(ev.alive_at), how="sleep" if ev.slept else "stop")

    def _woke_late(self, ev: e.Tick, now: float) -> bool:
        """A wake-up much later than it was due, with no suspend before it: the process was
        stopped from outside. That is a resume (rule 9), whatever the deadline says, or a user
        would be signed out instead of re-authenticated."""
        due = ev.scheduled_for
        return due is not None and self.paused_since is None and now - due > self.policy.stop_gap_s

    def _woken(self, ev: e.Tick, now: float) -> list[d.Decision]:
        """Back after a stop from outside that a late wake-up revealed: away since last seen alive."""
        return self._returned(now, self._last_alive(ev.alive_at), how="stop")

    def _live_on_return(self, now: float) -> list[d.Decision]:
        assert self.deadline is not None
        if now >= self.deadline:
            # Expired while away: a guest gets a new session; a user is re-authenticated
            # silently, not signed out (nobody was there to be asked).
            self.status = Status.REJECTED
            return self._recover()
        return [self._fly(SessionFlight.REFRESH)]  # still valid: refresh and restart

    def _spent_on_return(self) -> list[d.Decision]:
        self.status = Status.REJECTED
        return self._recover()

    # -- the cells: one method per distinct behaviour, in the table's order ----------------------------
    # The table below says which status takes which; a cell's words there say what it does.

    # SessionRestored, SessionIssued from a login

    def _restore(self, ev: e.SessionRestored, now: float) -> list[d.Decision]:
        elapsed = ev.elapsed_wall_s
        self.kind = ev.kind
        self.generation = 1
        if 0 <= elapsed < self.ttl_s:
            # Rule 10: within the TTL, resume it, refreshing it first.
            self.deadline = now + (self.ttl_s - elapsed)
            self.last_extension_sent = now - elapsed
            self.status = Status.LIVE
            return [d.DeadlineMoved(self.deadline), self._fly(SessionFlight.REFRESH)]
        # Rule 3: a negative or absurd wall-clock gap is treated as expired; then rule 9's path.
        self.deadline = now
        self.status = Status.REJECTED
        return self._recover()

    def _login(self, ev: e.SessionIssued, now: float) -> list[d.Decision]:
        self._new_lifetime()
        return self._online() + self._issue(ev.kind, ev.sent_at)

    def _login_in_flight(self, ev: e.SessionIssued, now: float) -> list[d.Decision]:
        # The login was asked for before the flight began: its session wins, and whatever the
        # flight brings is void.
        assert self.flight is not None
        self.abandoned.append(self.flight)
        return self._login(ev, now)

    # SessionIssued from another instance, SharedExtension, SignedOutElsewhere (rule 14). The
    # manager reports them from the stored session the instances share: between flights, or from
    # a flight of its own that found, before going out, that another instance had done its work.

    def _shared(self, ev: e.SessionIssued, now: float) -> list[d.Decision]:
        self._new_lifetime()  # the instance that took it on says when it ends (LifetimeKnown)
        return [*self._issue(ev.kind, ev.sent_at), d.SessionShared(ev.kind)]

    def _lifetime_known(self, ev: e.LifetimeKnown, now: float) -> list[d.Decision]:
        if ev.ends_at != self.lifetime_end:
            self.lifetime_warned = False
        self.lifetime_end = ev.ends_at
        out = self._lifetime_due(now)  # due already (a lifetime shorter than the warning): now
        if self.deadline is None or self.last_extension_sent is None or self.kind is None:
            return out
        # The deadline as the server holds it: its send time + TTL, never past the lifetime.
        deadline = self._capped(self.last_extension_sent + self.ttl_s)
        if deadline == self.deadline:
            return out
        self.deadline = deadline
        return [*out, d.DeadlineMoved(deadline)]

    def _lifetime_due(self, now: float) -> list[d.Decision]:
        """Rule 15's warning, once, from `lifetime_warn_s` before the lifetime. Never left for a
        wake-up already past (one would read as the process having been stopped)."""
        end = self.lifetime_end
        if end is None or self.lifetime_warned or now < end - self.policy.lifetime_warn_s:
            return []
        self.lifetime_warned = True
        return [d.LifetimeWarning(max(0.0, end - now))]

    def _shared_in_flight(self, ev: e.SessionIssued, now: float) -> list[d.Decision]:
        # The flight never went out: it ends here, with the other instance's session, and no
        # outcome of its own will come (nothing is voided).
        self.status = self.before_flight
        return self._shared(ev, now)

    def _extended_elsewhere(self, ev: e.SharedExtension, now: float) -> list[d.Decision]:
        # As an accepted call of our own on this token (rule 1), the link aside: what another
        # instance learned of its own way to the server is not ours.
        return self._extend(ev.sent_at)

    def _nothing(self, ev: e.Event, now: float) -> list[d.Decision]:
        return []

    def _past_deadline(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def _signed_out_elsewhere(self, ev: e.SignedOutElsewhere, now: float) -> list[d.Decision]:
        out: list[d.Decision] = []
        if self.status is Status.LIVE and self.paused_since is None and self._past_deadline(now):
            out = self._expire()  # the deadline both instances shared came first: rule 5's words
        if self.status is Status.SIGNED_OUT or self.kind is not SessionKind.USER:
            # Signed out by its own deadline first (the other instance's was the same one), or a
            # guest: a guest's session is not signed out, it is replaced by the one shared next.
            return out
        return out + self._sign_out(d.SignOutReason.ELSEWHERE)

    def _signed_out_elsewhere_in_flight(self, ev: e.SignedOutElsewhere, now: float) -> list[d.Decision]:
        self.status = self.before_flight  # the flight never went out (see `_shared_in_flight`)
        if self.kind is None:
            return []
        return self._signed_out_elsewhere(ev, now)

    # CallStarting

    def _call_without_session(self, ev: e.CallStarting, now: float) -> list[d.Decision]:
        return [self._fly(SessionFlight.NEW_GUEST)]

    def _call_live(self, ev: e.CallStarting, now: float) -> list[d.Decision]:
        assert self.deadline is not None
        if now < self.deadline:
            return [d.Proceed(self.generation)]
        if self.refresh_failures > 0:
            # Rule 6: refreshes kept failing until the deadline. The server's verdict is unknown,
            # so nobody is signed out for it (with failures behind it, expiry lapses the session):
            # recover now, as on any later action.
            return self._expire() + self._recover()
        # Our estimate is conservative: the server may hold the session a little longer. One
        # refresh tells; a rejection leads to recovery (rule 7).
        return [self._fly(SessionFlight.REFRESH)]

    def _call_spent(self, ev: e.CallStarting, now: float) -> list[d.Decision]:
        return self._recover()  # recovery waits for an action, and a call is one

    def _call_in_flight(self, ev: e.CallStarting, now: float) -> list[d.Decision]:
        return [d.AwaitFlight()]  # rule 8: one flight at a time; the call goes out after it

    # ResponseAccepted

    def _accepted_live(self, ev: e.ResponseAccepted, now: float) -> list[d.Decision]:
        out = self._online()
        # Rule 1: only an answer to the current token moves the deadline, from the send time.
        # A call made with a rotated-out token (still in grace) says nothing about the new one.
        if ev.generation == self.generation:
            out += self._extend(ev.sent_at)
        return out

    def _accepted_refreshing(self, ev: e.ResponseAccepted, now: float) -> list[d.Decision]:
        if self.before_flight is Status.LIVE:
            return self._accepted_live(ev, now)
        return self._online()  # a call's 401 came during the refresh: that token stays dead

    def _accepted_elsewhere(self, ev: e.ResponseAccepted, now: float) -> list[d.Decision]:
        return self._online()  # no live token to extend: it lapsed, was rejected, or is none

    # ResponseRejected. Whatever the status, a replay rejected too gives up (never a loop), and a
    # rejection of a token already replaced (rule 7, rotation) only replays.

    def _rejected_without_session(self, ev: e.ResponseRejected, now: float) -> list[d.Decision]:
        out = self._online()
        if ev.attempt >= 2:
            return [*out, d.GiveUp(_REJECTED_TWICE)]
        if ev.generation != self.generation:
            return [*out, d.Replay()]
        return [*out, d.GiveUp("no session")]

    def _rejected_live(self, ev: e.ResponseRejected, now: float) -> list[d.Decision]:
        out = self._online()
        current = ev.generation == self.generation
        if ev.attempt >= 2:
            if current:
                self.status = Status.REJECTED  # the token the replay used is dead
            return [*out, d.GiveUp(_REJECTED_TWICE)]
        if not current:
            return [*out, d.Replay()]
        out += self._maybe_lower_ttl(ev.sent_at)
        self.status = Status.REJECTED
        return [*out, *self._hide_prompt(), *self._recover(), d.Replay()]

    def _rejected_again(self, ev: e.ResponseRejected, now: float) -> list[d.Decision]:
        out = self._online()
        if ev.attempt >= 2:
            return [*out, d.GiveUp(_REJECTED_TWICE)]
        if ev.generation != self.generation:
            return [*out, d.Replay()]
        # Known dead already, so it says nothing new about the TTL. Recovery was waiting for a
        # call, and this is one.
        return [*out, *self._hide_prompt(), *self._recover(), d.Replay()]

    def _rejected_refreshing(self, ev: e.ResponseRejected, now: float) -> list[d.Decision]:
        out = self._online()
        current = ev.generation == self.generation
        if ev.attempt >= 2:
            if current:
                self.before_flight = Status.REJECTED
            return [*out, d.GiveUp(_REJECTED_TWICE)]
        if not current:
            return [*out, d.Replay()]
        if self.before_flight is not Status.REJECTED:
            out += self._maybe_lower_ttl(ev.sent_at)
        # The refresh presents this same token: if it fails, the token is still dead.
        self.before_flight = Status.REJECTED
        return [*out, *self._hide_prompt(), d.Replay()]

    def _rejected_recovering(self, ev: e.ResponseRejected, now: float) -> list[d.Decision]:
        out = self._online()
        if ev.attempt >= 2:
            return [*out, d.GiveUp(_REJECTED_TWICE)]
        if ev.generation != self.generation:
            return [*out, d.Replay()]
        if self.kind is None:
            return [*out, d.GiveUp("no session")]  # a first guest session on its way
        if self.before_flight is not Status.REJECTED:
            # The recovery began from a lapse: this is the first the server said of the token.
            out += self._maybe_lower_ttl(ev.sent_at)
        return [*out, *self._hide_prompt(), d.Replay()]

    # ResponseFailed

    def _failed(self, ev: e.ResponseFailed, now: float) -> list[d.Decision]:
        # Rule 2: a transport failure or 5xx moves nothing: the server may never have seen it.
        return self._unanswered(transport=ev.transport)

    # The flights' outcomes, and those of flights voided earlier

    def _discard_voided(self, ev: e.SessionIssued | e.RefreshSucceeded, now: float) -> list[d.Decision]:
        # The session a flight brought after its own session ended must not sign anyone back in.
        del self.abandoned[0]
        return [d.DiscardSession()]

    def _drop_voided(self, ev: e.RefreshFailed | e.RecoveryFailed, now: float) -> list[d.Decision]:
        del self.abandoned[0]
        return []

    def _refresh_lands(self, ev: e.RefreshSucceeded, now: float) -> list[d.Decision]:
        assert self.kind is not None
        return self._online() + self._issue(self.kind, ev.sent_at)

    def _refresh_failed(self, ev: e.RefreshFailed, now: float) -> list[d.Decision]:
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

    def _reauth_lands(self, ev: e.SessionIssued, now: float) -> list[d.Decision]:
        # Rule 9: a silent re-auth re-syncs the user's data, whatever triggered it.
        return [*self._online(), *self._issue(ev.kind, ev.sent_at), d.ResyncProfile()]

    def _guest_lands(self, ev: e.SessionIssued, now: float) -> list[d.Decision]:
        return self._online() + self._issue(ev.kind, ev.sent_at)

    def _reauth_failed(self, ev: e.RecoveryFailed, now: float) -> list[d.Decision]:
        # The flight is over: out of its status first, so the sign-out below voids nothing.
        self.status = Status.REJECTED
        if ev.rejected:
            # Rule 15: past the absolute lifetime no silent re-auth renews it; the person is asked
            # for the password, in words that say why.
            reason = d.SignOutReason.LIFETIME_REACHED if ev.lifetime else d.SignOutReason.RECOVERY_FAILED
            return self._online() + self._sign_out(reason)
        # The network or the server failed us, not the credentials: no sign-out for that alone
        # (edge case 16). Recovery is tried again on the next call.
        return self._unanswered(transport=ev.transport)

    def _guest_failed(self, ev: e.RecoveryFailed, now: float) -> list[d.Decision]:
        # A guest's expired session stays rejected; with none (a first session, or one after a
        # sign-out) the engine is back where it was. Either way the next call tries again.
        self.status = Status.REJECTED if self.kind is not None else self.before_flight
        if ev.rejected:
            return self._online()
        return self._unanswered(transport=ev.transport)

    # UserActivity, ScreenChanged, PromptAnswered, SignOutRequested

    def _activity_live(self, ev: e.UserActivity, now: float) -> list[d.Decision]:
        self.last_activity = now
        out = self._due(now)
        # A user who comes back to life inside the warning window on a passive screen.
        if self.warned and not self.active_flow and self.paused_since is None and self._in_warning(now):
            return [*out, self._fly(SessionFlight.REFRESH)]
        return out

    def _activity(self, ev: e.UserActivity, now: float) -> list[d.Decision]:
        self.last_activity = now  # rule 4's idle test reads it once a token is live again
        return []

    def _screen_live(self, ev: e.ScreenChanged, now: float) -> list[d.Decision]:
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

    def _screen(self, ev: e.ScreenChanged, now: float) -> list[d.Decision]:
        self.active_flow = ev.active_flow  # rule 4 reads it when a token is live again
        return []

    def _answer_live(self, ev: e.PromptAnswered, now: float) -> list[d.Decision]:
        self.prompt_visible = False
        if not ev.stay:
            return self._sign_out(d.SignOutReason.USER_CHOICE)
        self.last_activity = now
        assert self.deadline is not None
        if now >= self.deadline:
            return [d.HidePrompt(), *self._expire()]  # too late to stay: as the deadline's tick
        self.stay_pending = True  # no new prompt for this deadline while its refresh is tried
        return [d.HidePrompt(), self._fly(SessionFlight.REFRESH)]

    def _answer(self, ev: e.PromptAnswered, now: float) -> list[d.Decision]:
        self.prompt_visible = False
        if not ev.stay:
            return self._sign_out(d.SignOutReason.USER_CHOICE)
        # The token is spent or a flight is out: staying needs nothing more from the engine.
        self.last_activity = now
        return [d.HidePrompt()]

    def _sign_out_nothing(self, ev: e.SignOutRequested, now: float) -> list[d.Decision]:
        return []

    def _sign_out_now(self, ev: e.SignOutRequested, now: float) -> list[d.Decision]:
        return self._sign_out(d.SignOutReason.USER_CHOICE)

    def _sign_out_in_flight(self, ev: e.SignOutRequested, now: float) -> list[d.Decision]:
        if self.kind is None:
            return []  # a first guest session on its way: nobody to sign out yet
        return self._sign_out(d.SignOutReason.USER_CHOICE)

    # Backgrounded, Resumed, Tick

    def _background_live(self, ev: e.Backgrounded, now: float) -> list[d.Decision]:
        if self.paused_since is not None:
            return []
        out = self._due(now)  # a deadline already passed is applied before going away
        return out + self._pause(now)

    def _background(self, ev: e.Backgrounded, now: float) -> list[d.Decision]:
        if self.paused_since is not None:
            return []
        return self._pause(now)

    def _resume_live(self, ev: e.Resumed, now: float) -> list[d.Decision]:
        return self._back(ev, now) + self._live_on_return(now)

    def _resume_spent(self, ev: e.Resumed, now: float) -> list[d.Decision]:
        return self._back(ev, now) + self._spent_on_return()

    def _resume(self, ev: e.Resumed, now: float) -> list[d.Decision]:
        return self._back(ev, now)  # no session, or a flight already out: nothing to start

    def _tick_live(self, ev: e.Tick, now: float) -> list[d.Decision]:
        if self._woke_late(ev, now):
            return self._woken(ev, now) + self._live_on_return(now)
        return self._due(now)

    def _tick_spent(self, ev: e.Tick, now: float) -> list[d.Decision]:
        if self._woke_late(ev, now):
            return self._woken(ev, now) + self._spent_on_return()
        return []  # recovery waits for an action, not for the clock

    def _tick(self, ev: e.Tick, now: float) -> list[d.Decision]:
        if self._woke_late(ev, now):
            return self._woken(ev, now)
        return []


_REJECTED_TWICE = "rejected again after one replay"

# -- the table ---------------------------------------------------------------------------------------

_Handler = Callable[[SessionEngine, Any, float], list[d.Decision]]


@dataclass(frozen=True, slots=True)
class Guard:
    """A condition beyond the status that a cell applies under; `words` say it in the table."""

    holds: Callable[[SessionEngine, Any], bool]
    words: str


@dataclass(frozen=True, slots=True)
class Cell:
    """What the engine does on one event in some statuses: the code, and the outcome in words."""

    handler: _Handler
    outcome: str
    guard: Guard | None = None


# A row of the table: an event type, or, for a session issued, the type and where the session
# came from. Which of those a status takes depends on the flight out, so each gets its own row.
Row = type[e.Event] | tuple[type[e.SessionIssued], Source]


def row_of(event: e.Event) -> Row:
    """The row of the table that takes `event`."""
    if isinstance(event, e.SessionIssued):
        return (e.SessionIssued, event.source)
    return type(event)


def row_name(row: Row) -> str:
    """How the grid and the refusals name a row: `RefreshFailed`, `SessionIssued (login)`."""
    if isinstance(row, tuple):
        return f"{row[0].__name__} ({row[1].value})"
    return row.__name__


def _voided(flight: str) -> Guard:
    """The outcome of a flight that was out when its session ended (a sign-out, or a login that
    won). Such flights are kept oldest first, and the manager sends flights one at a time, so the
    next outcome of that kind belongs to the oldest of them, before any flight started since."""
    return Guard(
        lambda engine, event: bool(engine.abandoned) and answers(event, engine.abandoned[0]),
        f"the oldest voided flight is {flight}",
    )


E = SessionEngine
S = Status
_ANY = tuple(Status)
_NOT_LIVE = tuple(status for status in Status if status is not S.LIVE)
_PROMPT_SHOWN = Guard(lambda engine, event: engine.prompt_visible, "the prompt is shown")
# Words that recur in the cells.
_RECOVERY = "recovery starts (user: re-auth; guest: a new guest session)"
_NEW_TOKEN = (
    "a new token, deadline = its send time + TTL, warning and retries reset, prompt hidden, link online"
)

# event -> statuses -> cell: in those statuses, that event does what the cell says. A status a row
# does not name, or names only under a guard that does not hold, refuses the event: it raises
# SessionProtocolError and changes nothing. Where a status is named under a guard and without one,
# the guarded cell comes first and wins when its guard holds. The rows run in the order of a
# session's life: it begins, calls go out and come back, flights land, the user acts, time passes.
TRANSITIONS: dict[Row, dict[tuple[Status, ...], Cell]] = {
    e.SessionRestored: {
        (S.NO_SESSION,): Cell(
            E._restore,
            "within the TTL: resumed with the time left, and a refresh starts (rule 10); past it, or"
            f" a wall-clock gap below zero: the token counts as rejected, and {_RECOVERY}",
            Guard(lambda engine, event: engine.generation == 0, "nothing has been issued yet (start-up)"),
        ),
    },
    (e.SessionIssued, Source.LOGIN): {
        (S.NO_SESSION, S.LIVE, S.LAPSED, S.REJECTED, S.SIGNED_OUT): Cell(
            E._login, f"the user's session starts: {_NEW_TOKEN}"
        ),
        (S.REFRESHING, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._login_in_flight,
            "the login wins: the user's session starts as above; the flight out is voided (its"
            " outcome, when it comes, is discarded)",
        ),
    },
    (e.SessionIssued, Source.SHARED): {
        (S.NO_SESSION, S.LIVE, S.LAPSED, S.REJECTED, S.SIGNED_OUT): Cell(
            E._shared,
            "another instance's session (its sign-in, refresh, re-auth or new guest session) is this"
            " one's too (SessionShared, rule 14): a new token, deadline = its send time + TTL,"
            " warning and retries reset, prompt hidden; the link untouched",
        ),
        (S.REFRESHING, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._shared_in_flight,
            "the flight, before going out, found another instance's new session: it ends with that"
            " one, as above (nothing voided: it never went out)",
        ),
    },
    e.LifetimeKnown: {
        _ANY: Cell(
            E._lifetime_known,
            "the lifetime's end noted (a new one: the warning due again); with a session, the"
            " deadline is its last extension + TTL, never past the lifetime (rule 15)",
        ),
    },
    e.SharedExtension: {
        (S.LIVE,): Cell(
            E._extended_elsewhere,
            "another instance's call on this token was accepted: the deadline moves to its send time"
            " + TTL when that is later, as for a call of this one's (rule 1); the link untouched",
        ),
        _NOT_LIVE: Cell(E._nothing, "nothing (no live token to extend, or a flight decides)"),
    },
    e.SignedOutElsewhere: {
        (S.LIVE, S.LAPSED, S.REJECTED): Cell(
            E._signed_out_elsewhere,
            "in `live`, past the deadline and not away: the deadline's outcome first (rule 5); a"
            " user's session still held: signed out (signed_out_elsewhere, rule 14), the session"
            " forgotten; a guest's: nothing (the session shared next replaces it)",
        ),
        (S.REFRESHING, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._signed_out_elsewhere_in_flight,
            "the flight, before going out, found the session signed out elsewhere: it ends (nothing"
            " voided), then as above from the status it began in",
        ),
        (S.NO_SESSION, S.SIGNED_OUT): Cell(E._nothing, "nothing (no session to sign out)"),
    },
    e.CallStarting: {
        (S.NO_SESSION, S.SIGNED_OUT): Cell(E._call_without_session, "a new guest session starts"),
        (S.LIVE,): Cell(
            E._call_live,
            "before the deadline: it goes out (Proceed); past it: a refresh starts (the server may"
            " hold the session a little longer); past it after failed refreshes: the session lapses"
            f" and {_RECOVERY}, nobody signed out (rule 6)",
        ),
        (S.LAPSED, S.REJECTED): Cell(E._call_spent, _RECOVERY),
        (S.REFRESHING, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._call_in_flight, "it waits for the flight (AwaitFlight, rule 8)"
        ),
    },
    e.ResponseAccepted: {
        (S.LIVE,): Cell(
            E._accepted_live,
            "link online; an answer to the current token moves the deadline to its send time + TTL"
            " when that is later (rule 1): warning, retries and a pending Stay reset, a prompt now"
            " outside the window hidden; an older token's answer: nothing more",
        ),
        (S.REFRESHING,): Cell(
            E._accepted_refreshing,
            "as in `live` if the refresh began from a live token; if a call's 401 came during it:"
            " link online, nothing more",
        ),
        (S.NO_SESSION, S.LAPSED, S.REJECTED, S.SIGNED_OUT, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._accepted_elsewhere, "link online; nothing more (no live token to extend)"
        ),
    },
    e.ResponseRejected: {
        (S.NO_SESSION, S.SIGNED_OUT): Cell(
            E._rejected_without_session,
            "link online; a replay's rejection: give up; an older token's: replay; the current"
            " token's: give up (no session)",
        ),
        (S.LIVE, S.LAPSED): Cell(
            E._rejected_live,
            "link online; a replay's rejection: the token (if current) becomes `rejected`, give up;"
            " an older token's: replay (rotation); the current token's: the TTL estimate may lower"
            f" (rule 7), the token becomes `rejected`, prompt hidden, {_RECOVERY}, replay",
        ),
        (S.REJECTED,): Cell(
            E._rejected_again,
            "link online; a replay's rejection: give up; an older token's: replay; the current"
            f" token's: prompt hidden, {_RECOVERY}, replay",
        ),
        (S.REFRESHING,): Cell(
            E._rejected_refreshing,
            "link online; a replay's rejection: the token (if current) is marked dead, give up; an"
            " older token's: replay; the current token's: the TTL estimate may lower (unless"
            " already marked), the token is marked dead (a failed refresh then lands in"
            " `rejected`), prompt hidden, replay after the refresh",
        ),
        (S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._rejected_recovering,
            "link online; a replay's rejection: give up; an older token's: replay; the current"
            " token's, no session yet: give up (no session); otherwise the TTL estimate may lower"
            " (if the flight began from `lapsed`), prompt hidden, replay after the flight",
        ),
    },
    e.ResponseFailed: {
        _ANY: Cell(E._failed, "link unreachable (no answer) or failing (a 5xx); nothing moves (rule 2)"),
    },
    e.RefreshSucceeded: {
        _ANY: Cell(E._discard_voided, "discarded (DiscardSession), nothing else", _voided("a refresh")),
        (S.REFRESHING,): Cell(E._refresh_lands, f"the refresh lands: {_NEW_TOKEN}"),
    },
    e.RefreshFailed: {
        _ANY: Cell(E._drop_voided, "nothing happens", _voided("a refresh")),
        (S.REFRESHING,): Cell(
            E._refresh_failed,
            "401: the session is gone: link online, the token counts as rejected, and"
            f" {_RECOVERY} (rules 6, 7); no verdict: link unreachable or failing, back to `live`"
            " (`rejected` if a call's 401 came during it), a retry scheduled with backoff if it"
            " falls before the deadline; already past the deadline: the session lapses (recovered"
            " on the next action)",
        ),
    },
    (e.SessionIssued, Source.REAUTH): {
        _ANY: Cell(
            E._discard_voided, "discarded (DiscardSession), nobody signed back in", _voided("a re-auth")
        ),
        (S.REAUTHENTICATING,): Cell(
            E._reauth_lands, f"the re-auth lands: {_NEW_TOKEN}; the profile is re-synced (rule 9)"
        ),
    },
    (e.SessionIssued, Source.GUEST): {
        _ANY: Cell(
            E._discard_voided, "discarded (DiscardSession), nothing else", _voided("a new guest session")
        ),
        (S.STARTING_GUEST,): Cell(E._guest_lands, f"the guest session starts: {_NEW_TOKEN}"),
    },
    e.RecoveryFailed: {
        _ANY: Cell(E._drop_voided, "nothing happens", _voided("a re-auth or a new guest session")),
        (S.REAUTHENTICATING,): Cell(
            E._reauth_failed,
            "back to `rejected`; 401: link online, signed out (rule 7); no verdict: link unreachable"
            " or failing, nobody signed out, tried again on the next call",
        ),
        (S.STARTING_GUEST,): Cell(
            E._guest_failed,
            "back to `rejected` (a guest's expired session) or to where it began (`no_session`,"
            " `signed_out`); 401: link online; no verdict: link unreachable or failing; tried again"
            " on the next call",
        ),
    },
    e.UserActivity: {
        (S.LIVE,): Cell(
            E._activity_live,
            "noted; the clock's due work first (as a Tick); then, if the token is still live inside"
            " the window, already warned, on a passive screen and not away: a refresh starts (rule 4)",
        ),
        _NOT_LIVE: Cell(E._activity, "noted (for rule 4's idle test); nothing more"),
    },
    e.ScreenChanged: {
        (S.LIVE,): Cell(
            E._screen_live,
            "noted; the clock's due work first (as a Tick); then, if the token is still live inside"
            " the window and not away: to a booking step, the prompt shows (unless shown, or a Stay's"
            " refresh is pending); from the prompt to a passive screen, the prompt hides and a"
            " refresh starts if the user was active since the last extension, else the session is"
            " left to lapse (rule 4)",
        ),
        _NOT_LIVE: Cell(E._screen, "noted; nothing more"),
    },
    e.PromptAnswered: {
        (S.LIVE,): Cell(
            E._answer_live,
            "sign out: signed out; stay: prompt hidden, a refresh starts (past the deadline"
            " already: the deadline's outcome, as a Tick)",
            _PROMPT_SHOWN,
        ),
        (S.LAPSED, S.REJECTED, S.REFRESHING, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._answer,
            "sign out: signed out (a flight out is voided); stay: prompt hidden, nothing more",
            _PROMPT_SHOWN,
        ),
    },
    e.SignOutRequested: {
        (S.NO_SESSION, S.SIGNED_OUT): Cell(E._sign_out_nothing, "nothing (no session)"),
        (S.LIVE, S.LAPSED, S.REJECTED): Cell(
            E._sign_out_now, "signed out: prompt hidden, the session forgotten"
        ),
        (S.REFRESHING, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._sign_out_in_flight,
            "signed out as in `live`, the flight out voided (its outcome is discarded); a first guest"
            " session on its way: nothing (no session yet)",
        ),
    },
    e.Backgrounded: {
        (S.LIVE,): Cell(
            E._background_live,
            "already away: nothing; otherwise the clock's due work first (as a Tick), then away:"
            " prompt hidden, the warning and a pending Stay forgotten (handled afresh on return)",
        ),
        _NOT_LIVE: Cell(
            E._background,
            "already away: nothing; otherwise away: prompt hidden, the warning and a pending Stay forgotten",
        ),
    },
    e.Resumed: {
        (S.LIVE,): Cell(
            E._resume_live,
            "back (BackgroundEnded; with no Backgrounded before it, a stop from outside, away since"
            " the last sign of life); before the deadline: a refresh starts; past it: the token"
            f" counts as rejected, and {_RECOVERY} (rule 9)",
        ),
        (S.LAPSED, S.REJECTED): Cell(
            E._resume_spent, f"back (as in `live`); the token counts as rejected, and {_RECOVERY}"
        ),
        (S.NO_SESSION, S.SIGNED_OUT, S.REFRESHING, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._resume, "back (as in `live`); nothing more"
        ),
    },
    e.Tick: {
        (S.LIVE,): Cell(
            E._tick_live,
            "away: nothing; a wake-up more than the stop gap late: as Resumed; otherwise the clock's"
            " due work: past the deadline, a user is signed out (rule 5) unless the link is down or a"
            " refresh got no verdict, and then the session lapses, as a guest's does; a retry due:"
            " a refresh starts; the window open and not yet warned: the warning (rule 4: the prompt"
            " on a booking step, a refresh if the user was active since the last extension, else"
            " the session is left to lapse)",
        ),
        (S.LAPSED, S.REJECTED): Cell(
            E._tick_spent, "a wake-up more than the stop gap late, not away: as Resumed; otherwise nothing"
        ),
        (S.NO_SESSION, S.SIGNED_OUT, S.REFRESHING, S.REAUTHENTICATING, S.STARTING_GUEST): Cell(
            E._tick, "a wake-up more than the stop gap late, not away: as Resumed; otherwise nothing"
        ),
    },
}


def _index() -> dict[tuple[Row, Status], tuple[Cell, ...]]:
    """(row, status) -> the cells that may take it, in the table's order: what `handle` reads."""
    cells: dict[tuple[Row, Status], tuple[Cell, ...]] = {}
    for row, by_status in TRANSITIONS.items():
        for statuses, cell in by_status.items():
            for status in statuses:
                cells[row, status] = (*cells.get((row, status), ()), cell)
    return cells


_CELLS = _index()


def cells_for(row: Row, status: Status) -> tuple[Cell, ...]:
    """The cells that may take `row` in `status`, first to last; none: the event is refused there."""
    return _CELLS.get((row, status), ())


def describe_transitions() -> str:
    """The table in words, event by event: for each, the statuses that take it and what happens,
    then the statuses that refuse it. docs/engine.md shows it; a test keeps the two the same."""

    def names(statuses: tuple[Status, ...] | list[Status]) -> str:
        return "any status" if set(statuses) == set(Status) else ", ".join(f"`{s.value}`" for s in statuses)

    blocks: list[str] = []
    for row, by_status in TRANSITIONS.items():
        lines = [f"**{row_name(row)}**", ""]
        for statuses, cell in by_status.items():
            guard = f", if {cell.guard.words}" if cell.guard is not None else ""
            lines.append(f"- {names(statuses)}{guard}: {cell.outcome}")
        taken = {status for status in Status for cell in cells_for(row, status) if cell.guard is None}
        named = {status for statuses in by_status for status in statuses}
        never = [status for status in Status if status not in named]
        otherwise = [status for status in Status if status in named and status not in taken]
        if never:
            lines.append(f"- {names(never)}: refused")
        if otherwise:
            lines.append(f"- {names(otherwise)}, otherwise: refused")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
