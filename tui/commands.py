"""The command palette's own commands (Ctrl+P): the app's actions and every QA action by name,
so a demo can be driven without remembering keys. Only what works now is offered."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message

from sessionkeeper.tui.messages import EndSession, OpenFlow, RunQA, ShowBookings, ShowSignIn

if TYPE_CHECKING:
    from sessionkeeper.tui.host import Host


class SessionCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        from sessionkeeper.api.qa.actions import ACTIONS, SCOPES

        app = cast("Host", self.app)
        client = app.client
        if client is None:
            return []

        def post(message: Message) -> Callable[[], None]:
            def send() -> None:
                app.post_message(message)

            return send

        commands = [
            ("Book a flight", "start the booking flow", post(OpenFlow("search"))),
            ("My bookings", "what this session's owner has booked", post(ShowBookings())),
        ]
        if app.saved_draft() is not None:
            commands.append(("Continue the saved booking", "at the step it was left", post(OpenFlow())))
        if client.manager.signed_in:
            commands.append(("Sign out", "end the session; the draft is kept", post(EndSession())))
        else:
            commands.append(("Sign in", "as a demo user", post(ShowSignIn())))
        commands.append(("QA panel", "open or close it (F2)", app.action_qa_panel))
        for action in ACTIONS:
            commands.append((action.title, action.help, post(RunQA(action.name))))
        desk = app.qa
        if desk is not None:
            for index, scope in enumerate(SCOPES):

                def where(index: int = index, words: str = scope.words or " everywhere") -> None:
                    desk.scope_index = index
                    app.notify(f"Faults turned on now apply{words}.", title="QA")

                help_text = "where the next fault turned on applies (the panel's %)"
                commands.append((f"QA: faults apply{scope.words or ' everywhere'}", help_text, where))
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
