"""A switch in front of the network, so QA can take the client offline (requests fail in transport)."""

from __future__ import annotations

import httpx


class NetworkSwitch:
    """Shared by every client of one app: flip `online` and all of them go dark or come back."""

    def __init__(self) -> None:
        self.online = True

    def transport(self, inner: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncBaseTransport:
        return _SwitchedTransport(self, inner or httpx.AsyncHTTPTransport())


class _SwitchedTransport(httpx.AsyncBaseTransport):
    def __init__(self, switch: NetworkSwitch, inner: httpx.AsyncBaseTransport) -> None:
        self._switch = switch
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._switch.online:
            raise httpx.ConnectError("the client is offline (QA switch)", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
