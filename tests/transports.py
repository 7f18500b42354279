"""A transport for the client's httpx clients that passes every request on to httpx's own: tests
subclass it to hold, count, record or answer some requests, and send the rest on with
`super().handle_async_request(request)`."""

from __future__ import annotations

import httpx


class PassThrough(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
