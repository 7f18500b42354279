"""Whether the person is here: keys and clicks (activity, rule 4's idle test), terminal focus and
Ctrl+Z (the app going to the background and coming back, rule 9).

In a browser the page decides (tui/web/templates/app_index.html): a visible page's app is in front
from its start, and a page opened hidden says so itself. Textual's web driver tells every app
"blurred" as it starts, before the page has said anything; that first blur is not the page's, and
is answered at once with a focus, so a new tab never opens paused (and never pays a refresh for it).

A key pressed in the QA panel is the tester's, not the person's: it is no activity, and a QA key
reaching a blurred app (a hidden browser tab, a terminal in the background) leaves it where it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events

from sessionkeeper.tui.screens.base import is_qa_tool
from sessionkeeper.tui.widgets.footer import in_browser

if TYPE_CHECKING:
    from sessionkeeper.tui.host import Host


class Presence:
    def __init__(self, app: Host) -> None:
        self._app = app
        self.last_key_at: float | None = None  # the latest key of the person (not QA), app clock
        self.suspended = False
        self.qa_key_while_away = False  # a QA key is being handled in a blurred app
        # In a browser, the blur the web driver posts as the app starts is still to come.
        self._driver_blur_due = in_browser()

    def input_arrived(self, event: events.Key | events.MouseDown) -> None:
        """A key or click from the terminal: the person's activity, unless it is the tester's."""
        app = self._app
        client = app.client
        if client is None or is_qa_tool(app.screen):
            return
        if isinstance(event, events.Key) and event.key == "f2":
            return  # opening the QA panel is not activity
        client.manager.user_activity()
        if isinstance(event, events.Key):
            self.last_key_at = app.now()

    def is_qa_key_while_away(self, event: events.Key) -> bool:
        """Textual takes any key reaching a blurred app as the app being focused; a QA key is not."""
        return not self._app.app_focus and (is_qa_tool(self._app.screen) or event.key == "f2")

    def focus_changed(self, focused: bool) -> None:
        app = self._app
        if self._driver_blur_due:
            self._driver_blur_due = False
            if not focused:  # the web driver's, at start: the page has not spoken yet
                app.post_message(events.AppFocus())
                return
        client = app.client
        if client is None or self.suspended or self.qa_key_while_away:
            return
        if app.director is not None:  # first: what the session does next follows the return
            app.director.away(not focused)
        if focused:
            client.manager.resume()
        else:
            client.manager.background()
        app.refresh_countdown()

    def on_suspend(self, _: object) -> None:
        # Runs before the process stops (immediate=True), so the pause is recorded in time.
        app = self._app
        self.suspended = True
        if app.director is not None:
            app.director.away(True)
        if app.client is not None:
            app.client.manager.background()

    def on_resume(self, _: object) -> None:
        app = self._app
        self.suspended = False
        if app.director is not None:
            app.director.away(False)
        if app.client is not None:
            # After a stop from outside no suspend came first: the engine notices from the gap.
            app.client.manager.resume()
            app.refresh_chrome()
