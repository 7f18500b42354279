"""GraphQL at POST /graphql: the SDL in schema.graphql, its resolvers, and the HTTP endpoint.

Served with graphql-core directly: the gate has already decided auth before this runs, and
we control every error shape. Introspection is on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    execute_sync,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sessionkeeper.api.backend import catalog
from sessionkeeper.api.backend.bookings import Conflict, InvalidInput, NotFound
from sessionkeeper.api.backend.errors import graphql_request_error_body
from sessionkeeper.api.backend.gate import session_of
from sessionkeeper.api.backend.sessions import Session
from sessionkeeper.api.backend.state import BackendState
from sessionkeeper.api.backend.users import DEMO_USERS

log = logging.getLogger("sessionkeeper.backend")

SDL = resources.files("sessionkeeper.api.backend").joinpath("schema.graphql").read_text(encoding="utf-8")

# Documents the endpoint in /openapi.json (the body is read by hand, not by a pydantic model).
OPENAPI_EXTRA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["query"],
                    "properties": {
                        "query": {"type": "string"},
                        "variables": {"type": "object", "nullable": True},
                        "operationName": {"type": "string", "nullable": True},
                    },
                }
            }
        },
    },
    "responses": {
        "200": {"description": "a GraphQL response: {data, errors}"},
        "400": {"description": "the body is not a GraphQL request (errors[0].message says why)"},
        "401": {"description": "auth rejected while fault graphql_auth_error is 'http'"},
    },
}


@dataclass
class Context:
    state: BackendState
    session: Session | None


Info = GraphQLResolveInfo[Context]
R = TypeVar("R")


def _domain_errors(resolver: Callable[..., R]) -> Callable[..., R]:
    """Domain exceptions become GraphQL errors with a stable extensions.code."""

    def wrapped(root: Any, info: Info, **args: Any) -> R:
        try:
            return resolver(root, info, **args)
        except NotFound as exc:
            raise GraphQLError(str(exc), extensions={"code": "NOT_FOUND"}) from None
        except Conflict as exc:
            raise GraphQLError(exc.detail, extensions={"code": exc.code.upper()}) from None
        except InvalidInput as exc:
            fields = [{"field": e.field, "message": e.message} for e in exc.errors]
            raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT", "fields": fields}) from None

    return wrapped


def _context(info: Info) -> tuple[BackendState, Session]:
    ctx = info.context
    if ctx.session is None:  # the gate lets only introspection through without a session
        raise GraphQLError("a Bearer token is required", extensions={"code": "UNAUTHENTICATED"})
    return ctx.state, ctx.session


def _flight(flight_id: str) -> catalog.Flight:
    flight = catalog.find_flight(flight_id)
    if flight is None:
        raise NotFound("flight")
    return flight


def _money(cents: int) -> dict[str, Any]:
    return {"amountCents": cents, "currency": catalog.CURRENCY}


@_domain_errors
def resolve_fares(_root: Any, info: Info, flightId: str) -> list[dict[str, Any]]:
    _context(info)
    return [
        {
            "code": f.code,
            "name": f.name,
            "cabin": f.cabin,
            "price": _money(f.price_cents),
            "refundable": f.refundable,
            "checkedBags": f.checked_bags,
        }
        for f in catalog.fares_for(_flight(flightId))
    ]


@_domain_errors
def resolve_seat_map(_root: Any, info: Info, flightId: str) -> dict[str, Any]:
    state, session = _context(info)
    flight = _flight(flightId)
    owner = session.owner_key()
    rows = []
    for row in range(1, flight.rows + 1):
        seats = []
        for column in catalog.SEAT_COLUMNS:
            code = f"{row}{column}"
            status = state.desk.seat_status(owner, flight, code)
            seats.append({"code": code, "column": column, "status": status})
        rows.append({"number": row, "cabin": catalog.cabin_of_row(row), "seats": seats})
    return {
        "flightId": flight.id,
        "aircraft": flight.aircraft,
        "columns": list(catalog.SEAT_COLUMNS),
        "rows": rows,
    }


@_domain_errors
def resolve_me(_root: Any, info: Info) -> dict[str, Any] | None:
    state, session = _context(info)
    user = DEMO_USERS.get(session.user) if session.user is not None else None
    if user is None:
        return None
    loyalty = state.loyalty.loyalty(user.username)  # the live balance, not the seed
    return {
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "loyalty": {
            "tier": loyalty.tier,
            "points": loyalty.points,
            "memberSince": loyalty.member_since,
        },
    }


@_domain_errors
def resolve_hold_seat(
    _root: Any,
    info: Info,
    flightId: str,
    seat: str,
    draftId: str,
) -> dict[str, Any]:
    state, session = _context(info)
    hold = state.desk.hold_seat(session.owner_key(), flightId, seat, draftId)
    state.counters.seat_holds += 1
    log.info("seat %s on %s held for draft %s (session %s)", seat, flightId, draftId, session.id)
    return {
        "flightId": hold.flight_id,
        "seat": hold.seat,
        "draftId": hold.draft_id,
        "expiresInS": state.desk.hold_expires_in(hold),
    }


@_domain_errors
def resolve_release_seat(
    _root: Any,
    info: Info,
    flightId: str,
    seat: str,
    draftId: str,
) -> bool:
    state, session = _context(info)
    return state.desk.release_seat(session.owner_key(), flightId, seat, draftId)


def build_graphql_schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    resolvers: dict[str, dict[str, Callable[..., Any]]] = {
        "Query": {"fares": resolve_fares, "seatMap": resolve_seat_map, "me": resolve_me},
        "Mutation": {"holdSeat": resolve_hold_seat, "releaseSeat": resolve_release_seat},
    }
    for type_name, fields in resolvers.items():
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        for field_name, resolver in fields.items():
            graphql_type.fields[field_name].resolve = resolver
    return schema


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse(graphql_request_error_body(message), status_code=400)


def _with_code(error: GraphQLError, code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    formatted["extensions"] = {**(error.extensions or {}), "code": code}
    return formatted


def graphql_endpoint(state: BackendState, schema: GraphQLSchema) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return _bad_request(f"the body is not valid JSON: {exc}")
        if not isinstance(payload, dict):
            return _bad_request("the body must be a JSON object with a `query` string")
        query, variables = payload.get("query"), payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(query, str):
            return _bad_request("`query` must be a string")
        if variables is not None and not isinstance(variables, dict):
            return _bad_request("`variables` must be an object or null")
        if operation_name is not None and not isinstance(operation_name, str):
            return _bad_request("`operationName` must be a string or null")
        try:
            document = parse(query)
        except GraphQLError as error:
            return JSONResponse({"errors": [_with_code(error, "GRAPHQL_PARSE_FAILED")]})
        problems = validate(schema, document)
        if problems:
            errors = [_with_code(e, "GRAPHQL_VALIDATION_FAILED") for e in problems]
            return JSONResponse({"errors": errors})
        result = execute_sync(
            schema,
            document,
            variable_values=variables,
            operation_name=operation_name,
            context_value=Context(state, session_of(request.scope)),
        )
        return JSONResponse(result.formatted)

    return endpoint
