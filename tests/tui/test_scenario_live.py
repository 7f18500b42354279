"""Scenarios live (issue 11): `scenario play` narrates a scenario into the running app (captions,
keys, time jumps, live checks; space, → and q), and `scenario record` writes what a tester does
into a file that `scenario run` replays to the same result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

from sessionkeeper.session.clock import FakeClock
from sessionkeeper.tui.app import SessionKeeperApp
from sessionkeeper.tui.cli import main
from sessionkeeper.tui.messages import PinExpectation
from sessionkeeper.tui.scenario.loader import find, load
from sessionkeeper.tui.scenario.play import Player, announce, duration_words, planned_seconds
from sessionkeeper.tui.scenario.record import Recorder
from sessionkeeper.tui.scenario.runner import run
from sessionkeeper.tui.screens.booking import SearchStep
from sessionkeeper.tui.screens.prompt import ExpiryPrompt
from sessionkeeper.tui.widgets.caption_bar import Caption
from tests.tui.harness import SIZE, make_app


def keep_captions(app: SessionKeeperApp) -> list[Caption]:
    shown: list[Caption] = []
    original = app.show_caption

    def show(caption: Caption | None) -> None:
        if caption is not None:
            shown.append(caption)
        original(caption)

    app.show_caption = show  # type: ignore[method-assign]
    return shown


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.02)


async def no_time(_seconds: float) -> None:
    """The player's pauses, taking no time (a live audience needs them; a test does not)."""
    await asyncio.sleep(0)


@asynccontextmanager
async def playing(
    tmp_path: Path, name: str, sleep: Callable[[float], Awaitable[None]] = no_time
) -> AsyncIterator[tuple[SessionKeeperApp, Player, list[Caption], Pilot[None]]]:
    scenario = load(find(name))
    player = Player(scenario, sleep=sleep)
    app, _clock, _server = make_app(tmp_path, ttl=scenario.ttl, warn=scenario.warn)
    app.director = player
    shown = keep_captions(app)
    async with app.run_test(size=SIZE) as pilot:
        yield app, player, shown, pilot


@pytest.mark.slow  # a scenario played or recorded through the app
async def test_play_says_each_caption_shows_keys_announces_time_and_checks_live(tmp_path: Path) -> None:
    async with playing(tmp_path, "04") as (app, player, shown, _pilot):
        await until(lambda: player.finished)
        texts = [c.text for c in shown]
        assert "A guest starts booking and types an origin." in texts
        assert any(c.keys == "L H R" and c.tone == "keys" for c in shown)
        assert any(t.startswith("⏩ Later: the session is about to expire") for t in texts)
        checks = [c for c in shown if c.tone == "check"]
        assert len(checks) == 2 and checks[0].text.startswith("✓ warning · the prompt up")
        assert not [c for c in shown if c.tone == "fail"]
        assert shown[-1].tone == "done" and app.caption == shown[-1]
        # What the script did, the app did: Stay refreshed, the form is as typed.
        view = app.view()
        assert view is not None and view.state.value == "active"
        assert isinstance(app.screen, SearchStep) and app.screen.value("origin") == "LHR"


@pytest.mark.slow  # a scenario played or recorded through the app
async def test_space_pauses_right_steps_once_and_q_leaves_the_app_to_the_presenter(tmp_path: Path) -> None:
    first_caption_read = asyncio.Event()  # the first pause ends when the test says so

    async def pause(_seconds: float) -> None:
        await first_caption_read.wait()

    async with playing(tmp_path, "tour", sleep=pause) as (app, player, shown, pilot):
        await until(lambda: bool(shown))
        await pilot.press("space")
        assert player.paused and app.caption is not None and app.caption.status.startswith("⏸")
        held = player.index
        first_caption_read.set()  # from here every pause of the script takes no time
        for _ in range(5):
            await pilot.pause()
        assert player.index == held  # paused: no step played, however much time the script has
        await pilot.press("right")
        await until(lambda: player.index == held + 1)
        for _ in range(5):
            await pilot.pause()
        assert player.paused and player.index == held + 1
        await pilot.press("q")
        await until(lambda: any(c.text.startswith("Script stopped") for c in shown))
        await until(lambda: app.caption is None)  # said, then the bar goes
        # The app is the presenter's: their keys reach it.
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, SearchStep)


def test_time_jumps_and_faults_are_announced_in_words() -> None:
    tour = load(find("tour"))
    background = next(s for s in tour.steps if s.qa == "background")
    assert announce(background) == ("☾ The app goes to the background for 5 minutes, then comes back", "time")
    assert duration_words(90) == "1 minute 30 seconds" and duration_words(45) == "45 seconds"
    down = next(s for s in load(find("16-backend")).steps if s.qa == "down")
    assert announce(down) == ("⚙ Backend down (503 everywhere): on", "say")


@dataclass
class Recording:
    """An app with a recorder on it, and one time for the recorder's clock and both of the app's."""

    app: SessionKeeperApp
    recorder: Recorder
    clocks: tuple[FakeClock, FakeClock]
    now: list[float]

    def time_passes(self, seconds: float) -> None:
        self.now[0] += seconds
        for clock in self.clocks:
            clock.advance(seconds)


@asynccontextmanager
async def recording(tmp_path: Path, path: Path) -> AsyncIterator[tuple[Recording, Pilot[None]]]:
    now = [0.0]
    recorder = Recorder(path, ttl=60, warn=20, clock=lambda: now[0])
    app, clock, server_clock = make_app(tmp_path / "data")
    assert server_clock is not None
    app.director = recorder
    async with app.run_test(size=SIZE) as pilot:
        await app.ready.wait()
        await until(lambda: app.caption is not None)
        yield Recording(app, recorder, (clock, server_clock), now), pilot
    recorder.close()


@pytest.mark.slow  # a scenario recorded through the app, then replayed
async def test_a_recorded_session_replays_to_the_same_result(tmp_path: Path) -> None:
    path = tmp_path / "repro.toml"
    async with recording(tmp_path, path) as (rec, pilot):
        app = rec.app
        await pilot.press("b", "L", "H", "R")
        rec.time_passes(7)  # the tester thinks for 7 s: time passes on both sides, as it would
        await pilot.press("tab", "C", "D", "G")
        # From the QA panel: into the warning window, and pin what is true then.
        await pilot.press("f2", "w")
        await app.workers.wait_for_complete()
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, ExpiryPrompt))
        await pilot.press("y")
        await app.client.settle() if app.client else None
        await pilot.press("f2", "p")
        await pilot.pause()
    text = path.read_text()
    steps = load(path).steps
    assert [s.kind for s in steps] == [
        "press", "type", "qa", "press", "type", "qa", "expect", "press", "expect",
    ]  # fmt: skip
    assert 'type = "LHR"' in text and 'qa = "skip"\nn = 7' in text and 'qa = "to_warning"' in text
    first, second = (s.expect for s in steps if s.expect is not None)
    assert first is not None and (first.state, first.prompt, first.user) == ("warning", True, "guest")
    assert second is not None and (second.state, second.prompt) == ("active", False)
    assert second.counters["refreshes"] == 1 and second.screen == ("1 · Search flights",)
    outcome = await run(load(path))
    assert outcome.passed, outcome.failure


def test_the_tour_tells_the_whole_story_in_about_three_minutes() -> None:
    tour = load(find("tour"))
    assert 150 <= planned_seconds(tour) <= 210
    assert planned_seconds(tour, speed=2) == planned_seconds(tour) / 2
    said = " ".join(step.say or "" for step in tour.steps)
    for part in ("token", "countdown", "asks", "background", "without asking", "signed out", "draft"):
        assert part in said, part
    for jargon in ("REST", "GraphQL", "middleware", "re-synced", "paused"):  # issue 18, item 12
        assert jargon not in said, jargon
    names = [name for step in tour.steps if step.expect for name in step.expect.timeline]
    assert {"reauth_succeeded", "profile_resync"} <= set(names)


@pytest.mark.slow  # a scenario played or recorded through the app
async def test_focus_lost_and_back_is_recorded_as_a_background_of_the_time_away(tmp_path: Path) -> None:
    path = tmp_path / "away.toml"
    async with recording(tmp_path, path) as (rec, pilot):
        app = rec.app
        await pilot.press("b", "L")
        app.post_message(events.AppBlur())
        await pilot.pause()
        rec.time_passes(90)  # away longer than the TTL, as the clocks of both sides see it
        app.post_message(events.AppFocus())
        await pilot.pause()
        assert app.client is not None
        await app.client.settle()
        await pilot.pause()
        app.post_message(PinExpectation())
        await pilot.pause()
    steps = load(path).steps
    assert [(s.qa, s.n) for s in steps if s.qa] == [("background", 90.0)]
    [want] = [s.expect for s in steps if s.expect is not None]
    assert want.counters["guest_sessions"] == 2 and want.state == "active"
    outcome = await run(load(path))
    assert outcome.passed, outcome.failure


def test_play_refuses_a_restart_and_record_a_file_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scenario", "play", "17"]) == 2
    said = capsys.readouterr().err
    assert "restarts the app" in said and "sessionkeeper scenario run 17-quit" in said
    assert main(["scenario", "record", str(tmp_path / "notes.txt")]) == 2
    assert "a scenario file ends in .toml" in capsys.readouterr().err
    assert main(["scenario", "record", "/proc/no-such-dir/bug.toml"]) == 2
    assert "cannot write it" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["scenario", "play", "tour", "--speed", "0"])
    assert exited.value.code == 2 and "must be between 0.1 and 20, got 0" in capsys.readouterr().err


SIGNS_IN = """
title = "Ada signs in, and the app says so"
covers = []
ttl = 120
warn = 20

[[step]]
say = "Ada signs in."

[[step]]
press = "s"

[[step]]
type = "ada"

[[step]]
press = "tab"

[[step]]
type = "lovelace"

[[step]]
press = "enter"

[[step]]
wait = { user = "ada" }
within = 20

[[step]]
say = "She is in."
"""


@pytest.mark.slow  # a scenario played through the app
async def test_while_a_scenario_plays_notifications_are_said_under_the_caption_not_as_toasts(
    tmp_path: Path,
) -> None:
    """Issue 18, item 11: a toast covered the caption ("Signed in as ada." for 5 s, twice a tour)."""
    path = tmp_path / "signs-in.toml"
    path.write_text(SIGNS_IN)
    scenario = load(path)
    noted: list[str] = []

    async def read(_seconds: float) -> None:
        """No time, but the last caption stays until the app has said "Signed in" (as toast or note)."""
        await asyncio.sleep(0)
        if app.caption is not None and app.caption.text.startswith("She is in."):
            await until(lambda: bool(toasts or noted), within=5)

    player = Player(scenario, sleep=read)
    app, _clock, _server = make_app(tmp_path / "data", ttl=scenario.ttl, warn=scenario.warn)
    toasts: list[str] = []
    toast = app.notify

    def notify(message: str, **kwargs: object) -> None:
        toasts.append(message)
        toast(message, **kwargs)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]
    app.director = player
    shown = keep_captions(app)
    show = app.show_caption

    def note(caption: Caption | None) -> None:
        if caption is not None and "🔔 Signed in as ada." in caption.text:
            noted.append(caption.text)
        show(caption)

    app.show_caption = note  # type: ignore[method-assign]
    async with app.run_test(size=SIZE):
        await until(lambda: player.finished or player.paused)
        assert not player.paused, [c.text for c in shown if c.tone == "fail"]
        assert toasts == []  # nothing covered the caption while the script played
        assert noted and noted[0] == "She is in.\n🔔 Signed in as ada."  # under the caption
        assert shown[-1].tone == "done" and "runs on" in shown[-1].text
        app.notify("After the end, the app is the presenter's again.")
        assert toasts == ["After the end, the app is the presenter's again."]


@pytest.mark.slow  # a scenario recorded through the app
async def test_a_flaky_fault_and_a_sleep_are_recorded_as_steps_that_load(tmp_path: Path) -> None:
    path = tmp_path / "flaky.toml"
    async with recording(tmp_path, path) as (rec, pilot):
        app = rec.app
        await pilot.press("f2", "percent_sign", "percent_sign", "d")
        await app.workers.wait_for_complete()
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    text = path.read_text()
    assert 'qa = "down"\non = true\nrate = 0.3\npath = "/graphql"' in text, text
    steps = [s for s in load(path).steps if s.qa is not None]
    assert [(s.qa, s.on, s.rate, s.path, s.n) for s in steps] == [
        ("down", True, 0.3, "/graphql", None),
        ("sleep", None, None, None, 30.0),
    ]
