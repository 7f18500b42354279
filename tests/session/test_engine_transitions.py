"""The engine's table (event x status -> cell): every pair the table leaves out raises and changes
nothing, every status is reachable, the flight outcomes are taken only in their flight, and the
grid printed from the table answers every (status, event) pair once."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest

from sessionkeeper.session import decisions as d
from sessionkeeper.session import events as e
from sessionkeeper.session.engine import (
    TRANSITIONS,
    Row,
    SessionEngine,
    SessionProtocolError,
    Status,
    cells_for,
    describe_transitions,
    row_name,
    row_of,
)
from sessionkeeper.session.events import SessionKind, Source
from sessionkeeper.session.policy import Policy

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

SAMPLES: dict[Row, e.Event] = {
    (e.SessionIssued, Source.LOGIN): e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at=0.0),
    (e.SessionIssued, Source.REAUTH): e.SessionIssued(SessionKind.USER, Source.REAUTH, sent_at=0.0),
    (e.SessionIssued, Source.GUEST): e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=0.0),
    (e.SessionIssued, Source.SHARED): e.SessionIssued(SessionKind.USER, Source.SHARED, sent_at=0.0),
    e.SessionRestored: e.SessionRestored(SessionKind.GUEST, 1.0),
    e.SharedExtension: e.SharedExtension(0.0),
    e.SignedOutElsewhere: e.SignedOutElsewhere(),
    e.LifetimeKnown: e.LifetimeKnown(5000.0),
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


def _taken(status: Status, row: Row) -> bool:
    """Whether the engine `BUILDERS` makes for `status` takes the sample: a cell names the status,
    with no guard or one that holds there (the builders void no flight, show no prompt, and only
    `no_session`'s has issued nothing yet)."""
    eng = BUILDERS[status]()
    return any(cell.guard is None or cell.guard.holds(eng, SAMPLES[row]) for cell in cells_for(row, status))


ILLEGAL = [(status, row) for status in Status for row in SAMPLES if not _taken(status, row)]


def test_every_status_has_a_builder_and_every_row_a_sample_of_its_own() -> None:
    assert set(SAMPLES) == set(TRANSITIONS)
    assert all(row_of(sample) == row for row, sample in SAMPLES.items())
    assert {row if isinstance(row, type) else row[0] for row in TRANSITIONS} == set(get_args(e.Event))
    assert (
        set(BUILDERS)
        == set(Status)
        == {status for row in TRANSITIONS.values() for st in row for status in st}
    )
    for status, build in BUILDERS.items():
        eng = build()
        assert eng.status is status, (status, eng.status)


@pytest.mark.parametrize(("status", "row"), ILLEGAL, ids=lambda x: getattr(x, "value", None) or row_name(x))
def test_illegal_event_raises_and_leaves_the_engine_unchanged(status: Status, row: Row) -> None:
    eng = BUILDERS[status]()
    before = copy.deepcopy(vars(eng))
    with pytest.raises(SessionProtocolError, match="not legal"):
        eng.handle(SAMPLES[row], eng.now)
    assert vars(eng) == before


def test_the_table_takes_flight_outcomes_only_in_their_flight() -> None:
    assert (Status.LIVE, e.RefreshSucceeded) in ILLEGAL
    assert (Status.REAUTHENTICATING, e.RefreshFailed) in ILLEGAL
    assert (Status.STARTING_GUEST, e.RefreshSucceeded) in ILLEGAL
    assert (Status.REFRESHING, e.RecoveryFailed) in ILLEGAL
    assert (Status.REAUTHENTICATING, (e.SessionIssued, Source.GUEST)) in ILLEGAL
    assert (Status.STARTING_GUEST, (e.SessionIssued, Source.REAUTH)) in ILLEGAL
    for status in (Status.NO_SESSION, Status.LIVE, Status.LAPSED, Status.REJECTED, Status.SIGNED_OUT):
        assert {e.RecoveryFailed, (e.SessionIssued, Source.REAUTH)} <= {
            row for (st, row) in ILLEGAL if st is status
        }


def test_no_cell_is_hidden_behind_another() -> None:
    """For each row and status, at most one cell without a guard, and after any guarded ones: a
    guarded cell below it could never be reached."""
    for row in TRANSITIONS:
        for status in Status:
            guards = [cell.guard for cell in cells_for(row, status)]
            assert None not in guards[:-1], (row_name(row), status)


def test_the_grid_answers_every_status_for_every_event_exactly_once() -> None:
    """Per event, each status is named on exactly one line that holds without a condition: its
    outcome, or "refused". Lines with a condition ("if ...") come before and say when they win."""
    text = describe_transitions()
    blocks = text.split("\n\n**")
    assert len(blocks) == len(TRANSITIONS)
    for block, row in zip(blocks, TRANSITIONS, strict=True):
        title, *lines = block.strip("*").splitlines()
        assert title.rstrip("*") == row_name(row)
        answered: list[Status] = []
        for line in filter(None, lines):
            where, outcome = line.removeprefix("- ").split(": ", 1)
            assert outcome
            if ", if " in where:
                continue
            names = where.removesuffix(", otherwise")
            answered += (
                list(Status) if names == "any status" else [Status(n.strip("` ")) for n in names.split(",")]
            )
        assert sorted(answered, key=list(Status).index) == list(Status), (row_name(row), answered)


def test_the_table_prints_as_a_grid_and_docs_engine_md_shows_it_as_it_is() -> None:
    text = describe_transitions()
    assert "**RefreshSucceeded**\n\n" in text
    assert "\n- `refreshing`: the refresh lands: a new token" in text
    assert "\n- `no_session`, `signed_out`: a new guest session starts\n" in text
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
    with pytest.raises(ValueError):  # noqa: PT011 - each case says its own why; pinned: refused
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
    with pytest.raises(ValueError):  # noqa: PT011 - each case says its own why; pinned: refused
        Policy(**kwargs)  # type: ignore[arg-type]


def test_policy_backoff_repeats_its_last_delay() -> None:
    policy = Policy(refresh_backoff_s=(1.0, 5.0))
    assert [policy.backoff(n) for n in (1, 2, 3, 10)] == [1.0, 5.0, 5.0, 5.0]
