"""A switch in front of the network, so QA can take the client offline (requests fail in transport)
or make the backend's answers malformed (edge case 20), from the keyboard."""

from __future__ import annotations

import httpx


class NetworkSwitch:
    """Shared by every client of one app: flip `online` and all of them go dark or come back."""

    def __init__(self) -> None:
        self.online = True
        self.garble = False  # domain answers (not session endpoints) arrive as nonsense

    def transport(self, inner: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncBaseTransport:
        return _SwitchedTransport(self, inner or httpx.AsyncHTTPTransport())


class _SwitchedTransport(httpx.AsyncBaseTransport):
    def __init__(self, switch: NetworkSwitch, inner: httpx.AsyncBaseTransport) -> None:
        self._switch = switch
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._switch.online:
            raise httpx.ConnectError("the client is offline (QA switch)", request=request)
        response = await self._inner.handle_async_request(request)
        path = request.url.path
        if self._switch.garble and response.status_code == 200 and not path.startswith("/api/session"):
            await response.aread()
            return httpx.Response(200, json={"unexpected": "shape"}, request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
