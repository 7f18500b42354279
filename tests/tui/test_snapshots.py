"""Snapshots of the key screens (SVG, pytest-textual-snapshot). Both clocks are fake and the
fingerprint salt fixed, so every run draws the same thing; no token can appear in them.
Update with: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.harness import SIZE, TTL, WARN, Harness, make_app


def _driver(data_dir: Path, steps: Callable[[Harness], Any]) -> tuple[Any, Callable[[Pilot[None]], Any]]:
    app, clock, server_clock = make_app(data_dir)

    async def run_before(pilot: Pilot[None]) -> None:
        await app.ready.wait()
        await pilot.pause()
        harness = Harness(app, pilot, clock, server_clock)
        app.refresh_countdown()
        await steps(harness)
        app.refresh_countdown()
        for screen in app.screen_stack:
            for field in screen.query(Input):
                field.cursor_blink = False  # a blinking cursor would make the picture depend on timing
        await pilot.pause()
        app.clear_notifications()
        await pilot.pause()

    return app, run_before


class TestKeyScreens:
    def test_home_with_the_countdown(self, snap_compare: Any, tmp_path: Path) -> None:
        async def steps(h: Harness) -> None:
            await h.advance(13)

        app, run_before = _driver(tmp_path, steps)
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_warning_prompt_over_a_filled_form(self, snap_compare: Any, tmp_path: Path) -> None:
        async def steps(h: Harness) -> None:
            await h.fill_search()
            await h.advance(TTL - WARN + 3)

        app, run_before = _driver(tmp_path, steps)
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_signed_out_message_with_a_saved_draft(self, snap_compare: Any, tmp_path: Path) -> None:
        async def steps(h: Harness) -> None:
            await h.sign_in()
            await h.pilot.press("b")
            await h.pilot.pause()
            await h.fill("origin", "AMS")
            await h.advance(TTL)

        app, run_before = _driver(tmp_path, steps)
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_a_stay_whose_refresh_failed_says_so_over_the_kept_form(
        self, snap_compare: Any, tmp_path: Path
    ) -> None:
        async def steps(h: Harness) -> None:
            await h.sign_in()
            await h.pilot.press("b")
            await h.pilot.pause()
            await h.fill("origin", "LHR")
            await h.fill("destination", "CDG")
            await h.control.set_faults(refresh="error")
            await h.advance(TTL - WARN)
            await h.pilot.press("y")
            await h.settle()

        app, run_before = _driver(tmp_path, steps)
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_qa_panel(self, snap_compare: Any, tmp_path: Path) -> None:
        async def steps(h: Harness) -> None:
            await h.sign_in()
            await h.advance(7)
            await h.pilot.press("f2")
            await h.pilot.pause()
            await h.pilot.press("e")  # refresh answers 503
            await h.app.workers.wait_for_complete()
            await h.client.rest.airports()
            h.app.screen.poll_server()  # type: ignore[attr-defined]
            await h.app.workers.wait_for_complete()
            await h.pilot.pause()

        app, run_before = _driver(tmp_path, steps)
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    @pytest.mark.slow  # about 5 s
    def test_qa_panel_chart_in_a_tall_terminal(self, snap_compare: Any, tmp_path: Path) -> None:
        """The chart: the deadline slides, jumps back at a call, drops at a skip, pauses while
        the app is away, and the server's side beside it."""

        async def second(h: Harness, seconds: float = 1.0) -> None:
            await h.advance(seconds)
            h.app.screen.poll_server()  # type: ignore[attr-defined]
            await h.app.workers.wait_for_complete()
            h.app.tick()
            await h.pilot.pause()

        async def steps(h: Harness) -> None:
            await h.sign_in()
            await h.pilot.press("f2")
            await h.pilot.pause()
            for _ in range(10):
                await second(h, 2)
            await h.client.rest.airports()  # a call: back to the full TTL
            for _ in range(8):
                await second(h, 2)
            await h.pilot.press("k")  # QA: skip 30 s on both clocks
            await h.app.workers.wait_for_complete()
            for _ in range(6):
                await second(h, 2)
            h.client.manager.background()
            for _ in range(4):
                await second(h, 2)
            h.client.manager.resume()
            await h.client.settle()
            for _ in range(4):
                await second(h, 2)

        app, run_before = _driver(tmp_path, steps)
        assert snap_compare(app, terminal_size=(110, 46), run_before=run_before)


def test_no_secret_in_any_snapshot() -> None:
    """Tokens in these runs all start with `test-secret-`; the password is the demo user's."""
    folder = Path(__file__).parent / "__snapshots__"
    snapshots = sorted(folder.rglob("*.svg"))
    assert len(snapshots) >= 4
    for snapshot in snapshots:
        text = snapshot.read_text()
        assert "test-secret" not in text and "lovelace" not in text, snapshot.name
