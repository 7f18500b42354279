"""Property-based test of the real `SessionManager` against a model of the server (hypothesis, stateful).

`test_engine_properties.py` drives the engine through a copy of the manager's handling of its
decisions; this test drives the manager itself, as the app does: `session.manager.SessionManager`
with a `FakeClock`, `auto_wake=False` (the test ticks it), an in-memory `Timeline` and no store.

The harness, in a few lines:
- The port is `ParkedPort` (tests/session/manager_harness.py): every start_guest, login, refresh,
  reauth and sign_out the manager makes parks as a request on one list; so do the API calls.
- API calls are tasks doing what `api/middleware.py`'s `async_auth_flow` does: `acquire()`, `sent()`,
  then, once the test answers, `accepted()`, `failed()`, or `rejected()` and one replay if told so.
- Each request is delivered (the server processes it then: `ModelServer` from session_model.py
  decides, written from docs/backend.md alone) and answered later, with latency (the fake clock moves,
  the manager is ticked at each moment that matters on the way); or lost, or answered with a 5xx.
- Each rule runs in an event loop the machine owns: the step's work, then every task runs until
  nothing is ready. Tasks parked on the port stay parked between steps: that is the interleaving.
- The rest is what the app reports (input, screens, "Sign out", background/resume, heartbeats,
  prompt answers, a login as the demo user) and what the server's side does (refresh faults,
  revocation, a TTL shorter than the client assumes). A stop from outside (`kill -STOP`/`-CONT`)
  is time passing with no tick, then the resume signal; or, if `SessionManager.tick` can be told
  when a missed wake-up was due (`scheduled_for`), that late wake-up instead.
- What the client holds is learned only from the manager's public face: the port's answers, the
  decisions it announces (`subscribe`), `view()`, the tickets it hands out and its timeline.

Invariants, from docs/rules.md; checked after every step, or at the moment the thing happens:
1. Rule 1: the client's deadline is never later than the server's real deadline for the session it
   holds; when the server's TTL is shorter than assumed, the estimate still starts no later than the
   server's last extension (send time, never the answer's arrival).
2. Rule 8: at most one refresh / re-auth / new guest session is outstanding at the port, and while
   the manager says one is in flight, one is.
3. The manager hands out only usable tokens: no call goes out with a token the client saw rejected,
   revoked itself or never adopted, nor past the client's own deadline, nor with another
   generation's token.
4. Rule 7: a call is sent at most twice (one replay), never in a loop.
5. Rule 6: a signed-in user is not signed out as expired while a refresh the client asked for got
   a 5xx or no answer (or is still out) since the deadline last moved; nor before the deadline.
6. Rules 6 and 7: nobody is signed out for a failed recovery while the server still holds their
   session or their re-auth key would still have worked.
7. No waiter hangs: a call, login or start that is not finished waits for something really on the
   network; and once the network has delivered everything (and time passed), all are finished.
8. Rule 12: the timeline never holds a token, a reauth key or the password.
9. A user who was signed out is signed in again only by logging in; nothing in the manager raises
   (a `SessionProtocolError` from the engine, an error logged or left in a task is a failure).

`SESSIONKEEPER_PROPERTY_EXAMPLES=2000` runs more examples (500 by default, 50 under the "dev"
Hypothesis profile of the fast lane: tests/conftest.py);
`pytest --hypothesis-show-statistics` lists which decisions the runs reached. Below the machine,
the smallest case it found so far, replayed step by step.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import cast

from hypothesis import Phase, currently_in_test_context, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sessionkeeper.session import decisions as d
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.manager import SessionEnded, SessionManager, SessionUnavailable
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.port import BackendUnavailable, IssuedSession, SessionRejected
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.timeline import Timeline, TimelineEntry
from tests.profiles import examples
from tests.session.manager_harness import (
    FLIGHT_KINDS,
    MARK,
    CallRecord,
    ParkedPort,
    Request,
    client_secret,
)
from tests.session.session_model import IssuedAnswer, ModelServer, RefreshAnswer, RefreshFault
from tests.session.strategies import FAILURES, GRACE, LATENCY, PICK, TIME_STEPS, TTL, WARN

EPS = 1e-6  # float slack for "never later than"
USER = "ada"
PASSWORD = "lovelace"
PROFILE = {"username": USER, "name": "Ada Lovelace"}
EXAMPLES = int(os.environ.get("SESSIONKEEPER_PROPERTY_EXAMPLES") or examples(500))
# Whether the manager's tick can be told when a missed wake-up was due (a stop from outside).
TICK_TAKES_DUE_TIME = "scheduled_for" in inspect.signature(SessionManager.tick).parameters

# What the app reports besides calls: input, screens, "Sign out", focus and Ctrl+Z, heartbeats.
APP_EVENTS = ["activity", "activity", "active_flow", "passive", "sign_out"]
APP_EVENTS += ["background", "resume", "heartbeat"]
# The refresh fault (ok / 503 / 401), revocations, and the server's TTL (40 and 60: shorter than assumed).
SERVER_ACTIONS = ["ok", "ok", "error", "reject", "revoke", "revoke_all", "ttl_40", "ttl_60", f"ttl_{TTL:.0f}"]


@dataclass(frozen=True)
class Handed:
    """A token handed to the manager by a port answer, not yet seen adopted."""

    token: str  # the model's name
    kind: str  # "guest" | "user"
    key: str | None
    source: str  # the request kind that brought it


def note_event(text: str) -> None:
    """Counted by `--hypothesis-show-statistics`; a no-op when a test drives the machine by hand."""
    if currently_in_test_context():
        hypothesis_event(text)


class _Problems(logging.Handler):
    """Warnings the manager logs (an unexpected error in a flight) are failures here."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"logged: {record.name}: {record.getMessage()}")


class ManagerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._loop_error)
        self.problems: list[str] = []  # broken invariants seen inside tasks and callbacks
        self.log_handler = _Problems(self.problems)
        logging.getLogger("session").addHandler(self.log_handler)
        self.clock = FakeClock(start=1000.0)
        self.server = ModelServer(ttl_s=TTL, grace_s=GRACE)
        self.port = ParkedPort(self.clock.now, self._on_request)
        self.timeline = Timeline()
        self.timeline.subscribe(self._on_entry)
        self.manager = SessionManager(
            port=self.port,
            clock=self.clock,
            policy=Policy(ttl_s=TTL, warn_s=WARN),
            timeline=self.timeline,
            auto_wake=False,
        )
        self.manager.subscribe(self._on_decision)
        self.calls: list[tuple[CallRecord, asyncio.Task[None]]] = []
        self.others: list[tuple[str, asyncio.Task[None]]] = []  # start and logins
        self._ids = itertools.count(1)
        # What the client holds, as learned from the port's answers and the manager's decisions.
        self.generation = 0
        self.gen_token: dict[int, str] = {}
        self.gen_kind: dict[int, str] = {}
        self.deadline: float | None = None  # the latest DeadlineMoved
        self.client_key: str | None = None  # the reauth key of the latest adopted user session
        self.handed: list[Handed] = []  # in the order the port answered
        # Tokens no call may carry: seen rejected, revoked by the client, or never adopted.
        self.seen_rejected: set[str] = set()
        self.revoked_by_client: set[str] = set()
        self.discarded: set[str] = set()
        self.last_extension: dict[int, float] = {}  # server session -> its latest extension
        # Rule 6: a refresh of the session the client holds got a 5xx or no answer since the
        # deadline last moved (one of a session since replaced, by a login, says nothing of it).
        self.refresh_unanswered = False
        self.user_signed_out = False  # a user was signed out and has not logged in since
        self.can_deliver = self.can_answer = self.prompt_visible = False
        self.can_login = True

    # -- running async work ------------------------------------------------------------------------

    def step(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run one step's work inside the loop, then every task until nothing is ready."""

        async def run() -> None:
            await action()
            await self.settle()

        self.loop.run_until_complete(run())
        self.after_step()

    def act(self, action: Callable[[], object]) -> None:
        """A synchronous call on the manager, made (as the app makes it) inside the running loop."""

        async def run() -> None:
            action()

        self.step(run)

    async def settle(self) -> None:
        # asyncio's queue of callbacks to run next: empty when this task resumes means nothing else
        # is left to run (whatever ran before it in this round would have queued what it woke).
        ready = getattr(self.loop, "_ready", None)
        for rounds in range(1, 20_000):
            await asyncio.sleep(0)
            if (not ready) if ready is not None else rounds >= 50:
                return
        self.problems.append("the event loop never went quiet: something spins")

    def after_step(self) -> None:
        # A flight's answer is taken (or discarded, when the user signed out meanwhile) as soon as
        # it comes; a login's, by the time the login returns. What was not taken by then is
        # discarded and must never go out on a call.
        login_out = self.login_pending()
        for handed in [h for h in self.handed if h.source != "login" or not login_out]:
            self.handed.remove(handed)
            self.discarded.add(handed.token)
            note_event(f"token from {handed.source} not adopted")
        view = self.manager.view()
        if view.generation != self.generation:
            self.problems.append(f"generation {view.generation} appeared with no decision announcing it")
        # What the rules' preconditions ask, worked out once per step (they are asked many times).
        open_requests = self.port.open_requests()
        self.can_deliver = any(not r.delivered for r in open_requests)
        self.can_answer = any(r.delivered for r in open_requests)
        self.prompt_visible = view.prompt_visible
        self.can_login = view.kind is not SessionKind.USER and not login_out

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        self.problems.append(f"event loop: {context.get('message')} {context.get('exception')!r}")

    # -- what the harness watches -----------------------------------------------------------------

    def _on_request(self, request: Request) -> None:
        """A request reaches the network (inside a manager task or a call task)."""
        if request.kind in FLIGHT_KINDS:
            out = self.port.open_requests(*FLIGHT_KINDS)
            if out:  # invariant 2, at the moment it would break
                self.problems.append(f"{request.kind} sent while {out[0].kind} is outstanding (rule 8)")
        if request.kind == "sign_out" and request.credential is not None:
            self.revoked_by_client.add(request.credential)

    def _on_decision(self, decision: d.Decision) -> None:
        label = type(decision).__name__
        note_event(f"{label}({decision.reason.value})" if isinstance(decision, d.SignOut) else label)
        view = self.manager.view()
        generation = view.generation
        if generation != self.generation:
            if generation != self.generation + 1:
                self.problems.append(f"generation jumped from {self.generation} to {generation}")
            kind = view.kind
            # The latest answer of the new session's kind (a login may be answered before a
            # refresh of the guest session it replaces, and taken after it).
            matching = [h for h in self.handed if kind is not None and h.kind == kind.value]
            handed = matching[-1] if matching else None
            if handed is None:
                self.problems.append(f"generation {generation} with no token handed to the manager")
            else:
                self.gen_token[generation] = handed.token
                self.gen_kind[generation] = handed.kind
                if handed.source != "refresh":
                    self.client_key = handed.key
                if handed.source == "login":
                    self.user_signed_out = False
                self.handed.remove(handed)
            self.generation = generation
        if isinstance(decision, d.DeadlineMoved):
            self.deadline = decision.deadline
            self.refresh_unanswered = False
        elif isinstance(decision, d.SignOut):
            self.check_sign_out(decision.reason)

    def check_sign_out(self, reason: d.SignOutReason) -> None:
        """Invariants 5 and 6, as the manager signs someone out."""
        now = self.clock.now()
        kind = self.gen_kind.get(self.generation)
        token = self.gen_token.get(self.generation)
        past_deadline = self.deadline is not None and now >= self.deadline - EPS
        if reason is d.SignOutReason.EXPIRED:
            if kind != "user":
                self.problems.append(f"a {kind} was signed out as expired")
            if not past_deadline:
                self.problems.append(f"signed out as expired at {now}, before the deadline {self.deadline}")
            token_refreshing = any(r.credential == token for r in self.port.open_requests("refresh"))
            if self.refresh_unanswered or token_refreshing:
                self.problems.append("signed out as expired while a refresh got no verdict (rule 6)")
        elif reason is d.SignOutReason.RECOVERY_FAILED:
            if kind != "user":
                self.problems.append(f"a {kind} was signed out for a failed re-auth")
            held = self.server.valid_session(token, now)
            if held is not None and not past_deadline:
                self.problems.append(
                    f"signed out for a failed recovery while the server holds the session ({now})"
                )
            if self.client_key is not None and self.client_key in self.server.reauth_keys:
                self.problems.append("signed out for a failed recovery while the reauth key still works")
        if kind == "user":
            self.user_signed_out = True
        self.deadline = None
        self.client_key = None

    def _on_entry(self, entry: TimelineEntry) -> None:
        """Invariant 8 (rule 12), on every timeline entry as it is recorded."""
        texts = [entry.name, *map(str, entry.detail), *map(str, entry.detail.values())]
        if any(MARK in text or PASSWORD in text for text in texts):
            self.problems.append(f"timeline entry {entry.name} holds a secret")

    def on_send(self, record: CallRecord, token: str, generation: int) -> None:
        """Invariants 3 and 4, as a call goes out."""
        view = self.manager.view()
        record.sends += 1
        if record.sends > 2:
            self.problems.append(f"call {record.cid} sent {record.sends} times (rule 7: never loop)")
        if generation != view.generation or self.gen_token.get(generation) != token:
            self.problems.append(
                f"call {record.cid} sent with generation {generation}'s token, not the current"
            )
        for name, tokens in (
            ("seen rejected", self.seen_rejected),
            ("revoked by the client", self.revoked_by_client),
            ("never adopted", self.discarded),
        ):
            if token in tokens:
                self.problems.append(f"call {record.cid} sent with a token {name}")
        if view.deadline is None or self.clock.now() >= view.deadline:
            self.problems.append(f"call {record.cid} sent with no deadline ahead ({view.deadline})")

    # -- the server's side ------------------------------------------------------------------------

    def extended(self, token: str | None, now: float) -> None:
        session = self.server.session_of(token)
        assert session is not None
        self.last_extension[session.sid] = now

    def process(self, request: Request) -> None:
        """The server processes a request at the current time; its verdict waits for the answer."""
        now = self.clock.now()
        request.delivered = True
        server = self.server
        if request.kind == "call":
            assert request.credential is not None
            accepted = server.call(request.credential, now)
            if accepted:
                self.extended(request.credential, now)
            request.verdict = accepted
        elif request.kind == "refresh":
            assert request.credential is not None
            answer = server.refresh(request.credential, now)
            if answer.token is not None:
                self.extended(answer.token, now)
            request.verdict = answer
        elif request.kind == "reauth":
            issued = server.reauth(request.credential, now)
            if issued is not None:
                self.extended(issued.token, now)
            request.verdict = issued
        elif request.kind == "guest":
            issued = server.new_guest(now)
            self.extended(issued.token, now)
            request.verdict = issued
        elif request.kind == "login":
            if request.password == PASSWORD:
                issued = server.login(USER, now, request.credential)
                self.extended(issued.token, now)
                request.verdict = issued
            else:
                request.verdict = None  # 401 invalid_credentials; the server changes nothing
        else:
            assert request.credential is not None
            request.verdict = server.sign_out(request.credential, now)

    def respond(self, request: Request) -> None:
        """The client hears the server's verdict on a delivered request."""
        verdict = request.verdict
        if request.kind == "call":
            if not verdict:
                assert request.credential is not None
                self.seen_rejected.add(request.credential)
            self.port.answer(request, "accepted" if verdict else "rejected")
        elif request.kind == "refresh":
            assert isinstance(verdict, RefreshAnswer) and request.credential is not None
            if verdict.status == "ok":
                assert verdict.token is not None
                self.hand(verdict.token, None, "refresh")
                self.port.answer(request, client_secret(verdict.token))
            elif verdict.status == "error":
                self.refresh_unanswered |= self.holds(request.credential)
                self.port.answer(request, BackendUnavailable("503 refresh_unavailable", transport=False))
            else:
                self.seen_rejected.add(request.credential)
                self.port.answer(request, SessionRejected("session_expired"))
        elif request.kind == "sign_out":
            self.port.answer(request, None if verdict else SessionRejected("session_expired"))
        elif isinstance(verdict, IssuedAnswer):
            self.hand(verdict.token, verdict.reauth_key, request.kind)
            self.port.answer(request, self.issued(verdict))
        else:
            self.port.answer(request, SessionRejected(f"{request.kind}_rejected"))

    def fail(self, request: Request, *, transport: bool) -> None:
        if request.kind == "refresh":
            self.refresh_unanswered |= self.holds(request.credential)
        self.port.fail(request, transport=transport)

    def holds(self, token: str | None) -> bool:
        """Whether `token` is the one the client holds now."""
        return token is not None and token == self.gen_token.get(self.generation)

    def hand(self, token: str, key: str | None, source: str) -> None:
        session = self.server.session_of(token)
        assert session is not None
        self.handed.append(Handed(token, session.kind, key, source))

    def issued(self, answer: IssuedAnswer) -> IssuedSession:
        session = self.server.session_of(answer.token)
        assert session is not None
        if session.kind == "guest":
            return IssuedSession(client_secret(answer.token), SessionKind.GUEST)
        assert answer.reauth_key is not None
        return IssuedSession(
            client_secret(answer.token), SessionKind.USER, client_secret(answer.reauth_key), dict(PROFILE)
        )

    # -- the client's side: calls, logins, time ------------------------------------------------------

    async def api_call(self, record: CallRecord) -> None:
        """What `SessionAuth.async_auth_flow` does for one call."""
        manager = self.manager
        label = f"GET /api/call/{record.cid}"
        attempt = 1
        try:
            while True:
                ticket = await manager.acquire()
                manager.sent(ticket, label)
                token = ticket.token.reveal().removeprefix(f"{MARK}-")
                self.on_send(record, token, ticket.generation)
                outcome = await self.port.call(ticket.token, ticket.generation, attempt, record)
                if outcome == "accepted":
                    manager.accepted(ticket, label)
                elif outcome == "rejected":
                    if await manager.rejected(ticket, attempt, label):
                        attempt += 1
                        continue
                    record.outcome = "given_up"
                    return
                else:
                    transport = outcome == "transport"
                    manager.failed(
                        ticket, transport=transport, label=label, status=None if transport else 503
                    )
                record.outcome = outcome
                return
        except (SessionEnded, SessionUnavailable) as exc:
            record.outcome = type(exc).__name__
        except Exception as exc:
            self.problems.append(f"call {record.cid} raised {exc!r}")
            record.outcome = "error"

    async def login_task(self, password: str) -> None:
        try:
            await self.manager.login(USER, Secret(password))
        except (SessionRejected, BackendUnavailable):
            pass
        except Exception as exc:
            self.problems.append(f"login raised {exc!r}")

    async def start_task(self) -> None:
        try:
            await self.manager.start()
        except Exception as exc:
            self.problems.append(f"start raised {exc!r}")

    def spawn_other(self, name: str, coro: Coroutine[object, object, None]) -> None:
        self.others.append((name, self.loop.create_task(coro)))

    def next_moment(self) -> float | None:
        """The next moment a wake-up matters, read from the manager's view (as its timer would)."""
        view = self.manager.view()
        now = self.clock.now()
        if view.deadline is None or view.paused or view.flight is not None:
            return None
        moments = [view.deadline - view.warn_s, view.deadline]
        if view.retry_at is not None:
            moments.append(view.retry_at)
        later = [m for m in moments if m > now]
        return min(later) if later else None

    def advance_to(self, when: float) -> None:
        self.clock.advance(max(0.0, when - self.clock.now()))
        if self.clock.now() < when:  # float rounding: never stop just short of the moment
            self.clock.advance(1e-9)

    async def pass_time(self, dt: float, *, wake_ups: bool) -> None:
        """Time passes. With `wake_ups`, the process runs: it is ticked at each moment that
        matters on the way, and its heartbeat beats. Without, the clock jumped (QA skip ahead)."""
        target = self.clock.now() + dt
        if wake_ups:
            for _ in range(50):
                when = self.next_moment()
                if when is None or when > target:
                    break
                self.advance_to(when)
                self.manager.heartbeat()
                self.manager.tick()
                await self.settle()
        self.advance_to(target)
        if wake_ups:
            self.manager.heartbeat()

    def login_pending(self) -> bool:
        return any(name == "login" and not task.done() for name, task in self.others)

    # -- the start ----------------------------------------------------------------------------------

    @initialize(start=st.sampled_from(["guest", "guest_pending", "user", "nothing"]))
    def begin(self, start: str) -> None:
        """Most runs begin as the app does: `start()` (a guest session at once), maybe a login."""
        if start == "nothing":
            return
        self.step(self._begin_guest)
        if start == "guest_pending":
            return
        self.deliver_all_now()
        if start == "user":
            self.step(self._begin_login)
            self.deliver_all_now()

    async def _begin_guest(self) -> None:
        self.spawn_other("start", self.start_task())

    async def _begin_login(self) -> None:
        self.spawn_other("login", self.login_task(PASSWORD))

    def deliver_all_now(self) -> None:
        for request in self.port.open_requests():
            if request.open:
                self.round_trip_step(request)

    def round_trip_step(self, request: Request) -> None:
        """The server processes a request and the client hears back, with no time passing."""

        def run() -> None:
            if not request.delivered:
                self.process(request)
            self.respond(request)

        self.act(run)

    # -- calls ----------------------------------------------------------------------------------------

    @rule(burst=st.sampled_from([1, 1, 1, 4]))
    def start_call(self, burst: int) -> None:
        """One call, or a burst of concurrent ones."""

        async def start() -> None:
            for _ in range(burst):
                record = CallRecord(next(self._ids))
                self.calls.append((record, self.loop.create_task(self.api_call(record))))

        self.step(start)

    # -- the network --------------------------------------------------------------------------------

    def undelivered(self) -> list[Request]:
        return [r for r in self.port.open_requests() if not r.delivered]

    def delivered(self) -> list[Request]:
        return [r for r in self.port.open_requests() if r.delivered]

    @precondition(lambda self: self.can_deliver)
    @rule(pick=PICK, failure=FAILURES, latency=LATENCY)
    def deliver(self, pick: int, failure: str | None, latency: float) -> None:
        """After `latency`, the server processes a request; or it never gets there (transport, 5xx)."""
        pending = self.undelivered()
        request = pending[pick % len(pending)]

        async def run() -> None:
            await self.pass_time(latency, wake_ups=True)
            if not request.open:
                return
            if failure is None:
                self.process(request)
            else:
                self.fail(request, transport=failure == "transport")

        self.step(run)

    @precondition(lambda self: self.can_answer)
    @rule(pick=PICK, failure=FAILURES, latency=LATENCY)
    def answer(self, pick: int, failure: str | None, latency: float) -> None:
        """After `latency`, the client hears the server's answer; or the answer is lost (transport)
        or replaced by a 5xx from a proxy, after the server did process the request."""
        delivered = self.delivered()
        request = delivered[pick % len(delivered)]

        async def run() -> None:
            await self.pass_time(latency, wake_ups=True)
            if not request.open:
                return
            if failure is None:
                self.respond(request)
            else:
                self.fail(request, transport=failure == "transport")

        self.step(run)

    @precondition(lambda self: self.can_deliver or self.can_answer)
    @rule(pick=PICK)
    def round_trip(self, pick: int) -> None:
        """A request and its answer go through with no time passing."""
        pending = self.port.open_requests()
        self.round_trip_step(pending[pick % len(pending)])

    @rule()
    def network_settles(self) -> None:
        """Invariant 7: the network delivers everything and time passes; then no one still waits."""
        self.drain()

    def drain(self) -> None:
        time_passed = False
        for _ in range(400):
            pending = self.port.open_requests()
            if pending:
                self.round_trip_step(pending[0])
            elif not time_passed:
                self.step(self._a_second_passes)
                time_passed = True
            else:
                break
        else:
            raise AssertionError("the network never went quiet: requests keep coming (a loop)")
        for record, task in self.calls:
            assert task.done(), f"call {record.cid} still waits after the network delivered everything"
        for name, task in self.others:
            assert task.done(), f"{name} still waits after the network delivered everything"

    async def _a_second_passes(self) -> None:
        await self.pass_time(1.0, wake_ups=True)
        self.manager.tick()

    # -- time and the user -----------------------------------------------------------------------------

    @rule(dt=TIME_STEPS, wake_ups=st.booleans())
    def advance(self, dt: float, wake_ups: bool) -> None:
        """Time passes, ticked on the way; or the clock jumps and one tick follows."""

        async def run() -> None:
            await self.pass_time(dt, wake_ups=wake_ups)
            self.manager.tick()

        self.step(run)

    @rule(dt=st.sampled_from([3.0, 15.0, 50.0, 90.0, 150.0, 400.0]), late_tick=st.booleans())
    def stopped_from_outside(self, dt: float, late_tick: bool) -> None:
        """`kill -STOP`, then `kill -CONT` `dt` later: no suspend came first. The app hears of it by
        the resume signal, or by a wake-up that fires long after it was due."""
        due = self.next_moment()

        async def run() -> None:
            self.clock.advance(dt)
            if late_tick and TICK_TAKES_DUE_TIME and due is not None:
                tick: Callable[..., None] = self.manager.tick
                tick(scheduled_for=due)
            else:
                # The manager's tick cannot be told a due time: the resume signal it is.
                self.manager.resume()

        self.step(run)

    @rule(action=st.sampled_from(APP_EVENTS))
    def app_event(self, action: str) -> None:
        """What the app reports: a key or mouse action, a move to a booking step or a passive
        screen, "Sign out", focus lost or Ctrl+Z (background), back in the foreground, a heartbeat."""
        manager = self.manager
        events: dict[str, Callable[[], None]] = {
            "activity": manager.user_activity,
            "active_flow": lambda: manager.set_active_flow(True),
            "passive": lambda: manager.set_active_flow(False),
            "sign_out": manager.sign_out,
            "background": manager.background,
            "resume": manager.resume,
            "heartbeat": manager.heartbeat,
        }
        self.act(events[action])

    @precondition(lambda self: self.prompt_visible)
    @rule(stay=st.booleans())
    def answer_prompt(self, stay: bool) -> None:
        self.act(lambda: self.manager.answer_prompt(stay))

    @precondition(lambda self: self.can_login)
    @rule(right=st.sampled_from([True, True, True, False]))
    def login(self, right: bool) -> None:
        """The demo user signs in (the wrong password now and then)."""
        password = PASSWORD if right else "not-" + PASSWORD

        async def run() -> None:
            self.spawn_other("login", self.login_task(password))

        self.step(run)

    # -- the server's side -------------------------------------------------------------------------

    @rule(action=st.sampled_from(SERVER_ACTIONS))
    def server_side(self, action: str) -> None:
        """Set the refresh fault (ok / 503 / 401); revoke the client's session, or all of them; or
        change the server's TTL (shorter than the client assumes, or back), from the next extension."""
        if action == "revoke_all":
            self.server.revoke_all()
        elif action == "revoke":
            session = self.server.session_of(self.gen_token.get(self.generation))
            if session is not None:
                self.server.revoke(session.sid)
        elif action.startswith("ttl_"):
            self.server.ttl_s = float(action.removeprefix("ttl_"))
        else:
            self.server.refresh_fault = cast(RefreshFault, action)

    # -- invariants ----------------------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        """All of them, after every step (one hypothesis invariant: each costs a little per step)."""
        self.nothing_went_wrong_inside()
        self.deadline_never_later_than_the_servers()
        self.single_flight()
        self.no_waiter_without_something_to_wait_for()
        self.signed_out_user_stays_out_until_login()

    def nothing_went_wrong_inside(self) -> None:
        """Invariants checked at the moment (in tasks, listeners, the port): none broke."""
        assert not self.problems, "; ".join(self.problems)

    def deadline_never_later_than_the_servers(self) -> None:
        """1. Rule 1."""
        view = self.manager.view()
        if view.kind is None or view.deadline is None or not view.remaining_s:
            return  # no session, or one the client already counts as dead or lapsed
        now = self.clock.now()
        session = self.server.session_of(self.gen_token.get(view.generation))
        if session is None or not session.alive(now):
            return  # revoked or expired server-side: the client cannot know yet
        extended = self.last_extension[session.sid]
        assert view.deadline - view.ttl_s <= extended + EPS, (
            f"the client's deadline {view.deadline} counts from {view.deadline - view.ttl_s}, "
            f"after the server's last extension at {extended}"
        )
        if session.deadline - extended >= view.ttl_s - EPS:
            assert view.deadline <= session.deadline + EPS, (
                f"client deadline {view.deadline} is later than the server's {session.deadline} at {now}"
            )

    def single_flight(self) -> None:
        """2. Rule 8."""
        out = self.port.open_requests(*FLIGHT_KINDS)
        assert len(out) <= 1, f"{[r.kind for r in out]} outstanding at once"
        flight = self.manager.view().flight
        if flight is not None:
            assert out, f"the manager is in a {flight.value} that is not on the network"

    def no_waiter_without_something_to_wait_for(self) -> None:
        """7. A call, a login or the start that is not finished waits for a request on the network."""
        open_requests = self.port.open_requests()
        flights = any(r.kind in FLIGHT_KINDS for r in open_requests)
        waiting_calls = {id(r.call) for r in open_requests if r.call is not None}
        for record, task in self.calls:
            if not task.done():
                assert flights or id(record) in waiting_calls, f"call {record.cid} waits for nothing"
        logins = any(r.kind == "login" for r in open_requests)
        for name, task in self.others:
            if not task.done():
                assert flights or (name == "login" and logins), f"{name} waits for nothing"

    def signed_out_user_stays_out_until_login(self) -> None:
        """9. A user who was signed out is signed in again only by logging in."""
        if self.user_signed_out:
            assert not self.manager.signed_in, "a user who was signed out is signed in without a login"

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None and not self.problems:
                self.drain()  # invariant 7, at the end of every run that has not failed already
                self.nothing_went_wrong_inside()
        finally:
            try:
                self.loop.run_until_complete(self._close())
            finally:
                self.loop.close()
                logging.getLogger("session").removeHandler(self.log_handler)

    async def _close(self) -> None:
        await self.manager.close()
        tasks = [task for _, task in self.calls] + [task for _, task in self.others]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# No explain phase: on a failure it replays hundreds of variants (a minute here) to name lines.
ManagerMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=60,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
)
TestSessionManagerProperties = ManagerMachine.TestCase


def test_a_login_answered_after_a_guest_signed_out_mid_flight_breaks_nothing() -> None:
    """The smallest case the machine found (HEAD 6c393ab), replayed step by step.

    A guest's login is out; a refresh starts (a stop from outside, then the resume); the guest
    signs out (the refresh is abandoned); a call asks for a new guest session (chained behind the
    abandoned refresh). The login is answered first: its session wins and the chained flight is
    voided too. When the engine kept one abandoned flight only, the refresh's answer raised
    SessionProtocolError in the caller, and a stale `abandoned` then swallowed the outcome of a
    later re-auth: the manager stayed "re-authenticating" with nothing on the network, and every
    call failed with SessionUnavailable. Both answers are now void, in the order they went out.
    """
    machine = ManagerMachine()
    try:
        machine.begin(start="guest")
        machine.login(right=True)
        machine.stopped_from_outside(dt=3.0, late_tick=False)
        machine.app_event(action="sign_out")
        machine.start_call(burst=1)
        machine.network_settles()
        machine.invariants_hold()
        machine.server_side(action="revoke")
        machine.start_call(burst=1)
        machine.network_settles()
        machine.invariants_hold()
    finally:
        machine.teardown()
