"""A box of text lines, each line its own one-line widget: when one line changes (a remaining time
ticking each second), only that line is repainted, not the whole box."""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Static


class LineBox(Vertical):
    DEFAULT_CSS = """
    LineBox { height: auto; }
    LineBox > Static { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[str] = []

    @property
    def text(self) -> str:
        """What the box shows, one line per row."""
        return "\n".join(self._lines)

    def show(self, text: str) -> None:
        lines = text.split("\n")
        rows = list(self.query_children(Static))
        for index, line in enumerate(lines):
            if index >= len(rows):
                self.mount(Static(line, markup=False))
            elif index >= len(self._lines) or self._lines[index] != line or not rows[index].display:
                rows[index].display = True
                _repaint(rows[index], line)
        for row in rows[len(lines) :]:
            row.display = False  # a line fewer: hidden, kept for when it comes back
        self._lines = lines


def _repaint(row: Static, line: str) -> None:
    """The new text, with a layout only if the row's height changes (a line that now wraps)."""
    row.update(line, layout=False)
    width, height = row.content_size
    if not width or row.get_content_height(row.size, row.app.size, width) != height:
        row.refresh(layout=True)
