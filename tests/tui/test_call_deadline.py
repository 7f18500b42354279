"""`--call-deadline` reaches every client the app builds (issue 16): the session's flights, the
calls through the middleware, and QA control, each against a loopback server that drips its answer."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from sessionkeeper.api.errors import BackendUnreachable
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.decisions import Link
from sessionkeeper.tui.services import Overrides, Services
from sessionkeeper.tui.settings import Settings
from tests.api.misbehaving import Misbehaving, drip_body

DEADLINE = 0.5
MARGIN = 1.0


async def test_the_settings_deadline_bounds_the_sessions_flights_the_calls_and_qa(tmp_path: Path) -> None:
    routes = {"/api/session/guest": drip_body(), "/api/airports": drip_body(), "/__qa/state": drip_body()}
    async with Misbehaving(routes) as server:
        settings = Settings(backend_url=server.url, data_dir=tmp_path, call_deadline_s=DEADLINE)
        services = Services(settings, Overrides(clock=FakeClock(), auto_wake=False, warm_up_after_s=None))
        started = time.monotonic()
        async with asyncio.timeout(DEADLINE + MARGIN):
            await services.start(on_decision=lambda _decision: None, on_change=lambda: None)
        assert time.monotonic() - started < DEADLINE + MARGIN
        client, qa = services.client, services.qa_control
        assert client is not None and qa is not None and client.call_deadline == DEADLINE
        assert client.manager.view().link is Link.UNREACHABLE  # the first guest session: no answer
        del server.routes["/api/session/guest"]  # answered from now on: the next call gets a session
        for call in (client.rest.airports, qa.state):
            started = time.monotonic()
            with pytest.raises(BackendUnreachable):
                async with asyncio.timeout(DEADLINE + MARGIN):
                    await call()
            assert time.monotonic() - started < DEADLINE + MARGIN
        assert (server.hits["/api/airports"], server.hits["/__qa/state"]) == (1, 1)
        await services.aclose()
