"""Fixtures for the mock backend: an in-process app on a fake clock, and a real uvicorn one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from sessionkeeper.api.backend.app import create_app
from sessionkeeper.api.backend.serve import EmbeddedBackend
from sessionkeeper.api.backend.state import BackendState
from tests.api.backend.helpers import GRACE_S, TODAY, TTL_S, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> FastAPI:
    return create_app(ttl_s=TTL_S, grace_s=GRACE_S, clock=clock, today=lambda: TODAY)


@pytest.fixture
def state(app: FastAPI) -> BackendState:
    backend: BackendState = app.state.backend
    return backend


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://backend.test") as c:
        yield c


@pytest.fixture
async def live_backend() -> AsyncIterator[EmbeddedBackend]:
    """A real uvicorn on 127.0.0.1, on a free port, inside the test's event loop."""
    async with EmbeddedBackend(ttl_s=TTL_S) as backend:
        yield backend
