"""`sessionkeeper scenario record FILE`: the app as always, while what the tester does is written
into a scenario file that `scenario run` replays.

Written down: the keys (text typed into a field as one `type` step), the QA actions run from the
panel (a switch with the state it left), the app going to the background and coming back (as a
`background` of the time it was away), and the time that passed: a `skip` wherever the session
itself acted on the clock (a warning, a refresh, an expiry), so that the replay's fake clock
reaches each of those moments as the real one did. In the QA panel, `p` pins an expectation:
what is true now (state, holder, prompt, remaining time, the screen's title, the server's
session counters, the drift). The file is rewritten after every step: a crash loses nothing.
Mouse clicks are not recorded (the keys of every button are).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from sessionkeeper.api.errors import ApiError
from sessionkeeper.tui.scenario.probe import holder
from sessionkeeper.tui.screens.base import is_qa_tool
from sessionkeeper.tui.widgets.caption_bar import Caption

if TYPE_CHECKING:
    from sessionkeeper.api.network import Scope
    from sessionkeeper.session import decisions as d
    from sessionkeeper.tui.app import SessionKeeperApp

# Time shorter than this between two steps is carried over to the next skip, not written.
MIN_SKIP_S = 1.0
# The server's counters that say what happened to the session (not the call counts, which the
# live app's warm-up query and the QA panel's own reading make differ from a replay's).
SESSION_COUNTERS = ("guest_sessions", "logins", "refreshes", "refresh_failures", "reauths", "rejected")
# Keys that are the recording's own business, not the scenario's.
NOT_RECORDED = ("f2", "ctrl+q", "ctrl+z", "ctrl+p")


class Recorder:
    records = True

    def __init__(
        self, path: Path, *, ttl: float, warn: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.ttl = ttl
        self.warn = warn
        self.clock = clock
        self.steps: list[dict[str, Any]] = []
        self._app: SessionKeeperApp | None = None
        self._since = clock()  # when the time not yet written down began
        self._typing: str | None = None  # text typed into a field, not yet a step
        self._away_since: float | None = None

    # -- tui.app.Director ----------------------------------------------------------------------

    async def direct(self, app: SessionKeeperApp) -> None:
        self._app = app
        self._since = self.clock()
        client, qa = app.client, app.qa
        if client is not None:
            client.manager.subscribe(self._decided)
        if qa is not None:
            qa.listeners.append(self._qa_done)
        self._save()
        app.show_caption(self._caption())

    def key(self, event: events.Key) -> bool:
        app = self._app
        if app is None or event.key in NOT_RECORDED or is_qa_tool(app.screen):
            return False  # QA panel keys are written as the QA actions they run
        if event.is_printable and event.character and isinstance(app.focused, Input):
            self._typing = (self._typing or "") + event.character
            return False
        self._flush_typing()
        self._time_passed()
        self._add({"press": event.key})
        return False

    def away(self, away: bool) -> None:
        now = self.clock()
        if away:
            self._flush_typing()
            self._time_passed()
            self._away_since = now
            return
        if self._away_since is None:
            return
        seconds, self._away_since = now - self._away_since, None
        self._since = now
        self._add({"qa": "background", "n": _tenths(seconds)})

    async def pin(self, app: SessionKeeperApp) -> str:
        """Expect what is true now; the words say what was pinned."""
        self._flush_typing()
        self._time_passed()
        want = await expectation_now(app)
        self._add({"expect": want})
        return "pinned: " + ", ".join(f"{k} {_toml(v)}" for k, v in want.items())

    # -- what happens ---------------------------------------------------------------------------

    def _decided(self, decision: d.Decision) -> None:
        """The session acted: the replay's clock must have reached this moment by the next step."""
        self._flush_typing()
        self._time_passed()

    def _qa_done(self, name: str, n: float | None, on: bool | None, scope: Scope | None) -> None:
        self._flush_typing()
        self._time_passed()
        step: dict[str, Any] = {"qa": name}
        if n is not None:
            step["n"] = n
        if on is not None:
            step["on"] = on
        if scope is not None:
            step["rate"] = scope.rate
            if scope.path:
                step["path"] = scope.path
        self._add(step)
        self._since = self.clock()  # the action's own time (a round trip) is not the tester's

    def _time_passed(self) -> None:
        now = self.clock()
        seconds = now - self._since
        if seconds >= MIN_SKIP_S:
            self._since = now
            self._add({"qa": "skip", "n": _tenths(seconds)})

    def _flush_typing(self) -> None:
        if self._typing:
            text, self._typing = self._typing, None
            self._add({"type": text})

    def _add(self, step: dict[str, Any]) -> None:
        self.steps.append(step)
        self._save()
        if self._app is not None:
            self._app.show_caption(self._caption())

    # -- the file ---------------------------------------------------------------------------------

    def close(self) -> None:
        """What is still pending (text typed last), written down."""
        self._flush_typing()
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".part")
        temporary.write_text(self.toml(), encoding="utf-8")
        temporary.replace(self.path)  # never a half-written file

    def toml(self) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"title = {_toml(f'Recorded {stamp}: say here what it shows')}",
            "covers = []  # the edge cases of docs/rules.md it shows, if any",
            f"ttl = {self.ttl:g}",
            f"warn = {self.warn:g}",
        ]
        for step in self.steps:
            lines.append("")
            lines.append("[[step]]")
            lines.extend(f"{key} = {_toml(value)}" for key, value in step.items())
        return "\n".join(lines) + "\n"

    def _caption(self) -> Caption:
        return Caption(
            f"● Recording to {self.path} · {len(self.steps)} steps",
            status="F2 then p: expect what is true now · ctrl+q: stop (the file is saved as you go)",
            tone="fail",
        )


async def expectation_now(app: SessionKeeperApp) -> dict[str, Any]:
    """What holds now, as an `expect` table: the replay checks the same."""
    client, view, qa = app.client, app.view(), app.qa
    want: dict[str, Any] = {}
    if client is None or view is None:
        return want
    want["state"] = view.state.value
    want["user"] = holder(app)
    want["prompt"] = view.prompt_visible
    if view.remaining_s is not None and view.state.value not in ("signed_out", "no_session"):
        left = view.remaining_s
        want["remaining"] = [max(0, math.floor(left) - 2), math.ceil(left) + 2]
    title = _title(app)
    if title:
        want["screen"] = [title]
    if qa is not None:
        try:
            state = await qa.control.state()
        except ApiError:
            return want  # the server could not say: what the client holds is still worth checking
        want["counters"] = {name: state.counters.get(name, 0) for name in SESSION_COUNTERS}
        session = state.live_session(client.username)
        if session is not None and view.remaining_s is not None:
            drift = session.expires_in_s - view.remaining_s
            want["drift"] = "0" if abs(drift) < 1.0 else ("+" if drift > 0 else "-")
    return want


def _title(app: SessionKeeperApp) -> str | None:
    """The title of the screen the tester is looking at (under the QA panel, if it is open)."""
    for screen in reversed(app.screen_stack):
        if is_qa_tool(screen) or isinstance(screen, ModalScreen):
            continue  # the flow's title: a replay sees it whether the prompt is over it or not
        for widget in screen.query(Static):
            if widget.has_class("title") or (widget.id or "").endswith("-title"):
                return str(widget.render()).strip() or None
        return None
    return None


def _tenths(seconds: float) -> float:
    return math.floor(seconds * 10) / 10


def _toml(value: Any) -> str:
    """A TOML value: JSON's strings, numbers and arrays are TOML's; tables are written inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value, ensure_ascii=False)
