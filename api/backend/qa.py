"""QA control under /__qa (docs/backend.md section 4): state, clock, faults, revoke, reset.

No token is needed here, and no token or reauth key can appear in an answer: the session
store only holds their digests, and sessions are listed by their opaque ids.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Header

from sessionkeeper.api.backend.errors import ErrorAnswer, error_responses
from sessionkeeper.api.backend.models import (
    ClockIn,
    ClockOut,
    CountersOut,
    FaultsIn,
    FaultsOut,
    QaSessionOut,
    QaWhoseOut,
    ResetOut,
    RevokeIn,
    RevokeOut,
    ScopeOut,
    StateOut,
)
from sessionkeeper.api.backend.state import BackendState, Scope

log = logging.getLogger("sessionkeeper.backend")


def build_qa_router(state: BackendState) -> APIRouter:
    router = APIRouter(prefix="/__qa", tags=["qa"])

    def faults_out() -> FaultsOut:
        f = state.faults
        return FaultsOut(
            refresh=f.refresh,
            latency_ms=f.latency_ms,
            down=f.down,
            graphql_auth_error=f.graphql_auth_error,
            ttl_s=state.sessions.ttl_s,
            lifetime_s=state.sessions.lifetime_s,
            scopes={name: ScopeOut(rate=x.rate, path=x.path) for name, x in f.scopes.items()},
        )

    # The two read routes are `async def`: they only read memory, and a plain `def` would cost a
    # hop to FastAPI's thread pool on every call (half the CPU of a /__qa/state that the QA
    # panel asks for every second).
    @router.get("/state", response_model=StateOut, summary="The server's truth")
    async def get_state() -> StateOut:
        sessions = state.sessions
        return StateOut(
            now=state.clock.now(),
            ttl_s=sessions.ttl_s,
            lifetime_s=sessions.lifetime_s,
            grace_s=sessions.grace_s,
            faults=faults_out(),
            sessions=[
                QaSessionOut(
                    id=s.id,
                    kind=s.kind,
                    user=s.user,
                    expires_in_s=sessions.expires_in(s),
                    lifetime_left_s=sessions.lifetime_left(s),
                    revoked=s.revoked,
                    ended=s.ended,
                )
                for s in sessions.all()
            ],
            counters=CountersOut(**state.counters.as_dict()),
        )

    @router.get(
        "/session",
        response_model=QaWhoseOut,
        responses=error_responses(404),
        summary="Whose session: the id of the session a token belongs to",
        description="Authorization: Bearer <token>. Lets a client's QA panel find its own session"
        " in /__qa/state by id (two tabs can hold sessions of one user). Not counted; the session"
        " is neither extended nor checked for expiry: a revoked or expired one is found too.",
    )
    async def whose(authorization: str = Header(default="")) -> QaWhoseOut:
        scheme, _, token = authorization.partition(" ")
        session = state.sessions.peek(token.strip()) if scheme.lower() == "bearer" and token else None
        if session is None:
            raise ErrorAnswer(404, "session_not_found", "no session holds that token")
        return QaWhoseOut(id=session.id)

    @router.post(
        "/clock",
        response_model=ClockOut,
        responses=error_responses(422),
        summary="Move the server clock forward",
    )
    def advance_clock(body: ClockIn) -> ClockOut:
        now = state.clock.advance(body.advance_s)
        log.info("clock advanced by %gs", body.advance_s)
        return ClockOut(now=now)

    @router.get("/faults", response_model=FaultsOut, summary="The current faults")
    async def get_faults() -> FaultsOut:
        return faults_out()

    @router.post(
        "/faults",
        response_model=FaultsOut,
        responses=error_responses(422),
        summary="Set some faults; answers all of them",
        description="ttl_s applies from now on: each session's next extension uses it; deadlines"
        " already granted are kept (neither cut short nor lengthened). lifetime_s applies at once to"
        " every session, counted from its sign-in.",
    )
    def set_faults(body: FaultsIn) -> FaultsOut:
        f = state.faults
        if body.refresh is not None:
            f.refresh = body.refresh
        if body.latency_ms is not None:
            f.latency_ms = body.latency_ms
        if body.down is not None:
            f.down = body.down
        if body.graphql_auth_error is not None:
            f.graphql_auth_error = body.graphql_auth_error
        if body.ttl_s is not None:
            state.sessions.ttl_s = body.ttl_s
        if body.lifetime_s is not None:
            state.sessions.lifetime_s = body.lifetime_s
        for name, given in (body.scopes or {}).items():
            scope = Scope(rate=given.rate, path=given.path)
            if scope.everywhere:
                f.scopes.pop(name, None)
            else:
                f.scopes[name] = scope
        if body.seed is not None:
            state.reseed(body.seed)
        out = faults_out()
        log.info("faults now %s", out.model_dump())
        return out

    @router.post(
        "/revoke",
        response_model=RevokeOut,
        responses=error_responses(404, 422),
        summary="Revoke sessions server-side",
        description='{"all": true} or {"session_id": "s3"}. Reauth keys survive (so a client'
        ' can recover by re-auth) unless "reauth_keys": true.',
    )
    def revoke(body: RevokeIn) -> RevokeOut:
        if body.session_id is not None:
            target = state.sessions.get(body.session_id)
            if target is None:
                raise ErrorAnswer(404, "session_not_found", f"no session {body.session_id!r}")
            targets = [target]
        else:
            targets = state.sessions.all()
        revoked = []
        for session in targets:
            if not session.revoked:
                revoked.append(session.id)
            state.sessions.end(session, "revoked_by_qa", revoke_reauth_keys=body.reauth_keys)
        log.info("revoked %s (reauth keys too: %s)", revoked, body.reauth_keys)
        return RevokeOut(revoked=revoked)

    @router.post("/reset", response_model=ResetOut, summary="Everything back to the start")
    def reset() -> ResetOut:
        state.reset()
        return ResetOut(now=state.clock.now())

    return router
