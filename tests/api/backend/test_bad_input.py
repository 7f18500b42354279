"""Bad input for every endpoint group: always a 4xx with a JSON error naming the problem,
never a 5xx, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api.backend.helpers import FLIGHT, GOOD_CARD, bearer, guest_token

JSON = {"Content-Type": "application/json"}
BIG = b'{"step": "s", "data": {"x": "' + b"y" * 70_000 + b'"}}'
PAYMENT = {"card_number": GOOD_CARD, "expiry": "12/27", "cvc": "123"}
PASSENGER = {"name": "A", "email": "a@b.co"}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    error: str  # the REST `error` code, or the GraphQL extensions.code
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    mentions: str = ""  # a word the answer must contain: the problem's name


def _booking(**changes: Any) -> dict[str, Any]:
    body = {"flight_id": FLIGHT, "fare_code": "BUSINESS", "passengers": [PASSENGER], "payment": PAYMENT}
    return {**body, **changes}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


CASES: dict[str, Case] = {
    # session
    "login malformed json": Case(
        "POST",
        "/api/session/login",
        422,
        "malformed_json",
        content=b'{"username": ',
        headers=JSON,
        mentions="JSON",
    ),
    "login wrong type": Case(
        "POST",
        "/api/session/login",
        422,
        "invalid_body",
        json={"username": "ada", "password": 123},
        mentions="body.password",
    ),
    "login missing field": Case(
        "POST", "/api/session/login", 422, "invalid_body", json={"password": "x"}, mentions="body.username"
    ),
    "login extra field": Case(
        "POST",
        "/api/session/login",
        422,
        "invalid_body",
        json={"username": "a", "password": "b", "admin": True},
        mentions="body.admin",
    ),
    "login not an object": Case("POST", "/api/session/login", 422, "invalid_body", json=["ada"]),
    "login no body": Case("POST", "/api/session/login", 422, "invalid_body", mentions="body"),
    "login text/plain": Case(
        "POST",
        "/api/session/login",
        422,
        "invalid_body",
        content=b"ada:lovelace",
        headers={"Content-Type": "text/plain"},
        mentions="application/json",
    ),
    "login oversized": Case(
        "POST", "/api/session/login", 413, "body_too_large", content=BIG, headers=JSON, mentions="65536"
    ),
    "login wrong method": Case("GET", "/api/session/login", 405, "method_not_allowed", mentions="POST"),
    "reauth wrong type": Case(
        "POST",
        "/api/session/reauth",
        422,
        "invalid_body",
        json={"reauth_key": 42},
        mentions="body.reauth_key",
    ),
    "reauth extra field": Case(
        "POST",
        "/api/session/reauth",
        422,
        "invalid_body",
        json={"reauth_key": "k", "user": "ada"},
        mentions="body.user",
    ),
    "session wrong method": Case("PUT", "/api/session", 405, "method_not_allowed"),
    # catalog
    "flights bad date": Case(
        "GET",
        "/api/flights?origin=LHR&destination=CDG&date=tomorrow",
        422,
        "invalid_request",
        mentions="query.date",
    ),
    "flights missing origin": Case(
        "GET", "/api/flights?destination=CDG&date=2025-06-01", 422, "invalid_request", mentions="query.origin"
    ),
    "airports wrong method": Case("POST", "/api/airports", 405, "method_not_allowed"),
    "catalog unknown route": Case("GET", "/api/flights/a/b", 404, "not_found", mentions="/api/flights/a/b"),
    # drafts
    "draft malformed json": Case(
        "POST", "/api/drafts", 422, "malformed_json", content=b"{'single': 'quotes'}", headers=JSON
    ),
    "draft data not an object": Case(
        "POST", "/api/drafts", 422, "invalid_body", json={"step": "s", "data": [1, 2]}, mentions="body.data"
    ),
    "draft missing step": Case(
        "POST", "/api/drafts", 422, "invalid_body", json={"data": {}}, mentions="body.step"
    ),
    "draft extra field": Case(
        "POST",
        "/api/drafts",
        422,
        "invalid_body",
        json={"step": "s", "data": {}, "owner": "grace"},
        mentions="body.owner",
    ),
    "draft empty step": Case(
        "POST", "/api/drafts", 422, "invalid_input", json={"step": " ", "data": {}}, mentions="step"
    ),
    "draft oversized": Case("PUT", "/api/drafts/d1", 413, "body_too_large", content=BIG, headers=JSON),
    "draft wrong method": Case("DELETE", "/api/drafts/d1", 405, "method_not_allowed"),
    "draft unknown": Case("GET", "/api/drafts/nope", 404, "draft_not_found"),
    # bookings
    "booking no passengers": Case(
        "POST", "/api/bookings", 422, "invalid_body", json=_booking(passengers=[]), mentions="body.passengers"
    ),
    "booking ten passengers": Case(
        "POST",
        "/api/bookings",
        422,
        "invalid_body",
        json=_booking(passengers=[PASSENGER] * 10),
        mentions="body.passengers",
    ),
    "booking missing payment": Case(
        "POST",
        "/api/bookings",
        422,
        "invalid_body",
        json={k: v for k, v in _booking().items() if k != "payment"},
        mentions="body.payment",
    ),
    "booking payment extra field": Case(
        "POST",
        "/api/bookings",
        422,
        "invalid_body",
        json=_booking(payment={**PAYMENT, "pin": "1"}),
        mentions="body.payment.pin",
    ),
    "booking card as number": Case(
        "POST",
        "/api/bookings",
        422,
        "invalid_body",
        json=_booking(payment={**PAYMENT, "card_number": 4242}),
        mentions="body.payment.card_number",
    ),
    "booking malformed json": Case(
        "POST", "/api/bookings", 422, "malformed_json", content=b'{"flight_id": "x",}', headers=JSON
    ),
    "booking unknown draft": Case(
        "POST", "/api/bookings", 404, "draft_not_found", json=_booking(draft_id="d404")
    ),
    # QA
    "qa clock malformed": Case("POST", "/__qa/clock", 422, "malformed_json", content=b"{", headers=JSON),
    "qa clock missing field": Case(
        "POST", "/__qa/clock", 422, "invalid_body", json={}, mentions="body.advance_s"
    ),
    "qa faults not an object": Case("POST", "/__qa/faults", 422, "invalid_body", json=[1]),
    "qa revoke wrong type": Case(
        "POST", "/__qa/revoke", 422, "invalid_body", json={"session_id": 1}, mentions="body.session_id"
    ),
    "qa state wrong method": Case("DELETE", "/__qa/state", 405, "method_not_allowed"),
    "qa oversized": Case("POST", "/__qa/reset", 413, "body_too_large", content=BIG, headers=JSON),
    "qa unknown route": Case("GET", "/__qa/nothing", 404, "not_found"),
    # hostile JSON that the standard library parses but the layers behind it would choke on
    "draft json nested too deeply": Case(
        "POST",
        "/api/drafts",
        422,
        "invalid_body",
        content=b'{"step": "s", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        headers=JSON,
        mentions="nested too deeply",
    ),
    "draft data nested past 32": Case(
        "POST", "/api/drafts", 422, "invalid_input", json={"step": "s", "data": _nested(40)}, mentions="data"
    ),
    "draft lone surrogate": Case(
        "POST",
        "/api/drafts",
        422,
        "invalid_body",
        content=b'{"step": "\\ud800", "data": {}}',
        headers=JSON,
        mentions="surrogate",
    ),
    "login huge integer": Case(
        "POST",
        "/api/session/login",
        422,
        "invalid_body",
        content=b'{"username": ' + b"9" * 5000 + b"}",
        headers=JSON,
        mentions="cannot be read",
    ),
    "qa clock huge integer": Case(
        "POST",
        "/__qa/clock",
        422,
        "invalid_body",
        content=b'{"advance_s": ' + b"9" * 5000 + b"}",
        headers=JSON,
        mentions="cannot be read",
    ),
    "qa clock beyond 1e9 s": Case(
        "POST", "/__qa/clock", 422, "invalid_body", json={"advance_s": 1e300}, mentions="body.advance_s"
    ),
    # anything else
    "unknown route": Case("GET", "/nothing/here", 404, "not_found", mentions="/nothing/here"),
    "unknown api route": Case("GET", "/api/nothing", 404, "not_found"),
    "openapi wrong method": Case("POST", "/openapi.json", 405, "method_not_allowed"),
}

GRAPHQL_CASES: dict[str, Case] = {
    "graphql malformed json": Case(
        "POST", "/graphql", 400, "BAD_REQUEST", content=b"{query", headers=JSON, mentions="JSON"
    ),
    "graphql body is null": Case(
        "POST", "/graphql", 400, "BAD_REQUEST", content=b"null", headers=JSON, mentions="query"
    ),
    "graphql query not a string": Case(
        "POST", "/graphql", 400, "BAD_REQUEST", json={"query": 1}, mentions="query"
    ),
    "graphql no query": Case(
        "POST", "/graphql", 400, "BAD_REQUEST", json={"variables": {}}, mentions="query"
    ),
    "graphql variables a list": Case(
        "POST",
        "/graphql",
        400,
        "BAD_REQUEST",
        json={"query": "{ me { name } }", "variables": [1]},
        mentions="variables",
    ),
    "graphql operationName a number": Case(
        "POST",
        "/graphql",
        400,
        "BAD_REQUEST",
        json={"query": "{ me { name } }", "operationName": 1},
        mentions="operationName",
    ),
    "graphql syntax error": Case(
        "POST",
        "/graphql",
        200,
        "GRAPHQL_PARSE_FAILED",
        json={"query": "{ me { name }"},
        mentions="Syntax Error",
    ),
    "graphql unknown field": Case(
        "POST",
        "/graphql",
        200,
        "GRAPHQL_VALIDATION_FAILED",
        json={"query": "{ me { password } }"},
        mentions="password",
    ),
    "graphql missing argument": Case(
        "POST",
        "/graphql",
        200,
        "GRAPHQL_VALIDATION_FAILED",
        json={"query": "{ fares { code } }"},
        mentions="flightId",
    ),
    "graphql wrong variable type": Case(
        "POST",
        "/graphql",
        200,
        "",
        json={"query": "query Q($f: ID!) { fares(flightId: $f) { code } }", "variables": {"f": {"x": 1}}},
        mentions="$f",
    ),
    "graphql unknown operation": Case(
        "POST",
        "/graphql",
        200,
        "",
        json={"query": "query A { me { name } }", "operationName": "B"},
        mentions="B",
    ),
    "graphql json nested too deeply": Case(
        "POST",
        "/graphql",
        400,
        "BAD_REQUEST",
        content=b"[" * 5000 + b"]" * 5000,
        headers=JSON,
        mentions="nested too deeply",
    ),
    "graphql lone surrogate": Case(
        "POST",
        "/graphql",
        400,
        "BAD_REQUEST",
        content=b'{"query": "{ me { name } }", "variables": {"x": "\\udfff"}}',
        headers=JSON,
        mentions="surrogate",
    ),
    "graphql query nested too deeply": Case(
        "POST",
        "/graphql",
        200,
        "GRAPHQL_PARSE_FAILED",
        json={"query": "{" + "me {" * 3000 + "name" + "}" * 3001},
        mentions="nested too deeply",
    ),
    "graphql oversized": Case("POST", "/graphql", 413, "body_too_large", content=BIG, headers=JSON),
    "graphql wrong method": Case("GET", "/graphql", 405, "method_not_allowed"),
}


def _assert_clean(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    assert "Traceback" not in r.text and 'File "' not in r.text


async def _send(client: httpx.AsyncClient, case: Case, token: str) -> httpx.Response:
    headers = {**bearer(token), **case.headers}
    return await client.request(case.method, case.path, json=case.json, content=case.content, headers=headers)


@pytest.mark.parametrize("name", list(CASES))
async def test_rest_and_qa_bad_input_is_a_named_4xx(client: httpx.AsyncClient, name: str) -> None:
    case = CASES[name]
    r = await _send(client, case, await guest_token(client))
    _assert_clean(r)
    assert r.status_code == case.status, r.text
    body = r.json()
    assert body["error"] == case.error
    assert case.mentions in (body["detail"] or ""), body


@pytest.mark.parametrize("name", list(GRAPHQL_CASES))
async def test_graphql_bad_input_is_a_graphql_error(client: httpx.AsyncClient, name: str) -> None:
    case = GRAPHQL_CASES[name]
    r = await _send(client, case, await guest_token(client))
    _assert_clean(r)
    assert r.status_code == case.status, r.text
    body = r.json()
    if "errors" in body:
        error = body["errors"][0]
        assert case.error in error.get("extensions", {}).get("code", "")
        assert case.mentions in error["message"], body
    else:
        assert body["error"] == case.error


async def test_an_oversized_body_without_content_length_is_cut_off(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)

    async def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    r = await client.post("/api/drafts", content=chunks(), headers={**bearer(token), **JSON})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"


async def test_error_answers_never_echo_a_password(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/session/login", json={"username": "ada", "password": "s3cret-pw", "extra": 1})
    assert r.status_code == 422 and "s3cret-pw" not in r.text


async def test_hostile_json_without_a_token_is_rejected_not_a_crash(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/graphql", content=b"[" * 5000 + b"]" * 5000, headers=JSON)
    assert r.status_code == 200
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
