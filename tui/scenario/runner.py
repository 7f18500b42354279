"""Runs a scenario headless: the real app from the one factory (`build_app`), the real backend on
loopback, fake clocks on both sides (a 15-minute wait costs nothing), keys posted as the terminal
sends them (each handled before the next), QA actions through the same `QADesk` the panel uses.
Each expectation is checked against the client's view, the screen, the timeline and the server's own
`/__qa/state`.

A step with `instance = 2` drives a second app on the same data dir, against the same backend and on
the same clock (two terminals of one person, rule 14): it starts at the first such step, and after
every step each app looks at the session they share, as its once-a-second heartbeat does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sessionkeeper.api.errors import ApiError
from sessionkeeper.session.clock import Clock, FakeClock
from sessionkeeper.tui.scenario.model import Condition, Outcome, Sample, Scenario, Shot, Step, StepRecord
from sessionkeeper.tui.scenario.probe import busy, check, handled, post_key
from sessionkeeper.tui.services import Overrides
from sessionkeeper.tui.settings import Settings

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from sessionkeeper.api.wire import WireLog
    from sessionkeeper.tui.app import SessionKeeperApp

SIZE = (100, 32)
SEED = 20  # the draws of flaky faults (a rate): the same in every run
# A step whose work waits on a request held at a breakpoint is done once nothing else has gone over
# the wire for this long (loopback calls take milliseconds).
HELD_QUIET_S = 0.3


class StepFailed(Exception):
    pass


async def run(scenario: Scenario, *, evidence: Path | None = None) -> Outcome:
    """The scenario's steps, in order, until one fails. The backend runs on loopback for the whole
    scenario, so that a `restart` step quits the app and starts it again against the same server."""
    from sessionkeeper.api.backend.quick_start import QuickStart
    from sessionkeeper.api.backend.serve import EmbeddedBackend
    from sessionkeeper.tui.app import build_app

    started = time.perf_counter()
    data = Path(tempfile.mkdtemp(prefix="sessionkeeper-scenario-"))
    out = evidence / scenario.name if evidence is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    server_clock, client_clock = FakeClock(), FakeClock()
    from sessionkeeper.api.backend.sessions import DEFAULT_LIFETIME_S

    lifetime = DEFAULT_LIFETIME_S if scenario.lifetime is None else scenario.lifetime
    # Seeded: a flaky fault's draws (a rate) fall the same way in every run.
    backend = EmbeddedBackend(
        app=QuickStart(ttl_s=scenario.ttl, lifetime_s=lifetime, clock=server_clock.now, seed=SEED)
    )
    outcome = Outcome(scenario, passed=False, seconds=0.0)
    driver = _Driver(out, outcome)
    second = contextlib.AsyncExitStack()

    def new_app(url: str, clock: Clock = client_clock) -> SessionKeeperApp:
        return build_app(
            Settings(
                ttl_s=scenario.ttl,
                warn_s=scenario.warn,
                data_dir=data,
                backend_url=url,
                # Its clock stands still between steps: a guard would never end. A step that
                # answers the prompt is a person who has read it (play keeps the guard).
                prompt_guard_s=0.0,
            ),
            overrides=Overrides(
                clock=clock,
                auto_wake=False,  # the runner ticks after every step: time moves only when told
                notice_sleep=True,  # a QA sleep is found as a real one is: the clocks drift apart
                warm_up_after_s=None,  # its query would show in the server's counters
                backend_lifetime_s=scenario.lifetime,
            ),
            tick_interval=3600.0,
        )

    async def start_second(url: str) -> None:
        # On the first one's clock, QA skips included: one machine's time. (A skip in the second
        # moves the second alone, as it would in a second process.)
        app = new_app(url, driver.apps[1][0].services.clock)
        pilot = await second.enter_async_context(app.run_test(size=SIZE))
        await app.ready.wait()
        if app.startup_error:
            raise StepFailed(f"the second instance did not start: {app.startup_error}")
        driver.attach(app, pilot, instance=2)

    try:
        url = await backend.start()
        driver.start_second = lambda: start_second(url)
        steps = list(scenario.steps)
        restart: Step | None = None
        while True:
            app = new_app(url)
            async with app.run_test(size=SIZE) as pilot:
                await app.ready.wait()
                if app.startup_error:
                    raise StepFailed(f"the app did not start: {app.startup_error}")
                driver.attach(app, pilot)
                await driver.settle()
                # The first screen, or the one the restart brought (if it differs).
                await driver.look(restart.line if restart is not None else None)
                if restart is not None:
                    driver.record(restart)
                else:
                    outcome.opening.extend(driver.taken())
                await driver.sample(restart)
                try:
                    while steps and not steps[0].restart:
                        await driver.step(steps.pop(0))
                    await driver.finish_detached()
                finally:
                    await second.aclose()
            if not steps:
                break
            restart = steps.pop(0)
        outcome.passed = True
    except StepFailed as exc:
        outcome.failure = str(exc)
    finally:
        with contextlib.suppress(Exception):
            await backend.stop()
        if out is not None and (data / "timeline.jsonl").exists():
            shutil.copyfile(data / "timeline.jsonl", out / "timeline.jsonl")
        shutil.rmtree(data, ignore_errors=True)
    outcome.seconds = time.perf_counter() - started
    outcome.exchanges = [exchange for log in driver.wire for exchange in log.exchanges]
    if out is not None:
        from sessionkeeper.tui.scenario.evidence import write_evidence

        write_evidence(outcome, out)
    return outcome


class _Driver:
    def __init__(self, out: Path | None, outcome: Outcome) -> None:
        self.out = out
        self.outcome = outcome
        self.wire: list[WireLog] = []  # each app's (a restart's, a second window's): its requests
        self.apps: dict[int, tuple[SessionKeeperApp, Pilot[None]]] = {}
        self.current = 1  # the instance the step in hand drives
        self.start_second: Callable[[], Awaitable[None]] | None = None
        self._origin: float | None = None  # the client's clock when the scenario began
        self._carried = 0.0  # scenario time that passed in the apps before a restart
        self.detached: list[tuple[Step, asyncio.Future[str]]] = []  # QA actions still running
        # Waits left behind when a request was held at a breakpoint: they end once it is decided.
        self._left: list[asyncio.Future[object]] = []
        # With evidence: per window, what its last screenshot showed (a fingerprint of the screen's
        # cells), and the screenshots taken since the last step was recorded.
        self._seen: dict[int, int] = {}
        self._shots: list[Shot] = []

    async def finish_detached(self) -> None:
        """Every detached QA action ended; one that failed fails the scenario at its step."""
        while self.detached:
            step, future = self.detached.pop(0)
            try:
                await asyncio.wait_for(future, timeout=30)
            except (ApiError, ValueError, TimeoutError) as exc:
                raise StepFailed(f"step at line {step.line} (qa, detached): {exc or 'no end'}") from None

    @property
    def app(self) -> SessionKeeperApp:
        return self.apps[self.current][0]

    @property
    def pilot(self) -> Pilot[None]:
        return self.apps[self.current][1]

    def attach(self, app: SessionKeeperApp, pilot: Pilot[None], *, instance: int = 1) -> None:
        """The app the next steps drive (a new one after a restart), or the second instance's."""
        if instance == 1 and self._origin is not None and self.outcome.samples:
            self._carried = self.outcome.samples[-1].at
            self._origin = None
        self.apps[instance] = (app, pilot)
        client = app.services.client
        if client is not None and client.wire not in self.wire:
            self.wire.append(client.wire)
            client.network.chance = random.Random(SEED + instance).random  # as the server's draws

    async def step(self, step: Step) -> None:
        if step.instance not in self.apps:
            assert self.start_second is not None
            await self.start_second()
            await self.settle()
        self.current = step.instance
        try:
            await self.do(step)
            if step.say is None:  # a caption changes nothing on screen
                await self.look(step.line)
        except StepFailed as exc:
            await self.snapshot(f"failed-line-{step.line}", why="failed")
            self.record(step, problem=str(exc))
            where = f", instance {step.instance}" if step.instance != 1 else ""
            raise StepFailed(f"step at line {step.line} ({step.kind}{where}): {exc}") from None
        finally:
            self.current = 1
        self.record(step)
        await self.sample(step)

    def record(self, step: Step, problem: str | None = None) -> None:
        if self.out is None:
            return
        self.outcome.records.append(StepRecord(step, problem is None, tuple(self.taken()), problem))

    def taken(self) -> list[Shot]:
        """The screenshots taken since the last call (those of the step in hand)."""
        shots, self._shots = self._shots, []
        return shots

    async def look(self, line: int | None = None) -> None:
        """With evidence, a screenshot of each window whose screen changed since its last one: the
        app the step drove first. Comparing a fingerprint of the screen's cells (its text and
        styles) costs about a millisecond; only a change costs more: repaints until the screen
        holds still (a footer that follows a new screen comes a repaint or two after it), and the
        SVG."""
        if self.out is None:
            return
        for instance in sorted(self.apps, key=lambda instance: instance != self.current):
            app, pilot = self.apps[instance]
            seen = _fingerprint(app)
            if seen == self._seen.get(instance):
                continue
            for _ in range(5):
                await pilot.pause(0)
                again = _fingerprint(app)
                if again == seen:
                    break
                seen = again
            name = "start" if line is None else f"line-{line}"
            self.shoot(instance, name, why="changed" if line is not None else "start", seen=seen)

    async def sample(self, step: Step | None) -> None:
        """Both sides' remaining time now, for the evidence chart (only when evidence is kept)."""
        if self.out is None or (step is not None and step.say is not None):
            return
        app = self.apps[1][0]  # the chart follows the first instance
        client, qa = app.client, app.qa
        view = app.view()
        if client is None or view is None or qa is None:
            return
        if self._origin is None:
            self._origin = app.now()
        server: float | None = None
        try:
            session = (await qa.control.state()).live_session(client.username)
            server = session.expires_in_s if session is not None else None
        except ApiError:
            pass
        label = ""
        if step is not None and step.qa is not None:
            label = step.qa_words
        elif step is not None and step.press:
            label = "+".join(step.press)
        elif step is not None and step.restart:
            label = "restart"
        remaining = None if view.state.value == "signed_out" else view.remaining_s
        at = self._carried + app.now() - self._origin
        line = step.line if step is not None else None
        self.outcome.samples.append(Sample(at, remaining, server, label, line))

    async def settle(self) -> None:
        """What the apps' own timers would have done by now: with two, each looks at the session
        they share (its heartbeat); then a tick, the flights it started, a repaint. The app the
        step drove goes last: it sees what the other did."""
        order = sorted(self.apps, key=lambda instance: instance == self.current)
        for instance in order:
            app, pilot = self.apps[instance]
            client = app.client
            if client is not None:
                if len(self.apps) > 1:
                    client.manager.sync()
                client.manager.tick()
                await asyncio.sleep(0)  # let what the tick started begin
                await self.done_or_held(client.settle())
            await self.done_or_held(app.workers.wait_for_complete())
            app.refresh_chrome()
            # Every pending event of the screen processed, then one repaint; not `pause()`, whose
            # wait for the CPU to go idle cost ~0.1 s a step.
            await pilot.pause(0)

    async def do(self, step: Step) -> None:
        if step.say is not None:
            return  # a caption: nothing happens in the app (the evidence page shows it)
        if step.press:
            await self.press(step.press)
        elif step.type is not None:
            await self.press(tuple(step.type))
        elif step.qa is not None:
            qa = self.app.qa
            if qa is None:
                raise StepFailed("QA is not available (the app did not start)")
            action = qa.run(step.qa, amount=step.n, on=step.on, scope=step.scope)
            if step.detach:
                self.detached.append((step, asyncio.ensure_future(action)))
                for _ in range(20):  # far enough for its calls to be on their way
                    await asyncio.sleep(0)
                return
            try:
                await action
            except (ApiError, ValueError) as exc:
                raise StepFailed(f"QA action {step.qa!r} failed: {exc}") from None
        elif step.snapshot is not None:
            await self.snapshot(step.snapshot, why="snapshot")
        elif step.wait is not None:
            await self.wait(step.wait, step.within)
            return
        elif step.expect is not None:
            await self.settle()
            problems = await check(self.app, step.expect)
            if problems:
                raise StepFailed("; ".join(problems))
            return
        await self.settle()

    async def press(self, keys: tuple[str, ...]) -> None:
        """Each key as the terminal would send it, then every event it caused handled (the app's
        binding, the focused widget's handler, a screen it pushed, a worker it started); not
        `Pilot.press`, which waits twice per key for the CPU to go idle (>= 40 ms a key, most of a
        scenario's time, and still no promise that a call it started has been answered)."""
        for key in keys:
            post_key(self.app, key)
            await self.quiesce()

    async def quiesce(self) -> None:
        """Until no queue of the app or of the screen's widgets holds a message and no worker runs."""
        for _ in range(100):
            await handled(self.app)
            await self.done_or_held(self.app.workers.wait_for_complete())
            if self.held() or not (busy(self.app) or any(worker.is_running for worker in self.app.workers)):
                return

    def held(self) -> bool:
        """A request of one of the apps is held at a breakpoint (QA hold_call, hold_answer...)."""
        return any(wire.holds for wire in self.wire)

    async def done_or_held(self, waiting: Awaitable[object]) -> None:
        """Until `waiting` is done, or it waits on a request held at a breakpoint: a request is
        held and nothing has gone over the wire for `HELD_QUIET_S` (the other calls and flights
        on their way have landed). What waits on the held request goes on once a later step
        decides it (releases, aborts, answers)."""
        task = asyncio.ensure_future(waiting)
        seen: tuple[int, ...] = ()
        quiet_since = time.perf_counter()
        while not task.done():
            if self.held():
                now = time.perf_counter()
                moved = tuple(wire.version for wire in self.wire)
                if moved != seen:
                    seen, quiet_since = moved, now
                elif now - quiet_since >= HELD_QUIET_S:
                    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # said by its step
                    self._left.append(task)
                    return
            await asyncio.wait({task}, timeout=0.01)
        task.result()

    async def wait(self, condition: Condition, within: float) -> None:
        deadline = time.perf_counter() + within
        while True:
            await self.settle()
            problems = await check(self.app, condition)
            if not problems:
                return
            if time.perf_counter() >= deadline:
                raise StepFailed(f"not within {within:g} s: " + "; ".join(problems))
            await asyncio.sleep(0.05)  # real time: loopback I/O may still be on its way

    async def snapshot(self, name: str, *, why: str) -> None:
        """A screenshot of the app the step drives, whether or not its screen changed."""
        self.shoot(self.current, name, why=why)

    def shoot(self, instance: int, name: str, *, why: str, seen: int | None = None) -> None:
        if self.out is None:
            return
        app = self.apps[instance][0]
        window = f"-window-{instance}" if len(self.apps) > 1 else ""
        filename = f"{len(self.outcome.snapshots) + 1:02d}-{_slug(name)}{window}.svg"
        self._seen[instance] = _fingerprint(app) if seen is None else seen
        app.save_screenshot(filename, str(self.out))
        self.outcome.snapshots.append(self.out / filename)
        self._shots.append(Shot(self.out / filename, instance, why))


def _fingerprint(app: SessionKeeperApp) -> int:
    """What the screen shows, cell by cell (its text and styles), rendered as `save_screenshot`
    renders it (the screen and the ones it lets show through), without making the SVG. A text
    field's cursor is made to stand still first: its blink runs on real time, and would both tell
    of changes that are none and leave the cursor out of a screenshot at random."""
    from textual.widgets import Input, TextArea

    for screen in app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False
        for area in screen.query(TextArea):
            area.cursor_blink = False
    # The screenshot's own text (Textual's public export; its id is derived from its content):
    # a little dearer than the compositor's cells, which are Textual's private business.
    return hash(app.export_screenshot())


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:40] or "snapshot"
