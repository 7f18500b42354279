"""The QA panel's chart (issue 11): remaining time of both sides over the last minutes, one column
a sample, with one mark per sample for the most telling event since the sample before."""

from __future__ import annotations

from sessionkeeper.tui.remaining_history import RemainingHistory
from sessionkeeper.tui.widgets.remaining_chart import ROWS, render


def plot_rows(text: str) -> list[str]:
    lines = text.split("\n")
    return [line[6:] for line in lines[1 : 1 + ROWS]]


def test_a_sample_takes_the_most_telling_event_since_the_last_and_the_server_only_when_read() -> None:
    history = RemainingHistory()
    history.event("call_answered")
    history.event("refresh_succeeded")
    history.event("call_answered")
    history.server_seen(58.0)
    history.sample(59.0, paused=False)
    history.sample(58.0, paused=False)  # nothing happened, the server was not read
    first, second = history.samples
    assert (first.mark, first.server) == ("R", 58.0)
    assert (second.mark, second.server) == ("", None)


def test_the_chart_shows_agreement_drift_a_pause_and_marks_in_their_columns() -> None:
    history = RemainingHistory()
    history.server_seen(60.0)
    history.sample(60.0, paused=False)  # both at the top: agree
    history.server_seen(60.0)
    history.sample(30.0, paused=False)  # the client lower than the server: two dots
    history.event("backgrounded")
    history.sample(30.0, paused=True)  # away: the client's dot shown paused
    rows = plot_rows(render(list(history.samples), 60.0, 20).plain)
    assert rows[0][:3] == "◉○ "
    middle = round(0.5 * (ROWS - 1))
    assert rows[middle][1:3] == "●◌"
    marks = render(list(history.samples), 60.0, 20).plain.split("\n")[1 + ROWS]
    assert marks[6:9] == "  B"


def test_only_the_last_samples_that_fit_are_drawn() -> None:
    history = RemainingHistory(capacity=5)
    for left in (50.0, 40.0, 30.0, 20.0, 10.0, 0.0):
        history.sample(left, paused=False)
    assert [s.client for s in history.samples] == [40.0, 30.0, 20.0, 10.0, 0.0]
    rows = plot_rows(render(list(history.samples), 60.0, 5).plain)
    assert all(len(row) == 5 for row in rows)
    assert rows[ROWS - 1][4] == "●"  # 0 s left: the bottom row
