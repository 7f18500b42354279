"""The QA panel's boxes (tui/widgets/line_box.py): a changed line repaints only itself."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from sessionkeeper.tui.widgets.line_box import LineBox


class Boxed(App[None]):
    def compose(self) -> ComposeResult:
        yield LineBox(id="box")


async def test_only_the_line_that_changed_is_given_new_content() -> None:
    app = Boxed()
    async with app.run_test() as pilot:
        box = app.query_one(LineBox)
        box.show("state      active\nremaining  0:50\nTTL        60 s")
        await pilot.pause()
        rows = list(box.query_children(Static))
        before = [row.visual for row in rows]

        box.show("state      active\nremaining  0:49\nTTL        60 s")
        await pilot.pause()

        after = [row.visual for row in rows]
        assert after[0] is before[0] and after[2] is before[2]  # untouched
        assert after[1] is not before[1] and "0:49" in str(rows[1].render())
        assert box.text == "state      active\nremaining  0:49\nTTL        60 s"


async def test_lines_come_and_go_and_a_long_line_wraps_with_the_box_growing() -> None:
    app = Boxed()
    async with app.run_test(size=(40, 20)) as pilot:
        box = app.query_one(LineBox)
        box.show("one\ntwo\nthree")
        await pilot.pause()
        assert box.size.height == 3
        box.show("one")
        await pilot.pause()
        assert box.size.height == 1 and box.text == "one"
        box.show("one " + "counter=1 " * 5)  # 54 columns in a 40-column box: two rows
        await pilot.pause()
        assert box.size.height == 2
        box.show("a\nb\nc\nd")
        await pilot.pause()
        assert box.size.height == 4 and box.text == "a\nb\nc\nd"
