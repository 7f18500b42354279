"""The session endpoints of docs/backend.md section 2 over HTTP: the manager's port, filled in.

These calls do not go through the middleware (they are how it gets its tokens), so they use a
plain client of their own; one that does go through it is refused when the port is built. Answers
are checked for shape: a malformed one is a backend failure (`BackendUnavailable`, not a
transport failure), retried with backoff like a 5xx, and nothing of it is kept. So is an answer
over the bound its transport sets (`api.network.AnswerTooLarge`), a redirect (never followed),
and a token or reauth key that is too long or holds characters an HTTP header cannot carry: the
token goes out in `Authorization`, and both are written to the stored session, which a restart
reads only up to `session.store.MAX_BYTES`.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from sessionkeeper.api.errors import redirect_words
from sessionkeeper.api.middleware import SessionAuth
from sessionkeeper.api.network import (
    MAX_SESSION_ANSWER_BYTES,
    AnswerTooLarge,
    BoundedTransport,
    http_transport,
)
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.port import BackendUnavailable, IssuedSession, LifetimeReached, SessionRejected
from sessionkeeper.session.secrets import Fingerprinter, Secret

# The longest token or reauth key taken: the mock backend's are 43 characters; JWTs run to 1-2 KiB.
MAX_SECRET_CHARS = 4096
# Visible ASCII: what `Authorization: Bearer <token>` carries as it is (no space, no control
# character, nothing httpx would have to encode).
_SECRET_CHARS = re.compile(r"[\x21-\x7e]+")


class HttpSessionPort:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 10.0,
        fingerprinter: Fingerprinter | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        """`transport`: what the port's own client stands on (by default httpx's, bounded by
        `BoundedTransport` to a session answer's size). `client`: an httpx client of the caller's
        to send with instead (its bounds are the caller's). Raises ValueError for a client whose auth is
        the session middleware (its refresh would wait for itself) or that follows redirects."""
        if client is not None:
            if isinstance(client.auth, SessionAuth):
                raise ValueError(
                    "the session port's client must not use the session middleware (SessionAuth): "
                    "the session's own refresh would wait for itself"
                )
            if client.follow_redirects:
                raise ValueError("the session port's client must not follow redirects")
        self._base_url = base_url.rstrip("/")
        if client is None:
            if transport is None:
                transport = BoundedTransport(http_transport(), max_bytes=MAX_SESSION_ANSWER_BYTES)
            client = httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False)
        self._client = client
        self._fingerprinter = fingerprinter

    async def aclose(self) -> None:
        await self._client.aclose()

    async def start_guest(self) -> IssuedSession:
        body = await self._post("/api/session/guest", expect=201)
        return IssuedSession(self._secret(body, "token"), SessionKind.GUEST)

    async def login(
        self, username: str, password: Secret, guest_token: Secret | None = None
    ) -> IssuedSession:
        # With the guest's token, the server ends that session and moves its drafts to the user.
        body = await self._post(
            "/api/session/login",
            json={"username": username, "password": password.reveal()},
            token=guest_token,
        )
        return self._user_session(body)

    async def refresh(self, token: Secret) -> Secret:
        body = await self._post("/api/session/refresh", token=token)
        return self._secret(body, "token")

    async def reauth(self, reauth_key: Secret) -> IssuedSession:
        body = await self._post("/api/session/reauth", json={"reauth_key": reauth_key.reveal()})
        return self._user_session(body)

    async def sign_out(self, token: Secret) -> None:
        await self._send("DELETE", "/api/session", token=token, expect=204)

    def _secret(self, body: dict[str, Any], field: str) -> Secret:
        value = body.get(field)
        if not isinstance(value, str) or not value:
            raise BackendUnavailable(f"answer has no {field}", transport=False)
        # Never the value itself in a message: only what is wrong with it.
        if len(value) > MAX_SECRET_CHARS:
            raise BackendUnavailable(
                f"answer's {field} is longer than {MAX_SECRET_CHARS} characters", transport=False
            )
        if not _SECRET_CHARS.fullmatch(value):
            raise BackendUnavailable(
                f"answer's {field} holds characters an HTTP header cannot carry", transport=False
            )
        return Secret(value, self._fingerprinter)

    def _user_session(self, body: dict[str, Any]) -> IssuedSession:
        user = body.get("user")
        if body.get("kind") != "user" or not isinstance(user, dict):
            raise BackendUnavailable("answer is not a user session", transport=False)
        token, key = self._secret(body, "token"), self._secret(body, "reauth_key")
        return IssuedSession(token, SessionKind.USER, key, user)

    async def _post(
        self, path: str, *, json: Any = None, token: Secret | None = None, expect: int = 200
    ) -> dict[str, Any]:
        response = await self._send("POST", path, json=json, token=token, expect=expect)
        try:
            body = response.json()
        except ValueError:
            raise BackendUnavailable(f"{path}: answer is not JSON", transport=False) from None
        if not isinstance(body, dict):
            raise BackendUnavailable(f"{path}: answer is not a JSON object", transport=False)
        return body

    async def _send(
        self, method: str, path: str, *, json: Any = None, token: Secret | None = None, expect: int
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token.reveal()}"} if token else {}
        try:
            response = await self._client.request(method, self._base_url + path, json=json, headers=headers)
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"{path}: {type(exc).__name__}", transport=True) from None
        except AnswerTooLarge as exc:
            raise BackendUnavailable(f"{path}: {exc}", transport=False) from None
        status = response.status_code
        if status == 401:
            code = _error_code(response)
            if code == "lifetime_reached":
                raise LifetimeReached(f"{path}: {code}")
            raise SessionRejected(f"{path}: {code}")
        if status >= 500:
            raise BackendUnavailable(f"{path}: HTTP {status}", transport=False)
        if 300 <= status < 400:
            raise BackendUnavailable(f"{path}: {redirect_words(status)}", transport=False)
        if status != expect:
            raise BackendUnavailable(
                f"{path}: unexpected HTTP {status} ({_error_code(response)})", transport=False
            )
        return response


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no JSON body"
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else "unknown error"
