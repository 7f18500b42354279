"""The async manager: carries out the engine's decisions and does all the waiting.

It owns the token and reauth key (as `Secret`s), runs at most one refresh or re-authentication at a
time and shares its outcome with every caller that waits on it (rule 8), schedules wake-ups from
the deadline rather than counting down, keeps the stored session for restarts (rule 10) and writes
every event to the timeline (rule 13).

The stored session never takes a call down with it: a disk that refuses a write (or a sign-out's
removal) leaves the session going on in memory, with one `session_store_failed` on the timeline
until a write works again (`session_store_recovered`) and `persistence_problem` saying why
meanwhile; a failed write is tried again at the next chance, throttle or not. A damaged stored
session reads as none (`session_store_corrupt`: the file was moved aside) and a new one starts.

Once `close()` begins, the manager is done: nothing it is told (a tick, user activity, an answer
that lands late, the flight it cancels) reaches the engine, arms a wake-up or is published.

A flight's port must not send through the middleware: a refresh made that way would wait for
itself. A call made from inside the flight is refused at once with `FlightReentry`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from session import decisions as d
from session import events as e
from session.clock import Clock, skip_offset
from session.engine import Flight, SessionEngine, SessionView, State, Status, failure_event, success_event
from session.events import SessionKind, Source
from session.policy import Policy
from session.port import BackendUnavailable, IssuedSession, SessionPort, SessionRejected
from session.secrets import Secret
from session.store import SessionStore, StoredSession, StoreError
from session.timeline import Timeline

log = logging.getLogger(__name__)

# How often, at most, an extension alone rewrites the stored session (token changes always do).
_STORE_EVERY_S = 15.0
# acquire() rounds: a flight, then a chained one, then the call; more means something is wrong.
_ACQUIRE_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class Ticket:
    """What a call goes out with: the token, its generation and the send time."""

    token: Secret
    generation: int
    sent_at: float


@dataclass(frozen=True, slots=True)
class FlightOutcome:
    flight: Flight
    ok: bool
    error: BaseException | None = None


class SessionEnded(Exception):
    """The user was signed out; the call cannot go out in their name."""


class SessionUnavailable(Exception):
    """No usable session could be had (the backend failed or is unreachable)."""

    def __init__(self, message: str, *, transport: bool) -> None:
        super().__init__(message)
        self.transport = transport


class SessionClosed(SessionUnavailable):
    """The manager was closed (the app is on its way out): no call goes out in its name."""

    def __init__(self) -> None:
        super().__init__("the session is closed", transport=False)


class FlightReentry(RuntimeError):
    """A call made from inside the session's own flight: it would wait for that flight forever.
    A bug in the wiring (the session port sends through the session middleware), never the
    server's doing; every caller waiting on the flight sees it too."""

    def __init__(self) -> None:
        super().__init__(
            "a call was made from inside the session's own refresh or recovery, which it would wait "
            "for forever: the session port must not send through the session middleware"
        )


DecisionListener = Callable[[d.Decision], None]
# What the engine answers a call that may go out, or must wait: nothing to write down or re-arm.
_ROUTINE = (d.Proceed, d.AwaitFlight)

_DECISION_LOG: dict[type[Any], str] = {
    d.StartRefresh: "refresh_started",
    d.StartReauth: "reauth_started",
    d.StartGuestSession: "guest_session_started",
    d.ShowPrompt: "prompt_shown",
    d.HidePrompt: "prompt_hidden",
    d.WarningWindow: "warning",
    d.SignOut: "signed_out",
    d.ResyncProfile: "profile_resync",
    d.DeadlineMoved: "deadline_moved",
    d.TTLLowered: "ttl_lowered",
    d.RefreshRetryScheduled: "refresh_retry_scheduled",
    d.SessionLapsed: "session_lapsed",
    d.ConnectivityChanged: "connectivity",
    d.BackgroundEnded: "resumed",
    d.Replay: "call_replay",
    d.GiveUp: "call_given_up",
}


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
        loop_time: Callable[[], float] | None = None,
    ) -> None:
        """`loop_time` is the clock the wake-up timer runs on (the event loop's, by default); tests
        give one that lags the session clock, as a machine's sleep makes the real one do."""
        self.port = port
        self.clock = clock
        self._loop_time = loop_time
        self._drift: float | None = None  # session clock minus loop clock, as last seen
        self.engine = SessionEngine(policy, now=clock.now())
        self.store = store
        self.timeline = timeline if timeline is not None else Timeline()
        self.auto_wake = auto_wake
        self.user: dict[str, Any] = {}
        self.former_user: dict[str, Any] = {}  # whoever was signed out last (their draft is kept)
        self._token: Secret | None = None
        self._reauth_key: Secret | None = None
        self._flight_task: asyncio.Task[FlightOutcome] | None = None
        # Flights asked for while one was out, in order: each goes out after the one before it
        # (a rejected refresh -> re-auth; a new guest after a flight abandoned at sign-out), so
        # their outcomes reach the engine in the order it asked for them.
        self._chained: deque[Flight] = deque()
        self._listeners: list[DecisionListener] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at = float("inf")
        self._alive_at: float | None = None
        self._restore_done = False
        self._saved_token: Secret | None = None
        self._saved_at = float("-inf")
        self._closed = False

    # -- reading ------------------------------------------------------------------------------------

    def view(self) -> SessionView:
        return self.engine.view(self.clock.now())

    def redact(self, text: str) -> str:
        """`text` with the token and reauth key this session holds replaced by their fingerprints
        (for a crash report, whose traceback is not ours to vouch for)."""
        for secret in (self._token, self._reauth_key):
            if secret is not None:
                text = text.replace(secret.reveal(), secret.fingerprint)
        return text

    @property
    def token_fingerprint(self) -> str | None:
        return self._token.fingerprint if self._token else None

    @property
    def signed_in(self) -> bool:
        return self.view().kind is SessionKind.USER

    @property
    def flight_in_progress(self) -> bool:
        return self._flight_task is not None and not self._flight_task.done()

    @property
    def scheduled_wake_in(self) -> float | None:
        """Seconds of loop time until the next scheduled wake-up, or None when none is due."""
        if self._wake is None:
            return None
        return self._wake.when() - asyncio.get_running_loop().time()

    def subscribe(self, listener: DecisionListener) -> None:
        """Be told of every decision (prompt, sign-out, resync...), in order, as it is made."""
        self._listeners.append(listener)

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> FlightOutcome | None:
        """Resume the stored session (rule 10), or obtain a guest session at once."""
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
        stored = self._load_stored()
        if stored is None:
            return False
        self._token, self._reauth_key, self.user = stored.token, stored.reauth_key, stored.user
        elapsed = self.clock.wall() - stored.last_extension_wall
        self._record("session_restored", kind=stored.kind.value, elapsed_wall_s=round(elapsed, 3))
        self._handle(e.SessionRestored(stored.kind, elapsed))
        return True

    async def close(self) -> None:
        # First: the flight cancelled below, and anything told meanwhile, must not re-arm or publish.
        self._closed = True
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        for task in [*self._background, *([self._flight_task] if self._flight_task else [])]:
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._flight_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flight_task
        # Never raises: the app is on its way out. A disk that refuses is a StoreError, handled
        # by _save and the store; this guard is for the unexpected (a bug must not stop the exit).
        try:
            self._save(force=True)
            store = self.store
            if self._token is None and store is not None and store.error is not None:
                store.clear()  # a sign-out could not forget the stored session: once more
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
        self._handle(e.Backgrounded())

    def resume(self) -> None:
        self._handle(e.Resumed(alive_at=self._alive_at))

    def heartbeat(self) -> None:
        """The process is running now (the UI's once-a-second tick). After a stop from outside,
        the time away is measured from the last heartbeat, not from a late wake-up's due time."""
        self._alive_at = self.clock.now()
        self.timeline.flush()  # entries recorded since the last second reach the file

    def tick(self) -> None:
        self._handle(e.Tick())

    def answer_prompt(self, stay: bool) -> None:
        self._handle(e.PromptAnswered(stay=stay))

    def sign_out(self) -> None:
        self._handle(e.SignOutRequested())

    def clock_jumped(self) -> None:
        """The QA clock skipped ahead: look at the deadlines again now, and re-arm the timer."""
        self._disarm()
        self._drift = None  # a skip on purpose, not a sleep
        self._handle(e.Tick())

    def _disarm(self) -> None:
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        self._wake_at = float("inf")

    def _slept(self) -> bool:
        """True when the session clock ran ahead of the event loop's since the last look: the
        machine slept (CLOCK_BOOTTIME counts it, asyncio's CLOCK_MONOTONIC does not). Only with
        wake-ups of our own to keep true."""
        if not self.auto_wake:
            return False
        try:
            loop_now = self._loop_time() if self._loop_time else asyncio.get_running_loop().time()
        except RuntimeError:
            return False
        # A QA skip ahead moves the session clock on purpose: it is not a sleep.
        drift = self.clock.now() - skip_offset(self.clock) - loop_now
        previous, self._drift = self._drift, drift
        return previous is not None and drift - previous > self.engine.policy.stop_gap_s

    async def login(self, username: str, password: Secret) -> dict[str, Any]:
        """Sign in (the password is passed through, never kept). Raises SessionRejected if wrong."""
        if self._closed:
            raise SessionClosed()
        await self.wait_for_flight()
        sent_at = self.clock.now()
        guest = (
            self._token
            if (view := self.engine.view(sent_at)).kind is SessionKind.GUEST and view.token_usable
            else None
        )
        issued = await self.port.login(username, password, guest)
        if self._closed:
            raise SessionClosed()  # closed while it was out: nothing of it is kept
        self._adopt(issued)
        self._handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at))
        return self.user

    async def wait_for_flight(self) -> FlightOutcome | None:
        """Wait for the refresh or re-authentication in flight, if any; its outcome is shared."""
        task = self._flight_task
        if task is None:
            return None
        self._refuse_reentry()
        return await asyncio.shield(task)

    def _refuse_reentry(self) -> None:
        """A call from inside the flight's own task would wait for it forever: refused at once."""
        task = self._flight_task
        if task is not None and not task.done() and asyncio.current_task() is task:
            raise FlightReentry()

    # -- what the middleware reports ----------------------------------------------------------------

    async def acquire(self) -> Ticket:
        """A token to send a call with, after any refresh or recovery the engine asks for."""
        if self._closed:
            raise SessionClosed()
        self._refuse_reentry()
        self._restore()
        for _ in range(_ACQUIRE_ROUNDS):
            for decision in self._handle(e.CallStarting()):
                if isinstance(decision, d.Proceed):
                    assert self._token is not None
                    return Ticket(self._token, decision.generation, self.clock.now())
                if isinstance(decision, d.SignOut):
                    raise SessionEnded(f"signed out: {decision.reason.value}")
            self._raise_if_failed(await self.wait_for_flight())
        raise SessionUnavailable("no usable session after recovery", transport=False)

    def _raise_if_failed(self, outcome: FlightOutcome | None) -> None:
        """Every caller that waited on a failed flight sees the same failure (rule 8)."""
        if outcome is not None and isinstance(outcome.error, FlightReentry):
            raise FlightReentry()  # a wiring bug: said as itself, not as a backend failure
        view = self.view()
        if outcome is None or outcome.ok or view.token_usable:
            return
        if view.state is State.SIGNED_OUT:
            raise SessionEnded("signed out: re-authentication was rejected")
        transport = isinstance(outcome.error, BackendUnavailable) and outcome.error.transport
        raise SessionUnavailable(
            f"no session: {outcome.flight.value} failed ({_describe(outcome.error)})",
            transport=transport,
        )

    def accepted(self, ticket: Ticket, label: str = "", status: int = 200) -> None:
        if self._closed:
            return  # an answer that landed after close(): the session is no longer kept
        self._record("call_answered", call=label, status=status, generation=ticket.generation)
        self._handle(e.ResponseAccepted(ticket.sent_at, ticket.generation))

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
        self._record("call_sent", call=label, generation=ticket.generation, token=ticket.token.fingerprint)

    # -- the engine loop ----------------------------------------------------------------------------

    def _handle(
        self, event: e.Event, adopt: Callable[[list[d.Decision]], None] | None = None
    ) -> list[d.Decision]:
        """Hand one event to the engine and carry out what it decides. `adopt` runs between the
        two: a flight's new token is taken (or discarded) once the engine has said which.
        After close() it does nothing: no decision is made, carried out, published or woken for."""
        if self._closed:
            return []
        if self._slept():
            # The wake-up was armed on the loop's clock and fires late by the whole sleep: re-arm
            # it from the session clock, and take the sleep for what it is, a time away (rule 9).
            self._disarm()
            if not isinstance(event, e.Resumed):
                self._handle(e.Resumed(alive_at=self._alive_at))
            if isinstance(event, e.Tick):
                event = e.Tick()  # the late wake-up itself: its lateness is the sleep, taken above
        decisions = self.engine.handle(event, self.clock.now())
        if adopt is not None:
            adopt(decisions)
        for decision in decisions:
            self._carry_out(decision)
        for decision in decisions:
            for listener in list(self._listeners):
                listener(decision)
        if not decisions or any(not isinstance(x, _ROUTINE) for x in decisions):
            self._reschedule()  # a call that just goes out changes no moment worth waking for
        return decisions

    def _carry_out(self, decision: d.Decision) -> None:
        name = _DECISION_LOG.get(type(decision))
        if name is not None:
            self._record(name, **_details(decision, self.clock.now()))
        if isinstance(decision, d.StartRefresh):
            self._start_flight(Flight.REFRESH)
        elif isinstance(decision, d.StartReauth):
            self._start_flight(Flight.REAUTH)
        elif isinstance(decision, d.StartGuestSession):
            self._start_flight(Flight.NEW_GUEST)
        elif isinstance(decision, d.SignOut):
            self._signed_out(decision.reason)
        elif isinstance(decision, d.DeadlineMoved):
            self._save()

    def _start_flight(self, flight: Flight) -> None:
        if self.flight_in_progress:
            self._chained.append(flight)
            return
        self._flight_task = asyncio.get_running_loop().create_task(self._run_flights(flight))

    async def _run_flights(self, flight: Flight) -> FlightOutcome:
        try:
            while True:
                outcome = await self._attempt(flight)
                if not self._chained:
                    return outcome
                flight = self._chained.popleft()
        finally:
            self._chained.clear()  # empty unless cancelled (at close): nothing is left to send
            self._flight_task = None
            self._reschedule()

    async def _attempt(self, flight: Flight) -> FlightOutcome:
        sent_at = self.clock.now()
        try:
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
                    if flight is Flight.REAUTH:
                        self._record("reauth_succeeded")

            self._handle(success_event(flight, sent_at), adopt)
            if discarded:
                return FlightOutcome(flight, ok=False, error=SessionEnded("signed out meanwhile"))
            return FlightOutcome(flight, ok=True)
        except asyncio.CancelledError:
            self._fail_flight(flight, rejected=False, transport=True)
            raise
        except FlightReentry as exc:
            log.error("%s failed: %s", flight.value, exc)
            self._fail_flight(flight, rejected=False, transport=False)
            return FlightOutcome(flight, ok=False, error=exc)
        except SessionRejected as exc:
            self._fail_flight(flight, rejected=True, transport=False)
            return FlightOutcome(flight, ok=False, error=exc)
        except BackendUnavailable as exc:
            self._fail_flight(flight, rejected=False, transport=exc.transport)
            return FlightOutcome(flight, ok=False, error=exc)
        except Exception as exc:  # a malformed answer must not leave the engine in flight forever
            log.warning("%s failed unexpectedly: %s", flight.value, type(exc).__name__)
            self._fail_flight(flight, rejected=False, transport=False)
            return FlightOutcome(flight, ok=False, error=exc)

    async def _obtain(self, flight: Flight) -> tuple[Secret, IssuedSession | None]:
        """Ask the port for what the flight is for: a rotated token, or a whole new session."""
        if flight is Flight.REFRESH:
            if self._token is None:
                raise SessionRejected("no token to refresh")
            return await self.port.refresh(self._token), None
        if flight is Flight.REAUTH:
            if self._reauth_key is None:
                raise SessionRejected("no reauth key")
            issued = await self.port.reauth(self._reauth_key)
        else:
            issued = await self.port.start_guest()
        return issued.token, issued

    def _fail_flight(self, flight: Flight, *, rejected: bool, transport: bool) -> None:
        self._record(f"{flight.value}_failed", rejected=rejected, transport=transport)
        # The engine knows whether this flight is still the one out, or was abandoned at sign-out.
        self._handle(failure_event(flight, rejected=rejected, transport=transport))

    def _adopt(self, issued: IssuedSession) -> None:
        self._token = issued.token
        if issued.reauth_key is not None or issued.kind is SessionKind.GUEST:
            self._reauth_key = issued.reauth_key
        self.user = dict(issued.user)
        self._record("token_issued", kind=issued.kind.value, token=issued.token.fingerprint)

    def _signed_out(self, reason: d.SignOutReason) -> None:
        token, self._token, self._reauth_key = self._token, None, None
        self.former_user, self.user = self.user, {}
        if self.store is not None:
            self.store.clear()
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
        if not self.auto_wake or self._closed:
            return
        when = self.engine.next_wakeup()  # the one engine query besides the view: it is on every call's path
        if when is None:
            if self._wake is not None:
                self._wake.cancel()
                self._wake = None
            return
        if self._wake is not None and self._wake_at <= when:
            # A timer already fires no later than needed; when it does, the tick finds nothing
            # due and schedules the next one. Accepted calls push the deadline later, so this is
            # the common case and costs a call nothing.
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._wake is not None:
            self._wake.cancel()
        # From the deadline, not counted down: one timer to the next moment that matters.
        self._wake = loop.call_later(max(0.0, when - self.clock.now()) + 0.001, self._on_wake)
        self._wake_at = when

    def _on_wake(self) -> None:
        self._wake = None
        # Telling the engine when this wake-up was due lets it notice a stop from outside.
        self._handle(e.Tick(scheduled_for=self._wake_at, alive_at=self._alive_at))

    def _save(self, force: bool = False) -> None:
        now = self.clock.now()
        store = self._watched_store()
        if store is None or self._token is None:
            return
        fresh_token = self._token is not self._saved_token
        # A failed write is retried at the next chance, inside the throttle window too.
        failing = store.error is not None
        if not (force or fresh_token or failing or now - self._saved_at >= _STORE_EVERY_S):
            return  # the common case, on every accepted call: decided before any other work
        view = self.engine.view(now)
        if view.kind is None or view.last_extension_sent is None:
            return
        wall = self.clock.wall() - (now - view.last_extension_sent)
        try:
            store.save(StoredSession(view.kind, self._token, self._reauth_key, wall, dict(self.user)))
        except StoreError:
            # The call that got here was accepted: the session goes on in memory. The store told
            # the timeline (once), `persistence_problem` says why, and the next save tries again.
            return
        self._saved_token, self._saved_at = self._token, now

    def record(self, name: str, **detail: Any) -> None:
        """Put an event of the caller's on the timeline (an app error, a failed draft save)."""
        self._record(name, **detail)

    def _record(self, name: str, **detail: Any) -> None:
        # `wall` is the real calendar time; a QA skip ahead is its own field, never mixed in.
        skipped = skip_offset(self.clock)
        if skipped:
            detail["qa_skip_s"] = round(skipped, 3)
        self.timeline.record(self.clock.now(), self.clock.wall() - skipped, name, **detail)

    # -- the stored session's disk ------------------------------------------------------------------

    @property
    def persistence_problem(self) -> str | None:
        """Why this session would not survive a restart: the stored copy's latest write failed
        ("cannot write session.json: No space left on device"). None when it worked or none was tried.
        """
        return self.store.error if self.store is not None else None

    def _watched_store(self) -> SessionStore | None:
        """The store, with the timeline told of its failures and recoveries (once each)."""
        store = self.store
        if store is not None:
            store.watch(self._store_health_changed)
        return store

    def _store_health_changed(self, error: str | None) -> None:
        if error is None:
            self._record("session_store_recovered")
        else:
            self._record("session_store_failed", error=error)

    def _load_stored(self) -> StoredSession | None:
        """The stored session to resume, if any; a damaged or unreadable file goes on the timeline."""
        store = self._watched_store()
        if store is None:
            return None
        # The real calendar time names a damaged file moved aside; a QA skip ahead is not mixed in.
        result = store.read(now_wall=self.clock.wall() - skip_offset(self.clock))
        if result.damaged:
            moved_to = result.moved_to.name if result.moved_to is not None else None
            self._record("session_store_corrupt", moved_to=moved_to, reason=result.reason)
        elif result.reason is not None:
            self._record("session_store_unreadable", reason=result.reason)
        return result.stored


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "unknown"
    if isinstance(error, BackendUnavailable):
        return "backend unreachable" if error.transport else "backend error"
    if isinstance(error, SessionRejected):
        return "rejected"
    return type(error).__name__


def _details(decision: d.Decision, now: float) -> dict[str, Any]:
    if isinstance(decision, d.DeadlineMoved):
        return {"remaining_s": round(decision.deadline - now, 3)}
    if isinstance(decision, d.ShowPrompt | d.WarningWindow):
        extra = {"action": decision.action} if isinstance(decision, d.WarningWindow) else {}
        return {"seconds_left": round(decision.seconds_left, 3), **extra}
    if isinstance(decision, d.SignOut):
        return {"reason": decision.reason.value}
    if isinstance(decision, d.TTLLowered):
        return {"old_s": round(decision.old_s, 3), "new_s": round(decision.new_s, 3)}
    if isinstance(decision, d.RefreshRetryScheduled):
        return {"in_s": round(decision.at - now, 3), "failures": decision.failures}
    if isinstance(decision, d.SessionLapsed):
        return {"kind": decision.kind.value}
    if isinstance(decision, d.ConnectivityChanged):
        return {"online": decision.online, "link": decision.link.value}
    if isinstance(decision, d.BackgroundEnded):
        return {"away_s": round(decision.away_s, 3), "detected": decision.detected}
    if isinstance(decision, d.GiveUp):
        return {"reason": decision.reason}
    return {}


__all__ = [
    "FlightOutcome",
    "FlightReentry",
    "SessionClosed",
    "SessionEnded",
    "SessionManager",
    "SessionUnavailable",
    "State",
    "Ticket",
]
