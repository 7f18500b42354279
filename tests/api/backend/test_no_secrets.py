"""No token, reauth key, password or card number in /__qa answers or in the server's logs."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from sessionkeeper.api.backend.app import create_app
from sessionkeeper.api.backend.serve import build_server, find_free_port
from tests.api.backend.helpers import (
    FLIGHT,
    GOOD_CARD,
    TTL_S,
    advance,
    bearer,
    gql,
    guest_token,
    login,
)

PASSWORD = "lovelace"


async def _session_flow(client: httpx.AsyncClient) -> list[str]:
    """Every kind of secret the server hands out or receives, through a full flow."""
    secrets: list[str] = [PASSWORD, GOOD_CARD, GOOD_CARD.replace(" ", "")]
    guest = await guest_token(client)
    secrets.append(guest)
    await client.post("/api/drafts", json={"step": "s", "data": {}}, headers=bearer(guest))
    user = await login(client, "ada", PASSWORD, headers=bearer(guest))
    secrets += [user["token"], user["reauth_key"]]
    token = user["token"]
    r = await client.post("/api/session/refresh", headers=bearer(token))
    secrets.append(r.json()["token"])
    await gql(client, token, "{ me { name } }")  # old token, in grace
    token = r.json()["token"]
    await gql(client, token, f'{{ fares(flightId: "{FLIGHT}") {{ code }} }}')
    booking = {
        "flight_id": FLIGHT,
        "fare_code": "BUSINESS",
        "passengers": [{"name": "Ada", "email": "ada@example.com"}],
        "payment": {"card_number": GOOD_CARD, "expiry": "12/99", "cvc": "123"},
    }
    assert (await client.post("/api/bookings", json=booking, headers=bearer(token))).status_code == 201
    await advance(client, TTL_S + 1)
    await client.get("/api/airports", headers=bearer(token))  # rejected: expired
    await gql(client, token, "{ me { name } }")  # rejected
    await client.post("/api/session/refresh", headers=bearer(token))  # rejected
    r = await client.post("/api/session/reauth", json={"reauth_key": user["reauth_key"]})
    secrets += [r.json()["token"], r.json()["reauth_key"]]
    await client.post("/api/session/reauth", json={"reauth_key": user["reauth_key"]})  # used key
    await client.post("/api/session/login", json={"username": "ada", "password": "wrong-pw"})
    secrets.append("wrong-pw")
    await client.delete("/api/session", headers=bearer(r.json()["token"]))
    return secrets


def _assert_absent(secrets: list[str], text: str) -> None:
    assert text
    for secret in secrets:
        assert secret not in text, "a secret leaked"


async def test_qa_state_and_faults_contain_no_secret(client: httpx.AsyncClient) -> None:
    secrets = await _session_flow(client)
    await client.post("/__qa/faults", json={"latency_ms": 0})
    for path in ("/__qa/state", "/__qa/faults"):
        _assert_absent(secrets, (await client.get(path)).text)
    state = (await client.get("/__qa/state")).json()
    assert [s["id"] for s in state["sessions"]] == ["s1", "s2", "s3"]


async def test_app_logs_contain_no_secret(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = await _session_flow(client)
    assert "session s1 (guest) created" in caplog.text  # the log does say what happened
    _assert_absent(secrets, caplog.text)


async def test_uvicorn_and_app_logs_of_a_live_server_contain_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = find_free_port()
    server = build_server(create_app(ttl_s=TTL_S), "127.0.0.1", port, log_level="debug", access_log=True)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            secrets = await _session_flow(client)
    finally:
        server.stop()
        await task
    assert '"POST /api/session/login HTTP/1.1" 200' in caplog.text  # the access log ran
    _assert_absent(secrets, caplog.text)
