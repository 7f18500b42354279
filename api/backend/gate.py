"""The gate in front of every /api and /graphql request: counters, faults, body cap and auth.

It is one ASGI middleware so the order is explicit and the same for every route:

1. count the request (it was seen, whatever happens next);
2. `latency_ms` fault: wait; `down` fault: 503;
3. `refresh` fault on POST /api/session/refresh: 503 or 401;
   (each of these within its scope, if it has one: a path filter and a probability);
4. read the body, at most `max_body` bytes;
5. check the Bearer token *before* anything else looks at the request: a rejected request
   changes nothing and extends nothing; an accepted one slides its session to now + TTL;
6. only then: 413 for an oversized body, and the route itself (404, 405, 422 ... included).

Because auth comes before routing and validation, any answer other than 401 (or a GraphQL
UNAUTHENTICATED) to a request that carried a token means the session was extended: the
client may rely on that.
"""

from __future__ import annotations

import asyncio
import json
import logging

from graphql import FieldNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode, parse
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode, SelectionSetNode
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessionkeeper.api.backend.errors import (
    BEARER_CHALLENGE,
    error_response,
    graphql_request_error_body,
    graphql_unauthenticated_body,
)
from sessionkeeper.api.backend.sessions import AuthRejected, Session
from sessionkeeper.api.backend.state import BackendState, Counters

log = logging.getLogger("sessionkeeper.backend")

MAX_BODY_BYTES = 64 * 1024
SESSION_SCOPE_KEY = "sessionkeeper.session"
REFRESH_PATH = "/api/session/refresh"
LOGIN_PATH = "/api/session/login"
REAUTH_PATH = "/api/session/reauth"
GUEST_PATH = "/api/session/guest"
GRAPHQL_PATH = "/graphql"
# The only /api routes that work without a token: they are how one gets a token.
PUBLIC_API_PATHS = frozenset({GUEST_PATH, LOGIN_PATH, REAUTH_PATH})
# (method, path) -> (attempts counter, failures counter); a failure is any status but 200.
_WATCHED: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", REFRESH_PATH): ("refreshes", "refresh_failures"),
    ("POST", LOGIN_PATH): ("logins", "login_failures"),
    ("POST", REAUTH_PATH): ("reauths", "reauth_failures"),
}
_INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})


def session_of(scope: Scope) -> Session | None:
    """The session the gate accepted for this request, if any."""
    session = scope.get(SESSION_SCOPE_KEY)
    return session if isinstance(session, Session) else None


def bearer_token(scope: Scope) -> str | None:
    """The Bearer token, "" for an Authorization header that is not a usable Bearer, None if
    there is no Authorization header at all."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


def is_introspection_only(body: bytes) -> bool:
    """True if the GraphQL request only asks for __schema / __type / __typename."""
    try:
        payload = json.loads(body)
        query = payload["query"] if isinstance(payload, dict) else None
        if not isinstance(query, str):
            return False
        document = parse(query)
    except (ValueError, KeyError, GraphQLError, RecursionError):
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(
        op.operation.value == "query" and _only_meta_fields(op.selection_set, fragments) for op in operations
    )


def _only_meta_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> bool:
    for node in selections.selections:
        if isinstance(node, FieldNode):
            if node.name.value not in _INTROSPECTION_FIELDS:
                return False
        elif isinstance(node, InlineFragmentNode):
            if not _only_meta_fields(node.selection_set, fragments, seen):
                return False
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                return False
            if not _only_meta_fields(fragment.selection_set, fragments, seen | {name}):
                return False
    return True


def json_body_problem(body: bytes) -> str | None:
    """What would make this JSON body crash the layers behind us, if anything.

    Python's json module raises RecursionError (not ValueError) on very deep nesting, and
    accepts lone UTF-16 surrogates ("\\ud800") that cannot be encoded back into a UTF-8
    answer. Plain syntax errors are left to the route, which names them.
    """
    try:
        parsed = json.loads(body)
    except RecursionError:
        return "the JSON is nested too deeply"
    except json.JSONDecodeError:
        return None
    except ValueError as exc:  # e.g. an integer literal longer than Python will convert
        return f"the JSON cannot be read: {exc}"
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "the JSON contains a lone UTF-16 surrogate (an invalid \\uD800-\\uDFFF escape)"
    return None


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, or (b"", True) as soon as it grows past `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the route will see an empty body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class Gate:
    def __init__(self, app: ASGIApp, state: BackendState, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.state = state
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        is_api = path == "/api" or path.startswith("/api/")
        is_graphql = path == GRAPHQL_PATH
        if is_api or is_graphql:
            send = self._count(scope, send, is_api=is_api)
            await self._guarded(scope, receive, send, is_api=is_api)
            return
        body, too_large = await self._body(scope, receive)
        if too_large:
            await self._too_large(scope, send)
            return
        problem = json_body_problem(body) if body and _is_json(scope) else None
        if problem is not None:
            await error_response(422, "invalid_body", problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _count(self, scope: Scope, send: Send, *, is_api: bool) -> Send:
        counters = self.state.counters
        if is_api:
            counters.api_calls += 1
        else:
            counters.graphql_calls += 1
        watched = _WATCHED.get((scope["method"], scope["path"]))
        if watched is None:
            return send
        attempts, failures = watched
        setattr(counters, attempts, getattr(counters, attempts) + 1)

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:
                # Read the counters now: a /__qa/reset meanwhile replaced them.
                now_counters: Counters = self.state.counters
                setattr(now_counters, failures, getattr(now_counters, failures) + 1)
            await send(message)

        return counting_send

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, *, is_api: bool) -> None:
        faults, state, path = self.state.faults, self.state, scope["path"]
        # Each fault within its scope (a path filter, a probability): drawn per request.
        if faults.latency_ms > 0 and state.faulty("latency", path):
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.down and state.faulty("down", path):
            await error_response(503, "backend_down", "the backend is down (QA fault)")(scope, receive, send)
            return
        if (
            scope["method"] == "POST"
            and path == REFRESH_PATH
            and faults.refresh != "ok"
            and state.faulty("refresh", path)
        ):
            if faults.refresh == "error":
                await error_response(503, "refresh_unavailable", "refresh is failing (QA fault)")(
                    scope, receive, send
                )
                return
            if faults.refresh == "reject":
                self._rejected(scope, "session_expired", "refresh rejected (QA fault)")
                await error_response(
                    401, "session_expired", "refresh rejected (QA fault)", headers=BEARER_CHALLENGE
                )(scope, receive, send)
                return
        body, too_large = await self._body(scope, receive)
        token = bearer_token(scope)
        needs_token = (
            scope["path"] not in PUBLIC_API_PATHS
            if is_api
            else (token is not None or too_large or not is_introspection_only(body))
        )
        if needs_token:
            rejection = self._authenticate(scope, token)
            if rejection is not None:
                self._rejected(scope, rejection.reason, rejection.detail)
                answer = self._rest_rejection(rejection) if is_api else self._graphql_rejection(rejection)
                await answer(scope, receive, send)
                return
        if too_large:
            await self._too_large(scope, send)
            return
        if body and (not is_api or _is_json(scope)):
            problem = json_body_problem(body)
            if problem is not None:
                answer = (
                    error_response(422, "invalid_body", problem)
                    if is_api
                    else JSONResponse(graphql_request_error_body(problem), status_code=400)
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)

    def _authenticate(self, scope: Scope, token: str | None) -> AuthRejected | None:
        if token is None:
            return AuthRejected("invalid_token", "missing Authorization: Bearer <token>")
        if not token:
            return AuthRejected("invalid_token", "the Authorization header is not a Bearer token")
        try:
            session = self.state.sessions.authenticate(token)
        except AuthRejected as rejection:
            return rejection
        scope[SESSION_SCOPE_KEY] = session
        log.debug("%s %s accepted for session %s", scope["method"], scope["path"], session.id)
        return None

    def _rejected(self, scope: Scope, reason: str, detail: str) -> None:
        self.state.counters.rejected += 1
        log.info("%s %s rejected: %s (%s)", scope["method"], scope["path"], reason, detail)

    @staticmethod
    def _rest_rejection(rejection: AuthRejected) -> JSONResponse:
        return error_response(401, rejection.reason, rejection.detail, headers=BEARER_CHALLENGE)

    def _graphql_rejection(self, rejection: AuthRejected) -> JSONResponse:
        body = graphql_unauthenticated_body(rejection.reason, rejection.detail)
        if self.state.faults.graphql_auth_error == "http":
            return JSONResponse(body, status_code=401, headers=BEARER_CHALLENGE)
        return JSONResponse(body, status_code=200)

    async def _body(self, scope: Scope, receive: Receive) -> tuple[bytes, bool]:
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body:
            return b"", True
        return await _read_body(receive, self.max_body)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        async def no_more() -> Message:
            return {"type": "http.disconnect"}

        response = error_response(
            413, "body_too_large", f"request bodies are capped at {self.max_body} bytes"
        )
        await response(scope, no_more, send)
