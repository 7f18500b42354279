"""The real app under Pilot, with its embedded backend on loopback and both clocks fake.

The client's clock and the server's move together, only when told; the countdown timer is left
idle and its callback called directly (Textual has no fake clock for `set_interval`).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from sessionkeeper.api.client import BackendClient, InnerTransportFactory
from sessionkeeper.api.qa.control import QAControl
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.secrets import Fingerprinter
from sessionkeeper.tui.app import SessionKeeperApp, build_app
from sessionkeeper.tui.services import Overrides
from sessionkeeper.tui.settings import Settings

TTL, WARN = 60.0, 20.0
SIZE = (110, 34)
FLIGHT_DATE = "2030-05-01"  # the date the tests search flights for


@dataclass
class Harness:
    app: SessionKeeperApp
    pilot: Pilot[None]
    clock: FakeClock
    server_clock: FakeClock | None
    notes: list[str] = field(default_factory=list)  # every notification (toast) the app showed

    @property
    def client(self) -> BackendClient:
        client = self.app.client
        assert client is not None, "the session has not started"
        return client

    @property
    def control(self) -> QAControl:
        control = self.app.services.qa_control
        assert control is not None
        return control

    async def advance(self, seconds: float) -> None:
        """Time passes on both sides; the app looks, as its wake-up and its tick would."""
        self.clock.advance(seconds)
        if self.server_clock is not None:
            self.server_clock.advance(seconds)
        else:
            await self.control.advance_clock(seconds)
        await self.settle()

    async def settle(self) -> None:
        self.client.manager.tick()
        await self.pilot.pause()
        await self.client.settle()
        self.app.refresh_countdown()
        await self.pilot.pause()

    async def counters(self) -> dict[str, int]:
        return (await self.control.state()).counters

    def countdown_text(self) -> str:
        from sessionkeeper.tui.widgets.countdown import Countdown

        return str(self.app.screen.query_one(Countdown).render())

    def text(self, selector: str) -> str:
        """What a widget of the current screen shows."""
        from sessionkeeper.tui.widgets.line_box import LineBox

        widget = self.app.screen.query_one(selector)
        return widget.text if isinstance(widget, LineBox) else str(widget.render())

    async def fill(self, widget_id: str, text: str) -> None:
        """Focus a field and give it a value (an Input.Changed follows, as with typing)."""
        from textual.widgets import Input

        field = self.app.screen.query_one(f"#{widget_id}", Input)
        field.focus()
        field.value = text
        await self.pilot.pause()

    def value(self, widget_id: str) -> str:
        from textual.widgets import Input

        return self.app.screen.query_one(f"#{widget_id}", Input).value

    async def open_search(self) -> None:
        """`b`: the booking flow opens at its first step."""
        from sessionkeeper.tui.screens.booking import SearchStep

        await self.pilot.press("b")
        await self.pilot.pause()
        assert isinstance(self.app.screen, SearchStep), type(self.app.screen).__name__

    async def fill_search(self) -> None:
        """The search step opened and filled in: LHR to CDG on FLIGHT_DATE."""
        await self.open_search()
        await self.fill("origin", "LHR")
        await self.fill("destination", "CDG")
        await self.fill("date", FLIGHT_DATE)

    async def step(self, key: str = "ctrl+n") -> None:
        """A key that moves the flow (by default: on to the next step), and the calls it makes."""
        await self.pilot.press(key)
        await self.pilot.pause()
        await self.app.workers.wait_for_complete()
        await self.settle()

    async def open_step(self, step: str, data: dict[str, object] | None = None) -> None:
        """The booking flow reopened at `step` from a draft holding `data`, as after signing in."""
        from sessionkeeper.tui.messages import OpenFlow

        drafts = self.app.drafts
        assert drafts is not None
        drafts.save(step, data or {})
        self.app.post_message(OpenFlow(step))
        await self.pilot.pause()
        await self.app.workers.wait_for_complete()
        await self.pilot.pause()

    async def sign_in(self, username: str = "ada", password: str = "lovelace") -> None:
        """As a person does it: open the sign-in screen, type, press Enter, wait for the answer."""
        from sessionkeeper.tui.messages import ShowSignIn
        from sessionkeeper.tui.screens.sign_in import SignInScreen

        self.app.post_message(ShowSignIn())
        await self.pilot.pause()
        assert isinstance(self.app.screen, SignInScreen)
        await self.fill("username", username)
        await self.fill("password", password)
        await self.pilot.press("enter")
        await self.app.workers.wait_for_complete()
        await self.pilot.pause()
        await self.pilot.pause()


def make_app(
    data_dir: Path,
    *,
    ttl: float = TTL,
    warn: float = WARN,
    backend_url: str | None = None,
    inner_transport: InnerTransportFactory | None = None,
    warm_up_after_s: float | None = None,
    prompt_guard_s: float = 0.0,
    clock: FakeClock | None = None,
    lifetime: float | None = None,
) -> tuple[SessionKeeperApp, FakeClock, FakeClock | None]:
    """The app on fake clocks. The prompt's guard (it ignores keys for a moment after it appears)
    is off unless asked for: on a fake clock that stands still it would never end. `clock`: the
    client's, when two apps share one (two instances on one machine)."""
    clock = clock if clock is not None else FakeClock()
    server_clock = FakeClock() if backend_url is None else None
    counter = itertools.count(1)
    app = build_app(
        Settings(
            ttl_s=ttl,
            warn_s=warn,
            data_dir=data_dir,
            backend_url=backend_url,
            prompt_guard_s=prompt_guard_s,
            lifetime_s=8 * 3600.0 if lifetime is None else lifetime,
        ),
        overrides=Overrides(
            clock=clock,
            auto_wake=False,
            backend_clock=server_clock.now if server_clock else None,
            backend_token_factory=lambda: f"test-secret-{next(counter):04d}-{'x' * 24}",
            inner_transport=inner_transport,
            fingerprinter=Fingerprinter(b"snapshot-salt"),
            # Off unless asked for: its GraphQL query would show in the server's counters at a
            # moment that depends on the machine's speed.
            warm_up_after_s=warm_up_after_s,
        ),
        tick_interval=3600.0,
    )
    return app, clock, server_clock


@asynccontextmanager
async def running(data_dir: Path, *, size: tuple[int, int] = SIZE, **kwargs: Any) -> AsyncIterator[Harness]:
    app, clock, server_clock = make_app(data_dir, **kwargs)
    async with app.run_test(size=size) as pilot:
        await app.ready.wait()
        await pilot.pause()
        harness = Harness(app, pilot, clock, server_clock)
        shown = app.notify

        def notify(message: str, **kwargs: Any) -> None:
            harness.notes.append(message)
            shown(message, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        app.refresh_countdown()
        await pilot.pause()
        yield harness
