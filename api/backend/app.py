"""Assembles the mock backend: `create_app()` builds one independent ASGI app.

Usable in-process (`httpx.ASGITransport(app=create_app())`) and under uvicorn alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import FastAPI

from sessionkeeper.api.backend.errors import install_error_handlers
from sessionkeeper.api.backend.gate import GRAPHQL_PATH, MAX_BODY_BYTES, Gate
from sessionkeeper.api.backend.graphql_api import OPENAPI_EXTRA, build_graphql_schema, graphql_endpoint
from sessionkeeper.api.backend.qa import build_qa_router
from sessionkeeper.api.backend.rest import build_rest_router
from sessionkeeper.api.backend.sessions import DEFAULT_LIFETIME_S
from sessionkeeper.api.backend.state import BackendState

DESCRIPTION = """\
The sessionkeeper mock airline. Sessions slide: each accepted request moves the session's
deadline to now + TTL, and the server never says when that is. REST lives under `/api`,
GraphQL at `POST /graphql`, QA control under `/__qa` (no token needed there).
"""


def create_app(
    *,
    ttl_s: float = 900.0,
    grace_s: float = 30.0,
    lifetime_s: float = DEFAULT_LIFETIME_S,
    clock: Callable[[], float] | None = None,
    token_factory: Callable[[], str] | None = None,
    today: Callable[[], date] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """A fresh backend with its own sessions, bookings, faults and counters.

    `clock` is the base time source (default `time.monotonic`); `/__qa/clock` adds its offset
    on top. `token_factory` makes tokens and reauth keys (default `secrets.token_urlsafe`).
    `today` is the calendar date for card expiry checks (default: today, UTC, plus the offset).
    """
    state = BackendState(
        ttl_s=ttl_s,
        grace_s=grace_s,
        lifetime_s=lifetime_s,
        clock=clock,
        token_factory=token_factory,
        today=today,
    )
    return app_for(state, max_body_bytes=max_body_bytes)


def app_for(state: BackendState, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The full backend serving `state`: made at once by `create_app`, or later, by the embedded
    backend's quick start (api.backend.quick_start), over the state it has already served from."""
    app = FastAPI(
        title="sessionkeeper mock backend",
        version="1.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        # The interactive docs pages pull scripts from a CDN; this server stays offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.backend = state
    install_error_handlers(app)
    app.include_router(build_rest_router(state))
    app.include_router(build_qa_router(state))
    app.add_api_route(
        GRAPHQL_PATH,
        graphql_endpoint(state, build_graphql_schema()),
        methods=["POST"],
        tags=["graphql"],
        summary="GraphQL (introspection on)",
        openapi_extra=OPENAPI_EXTRA,
    )

    @app.get("/", tags=["meta"], summary="Where things are")
    def index() -> dict[str, str]:
        return {
            "name": "sessionkeeper mock backend",
            "openapi": "/openapi.json",
            "graphql": GRAPHQL_PATH,
            "qa_state": "/__qa/state",
        }

    app.add_middleware(Gate, state=state, max_body=max_body_bytes)
    return app
