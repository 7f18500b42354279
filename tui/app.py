"""The Textual app: turns the session engine's decisions and the terminal's lifecycle into what the
user sees, and moves between screens when they ask (tui.messages).

What it runs on (backend, clients, drafts, QA) is built by `build_app` into a `Services`; screens
see the app only through the small `Keeper` interface. Business logic lives below (`session/`,
`api/`); this module only wires and shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import io
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer

from session.kinds import SignOutReason, State
from session.private_files import ensure_private_dir, make_dirs
from tui import wording
from tui.commands import SessionCommands
from tui.director import Caption, Director
from tui.messages import (
    EndSession,
    FlowEntered,
    GoBack,
    GoHome,
    Navigation,
    NextStep,
    OpenFlow,
    PinExpectation,
    RunQA,
    ShowBookings,
    ShowSignIn,
    SignInSucceeded,
)
from tui.remaining_history import RemainingHistory
from tui.screens.base import AppScreen
from tui.services import Overrides, Services, StartupFailed
from tui.settings import Settings
from tui.widgets.banner import Banner
from tui.widgets.countdown import Countdown

if TYPE_CHECKING:
    from api.client import BackendClient
    from api.drafts import BookingDrafts, LocalDraft
    from api.errors import ApiError
    from api.qa import QADesk
    from session import decisions as d
    from session.engine import SessionView
    from tui.screens.prompt import ExpiryPrompt


T = TypeVar("T")
N = TypeVar("N", bound=Navigation)
# A screen change not carried out within this long (a message nobody handled) releases the keys
# held for it anyway: held keys must never be lost either.
_MOVE_BOUND_S = 2.0


def _screen_change(
    handler: Callable[[SessionKeeperApp, N], Awaitable[None]],
) -> Callable[[SessionKeeperApp, N], Awaitable[None]]:
    """An app handler of a `Navigation`: once it is done (or fails), the keys that waited for the
    screen change go to the screen now in front."""

    @functools.wraps(handler)
    async def handle(app: SessionKeeperApp, message: N) -> None:
        try:
            await handler(app, message)
        finally:
            app.screen_changed(message)

    return handle


# A key this recent (seconds) when the prompt appears means the person was typing.
_TYPING_RECENT_S = 2.0
# Keys the prompt's guard never holds back: they answer nothing in it (QA panel, quit).
_ALWAYS_KEYS = frozenset({"f2", "ctrl+q"})


class SessionKeeperApp(App[None]):
    TITLE = "sessionkeeper"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {SessionCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+z", "suspend_process", "Suspend", show=False),
        Binding("f2", "qa_panel", "QA panel", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Tab moves the focus before the next key is handed on: Textual's own Tab binding (on the
        # screen) acts only once the key has gone to the focused field and come back, so under load
        # what is typed after Tab could land in the field before it (seen in a browser tab).
        Binding("tab", "focus_next", show=False, priority=True),
        Binding("shift+tab", "focus_previous", show=False, priority=True),
    ]

    def __init__(self, services: Services, *, tick_interval: float = 1.0) -> None:
        super().__init__()
        self.services = services
        self.tick_interval = tick_interval
        self.ready = asyncio.Event()
        self.startup_error: str | None = None
        self._startup: asyncio.Task[None] | None = None
        self._prompt: ExpiryPrompt | None = None
        self._suspended = False
        self._navigating_home = False
        self._pending_sign_out: SignOutReason | None = None
        self._qa_key_while_away = False
        self._last_key_at: float | None = None  # the latest key of the person (not QA), app clock
        self._to_the_end: set[asyncio.Task[Any]] = set()  # work that outlives its screen
        self._finish_on_quit: set[asyncio.Task[Any]] = set()  # ...and that quitting waits for
        # Keys during a screen change: the changes asked for and not yet carried out, and the
        # keys that arrived meanwhile, in order (see `screen_change_asked`).
        self._changes: set[int] = set()
        self._waiting: deque[events.Key | events.Paste] = deque()  # in the order typed
        self._delivering: int | None = None  # the waiting key sent on now, until the app takes it
        self._overdue: Timer | None = None
        self.changes_overdue = 0  # screen changes asked for and never carried out (a bug if not 0)
        self.last_qa_result: str | None = None  # what the latest QA action did (the panel shows it)
        self.draft_problem: str | None = None  # why the latest local draft save failed, until one works
        self._redraw_pending = False
        self._redraw_full = False
        # A scenario playing or being recorded (tui.director); None in normal use.
        self.director: Director | None = None
        self.caption: Caption | None = None
        self.history = RemainingHistory()  # for the QA panel's chart
        # Set when an error nothing handled ends the app: the one line the command line prints.
        self.crash_line: str | None = None
        # Where its report goes: the data dir, unless that dir does not outlive the app (play).
        self.reports_dir: Path | None = None

    # -- what screens may use (tui.keeper.Keeper) -------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def client(self) -> BackendClient | None:
        return self.services.client if self.services.session_started else None

    @property
    def drafts(self) -> BookingDrafts | None:
        return self.services.drafts

    @property
    def qa(self) -> QADesk | None:
        return self.services.qa if self.ready.is_set() else None

    @property
    def navigating_home(self) -> bool:
        return self._navigating_home

    @property
    def recording(self) -> bool:
        return self.director is not None and self.director.records

    async def on_pin_expectation(self, message: PinExpectation) -> None:
        if self.director is not None and self.director.records:
            self.notify(await self.director.pin(self), title="Expectation pinned", timeout=6)

    def view(self) -> SessionView | None:
        client = self.client
        return client.manager.view() if client is not None else None

    def now(self) -> float:
        return self.services.clock.now()

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.services.clock.wall(), tz=dt.UTC).date()

    def saved_draft(self) -> LocalDraft | None:
        from api.drafts import DraftStoreError

        drafts = self.drafts
        if drafts is None:
            return None
        try:
            return drafts.current()
        except DraftStoreError:
            return None

    def save_draft(self, step: str, updates: dict[str, Any] | None = None, *, push: bool = False) -> None:
        """Rule 11: every step and field change is saved locally at once; steps also go to the server."""
        from api.drafts import DraftStoreError

        drafts = self.drafts
        if drafts is None:
            return
        try:
            drafts.save(step, updates)
        except DraftStoreError as exc:
            # A disk that refuses refuses every keystroke: said once (the banner, one timeline
            # entry), then quiet until the reason changes or a save works again.
            problem = str(exc)
            if problem != self.draft_problem:
                self._record("draft_save_failed", error=problem)
                self.draft_problem = problem
                self.refresh_countdown()
            return
        if self.draft_problem is not None:
            self.draft_problem = None
            self._record("draft_save_recovered")
            self.refresh_countdown()
        if push and self.client is not None:
            self.run_worker(self.push_draft(), group="draft-push", exclusive=True)

    async def push_draft(self) -> str | None:
        from api.errors import ApiError

        drafts = self.drafts
        if drafts is None:
            return None
        try:
            return await drafts.push()
        except ApiError as exc:  # kept locally whatever the server said; say it, never crash
            self.report(exc, "draft sync")
            self.notify("The server did not take your draft; it is saved here.", severity="warning")
            draft = drafts.current()
            return draft.server_id if draft else None

    def to_the_end(self, coro: Coroutine[Any, Any, T], *, finish_on_quit: bool = False) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._to_the_end.add(task)
        if finish_on_quit:
            self._finish_on_quit.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        from api.errors import ApiError

        self._to_the_end.discard(task)
        self._finish_on_quit.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        # An ApiError is the caller's to show (it awaits the task); anything else is a bug, and
        # ends the app with its report, as an error in a worker would.
        if error is not None and not isinstance(error, ApiError) and isinstance(error, Exception):
            self._handle_exception(error)

    def report(self, exc: ApiError, where: str) -> None:
        self._record("app_error", where=where, error=type(exc).__name__, detail=str(exc)[:200])

    def refresh_chrome(self) -> None:
        """Countdown, banner and the home screen's state, right now (not waiting for the tick)."""
        self.refresh_countdown()
        from tui.screens.home import HomeScreen

        for screen in self.screen_stack:
            if isinstance(screen, HomeScreen):
                screen.show_state()

    # -- start and stop ---------------------------------------------------------------------------

    async def on_mount(self) -> None:
        from tui.screens.home import HomeScreen

        self.app_suspend_signal.subscribe(self, self._on_suspend, immediate=True)
        self.app_resume_signal.subscribe(self, self._on_resume)
        self.watch(self, "app_focus", self._focus_changed, init=False)
        await self.push_screen(HomeScreen())
        self.countdown_timer = self.set_interval(self.tick_interval, self.tick)
        # After the first frame is on screen, so the heavy imports of `start` cannot delay it.
        self.call_after_refresh(self._begin)

    def _begin(self) -> None:
        # A plain task, not a worker: workers are cancelled before the app's unmount runs.
        self._startup = asyncio.create_task(self._start())

    async def _start(self) -> None:
        try:
            await self.services.start(self._on_decision, self._session_changed)
            if self.client is not None:
                self.client.manager.timeline.subscribe(lambda entry: self.history.event(entry.name))
                if not self.app_focus:
                    # The focus went before the session existed (a browser tab that is not yet
                    # focused is told "blurred" as it starts): it starts in the background.
                    self.client.manager.background()
        except StartupFailed as exc:
            self.startup_error = str(exc)
        finally:
            self.ready.set()
            self.refresh_chrome()
        if self.director is not None and self.startup_error is None:
            self.run_worker(self.director.direct(self), group="director", name="director")

    async def on_unmount(self) -> None:
        if self._finish_on_quit:  # a payment out: it must reach the draft, within the deadline
            await asyncio.wait(list(self._finish_on_quit), timeout=self.settings.call_deadline_s)
        for task in list(self._to_the_end):
            task.cancel()
        for task in list(self._to_the_end):
            with contextlib.suppress(BaseException):
                await task
        if self._startup is not None and not self._startup.done():
            self._startup.cancel()
            with contextlib.suppress(BaseException):
                await self._startup
        await self.services.aclose()

    # -- what the user sees of the session ------------------------------------------------------

    def tick(self) -> None:
        client = self.client
        if client is not None:
            client.manager.heartbeat()
            view = client.manager.view()
            self.history.sample(view.remaining_s, paused=view.state is State.PAUSED)
        self.refresh_countdown()
        if isinstance(self.screen, AppScreen):
            self.screen.ticked()

    def refresh_countdown(self) -> None:
        view = self.view()
        client = self.client
        text, urgency = wording.countdown(view, client.username if client else None)
        seen = self.visible_screens()
        for screen in seen:
            for countdown in screen.query(Countdown):
                countdown.show(text, urgency)
        if self._prompt is not None:
            self._prompt.show_remaining(view.remaining_s if view else None)
            self._prompt.show_guard()
        store = self.services.store
        data_dir = self.services.data_dir
        storage = wording.storage_words(
            session=client.manager.persistence_problem if client is not None else None,
            drafts_in_memory=store is not None and not store.persistent,
            drafts_failing=self.draft_problem is not None,
            data_dir=data_dir.problem if data_dir is not None else None,
        )
        message = self.startup_error or wording.banner(
            view, self.now(), client_offline=client is not None and not client.network.online, storage=storage
        )
        for screen in seen:
            for banner in screen.query(Banner):
                banner.say(message)
        if self.director is not None:
            self._show_caption(seen)

    def show_caption(self, caption: Caption | None) -> None:
        """What the director says now, in the caption bar of the screens in view."""
        self.caption = caption
        self._show_caption(self.visible_screens())

    def _show_caption(self, screens: list[Screen[Any]]) -> None:
        from tui.widgets.caption_bar import CaptionBar

        # Only the bar of the screen in front speaks: under the prompt, the prompt's own bar.
        for index, screen in enumerate(screens):
            for bar in screen.query(CaptionBar):
                bar.show(self.caption if index == 0 else None)

    def visible_screens(self) -> list[Screen[Any]]:
        """The screen in front and, under a modal (the prompt), the screens it lets show through.
        A covered screen is not repainted each second (it cost a whole screen's render a second
        behind the QA panel); it catches up when it is in front again (`refresh_chrome`)."""
        visible: list[Screen[Any]] = []
        for screen in reversed(self.screen_stack[1:]):
            visible.append(screen)
            if not isinstance(screen, ModalScreen):
                break
        return visible

    def _session_changed(self) -> None:
        self._redraw_soon(full=True)

    # -- the session's decisions ---------------------------------------------------------------

    def _on_decision(self, decision: d.Decision) -> None:
        from session import decisions as d  # not at import: the first frame needs none of it

        if isinstance(decision, d.ShowPrompt):
            self._show_prompt()
        elif isinstance(decision, d.HidePrompt):
            self._hide_prompt()
        elif isinstance(decision, d.SignOut):
            self.call_later(self._signed_out, decision.reason)
        elif isinstance(decision, d.RefreshRetryScheduled) and decision.failures == 1:
            view = self.view()
            if view is not None and view.stay_pending:
                self.notify(wording.stay_failed(view, self.now()), severity="warning", timeout=8)
        full = isinstance(decision, d.ConnectivityChanged | d.SessionLapsed | d.DeadlineMoved | d.SignOut)
        self._redraw_soon(full=full)

    def _redraw_soon(self, *, full: bool) -> None:
        """One redraw for a run of decisions: a burst of 900 calls moves the deadline hundreds of
        times, and a redraw for each would starve the keyboard."""
        self._redraw_full = self._redraw_full or full
        if not self._redraw_pending:
            self._redraw_pending = True
            self.set_timer(0.05, self._redraw)

    def _redraw(self) -> None:
        full, self._redraw_full, self._redraw_pending = self._redraw_full, False, False
        if full:
            self.refresh_chrome()
        else:
            self.refresh_countdown()

    def _show_prompt(self) -> None:
        from tui.screens.prompt import expiry_prompt

        screen = self.screen
        if self._prompt is not None or not getattr(screen, "ACTIVE_FLOW", False):
            return
        if getattr(screen, "QA_TOOL", False):
            return  # shown when the flow under the QA panel is back in front (on_flow_entered)
        view = self.view()
        guest = view is not None and view.kind is not None and view.kind.value == "guest"
        now = self.now()
        self._prompt = expiry_prompt(
            guest,
            still_wanted=lambda prompt: prompt is self._prompt,
            now=self.now,
            guard_s=self.settings.prompt_guard_s,
            interrupted=self._last_key_at is not None and now - self._last_key_at <= _TYPING_RECENT_S,
        )
        self.push_screen(self._prompt, self._prompt_answered)

    def _hide_prompt(self) -> None:
        prompt, self._prompt = self._prompt, None
        # Only the top screen can be dismissed (dismiss pops whatever is on top). A prompt under
        # the QA panel closes itself when it is uncovered, seeing it is no longer wanted.
        if prompt is not None and self.screen is prompt:
            prompt.dismiss(None)

    def _prompt_answered(self, stay: bool | None) -> None:
        was_open, self._prompt = self._prompt is not None, None
        client = self.client
        if stay is None or not was_open or client is None:
            return  # closed by the engine (refreshed, expired, backgrounded): nothing to answer
        if client.manager.view().prompt_visible:
            client.manager.answer_prompt(stay=stay)

    async def _signed_out(self, reason: SignOutReason) -> None:
        from tui.screens.signed_out import SignedOutScreen

        self._hide_prompt()
        if getattr(self.screen, "QA_TOOL", False):
            # The tester is looking at the panel: it stays open; the rest follows when it closes.
            self._pending_sign_out = reason
            self.refresh_chrome()
            return
        self._pending_sign_out = None
        client = self.client
        former = client.manager.former_user.get("username") if client else None
        await self._back_home()
        drafts = self.drafts
        draft = drafts.saved_for(former) if drafts is not None and former else None
        if reason is SignOutReason.USER_CHOICE:
            self.notify(wording.ended_words(was_user=former is not None, draft_kept=draft is not None))
            self.refresh_chrome()
            return
        await self.push_screen(SignedOutScreen(reason, draft))

    # -- keys during a screen change ----------------------------------------------------------------

    def post_message(self, message: Message) -> bool:
        if isinstance(message, Navigation):
            self.screen_change_asked(message)
        return super().post_message(message)

    def screen_change_asked(self, message: Navigation) -> None:
        """A screen change was asked for (a screen posted it, or the command palette did). Until it
        is carried out, keys wait here: those typed in the same burst as the key that asked (Esc
        and Enter at once; Ctrl+N and the next field's text) belong to the screen that comes, and
        the screen that is leaving would swallow them, or type them into its own form."""
        if not self._changes:
            self._overdue = self.set_timer(_MOVE_BOUND_S, self._change_overdue)
        self._changes.add(id(message))

    def screen_changed(self, message: Navigation) -> None:
        """A screen change was carried out (or could not be): the keys that waited go on."""
        self._changes.discard(id(message))
        if not self._changes:
            if self._overdue is not None:
                self._overdue.stop()
                self._overdue = None
            self._deliver_next()

    def _change_overdue(self) -> None:
        # A change nobody carried out (a message that reached no handler): its keys must not wait
        # for ever either. Said on the timeline: the monkey test expects never to see it.
        self._overdue = None
        if self._changes:
            self.changes_overdue += 1
            self._record("screen_change_overdue", pending=len(self._changes))
            self._changes.clear()
            self._deliver_next()

    def _waits(self, event: events.Key | events.Paste) -> bool:
        """True if `event`, from the terminal, must wait its turn (it is queued here). Keys go on one
        at a time and in the order typed, each once the screen change before it is done."""
        if id(event) == self._delivering:
            self._delivering = None
            if self._changes:  # a change was asked for since it was sent on: first in line again
                self._waiting.appendleft(event)
                return True
            return False
        if self._changes or self._waiting or self._delivering is not None:
            self._waiting.append(event)
            return True
        return False

    def _deliver_next(self) -> None:
        if self._changes or self._delivering is not None or not self._waiting:
            return
        waiting = self._waiting.popleft()
        again: events.Key | events.Paste = (
            events.Key(waiting.key, waiting.character)
            if isinstance(waiting, events.Key)
            else events.Paste(waiting.text)
        )
        self._delivering = id(again)
        self.post_message(again)

    # -- lifecycle: focus, Ctrl+Z, activity ------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if (
            self.director is not None
            and isinstance(event, events.Key)
            and not event.is_forwarded
            and self.director.key(event)
        ):
            event.stop()
            return
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            delivered = id(event) == self._delivering
            if self._waits(event):  # see screen_change_asked
                event.stop()
                return
            if delivered:
                try:
                    await self._take_event(event)
                finally:
                    self._deliver_next()  # the next waiting key, unless this one changed the screen
                return
        await self._take_event(event)

    async def _take_event(self, event: events.Event) -> None:
        """What the app does with an event once it is its turn (every event but a waiting key)."""
        if (
            isinstance(event, events.Key | events.MouseDown)
            and not event.is_forwarded
            and self.client is not None
            and not getattr(self.screen, "QA_TOOL", False)
            and not (isinstance(event, events.Key) and event.key == "f2")  # opening QA is not activity
        ):
            self.client.manager.user_activity()
            if isinstance(event, events.Key):
                self._last_key_at = self.now()
        prompt = self._prompt
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and prompt is not None
            and self.screen is prompt
            and event.key not in _ALWAYS_KEYS
            and prompt.guarded
        ):
            # Rule 4: the prompt just appeared; a key meant for the form must not answer it
            # (dropped here, before any binding or button sees it; a click, the prompt drops).
            prompt.ignore()
            event.stop()
            return
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and not self.app_focus
            and (getattr(self.screen, "QA_TOOL", False) or event.key == "f2")
        ):
            # Textual takes any key reaching a blurred app as the app being focused. A QA key is
            # not (the tester drives a hidden browser tab, or a terminal in the background): the
            # app stays where it is.
            self._qa_key_while_away = True
            try:
                await super().on_event(event)
            finally:
                self.app_focus = False
                self._qa_key_while_away = False
            return
        await super().on_event(event)

    def _focus_changed(self, focused: bool) -> None:
        client = self.client
        if client is None or self._suspended or self._qa_key_while_away:
            return
        if self.director is not None:  # first: what the session does next follows the return
            self.director.away(not focused)
        if focused:
            client.manager.resume()
        else:
            client.manager.background()
        self.refresh_countdown()

    def _on_suspend(self, _: object) -> None:
        # Runs before the process stops (immediate=True), so the pause is recorded in time.
        self._suspended = True
        if self.director is not None:
            self.director.away(True)
        if self.client is not None:
            self.client.manager.background()

    def _on_resume(self, _: object) -> None:
        self._suspended = False
        if self.director is not None:
            self.director.away(False)
        if self.client is not None:
            # After a stop from outside no suspend came first: the engine notices from the gap.
            self.client.manager.resume()
            self.refresh_chrome()

    # -- moving between screens (screens ask with messages; see tui.messages) -----------------------

    async def on_flow_entered(self, message: FlowEntered) -> None:
        if self._pending_sign_out is not None:
            await self._signed_out(self._pending_sign_out)  # the QA panel closed over a sign-out
            return
        client = self.client
        if client is None:
            return
        client.manager.set_active_flow(message.active_flow)
        if message.active_flow and client.manager.view().prompt_visible:
            self._show_prompt()  # the warning came while the QA panel covered the flow

    @_screen_change
    async def on_open_flow(self, message: OpenFlow) -> None:
        from tui.screens.booking import screen_for

        if self.client is None:
            self.notify("Still connecting to the server; one moment.")
            return
        draft = self.saved_draft()
        step = message.step or (draft.step if draft else "search")
        await self._back_home()
        await self.push_screen(screen_for(step))

    @_screen_change
    async def on_next_step(self, message: NextStep) -> None:
        from tui.screens.booking import screen_for

        await self.push_screen(screen_for(message.step))

    @_screen_change
    async def on_go_home(self, message: GoHome) -> None:
        await self._back_home()

    @_screen_change
    async def on_go_back(self, message: GoBack) -> None:
        from tui.screens.booking import STEPS, BookingStep, screen_for

        screen = self.screen
        below = self.screen_stack[-2] if len(self.screen_stack) > 2 else None
        if isinstance(screen, BookingStep) and not isinstance(below, BookingStep) and screen.STEP != "search":
            # A flow reopened at a later step (from a draft) goes back step by step, not home.
            await self.switch_screen(screen_for(STEPS[STEPS.index(screen.STEP) - 1]))
        elif len(self.screen_stack) > 2:
            await self.pop_screen()

    @_screen_change
    async def on_show_sign_in(self, message: ShowSignIn) -> None:
        from tui.screens.sign_in import SignInScreen

        if message.replace:
            await self.switch_screen(SignInScreen())
        else:
            await self.push_screen(SignInScreen())

    @_screen_change
    async def on_show_bookings(self, message: ShowBookings) -> None:
        from tui.screens.bookings import BookingsScreen

        await self._back_home()
        await self.push_screen(BookingsScreen())

    def on_end_session(self, message: EndSession) -> None:
        if self.client is not None:
            self.client.sign_out()

    @_screen_change
    async def on_sign_in_succeeded(self, message: SignInSucceeded) -> None:
        """Home, then a saved draft reopens at its step with its values (rule 5)."""
        from tui.screens.booking import screen_for

        await self._back_home()
        self.notify(f"Signed in as {message.username}.")
        draft = self.saved_draft()
        if draft is not None and draft.step != "confirmation":
            await self.push_screen(screen_for(draft.step))

    async def _back_home(self) -> None:
        from tui.screens.home import HomeScreen

        # Screens uncovered on the way are not being opened: they must not save their step.
        self._navigating_home = True
        try:
            while len(self.screen_stack) > 2 and not isinstance(self.screen, HomeScreen):
                await self.pop_screen()
        finally:
            self._navigating_home = False
        self.refresh_chrome()

    def action_qa_panel(self) -> None:
        from tui.screens.qa import QAPanel

        if isinstance(self.screen, QAPanel):
            self.pop_screen()
        elif self.client is not None:
            self.push_screen(QAPanel())

    def on_run_qa(self, message: RunQA) -> None:
        self.run_qa(message.name)

    def run_qa(self, name: str) -> None:
        """Run the QA action `name` to its end, whatever becomes of the screen that asked (closing
        the QA panel must not cancel a burst in flight). What it did goes on the timeline
        (`qa_action`), into the QA panel if one is open or the next time one opens, and into a
        notification when no panel is open."""
        self.to_the_end(self._run_qa(name))

    async def _run_qa(self, name: str) -> None:
        from api.errors import ApiError
        from tui.screens.qa import QAPanel

        qa = self.qa
        if qa is None:
            return
        try:
            result = await qa.run(name)
        except ApiError as exc:
            result = f"{name}: not done; {wording.qa_server_problem(exc)}"
        self._record("qa_action", action=name, result=result)
        self.last_qa_result = result
        panels = [screen for screen in self.screen_stack if isinstance(screen, QAPanel)]
        for panel in panels:
            panel.note(result)
            panel.poll_server()
        if not panels:
            self.notify(result, title="QA")
        self.refresh_chrome()

    def _record(self, name: str, **detail: Any) -> None:
        client = self.client
        if client is not None:
            client.manager.record(name, **detail)

    # -- an error nothing handled ---------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """Textual ends the app on an error nothing handled (status 1, and Pilot re-raises it in
        tests). Its own report, a traceback with every frame's locals, would go to the terminal,
        and locals can hold a token: it is kept out. A private report goes to the data dir, and
        the command line prints one line saying where (`crash_line`)."""
        if self.crash_line is None:
            try:
                self.crash_line = self._report_crash(error)
            except Exception:  # the report must never stand between an error and the exit
                self.crash_line = f"sessionkeeper: unexpected error ({type(error).__name__}); no report"
            from rich.console import Console

            self.error_console = Console(file=io.StringIO())
        super()._handle_exception(error)

    def _report_crash(self, error: Exception) -> str:
        from session.clock import skip_offset
        from tui import crash

        client = self.client
        redact = client.manager.redact if client is not None else (lambda text: text)
        clock = self.services.clock
        wall = clock.wall() - skip_offset(clock)
        context = ["screens   " + " > ".join(type(screen).__name__ for screen in self.screen_stack)]
        if client is not None:
            context += ["", "timeline (latest last):"]
            context += [entry.as_json() for entry in list(client.manager.timeline)[-40:]]
        text = crash.report_text(error, wall=wall, context=context, redact=redact)
        try:
            report: Path | None = crash.write_report(
                self.reports_dir or self.settings.data_path, text, wall=wall
            )
            problem = None
        except OSError as exc:
            report, problem = None, exc.strerror or type(exc).__name__
        self._record("app_crashed", error=type(error).__name__, report=report.name if report else None)
        return redact(crash.one_line(error, report, problem))


def build_app(
    settings: Settings, *, overrides: Overrides | None = None, tick_interval: float = 1.0
) -> SessionKeeperApp:
    """The one factory: the command line and the tests build the app the same way.

    The data dir is made 0700 here (created so, or tightened if it is ours and looser). What was
    done, or why it could not be, is said once the app runs: on its timeline, and on the banner
    while the dir is not private (the terminal is the app's by then; stderr would go unseen).
    Raises OSError when there is no directory to use at all.
    """
    data_dir = ensure_private_dir(settings.data_path)
    return SessionKeeperApp(Services(settings, overrides, data_dir=data_dir), tick_interval=tick_interval)


def data_dir_problem(path: Path) -> str | None:
    """Why the command line cannot start the app on `path` at all (a file in the way, a disk that
    refuses), or None. Only created here (0700): `build_app` checks how private it is, and says."""
    try:
        make_dirs(path)
    except OSError as exc:
        return f"cannot use data dir {path}: {exc.strerror}"
    return None
