"""Everything the app runs on, built once: the QA clock, the embedded backend (unless `--backend`
names one), the client (session manager, middleware, REST and GraphQL), the booking drafts and QA
control. `build_app` makes one for the command line and the tests alike.

Nothing here draws: the app asks it to start and stop, and reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessionkeeper.session.clock import QAClock
from sessionkeeper.tui.settings import Settings

if TYPE_CHECKING:
    # The backend, the HTTP clients and pydantic are imported in `start`, once the first frame is
    # up: they are most of a cold start. The fingerprinter (hashlib, hmac) comes with the client.
    from sessionkeeper.api.backend.quick_start import QuickStart
    from sessionkeeper.api.backend.serve import EmbeddedBackend
    from sessionkeeper.api.client import BackendClient, InnerTransportFactory
    from sessionkeeper.api.drafts import BookingDrafts, DraftStore
    from sessionkeeper.api.qa.control import QAControl
    from sessionkeeper.api.qa.desk import QADesk
    from sessionkeeper.session import decisions as d
    from sessionkeeper.session.clock import Clock
    from sessionkeeper.session.private_files import PrivateDir
    from sessionkeeper.session.secrets import Fingerprinter


@dataclass(frozen=True, slots=True)
class Overrides:
    """What tests replace: fake clocks on both sides, repeatable tokens, a faulty connection, a
    fixed fingerprint salt, the manager's own wake-ups (off: tests tick by hand), and the
    background warm-up."""

    clock: Clock | None = None
    auto_wake: bool = True
    notice_sleep: bool | None = None  # look for a sleep (by default, with auto_wake)
    backend_clock: Callable[[], float] | None = None
    backend_token_factory: Callable[[], str] | None = None
    inner_transport: InnerTransportFactory | None = None
    fingerprinter: Fingerprinter | None = None
    # The background warm-up (the full backend, the clients, one introspection-only GraphQL
    # query) this long after the countdown runs; None: none (tests that count the server's calls).
    warm_up_after_s: float | None = 0.25
    # The absolute lifetime of a backend started beside the app (the scenario runner's), known as
    # the embedded one's is; None: learned from its first refusal (rule 15).
    backend_lifetime_s: float | None = None


class StartupFailed(Exception):
    """The app cannot run its session: the message says why, in one line."""


class Services:
    def __init__(
        self, settings: Settings, overrides: Overrides | None = None, *, data_dir: PrivateDir | None = None
    ) -> None:
        """`data_dir` is what `build_app` found of the data dir (and did to it): said on the
        timeline once there is one, and on the banner while it is not private."""
        self.settings = settings
        self.overrides = overrides or Overrides()
        self.data_dir = data_dir
        self.clock = QAClock(self.overrides.clock)
        self.backend_url = settings.backend_url or ""
        self.embedded: EmbeddedBackend | None = None
        self.quick_start: QuickStart | None = None
        self.client: BackendClient | None = None
        self.store: DraftStore | None = None
        self.drafts: BookingDrafts | None = None
        self.qa_control: QAControl | None = None
        self.qa: QADesk | None = None
        self.session_started = False  # the first session exists: the countdown can run
        self.warming: asyncio.Task[None] | None = None  # the background warm-up, once started

    async def start(
        self,
        on_decision: Callable[[d.Decision], None],
        on_change: Callable[[], None],
    ) -> None:
        """Start the backend (if embedded) and the session, then what the rest of the app needs.
        `on_change` is called as soon as the first session exists (the countdown can run), before
        the drafts and QA control are made. Raises StartupFailed."""
        from sessionkeeper.api.client import BackendClient
        from sessionkeeper.session.policy import Policy
        from sessionkeeper.session.store import SessionStore
        from sessionkeeper.session.timeline import Timeline

        settings, overrides = self.settings, self.overrides
        data = settings.data_path
        try:
            if settings.backend_url is None:
                # Only here: with --backend URL, no backend module is imported at all. The
                # embedded backend answers the first guest session at once, and builds its full
                # app once the countdown runs (api.backend.quick_start).
                from sessionkeeper.api.backend.quick_start import QuickStart
                from sessionkeeper.api.backend.serve import EmbeddedBackend, PortUnavailableError

                self.quick_start = QuickStart(
                    ttl_s=settings.ttl_s,
                    lifetime_s=settings.lifetime_s,
                    clock=overrides.backend_clock,
                    token_factory=overrides.backend_token_factory,
                )
                self.embedded = EmbeddedBackend(port=settings.backend_port, app=self.quick_start)
                try:
                    self.backend_url = await self.embedded.start()
                except PortUnavailableError as exc:
                    raise StartupFailed(str(exc)) from None
            client = self.client = BackendClient(
                self.backend_url,
                clock=self.clock,
                policy=Policy(ttl_s=settings.ttl_s, warn_s=settings.warn_s),
                store=SessionStore(data / "session.json", scope=self.backend_url),
                timeline=Timeline(data / "timeline.jsonl", flush_every_s=1.0),
                auto_wake=overrides.auto_wake,
                notice_sleep=overrides.notice_sleep,
                inner_transport=overrides.inner_transport,
                call_deadline=settings.call_deadline_s,
                fingerprinter=overrides.fingerprinter,
                # Rule 15: the embedded backend's cap is the app's own --lifetime; another
                # backend's is learned from its first refusal.
                lifetime_s=settings.lifetime_s if self.embedded is not None else overrides.backend_lifetime_s,
            )
            client.manager.subscribe(on_decision)
            client.profile_listeners.append(lambda _profile: on_change())
            self._say_data_dir(client)
            await client.start()
            self.session_started = True
            on_change()
            # From here on nothing waits: the countdown is drawn once this returns.
            from sessionkeeper.api.drafts import BookingDrafts, DraftStore, DraftSync
            from sessionkeeper.api.qa.control import QAControl
            from sessionkeeper.api.qa.desk import QADesk

            self.store = DraftStore(data / "drafts.sqlite3")
            if self.store.moved_aside is not None:
                client.manager.record(
                    "drafts_store_corrupt",
                    moved_to=self.store.moved_aside.name,
                    reason=self.store.moved_aside_reason,
                )
            self.drafts = BookingDrafts(
                self.store,
                DraftSync(self.store, lambda: client.rest, lambda: client.graphql),
                lambda: client.username,
            )
            self.qa_control = QAControl(self.backend_url, deadline_s=settings.call_deadline_s)
            self.qa = QADesk(
                self.qa_control, client, self.clock, full_ttl_s=settings.ttl_s, on_change=on_change
            )
            if overrides.warm_up_after_s is not None:
                self.warming = asyncio.create_task(self._warm(client, overrides.warm_up_after_s))
        except StartupFailed:
            raise
        except Exception as exc:  # never a traceback on screen: say what failed
            raise StartupFailed(f"could not start: {type(exc).__name__}: {exc}") from None

    def _say_data_dir(self, client: BackendClient) -> None:
        checked = self.data_dir
        if checked is None:
            return
        if checked.tightened_from is not None:
            client.manager.record(
                "data_dir_tightened", mode_was=f"{checked.tightened_from:04o}", mode=f"{checked.mode:04o}"
            )
        if checked.problem is not None:
            client.manager.record("data_dir_not_private", reason=checked.problem)

    async def _warm(self, client: BackendClient, after_s: float) -> None:
        """Once the countdown runs: the embedded backend's full app, then the clients' imports
        and set-up, so the first booking step's calls cost what warm calls do. A failure here
        only means a slower first call (a backend that cannot build answers 500 to each)."""
        await asyncio.sleep(after_s)  # let the countdown's frame be painted first
        if self.quick_start is not None:
            await self.quick_start.build()
        with contextlib.suppress(Exception):
            await client.warm_up()

    async def aclose(self) -> None:
        """Stop everything; never raises (the app is on its way out)."""
        if self.warming is not None:
            self.warming.cancel()
            with contextlib.suppress(BaseException):
                await self.warming
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.aclose()
        if self.qa_control is not None:
            with contextlib.suppress(Exception):
                await self.qa_control.aclose()
        if self.embedded is not None:
            with contextlib.suppress(Exception):
                await self.embedded.stop()
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()
