"""The QA panel's chart: remaining time over the last minutes, the client's estimate (●) against
the server's truth (○), ◉ where they agree, with a row of marks for what happened.

A small Rich renderable rather than textual-plotext: one character per sample is all the
resolution a one-second sample needs, it adds no dependency, and redrawing it costs a few
hundred characters of Text a second (the QA panel's idle cost is already its largest figure).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from sessionkeeper.tui.remaining_history import MARK_WORDS, Sample
from sessionkeeper.tui.widgets.line_box import update_in_place
from sessionkeeper.tui.wording import format_remaining

ROWS = 6
LABEL = 6  # columns for the axis labels


class RemainingChart(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._drawn: tuple[int, int, Sample | None, int] | None = None

    def show(self, samples: list[Sample], ttl_s: float) -> None:
        width = max(10, (self.size.width or 80) - LABEL)
        key = (len(samples), width, samples[-1] if samples else None, round(ttl_s))
        if key == self._drawn:
            return
        first, self._drawn = self._drawn is None, key
        # Ten lines every second: redrawn in place, the screen laid out again only if they wrap.
        update_in_place(self, render(samples[-width:], ttl_s, width), layout=first)


def _row(value: float | None, ttl_s: float) -> int | None:
    if value is None:
        return None
    share = max(0.0, min(1.0, value / ttl_s)) if ttl_s > 0 else 0.0
    return round((1.0 - share) * (ROWS - 1))


def render(samples: list[Sample], ttl_s: float, width: int) -> Text:
    text = Text()
    text.append("Remaining time, one column a second   ", style="bold")
    text.append("●", style="cyan")
    text.append(" client estimate (")
    text.append("◌", style="dim cyan")
    text.append(" paused)  ")
    text.append("○", style="magenta")
    text.append(" server truth  ")
    text.append("◉", style="green")
    text.append(" both agree\n")
    rows = [(_row(s.client, ttl_s), _row(s.server, ttl_s), s) for s in samples]
    for row in range(ROWS):
        label = format_remaining(ttl_s) if row == 0 else ("0:00" if row == ROWS - 1 else "")
        text.append(f"{label:>5} ", style="dim")
        cells = [_cell(row, client, server, sample.paused) for client, server, sample in rows]
        cells.append((" " * (width - len(rows)) + "\n", ""))
        _append_runs(text, cells)
    text.append(" " * LABEL)
    text.append("".join(sample.mark or " " for _client, _server, sample in rows), style="bold yellow")
    text.append("\n" + " " * LABEL + MARK_WORDS, style="dim")
    return text


def _cell(row: int, client: int | None, server: int | None, paused: bool) -> tuple[str, str]:
    if client == row and server == row:
        return "◉", "green"
    if client == row:
        return ("◌", "dim cyan") if paused else ("●", "cyan")
    if server == row:
        return "○", "magenta"
    return " ", ""


def _append_runs(text: Text, cells: list[tuple[str, str]]) -> None:
    """One span per run of cells in one style, not one per cell: redrawn each second, ten rows of a
    hundred-odd cells would otherwise be a thousand spans."""
    run, style = "", None
    for glyph, cell_style in cells:
        if cell_style != style and run:
            text.append(run, style=style or None)
            run = ""
        run, style = run + glyph, cell_style
    if run:
        text.append(run, style=style or None)
