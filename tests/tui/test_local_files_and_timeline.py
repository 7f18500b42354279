"""What the app leaves on disk and writes on its timeline (issue 8, items 15 and 19): private files
in a private directory; the real time away after a stop from outside; the real wall time, with a
QA skip as a field of its own. Nothing planted in the data dir steers the app (issue 16, item 4).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from textual.driver import Driver

from tests.files import mode, plant_victim, untouched
from tests.tui.harness import running


async def test_the_data_dir_is_0700_and_every_file_in_it_0600(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    async with running(data) as h:
        await h.sign_in()
        await h.client.rest.airports()
    assert mode(data) == 0o700
    files = {p.name: mode(p) for p in data.iterdir() if p.is_file()}
    assert {"timeline.jsonl", "session.json", "drafts.sqlite3"} <= set(files)
    assert all(m == 0o600 for m in files.values()), files


async def test_time_away_after_a_stop_from_outside_counts_from_the_last_heartbeat(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.advance(10)  # the last session event
        h.clock.advance(20)
        h.app.tick()  # still running at 30 s: the once-a-second tick
        h.clock.advance(69)  # `kill -STOP` from another shell, `kill -CONT` 69 s later
        assert h.server_clock is not None
        h.server_clock.advance(89)
        h.app.post_message(Driver.SignalResume())
        await h.pilot.pause()  # the resume is the first thing the woken process handles
        await h.settle()
        [resumed] = [x for x in h.client.manager.timeline if x.name == "resumed"]
        assert resumed.detail["away_s"] == 69.0 and resumed.detail["detected"] is True


async def test_timeline_wall_time_is_real_and_a_qa_skip_is_its_own_field(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.pilot.press("f2")
        await h.pilot.pause()
        await h.pilot.press("k")  # skip ahead N = 30 s
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.client.rest.airports()
        entry = [x for x in h.client.manager.timeline if x.name == "call_answered"][-1]
        assert entry.wall == h.clock.wall()  # the fake clock underneath: no skip mixed in
        assert entry.detail["qa_skip_s"] == 30.0
        h.client.manager.timeline.close()
    lines = [json.loads(line) for line in (tmp_path / "timeline.jsonl").read_text().splitlines()]
    answered = [line for line in lines if line["event"] == "call_answered"][-1]
    assert answered["qa_skip_s"] == 30.0 and answered["wall"] == round(entry.wall, 3)
    first = lines[0]
    assert "qa_skip_s" not in first  # before any skip, no such field


# -- nothing planted steers it (issue 16, item 4) ------------------------------------------------


async def test_a_symlink_planted_as_the_timeline_is_moved_aside_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    target = plant_victim(tmp_path)
    (data / "timeline.jsonl").symlink_to(target)
    async with running(data) as h:
        await h.client.rest.airports()
        [moved] = [x for x in h.client.manager.timeline if x.name == "timeline_file_moved_aside"]
        assert moved.detail == {"reason": "a symlink is in its place", "moved_to": "timeline.jsonl.corrupt-1"}
    assert untouched(target)
    assert os.readlink(data / "timeline.jsonl.corrupt-1") == str(target)
    timeline = data / "timeline.jsonl"
    assert not timeline.is_symlink() and mode(timeline) == 0o600
    events = [json.loads(line)["event"] for line in timeline.read_text().splitlines()]
    assert "timeline_file_moved_aside" in events and "call_answered" in events


async def test_symlinks_planted_as_the_session_and_the_drafts_are_moved_aside_and_said(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    session_target, drafts_target = plant_victim(tmp_path, "a"), plant_victim(tmp_path, "b")
    (data / "session.json").symlink_to(session_target)
    (data / "drafts.sqlite3").symlink_to(drafts_target)
    async with running(data) as h:
        await h.sign_in()
        h.app.save_draft("search", {"origin": "LHR"})
        said = {x.name: x.detail for x in h.client.manager.timeline}
        assert said["session_store_corrupt"]["reason"] == "a symlink is in its place"
        assert said["drafts_store_corrupt"] == {
            "moved_to": "drafts.sqlite3.corrupt-1",
            "reason": "a symlink is in its place",
        }
        assert not h.app.screen.query_one("#banner").display  # both stores work on fresh files
    assert untouched(session_target) and untouched(drafts_target)
    assert (data / "drafts.sqlite3.corrupt-1").is_symlink()
    assert not (data / "session.json").is_symlink() and not (data / "drafts.sqlite3").is_symlink()
    assert {mode(data / name) for name in ("session.json", "drafts.sqlite3")} == {0o600}


async def test_a_looser_data_dir_is_made_0700_at_start_and_that_is_said(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    async with running(data) as h:
        [tightened] = [x for x in h.client.manager.timeline if x.name == "data_dir_tightened"]
        assert tightened.detail == {"mode_was": "0755", "mode": "0700"}
        assert not h.app.screen.query_one("#banner").display
    assert mode(data) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away takes root")
async def test_a_data_dir_that_cannot_be_made_private_is_said_on_the_banner_and_the_timeline(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    os.chown(data, 4242, 4242)
    async with running(data) as h:
        [said] = [x for x in h.client.manager.timeline if x.name == "data_dir_not_private"]
        assert said.detail == {"reason": "mode 0755, and it belongs to another user"}
        assert h.text("#banner") == (
            "Your data folder can't be made private (mode 0755, and it belongs to another user): "
            "other users may list or replace what's kept there. Use --data-dir to pick another."
        )
    assert mode(data) == 0o755
