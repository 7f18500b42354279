"""Moving between screens, as the screens ask with `tui.messages` (they never move themselves: a
screen that awaited its own replacement would wait for itself forever).

The app's message handlers hand each request here; this decides which screen comes. Home is the
bottom of the stack (the app's default screen): every other screen is over it, and it is never
popped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionkeeper.tui.messages import GoBack, NextStep, OpenFlow, ShowSignIn, SignInSucceeded

if TYPE_CHECKING:
    from sessionkeeper.tui.host import Host


class Navigator:
    def __init__(self, app: Host) -> None:
        self._app = app
        # True while screens are closed on the way home: the ones uncovered are not being opened.
        self.going_home = False

    async def open_flow(self, message: OpenFlow) -> None:
        """The booking flow, at the asked step, or the saved draft's (or the start)."""
        from sessionkeeper.tui.screens.booking import screen_for

        app = self._app
        if app.client is None:
            app.notify("Still connecting to the server; one moment.")
            return
        draft = app.saved_draft()
        step = message.step or (draft.step if draft else "search")
        await self.back_home()
        await app.push_screen(screen_for(step))

    async def next_step(self, message: NextStep) -> None:
        from sessionkeeper.tui.screens.booking import screen_for

        await self._app.push_screen(screen_for(message.step))

    async def go_back(self, message: GoBack) -> None:
        from sessionkeeper.tui.screens.booking import STEPS, BookingStep, screen_for

        app = self._app
        screen = app.screen
        below = app.screen_stack[-2] if len(app.screen_stack) > 1 else None
        if isinstance(screen, BookingStep) and not isinstance(below, BookingStep) and screen.STEP != "search":
            # A flow reopened at a later step (from a draft) goes back step by step, not home.
            await app.switch_screen(screen_for(STEPS[STEPS.index(screen.STEP) - 1]))
        elif len(app.screen_stack) > 1:
            await app.pop_screen()

    async def show_sign_in(self, message: ShowSignIn) -> None:
        from sessionkeeper.tui.screens.sign_in import SignInScreen

        if message.replace:
            await self._app.switch_screen(SignInScreen())
        else:
            await self._app.push_screen(SignInScreen())

    async def show_bookings(self) -> None:
        from sessionkeeper.tui.screens.bookings import BookingsScreen

        await self.back_home()
        await self._app.push_screen(BookingsScreen())

    async def signed_in(self, message: SignInSucceeded) -> None:
        """Home, then a saved draft reopens at its step with its values (rule 5)."""
        from sessionkeeper.tui.screens.booking import screen_for

        app = self._app
        client = app.client
        # Back in after being signed out (rule 5): the flow they were in reopens where it was.
        # Anyone else signing in (a guest from home) stays home, told the draft is there.
        returning = client is not None and client.manager.former_user.get("username") == message.username
        await self.back_home()
        app.notify(f"Signed in as {message.username}.")
        draft = app.saved_draft()
        if draft is None or draft.step == "confirmation":
            return
        if returning:
            await app.push_screen(screen_for(draft.step))
        else:
            app.notify("Your booking draft is kept: c continues it.")

    async def back_home(self) -> None:
        from sessionkeeper.tui.screens.home import HomeScreen

        app = self._app
        # Screens uncovered on the way are not being opened: they must not save their step.
        self.going_home = True
        try:
            while len(app.screen_stack) > 1 and not isinstance(app.screen, HomeScreen):
                await app.pop_screen()
        finally:
            self.going_home = False
        app.refresh_chrome()

    def toggle_qa_panel(self) -> None:
        """F2: the QA panel opens over any screen, and closes again. Synchronous: a key right
        after it goes to the screen that is in front then."""
        from sessionkeeper.tui.screens.qa import QAPanel

        app = self._app
        if isinstance(app.screen, QAPanel):
            app.pop_screen()
        elif app.client is not None:
            app.push_screen(QAPanel())
