"""The Textual app: starts the backend and the session, keeps the countdown live, and turns the
session engine's decisions and the terminal's lifecycle into what the user sees.

Business logic lives below (`session/`, `api/`); this module only wires and shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType

from session import decisions as d
from session.clock import Clock, QAClock
from session.secrets import Fingerprinter
from tui.messages import FlowEntered, SignInSucceeded
from tui.screens.base import AppScreen
from tui.settings import Settings
from tui.widgets.banner import Banner
from tui.widgets.countdown import Countdown

if TYPE_CHECKING:
    # The backend, the HTTP clients and pydantic are imported once the first frame is up
    # (in `_start`): they are most of a cold start.
    from api.backend.serve import EmbeddedBackend
    from api.client import BackendClient, InnerTransportFactory
    from api.drafts import DraftStore, DraftSync, LocalDraft
    from api.models import Profile


class SessionKeeperApp(App[None]):
    TITLE = "sessionkeeper"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+z", "suspend_process", "Suspend", show=False),
        Binding("f2", "qa_panel", "QA panel", priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        auto_wake: bool = True,
        tick_interval: float = 1.0,
        backend_clock: Callable[[], float] | None = None,
        backend_token_factory: Callable[[], str] | None = None,
        inner_transport: InnerTransportFactory | None = None,
        fingerprinter: Fingerprinter | None = None,
    ) -> None:
        """`clock`, `backend_clock`, `backend_token_factory`, `inner_transport` and `fingerprinter`
        are for tests: fake clocks, repeatable tokens, a faulty connection, a fixed salt."""
        super().__init__()
        self.backend_clock = backend_clock
        self.backend_token_factory = backend_token_factory
        self.inner_transport = inner_transport
        self.fingerprinter = fingerprinter
        self.settings = settings
        self.clock = QAClock(clock)
        self.auto_wake = auto_wake
        self.tick_interval = tick_interval
        self.embedded: EmbeddedBackend | None = None
        self.backend_url = settings.backend_url or ""
        self.client: BackendClient | None = None
        self._drafts: DraftStore | None = None
        self.draft_sync: DraftSync | None = None
        self.ready = asyncio.Event()
        self.startup_error: str | None = None
        self._startup: asyncio.Task[None] | None = None
        self._prompt: Any = None
        self._suspended = False
        self.navigating_home = False
        self.username: str | None = None

    # -- start and stop ---------------------------------------------------------------------------

    async def on_mount(self) -> None:
        from tui.screens.home import HomeScreen

        self.app_suspend_signal.subscribe(self, self._on_suspend, immediate=True)
        self.app_resume_signal.subscribe(self, self._on_resume)
        self.watch(self, "app_focus", self._focus_changed, init=False)
        await self.push_screen(HomeScreen())
        self.countdown_timer = self.set_interval(self.tick_interval, self.refresh_countdown)
        # After the first frame is on screen, so the heavy imports of `_start` cannot delay it.
        self.call_after_refresh(self._begin)

    def _begin(self) -> None:
        # A plain task, not a worker: workers are cancelled before the app's unmount runs.
        self._startup = asyncio.create_task(self._start())

    @property
    def drafts(self) -> DraftStore:
        if self._drafts is None:
            raise RuntimeError("the drafts store opens with the session")
        return self._drafts

    async def _start(self) -> None:
        from api.backend.app import create_app
        from api.backend.serve import EmbeddedBackend, PortUnavailableError
        from api.client import BackendClient
        from api.drafts import DraftStore, DraftSync
        from session.policy import Policy
        from session.store import SessionStore
        from session.timeline import Timeline

        try:
            self._drafts = DraftStore(self.settings.data_path / "drafts.sqlite3")
            if self.settings.backend_url is None:
                app = create_app(
                    ttl_s=self.settings.ttl_s,
                    clock=self.backend_clock,
                    token_factory=self.backend_token_factory,
                )
                self.embedded = EmbeddedBackend(port=self.settings.backend_port, app=app)
                self.backend_url = await self.embedded.start()
            data = self.settings.data_path
            self.client = BackendClient(
                self.backend_url,
                clock=self.clock,
                policy=Policy(ttl_s=self.settings.ttl_s, warn_s=self.settings.warn_s),
                store=SessionStore(data / "session.json", scope=self.backend_url),
                timeline=Timeline(data / "timeline.jsonl"),
                auto_wake=self.auto_wake,
                inner_transport=self.inner_transport,
                fingerprinter=self.fingerprinter,
            )
            self.client.manager.subscribe(self._on_decision)
            self.client.profile_listeners.append(self._on_profile)
            self.draft_sync = DraftSync(self.drafts, self.client.rest)
            await self.client.start()
            self.username = (
                self.client.manager.user.get("username") if self.client.manager.signed_in else None
            )
        except PortUnavailableError as exc:
            self.startup_error = str(exc)
        except Exception as exc:  # never a traceback on screen: say what failed and keep running
            self.startup_error = f"could not start: {type(exc).__name__}: {exc}"
        finally:
            self.ready.set()
            self.refresh_chrome()

    async def on_unmount(self) -> None:
        if self._startup is not None and not self._startup.done():
            self._startup.cancel()
            with contextlib.suppress(BaseException):
                await self._startup
        if self.client is not None:
            await self.client.aclose()
        if self.embedded is not None:
            await self.embedded.stop()
        if self._drafts is not None:
            self._drafts.close()

    # -- what the user sees of the session ------------------------------------------------------

    def refresh_countdown(self) -> None:
        if self.client is None:
            return
        view = self.client.manager.view()
        # The screen under a modal (the prompt) keeps its countdown live too.
        for screen in self.screen_stack[1:]:
            for countdown in screen.query(Countdown):
                countdown.show(view, self.username)
        if self._prompt is not None:
            self._prompt.show_remaining(view.remaining_s)

    def refresh_chrome(self, screen: AppScreen | None = None) -> None:
        """Countdown and banner of the current screen, right now (not waiting for the tick)."""
        self.refresh_countdown()
        target = screen or self.screen
        for banner in target.query(Banner):
            banner.say(self.banner_text(), "error")

    def banner_text(self) -> str | None:
        if self.startup_error:
            return self.startup_error
        if self.client is None:
            return None
        if not self.client.network.online:
            return "Offline: calls fail in transport (QA switch: F2, o); your draft is kept."
        if self.client.manager.view().offline:
            return "Backend unreachable: retrying on your next action; nothing is lost."
        return None

    def say(self, text: str, *, error: bool = False) -> None:
        self.notify(text, severity="error" if error else "information", timeout=6)

    def require_client(self) -> BackendClient:
        if self.client is None:
            raise RuntimeError("the session is not started yet")
        return self.client

    # -- the session's decisions ---------------------------------------------------------------

    def _on_decision(self, decision: d.Decision) -> None:
        if isinstance(decision, d.ShowPrompt):
            self._show_prompt()
        elif isinstance(decision, d.HidePrompt):
            self._hide_prompt()
        elif isinstance(decision, d.SignOut):
            self.call_later(self._signed_out, decision.reason)
        elif isinstance(decision, d.ConnectivityChanged):
            self.call_later(self.refresh_chrome)
        self.call_later(self.refresh_countdown)

    def _show_prompt(self) -> None:
        from tui.screens.prompt import ExpiryPrompt

        screen = self.screen
        if self._prompt is not None or not getattr(screen, "ACTIVE_FLOW", False):
            return
        if getattr(screen, "QA_TOOL", False):
            return  # shown when the flow under the QA panel is back in front (on_flow_entered)
        self._prompt = ExpiryPrompt()
        self.push_screen(self._prompt, self._prompt_answered)

    def _hide_prompt(self) -> None:
        prompt, self._prompt = self._prompt, None
        if prompt is not None and prompt.is_current:
            prompt.dismiss(None)

    def _prompt_answered(self, stay: bool | None) -> None:
        was_open, self._prompt = self._prompt is not None, None
        if stay is None or not was_open or self.client is None:
            return  # closed by the engine (refreshed, expired, backgrounded): nothing to answer
        if not self.client.manager.view().prompt_visible:
            return
        self.client.manager.answer_prompt(stay=stay)

    async def _signed_out(self, reason: d.SignOutReason) -> None:
        from tui.screens.signed_out import SignedOutScreen

        owner = f"user:{self.username}" if self.username else None
        self.username = None
        self._hide_prompt()
        # Back to home (the stack is: Textual's default screen, home, then whatever is open).
        await self.back_home_async()
        draft = self.drafts.load(owner) if owner else None
        if reason is d.SignOutReason.USER_CHOICE:
            self.say("Signed out." + (" Your booking draft is saved." if draft else ""))
            self.refresh_chrome()
            return
        await self.push_screen(SignedOutScreen(reason, draft))

    def _on_profile(self, profile: Profile | None) -> None:
        if profile is not None:
            self.username = profile.username
        from tui.screens.home import HomeScreen

        for screen in self.screen_stack:
            if isinstance(screen, HomeScreen):
                screen.show_profile(profile)

    # -- lifecycle: focus, Ctrl+Z, activity ------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if (
            isinstance(event, events.Key | events.MouseDown)
            and not event.is_forwarded
            and self.client is not None
            and not getattr(self.screen, "QA_TOOL", False)
            and not (isinstance(event, events.Key) and event.key == "f2")  # opening QA is not activity
        ):
            self.client.manager.user_activity()
        await super().on_event(event)

    def on_flow_entered(self, message: FlowEntered) -> None:
        if self.client is None:
            return
        self.client.manager.set_active_flow(message.active_flow)
        if message.active_flow and self.client.manager.view().prompt_visible:
            self._show_prompt()  # the warning came while the QA panel covered the flow

    def _focus_changed(self, focused: bool) -> None:
        if self.client is None or self._suspended:
            return
        if focused:
            self.client.manager.resume()
        else:
            self.client.manager.background()
        self.refresh_countdown()

    def _on_suspend(self, _: object) -> None:
        # Runs before the process stops (immediate=True), so the pause is recorded in time.
        self._suspended = True
        if self.client is not None:
            self.client.manager.background()

    def _on_resume(self, _: object) -> None:
        self._suspended = False
        if self.client is not None:
            # After a stop from outside no suspend came first: the engine notices from the gap.
            self.client.manager.resume()
            self.refresh_chrome()

    # -- drafts and signing in ---------------------------------------------------------------------

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock.wall(), tz=dt.UTC).date()

    def save_draft(
        self, step: str, updates: dict[str, Any] | None = None, *, push: bool = False
    ) -> LocalDraft | None:
        """Rule 11: every step and field change is saved locally at once; steps also go to the server."""
        from api.drafts import DraftStoreError

        owner = self.owner()
        if self._drafts is None:
            return None
        try:
            current = self.drafts.load(owner)
            data = {**(current.data if current else {}), **(updates or {})}
            saved = self.drafts.save(owner, step, data)
        except DraftStoreError as exc:
            self.say(f"Could not save the draft on disk: {exc}", error=True)
            return None
        if push and self.draft_sync is not None:
            self.run_worker(self.push_draft(), group="draft-push", exclusive=True)
        return saved

    async def push_draft(self) -> str | None:
        """Send the draft to the server (recreating it there if it lost it); its server id, if any."""
        if self.draft_sync is None:
            return None
        owner = self.owner()
        from api.errors import ApiError

        try:
            await self.draft_sync.push(owner)
        except ApiError as exc:  # kept locally whatever the server said; say it, never crash
            self.say(f"The server did not take the draft: {exc}", error=True)
        draft = self.drafts.load(owner)
        return draft.server_id if draft else None

    async def sign_in(self, username: str, password: str) -> None:
        """Sign in; a guest's draft goes with the user. Raises LoginFailed or another ApiError."""
        client = self.require_client()
        await client.login(username, password)
        self.username = username
        owner = self.owner()
        if self.drafts.load("guest") is not None and self.drafts.load(owner) is None:
            self.drafts.move("guest", owner)

    async def on_sign_in_succeeded(self, message: SignInSucceeded) -> None:
        """Home, then a saved draft reopens at its step with its values (rule 5)."""
        await self.back_home_async()
        self.say(f"Signed in as {message.username}.")
        draft = self.saved_draft()
        if draft is not None and draft.step != "confirmation":
            await self.open_flow(draft.step)

    def back_home(self) -> None:
        self.run_worker(self.back_home_async(), exclusive=True, group="nav")

    async def back_home_async(self) -> None:
        from tui.screens.home import HomeScreen

        # Screens uncovered on the way are not being opened: they must not save their step.
        self.navigating_home = True
        try:
            while len(self.screen_stack) > 2 and not isinstance(self.screen, HomeScreen):
                await self.pop_screen()
        finally:
            self.navigating_home = False
        self.refresh_chrome()

    # -- navigation -------------------------------------------------------------------------------

    def action_qa_panel(self) -> None:
        from tui.screens.qa import QAPanel

        if isinstance(self.screen, QAPanel):
            self.pop_screen()
        elif self.client is not None:
            self.push_screen(QAPanel())

    def owner(self) -> str:
        return f"user:{self.username}" if self.username else "guest"

    def saved_draft(self) -> LocalDraft | None:
        return self._drafts.load(self.owner()) if self._drafts is not None else None

    async def open_flow(self, step: str | None = None) -> None:
        """Open the booking flow at `step` (or at the saved draft's step), with the saved values."""
        from tui.screens.booking import open_step

        draft = self.saved_draft()
        await open_step(self, step or (draft.step if draft else "search"))

    async def qa_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Talk to the backend's QA control (no token, not through the middleware)."""
        import httpx

        async with httpx.AsyncClient(base_url=self.backend_url, timeout=5) as qa:
            response = await qa.post(path, json=body)
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            return answer

    async def qa_state(self) -> dict[str, Any]:
        import httpx

        async with httpx.AsyncClient(base_url=self.backend_url, timeout=5) as qa:
            response = await qa.get("/__qa/state")
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            return answer


def build_app(settings: Settings, **kwargs: Any) -> SessionKeeperApp:
    """The one factory: the command line and the tests build the app the same way."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    return SessionKeeperApp(settings, **kwargs)


def data_dir_problem(path: Path) -> str | None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot use data dir {path}: {exc.strerror}"
    return None
