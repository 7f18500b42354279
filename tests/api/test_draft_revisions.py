"""Two instances of the app on one data dir share one drafts file: a stale instance never
overwrites a newer draft (api.drafts, the module's docstring).

Two DraftStore objects on one sqlite file stand for two processes where one process is enough to
show the rule; where the rule is that two processes cannot both pass the check, real processes
hammer one file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessionkeeper.api.drafts import (
    GUEST,
    BookingDrafts,
    DraftConflict,
    DraftStore,
    DraftStoreError,
    LocalDraft,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "drafts.sqlite3"


@pytest.fixture
def windows(path: Path) -> Iterator[tuple[DraftStore, DraftStore]]:
    """Window A's store and window B's, on the same file."""
    with DraftStore(path) as a, DraftStore(path) as b:
        yield a, b


def stored(path: Path) -> LocalDraft | None:
    """What the file holds, read afresh (as a third instance would)."""
    with DraftStore(path) as store:
        return store.load(GUEST)


def test_a_save_based_on_an_older_revision_writes_nothing_and_carries_the_newer_draft(
    windows: tuple[DraftStore, DraftStore], path: Path
) -> None:
    a, b = windows
    first = a.save(GUEST, "seats", {"name": "Ada", "seat": ""}, based_on=None)
    assert first.revision == 1
    seen_by_b = b.load(GUEST)
    assert seen_by_b == first
    second = b.save(GUEST, "review", {"name": "Grace", "seat": "3C"}, based_on=seen_by_b.revision)
    assert second.revision == 2

    with pytest.raises(DraftConflict) as raised:
        a.save(GUEST, "seats", {"name": "Ada", "seat": "1"}, based_on=first.revision)

    assert raised.value.latest == second and raised.value.based_on == 1
    assert stored(path) == second
    assert a.load(GUEST) == second  # and A's own connection is not left inside a transaction
    assert a.save(GUEST, "review", {"name": "Grace", "seat": "4D"}, based_on=2).revision == 3


def test_a_conflict_is_not_a_disk_failure() -> None:
    # Callers that catch DraftStoreError show "draft not saved": a conflict saved nothing because
    # a newer draft is saved, which they must not report as a failing disk.
    assert not issubclass(DraftConflict, DraftStoreError)


def test_a_view_that_showed_no_draft_never_overwrites_one_saved_meanwhile(
    windows: tuple[DraftStore, DraftStore], path: Path
) -> None:
    a, b = windows
    theirs = b.save(GUEST, "search", {"origin": "LHR"}, based_on=None)
    with pytest.raises(DraftConflict) as raised:
        a.save(GUEST, "search", {"origin": "CDG"}, based_on=None)
    assert raised.value.latest == theirs and stored(path) == theirs


def test_a_draft_begun_again_after_the_one_shown_was_finished_is_not_overwritten(
    windows: tuple[DraftStore, DraftStore], path: Path
) -> None:
    a, b = windows
    for n in range(3):
        a.save(GUEST, "search", {"n": n})
    b.discard(GUEST)  # booked and done in B, which then starts another booking
    theirs = b.save(GUEST, "search", {"origin": "FRA"}, based_on=None)
    with pytest.raises(DraftConflict):
        a.save(GUEST, "search", {"origin": "LHR"}, based_on=3)
    assert stored(path) == theirs


def test_no_stored_draft_is_nothing_newer_to_lose(windows: tuple[DraftStore, DraftStore], path: Path) -> None:
    # Finished and discarded in another window, or a damaged file started afresh: the view's save
    # is the only copy of what it shows, and is kept (rule 11).
    a, b = windows
    a.save(GUEST, "search", {"origin": "LHR"})
    b.discard(GUEST)
    saved = a.save(GUEST, "flights", {"origin": "LHR"}, based_on=1)
    assert saved.revision == 1 and stored(path) == saved


def test_a_save_that_names_no_revision_still_writes_whatever_is_stored(
    windows: tuple[DraftStore, DraftStore],
) -> None:
    a, b = windows
    a.save(GUEST, "search", {"origin": "LHR"})
    b.save(GUEST, "flights", {"origin": "CDG"})
    assert a.save(GUEST, "search", {}).revision == 3  # today's callers, which show no draft


def test_the_check_and_the_write_are_one_immediate_transaction(
    windows: tuple[DraftStore, DraftStore],
) -> None:
    a, _b = windows
    a.save(GUEST, "search", {})
    statements: list[str] = []
    a._conn.set_trace_callback(statements.append)
    a.save(GUEST, "search", {"origin": "LHR"}, based_on=1)
    a._conn.set_trace_callback(None)
    words = [s.strip().split()[0].upper() for s in statements]
    assert words[:3] == ["BEGIN", "SELECT", "INSERT"] and "IMMEDIATE" in statements[0].upper()
    assert words[-1] == "COMMIT"


def test_booking_drafts_refuse_a_stale_view_and_merge_nothing(
    windows: tuple[DraftStore, DraftStore], path: Path
) -> None:
    a, b = windows
    window_a = BookingDrafts(a, None, lambda: None)
    window_b = BookingDrafts(b, None, lambda: None)
    shown = window_a.save("seats", {"flight_id": "F1", "name": "Ada"}, based_on=None)
    theirs = window_b.save("review", {"name": "Grace", "seat": "3C"}, based_on=shown.revision)

    with pytest.raises(DraftConflict) as raised:
        window_a.save("seats", {"seat": "1"}, based_on=shown.revision)

    assert raised.value.latest == theirs
    assert stored(path) == theirs and theirs.data == {"flight_id": "F1", "name": "Grace", "seat": "3C"}


def test_booking_drafts_without_a_revision_merge_into_the_newest_draft(
    windows: tuple[DraftStore, DraftStore], path: Path
) -> None:
    a, b = windows
    window_a = BookingDrafts(a, None, lambda: None)
    window_b = BookingDrafts(b, None, lambda: None)
    window_a.save("passengers", {"name": "Ada"})
    window_b.save("passengers", {"email": "grace@example.com"})
    merged = window_a.save("passengers", {"name": "Ada L"})
    assert merged.data == {"name": "Ada L", "email": "grace@example.com"} and merged.revision == 3


# -- real processes on one file -------------------------------------------------------------------

# Each child waits for the go file, then, `rounds` times: reads the draft, and saves its own data
# based on the revision it read. It prints one JSON line per accepted save, and the number of
# conflicts. The pause between the read and the save lets another process save in between.
HAMMER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from sessionkeeper.api.drafts import GUEST, DraftConflict, DraftStore

    path, go, name, rounds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    store = DraftStore(path, timeout=30.0)
    while not go.exists():
        time.sleep(0.001)
    conflicts = 0
    for n in range(rounds):
        seen = store.load(GUEST)
        based_on = seen.revision if seen else None
        time.sleep(0.0005)
        data = {"writer": name, "n": n, "based_on": based_on}
        try:
            saved = store.save(GUEST, "seats", data, based_on=based_on)
        except DraftConflict as conflict:
            assert conflict.latest.revision != based_on
            conflicts += 1
            continue
        print(json.dumps({"based_on": based_on, "revision": saved.revision, "data": saved.data}))
    print(json.dumps({"conflicts": conflicts}))
    """
)

MERGER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sessionkeeper.api.drafts import BookingDrafts, DraftStore

    path, go, name, rounds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    drafts = BookingDrafts(DraftStore(path, timeout=30.0), None, lambda: None)
    while not go.exists():
        time.sleep(0.001)
    for n in range(rounds):
        drafts.save("passengers", {f"{name}-{n}": n})
    """
)


def run_together(script: str, path: Path, names: list[str], rounds: int) -> list[str]:
    """`script` in one process per name, all on `path`, started at once; their outputs."""
    go = path.parent / "go"
    path.parent.mkdir(parents=True, exist_ok=True)
    DraftStore(path).close()  # the file and its schema, before the children race to make them
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(go), name, str(rounds)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    time.sleep(0.3)  # all of them started (they poll for the go file)
    go.touch()
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outputs.append(out)
    return outputs


@pytest.mark.slow  # three Python processes, a few seconds on two cores
def test_processes_saving_at_once_never_lose_an_update(path: Path) -> None:
    names, rounds = ["a", "b", "c"], 150
    outputs = run_together(HAMMER, path, names, rounds)

    accepted: list[dict[str, Any]] = []
    conflicts = 0
    for out in outputs:
        lines = [json.loads(line) for line in out.splitlines()]
        conflicts += lines[-1]["conflicts"]
        own = lines[:-1]
        # Each process sees its own accepted saves' revisions go strictly up.
        assert [save["revision"] for save in own] == sorted({save["revision"] for save in own})
        accepted += own
    assert len(accepted) + conflicts == len(names) * rounds
    assert conflicts > 0, "the processes never met: the test showed nothing"

    # One chain: every accepted save was based on the one accepted before it, none was lost.
    chain = sorted(accepted, key=lambda save: save["revision"])
    assert [save["revision"] for save in chain] == list(range(1, len(chain) + 1))
    assert [save["based_on"] for save in chain] == [None, *range(1, len(chain))]
    final = stored(path)
    assert final is not None and final.revision == len(chain) and final.data == chain[-1]["data"]


@pytest.mark.slow  # two Python processes, a few seconds on two cores
def test_processes_merging_at_once_keep_every_field_each_one_saved(path: Path) -> None:
    names, rounds = ["a", "b"], 150
    run_together(MERGER, path, names, rounds)
    final = stored(path)
    assert final is not None
    assert final.data == {f"{name}-{n}": n for name in names for n in range(rounds)}
    assert final.revision == len(names) * rounds
