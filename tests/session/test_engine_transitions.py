"""The engine's table of legal events per state: every illegal pair raises and changes nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from session import events as e
from session.engine import TRANSITIONS, SessionEngine, SessionProtocolError, State
from session.events import SessionKind, Source
from session.policy import Policy

POLICY = Policy(ttl_s=900.0, warn_s=60.0)


def _guest(now: float = 0.0) -> SessionEngine:
    eng = SessionEngine(POLICY, now=now)
    eng.handle(e.CallStarting(), now)
    eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=now), now)
    return eng


def _user() -> SessionEngine:
    eng = SessionEngine(POLICY, now=0.0)
    eng.handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at=0.0), 0.0)
    return eng


def _then(eng: SessionEngine, event: e.Event, at: float) -> SessionEngine:
    eng.handle(event, at)
    return eng


# Each builder returns an engine in the named state, at time 1000 or earlier.
BUILDERS: dict[State, Callable[[], SessionEngine]] = {
    State.NO_SESSION: lambda: SessionEngine(POLICY, now=0.0),
    State.ACTIVE: _guest,
    State.WARNING: lambda: _then(_guest(), e.Tick(), 850.0),
    State.REFRESHING: lambda: _then(_guest(), e.CallStarting(), 901.0),
    State.RECOVERING: lambda: _then(SessionEngine(POLICY, now=0.0), e.CallStarting(), 0.0),
    State.PAUSED: lambda: _then(_guest(), e.Backgrounded(), 10.0),
    State.EXPIRED: lambda: _then(_guest(), e.Tick(), 900.0),
    State.SIGNED_OUT: lambda: _then(_user(), e.SignOutRequested(), 10.0),
}

SAMPLES: dict[type[e.Event], e.Event] = {
    e.SessionIssued: e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=0.0),
    e.SessionRestored: e.SessionRestored(SessionKind.GUEST, 1.0),
    e.CallStarting: e.CallStarting(),
    e.ResponseAccepted: e.ResponseAccepted(0.0, 1),
    e.ResponseRejected: e.ResponseRejected(0.0, 1),
    e.ResponseFailed: e.ResponseFailed(0.0, 1, transport=True),
    e.RefreshSucceeded: e.RefreshSucceeded(0.0),
    e.RefreshFailed: e.RefreshFailed(rejected=False),
    e.RecoveryFailed: e.RecoveryFailed(rejected=False),
    e.UserActivity: e.UserActivity(),
    e.ScreenChanged: e.ScreenChanged(active_flow=True),
    e.Backgrounded: e.Backgrounded(),
    e.Resumed: e.Resumed(),
    e.PromptAnswered: e.PromptAnswered(stay=True),
    e.SignOutRequested: e.SignOutRequested(),
    e.Tick: e.Tick(),
}

ILLEGAL = [
    (state, event_type)
    for event_type, allowed in TRANSITIONS.items()
    for state in State
    if state not in allowed
]


def test_every_state_has_a_builder_and_every_event_a_sample() -> None:
    assert set(BUILDERS) == set(State)
    assert set(SAMPLES) == set(TRANSITIONS)
    for state, build in BUILDERS.items():
        eng = build()
        assert eng.state is state, (state, eng.state)


@pytest.mark.parametrize(("state", "event_type"), ILLEGAL, ids=lambda x: getattr(x, "__name__", str(x)))
def test_illegal_event_raises_and_leaves_the_engine_unchanged(
    state: State, event_type: type[e.Event]
) -> None:
    eng = BUILDERS[state]()
    before = copy.deepcopy(vars(eng))
    with pytest.raises(SessionProtocolError):
        eng.handle(SAMPLES[event_type], eng.now)
    assert vars(eng) == before


def test_the_table_forbids_flight_outcomes_outside_their_flight() -> None:
    assert (State.ACTIVE, e.RefreshSucceeded) in ILLEGAL
    assert (State.RECOVERING, e.RefreshFailed) in ILLEGAL
    assert (State.REFRESHING, e.RecoveryFailed) in ILLEGAL


def test_a_session_from_a_flight_that_is_not_out_is_refused() -> None:
    eng = _guest()
    with pytest.raises(SessionProtocolError, match="flight"):
        eng.handle(e.SessionIssued(SessionKind.USER, Source.REAUTH, sent_at=5.0), 5.0)
    eng = _then(_guest(), e.CallStarting(), 901.0)  # refreshing
    with pytest.raises(SessionProtocolError, match="flight"):
        eng.handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at=901.0), 901.0)


def test_prompt_answer_without_a_prompt_is_refused() -> None:
    eng = _guest()
    with pytest.raises(SessionProtocolError, match="prompt"):
        eng.handle(e.PromptAnswered(stay=True), 5.0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: e.SessionIssued(SessionKind.USER, Source.GUEST, 0.0),
        lambda: e.SessionIssued(SessionKind.GUEST, Source.LOGIN, 0.0),
        lambda: e.ResponseAccepted(float("nan"), 1),
        lambda: e.ResponseRejected(0.0, 1, attempt=0),
        lambda: e.SessionRestored(SessionKind.GUEST, float("nan")),
    ],
)
def test_events_validate_when_built(build: Callable[[], e.Event]) -> None:
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl_s": 0},
        {"ttl_s": 60, "warn_s": 60},
        {"warn_s": -1},
        {"refresh_backoff_s": ()},
        {"refresh_backoff_s": (1.0, 0.0)},
        {"ttl_shrink_factor": 0.0},
        {"ttl_s": float("inf")},
    ],
)
def test_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Policy(**kwargs)  # type: ignore[arg-type]


def test_policy_backoff_repeats_its_last_delay() -> None:
    policy = Policy(refresh_backoff_s=(1.0, 5.0))
    assert [policy.backoff(n) for n in (1, 2, 3, 10)] == [1.0, 5.0, 5.0, 5.0]
