"""A box of text lines, each line its own one-line widget: when one line changes (a remaining time
ticking each second), only that line is repainted, not the whole box."""

from __future__ import annotations

from textual.containers import Vertical
from textual.visual import VisualType
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
                update_in_place(rows[index], line)
        for row in rows[len(lines) :]:
            row.display = False  # a line fewer: hidden, kept for when it comes back
        self._lines = lines


def update_in_place(widget: Static, text: VisualType, *, layout: bool = False) -> None:
    """New text for `widget`, laying the screen out again only when its height changes (a line
    that now wraps, one line more) or `layout` is asked for: a widget redrawn every second must
    not cost a layout of the whole screen every second."""
    widget.update(text, layout=False)
    width, height = widget.content_size
    if layout or not width or widget.get_content_height(widget.size, widget.app.size, width) != height:
        widget.refresh(layout=True)
