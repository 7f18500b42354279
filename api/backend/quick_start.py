"""The embedded backend's first moments: the first guest session answered before the full app exists.

Nothing on screen can count down before the first session exists, and the full backend (FastAPI,
pydantic, graphql-core: imported and built) costs about a quarter of a second more than the rest of
a start. So the embedded backend serves `QuickStart` under uvicorn on its real loopback port:

* it holds the backend's state (plain Python, `BackendState`) from the start;
* it answers `POST /api/session/guest` itself, exactly as the full app does (201, the same body,
  the same counters, through `BackendState.open_guest_session`): no fault can be on yet, since
  faults are set through `/__qa`, which only the full app serves;
* any other request starts `build()` if nothing has yet (the host program starts it once its
  first frame with a session is drawn), and waits until it has made the full app over that same
  state;
* from then on, every request (a guest session included) goes to the full app.

The client still makes a real HTTP round trip for its first token, through its real middleware.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from sessionkeeper.api.backend.sessions import DEFAULT_LIFETIME_S
from sessionkeeper.api.backend.state import BackendState

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

GUEST_PATH = "/api/session/guest"
log = logging.getLogger("sessionkeeper.backend")


class QuickStart:
    """An ASGI app: the guest route now, everything else once `build()` has made the full app."""

    def __init__(
        self,
        *,
        ttl_s: float = 900.0,
        grace_s: float = 30.0,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        clock: Callable[[], float] | None = None,
        token_factory: Callable[[], str] | None = None,
        today: Callable[[], date] | None = None,
        seed: int | None = None,
    ) -> None:
        self.state = BackendState(
            ttl_s=ttl_s,
            grace_s=grace_s,
            lifetime_s=lifetime_s,
            clock=clock,
            token_factory=token_factory,
            today=today,
            seed=seed,
        )
        self.app: ASGIApp | None = None  # the full app, once built
        self.problem: str | None = None  # why it could not be built
        self._built = asyncio.Event()
        self._building: asyncio.Task[None] | None = None

    @property
    def built(self) -> bool:
        return self._built.is_set()

    async def build(self) -> None:
        """Make the full app over this state, once (a second call waits for the first), in a
        worker thread: its imports would stall the event loop, and the app's screen with it.
        Never raises: a failure is kept in `problem`, and every request then gets a 500 saying so."""
        if self._building is None:
            self._building = asyncio.get_running_loop().create_task(self._build())
        await asyncio.shield(self._building)

    async def _build(self) -> None:
        try:
            self.app = await asyncio.to_thread(self._full_app)
        except Exception as exc:  # held requests must not wait forever
            self.problem = f"the backend could not start: {type(exc).__name__}: {exc}"
            log.error("%s", self.problem)
        finally:
            self._built.set()

    def _full_app(self) -> ASGIApp:
        from sessionkeeper.api.backend.app import app_for

        return app_for(self.state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.built:
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)  # the full app has no start-up or shut-down work
                return
            if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == GUEST_PATH:
                await self._guest(receive, send)
                return
            await self.build()
        if self.app is None:
            if scope["type"] == "http":
                await _respond(send, 500, {"error": "backend_failed", "detail": self.problem or ""})
            return
        await self.app(scope, receive, send)

    async def _guest(self, receive: Receive, send: Send) -> None:
        while True:  # the route reads no body; drain it as the full app would
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        self.state.counters.api_calls += 1  # as the full app's gate counts every /api/ request
        issued = self.state.open_guest_session()
        await _respond(send, 201, {"token": issued.token, "kind": "guest"})


async def _respond(send: Send, status: int, payload: dict[str, str]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
