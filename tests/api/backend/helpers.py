"""Shared helpers for the mock backend tests: a fake clock, constants and request shortcuts."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

TTL_S = 60.0
GRACE_S = 30.0
TODAY = date(2025, 6, 1)
FLIGHT = "LHR-CDG-20250601-1"
GOOD_CARD = "4242 4242 4242 4242"


class FakeClock:
    """The app's base clock; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def guest_token(client: httpx.AsyncClient) -> str:
    r = await client.post("/api/session/guest")
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


async def login(
    client: httpx.AsyncClient, username: str = "ada", password: str = "lovelace", **kw: Any
) -> dict[str, Any]:
    r = await client.post("/api/session/login", json={"username": username, "password": password}, **kw)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def gql(
    client: httpx.AsyncClient,
    token: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
) -> httpx.Response:
    headers = bearer(token) if token is not None else {}
    return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    r = await client.post("/__qa/clock", json={"advance_s": seconds})
    assert r.status_code == 200, r.text


async def qa_state(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/__qa/state")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def assert_unauthenticated(r: httpx.Response, reason: str = "session_expired") -> None:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["extensions"]["reason"] == reason


def assert_rest_rejected(r: httpx.Response, error: str = "session_expired") -> None:
    assert r.status_code == 401, r.text
    assert r.json()["error"] == error
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
