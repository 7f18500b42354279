"""What a scenario step reads from the running app and sends to it, shared by the headless runner
and the live player: a condition checked against the client's view, the screen in view, the
timeline and the server's `/__qa/state`; a key built as the terminal would send it."""

from __future__ import annotations

import asyncio
import contextlib
import unicodedata
from typing import TYPE_CHECKING

from textual import events
from textual.keys import KEY_NAME_REPLACEMENTS, REPLACED_KEYS, key_to_character
from textual.widgets import Button, DataTable, Input, Static

from sessionkeeper.api.errors import ApiError
from sessionkeeper.session.kinds import SessionKind
from sessionkeeper.tui.scenario.model import Condition, timeline_detail

if TYPE_CHECKING:
    from sessionkeeper.session.timeline import TimelineEntry
    from sessionkeeper.tui.app import SessionKeeperApp


async def check(app: SessionKeeperApp, want: Condition) -> list[str]:
    """What differs between `want` and what is so now, in words: empty when it all holds."""
    client = app.client
    view = app.view()
    problems: list[str] = []

    def differ(name: str, expected: object, seen: object) -> None:
        problems.append(f"expected {name} {expected}, seen {seen}")

    if view is None or client is None:
        return ["the session never started"]
    if want.state is not None and view.state.value != want.state:
        differ("state", want.state, view.state.value)
    if want.user is not None:
        seen = holder(app)
        if seen != want.user:
            differ("user", want.user, seen)
    if want.remaining is not None:
        low, high = want.remaining
        left = view.remaining_s
        if left is None or not low <= left <= high:
            differ("remaining", f"{low:g}-{high:g} s", "none" if left is None else f"{left:.1f} s")
    if want.prompt is not None and view.prompt_visible != want.prompt:
        differ("prompt", "shown" if want.prompt else "hidden", "shown" if view.prompt_visible else "hidden")
    if want.screen:
        text = screen_text(app)
        for expected in want.screen:
            if expected not in text:
                problems.append(f"expected {expected!r} on screen, seen: {_squeeze(text)}")
    if want.timeline:
        entries = list(client.manager.timeline)
        names = [entry.name for entry in entries]
        missing = _not_in_order(want.timeline, entries)
        if missing is not None:
            problems.append(
                f"expected timeline events in order {list(want.timeline)}, {missing!r} missing;"
                f" seen: {names[-15:]}"
            )
    if want.counters or want.drift is not None:
        await _check_server(app, want, problems)
    return problems


async def _check_server(app: SessionKeeperApp, want: Condition, problems: list[str]) -> None:
    qa, client, view = app.qa, app.client, app.view()
    assert qa is not None and client is not None and view is not None
    try:
        state = await qa.control.state()
    except ApiError as exc:
        problems.append(f"the server's state could not be read: {exc}")
        return
    for name, expected in want.counters.items():
        seen = state.counters.get(name, 0)
        if seen != expected:
            problems.append(f"expected server counter {name}={expected}, seen {seen}")
    if want.drift is not None:
        session = state.live_session(client.username)
        if session is None or view.remaining_s is None:
            problems.append("expected a drift, but there is no live session on both sides")
            return
        drift = session.expires_in_s - view.remaining_s
        sign = "0" if abs(drift) < 1.0 else ("+" if drift > 0 else "-")
        if sign != want.drift:
            problems.append(f"expected drift {want.drift}, seen {drift:+.1f} s")


def holder(app: SessionKeeperApp) -> str:
    """Who holds the session, as a scenario names it: "none", "guest" or the user's name."""
    client, view = app.client, app.view()
    if client is None or view is None or view.kind is None:
        return "none"
    return "guest" if view.kind is SessionKind.GUEST else (client.username or "none")


def screen_text(app: SessionKeeperApp) -> str:
    """The words on the screens in view (the prompt and what it covers)."""
    parts: list[str] = []
    for screen in app.visible_screens():
        for widget in screen.walk_children():
            if isinstance(widget, Button):
                parts.append(str(widget.label))
            elif isinstance(widget, Input):
                parts.append(widget.value)
            elif isinstance(widget, Static):
                parts.append(str(widget.render()))
            elif isinstance(widget, DataTable):  # the request inspector's, the seat map's
                for row in range(widget.row_count):
                    parts.append(" ".join(str(cell) for cell in widget.get_row_at(row)))
    return "\n".join(parts)


async def drained(app: SessionKeeperApp, *, within_s: float = 10.0) -> None:
    """Until every message queued now for the app and the screen's widgets has been handled (the
    same wait as Textual's own Pilot makes between keys, without its wait for an idle CPU)."""
    nodes = [app, *app.screen.walk_children(with_self=True)]
    done = asyncio.Event()
    pending = 0

    def one_done() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            done.set()

    for node in nodes:
        if node.call_later(one_done):
            pending += 1
    # In slices: an app that stopped (an error ended it) runs none of these callbacks.
    waited = 0.0
    while pending and not done.is_set() and waited < within_s and app.return_code is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), _SLICE_S)
        waited += _SLICE_S


_SLICE_S = 0.1


def busy(app: SessionKeeperApp) -> bool:
    """A message still queued for the app or a widget of the screen in front."""
    nodes = [app, *app.screen.walk_children(with_self=True)]
    return any(not node._message_queue.empty() for node in nodes)


async def handled(app: SessionKeeperApp) -> None:
    """Until nothing is queued: a key's binding, the handler of the focused widget, a screen the key
    pushed and what that screen's mounting posted."""
    for _ in range(100):
        if app.return_code is not None:
            return  # the app has stopped: nothing more will be handled
        await drained(app)
        await asyncio.sleep(0)
        if not busy(app):
            return


def post_key(app: SessionKeeperApp, key: str) -> events.Key:
    """`key` queued for the app as the terminal would send it. Posted here, not through the driver
    (which posts from a coroutine it schedules), so that it is queued before anything posted after."""
    event = key_event(key)
    event.set_sender(app)
    app.post_message(event)
    return event


def key_event(key: str) -> events.Key:
    """The Key event a terminal's driver makes for `key` (a key name, or a character)."""
    if len(key) == 1 and not key.isalnum():
        key = character_key(key)
    return events.Key(key, key_to_character(REPLACED_KEYS.get(key, key)))


def character_key(character: str) -> str:
    """The key name Textual gives a character ("/" is "slash", "[" "left_square_bracket"), from
    its Unicode name, as Textual's own drivers name it (with Textual's public replacements)."""
    if character.isalnum():
        return character
    try:
        name = unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return "tab" if character == "\t" else character
    return KEY_NAME_REPLACEMENTS.get(name, name)


def _not_in_order(wanted: tuple[str, ...], entries: list[TimelineEntry]) -> str | None:
    """The first wanted entry not found after the ones before it, or None if all are in order. A
    wanted entry is a name (`resumed`), or a name and one of its details (`resumed/how=sleep`)."""
    position = 0
    for want in wanted:
        name, detail = timeline_detail(want)
        for index in range(position, len(entries)):
            entry = entries[index]
            if entry.name == name and (detail is None or str(entry.detail.get(detail[0])) == detail[1]):
                position = index + 1
                break
        else:
            return want
    return None


def _squeeze(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
