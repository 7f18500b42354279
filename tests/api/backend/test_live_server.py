"""Smoke tests against a real uvicorn on a loopback port: REST, GraphQL, outside clients,
the OpenAPI document, and the `sessionkeeper backend` command (port in use, Ctrl+C)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

from sessionkeeper.api.backend.serve import (
    EmbeddedBackend,
    PortUnavailableError,
    find_free_port,
    is_loopback,
    port_is_free,
    serve_forever,
)
from tests.api.backend.helpers import FLIGHT, TTL_S, assert_unauthenticated, bearer

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port with a listener on it, as another program would have."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def test_live_guest_graphql_then_clock_skip_gives_unauthenticated(
    live_backend: EmbeddedBackend,
) -> None:
    """The README recipe, through real sockets."""
    async with httpx.AsyncClient(base_url=live_backend.url) as client:
        r = await client.post("/api/session/guest")
        assert r.status_code == 201
        token = r.json()["token"]
        q = {"query": f'{{ fares(flightId: "{FLIGHT}") {{ code }} }}'}
        r = await client.post("/graphql", json=q, headers=bearer(token))
        assert len(r.json()["data"]["fares"]) == 4
        r = await client.post("/__qa/clock", json={"advance_s": TTL_S + 1})
        assert r.status_code == 200
        assert_unauthenticated(await client.post("/graphql", json=q, headers=bearer(token)))


async def test_live_user_books_a_flight_over_rest_and_graphql(
    live_backend: EmbeddedBackend,
) -> None:
    async with httpx.AsyncClient(base_url=live_backend.url) as client:
        r = await client.post("/api/session/login", json={"username": "grace", "password": "hopper"})
        h = bearer(r.json()["token"])
        params = {"origin": "LHR", "destination": "CDG", "date": "2025-06-01"}
        flight = (await client.get("/api/flights", params=params, headers=h)).json()["flights"][0]
        draft = (await client.post("/api/drafts", json={"step": "seat", "data": {}}, headers=h)).json()
        seat_map = await client.post(
            "/graphql",
            headers=h,
            json={
                "query": "query($f: ID!) { seatMap(flightId: $f) { rows { seats { code status } } } }",
                "variables": {"f": flight["id"]},
            },
        )
        rows = seat_map.json()["data"]["seatMap"]["rows"]
        seat = next(s["code"] for row in rows for s in row["seats"] if s["status"] == "AVAILABLE")
        hold = await client.post(
            "/graphql",
            headers=h,
            json={
                "query": "mutation($f: ID!, $s: String!, $d: ID!) "
                "{ holdSeat(flightId: $f, seat: $s, draftId: $d) { seat } }",
                "variables": {"f": flight["id"], "s": seat, "d": draft["id"]},
            },
        )
        assert hold.json() == {"data": {"holdSeat": {"seat": seat}}}
        me = await client.post("/graphql", headers=h, json={"query": "{ me { loyalty { tier } } }"})
        assert me.json()["data"]["me"]["loyalty"]["tier"] == "PLATINUM"
        r = await client.post(
            "/api/bookings",
            headers=h,
            json={
                "flight_id": flight["id"],
                "fare_code": "ECONOMY_FLEX",
                "seats": [seat],
                "draft_id": draft["id"],
                "passengers": [{"name": "Grace", "email": "g@example.com"}],
                "payment": {"card_number": "5555 5555 5555 4444", "expiry": "01/99", "cvc": "321"},
            },
        )
        assert r.status_code == 201 and len(r.json()["record_locator"]) == 6


async def test_an_outside_graphql_client_introspects_the_schema(
    live_backend: EmbeddedBackend,
) -> None:
    transport = HTTPXAsyncTransport(url=f"{live_backend.url}/graphql")
    client = Client(transport=transport, fetch_schema_from_transport=True)
    async with client:
        assert client.schema is not None
        for name in ("Query", "Mutation", "Fare", "SeatMap", "SeatHold", "Profile", "Loyalty"):
            assert client.schema.get_type(name) is not None, name
        assert set(client.schema.query_type.fields) == {"fares", "seatMap", "me"}  # type: ignore[union-attr]
        assert set(client.schema.mutation_type.fields) == {"holdSeat", "releaseSeat"}  # type: ignore[union-attr]


async def test_gql_with_a_token_runs_queries_on_the_live_server(
    live_backend: EmbeddedBackend,
) -> None:
    async with httpx.AsyncClient(base_url=live_backend.url) as http:
        token = (await http.post("/api/session/guest")).json()["token"]
    transport = HTTPXAsyncTransport(url=f"{live_backend.url}/graphql", headers=bearer(token))
    async with Client(transport=transport) as session:
        result = await session.execute(GraphQLRequest("{ me { name } }"))
    assert result == {"me": None}


# Every REST route, as the typed clients rely on them.
ROUTES = {
    ("post", "/api/session/guest"),
    ("post", "/api/session/login"),
    ("post", "/api/session/refresh"),
    ("post", "/api/session/reauth"),
    ("delete", "/api/session"),
    ("get", "/api/session"),
    ("get", "/api/airports"),
    ("get", "/api/flights"),
    ("get", "/api/flights/{flight_id}"),
    ("post", "/api/drafts"),
    ("get", "/api/drafts"),
    ("get", "/api/drafts/{draft_id}"),
    ("put", "/api/drafts/{draft_id}"),
    ("post", "/api/bookings"),
    ("get", "/api/bookings"),
    ("get", "/api/bookings/{record_locator}"),
    ("get", "/__qa/state"),
    ("get", "/__qa/session"),
    ("post", "/__qa/clock"),
    ("get", "/__qa/faults"),
    ("post", "/__qa/faults"),
    ("post", "/__qa/revoke"),
    ("post", "/__qa/reset"),
    ("post", "/graphql"),
    ("get", "/"),
}
PUBLIC = {"/api/session/guest", "/api/session/login", "/api/session/reauth"}
NO_BODY = {"/api/session/guest", "/api/session/refresh", "/__qa/reset", "/graphql"}


async def test_openapi_lists_every_rest_route_with_request_and_response_shapes(
    live_backend: EmbeddedBackend,
) -> None:
    async with httpx.AsyncClient(base_url=live_backend.url) as client:
        doc = (await client.get("/openapi.json")).json()
    listed = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert listed == ROUTES
    for method, path in ROUTES - {("post", "/graphql")}:
        operation = doc["paths"][path][method]
        success = next(code for code in operation["responses"] if code.startswith("2"))
        if success != "204":
            assert "schema" in operation["responses"][success]["content"]["application/json"]
        if method in ("post", "put") and path not in NO_BODY:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert "$ref" in schema, (method, path)
        if path.startswith("/api/"):
            assert "503" in operation["responses"], path  # the `down` fault
        if path.startswith("/api/") and path not in PUBLIC:
            assert "401" in operation["responses"], (method, path)
    schemas = doc["components"]["schemas"]
    assert schemas["LoginIn"]["additionalProperties"] is False
    assert set(schemas["ErrorOut"]["properties"]) == {"error", "detail", "fields"}
    assert {p["name"] for p in doc["paths"]["/api/flights"]["get"]["parameters"]} == {
        "origin",
        "destination",
        "date",
    }
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "requestBody" in doc["paths"]["/graphql"]["post"]


async def test_embedded_backend_refuses_a_port_in_use(busy_port: int) -> None:
    assert not port_is_free("127.0.0.1", busy_port)
    backend = EmbeddedBackend(port=busy_port)
    with pytest.raises(PortUnavailableError, match=f"port {busy_port} on 127.0.0.1 is already"):
        await backend.start()
    await backend.stop()  # harmless after a failed start


async def test_embedded_backend_stops_and_frees_its_port() -> None:
    backend = EmbeddedBackend()
    url = await backend.start()
    assert backend.running and url == f"http://127.0.0.1:{backend.port}"
    await backend.stop()
    await backend.stop()
    assert not backend.running
    assert backend.port is not None and port_is_free("127.0.0.1", backend.port)


def test_serve_forever_exits_2_with_one_line_when_the_port_is_in_use(
    busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve_forever("127.0.0.1", busy_port, 60.0) == 2
    out, err = capsys.readouterr()
    assert err == f"sessionkeeper backend: port {busy_port} on 127.0.0.1 is already in use\n"
    assert out == ""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sessionkeeper.tui.cli", "backend", *args]


async def test_cli_backend_port_in_use_exits_2_without_a_traceback(busy_port: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        *_cli("--port", str(busy_port)),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert err.decode().splitlines() == [
        f"sessionkeeper backend: port {busy_port} on 127.0.0.1 is already in use"
    ]
    assert out == b""


async def test_cli_backend_serves_prints_its_url_and_stops_cleanly_on_ctrl_c() -> None:
    port = find_free_port()
    proc = await asyncio.create_subprocess_exec(
        *_cli("--port", str(port), "--ttl", "60"),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        banner = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert banner.decode().strip() == (
            f"sessionkeeper backend serving on http://127.0.0.1:{port} (ttl 60s, lifetime 28800s)"
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            guest = (await client.post("/api/session/guest")).json()["token"]
            user = (
                await client.post("/api/session/login", json={"username": "ada", "password": "lovelace"})
            ).json()
            r = await client.post(
                "/graphql", json={"query": "{ me { name } }"}, headers=bearer(user["token"])
            )
            assert r.json() == {"data": {"me": {"name": "Ada Lovelace"}}}
            assert (await client.get("/__qa/state")).json()["ttl_s"] == 60
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    log = banner.decode() + out.decode() + err.decode()
    assert "Traceback" not in log
    assert "sessionkeeper backend stopped" in log
    assert '"POST /api/session/login HTTP/1.1" 200' in log  # access log on, secrets off
    for secret in (guest, user["token"], user["reauth_key"], "lovelace"):
        assert secret not in log


async def test_the_embedded_server_wakes_once_a_second_yet_stops_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = EmbeddedBackend(ttl_s=TTL_S)
    await backend.start()
    server = backend._server
    assert server is not None
    real_wait_for = asyncio.wait_for
    naps: list[float | None] = []
    three_ticks = asyncio.Event()
    on_tick = server.on_tick

    async def counted(counter: int) -> bool:
        if len(naps) >= 3:
            three_ticks.set()
        return await on_tick(counter)

    async def spy(awaitable: Any, timeout: float | None) -> Any:  # noqa: ASYNC109 - wait_for's own
        naps.append(timeout)  # how long the housekeeping would sleep; it is let go at once
        return await real_wait_for(awaitable, timeout=0.001)

    server.on_tick = counted  # type: ignore[method-assign]
    monkeypatch.setattr(asyncio, "wait_for", spy)
    await real_wait_for(three_ticks.wait(), timeout=5)
    monkeypatch.undo()
    assert set(naps) == {1.0}  # uvicorn's own loop sleeps 0.1 s between its ticks
    await real_wait_for(backend.stop(), timeout=0.5)  # not held by the one-second wait
    assert not backend.running


def test_serve_forever_off_loopback_warns_that_its_qa_routes_are_open(
    busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 16, item 9: `sessionkeeper backend --host 0.0.0.0` said nothing.
    assert serve_forever("0.0.0.0", busy_port, 60.0) == 2
    warning = capsys.readouterr().err.splitlines()[0]
    assert warning == (
        f"sessionkeeper backend: warning: listening on 0.0.0.0: anyone who can reach this machine on port "
        f"{busy_port} can reset it, revoke its sessions and move its clock through /__qa "
        "(bind to 127.0.0.1 to keep it to yourself)"
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_only_loopback_addresses_go_unwarned(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
