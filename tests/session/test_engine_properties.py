"""Property-based test of the session engine against a model of the server (hypothesis, stateful).

A `RuleBasedStateMachine` plays random interleavings of: calls (REST or GraphQL, it makes no
difference to the engine), their delivery to the server and their answers, random latency (time
passes between sending, delivery and answer), time passing with or without the manager's wake-ups,
user activity, screen changes, background and resume, the near-expiry prompt, login and sign-out,
refresh faults (ok / 503 / 401), transport failures and server-side revocation. The server is
`ModelServer` (tests/session/session_model.py), written from docs/backend.md alone.

Client and server share one simulated time `t`. Every request is a message: created and sent at
`t` (the engine decided it), delivered later (the server processes it at that `t`), answered later
still (the engine hears of it at that `t`), or lost in transport on the way. The harness carries
out decisions as `session/manager.py` does: a call asks for a token in a few rounds and waits for a
flight's end; flights go out one at a time (one chained behind a flight abandoned at sign-out);
replays ask again after the flight; the outcome of an abandoned flight is discarded and revoked.

Checked after every step, or at the moment the thing happens:
1. the client's deadline is never later than the server's for the session it holds;
2. at most one refresh / re-auth / new guest session is in flight, and the engine agrees;
3. no call is sent with a token the client already knows is dead;
4. a rejected call is replayed at most once, and never sent after a GiveUp;
5. a signed-in user is not signed out while the server still holds a valid session for them,
   unless the deadline passed without a successful refresh;
6. (beyond the issue's list) a user who was signed out is signed in again only by logging in;
7. the status agrees with the session it holds, as the engine's table takes for granted.
An engine that raises `SessionProtocolError` for an event the caller had every right to send also
fails the test: the harness only sends what the manager would.

`pytest --hypothesis-show-statistics` lists which decisions the runs reached.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import cast

from hypothesis import event as note_event
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sessionkeeper.session import decisions as d
from sessionkeeper.session import events as e
from sessionkeeper.session.engine import SessionEngine, SessionFlight, Status
from sessionkeeper.session.events import SessionKind, Source
from sessionkeeper.session.policy import Policy
from tests.profiles import examples
from tests.session.session_model import IssuedAnswer, ModelServer, RefreshAnswer, RefreshFault
from tests.session.strategies import FAILURES, GRACE, LATENCY, PICK, TIME_STEPS, TTL, WARN

EPS = 1e-9  # float slack for "never later than"
USER = "ada"
ACQUIRE_ROUNDS = 4  # as session/manager.py: a flight, a chained one, then the call


@dataclass(eq=False)
class Call:
    """One API call as the caller sees it, across its first sending and its one replay."""

    cid: int
    sends: int = 0
    given_up: bool = False
    done: bool = False
    rounds_left: int = 0  # of the current acquire (the manager's _ACQUIRE_ROUNDS)
    replay: bool = False  # told to replay; waits for the flight to end first


@dataclass(eq=False)
class CallMessage:
    call: Call
    generation: int
    token: str
    sent_at: float
    attempt: int
    delivered: bool = False
    accepted: bool = False


@dataclass(eq=False)
class FlightMessage:
    flight: SessionFlight
    sent_at: float
    token: str | None = None  # the token a refresh presents
    reauth_key: str | None = None  # the key a re-auth presents
    delivered: bool = False
    refresh_answer: RefreshAnswer | None = None
    issued: IssuedAnswer | None = None  # a new guest session, or a successful re-auth
    abandoned: bool = False  # the user signed out while it was out: its outcome is void


Message = CallMessage | FlightMessage


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0
        self.engine = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN), now=self.t)
        self.server = ModelServer(ttl_s=TTL, grace_s=GRACE)
        self.tokens: dict[int, str] = {}  # generation -> the token the client got with it
        self.reauth_key: str | None = None
        self.network: list[Message] = []
        self.queued: SessionFlight | None = None  # a flight started while an abandoned one is still out
        self.waiting: list[Call] = []  # calls that will ask the engine (again) for a token
        self.calls: list[Call] = []
        self.dead_generations: set[int] = set()  # generations the client has seen rejected
        self.user_signed_out = False  # a user was signed out and has not logged in since
        # A refresh got no verdict (5xx or transport) since the deadline last moved: rule 6 says
        # the server's answer is unknown then, and nobody may be signed out as expired for it.
        self.refresh_unanswered = False
        self._ids = itertools.count(1)

    # -- the harness: feeding the engine and carrying out its decisions ------------------------

    def client_token(self) -> str | None:
        if self.engine.kind is None:
            return None
        return self.tokens.get(self.engine.generation)

    def feed(self, event: e.Event, new_token: str | None = None) -> list[d.Decision]:
        """Hand one event to the engine at `t`; start flights and sign out as it decides."""
        generation, deadline = self.engine.generation, self.engine.deadline
        kind, token = self.engine.kind, self.client_token()
        out = self.engine.handle(event, self.t)
        if self.engine.deadline != deadline or self.engine.generation != generation:
            self.refresh_unanswered = False
        if isinstance(event, e.RefreshFailed) and not event.rejected:
            self.refresh_unanswered = True
        if self.engine.generation != generation:
            assert self.engine.generation == generation + 1, "generation jumped"
            assert new_token is not None, f"{event!r} bumped the generation without a new token"
            self.tokens[self.engine.generation] = new_token
        for decision in out:
            # Shown by `pytest --hypothesis-show-statistics`: which decisions the runs reached.
            label = type(decision).__name__
            note_event(f"{label}({decision.reason.value})" if isinstance(decision, d.SignOut) else label)
            if isinstance(decision, d.StartRefresh):
                self.start_flight(SessionFlight.REFRESH)
            elif isinstance(decision, d.StartReauth):
                self.start_flight(SessionFlight.REAUTH)
            elif isinstance(decision, d.StartGuestSession):
                self.start_flight(SessionFlight.NEW_GUEST)
            elif isinstance(decision, d.SignOut):
                self.signed_out(decision.reason, kind, token, deadline)
        return out

    def in_the_air(self) -> FlightMessage | None:
        flights = [m for m in self.network if isinstance(m, FlightMessage)]
        assert len(flights) <= 1, f"{len(flights)} flights in the air"
        return flights[0] if flights else None

    def start_flight(self, flight: SessionFlight) -> None:
        """As the manager's single flight task: send it now, or, behind the outcome of a flight
        abandoned at sign-out, once that outcome is in (the manager chains it)."""
        out = self.in_the_air()
        # Invariant 2, at the moment it would break.
        assert out is None or out.abandoned, f"{flight.value} started while {out.flight.value} is in flight"
        assert self.queued is None, f"{flight.value} started while {self.queued.value} waits to go out"
        if out is not None:
            self.queued = flight
            return
        message = FlightMessage(flight, sent_at=self.t)
        if flight is SessionFlight.REFRESH:
            message.token = self.client_token()
            assert message.token is not None, "a refresh with no token to present"
        elif flight is SessionFlight.REAUTH:
            message.reauth_key = self.reauth_key
        self.network.append(message)

    def signed_out(
        self, reason: d.SignOutReason, kind: SessionKind | None, token: str | None, deadline: float | None
    ) -> None:
        """Invariant 5, checked as the engine signs out; then what the manager does after it."""
        past_deadline = deadline is not None and self.t >= deadline
        if reason is d.SignOutReason.EXPIRED:
            # Rule 5: idle past the prompt (or on a passive screen), so no refresh was asked for.
            assert kind is SessionKind.USER, f"a {kind} was signed out as expired"
            assert past_deadline, f"signed out as expired at t={self.t}, before the deadline {deadline}"
            # Rule 6: a refresh that got a 5xx or no answer is no verdict; only an idle user (no
            # refresh asked for, or none failing) is signed out at the deadline.
            assert not self.refresh_unanswered, "signed out as expired after a refresh got no verdict"
        elif reason is d.SignOutReason.RECOVERY_FAILED:
            assert kind is SessionKind.USER, f"a {kind} was signed out for a failed re-auth"
            held = self.server.valid_session(token, self.t)
            assert held is None or past_deadline, (
                f"signed out at t={self.t} (deadline {deadline}) while the server holds the session "
                f"until {held.deadline if held else None}"
            )
            # Nor while a silent re-auth would still have worked (rule 7: recover once first).
            assert self.reauth_key not in self.server.reauth_keys, (
                "signed out for a failed recovery while the reauth key is still good"
            )
        if kind is SessionKind.USER:
            self.user_signed_out = True
        out = self.in_the_air()
        if out is not None and not out.abandoned:
            out.abandoned = True  # whatever it brings belongs to nobody now
        assert self.queued is None, "signed out while a flight waits to go out (not modelled)"
        # The manager forgets the token and key, and revokes the token (best effort, not after a
        # rejected re-auth); modelled as instantaneous.
        if token is not None and reason is not d.SignOutReason.RECOVERY_FAILED:
            self.server.sign_out(token, self.t)
        self.reauth_key = None

    def acquire(self, call: Call) -> None:
        """The middleware wants a token for this call (as `SessionManager.acquire`): a few rounds of
        asking the engine; Proceed sends it, SignOut ends it, a flight makes it wait."""
        call.rounds_left = ACQUIRE_ROUNDS
        self.try_acquire(call)

    def try_acquire(self, call: Call) -> None:
        while call.rounds_left > 0:
            call.rounds_left -= 1
            out = self.feed(e.CallStarting())
            for decision in out:
                if isinstance(decision, d.Proceed):
                    self.send(call, decision.generation)
                    return
                if isinstance(decision, d.SignOut):
                    self.finish(call)  # SessionEnded: the call cannot go out in the user's name
                    return
            if self.in_the_air() is not None:
                self.waiting.append(call)  # asks again once the flight is over
                return
        self.finish(call)  # SessionUnavailable: no usable session after the rounds

    def flight_over(self, ok: bool) -> None:
        """A flight's outcome is in. The manager's task goes on with a chained flight if there is
        one (a rejected refresh -> re-auth, or one queued behind an abandoned flight); when it is
        done, its waiters wake up, in order, and share its outcome."""
        if self.queued is not None:
            flight, self.queued = self.queued, None
            self.start_flight(flight)
        if self.in_the_air() is not None:
            return
        waiters, self.waiting = self.waiting, []
        for call in waiters:
            if not ok and not self.engine.token_usable(self.t):
                self.finish(call)  # SessionUnavailable / SessionEnded, as the manager raises
            elif call.replay:
                call.replay = False
                self.acquire(call)  # the replay: a fresh acquire
            else:
                self.try_acquire(call)

    def send(self, call: Call, generation: int) -> None:
        eng = self.engine
        # Invariant 3: the token is the current one and not known to be dead.
        assert generation == eng.generation, f"Proceed({generation}) while the generation is {eng.generation}"
        assert generation not in self.dead_generations, f"sent with generation {generation}, seen rejected"
        assert eng.status is Status.LIVE, f"sent with a token the engine holds as {eng.status.value}"
        assert eng.kind is not None and eng.deadline is not None and self.t < eng.deadline, (
            f"sent at t={self.t}, not before the deadline {eng.deadline}"
        )
        token = self.tokens.get(generation)
        assert token is not None, f"Proceed({generation}) names a generation never issued"
        # Invariant 4, at the moment it would break.
        assert not call.given_up, f"call {call.cid} sent after GiveUp"
        assert call.sends < 2, f"call {call.cid} sent a third time"
        call.sends += 1
        self.network.append(CallMessage(call, generation, token, self.t, attempt=call.sends))

    def finish(self, call: Call) -> None:
        call.done = True
        if call in self.waiting:
            self.waiting.remove(call)

    def adopt_issued(self, message: FlightMessage) -> None:
        assert message.issued is not None
        if message.flight is SessionFlight.REAUTH:
            assert not self.user_signed_out, (
                "a re-auth started before the user was signed out signed them back in"
            )
            self.reauth_key = message.issued.reauth_key
            event = e.SessionIssued(SessionKind.USER, Source.REAUTH, message.sent_at)
        else:
            self.reauth_key = None
            event = e.SessionIssued(SessionKind.GUEST, Source.GUEST, message.sent_at)
        self.feed(event, new_token=message.issued.token)

    # -- the start ----------------------------------------------------------------------------------

    @initialize(start=st.sampled_from(["guest", "user", "nothing"]))
    def begin(self, start: str) -> None:
        """Most runs begin with a session, as the app does (a guest at start-up, or a login)."""
        if start == "user":
            self.login()
        elif start == "guest":
            self.feed(e.CallStarting())  # what the manager's start() does without a stored session
            (message,) = self.network
            self.process(message)
            self.respond(message)

    # -- calls ------------------------------------------------------------------------------------

    @rule(burst=st.sampled_from([1, 1, 1, 4]))
    def start_call(self, burst: int) -> None:
        """One call, or a burst of concurrent ones (they ask for a token one after the other)."""
        for _ in range(burst):
            call = Call(next(self._ids))
            self.calls.append(call)
            self.acquire(call)

    # -- the network ------------------------------------------------------------------------------

    @precondition(lambda self: any(not m.delivered for m in self.network))
    @rule(pick=PICK, failure=FAILURES, latency=LATENCY)
    def deliver(self, pick: int, failure: str | None, latency: float) -> None:
        """After `latency`, the server processes a request; or it never gets there (transport, 5xx)."""
        pending = [m for m in self.network if not m.delivered]
        message = pending[pick % len(pending)]
        self.pass_time(latency, wake_ups=True)
        if failure is None:
            self.process(message)
        else:
            self.fail(message, transport=failure == "transport")

    @precondition(lambda self: any(m.delivered for m in self.network))
    @rule(pick=PICK, failure=FAILURES, latency=LATENCY)
    def answer(self, pick: int, failure: str | None, latency: float) -> None:
        """After `latency`, the client receives the server's answer; or the answer is lost
        (transport) or replaced by a 5xx from a proxy, after the server did process the request."""
        delivered = [m for m in self.network if m.delivered]
        message = delivered[pick % len(delivered)]
        self.pass_time(latency, wake_ups=True)
        if failure is None:
            self.respond(message)
        else:
            self.fail(message, transport=failure == "transport")

    @precondition(lambda self: bool(self.network))
    @rule(pick=PICK)
    def round_trip(self, pick: int) -> None:
        """A request (or its answer) goes through with no time passing."""
        message = self.network[pick % len(self.network)]
        if not message.delivered:
            self.process(message)
        self.respond(message)

    def process(self, message: Message) -> None:
        """The server's side of a request, at the current `t`."""
        message.delivered = True
        if isinstance(message, CallMessage):
            message.accepted = self.server.call(message.token, self.t)
        elif message.flight is SessionFlight.REFRESH:
            assert message.token is not None
            message.refresh_answer = self.server.refresh(message.token, self.t)
        elif message.flight is SessionFlight.REAUTH:
            message.issued = self.server.reauth(message.reauth_key, self.t)
        else:
            message.issued = self.server.new_guest(self.t)

    def respond(self, message: Message) -> None:
        """The client's side of the server's answer, at the current `t`."""
        self.network.remove(message)
        if isinstance(message, CallMessage):
            self.answer_call(message)
        elif message.abandoned:
            self.void(message)
        elif message.flight is SessionFlight.REFRESH:
            answer = message.refresh_answer
            assert answer is not None
            if answer.status == "ok":
                self.feed(e.RefreshSucceeded(message.sent_at), new_token=answer.token)
            elif answer.status == "error":
                self.feed(e.RefreshFailed(rejected=False, transport=False))
            else:
                self.dead_generations.add(self.engine.generation)
                self.feed(e.RefreshFailed(rejected=True))
            self.flight_over(ok=answer.status == "ok")
        elif message.issued is None:  # a re-auth answered 401
            self.feed(e.RecoveryFailed(rejected=True))
            self.flight_over(ok=False)
        else:
            self.adopt_issued(message)
            self.flight_over(ok=True)

    def void(self, message: FlightMessage) -> None:
        """The outcome of a flight abandoned at sign-out: handed to the engine as the manager
        does; it must sign nobody (back) in, and what it brought is revoked."""
        generation, kind = self.engine.generation, self.engine.kind
        if message.flight is SessionFlight.REFRESH:
            assert message.refresh_answer is not None
            token = message.refresh_answer.token
            if token is None:
                self.feed(e.RefreshFailed(rejected=message.refresh_answer.status == "rejected"))
            else:
                self.feed(e.RefreshSucceeded(self.t), new_token=token)
        else:
            token = message.issued.token if message.issued else None
            if token is None:
                self.feed(e.RecoveryFailed(rejected=True))
            elif message.flight is SessionFlight.REAUTH:
                self.feed(e.SessionIssued(SessionKind.USER, Source.REAUTH, self.t), new_token=token)
            else:
                self.feed(e.SessionIssued(SessionKind.GUEST, Source.GUEST, self.t), new_token=token)
        # Invariant 6: a user who signed out is signed in again only by logging in.
        assert (self.engine.generation, self.engine.kind) == (generation, kind), (
            f"the outcome of a {message.flight.value} abandoned at sign-out was adopted"
        )
        if token is not None:
            self.server.sign_out(token, self.t)
        self.flight_over(ok=False)

    def answer_call(self, message: CallMessage) -> None:
        call = message.call
        if message.accepted:
            self.feed(e.ResponseAccepted(message.sent_at, message.generation))
            self.finish(call)
            return
        self.dead_generations.add(message.generation)
        out = self.feed(e.ResponseRejected(message.sent_at, message.generation, message.attempt))
        replay = any(isinstance(x, d.Replay) for x in out)
        give_up = any(isinstance(x, d.GiveUp) for x in out)
        assert replay != give_up, f"a rejection must be answered by Replay or GiveUp, got {out!r}"
        if give_up:
            call.given_up = True
            self.finish(call)
        elif self.in_the_air() is not None:
            call.replay = True
            self.waiting.append(call)  # the replay asks for a token once the flight is over
        else:
            self.acquire(call)

    def fail(self, message: Message, *, transport: bool) -> None:
        """No verdict on the token reaches the client: a transport failure, or a 5xx."""
        self.network.remove(message)
        if isinstance(message, CallMessage):
            self.feed(e.ResponseFailed(message.sent_at, message.generation, transport))
            self.finish(message.call)
        elif message.flight is SessionFlight.REFRESH:
            self.feed(e.RefreshFailed(rejected=False, transport=transport))
            self.flight_over(ok=False)
        else:
            self.feed(e.RecoveryFailed(rejected=False, transport=transport))
            self.flight_over(ok=False)

    # -- time and the user ------------------------------------------------------------------------

    @rule(dt=TIME_STEPS, wake_ups=st.booleans())
    def advance(self, dt: float, wake_ups: bool) -> None:
        """Time passes. With `wake_ups` the manager's timer ticks at each moment that matters on
        the way; without, the clock jumped (QA skip ahead, machine asleep) and one tick follows."""
        self.pass_time(dt, wake_ups=wake_ups)
        self.feed(e.Tick())

    def pass_time(self, dt: float, *, wake_ups: bool) -> None:
        target = self.t + dt
        if wake_ups:
            for _ in range(50):
                when = self.engine.next_wakeup()
                if when is None or when > target:
                    break
                self.t = max(self.t, when)
                self.feed(e.Tick())
        self.t = target

    @rule(action=st.sampled_from(["activity", "activity", "active_flow", "passive", "sign_out"]))
    def user_input(self, action: str) -> None:
        """A key or mouse action, a move to a booking step or a passive screen, or "Sign out"."""
        if action == "activity":
            self.feed(e.UserActivity())
        elif action == "sign_out":
            self.feed(e.SignOutRequested())
        else:
            self.feed(e.ScreenChanged(active_flow=action == "active_flow"))

    @rule(resume=st.booleans())
    def lifecycle(self, resume: bool) -> None:
        """Background, or back in the foreground (with no Backgrounded first: the process was
        stopped from outside)."""
        self.feed(e.Resumed() if resume else e.Backgrounded())

    @precondition(lambda self: self.engine.prompt_visible)
    @rule(stay=st.booleans())
    def answer_prompt(self, stay: bool) -> None:
        self.feed(e.PromptAnswered(stay=stay))

    @precondition(lambda self: self.in_the_air() is None and self.engine.kind is not SessionKind.USER)
    @rule()
    def login(self) -> None:
        """A guest signs in (the manager waits for any flight first); instantaneous here."""
        eng = self.engine
        guest = self.client_token() if eng.kind is SessionKind.GUEST and eng.token_usable(self.t) else None
        issued = self.server.login(USER, self.t, guest)
        self.reauth_key = issued.reauth_key
        self.user_signed_out = False
        self.feed(e.SessionIssued(SessionKind.USER, Source.LOGIN, self.t), new_token=issued.token)

    # -- the server's side --------------------------------------------------------------------------

    @rule(action=st.sampled_from(["ok", "ok", "error", "reject", "revoke", "revoke_all"]))
    def server_side(self, action: str) -> None:
        """Set the refresh fault (ok / 503 / 401), or revoke the client's session, or all of them."""
        if action == "revoke_all":
            self.server.revoke_all()
        elif action == "revoke":
            session = self.server.session_of(self.client_token())
            if session is not None:
                self.server.revoke(session.sid)
        else:
            self.server.refresh_fault = cast(RefreshFault, action)

    # -- invariants ----------------------------------------------------------------------------------

    @invariant()
    def deadline_never_later_than_the_servers(self) -> None:
        """1. Rule 1: the estimate is never later than the server's real deadline."""
        eng = self.engine
        if eng.kind is None or eng.deadline is None or eng.token_spent():
            return
        session = self.server.session_of(self.client_token())
        if session is None or not session.alive(self.t):
            return
        assert eng.deadline <= session.deadline + EPS, (
            f"client deadline {eng.deadline} is later than the server's {session.deadline} at t={self.t}"
        )

    @invariant()
    def single_flight(self) -> None:
        """2. Rule 8: at most one refresh or recovery in flight, and the engine knows which."""
        out = self.in_the_air()  # asserts there is at most one
        live = self.queued if self.queued is not None else (out.flight if out and not out.abandoned else None)
        assert self.engine.flight is live, f"engine flight {self.engine.flight}, in the air {live}"
        if out is None:
            assert not self.waiting, "calls wait for a flight that is not there"

    @invariant()
    def known_dead_tokens_are_not_usable(self) -> None:
        """3. The engine never offers a generation it has seen rejected as usable."""
        eng = self.engine
        if eng.generation in self.dead_generations and eng.kind is not None:
            assert not eng.token_usable(self.t), f"generation {eng.generation} was rejected yet is usable"

    @invariant()
    def replayed_at_most_once(self) -> None:
        """4. Rule 7: never loop."""
        for call in self.calls:
            assert call.sends <= 2, f"call {call.cid} sent {call.sends} times"
            if call.given_up:
                assert call not in self.waiting, f"call {call.cid} waits to be sent after GiveUp"

    @invariant()
    def signed_out_is_signed_out(self) -> None:
        """Sign-out leaves no session behind in the engine."""
        if self.engine.signed_out:
            assert self.engine.kind is None and self.engine.deadline is None

    @invariant()
    def the_status_says_what_session_there_is(self) -> None:
        """What the table's cells take for granted of a status, so each cell can be written for
        its status alone: `no_session` and `signed_out` hold no session; every status but those
        and `starting_guest` holds one with a deadline (a re-auth's is a user's); a new guest
        session is asked for with no session or a guest's; a refresh starts from a live token and
        ends back there, or in `rejected` if a call's 401 came meanwhile; nothing is issued before
        `no_session` ends."""
        eng = self.engine
        if eng.status in (Status.NO_SESSION, Status.SIGNED_OUT):
            assert eng.kind is None, (eng.status, eng.kind)
        elif eng.status is Status.STARTING_GUEST:
            assert eng.kind is not SessionKind.USER, "a user's session is recovered by a re-auth"
        else:
            assert eng.kind is not None and eng.deadline is not None, (eng.status, eng.kind, eng.deadline)
        if eng.status is Status.REAUTHENTICATING:
            assert eng.kind is SessionKind.USER
        if eng.status is Status.REFRESHING:
            assert eng.before_flight in (Status.LIVE, Status.REJECTED), eng.before_flight
        if eng.status is Status.NO_SESSION:
            assert eng.generation == 0, eng.generation


SessionMachine.TestCase.settings = settings(max_examples=examples(500), stateful_step_count=60, deadline=None)
TestSessionEngineProperties = SessionMachine.TestCase


def test_a_guest_session_asked_for_after_sign_out_may_fail() -> None:
    """The smallest case the machine above found: after a sign-out, the next call asks for a new
    guest session (rule 5); the backend is down (edge case 16), so the flight fails. The engine
    must take that outcome like any other, not raise SessionProtocolError (state signed_out is
    checked before the flight in `state_at`, and RecoveryFailed is legal only in recovering)."""
    engine = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN), now=0.0)
    engine.handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at=0.0), 0.0)
    assert engine.handle(e.SignOutRequested(), 1.0) == [d.SignOut(d.SignOutReason.USER_CHOICE)]
    assert engine.handle(e.CallStarting(), 2.0) == [d.StartGuestSession()]
    engine.handle(e.RecoveryFailed(rejected=False, transport=True), 3.0)
    assert engine.flight is None and engine.kind is None
