"""What the app leaves on disk and writes on its timeline (issue 8, items 15 and 19): private files
in a private directory; the real time away after a stop from outside; the real wall time, with a
QA skip as a field of its own.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from textual.driver import Driver

from tests.tui.harness import running


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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
