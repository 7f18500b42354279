"""QA actions run by the app, not by the panel that asked: closing the QA panel must not cancel a
burst in flight. What each did goes on the timeline (`qa_action`), into the QA panel if one is open
(or the next time one opens: `last_result`), and into a notification when none is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionkeeper.tui import wording

if TYPE_CHECKING:
    from sessionkeeper.tui.host import Host


class QARunner:
    def __init__(self, app: Host) -> None:
        self._app = app
        self.last_result: str | None = None

    def run(self, name: str) -> None:
        """Run the QA action `name` to its end, whatever becomes of the screen that asked."""
        self._app.to_the_end(self._run(name))

    async def _run(self, name: str) -> None:
        from sessionkeeper.api.errors import ApiError
        from sessionkeeper.tui.screens.qa import QAPanel

        app = self._app
        qa = app.qa
        if qa is None:
            return
        try:
            result = await qa.run(name)
        except ApiError as exc:
            result = f"{name}: not done; {wording.qa_server_problem(exc)}"
        app.record("qa_action", action=name, result=result)
        self.last_result = result
        panels = [screen for screen in app.screen_stack if isinstance(screen, QAPanel)]
        for panel in panels:
            panel.note(result)
            panel.poll_server()
        if not panels:
            app.notify(result, title="QA")
        app.refresh_chrome()
