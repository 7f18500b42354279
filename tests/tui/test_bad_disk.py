"""A disk that refuses writes never stops the app (issue 9, item 5): the session, the drafts and
the timeline go on in memory, the banner says what won't survive a restart, and it goes away once
the disk takes writes again.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
from textual.widgets import OptionList

from sessionkeeper.api.drafts import DraftStore
from sessionkeeper.tui.screens.booking import FlightsStep
from tests.tui.harness import Harness, running

pytestmark = pytest.mark.slow  # the app on a refusing disk, about 2 s each (the stores' own tests are fast)


async def search_flights(h: Harness) -> None:
    await h.fill_search()
    await h.step()


async def test_a_session_file_that_cannot_be_written_is_said_and_everything_else_works(
    tmp_path: Path,
) -> None:
    (tmp_path / "session.json.tmp").mkdir()  # a leftover that made the app exit with code 1
    async with running(tmp_path) as h:
        await search_flights(h)
        assert isinstance(h.app.screen, FlightsStep)
        assert h.app.screen.query_one("#flights", OptionList).option_count > 0
        assert "won't survive a restart" in h.text("#banner")
        names = h.client.manager.timeline.names()
        assert names.count("session_store_failed") == 1
        (tmp_path / "session.json.tmp").rmdir()
        await h.advance(5)
        await h.pilot.press("r")  # the next call moves the deadline: the session is saved again
        await h.app.workers.wait_for_complete()
        await h.settle()
        assert not h.app.screen.query_one("#banner").display
        assert "session_store_recovered" in h.client.manager.timeline.names()
        assert (tmp_path / "session.json").exists()


async def test_a_directory_in_place_of_the_drafts_database_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / "drafts.sqlite3").mkdir()
    async with running(tmp_path) as h:
        await search_flights(h)
        assert isinstance(h.app.screen, FlightsStep) and not h.app.screen.query_one("#banner").display
        assert (tmp_path / "drafts.sqlite3.corrupt-1").is_dir()
        draft = h.app.saved_draft()
        assert draft is not None and draft.data["origin"] == "LHR"


async def test_a_drafts_database_that_cannot_be_created_keeps_the_draft_in_memory_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only_disk(self: DraftStore) -> sqlite3.Connection:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(DraftStore, "_connect_file", read_only_disk)
    async with running(tmp_path) as h:
        assert "kept in memory only" in h.text("#banner")
        await search_flights(h)
        assert isinstance(h.app.screen, FlightsStep)
        draft = h.app.saved_draft()
        assert draft is not None and draft.data["origin"] == "LHR"


async def test_a_timeline_file_that_cannot_be_written_leaves_the_app_and_its_timeline_working(
    tmp_path: Path,
) -> None:
    (tmp_path / "timeline.jsonl").mkdir()
    async with running(tmp_path) as h:
        await search_flights(h)
        assert isinstance(h.app.screen, FlightsStep)
        names = h.client.manager.timeline.names()
        assert names.count("timeline_file_failed") == 1 and "call_answered" in names


async def test_a_drafts_store_that_refuses_every_keystroke_says_so_once_and_recovers(tmp_path: Path) -> None:
    # Issue 16, item 8: a full disk showed a toast on every keystroke (16 draft_save_failed).
    async with running(tmp_path) as h:
        await h.pilot.press("b")
        await h.pilot.pause()
        store = h.app.services.store
        assert store is not None
        store._conn.execute("PRAGMA query_only = ON")  # every write refused, as by a full disk
        await h.pilot.press(*"LHR")
        h.app.screen.query_one("#destination").focus()
        await h.pilot.press(*"CDG")
        await h.pilot.pause()
        assert h.notes == []  # not a toast a keystroke
        assert h.client.manager.timeline.names().count("draft_save_failed") == 1
        assert "draft can't be saved on this disk" in h.text("#banner")
        store._conn.execute("PRAGMA query_only = OFF")
        await h.pilot.press("x")
        await h.pilot.pause()
        assert "draft_save_recovered" in h.client.manager.timeline.names()
        assert not h.app.screen.query_one("#banner").display
        draft = h.app.saved_draft()
        assert draft is not None and draft.data["destination"] == "CDGx"
