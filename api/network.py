"""A switch in front of the network, so QA can take the client offline (requests fail in transport),
make the backend's answers malformed (edge case 20), or hold calls on their way out so that a
refresh overtakes them (edge case 15), from the keyboard."""

from __future__ import annotations

import asyncio

import httpx


def is_session_call(request: httpx.Request) -> bool:
    """A call of the session's own (guest, login, refresh, reauth, sign-out): how the client
    gets and ends its tokens, not a call made with one."""
    path = request.url.path
    return path.startswith("/api/session/") or (path == "/api/session" and request.method == "DELETE")


def call_timeout(seconds: float) -> httpx.Timeout:
    """Every call's timeout: `seconds` to connect, to send and between bytes of the answer, and no
    limit on the wait for a free connection from the pool.

    A burst (500 calls at the moment of expiry, edge case 12) queues for the transport's 100
    connections. A call waiting there has not reached the server, so timing it out would fail it for
    the client's own queue, not for the backend. The wait is still bounded: every call holding a
    connection ends within its own read timeout and hands the connection on.
    """
    return httpx.Timeout(seconds, pool=None)


class NetworkSwitch:
    """Shared by every client of one app: flip `online` and all of them go dark or come back."""

    def __init__(self) -> None:
        self.online = True
        self.garble = False  # domain answers (not session endpoints) arrive as nonsense
        # Seconds every call but the session's own waits before it leaves, its token already
        # on it: a refresh made meanwhile rotates the token under the calls in flight.
        self.hold_s = 0.0
        self.holding = 0  # calls being held right now

    def transport(
        self, inner: httpx.AsyncBaseTransport | None = None, *, tls: bool = True
    ) -> httpx.AsyncBaseTransport:
        """The switch in front of `inner` (by default httpx's own transport). With `tls=False`
        (an http:// backend) no TLS context is made: loading the CA certificates costs about
        15 ms a client, for nothing on loopback."""
        if inner is None:
            inner = httpx.AsyncHTTPTransport() if tls else httpx.AsyncHTTPTransport(verify=False)
        return _SwitchedTransport(self, inner)


class _SwitchedTransport(httpx.AsyncBaseTransport):
    def __init__(self, switch: NetworkSwitch, inner: httpx.AsyncBaseTransport) -> None:
        self._switch = switch
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._switch.online:
            raise httpx.ConnectError("the client is offline (QA switch)", request=request)
        session_call = is_session_call(request)
        if self._switch.hold_s > 0 and not session_call:
            self._switch.holding += 1
            try:
                await asyncio.sleep(self._switch.hold_s)
            finally:
                self._switch.holding -= 1
        response = await self._inner.handle_async_request(request)
        if self._switch.garble and response.status_code == 200 and not session_call:
            await response.aread()
            return httpx.Response(200, json={"unexpected": "shape"}, request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
