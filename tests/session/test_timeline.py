"""The timeline's file: private (0600 in a 0700 dir), bounded by rotation, and never in the session's way."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.timeline import (
    FILE_FAILED,
    FILE_MOVED_ASIDE,
    FILE_RECOVERED,
    Timeline,
    TimelineEntry,
)
from tests.files import mode, untouched
from tests.promptly import promptly

RETRY = 5.0


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def events(path: Path) -> list[str]:
    return [json.loads(line)["event"] for line in lines(path)]


# -- private ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("permissive_umask")
def test_the_file_is_created_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path)
    assert mode(path) == 0o600  # from its first byte, before anything is written
    timeline.record(1.0, 100.0, "started")
    timeline.close()
    assert mode(path) == 0o600


def test_an_existing_0644_file_is_tightened_to_0600_and_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    old = TimelineEntry(0.5, 99.0, "from_an_earlier_run").as_json() + "\n"
    path.write_text(old)
    path.chmod(0o644)
    timeline = Timeline(path)
    assert mode(path) == 0o600
    timeline.record(1.0, 100.0, "started")
    timeline.close()
    assert events(path) == ["from_an_earlier_run", "started"]


@pytest.mark.usefixtures("permissive_umask")
def test_missing_directories_are_created_0700(tmp_path: Path) -> None:
    path = tmp_path / "share" / "sessionkeeper" / "timeline.jsonl"
    Timeline(path).close()
    assert mode(tmp_path / "share") == 0o700
    assert mode(tmp_path / "share" / "sessionkeeper") == 0o700
    assert mode(path) == 0o600


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    Timeline(data / "timeline.jsonl").close()
    assert mode(data) == 0o755


def test_each_entry_is_written_as_its_as_json_line(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path)
    written = [
        timeline.record(1.0, 100.0, "token_issued", token="fp:1234abcd"),
        timeline.record(2.5, 101.5, "call_sent", op="me", attempt=1),
        timeline.record(3.0, 102.0, "note", text="ünïcode ✓"),
    ]
    timeline.close()
    assert lines(path) == [entry.as_json() for entry in written]
    assert list(timeline) == written


def test_a_recorded_entry_is_the_frozen_dataclass_built_as_usual() -> None:
    # Timeline.add builds entries without the dataclass's __init__, for speed: the same object.
    recorded = Timeline().record(1.0, 100.0, "call_sent", call="GET /api/session", generation=1)
    built = TimelineEntry(1.0, 100.0, "call_sent", {"call": "GET /api/session", "generation": 1})
    assert recorded == built and repr(recorded) == repr(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recorded.name = "other"  # type: ignore[misc]


def reference_line(entry: TimelineEntry) -> str:
    """What a line was before it was made quickly (and what it must stay): json.dumps itself."""
    line = {"at": round(entry.at, 6), "wall": round(entry.wall, 3), "event": entry.name, **entry.detail}
    return json.dumps(line, sort_keys=True, default=str)


_TIMES = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=1e-5, max_value=1e13)  # the usual sizes, and the quick way's bounds
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.sampled_from(
        [0.0, -0.0, 1e-4, 9.99999e-5, 1e-3, 5e-7, -5e-7, 1e9, 1e9 - 1e-7, 1e12, 1e16, 0.1 + 0.2]
    )
)
_KEYS = st.sampled_from(
    ["call", "status", "generation", "token", "remaining_s", "event", "at", "wall"]
) | st.text(max_size=8)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from([Path("x"), 10**30, -0.0])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=600, deadline=None)
@given(at=_TIMES, wall=_TIMES, name=st.text(max_size=12), detail=st.dictionaries(_KEYS, _VALUES, max_size=5))
@example(
    at=1234.5678915,
    wall=1_800_000_000.1235,
    name="call_sent",
    detail={"call": "GET /x", "generation": 1, "token": "fp:1"},
)
@example(at=20.0, wall=1_800_000_000.0, name="deadline_moved", detail={"remaining_s": 899.9995})
@example(
    at=3.0,
    wall=100.0,
    name="call_answered",
    detail={"call": 'GET /"quoted"\n ünï', "status": 200, "generation": True},
)
@example(at=1.0, wall=100.0, name="x", detail={"event": "renamed", "zz": 1, "a": 2})
def test_a_line_is_what_json_dumps_makes_of_the_entry(
    at: float, wall: float, name: str, detail: dict[str, object]
) -> None:
    entry = TimelineEntry(at, wall, name, dict(detail))
    assert entry.as_json() == reference_line(entry)


# -- bounded -----------------------------------------------------------------------------------------


def record_many(timeline: Timeline, count: int, start: int = 0) -> list[str]:
    return [timeline.record(float(i), 1000.0 + i, "tick", n=i).as_json() for i in range(start, start + count)]


def test_rotation_keeps_two_files_within_the_bound_and_never_splits_a_line(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    max_bytes = 1000
    timeline = Timeline(path, max_bytes=max_bytes, capacity=10_000)
    written = record_many(timeline, 500)
    timeline.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timeline.jsonl", "timeline.jsonl.1"]
    rotated = path.with_name("timeline.jsonl.1")
    for file in (rotated, path):
        raw = file.read_bytes()
        assert len(raw) <= max_bytes
        assert raw.endswith(b"\n")  # the last line is whole: lines are never split
        assert mode(file) == 0o600
    on_disk = lines(rotated) + lines(path)
    # the files hold the newest records, in order, the newest of all at the end of timeline.jsonl
    assert on_disk == written[-len(on_disk) :]
    assert lines(path)[-1] == written[-1]
    # and the rotated file was filled close to the bound before the rotation
    assert len(rotated.read_bytes()) > max_bytes - len(written[-1]) - 1
    assert len(timeline) == 500  # memory is bounded by capacity alone


def test_one_rotation_keeps_every_record_with_the_newest_in_the_live_file(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    line_bytes = len(TimelineEntry(10.0, 1010.0, "tick", {"n": 10}).as_json()) + 1
    timeline = Timeline(path, max_bytes=line_bytes * 10)
    written = record_many(timeline, 15, start=10)  # every line the same length
    timeline.close()
    rotated = path.with_name("timeline.jsonl.1")
    assert lines(rotated) == written[:10]
    assert lines(path) == written[10:]
    assert len(lines(rotated)) + len(lines(path)) == 15


def test_a_second_rotation_replaces_the_older_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    rotated = path.with_name("timeline.jsonl.1")
    rotated.write_text("stale\n")
    rotated.chmod(0o644)
    line_bytes = len(TimelineEntry(10.0, 1010.0, "tick", {"n": 10}).as_json()) + 1
    timeline = Timeline(path, max_bytes=line_bytes * 4)
    written = record_many(timeline, 10, start=10)
    timeline.close()
    assert lines(rotated) == written[4:8]
    assert lines(path) == written[8:]
    assert mode(rotated) == 0o600


def test_an_existing_file_past_max_bytes_is_rotated_at_the_first_write(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    old = [TimelineEntry(float(i), 0.0, "old").as_json() for i in range(100)]
    path.write_text("".join(line + "\n" for line in old))
    timeline = Timeline(path, max_bytes=500)
    new = timeline.record(1.0, 100.0, "started").as_json()
    timeline.close()
    assert lines(path.with_name("timeline.jsonl.1")) == old
    assert lines(path) == [new]


def test_a_line_longer_than_max_bytes_gets_a_file_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path, max_bytes=100)
    small = timeline.record(1.0, 100.0, "a").as_json()
    big = timeline.record(2.0, 101.0, "b", blob="x" * 300).as_json()
    after = timeline.record(3.0, 102.0, "c").as_json()
    timeline.close()
    assert lines(path.with_name("timeline.jsonl.1")) == [big]
    assert lines(path) == [after]
    assert small not in lines(path)


def test_an_unfinished_last_line_is_cut_off_when_the_file_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    whole = TimelineEntry(1.0, 100.0, "whole").as_json()
    path.write_text(whole + "\n" + '{"at": 2.0, "eve')
    timeline = Timeline(path)
    new = timeline.record(3.0, 102.0, "next").as_json()
    timeline.close()
    assert lines(path) == [whole, new]


# -- never in the way -------------------------------------------------------------------------------


def directory_in_place(path: Path) -> Callable[[], None]:
    path.mkdir(parents=True)
    (path / "keep").write_text("x")
    return lambda: shutil.rmtree(path)


def file_in_place_of_the_directory(path: Path) -> Callable[[], None]:
    path.parent.write_text("not a directory")
    return lambda: path.parent.unlink()


def a_directory_that_refuses_writes(path: Path) -> Callable[[], None]:
    # sysfs answers "Permission denied" to creating a file, for root too (permission bits alone
    # would not stop root, who runs CI).
    path.parent.symlink_to("/sys", target_is_directory=True)
    return path.parent.unlink


@pytest.mark.parametrize(
    "obstacle", [directory_in_place, file_in_place_of_the_directory, a_directory_that_refuses_writes]
)
def test_a_refusing_disk_keeps_the_timeline_in_memory_until_the_file_works_again(
    tmp_path: Path, obstacle: Callable[[Path], Callable[[], None]]
) -> None:
    path = tmp_path / "data" / "timeline.jsonl"
    remove = obstacle(path)
    seen: list[str] = []
    timeline = Timeline(path, retry_after_s=RETRY)
    timeline.subscribe(lambda entry: seen.append(entry.name))
    assert timeline.file_error is not None and "timeline.jsonl" in timeline.file_error

    for i in range(5):  # does not raise; memory keeps growing
        timeline.record(float(i), 100.0 + i, "tick", n=i)
    assert timeline.names() == ["tick", FILE_FAILED, "tick", "tick", "tick", "tick"]
    failed = [entry for entry in timeline if entry.name == FILE_FAILED]
    assert failed[0].detail == {"error": timeline.file_error}
    assert seen == timeline.names()  # listeners hear of the failure too, after the entry

    remove()
    timeline.record(RETRY - 0.5, 200.0, "too_soon")  # not retried before retry_after_s
    assert timeline.file_error is not None
    assert not path.is_file()

    back = timeline.record(RETRY, 201.0, "back")
    assert timeline.file_error is None
    assert timeline.names()[-2:] == ["back", FILE_RECOVERED]
    later = timeline.record(RETRY + 1, 202.0, "later")
    timeline.close()
    assert events(path) == ["back", FILE_RECOVERED, "later"]
    assert lines(path)[0] == back.as_json() and lines(path)[-1] == later.as_json()
    assert timeline.names().count(FILE_FAILED) == 1
    assert timeline.names().count(FILE_RECOVERED) == 1
    assert mode(path) == 0o600


def test_a_failed_retry_waits_again_and_announces_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    remove = directory_in_place(path)
    timeline = Timeline(path, retry_after_s=RETRY)
    for at in (0.0, RETRY, 2 * RETRY, 3 * RETRY):  # each a retry that fails again
        timeline.record(at, 100.0 + at, "tick")
    assert timeline.names().count(FILE_FAILED) == 1
    remove()
    timeline.record(3 * RETRY + 1, 200.0, "too_soon")  # the last failed retry restarted the wait
    assert not path.exists()
    timeline.record(4 * RETRY, 201.0, "back")
    timeline.close()
    assert events(path) == ["back", FILE_RECOVERED]


def test_a_failed_rotation_is_caught_and_retried(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    rotated = path.with_name("timeline.jsonl.1")
    remove = directory_in_place(rotated)  # os.replace cannot put a file over it
    line_bytes = len(TimelineEntry(10.0, 1010.0, "tick", {"n": 10}).as_json()) + 1
    timeline = Timeline(path, max_bytes=line_bytes * 3, retry_after_s=RETRY)
    written = record_many(timeline, 4, start=10)  # the fourth would pass max_bytes
    assert timeline.file_error is not None and timeline.file_error.startswith("cannot rotate timeline.jsonl")
    assert timeline.names() == ["tick"] * 4 + [FILE_FAILED]
    assert lines(path) == written[:3]  # the full file is left whole

    remove()
    back = timeline.record(13.0 + RETRY, 2000.0, "back")
    timeline.close()
    assert lines(rotated) == written[:3]
    assert lines(path)[0] == back.as_json()
    assert events(path) == ["back", FILE_RECOVERED]


def test_a_full_disk_mid_write_is_reported_and_the_half_line_dropped_on_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path, retry_after_s=RETRY)
    first = timeline.record(0.0, 100.0, "first").as_json()
    inode = path.stat().st_ino
    real_write = os.write
    calls: list[int] = []

    def full_disk(fd: int, data: bytes | memoryview) -> int:
        if os.fstat(fd).st_ino != inode:
            return real_write(fd, data)
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])  # a short write, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    timeline.record(1.0, 101.0, "cut_short", text="y" * 40)
    assert timeline.file_error == "cannot write timeline.jsonl: No space left on device"
    assert timeline.names() == ["first", "cut_short", FILE_FAILED]
    assert path.read_text().startswith(first + "\n") and not path.read_text().endswith("\n")

    monkeypatch.setattr(os, "write", real_write)
    timeline.record(1.0 + RETRY, 106.0, "back")
    timeline.close()
    assert events(path) == ["first", "back", FILE_RECOVERED]  # valid JSON Lines again


def test_close_never_raises(tmp_path: Path) -> None:
    Timeline().close()
    healthy = Timeline(tmp_path / "ok" / "timeline.jsonl")
    healthy.close()
    healthy.close()
    path = tmp_path / "broken" / "timeline.jsonl"
    directory_in_place(path)
    broken = Timeline(path)
    broken.record(0.0, 100.0, "tick")
    broken.close()
    broken.close()
    assert broken.names() == ["tick", FILE_FAILED]


def test_records_after_close_stay_in_memory_and_never_reopen_the_file(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path, retry_after_s=0.0)
    timeline.record(0.0, 100.0, "before")
    timeline.close()
    timeline.record(10.0, 110.0, "after")
    assert timeline.names() == ["before", "after"]
    assert events(path) == ["before"]
    assert timeline.file_error is None


def test_a_memory_only_timeline_has_no_file_and_no_error() -> None:
    timeline = Timeline(capacity=3)
    for i in range(5):
        timeline.record(float(i), 100.0 + i, "tick", n=i)
    assert timeline.file_error is None
    assert [entry.detail["n"] for entry in timeline] == [2, 3, 4]
    timeline.close()


def test_a_secret_is_still_refused_and_nothing_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path)
    with pytest.raises(TypeError, match="fingerprint"):
        timeline.record(0.0, 100.0, "token_issued", token=Secret("abc"))
    timeline.close()
    assert len(timeline) == 0
    assert path.read_text() == ""


@pytest.mark.parametrize("kwargs", [{"max_bytes": 0}, {"retry_after_s": -1.0}])
def test_nonsense_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case says its own why; pinned: refused
        Timeline(**kwargs)  # type: ignore[arg-type]


def test_a_summary_counts_call_entries_in_one_line_and_keeps_every_other_event(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.jsonl")
    timeline.record(1.0, 101.0, "token_issued", kind="guest")
    with timeline.summarising("burst", calls=3):
        for i in range(3):
            timeline.record(2.0 + i, 102.0 + i, "call_sent", call="GET /api/session")
            timeline.record(2.5 + i, 102.5 + i, "call_answered", status=200)
        timeline.record(3.0, 103.0, "refresh_succeeded")
        timeline.record(4.6, 104.6, "deadline_moved", remaining_s=60.0)
    timeline.close()
    assert timeline.names() == ["token_issued", "refresh_succeeded", "burst"]
    summary = list(timeline)[-1]
    assert summary.detail == {"calls": 3, "call_answered": 3, "call_sent": 3, "deadline_moved": 1}
    assert summary.at == 4.6  # stamped with the time of the last entry it counted
    lines = (tmp_path / "timeline.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == timeline.names()


def test_batched_entries_reach_the_file_once_the_interval_passes_and_at_close(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path, flush_every_s=1.0)
    for i in range(5):
        timeline.record(10.0 + i * 0.1, 1e9, "call_sent", n=i)
    assert len(timeline) == 5 and path.read_text() == ""  # in memory at once, not yet on disk
    timeline.record(11.0, 1e9, "call_sent", n=5)  # one second after the first: written together
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [0, 1, 2, 3, 4, 5]
    timeline.record(11.5, 1e9, "call_sent", n=6)
    timeline.flush()  # the app's once-a-second heartbeat
    assert len(path.read_text().splitlines()) == 7
    timeline.record(11.6, 1e9, "call_sent", n=7)
    timeline.close()
    assert len(path.read_text().splitlines()) == 8


def test_a_batch_that_fails_to_write_is_kept_in_memory_and_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path, flush_every_s=1.0, retry_after_s=5.0)
    timeline.record(1.0, 1e9, "call_sent", n=0)
    timeline.flush()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    for i in range(1, 4):
        timeline.record(1.0 + i, 1e9, "call_sent", n=i)
    names = timeline.names()
    assert names.count(FILE_FAILED) == 1 and names.count("call_sent") == 4
    assert "No space left" in (timeline.file_error or "")
    monkeypatch.setattr(os, "write", real_write)
    timeline.record(10.0, 1e9, "call_sent", n=4)  # past retry_after_s: written again
    timeline.close()
    assert [json.loads(line).get("n") for line in path.read_text().splitlines()][-1] in (4, None)
    assert FILE_RECOVERED in timeline.names()


# -- nothing planted steers it (issue 16, item 4) ------------------------------------------------------


def moved_aside(path: Path, n: int = 1) -> Path:
    return path.with_name(f"{path.name}.corrupt-{n}")


@pytest.mark.parametrize("flush_every_s", [0.0, 1.0])
def test_a_symlink_planted_as_the_file_is_moved_aside_and_its_target_untouched(
    tmp_path: Path, victim: Path, flush_every_s: float
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "timeline.jsonl"
    path.symlink_to(victim)
    timeline = Timeline(path, flush_every_s=flush_every_s)
    assert timeline.file_error is None
    started = timeline.record(1.0, 100.0, "started")
    timeline.record(2.0, 101.0, "later")
    timeline.close()
    assert untouched(victim)
    assert moved_aside(path).is_symlink() and os.readlink(moved_aside(path)) == str(victim)
    assert path.is_file() and not path.is_symlink() and mode(path) == 0o600
    notice = TimelineEntry(
        1.0,
        100.0,
        FILE_MOVED_ASIDE,
        {"reason": "a symlink is in its place", "moved_to": "timeline.jsonl.corrupt-1"},
    )
    assert list(timeline)[:2] == [started, notice]  # said after the first entry, in memory and on disk
    assert events(path) == ["started", FILE_MOVED_ASIDE, "later"]


def test_a_symlink_to_nothing_planted_as_the_file_creates_nothing_where_it_points(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    (tmp_path / "outside").mkdir()
    path.symlink_to(tmp_path / "outside" / "authorized_keys")
    timeline = Timeline(path)
    timeline.record(1.0, 100.0, "started")
    timeline.close()
    assert list((tmp_path / "outside").iterdir()) == []
    assert events(path) == ["started", FILE_MOVED_ASIDE]


def test_a_fifo_planted_as_the_file_never_blocks_and_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    os.mkfifo(path)

    def run() -> Timeline:
        timeline = Timeline(path, capacity=10_000)
        for i in range(5000):  # far more than a pipe's buffer holds
            timeline.record(float(i), 1000.0 + i, "call_sent", n=i, padding="p" * 40)
        timeline.close()
        return timeline

    timeline = promptly(run)
    assert stat.S_ISFIFO(os.lstat(moved_aside(path)).st_mode)
    assert stat.S_ISREG(os.lstat(path).st_mode)
    [notice] = [entry for entry in timeline if entry.name == FILE_MOVED_ASIDE]
    assert notice.detail == {"reason": "a FIFO is in its place", "moved_to": "timeline.jsonl.corrupt-1"}
    assert len(lines(path)) == 5001 and timeline.file_error is None


def test_a_symlink_planted_as_rotation_makes_room_is_moved_aside(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "timeline.jsonl"
    rotated = path.with_name("timeline.jsonl.1")
    rotated.symlink_to(victim)  # replaced by the rotation: the link itself, never its target
    line_bytes = len(TimelineEntry(10.0, 1010.0, "tick", {"n": 10}).as_json()) + 1
    timeline = Timeline(path, max_bytes=line_bytes * 4)  # room for the fifth line and the notice
    real_replace = os.replace
    planted: list[Path] = []

    def and_plant(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        if Path(dst) == rotated and not planted:  # someone quick, before the fresh file is opened
            path.symlink_to(victim)
            planted.append(path)

    monkeypatch.setattr(os, "replace", and_plant)
    written = record_many(timeline, 5, start=10)
    timeline.close()
    assert untouched(victim)
    assert lines(rotated) == written[:4] and not rotated.is_symlink()
    assert moved_aside(path).is_symlink()
    assert lines(path)[0] == written[4] and events(path) == ["tick", FILE_MOVED_ASIDE]
    assert timeline.names() == ["tick"] * 5 + [FILE_MOVED_ASIDE]


def test_a_symlink_found_at_a_retry_is_moved_aside_and_the_file_recovers(
    tmp_path: Path, victim: Path
) -> None:
    path = tmp_path / "timeline.jsonl"
    remove = directory_in_place(path)  # a directory is a disk that refuses: left, retried
    timeline = Timeline(path, retry_after_s=RETRY)
    timeline.record(0.0, 100.0, "tick")
    assert (tmp_path / "timeline.jsonl" / "keep").read_text() == "x"
    remove()
    path.symlink_to(victim)
    timeline.record(RETRY, 200.0, "back")
    timeline.close()
    assert untouched(victim)
    assert timeline.names() == ["tick", FILE_FAILED, "back", FILE_RECOVERED, FILE_MOVED_ASIDE]
    assert events(path) == ["back", FILE_RECOVERED, FILE_MOVED_ASIDE]


def test_a_symlink_that_cannot_be_moved_aside_is_a_failure_that_says_why(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "timeline.jsonl"
    path.symlink_to(victim)

    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "rename", refused)
    timeline = Timeline(path)
    timeline.record(0.0, 100.0, "tick")
    timeline.close()
    assert timeline.file_error == (
        "cannot write timeline.jsonl: a symlink is in its place, and it cannot be moved aside: "
        "Permission denied"
    )
    assert timeline.names() == ["tick", FILE_FAILED]
    assert untouched(victim) and path.is_symlink()


def test_a_link_planted_at_every_rotation_never_keeps_the_timeline_busy(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "timeline.jsonl"
    real_replace = os.replace

    def always_plant(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        if Path(dst) == path.with_name("timeline.jsonl.1"):
            path.symlink_to(victim)

    monkeypatch.setattr(os, "replace", always_plant)

    def run(flush_every_s: float) -> Timeline:
        # So small that each notice makes the file rotate, and so meets a fresh link.
        timeline = Timeline(path, max_bytes=100, flush_every_s=flush_every_s)
        record_many(timeline, 8)
        timeline.close()
        return timeline

    for flush_every_s in (0.0, 1.0):
        timeline = promptly(lambda: run(flush_every_s))  # noqa: B023 (called at once)
        assert FILE_MOVED_ASIDE in timeline.names()
    assert untouched(victim)
