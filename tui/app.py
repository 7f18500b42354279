"""The Textual app: what the user sees of the session, and the screens they move between.

It wires parts that each do one job, and keeps only the wiring: `Services` (what it runs on: backend,
clients, drafts, QA; built by `build_app`), `SessionPresenter` (the engine's decisions made
visible), `Navigator` (moving between screens, as screens ask with `tui.messages`), `Presence`
(activity, focus and Ctrl+Z), `ScreenChangeKeys` (keys typed during a screen change), `QARunner`
and `Outliving` (work that outlives its screen). Screens see the app only through the small
`Keeper` interface. Business logic lives below (`session/`, `api/`).

The first frame is the home screen, the app's default screen (the bottom of the screen stack,
never popped), drawn from what this module imports and nothing more: the parts a key, a screen
change or the session needs first (navigation, keys, QA, the palette's commands, the chart's
history, the decisions) are imported when first used, after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import io
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import ModalScreen, Screen

from sessionkeeper.session.kinds import State
from sessionkeeper.session.private_files import ensure_private_dir, make_dirs
from sessionkeeper.tui import continued, wording
from sessionkeeper.tui.messages import (
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
from sessionkeeper.tui.presence import Presence
from sessionkeeper.tui.screens.base import AppScreen
from sessionkeeper.tui.services import Overrides, Services, StartupFailed
from sessionkeeper.tui.settings import Settings
from sessionkeeper.tui.widgets.banner import Banner
from sessionkeeper.tui.widgets.countdown import Countdown
from sessionkeeper.tui.widgets.footer import in_browser

if TYPE_CHECKING:
    from textual.command import Provider

    from sessionkeeper.api.client import BackendClient
    from sessionkeeper.api.drafts import BookingDrafts, LocalDraft
    from sessionkeeper.api.errors import ApiError
    from sessionkeeper.api.qa.desk import QADesk
    from sessionkeeper.session.engine import SessionView
    from sessionkeeper.tui.keys import ScreenChangeKeys
    from sessionkeeper.tui.navigation import Navigator
    from sessionkeeper.tui.outliving import Outliving
    from sessionkeeper.tui.presenter import SessionPresenter
    from sessionkeeper.tui.qa_runner import QARunner
    from sessionkeeper.tui.remaining_history import RemainingHistory
    from sessionkeeper.tui.widgets.caption_bar import Caption


T = TypeVar("T")
N = TypeVar("N", bound=Navigation)

BROWSER_WARM_UP_AFTER_S = 2.0  # a page attaches within about a second of a head start's countdown


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
            app.keys.done(message)

    return handle


def _session_commands() -> type[Provider]:
    """The palette's own commands, imported when the palette first opens."""
    from sessionkeeper.tui.commands import SessionCommands

    return SessionCommands


# -- what drives the app from outside its user ---------------------------------------------------
# A scenario played to an audience or a session being recorded (tui.scenario.play,
# tui.scenario.record). The app knows only this small interface: it starts the director once the
# session runs, offers it each key the user presses, and tells it when the app goes to the
# background and comes back. A director talks to the audience through captions (CaptionBar).


class Director(Protocol):
    records: bool  # writes what the tester does (and so takes pinned expectations)

    async def direct(self, app: SessionKeeperApp) -> None:
        """Runs for the life of the app, from the moment its session has started."""
        ...

    def key(self, event: events.Key) -> bool:
        """A key the user pressed (not one the director sent); True if the director took it."""
        ...

    def away(self, away: bool) -> None:
        """The app went to the background (focus lost, Ctrl+Z) or came back."""
        ...

    async def pin(self, app: SessionKeeperApp) -> str:
        """The tester asks (from the QA panel) to expect what is true now; what was done, in words."""
        ...


class SessionKeeperApp(App[None]):
    TITLE = "sessionkeeper"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {_session_commands}
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
        # Subscribed as the app mounts; the other parts are made when first used (below).
        self.presence = Presence(self)
        self._unlisten_continue: Callable[[], None] = lambda: None  # SIGCONT, once mounted
        # Made once the session starts: the first frame needs none of the decisions' machinery.
        self.presenter: SessionPresenter | None = None
        self.draft_problem: str | None = None  # why the latest local draft save failed, until one works
        # A scenario playing or being recorded (tui.director); None in normal use.
        self.director: Director | None = None
        self.caption: Caption | None = None
        # Set when an error nothing handled ends the app: the one line the command line prints.
        self.crash_line: str | None = None
        # Where its report goes: the data dir, unless that dir does not outlive the app (play).
        self.reports_dir: Path | None = None

    # -- parts made when first used: none of them is needed for the first frame ------------------

    @functools.cached_property
    def navigator(self) -> Navigator:
        """Moving between screens: the first key that changes the screen makes it."""
        from sessionkeeper.tui.navigation import Navigator

        return Navigator(self)

    @functools.cached_property
    def keys(self) -> ScreenChangeKeys:
        """Keys typed during a screen change: the first key or screen change makes it."""
        from sessionkeeper.tui.keys import ScreenChangeKeys

        return ScreenChangeKeys(self.post_message, self.set_timer, self.record)

    @functools.cached_property
    def qa_runner(self) -> QARunner:
        from sessionkeeper.tui.qa_runner import QARunner

        return QARunner(self)

    @functools.cached_property
    def _outliving(self) -> Outliving:
        from sessionkeeper.tui.outliving import Outliving

        return Outliving(self._handle_exception)

    @functools.cached_property
    def history(self) -> RemainingHistory:
        """The last minutes of remaining time, for the QA panel's chart: sampled from the first
        tick with a session."""
        from sessionkeeper.tui.remaining_history import RemainingHistory

        return RemainingHistory()

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
        return self.navigator.going_home

    @property
    def recording(self) -> bool:
        return self.director is not None and self.director.records

    @property
    def last_qa_result(self) -> str | None:
        return self.qa_runner.last_result

    @property
    def changes_overdue(self) -> int:
        """Screen changes asked for and never carried out (a bug if not 0; the monkey checks)."""
        return self.keys.overdue

    def view(self) -> SessionView | None:
        client = self.client
        return client.manager.view() if client is not None else None

    def now(self) -> float:
        return self.services.clock.now()

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.services.clock.wall(), tz=dt.UTC).date()

    def saved_draft(self) -> LocalDraft | None:
        drafts = self.drafts
        if drafts is None:  # before the session: home's first frame asks, and needs no sqlite3
            return None
        from sessionkeeper.api.drafts import DraftStoreError

        try:
            return drafts.current()
        except DraftStoreError:
            return None

    def save_draft(
        self,
        step: str,
        updates: dict[str, Any] | None = None,
        *,
        push: bool = False,
        based_on: int | EllipsisType | None = ...,
    ) -> LocalDraft | None:
        """Rule 11: every step and field change is saved locally at once; steps also go to the
        server. A save based on a revision another window has saved past raises DraftConflict."""
        from sessionkeeper.api.drafts import ANY, DraftStoreError

        drafts = self.drafts
        if drafts is None:
            return None
        try:
            saved = drafts.save(step, updates, based_on=ANY if based_on is ... else based_on)
        except DraftStoreError as exc:
            # A disk that refuses refuses every keystroke: said once (the banner, one timeline
            # entry), then quiet until the reason changes or a save works again.
            problem = str(exc)
            if problem != self.draft_problem:
                self.record("draft_save_failed", error=problem)
                self.draft_problem = problem
                self.refresh_countdown()
            return None
        if self.draft_problem is not None:
            self.draft_problem = None
            self.record("draft_save_recovered")
            self.refresh_countdown()
        if push and self.client is not None:
            self.run_worker(self.push_draft(), group="draft-push", exclusive=True)
        return saved

    async def push_draft(self) -> str | None:
        from sessionkeeper.api.errors import ApiError

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
        return self._outliving.start(coro, finish_on_quit=finish_on_quit)

    def run_qa(self, name: str) -> None:
        self.qa_runner.run(name)

    def screen_change_asked(self, message: Navigation) -> None:
        self.keys.asked(message)

    def report(self, exc: ApiError, where: str) -> None:
        self.record("app_error", where=where, error=type(exc).__name__, detail=str(exc)[:200])

    def record(self, name: str, **detail: Any) -> None:
        """An entry of the app's on the session timeline (once the session exists)."""
        client = self.client
        if client is not None:
            client.manager.record(name, **detail)

    def refresh_chrome(self) -> None:
        """Countdown, banner and the home screen's state, right now (not waiting for the tick)."""
        self.refresh_countdown()
        from sessionkeeper.tui.screens.home import HomeScreen

        for screen in self.screen_stack:
            if isinstance(screen, HomeScreen):
                screen.show_state()

    async def on_pin_expectation(self, message: PinExpectation) -> None:
        if self.director is not None and self.director.records:
            self.notify(await self.director.pin(self), title="Expectation pinned", timeout=6)

    # -- start and stop ---------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        """Home is the bottom of the stack, composed as the app starts. Pushed over Textual's empty
        default screen, it cost a second screen's set-up, layout and resume before the first
        frame: about half of what the app did there that a bare Textual app does not."""
        from sessionkeeper.tui.screens.home import HomeScreen

        return HomeScreen()

    async def on_mount(self) -> None:
        self.app_suspend_signal.subscribe(self, self.presence.on_suspend, immediate=True)
        self.app_resume_signal.subscribe(self, self.presence.on_resume)
        self.watch(self, "app_focus", self.presence.focus_changed, init=False)
        self._unlisten_continue = continued.listen(self._continued)
        self.countdown_timer = self.set_interval(self.tick_interval, self.tick)
        # After the first frame is on screen, so the heavy imports of `start` cannot delay it.
        self.call_after_refresh(self._begin)

    def _begin(self) -> None:
        # A plain task, not a worker: workers are cancelled before the app's unmount runs.
        self._startup = asyncio.create_task(self._start())

    async def _start(self) -> None:
        from sessionkeeper.tui.presenter import SessionPresenter

        self.presenter = SessionPresenter(self)
        try:
            await self.services.start(self.presenter.on_decision, self._session_changed)
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

    def _continued(self) -> None:
        """A SIGCONT, in its signal handler: a flag for the session, nothing more."""
        client = self.client
        if client is not None:
            client.manager.continued()

    async def on_unmount(self) -> None:
        self._unlisten_continue()
        # A payment out must reach the draft: waited for, within the call deadline.
        await self._outliving.close(self.settings.call_deadline_s)
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
        was_user = bool(client.manager.former_user) if client else True
        text, urgency = wording.countdown(view, client.username if client else None, was_user=was_user)
        if client is not None and client.wire.holds:
            held = client.wire.holds[0].exchange
            text += wording.held_words(held.method, held.path)
        seen = self.visible_screens()
        for screen in seen:
            for countdown in screen.query(Countdown):
                countdown.show(text, urgency)
        prompt = self.presenter.prompt if self.presenter is not None else None
        if prompt is not None:
            prompt.show_remaining(view.remaining_s if view else None)
            prompt.show_guard()
        store = self.services.store
        data_dir = self.services.data_dir
        storage = wording.storage_words(
            session=client.manager.persistence_problem if client is not None else None,
            drafts_in_memory=store is not None and not store.persistent,
            drafts_failing=self.draft_problem is not None,
            data_dir=data_dir.problem if data_dir is not None else None,
        )
        message = self.startup_error or wording.banner(
            view,
            self.now(),
            client_offline=client is not None and client.network.offline_everywhere,
            storage=storage,
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
        from sessionkeeper.tui.widgets.caption_bar import CaptionBar

        # Only the bar of the screen in front speaks: under the prompt, the prompt's own bar.
        for index, screen in enumerate(screens):
            for bar in screen.query(CaptionBar):
                bar.show(self.caption if index == 0 else None)

    def visible_screens(self) -> list[Screen[Any]]:
        """The screen in front and, under a modal (the prompt), the screens it lets show through.
        A covered screen is not repainted each second (it cost a whole screen's render a second
        behind the QA panel); it catches up when it is in front again (`refresh_chrome`)."""
        visible: list[Screen[Any]] = []
        for screen in reversed(self.screen_stack):
            visible.append(screen)
            if not isinstance(screen, ModalScreen):
                break
        return visible

    def _session_changed(self) -> None:
        if self.presenter is not None:
            self.presenter.redraw_soon(full=True)

    # -- keys, clicks, focus ----------------------------------------------------------------------

    def post_message(self, message: Message) -> bool:
        if isinstance(message, Navigation):
            self.keys.asked(message)  # the palette's requests come this way
        return super().post_message(message)

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
            delivered = self.keys.is_delivery(event)
            if self.keys.waits(event):  # typed during a screen change: it goes on after it
                event.stop()
                return
            if delivered:
                try:
                    await self._take(event)
                finally:
                    self.keys.taken()
                return
        await self._take(event)

    async def _take(self, event: events.Event) -> None:
        """What the app does with an event once it is its turn."""
        if isinstance(event, events.Key | events.MouseDown) and not event.is_forwarded:
            self.presence.input_arrived(event)
        if not isinstance(event, events.Key) or event.is_forwarded:
            await super().on_event(event)
            return
        if self.presenter is not None and self.presenter.drops(event):
            event.stop()  # rule 4: the prompt just appeared; a key meant for the form must not answer it
            return
        if self.presence.is_qa_key_while_away(event):
            # Textual takes any key reaching a blurred app as the app being focused. A QA key is
            # not (the tester drives a hidden browser tab, or a terminal in the background): the
            # app stays where it is.
            self.presence.qa_key_while_away = True
            try:
                await super().on_event(event)
            finally:
                self.app_focus = False
                self.presence.qa_key_while_away = False
            return
        await super().on_event(event)

    def action_qa_panel(self) -> None:
        self.navigator.toggle_qa_panel()

    # -- moving between screens (screens ask with messages; see tui.messages) -----------------------

    async def on_flow_entered(self, message: FlowEntered) -> None:
        presenter = self.presenter
        if presenter is not None and presenter.pending_sign_out is not None:
            await presenter.signed_out(presenter.pending_sign_out)  # the QA panel closed over one
            return
        client = self.client
        if client is None:
            return
        client.manager.set_active_flow(message.active_flow)
        if message.active_flow and client.manager.view().prompt_visible and presenter is not None:
            presenter.show_prompt()  # the warning came while the QA panel covered the flow

    @_screen_change
    async def on_open_flow(self, message: OpenFlow) -> None:
        await self.navigator.open_flow(message)

    @_screen_change
    async def on_next_step(self, message: NextStep) -> None:
        await self.navigator.next_step(message)

    @_screen_change
    async def on_go_home(self, message: GoHome) -> None:
        await self.navigator.back_home()

    @_screen_change
    async def on_go_back(self, message: GoBack) -> None:
        await self.navigator.go_back(message)

    @_screen_change
    async def on_show_sign_in(self, message: ShowSignIn) -> None:
        await self.navigator.show_sign_in(message)

    @_screen_change
    async def on_show_bookings(self, message: ShowBookings) -> None:
        await self.navigator.show_bookings()

    @_screen_change
    async def on_sign_in_succeeded(self, message: SignInSucceeded) -> None:
        await self.navigator.signed_in(message)

    def on_end_session(self, message: EndSession) -> None:
        if self.client is not None:
            self.client.sign_out()

    def on_run_qa(self, message: RunQA) -> None:
        self.qa_runner.run(message.name)

    # -- an error nothing handled ---------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """Textual ends the app on an error nothing handled (status 1, and Pilot re-raises it in
        tests). Its own report, a traceback with every frame's locals, would go to the terminal,
        and locals can hold a token: it is kept out. A private report goes to the data dir, and
        the command line prints one line saying where (`crash_line`; tui.crash)."""
        if self.crash_line is None:
            from sessionkeeper.tui import crash

            try:
                self.crash_line = crash.report(self, error)
            except Exception:  # the report must never stand between an error and the exit
                self.crash_line = f"sessionkeeper: unexpected error ({type(error).__name__}); no report"
            from rich.console import Console

            self.error_console = Console(file=io.StringIO())
        super()._handle_exception(error)


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
    if overrides is None and in_browser():
        # A browser tab's app often starts before its page is there (serve's head start): the
        # page then attaches and resizes it, and that frame must not wait behind the warm-up's
        # imports (GraphQL's, most of a second of CPU).
        overrides = Overrides(warm_up_after_s=BROWSER_WARM_UP_AFTER_S)
    return SessionKeeperApp(Services(settings, overrides, data_dir=data_dir), tick_interval=tick_interval)


def run_app(app: SessionKeeperApp, **run_options: Any) -> int:
    """Run the app to its end; its exit status. After an error nothing handled, one line on stderr
    says where the full report is (tui.crash), and the status is not 0."""
    app.run(**run_options)
    if app.crash_line is not None:
        print(app.crash_line, file=sys.stderr)
        return app.return_code or 1
    return app.return_code or 0


def data_dir_problem(path: Path) -> str | None:
    """Why the command line cannot start the app on `path` at all (a file in the way, a disk that
    refuses), or None. Only created here (0700): `build_app` checks how private it is, and says."""
    if path.exists() and not path.is_dir():
        return f"cannot use data dir {path}: it is a file, not a directory"
    try:
        make_dirs(path)
    except OSError as exc:
        if isinstance(exc, NotADirectoryError | FileExistsError):
            return f"cannot use data dir {path}: a file is in the way on its path"
        return f"cannot use data dir {path}: {exc.strerror}"
    return None
