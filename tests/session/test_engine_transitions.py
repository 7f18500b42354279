"""The engine's table (status x event -> handler): every pair the table leaves out raises and
changes nothing, every status is reachable, and the flight outcomes are taken only in their flight."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from session import decisions as d
from session import events as e
from session.engine import TRANSITIONS, SessionEngine, SessionProtocolError, Status, describe_transitions
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


def _then(eng: SessionEngine, *events: e.Event, at: float) -> SessionEngine:
    for event in events:
        eng.handle(event, at)
    return eng


# Each builder returns an engine in the named status, at time 1000 or earlier.
BUILDERS: dict[Status, Callable[[], SessionEngine]] = {
    Status.NO_SESSION: lambda: SessionEngine(POLICY, now=0.0),
    Status.LIVE: _guest,
    Status.LAPSED: lambda: _then(_guest(), e.Tick(), at=900.0),
    Status.REJECTED: lambda: _then(
        _guest(), e.ResponseRejected(5.0, 1), e.RecoveryFailed(rejected=False, transport=True), at=6.0
    ),
    Status.SIGNED_OUT: lambda: _then(_user(), e.SignOutRequested(), at=10.0),
    Status.REFRESHING: lambda: _then(_guest(), e.CallStarting(), at=901.0),
    Status.REAUTHENTICATING: lambda: _then(_user(), e.ResponseRejected(5.0, 1), at=6.0),
    Status.STARTING_GUEST: lambda: _then(SessionEngine(POLICY, now=0.0), e.CallStarting(), at=0.0),
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
    (status, event_type)
    for status in Status
    for event_type in SAMPLES
    if event_type not in TRANSITIONS[status]
]


def test_every_status_has_a_row_a_builder_and_every_event_a_sample() -> None:
    assert set(TRANSITIONS) == set(Status) == set(BUILDERS)
    assert set(SAMPLES) == {event for row in TRANSITIONS.values() for event in row}
    for status, build in BUILDERS.items():
        eng = build()
        assert eng.status is status, (status, eng.status)


@pytest.mark.parametrize(("status", "event_type"), ILLEGAL, ids=lambda x: getattr(x, "__name__", str(x)))
def test_illegal_event_raises_and_leaves_the_engine_unchanged(
    status: Status, event_type: type[e.Event]
) -> None:
    eng = BUILDERS[status]()
    before = copy.deepcopy(vars(eng))
    with pytest.raises(SessionProtocolError, match="not legal"):
        eng.handle(SAMPLES[event_type], eng.now)
    assert vars(eng) == before


def test_the_table_takes_flight_outcomes_only_in_their_flight() -> None:
    assert (Status.LIVE, e.RefreshSucceeded) in ILLEGAL
    assert (Status.REAUTHENTICATING, e.RefreshFailed) in ILLEGAL
    assert (Status.STARTING_GUEST, e.RefreshSucceeded) in ILLEGAL
    assert (Status.REFRESHING, e.RecoveryFailed) in ILLEGAL
    for status in (Status.NO_SESSION, Status.LIVE, Status.LAPSED, Status.REJECTED, Status.SIGNED_OUT):
        assert e.RecoveryFailed in {event for (st, event) in ILLEGAL if st is status}


def test_the_table_prints_as_a_grid_and_docs_engine_md_shows_it_as_it_is() -> None:
    text = describe_transitions()
    header = text.splitlines()[0]
    assert all(status.value in header for status in Status)
    assert "| RefreshSucceeded | - | - | - | - | - | `refresh_ok` | - | - |" in text
    doc = (Path(__file__).resolve().parents[2] / "docs" / "engine.md").read_text()
    assert text in doc, "docs/engine.md shows an old table: paste describe_transitions() into it"


def test_a_session_from_a_flight_that_is_not_out_is_refused() -> None:
    eng = _guest()
    with pytest.raises(SessionProtocolError, match="flight"):
        eng.handle(e.SessionIssued(SessionKind.USER, Source.REAUTH, sent_at=5.0), 5.0)
    eng = _then(_guest(), e.CallStarting(), at=901.0)  # refreshing
    before = copy.deepcopy(vars(eng))
    with pytest.raises(SessionProtocolError, match="flight"):
        eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=901.0), 901.0)
    assert vars(eng) == before


def test_a_login_answered_during_a_flight_wins_and_voids_the_flight() -> None:
    """Found by the property test that drives the real manager: the login was asked for before
    the refresh began, and its answer came while the refresh was out."""
    eng = _then(_guest(), e.CallStarting(), at=901.0)  # refreshing the guest's token
    out = eng.handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at=900.5), 901.2)
    assert out == [d.DeadlineMoved(900.5 + 900.0)]
    assert eng.status is Status.LIVE and eng.kind is SessionKind.USER and eng.generation == 2
    assert eng.deadline == 900.5 + 900.0
    # What the refresh brings is void: discarded, nobody signed back in as the guest.
    assert eng.handle(e.RefreshSucceeded(sent_at=901.0), 901.3) == [d.DiscardSession()]
    assert eng.kind is SessionKind.USER and eng.generation == 2


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
