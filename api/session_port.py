"""The session endpoints of CONTRACT.md section 2 over HTTP: the manager's port, filled in.

These calls do not go through the middleware (they are how it gets its tokens), so they use a
plain client of their own. Answers are checked for shape: a malformed one is a backend failure.
"""

from __future__ import annotations

from typing import Any

import httpx

from session.events import SessionKind
from session.port import BackendUnavailable, IssuedSession, SessionRejected
from session.secrets import Fingerprinter, Secret


class HttpSessionPort:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 10.0,
        fingerprinter: Fingerprinter | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)
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
            response = await self._client.request(method, path, json=json, headers=headers)
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"{path}: {type(exc).__name__}", transport=True) from None
        if response.status_code == 401:
            raise SessionRejected(f"{path}: {_error_code(response)}")
        if response.status_code >= 500:
            raise BackendUnavailable(f"{path}: HTTP {response.status_code}", transport=False)
        if response.status_code != expect:
            raise BackendUnavailable(
                f"{path}: unexpected HTTP {response.status_code} ({_error_code(response)})",
                transport=False,
            )
        return response


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no JSON body"
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else "unknown error"
