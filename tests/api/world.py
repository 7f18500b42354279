"""A client and the real mock backend on a loopback port, with time moved on both sides at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from sessionkeeper.api.backend.serve import EmbeddedBackend
from sessionkeeper.api.client import BackendClient
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.timeline import Timeline
from tests.transports import PassThrough

TTL, WARN = 900.0, 60.0


class HeldTransport(PassThrough):
    """Holds the next request before it leaves, until released: a call "in flight" on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.armed:
            self.armed = False
            self.held.set()
            await self.release.wait()
        return await super().handle_async_request(request)


@dataclass
class World:
    backend: EmbeddedBackend
    client: BackendClient
    clock: FakeClock
    qa: httpx.AsyncClient
    protocol: str  # "rest" | "graphql"
    held: list[HeldTransport] = field(default_factory=list)

    async def call(self) -> Any:
        """One cheap authenticated call over this world's protocol."""
        if self.protocol == "rest":
            return await self.client.rest.whoami()
        return await self.client.graphql.me()

    async def advance(self, seconds: float, *, tick: bool = True) -> None:
        """Move the client's clock and the server's together, then (unless told not to) let the
        client look, as its scheduled wake-up would."""
        self.clock.advance(seconds)
        response = await self.qa.post("/__qa/clock", json={"advance_s": seconds})
        response.raise_for_status()
        if tick:
            self.client.manager.tick()

    async def state(self) -> dict[str, Any]:
        response = await self.qa.get("/__qa/state")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def counters(self) -> dict[str, int]:
        counters: dict[str, int] = (await self.state())["counters"]
        return counters

    async def faults(self, **faults: Any) -> None:
        (await self.qa.post("/__qa/faults", json=faults)).raise_for_status()

    async def revoke_all(self) -> None:
        (await self.qa.post("/__qa/revoke", json={"all": True})).raise_for_status()

    @property
    def calls_counter(self) -> str:
        return "api_calls" if self.protocol == "rest" else "graphql_calls"


_HOLD_SEAT = """
mutation Hold($flight: ID!, $seat: String!, $draft: ID!) {
  holdSeat(flightId: $flight, seat: $seat, draftId: $draft) { seat }
}"""


async def stranger_holds(http: httpx.AsyncClient, flight_id: str, seat: str) -> None:
    """Someone else, a guest of their own, holds `seat`; `http` talks to the backend directly."""
    token = (await http.post("/api/session/guest")).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    draft = (await http.post("/api/drafts", json={"step": "seats", "data": {}}, headers=auth)).json()
    variables = {"flight": flight_id, "seat": seat, "draft": draft["id"]}
    answer = await http.post("/graphql", json={"query": _HOLD_SEAT, "variables": variables}, headers=auth)
    assert answer.json() == {"data": {"holdSeat": {"seat": seat}}}, answer.text


@asynccontextmanager
async def world(protocol: str = "rest", *, held: bool = False) -> AsyncIterator[World]:
    clock = FakeClock()
    holders: list[HeldTransport] = []

    def inner() -> httpx.AsyncBaseTransport:
        if not held:
            return httpx.AsyncHTTPTransport()
        holder = HeldTransport()
        holders.append(holder)
        return holder

    async with EmbeddedBackend(ttl_s=TTL) as backend:
        client = BackendClient(
            backend.url,
            clock=clock,
            policy=Policy(ttl_s=TTL, warn_s=WARN),
            timeline=Timeline(),
            auto_wake=False,
            inner_transport=inner,
        )
        async with httpx.AsyncClient(base_url=backend.url) as qa:
            try:
                await client.start()
                # Both made now (the app makes them on first use): connections 0, 1, 2 are the
                # session port's, the REST client's and the GraphQL client's.
                assert client.rest is not None and client.graphql is not None
                yield World(backend, client, clock, qa, protocol, holders)
            finally:
                await client.aclose()
