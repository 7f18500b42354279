"""What went over the wire (issue 20, items 1 and 2), against the real mock backend on a loopback
port: every exchange of a session's life (a guest session, a sign-in, REST and GraphQL calls, a
revocation recovered by a re-auth, an ungated introspection, a call that never reached the server)
is in the client's wire log with what the inspector shows; the HAR export is HAR 1.2 (checked
with jsonschema against tests/api/data/har-1.2.schema.json, written from the spec) and holds no
secret the backend issued, nor the password, in any header, body or URL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import jsonschema
import pytest

from sessionkeeper.api.backend.app import create_app
from sessionkeeper.api.backend.serve import EmbeddedBackend
from sessionkeeper.api.client import BackendClient
from sessionkeeper.api.errors import ApiError
from sessionkeeper.api.operations import WARM_UP
from sessionkeeper.api.wire import MAX_BODY_CHARS, REDACTED, Exchange, WireLog, har
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.secrets import Fingerprinter
from sessionkeeper.session.timeline import Timeline

SCHEMA = json.loads((Path(__file__).parent / "data" / "har-1.2.schema.json").read_text())
PASSWORD = "lovelace"


@dataclass
class Wired:
    client: BackendClient
    qa: httpx.AsyncClient
    issued: list[str]  # every token and reauth key the backend made


@asynccontextmanager
async def wired() -> AsyncIterator[Wired]:
    issued: list[str] = []

    def tokens() -> str:
        import secrets

        issued.append(secrets.token_urlsafe(32))
        return issued[-1]

    async with EmbeddedBackend(app=create_app(ttl_s=60, token_factory=tokens)) as backend:
        client = BackendClient(
            backend.url,
            clock=FakeClock(),
            policy=Policy(ttl_s=60, warn_s=20),
            timeline=Timeline(),
            auto_wake=False,
            fingerprinter=Fingerprinter(b"wire-test"),
        )
        async with httpx.AsyncClient(base_url=backend.url) as qa:
            try:
                await client.start()
                yield Wired(client, qa, issued)
            finally:
                await client.aclose()


async def a_sessions_life(w: Wired) -> None:
    """A guest session (at start), a sign-in, REST, GraphQL, a revocation recovered by a re-auth
    and its replay, an ungated introspection, and a call that never reached the server."""
    client = w.client
    clock = client.manager.clock
    assert isinstance(clock, FakeClock)
    await client.login("ada", PASSWORD)
    clock.advance(5)  # so that the next call's extension shows as a move
    await client.rest.airports()
    await client.graphql.fares("LHR-CDG-20270601-1")
    assert (await w.qa.post("/__qa/revoke", json={"all": True})).status_code == 200
    await client.rest.airports()  # 401, re-auth with the reauth key, sent again
    await client.graphql.execute(WARM_UP)  # introspection only: no token, moves nothing
    client.network.online = False
    with pytest.raises(ApiError):
        await client.rest.airports()
    client.network.online = True


def only(log: WireLog, path: str) -> list[Exchange]:
    return [x for x in log.exchanges if x.path == path]


async def test_every_exchange_of_a_sessions_life_is_logged_with_what_the_inspector_shows() -> None:
    async with wired() as w:
        await a_sessions_life(w)
        log = w.client.wire
        exchanges = list(log.exchanges)
        paths = [f"{x.method} {x.path} {x.status}" for x in exchanges]
        assert paths[:2] == ["POST /api/session/guest 201", "POST /api/session/login 200"], paths
        assert [x.kind for x in exchanges[:2]] == ["session", "session"]
        assert [x.number for x in exchanges] == list(range(1, len(paths) + 1))

        first, revoked, replayed = only(log, "/api/airports")[:3]
        assert first.status == 200 and first.verdict == "accepted" and first.moved
        assert first.generation is not None and first.token is not None and first.token.startswith("fp:")
        assert ("Authorization", f"Bearer {first.token}") in [
            (n.title(), v) for n, v in first.request_headers
        ]
        assert revoked.status == 401 and revoked.verdict == "rejected, sent again" and not revoked.moved
        assert revoked.generation is not None and replayed.generation == revoked.generation + 1
        assert replayed.status == 200
        assert replayed.token != revoked.token and replayed.verdict == "accepted"
        [reauth] = only(log, "/api/session/reauth")
        assert reauth.kind == "session" and reauth.status == 200 and reauth.verdict == "issued"
        assert revoked.number < reauth.number < replayed.number

        graphql = only(log, "/graphql")  # the profile's `Me` after the sign-in and the re-auth, too
        [fares] = [x for x in graphql if "query Fares" in x.request_body]
        [introspection] = [x for x in graphql if "query WarmUp" in x.request_body]
        assert fares.kind == "graphql" and fares.verdict == "accepted" and fares.token is not None
        assert introspection.token is None and introspection.verdict == "ungated" and not introspection.moved

        offline = only(log, "/api/airports")[-1]
        assert offline.status is None and offline.error is not None and not offline.moved
        assert log.select("session") == [x for x in log.exchanges if x.path.startswith("/api/session/")]
        assert all(x.remaining_before is not None for x in exchanges[1:])


async def test_a_call_that_waited_for_a_flight_says_which() -> None:
    async with wired() as w:
        client = w.client
        assert (await w.qa.post("/__qa/revoke", json={"all": True})).status_code == 200
        # Past the deadline: the call must wait for a new session before it can go.
        clock = client.manager.clock
        assert isinstance(clock, FakeClock)
        clock.advance(61)
        await client.rest.airports()
        call = only(client.wire, "/api/airports")[-1]
        assert call.waited_for == "new_guest" and call.status == 200


async def test_the_har_export_is_har_1_2_and_holds_no_secret_the_backend_issued() -> None:
    async with wired() as w:
        await a_sessions_life(w)
        document = har(w.client.wire.exchanges, version="test")
        jsonschema.validate(document, SCHEMA)
        text = json.dumps(document)
        assert len(w.issued) >= 5  # the guest's token, ada's token and reauth key, the re-auth's…
        for secret in [*w.issued, PASSWORD]:
            assert secret not in text, "a secret in the HAR"
        entries = document["log"]["entries"]
        assert len(entries) == len(w.client.wire.exchanges)
        login = next(e for e in entries if e["request"]["url"].endswith("/api/session/login"))
        assert json.loads(login["request"]["postData"]["text"])["password"] == REDACTED
        answer = json.loads(login["response"]["content"]["text"])
        assert answer["token"].startswith("fp:") and answer["reauth_key"].startswith("fp:")
        failed = entries[-1]
        assert failed["response"]["status"] == 0 and failed["response"]["_error"]
        assert all(
            not h["value"].startswith("Bearer ") or "fp:" in h["value"]
            for e in entries
            for h in e["request"]["headers"]
        )


def test_a_body_is_kept_up_to_its_bound_and_cookies_are_redacted() -> None:
    log = WireLog(FakeClock())
    request = httpx.Request(
        "POST",
        "http://127.0.0.1:9/api/x",
        headers={"Cookie": "a=b", "Authorization": "Bearer abc"},
        content=b"x" * (MAX_BODY_CHARS + 10),
    )
    exchange = log.started(request)
    log.answered(exchange, httpx.Response(200, headers={"Set-Cookie": "s=t"}, content=b"{}"))
    assert exchange.request_body.startswith("x" * MAX_BODY_CHARS) and exchange.request_body.endswith(
        "bytes in all)"
    )
    headers = dict(exchange.request_headers)
    assert headers["cookie"] == REDACTED and headers["authorization"].startswith("Bearer fp:")
    assert dict(exchange.response_headers)["set-cookie"] == REDACTED
    assert "abc" not in json.dumps(har([exchange]))
