"""`sessionkeeper scenario play NAME`: a scenario played in the real terminal, for an audience.

The app runs as always (real clocks, the embedded backend); the player is its director
(tui.app.Director): it says each caption in the caption bar, shows each key as it sends it, announces
each jump in time ("⏩ 5 minutes later"), runs QA actions through the same QA desk the panel uses,
and checks each expectation live (✓, or ✗ with what was seen, and then it pauses). The presenter
holds it with `space`, steps with `→` (or skips the current wait), and stops it with `q`, leaving
the app in their hands. `--speed` scales every pause.

While the script plays, the app's notifications are said in the caption bar, under the caption,
instead of as toasts: a toast would cover the caption (issue 18, item 11).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import events

from sessionkeeper.api.errors import ApiError
from sessionkeeper.api.qa.actions import ACTIONS_BY_NAME
from sessionkeeper.tui.scenario.model import Condition, Scenario, Step
from sessionkeeper.tui.scenario.probe import check, handled, post_key
from sessionkeeper.tui.scenario.wording import timeline_words
from sessionkeeper.tui.widgets.caption_bar import Caption

if TYPE_CHECKING:
    from sessionkeeper.tui.app import SessionKeeperApp

# Seconds at speed 1: long enough to read aloud, short enough for a 3-minute tour.
KEY_S = 0.7
CHAR_S = 0.12
QA_S = 2.0
AWAY_S = 3.0  # the countdown shown paused while the app is in the background
CHECK_S = 1.5
READ_BASE_S = 2.5
READ_PER_CHAR_S = 0.075  # about 13 characters a second: the pace of reading aloud


# The last caption. The session runs on after it, as in normal use: the audience is told so.
END = "The end. The app is yours: the session runs on, and it asks before it expires (F2: the QA panel)."


class PlayError(Exception):
    """A scenario that cannot be played live (said before the app starts)."""


class Stopped(Exception):
    pass


def playable(scenario: Scenario) -> Scenario:
    """The scenario, or PlayError saying why it cannot be played live."""
    for step in scenario.steps:
        if step.instance != 1:
            raise PlayError(
                f"{scenario.name}: the step at line {step.line} drives a second instance, which a live"
                " play in one terminal cannot show; run it headless: "
                f"sessionkeeper scenario run {scenario.name}"
            )
        if step.restart:
            raise PlayError(
                f"{scenario.name}: the step at line {step.line} restarts the app, which a live play "
                "cannot do without losing its embedded server; run it headless: "
                f"sessionkeeper scenario run {scenario.name}"
            )
    return scenario


def reading_time(text: str) -> float:
    return READ_BASE_S + READ_PER_CHAR_S * len(text)


def planned_seconds(scenario: Scenario, speed: float = 1.0) -> float:
    """How long the scenario plays at `speed`, by the pauses alone (the app's own work adds little)."""
    total = 0.0
    for step in scenario.steps:
        if step.say is not None:
            total += reading_time(step.say)
        elif step.press:
            total += KEY_S * len(step.press)
        elif step.type is not None:
            total += CHAR_S * len(step.type) + KEY_S
        elif step.qa is not None:
            total += QA_S + (AWAY_S if step.qa == "background" else 0.0)
        elif step.expect is not None:
            total += CHECK_S
    return total / speed


def duration_words(seconds: float) -> str:
    """`5 minutes`, `1 minute 30 seconds`, `45 seconds`."""
    whole = round(seconds)
    minutes, rest = divmod(whole, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


def announce(step: Step) -> tuple[str, str]:
    """What the audience is told as a QA step runs, and the bar's tone (`time` for jumps)."""
    name, n = step.qa or "", step.n
    if name == "skip":
        return f"⏩ {duration_words(n or 0)} later", "time"
    if name == "to_warning":
        return "⏩ Later: the session is about to expire (its warning window)", "time"
    if name == "past_expiry":
        return "⏩ Later: the session's deadline has passed", "time"
    if name == "background":
        return f"☾ The app goes to the background for {duration_words(n or 0)}, then comes back", "time"
    if name == "sleep":
        return f"☾ The machine sleeps for {duration_words(n or 0)}: nothing runs", "time"
    if name == "freeze":
        return f"⏸ The process is stopped for {duration_words(n or 0)} (SIGSTOP), then continued", "time"
    if name == "burst":
        return f"⚡ {n or 0:g} calls at once, REST and GraphQL", "say"
    if name == "burst_at_expiry":
        return f"⚡ {n or 0:g} calls at once, just as the session expires", "say"
    action = ACTIONS_BY_NAME[name]
    title = action.title.removeprefix("QA: ")
    if action.switch:
        state = "" if step.on is None else (": on" if step.on else ": off")
        if step.on and step.scope is not None:
            state += step.scope.words
        return f"⚙ {title[0].upper()}{title[1:]}{state}", "say"
    return f"⚙ {title[0].upper()}{title[1:]}", "say"


def condition_words(condition: Condition) -> str:
    """An expectation in the audience's words: `active · ada · 0:59-1:00 left · no prompt`."""
    parts: list[str] = []
    if condition.state is not None:
        parts.append(condition.state.replace("_", " "))
    if condition.user is not None:
        parts.append({"none": "nobody signed in", "guest": "a guest"}.get(condition.user, condition.user))
    if condition.remaining is not None:
        low, high = condition.remaining
        parts.append(f"{low:g}-{high:g} s left")
    if condition.prompt is not None:
        parts.append("the prompt up" if condition.prompt else "no prompt")
    if condition.screen:
        parts.append("on screen: " + ", ".join(repr(text) for text in condition.screen))
    if condition.counters:
        parts.append("server: " + ", ".join(f"{k} {v}" for k, v in condition.counters.items()))
    if condition.drift is not None:
        parts.append("both sides agree" if condition.drift == "0" else f"drift {condition.drift}")
    if condition.timeline:
        parts.append("timeline: " + " → ".join(timeline_words(name) for name in condition.timeline))
    return " · ".join(parts)


class Player:
    """Plays one scenario into the app it is given (the app's director)."""

    records = False

    def __init__(
        self,
        scenario: Scenario,
        *,
        speed: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.scenario = playable(scenario)
        self.speed = speed
        self._sleep = sleep  # the script's pauses (tests pass one that takes no time)
        self.paused = False
        self.stopped = False
        self.finished = False
        self.index = 0  # the step being played
        self._skip = False  # `→` while running: cut the current wait short
        self._one_step = False  # `→` while paused: play one step, stay paused
        self._wake = asyncio.Event()
        self._sent: set[int] = set()  # ids of the key events the player posted
        self._said = ""  # the last caption: kept on the bar while keys are shown under it
        self._shown: Caption | None = None  # the bar as the script last set it, without the note
        self._note = ""  # the app's latest notification, said under the caption until the next one
        self._app: SessionKeeperApp | None = None
        self._detached: list[asyncio.Future[str]] = []
        planned = planned_seconds(scenario, speed)
        # To 10 s: whole minutes said "about 1 min" for 1:29 at speed 2.
        rounded = duration_words(round(planned / 10) * 10)
        self._length = f"about {rounded}" if planned >= 45 else "under a minute"

    # -- tui.app.Director ----------------------------------------------------------------------

    def key(self, event: events.Key) -> bool:
        if id(event) in self._sent:
            self._sent.discard(id(event))
            return False
        if self.stopped or self.finished:
            return False
        if event.key == "space":
            self.paused = not self.paused
        elif event.key == "right":
            if self.paused:
                self._one_step = True
            else:
                self._skip = True
        elif event.key == "q":
            self.stopped = True
        else:
            return False  # the presenter may use the app meanwhile
        self._wake.set()
        self._status_changed()
        return True

    def away(self, away: bool) -> None:
        """The audience sees the countdown pause; nothing for the script to do."""

    async def pin(self, app: SessionKeeperApp) -> str:
        return "expectations are pinned while recording (scenario record), not while playing"

    async def direct(self, app: SessionKeeperApp) -> None:
        self._app = app
        steps = self.scenario.steps
        toast = app.notify
        app.notify = self.notify  # type: ignore[method-assign]  # only while the script plays
        try:
            for index, step in enumerate(steps):
                await self._gate()
                self.index = index
                await self._play(step)
            for future in self._detached:
                await future
        except Stopped:
            app.notify = toast  # type: ignore[method-assign]
            self._say(f"Script stopped at step {self.index + 1} of {len(steps)}: the app is yours.", "done")
            await self._sleep(4)
            app.show_caption(None)
            return
        finally:
            app.notify = toast  # type: ignore[method-assign]
        self.finished = True
        self._say(END, "done")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: str = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """The app's notification while the script plays (it stands in for `App.notify`): said under
        the caption, where it covers nothing, until the next caption or notification."""
        mark = "⚠" if severity in ("warning", "error") else "🔔"
        self._note = f"{mark} {title + ': ' if title else ''}{message}"
        if self._shown is not None:
            self._show(self._shown)

    # -- playing ------------------------------------------------------------------------------------

    @property
    def app(self) -> SessionKeeperApp:
        assert self._app is not None
        return self._app

    async def _play(self, step: Step) -> None:
        if step.say is not None:
            self._said = step.say
            self._note = ""  # a new caption: the last notification has been read
            self._say(step.say, "say")
            await self._hold(reading_time(step.say))
        elif step.press:
            for key in step.press:
                await self._send(key, shown=key)
        elif step.type is not None:
            typed = ""
            for char in step.type:
                typed += char
                await self._send(char, shown=" ".join(typed), pause=CHAR_S)
            await self._hold(KEY_S)
        elif step.qa is not None:
            await self._qa(step)
        elif step.wait is not None:
            await self._wait(step.wait, step.within)
        elif step.expect is not None:
            await self._expect(step.expect)
        # A snapshot step is for the evidence of a headless run: nothing to show an audience.

    async def _send(self, key: str, *, shown: str, pause: float = KEY_S) -> None:
        self._show(Caption(self._said, keys=shown, status=self._status(), tone="keys"))
        # Handled only once this coroutine yields, so its id is known to `key` by then.
        self._sent.add(id(post_key(self.app, key)))
        await handled(self.app)  # the next key goes to what this one opened, however fast the pace
        await self._hold(pause)

    async def _qa(self, step: Step) -> None:
        words, tone = announce(step)
        self._said = words
        self._say(words, tone)
        qa = self.app.qa
        if qa is None:
            raise Stopped
        if step.qa == "background":
            # In two halves, so that the audience sees the countdown paused while the app is away.
            try:
                await qa.go_away(step.n or 0)
            except ApiError as exc:
                self._fail(f"✗ {words}: not done ({exc})")
                return
            self.app.refresh_chrome()
            try:
                await self._hold(AWAY_S)
            finally:  # stopped or not, the app does not stay in the background
                qa.come_back(step.n or 0)
            await self._hold(QA_S)
            return
        action = qa.run(step.qa or "", amount=step.n, on=step.on, scope=step.scope)
        if step.detach:
            self._detached.append(asyncio.ensure_future(action))
        else:
            try:
                await action
            except (ApiError, ValueError) as exc:
                self._fail(f"✗ {words}: not done ({exc})")
        await self._hold(QA_S)

    async def _wait(self, condition: Condition, within: float) -> None:
        self._say(f"⏳ Waiting for {condition_words(condition)}", "say")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while problems := await check(self.app, condition):
            if loop.time() >= deadline:
                self._fail("✗ " + "; ".join(problems))
                return
            await self._hold(0.2, scaled=False)

    async def _expect(self, condition: Condition) -> None:
        await asyncio.sleep(0.3)  # what the last key started: let the loopback answer land
        problems = await check(self.app, condition)
        if problems:
            self._fail("✗ " + "; ".join(problems))
            return
        self._say(f"✓ {condition_words(condition)}", "check")
        await self._hold(CHECK_S)

    def _fail(self, text: str) -> None:
        """An expectation that does not hold: said, and the script paused on it."""
        self.paused = True
        self._say(text, "fail")

    # -- pacing ------------------------------------------------------------------------------------

    async def _gate(self) -> None:
        """Before each step: hold while paused, unless one step was asked for."""
        while self.paused and not self._one_step:
            self._wake.clear()
            await self._wake.wait()
            if self.stopped:
                raise Stopped
        self._one_step = False

    async def _hold(self, seconds: float, *, scaled: bool = True) -> None:
        """A pause of the script: cut short by `→`, stretched by `space`, ended by `q`."""
        timer = asyncio.ensure_future(self._sleep(seconds / self.speed if scaled else seconds))
        try:
            while not timer.done():
                if self.stopped:
                    raise Stopped
                if self._skip:
                    self._skip = False
                    return
                self._wake.clear()  # no await since the flags were read: a key cannot slip between
                woken = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait({timer, woken}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
            if self.stopped:
                raise Stopped
        finally:
            timer.cancel()

    # -- the bar ------------------------------------------------------------------------------------

    def _status(self) -> str:
        name, total = self.scenario.name, len(self.scenario.steps)
        where = f"{name} · step {self.index + 1}/{total}"
        if self.paused:
            return f"⏸ {where} · space resume · → one step · q stop"
        return f"▶ {where}, {self._length} in all · space pause · → skip · q stop"

    def _say(self, text: str, tone: str) -> None:
        self._show(Caption(text, status=self._status() if tone != "done" else "", tone=tone))

    def _show(self, caption: Caption) -> None:
        self._shown = caption
        if self._note and caption.tone != "done":
            caption = replace(caption, text=f"{caption.text}\n{self._note}")
        if self._app is not None:
            self._app.show_caption(caption)

    def _status_changed(self) -> None:
        current = self._shown
        if self._app is not None and current is not None and current.tone != "done":
            self._show(replace(current, status=self._status()))
