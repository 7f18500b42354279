"""The real app under Pilot, with its embedded backend on loopback and both clocks fake.

The client's clock and the server's move together, only when told; the countdown timer is left
idle and its callback called directly (Textual has no fake clock for `set_interval`).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from api.client import InnerTransportFactory
from session.clock import FakeClock
from session.secrets import Fingerprinter
from tui.app import SessionKeeperApp, build_app
from tui.settings import Settings

TTL, WARN = 60.0, 20.0
SIZE = (110, 34)


@dataclass
class Harness:
    app: SessionKeeperApp
    pilot: Pilot[None]
    clock: FakeClock
    server_clock: FakeClock | None

    async def advance(self, seconds: float) -> None:
        """Time passes on both sides; the app looks, as its wake-up and its tick would."""
        self.clock.advance(seconds)
        if self.server_clock is not None:
            self.server_clock.advance(seconds)
        else:
            await self.app.qa_post("/__qa/clock", {"advance_s": seconds})
        await self.settle()

    async def settle(self) -> None:
        client = self.app.require_client()
        client.manager.tick()
        await self.pilot.pause()
        await client.settle()
        self.app.refresh_countdown()
        await self.pilot.pause()

    async def counters(self) -> dict[str, int]:
        counters: dict[str, int] = (await self.app.qa_state())["counters"]
        return counters

    async def qa(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.app.qa_post(path, body)

    def countdown_text(self) -> str:
        from tui.widgets.countdown import Countdown

        return str(self.app.screen.query_one(Countdown).render())

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

    async def sign_in(self, username: str = "ada", password: str = "lovelace") -> None:
        """As the sign-in screen does it: sign in, then the app navigates."""
        from tui.messages import SignInSucceeded

        await self.app.sign_in(username, password)
        await self.app.on_sign_in_succeeded(SignInSucceeded(username))
        await self.pilot.pause()


def make_app(
    data_dir: Path,
    *,
    ttl: float = TTL,
    warn: float = WARN,
    backend_url: str | None = None,
    inner_transport: InnerTransportFactory | None = None,
) -> tuple[SessionKeeperApp, FakeClock, FakeClock | None]:
    clock = FakeClock()
    server_clock = FakeClock() if backend_url is None else None
    counter = itertools.count(1)
    app = build_app(
        Settings(ttl_s=ttl, warn_s=warn, data_dir=data_dir, backend_url=backend_url),
        clock=clock,
        auto_wake=False,
        tick_interval=3600.0,
        backend_clock=server_clock.now if server_clock else None,
        backend_token_factory=lambda: f"test-secret-{next(counter):04d}-{'x' * 24}",
        inner_transport=inner_transport,
        fingerprinter=Fingerprinter(b"snapshot-salt"),
    )
    return app, clock, server_clock


@asynccontextmanager
async def running(data_dir: Path, **kwargs: Any) -> AsyncIterator[Harness]:
    app, clock, server_clock = make_app(data_dir, **kwargs)
    async with app.run_test(size=SIZE) as pilot:
        await app.ready.wait()
        await pilot.pause()
        harness = Harness(app, pilot, clock, server_clock)
        app.refresh_countdown()
        await pilot.pause()
        yield harness
