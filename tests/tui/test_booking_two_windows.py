"""Two windows on one data dir, one booking draft (api.drafts): the window left behind never
overwrites what the other saved. Its next save meets the newer draft and writes nothing; the flow
reopens at that draft's step, with its values, and says so in one line.

The other window is a second DraftStore on the app's drafts file, as another process would be.
"""

from __future__ import annotations

from pathlib import Path

from sessionkeeper.api.drafts import GUEST, DraftStore, LocalDraft
from sessionkeeper.tui.screens.booking import CHANGED_ELSEWHERE, PassengersStep, ReviewStep, SeatsStep
from tests.tui.harness import FLIGHT_DATE, Harness, running

FLIGHT = f"LHR-CDG-{FLIGHT_DATE.replace('-', '')}-1"
AT_SEATS: dict[str, object] = {
    "origin": "LHR",
    "destination": "CDG",
    "date": FLIGHT_DATE,
    "flight_id": FLIGHT,
    "flight_label": "SK101 LHR→CDG",
    "fare_code": "STD",
    "fare_label": "Standard 120.00",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
}


def drafts_file(h: Harness) -> Path:
    drafts = h.app.drafts
    assert drafts is not None
    return drafts.store.path


def on_disk(h: Harness) -> LocalDraft | None:
    with DraftStore(drafts_file(h)) as store:
        return store.load(GUEST)


def other_window_moves_on(h: Harness) -> LocalDraft:
    """The other window, on the same draft, went on to review and pay with another passenger."""
    with DraftStore(drafts_file(h)) as other:
        seen = other.load(GUEST)
        assert seen is not None
        data = {**seen.data, "name": "Grace Hopper", "email": "grace@example.com", "seat": "3C"}
        # No revision named: the same on this code and before it (the test can fail on either).
        theirs = other.save(GUEST, "review", data)
    assert theirs.revision == seen.revision + 1
    return theirs


async def test_a_key_typed_in_a_stale_window_shows_the_other_windows_draft_and_overwrites_nothing(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.open_step("seats", AT_SEATS)
        assert isinstance(h.app.screen, SeatsStep) and h.app.screen.available
        theirs = other_window_moves_on(h)

        await h.pilot.press("1")  # into the seat field, as left on the seat step
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()

        assert isinstance(h.app.screen, ReviewStep)
        summary = h.text("#summary")
        assert "seat 3C" in summary and "Grace Hopper <grace@example.com>" in summary
        assert CHANGED_ELSEWHERE in h.notes
        # Nothing the other window saved is lost, and the key typed against the stale seat step
        # was not applied on top of it: the draft is exactly the other window's.
        assert on_disk(h) == theirs


async def test_a_stale_window_that_goes_on_does_not_move_the_draft_back_to_its_step(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.open_step("passengers", AT_SEATS)
        assert isinstance(h.app.screen, PassengersStep)
        theirs = other_window_moves_on(h)

        await h.step()  # ctrl+n on the passenger step, with the name this window showed

        assert isinstance(h.app.screen, ReviewStep)
        assert "Grace Hopper" in h.text("#summary") and CHANGED_ELSEWHERE in h.notes
        assert on_disk(h) == theirs


async def test_one_window_going_back_and_forth_never_meets_itself(tmp_path: Path) -> None:
    # The steps under the current one showed older revisions of the same draft, saved by this
    # window: uncovered by esc, they save on top of its latest, and say nothing about windows.
    async with running(tmp_path) as h:
        await h.open_step("passengers", AT_SEATS)
        await h.fill("name", "Ada King")
        await h.step()
        assert isinstance(h.app.screen, SeatsStep)
        await h.fill("seat", sorted(h.app.screen.available)[0])
        await h.step("escape")
        assert isinstance(h.app.screen, PassengersStep)
        await h.fill("email", "ada@king.example")

        assert isinstance(h.app.screen, PassengersStep) and CHANGED_ELSEWHERE not in h.notes
        draft = on_disk(h)
        assert draft is not None and draft.step == "passengers"
        assert (draft.data["name"], draft.data["email"]) == ("Ada King", "ada@king.example")
