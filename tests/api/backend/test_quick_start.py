"""The embedded backend's quick start (issue 10, item 2): the first guest session is answered as the
full app answers it, before the full app exists; everything else is the full app's, over the same
state."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import httpx
import pytest

from sessionkeeper.api.backend.app import create_app
from sessionkeeper.api.backend.quick_start import QuickStart
from sessionkeeper.api.backend.serve import EmbeddedBackend


def tokens() -> Callable[[], str]:
    counter = itertools.count()
    return lambda: f"tok-{next(counter)}"


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://backend")  # type: ignore[arg-type]


async def test_a_guest_session_from_the_quick_start_is_the_full_apps_answer_byte_for_byte() -> None:
    quick = QuickStart(ttl_s=60, token_factory=tokens())
    full = create_app(ttl_s=60, token_factory=tokens())
    async with client_for(quick) as early, client_for(full) as late:
        first, expected = await early.post("/api/session/guest"), await late.post("/api/session/guest")
        assert not quick.built  # answered without the full app
        assert (first.status_code, first.content) == (expected.status_code, expected.content)
        assert first.headers["content-type"] == expected.headers["content-type"]
        assert quick.state.counters.as_dict() == full.state.backend.counters.as_dict()
        assert quick.state.counters.guest_sessions == quick.state.counters.api_calls == 1


async def test_any_other_request_builds_the_full_app_over_the_state_the_quick_start_served() -> None:
    quick = QuickStart(ttl_s=60)
    async with client_for(quick) as http:
        token = (await http.post("/api/session/guest")).json()["token"]
        whoami = await http.get("/api/session", headers={"authorization": f"Bearer {token}"})
        assert quick.built and quick.app is not None
        assert whoami.status_code == 200 and whoami.json()["kind"] == "guest"
        state = (await http.get("/__qa/state")).json()
        assert state["counters"]["guest_sessions"] == 1 and state["counters"]["api_calls"] == 2


async def test_once_built_the_full_app_answers_guest_sessions_too() -> None:
    quick = QuickStart(ttl_s=60)
    await quick.build()
    async with client_for(quick) as http:
        (await http.post("/__qa/faults", json={"down": True})).raise_for_status()
        assert (await http.post("/api/session/guest")).status_code == 503  # the full app's gate


async def test_a_full_app_that_cannot_be_built_answers_500_and_holds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quick = QuickStart(ttl_s=60)

    def broken() -> object:
        raise ImportError("no module named fastapi")

    monkeypatch.setattr(quick, "_full_app", broken)
    async with client_for(quick) as http:
        answer = await http.get("/__qa/state")
        assert answer.status_code == 500 and "ImportError" in answer.json()["detail"]
        assert quick.problem is not None and quick.built


async def test_under_uvicorn_on_loopback_it_starts_serves_and_stops() -> None:
    quick = QuickStart(ttl_s=60)
    async with EmbeddedBackend(app=quick) as backend, httpx.AsyncClient(base_url=backend.url) as http:
        token = (await http.post("/api/session/guest")).json()["token"]
        assert not quick.built
        answer = await http.post(
            "/graphql", json={"query": "{ me { name } }"}, headers={"authorization": f"Bearer {token}"}
        )
        assert answer.json() == {"data": {"me": None}}  # a guest, known to the full app
    assert not backend.running
