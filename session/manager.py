"""The async manager: carries out the engine's decisions and does all the waiting.

It owns the token and reauth key (as `Secret`s), turns what the UI and the middleware report into
engine events, and carries out what the engine decides, writing every event to the timeline
(rule 13). The rest is in parts of its own, each with one job:
- `session.flights`: at most one refresh or re-authentication out, its outcome shared (rule 8);
- `session.wakeups`: one timer to the next moment that matters, and a machine that slept;
- `session.stored`: the stored session for restarts (rule 10), and its disk's failures;
- `session.decision_log`: what each decision leaves on the timeline;
- `session.shared`: the other instances on the same data dir (rule 14): the lock, the flight lease,
  and what this one last saw of the stored session they share.

Rule 14 here: once a second (`heartbeat`) the manager looks whether another instance changed the
stored session, and takes the change on (a sign-in, a refresh, a re-auth or a new guest session;
a later extension; a sign-out). A flight first takes the lease: while another instance has one
out, it waits for that one's outcome and takes on the session it stored, so one refresh serves
every instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

from sessionkeeper.session import decisions as d
from sessionkeeper.session import events as e
from sessionkeeper.session.clock import Clock, QAClock, skip_offset
from sessionkeeper.session.decision_log import entry
from sessionkeeper.session.engine import (
    FLIGHT_STATUS,
    SessionEngine,
    SessionFlight,
    SessionView,
    State,
    Status,
    failure_event,
    success_event,
)
from sessionkeeper.session.events import SessionKind, Source
from sessionkeeper.session.flights import FlightOutcome, FlightReentry, Flights
from sessionkeeper.session.learned import LearnedLifetime
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.port import (
    BackendUnavailable,
    IssuedSession,
    LifetimeReached,
    SessionPort,
    SessionRejected,
)
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.shared import Lease, LockBusy, SharedSession
from sessionkeeper.session.store import LoadResult, SessionStore, StoredSession
from sessionkeeper.session.stored import SHARED_STORE_EVERY_S, STORE_EVERY_S, StoredSessionKeeper
from sessionkeeper.session.timeline import Timeline
from sessionkeeper.session.wakeups import Wakeups

log = logging.getLogger(__name__)

# acquire() rounds: a flight, then a chained one, then the call; more means something is wrong.
_ACQUIRE_ROUNDS = 4
# How often a flight waiting for another instance's looks again (real seconds: another process).
_TURN_POLL_S = 0.05
SIGNED_OUT_ELSEWHERE = "signed out: signed out in another window"
# How often the manager counts the instances on its data dir (session clock seconds).
_PEERS_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class Ticket:
    """What a call goes out with: the token, its generation and the send time."""

    token: Secret
    generation: int
    sent_at: float
    waited_for: str | None = None  # the session flight it waited for first (refresh, reauth, …)


class SessionEnded(Exception):
    """The user was signed out; the call cannot go out in their name."""


class _Voided(Exception):
    """A flight waiting for its turn was voided meanwhile (a sign-out, a login): it never goes."""


class EndedElsewhere(SessionEnded):
    """Another instance on the same data dir signed the user out (rule 14)."""


class SessionUnavailable(Exception):
    """No usable session could be had (the backend failed or is unreachable)."""

    def __init__(self, message: str, *, transport: bool) -> None:
        super().__init__(message)
        self.transport = transport


class SessionClosed(SessionUnavailable):
    """The manager was closed (the app is on its way out): no call goes out in its name."""

    def __init__(self) -> None:
        super().__init__("the session is closed", transport=False)


DecisionListener = Callable[[d.Decision], None]
# What the engine answers a call that may go out, or must wait: nothing to write down, carry out
# or re-arm.
_ROUTINE = (d.Proceed, d.AwaitFlight)
_CALL_STARTING = e.CallStarting()  # it holds nothing: one for every call


class SessionManager:
    def __init__(
        self,
        *,
        port: SessionPort,
        clock: Clock,
        policy: Policy | None = None,
        store: SessionStore | None = None,
        timeline: Timeline | None = None,
        auto_wake: bool = True,
        notice_sleep: bool | None = None,
        loop_time: Callable[[], float] | None = None,
        shared: bool = True,
        flight_lease_s: float = 20.0,
        lifetime_s: float | None = None,
    ) -> None:
        """`notice_sleep`: look for a machine's sleep (by default, with `auto_wake`; the scenario
        runner ticks by hand and still looks). `loop_time` is the clock the wake-up timer runs on
        (the event loop's, by default); tests give one that lags the session clock, as a machine's
        sleep makes the real one do.
        `shared`: the store is shared with other instances on its data dir (rule 14);
        `flight_lease_s`: how long another instance waits for this one's flight before taking it
        over (longer than a call may take). `lifetime_s`: the backend's absolute lifetime, when
        known (rule 15; the embedded backend's); otherwise learned from its refusal and kept in
        `lifetime.json` beside the store."""
        self.port = port
        self.clock = clock
        self._qa_clock = clock if isinstance(clock, QAClock) else None  # one that QA skips ahead
        self.engine = SessionEngine(policy, now=clock.now())
        self.timeline = timeline if timeline is not None else Timeline()
        self.user: dict[str, Any] = {}
        self.former_user: dict[str, Any] = {}  # whoever was signed out last (their draft is kept)
        self._token: Secret | None = None
        self._reauth_key: Secret | None = None
        self._flights = Flights(self._attempt, on_idle=self._reschedule)
        self._wakeups = Wakeups(
            clock,
            self._on_wake,
            stop_gap_s=self.engine.policy.stop_gap_s,
            enabled=auto_wake,
            watch_sleep=notice_sleep,
            loop_time=loop_time,
        )
        sharing = (
            SharedSession(
                store.path,
                wall=lambda: clock.wall() - skip_offset(clock),
                lease_s=flight_lease_s,
            )
            if store is not None and shared
            else None
        )
        self._stored = StoredSessionKeeper(store, clock, self._record, sharing)
        self._winning = False  # a sign-in of this instance's: stored over another instance's change
        # Rule 15: when the user signed in with the password (wall time), and the backend's cap.
        self.signed_in_wall: float | None = None
        scope = store.scope if store is not None else ""
        self._learned = LearnedLifetime(store.path.with_name("lifetime.json"), scope) if store else None
        learned = self._learned.load() if self._learned is not None else None
        self.lifetime_s = lifetime_s if lifetime_s is not None else learned
        # Whether the latest session taken on from another instance is someone else's (a sign-in
        # or a sign-out there) rather than the same person's renewed (rule 14).
        self.holder_changed = False
        self._moved_aside: set[str] = set()  # damaged stored sessions moved aside, as last seen
        self._peers_checked_at = float("-inf")
        self._release_pending = False  # a lease whose release met a busy lock: given back later
        # A tuple, replaced on subscribe: a decision's listeners are those there when it was made.
        self._listeners: tuple[DecisionListener, ...] = ()
        self._background: set[asyncio.Task[Any]] = set()
        self._alive_at: float | None = None
        # Set by `continued` (a SIGCONT): the process was stopped, and is running again.
        self._continued = False
        self._restore_done = False
        self._closed = False

    @property
    def store(self) -> SessionStore | None:
        return self._stored.store

    @property
    def auto_wake(self) -> bool:
        return self._wakeups.enabled

    @property
    def shared(self) -> SharedSession | None:
        """The other instances' part (rule 14); None when this instance keeps no stored session."""
        return self._stored.shared

    # -- reading ------------------------------------------------------------------------------------

    def view(self) -> SessionView:
        return self.engine.view(self.clock.now())

    def next_wakeup(self) -> float | None:
        """When the engine next has something to do on its own (session clock), or None."""
        return self.engine.next_wakeup()

    def redact(self, text: str) -> str:
        """`text` with the token and reauth key this session holds replaced by their fingerprints
        (for a crash report, whose traceback is not ours to vouch for)."""
        for secret in (self._token, self._reauth_key):
            if secret is not None:
                text = text.replace(secret.reveal(), secret.fingerprint)
        return text

    @property
    def token(self) -> Secret | None:
        """The token held now (a `Secret`: its repr and format show the fingerprint only). For the
        QA panel, which asks the mock backend whose session it is; calls go through `acquire`."""
        return self._token

    @property
    def token_fingerprint(self) -> str | None:
        return self._token.fingerprint if self._token else None

    @property
    def signed_in(self) -> bool:
        return self.view().kind is SessionKind.USER

    @property
    def flight_in_progress(self) -> bool:
        return self._flights.in_progress

    @property
    def scheduled_wake_in(self) -> float | None:
        """Seconds of loop time until the next scheduled wake-up, or None when none is due."""
        return self._wakeups.armed_in

    def subscribe(self, listener: DecisionListener) -> None:
        """Be told of every decision (prompt, sign-out, resync...), in order, as it is made."""
        self._listeners = (*self._listeners, listener)

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> FlightOutcome | None:
        """Resume the stored session (rule 10), or obtain a guest session at once."""
        if self.shared is not None and not self._closed:
            self.shared.announce(focused=not self.view().paused)
        if not self._restore() and self.view().status is Status.NO_SESSION:
            self._handle(e.CallStarting())
        return await self.wait_for_flight()

    def _restore(self) -> bool:
        """Resume the stored session, once: whichever comes first, `start()` or a call, does it, so
        a call made before the app started its session goes out as the stored session, never as a
        new guest that would overwrite it. True if a stored session was resumed now."""
        if self._restore_done:
            return False
        self._restore_done = True
        stored = self._stored.load()
        self._moved_aside = self._moved_aside_names()  # what was damaged before this run: no news
        if stored is None:
            return False
        self._token, self._reauth_key, self.user = stored.token, stored.reauth_key, stored.user
        self.signed_in_wall = stored.signed_in_wall if stored.kind is SessionKind.USER else None
        elapsed = self.clock.wall() - stored.last_extension_wall
        self._record("session_restored", kind=stored.kind.value, elapsed_wall_s=round(elapsed, 3))
        self._handle(e.SessionRestored(stored.kind, elapsed))
        self._tell_lifetime()
        return True

    async def close(self) -> None:
        # First: the flight cancelled below, and anything told meanwhile, must not re-arm or publish.
        self._closed = True
        self._wakeups.disarm()
        if self.shared is not None:
            self.shared.withdraw()
        for task in self._background:
            task.cancel()
        await self._flights.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Never raises: the app is on its way out. A disk that refuses is a StoreError, handled
        # by the stored-session keeper; this guard is for the unexpected (a bug must not stop the exit).
        try:
            self._save(force=True)
            if self._token is None:
                self._stored.clear_if_stuck()  # a sign-out could not forget the stored session
        except Exception as exc:
            log.warning("storing the session on close failed: %s", type(exc).__name__)
        try:
            self.timeline.close()
        except Exception as exc:
            log.warning("closing the timeline failed: %s", type(exc).__name__)

    # -- what the UI reports ------------------------------------------------------------------------

    def user_activity(self) -> None:
        self._handle(e.UserActivity())

    def set_active_flow(self, active: bool) -> None:
        self._handle(e.ScreenChanged(active_flow=active))

    def background(self) -> None:
        if self._closed:
            return
        if not self.view().paused:
            self._record("backgrounded")
            if self.shared is not None:
                self.shared.announce(focused=False)
        self._handle(e.Backgrounded())

    def resume(self) -> None:
        if self.shared is not None and not self._closed and self.view().paused:
            self.shared.announce(focused=True)
        self._handle(e.Resumed(alive_at=self._alive_at))

    def continued(self) -> None:
        """The process was continued after a stop (SIGCONT). Only a flag is set: this runs in a
        signal handler, before anything the loop had due. The next event, or the next heartbeat,
        takes the stop for a return from the background (rule 9), measured from the last moment
        the process was seen alive, unless it was already away (Ctrl+Z backgrounds first) or the
        stop was shorter than the stop gap."""
        self._continued = True

    def heartbeat(self) -> None:
        """The process is running now (the UI's once-a-second tick). After a stop from outside,
        the time away is measured from the last heartbeat, not from a late wake-up's due time.
        A stop (SIGCONT) or a sleep noticed here is handled at once, not at the next wake-up."""
        now = self.clock.now()
        if self._continued or self._wakeups.slept(now, peek=True):
            self._handle(e.Tick(), now=now)
        self._alive_at = now
        self.sync()
        self.timeline.flush()  # entries recorded since the last second reach the file

    def sync(self) -> None:
        """Take on what another instance changed in the stored session (rule 14). One `lstat` when
        nothing changed; nothing while a flight of this one's is out (it looks before going out)."""
        shared = self.shared
        if self._closed or shared is None or not self._restore_done or self._flights.in_progress:
            return
        now = self.clock.now()
        if now >= self._peers_checked_at + _PEERS_EVERY_S or now < self._peers_checked_at:
            # With other instances running, extensions reach the file within a second (they go
            # by it); alone, every 15 s is enough (rule 10).
            self._peers_checked_at = now
            alone = len(shared.peers()) <= 1
            self._stored.every_s = STORE_EVERY_S if alone else SHARED_STORE_EVERY_S
        # What a busy lock kept back (a sign-out's clear, a write): before taking anything on;
        # the lease goes back only once the flight's session is written.
        self._stored.retry(lambda: self._save(force=True))
        if self._release_pending and not self._stored.deferred:
            self._release_pending = not shared.release()
        if shared.changed():
            self._take_on(self._stored.read(), None)

    def tick(self) -> None:
        self.sync()  # another instance's later extension first: never expire on an old deadline
        self._handle(e.Tick())

    def answer_prompt(self, stay: bool) -> None:
        self._handle(e.PromptAnswered(stay=stay))

    def sign_out(self) -> None:
        self._handle(e.SignOutRequested())

    def clock_jumped(self) -> None:
        """The QA clock skipped ahead: look at the deadlines again now, and re-arm the timer."""
        self._wakeups.skipped()
        self._handle(e.Tick())

    async def login(self, username: str, password: Secret) -> dict[str, Any]:
        """Sign in (the password is passed through, never kept). Raises SessionRejected if wrong."""
        if self._closed:
            raise SessionClosed()
        await self.wait_for_flight()
        sent_at, sent_wall = self.clock.now(), self.clock.wall()
        guest = (
            self._token
            if (view := self.engine.view(sent_at)).kind is SessionKind.GUEST and view.token_usable
            else None
        )
        issued = await self.port.login(username, password, guest)
        if self._closed:
            raise SessionClosed()  # closed while it was out: nothing of it is kept
        self._adopt(issued)
        self.signed_in_wall = sent_wall  # a password sign-in: a new lifetime (rule 15)
        self._winning = True  # the person signed in here: stored over any other instance's change
        try:
            self._handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at))
        finally:
            self._winning = False
        self._tell_lifetime()
        return self.user

    async def wait_for_flight(self) -> FlightOutcome | None:
        """Wait for the refresh or re-authentication in flight, if any; its outcome is shared."""
        return await self._flights.wait()

    # -- what the middleware reports ----------------------------------------------------------------

    async def acquire(self) -> Ticket:
        """A token to send a call with, after any refresh or recovery the engine asks for."""
        if self._closed:
            raise SessionClosed()
        self._flights.refuse_reentry()
        self._restore()
        waited: str | None = None
        for _ in range(_ACQUIRE_ROUNDS):
            # One reading: the engine decides at it, and it is the call's send time (nothing awaits
            # between this and the send; a send time a little early, should the engine have taken
            # the call a little later, only makes the deadline earlier).
            now = self.clock.now()
            for decision in self._handle(_CALL_STARTING, now=now):
                if isinstance(decision, d.Proceed):
                    assert self._token is not None
                    return Ticket(self._token, decision.generation, now, waited)
                if isinstance(decision, d.SignOut):
                    raise SessionEnded(f"signed out: {decision.reason.value}")
            outcome = await self.wait_for_flight()
            if outcome is not None:
                waited = outcome.flight.value
            self._raise_if_failed(outcome)
        raise SessionUnavailable("no usable session after recovery", transport=False)

    def _raise_if_failed(self, outcome: FlightOutcome | None) -> None:
        """Every caller that waited on a failed flight sees the same failure (rule 8)."""
        if outcome is not None and isinstance(outcome.error, FlightReentry):
            raise FlightReentry()  # a wiring bug: said as itself, not as a backend failure
        if outcome is not None and isinstance(outcome.error, EndedElsewhere) and not self.view().token_usable:
            raise EndedElsewhere(SIGNED_OUT_ELSEWHERE)
        view = self.view()
        if outcome is None or outcome.ok or view.token_usable:
            return
        if view.state is State.SIGNED_OUT:
            if isinstance(outcome.error, LifetimeReached):
                raise SessionEnded("signed out: the session reached its lifetime; the password renews it")
            raise SessionEnded("signed out: re-authentication was rejected")
        transport = isinstance(outcome.error, BackendUnavailable) and outcome.error.transport
        raise SessionUnavailable(
            f"no session: {outcome.flight.value} failed ({_describe(outcome.error)})",
            transport=transport,
        )

    def accepted(self, ticket: Ticket, label: str = "", status: int = 200) -> None:
        if self._closed:
            return  # an answer that landed after close(): the session is no longer kept
        now = self.clock.now()  # the answer's time: its entry's, and the engine's
        self._log(now, "call_answered", {"call": label, "status": status, "generation": ticket.generation})
        self._handle(e.ResponseAccepted(ticket.sent_at, ticket.generation), now=now)

    def failed(self, ticket: Ticket, *, transport: bool, label: str = "", status: int | None = None) -> None:
        if self._closed:
            return
        self._record("call_failed", call=label, status=status, transport=transport)
        self._handle(e.ResponseFailed(ticket.sent_at, ticket.generation, transport))

    async def rejected(self, ticket: Ticket, attempt: int, label: str = "") -> bool:
        """A call's token was rejected. True: replay it once with `acquire()`. False: give up.

        Raises SessionEnded or SessionUnavailable when the recovery it waited for failed.
        """
        if self._closed:
            return False  # no recovery after close(): the caller sees the rejection
        self._record("call_rejected", call=label, attempt=attempt, generation=ticket.generation)
        if self._look_before_rejection():
            raise EndedElsewhere(SIGNED_OUT_ELSEWHERE)
        decisions = self._handle(e.ResponseRejected(ticket.sent_at, ticket.generation, attempt))
        if any(isinstance(x, d.GiveUp) for x in decisions):
            return False
        # The replay belongs to whoever sent the call: if recovery failed, it must not go out
        # as someone else (a new guest), so the failure is raised here instead.
        self._raise_if_failed(await self.wait_for_flight())
        return True

    def sent(self, ticket: Ticket, label: str = "") -> None:
        if self._closed:
            return
        detail = {"call": label, "generation": ticket.generation, "token": ticket.token.fingerprint}
        self._log(self.clock.now(), "call_sent", detail)

    # -- the engine loop ----------------------------------------------------------------------------

    def _handle(
        self,
        event: e.Event,
        adopt: Callable[[list[d.Decision]], None] | None = None,
        *,
        now: float | None = None,
    ) -> list[d.Decision]:
        """Hand one event to the engine and carry out what it decides. `adopt` runs between the
        two: a flight's new token is taken (or discarded) once the engine has said which. `now`:
        the event's time, when the caller has read it already (else it is read here).
        After close() it does nothing: no decision is made, carried out, published or woken for."""
        if self._closed:
            return []
        if now is None:
            now = self.clock.now()
        back = self._noticed_return(now)
        if back is not None:
            if not isinstance(event, e.Resumed):
                self._handle(back, now=now)
            if isinstance(event, e.Tick):
                event = e.Tick()  # a late wake-up's lateness is that same sleep or stop, taken above
        if now < self.engine.now:
            # A listener told the engine something since `now` was read (after a resume, or on
            # the caller's timeline entry): this event comes after it.
            now = self.clock.now()
        decisions = self.engine.handle(event, now)
        if adopt is not None:
            adopt(decisions)
        # A call that just goes out (or waits) changes no moment worth waking for.
        routine = bool(decisions)
        for decision in decisions:
            if not isinstance(decision, _ROUTINE):
                routine = False
                self._carry_out(decision)
        for decision in decisions:
            for listener in self._listeners:
                listener(decision)
        if not routine:
            self._reschedule()
        return decisions

    def _noticed_return(self, now: float) -> e.Resumed | None:
        """The return from a time away (rule 9) that a sleep or a stop, noticed now, amounts to;
        None when there was none, or the app was away already (the return then counts it)."""
        if self._wakeups.slept(now):
            # The wake-up was armed on the loop's clock and fires late by the whole sleep: re-arm
            # it from the session clock, and take the sleep for what it is, a time away.
            self._wakeups.disarm()
            self._continued = False  # a sleep stops the process too: one return, not two
            return None if self.view().paused else e.Resumed(alive_at=self._alive_at, slept=True)
        if self._continued:  # a SIGCONT: a stop, if it lasted past the stop gap
            self._continued = False
            alive = self._alive_at
            last_seen = self.engine.now if alive is None else max(alive, self.engine.now)
            if now - last_seen > self.engine.policy.stop_gap_s and not self.view().paused:
                return e.Resumed(alive_at=alive)
        return None

    def _carry_out(self, decision: d.Decision) -> None:
        # Read afresh: entries recorded since the event (a flight's new token) come before it.
        now = self.clock.now()
        logged = entry(decision, now)
        if logged is not None:
            self._log(now, *logged)
        match decision:  # the one on every accepted call's path first
            case d.DeadlineMoved():
                self._save(now)
            case d.StartRefresh():
                self._flights.start(SessionFlight.REFRESH)
            case d.StartReauth():
                self._flights.start(SessionFlight.REAUTH)
            case d.StartGuestSession():
                self._flights.start(SessionFlight.NEW_GUEST)
            case d.SignOut(reason=reason):
                self._signed_out(reason)
            case (
                d.Proceed()
                | d.AwaitFlight()
                | d.Replay()
                | d.GiveUp()
                | d.ShowPrompt()
                | d.WarningWindow()
                | d.HidePrompt()
                | d.DiscardSession()  # taken by the flight it answers (`_attempt`'s `adopt`)
                | d.ResyncProfile()
                | d.TTLLowered()
                | d.RefreshRetryScheduled()
                | d.SessionLapsed()
                | d.ConnectivityChanged()
                | d.BackgroundEnded()
                | d.SessionShared()
                | d.LifetimeWarning()
            ):
                pass  # for the caller (acquire, rejected) or the listeners (the UI, the client)
            case _:
                assert_never(decision)

    async def _attempt(self, flight: SessionFlight) -> FlightOutcome:
        sent_at = self.clock.now()
        holding = False
        try:
            shared_outcome = await self._take_turn(flight)
            if shared_outcome is not None:
                return shared_outcome  # another instance's flight answered for this one
            holding = self.shared is not None
            sent_at = self.clock.now()  # the flight goes out now, after any wait for its turn
            token, issued = await self._obtain(flight)
            discarded = False

            def adopt(decisions: list[d.Decision]) -> None:
                nonlocal discarded
                if any(isinstance(x, d.DiscardSession) for x in decisions):
                    # The user signed out while this was out: keep nothing of it, revoke it.
                    discarded = True
                    self._record(f"{flight.value}_discarded", token=token.fingerprint)
                    self._spawn(self._revoke(token))
                elif issued is None:
                    self._token = token
                    self._record("refresh_succeeded", token=token.fingerprint)
                else:
                    self._adopt(issued)  # records token_issued
                    if flight is SessionFlight.REAUTH:
                        self._record("reauth_succeeded")

            self._handle(success_event(flight, sent_at), adopt)
            if discarded:
                return FlightOutcome(flight, ok=False, error=SessionEnded("signed out meanwhile"))
            return FlightOutcome(flight, ok=True)
        except asyncio.CancelledError:
            self._fail_flight(flight, rejected=False, transport=True)
            raise
        except _Voided:
            # Its outcome is void (the engine noted it at the sign-out): said so, nothing more.
            self._handle(failure_event(flight, rejected=False, transport=False))
            return FlightOutcome(flight, ok=False, error=SessionEnded("signed out meanwhile"))
        except FlightReentry as exc:
            log.error("%s failed: %s", flight.value, exc)
            self._fail_flight(flight, rejected=False, transport=False)
            return FlightOutcome(flight, ok=False, error=exc)
        except SessionRejected as exc:
            if isinstance(exc, LifetimeReached):
                self._learn_lifetime()
            self._fail_flight(
                flight, rejected=True, transport=False, lifetime=isinstance(exc, LifetimeReached)
            )
            return FlightOutcome(flight, ok=False, error=exc)
        except BackendUnavailable as exc:
            self._fail_flight(flight, rejected=False, transport=exc.transport)
            return FlightOutcome(flight, ok=False, error=exc)
        except Exception as exc:  # a malformed answer must not leave the engine in flight forever
            log.warning("%s failed unexpectedly: %s", flight.value, type(exc).__name__)
            self._fail_flight(flight, rejected=False, transport=False)
            return FlightOutcome(flight, ok=False, error=exc)
        finally:
            if holding and self.shared is not None:
                # After the outcome is stored (the engine took it above): the next instance to
                # take the lease finds this one's session, never the one before it.
                # A write a busy lock kept back goes first (the next look): until then the
                # lease stays, or another instance would find the old session and fly again.
                self._release_pending = self._stored.deferred or not self.shared.release()

    # -- the other instances (rule 14) ------------------------------------------------------------

    async def _take_turn(self, flight: SessionFlight) -> FlightOutcome | None:
        """Before a flight goes out: take the lease, waiting while another instance has a flight
        out. None: the lease is this instance's, and its flight goes out. An outcome: another
        instance's change already answers for it (its session was taken on, or it signed out)."""
        shared = self.shared
        if shared is None:
            return None
        waited_for: Lease | None = None
        while True:
            if self.engine.status is not FLIGHT_STATUS[flight]:
                raise _Voided()  # signed out (here, or a login won) while it waited: never sent
            if shared.changed():
                outcome = self._take_on(self._stored.read(), flight)
                if outcome is not None:
                    return outcome
            try:
                claim = shared.claim(flight.value)
            except LockBusy:
                await asyncio.sleep(_TURN_POLL_S)  # another instance holds the lock this moment
                continue
            if claim.granted:
                if claim.taken_over is not None:
                    self._record(
                        "lease_taken_over",
                        flight=flight.value,
                        holder_pid=claim.taken_over.pid,
                        holder_flight=claim.taken_over.flight,
                        why=claim.why_free,
                    )
                if not claim.locked:
                    self._record("lock_passed_over", reason=shared.lock_problem)
                if shared.changed():
                    # Written between the look and the claim: looked at again, holding the lease.
                    outcome = self._take_on(self._stored.read(), flight)
                    if outcome is not None:
                        self._release_pending = not shared.release()
                        return outcome
                if waited_for is not None:
                    self._record("flight_turn", flight=flight.value)
                return None
            holder = claim.holder
            assert holder is not None
            if waited_for is None or waited_for.instance != holder.instance:
                waited_for = holder
                self._record(
                    "flight_waits", flight=flight.value, holder_pid=holder.pid, holder_flight=holder.flight
                )
            await asyncio.sleep(_TURN_POLL_S)

    def _moved_aside_lately(self) -> bool:
        """A damaged stored session was moved aside (by any instance) since this one last looked
        at what was moved aside: its absence then says nothing of a sign-out."""
        names = self._moved_aside_names()
        new = bool(names - self._moved_aside)
        self._moved_aside = names
        return new

    def _moved_aside_names(self) -> set[str]:
        store = self.store
        if store is None:
            return set()
        prefix = store.path.name + ".corrupt-"
        try:
            return {item.name for item in os.scandir(store.path.parent) if item.name.startswith(prefix)}
        except OSError:
            return set()

    def _look_before_rejection(self) -> bool:
        """A rejected call may have gone out with a token another instance has since replaced
        (rotated, signed out): the change is taken on first, so that the engine reads the
        rejection as an older token's (a replay) and not as evidence about the TTL (rule 7).
        True when that change was a sign-out of this user."""
        shared = self.shared
        if shared is None or self._flights.in_progress or not shared.changed():
            return False
        was_user = self.engine.kind is SessionKind.USER
        self.sync()
        return was_user and self.view().state is State.SIGNED_OUT

    def _take_on(self, found: LoadResult, flight: SessionFlight | None) -> FlightOutcome | None:
        """Take on the stored session another instance left (`found`): its new session, a later
        extension of the same one, or its sign-out. `flight`: the flight this instance was about
        to send; the outcome returned then stands for it (None: nothing answers for it, it goes)."""
        stored = found.stored
        if stored is None:
            if found.foreign or found.damaged or found.reason is not None or self._moved_aside_lately():
                # Not a sign-out: another backend's, damaged (moved aside, here or by another
                # instance just now) or unreadable. The next write stores this session again.
                return None
            if self._token is not None and self.engine.kind is SessionKind.USER:
                self._record("signed_out_elsewhere")
                self._handle(e.SignedOutElsewhere())
                if flight is not None:
                    return FlightOutcome(flight, ok=False, error=EndedElsewhere(SIGNED_OUT_ELSEWHERE))
            return None
        now = self.clock.now()
        # Its send time on this instance's clock: the stored one is calendar time.
        sent_at = min(now, now - (self.clock.wall() - stored.last_extension_wall))
        if self._token is not None and stored.token == self._token:
            if stored.user and stored.user != self.user:
                self.user = dict(stored.user)  # re-synced there
            view = self.view()
            if (
                flight is None
                and view.status is Status.LIVE
                and view.last_extension_sent is not None
                and sent_at > view.last_extension_sent
            ):
                self._stored.adopted(stored.token, now)
                self._handle(e.SharedExtension(sent_at), now=now)
            return None
        ended = stored.kind is SessionKind.GUEST and self.engine.kind is SessionKind.USER
        before = (self.engine.kind, self.user.get("username"))
        holder_changed = before != (stored.kind, stored.user.get("username"))
        view = self.view()
        if flight is not None and not holder_changed and sent_at + view.ttl_s - view.warn_s <= now:
            # The same person's session, renewed there, but itself due for renewal (or past it):
            # this flight renews it, with what that instance stored (its token, its reauth key).
            self._token, self._reauth_key, self.user = stored.token, stored.reauth_key, dict(stored.user)
            self._record(
                "session_taken_on", kind=stored.kind.value, token=stored.token.fingerprint, renew=True
            )
            return None
        self.holder_changed = holder_changed
        if ended and self._token is not None:
            self._record("signed_out_elsewhere")
            self._handle(e.SignedOutElsewhere())
        self._token, self._reauth_key, self.user = stored.token, stored.reauth_key, dict(stored.user)
        self.signed_in_wall = stored.signed_in_wall if stored.kind is SessionKind.USER else None
        self._record(
            "session_taken_on",
            kind=stored.kind.value,
            token=stored.token.fingerprint,
            holder_changed=self.holder_changed,
        )
        self._stored.adopted(stored.token, now)
        self._handle(e.SessionIssued(stored.kind, Source.SHARED, sent_at))
        self._tell_lifetime()
        if flight is None:
            return None
        if ended:
            return FlightOutcome(flight, ok=False, error=EndedElsewhere(SIGNED_OUT_ELSEWHERE))
        return FlightOutcome(flight, ok=True)

    async def _obtain(self, flight: SessionFlight) -> tuple[Secret, IssuedSession | None]:
        """Ask the port for what the flight is for: a rotated token, or a whole new session."""
        if flight is SessionFlight.REFRESH:
            if self._token is None:
                raise SessionRejected("no token to refresh")
            return await self.port.refresh(self._token), None
        if flight is SessionFlight.REAUTH:
            if self._reauth_key is None:
                raise SessionRejected("no reauth key")
            issued = await self.port.reauth(self._reauth_key)
        else:
            issued = await self.port.start_guest()
        return issued.token, issued

    def _fail_flight(
        self, flight: SessionFlight, *, rejected: bool, transport: bool, lifetime: bool = False
    ) -> None:
        if lifetime:
            self._record(
                f"{flight.value}_failed", rejected=rejected, transport=transport, lifetime_reached=True
            )
        else:
            self._record(f"{flight.value}_failed", rejected=rejected, transport=transport)
        # The engine knows whether this flight is still the one out, or was abandoned at sign-out.
        self._handle(failure_event(flight, rejected=rejected, transport=transport, lifetime=lifetime))

    def _adopt(self, issued: IssuedSession) -> None:
        if issued.kind is SessionKind.GUEST:
            self.signed_in_wall = None  # a re-auth keeps the sign-in's lifetime; a guest has none
        self._token = issued.token
        if issued.reauth_key is not None or issued.kind is SessionKind.GUEST:
            self._reauth_key = issued.reauth_key
        self.user = dict(issued.user)
        self._record("token_issued", kind=issued.kind.value, token=issued.token.fingerprint)

    def _signed_out(self, reason: d.SignOutReason) -> None:
        token, self._token, self._reauth_key = self._token, None, None
        self.signed_in_wall = None
        self.former_user, self.user = self.user, {}
        if reason is d.SignOutReason.ELSEWHERE:
            return  # the other instance forgot the stored session and revoked the token
        name = self.former_user.get("username")
        kind = SessionKind.USER if isinstance(name, str) else SessionKind.GUEST
        self._stored.clear((kind, name if isinstance(name, str) else None))
        if token is not None and reason is not d.SignOutReason.RECOVERY_FAILED:
            # Best effort: a signed-out user must not leave a live token behind on the server.
            self._spawn(self._revoke(token))

    async def _revoke(self, token: Secret) -> None:
        with contextlib.suppress(Exception):
            await self.port.sign_out(token)

    def _spawn(self, coro: Any) -> None:
        if self._closed:
            coro.close()  # never started: close() has already waited for what was running
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- wake-ups and storage -----------------------------------------------------------------------

    def _reschedule(self) -> None:
        if not self._closed:
            # The one engine query besides the view: it is on every call's path.
            self._wakeups.arm(self.engine.next_wakeup())

    def _on_wake(self, due: float | None = None) -> None:
        """The timer fired (`due`: when it was due; by default the armed timer's moment). Telling
        the engine when it was due lets it notice a stop from outside."""
        when = self._wakeups.due if due is None else due
        self.sync()  # as in `tick`
        self._handle(e.Tick(scheduled_for=when, alive_at=self._alive_at))

    def _save(self, now: float | None = None, *, force: bool = False) -> None:
        self._stored.save(self._token, self._snapshot, force=force, now=now, winning=self._winning)

    def _snapshot(self) -> StoredSession | None:
        now = self.clock.now()
        view = self.engine.view(now)
        if self._token is None or view.kind is None or view.last_extension_sent is None:
            return None
        wall = self.clock.wall() - (now - view.last_extension_sent)
        return StoredSession(
            view.kind, self._token, self._reauth_key, wall, dict(self.user), self.signed_in_wall
        )

    # -- the absolute lifetime (rule 15) ------------------------------------------------------------

    def _tell_lifetime(self) -> None:
        """Tell the engine when the signed-in session reaches its lifetime, if that is known."""
        ends_at: float | None = None
        if self.engine.kind is SessionKind.USER and self.signed_in_wall is not None and self.lifetime_s:
            now = self.clock.now()
            ends_at = now + (self.signed_in_wall + self.lifetime_s - self.clock.wall())
        if ends_at != self.engine.lifetime_end:
            self._handle(e.LifetimeKnown(ends_at))

    def _learn_lifetime(self) -> None:
        """The server refused a renewal at the lifetime: the cap is at most the time since the
        sign-in. The smallest seen is kept (here and in lifetime.json), so the next sign-in can
        show the time left and warn before it."""
        if self.signed_in_wall is None:
            return
        seen = self.clock.wall() - self.signed_in_wall
        if seen <= 0 or (self.lifetime_s is not None and self.lifetime_s <= seen):
            return
        self.lifetime_s = seen
        self._record("lifetime_learned", lifetime_s=round(seen, 3))
        if self._learned is not None:
            self._learned.save(seen)

    def record(self, name: str, **detail: Any) -> None:
        """Put an event of the caller's on the timeline (an app error, a failed draft save)."""
        self._record(name, **detail)

    def _record(self, name: str, **detail: Any) -> None:
        self._log(self.clock.now(), name, detail)

    def _log(self, at: float, name: str, detail: dict[str, Any]) -> None:
        """Put `name` on the timeline at `at` (a reading of the session clock), with `detail`
        (the entry's own from here: not to be changed after)."""
        # `wall` is the real calendar time; a QA skip ahead is its own field, never mixed in.
        wall = self.clock.wall()
        qa = self._qa_clock
        if qa is not None and (offset := skip_offset(qa)):
            detail["qa_skip_s"] = round(offset, 3)
            wall -= offset
        self.timeline.add(at, wall, name, detail)

    # -- the stored session's disk ------------------------------------------------------------------

    @property
    def persistence_problem(self) -> str | None:
        """Why this session would not survive a restart: the stored copy's latest write failed
        ("cannot write session.json: No space left on device"). None when it worked or none was tried.
        """
        return self._stored.problem


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "unknown"
    if isinstance(error, BackendUnavailable):
        return "backend unreachable" if error.transport else "backend error"
    if isinstance(error, SessionRejected):
        return "rejected"
    return type(error).__name__


__all__ = [
    "EndedElsewhere",
    "FlightOutcome",
    "FlightReentry",
    "SessionClosed",
    "SessionEnded",
    "SessionManager",
    "SessionUnavailable",
    "State",
    "Ticket",
]
