"""The typed GraphQL client: gql over its httpx transport, given the same session middleware.

gql wraps every failure of the underlying httpx call in TransportConnectionFailed; the cause is
read back to tell "signed out" and "offline" apart. Auth rejections never reach here unhandled:
the middleware recovers and replays below gql, and gql is never asked to retry anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional, TypeVar

import httpx
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.httpx import HTTPXAsyncTransport
from graphql import DocumentNode, parse
from pydantic import TypeAdapter, ValidationError

from sessionkeeper.api import operations
from sessionkeeper.api.errors import (
    ApiError,
    BackendFailed,
    BackendUnreachable,
    InvalidRequest,
    MalformedResponse,
    NotAuthenticated,
    NotFound,
    from_exception,
)
from sessionkeeper.api.middleware import SessionAuth
from sessionkeeper.api.models import Fare, Profile, SeatHold, SeatMap
from sessionkeeper.session.manager import FlightReentry

T = TypeVar("T")

_DOCUMENTS: dict[str, DocumentNode] = {}


def prepare(documents: Iterable[str]) -> None:
    """Parse these documents now (at start-up, in the background), not on their first call."""
    for document in documents:
        _parsed(document)


def _parsed(document: str) -> DocumentNode:
    """Each operation's text parsed once: parsing it on every call costs more than the call."""
    parsed = _DOCUMENTS.get(document)
    if parsed is None:
        parsed = _DOCUMENTS[document] = parse(document)
    return parsed


class GraphQLClient:
    def __init__(
        self,
        url: str,
        auth: SessionAuth,
        *,
        inner_transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 10.0,
    ) -> None:
        transport = HTTPXAsyncTransport(url=url, timeout=timeout, **auth.client_kwargs(inner_transport))
        # No execute_timeout of gql's own: it would time the whole call, the wait in the connection
        # pool and for the session's refresh included (see api.network.call_timeout); each
        # exchange is bounded below (api.network.BoundedTransport), and each flight's too.
        self._client = Client(transport=transport, fetch_schema_from_transport=False, execute_timeout=None)
        self._session: Any = None

    async def connect(self) -> None:
        if self._session is None:
            # Not the reconnecting session: it would retry failures (a 401 included) on its own.
            self._session = await self._client.connect_async(reconnecting=False)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._client.close_async()
            self._session = None

    async def fares(self, flight_id: str) -> list[Fare]:
        data = await self.execute(operations.FARES, {"flightId": flight_id})
        return _parse(_FARES, data.get("fares"), "fares")

    async def seat_map(self, flight_id: str) -> SeatMap:
        data = await self.execute(operations.SEAT_MAP, {"flightId": flight_id})
        return _parse(_SEAT_MAP, data.get("seatMap"), "seatMap")

    async def hold_seat(self, flight_id: str, seat: str, draft_id: str) -> SeatHold:
        variables = {"flightId": flight_id, "seat": seat, "draftId": draft_id}
        data = await self.execute(operations.HOLD_SEAT, variables)
        return _parse(_SEAT_HOLD, data.get("holdSeat"), "holdSeat")

    async def release_seat(self, flight_id: str, seat: str, draft_id: str) -> bool:
        variables = {"flightId": flight_id, "seat": seat, "draftId": draft_id}
        data = await self.execute(operations.RELEASE_SEAT, variables)
        return _parse(_BOOL, data.get("releaseSeat"), "releaseSeat")

    async def me(self) -> Profile | None:
        data = await self.execute(operations.ME)
        return _parse(_PROFILE, data.get("me"), "me")

    async def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.connect()
        request = GraphQLRequest(_parsed(document), variable_values=variables)
        try:
            result = await self._session.execute(request)
        except TransportQueryError as exc:
            raise _query_error(exc) from None
        except TransportServerError as exc:
            if exc.code == 401:
                raise NotAuthenticated("session rejected after one recovery") from None
            raise BackendFailed(f"GraphQL HTTP {exc.code}", exc.code or 500) from None
        except TransportProtocolError:
            raise MalformedResponse("GraphQL answer is not a GraphQL result") from None
        except TransportConnectionFailed as exc:
            if isinstance(exc.__cause__, FlightReentry):
                raise FlightReentry() from None  # a wiring bug, not "unreachable"
            mapped = from_exception(exc.__cause__) if exc.__cause__ else None
            raise (mapped or BackendUnreachable("backend unreachable")) from None
        except Exception as exc:
            mapped = from_exception(exc)
            if mapped is None:
                raise
            raise mapped from None
        if not isinstance(result, dict):
            raise MalformedResponse("GraphQL data is not an object")
        return result


def _query_error(exc: TransportQueryError) -> ApiError:
    errors = exc.errors or []
    first: dict[str, Any] = errors[0] if errors and isinstance(errors[0], dict) else {}
    raw_extensions = first.get("extensions")
    extensions: dict[str, Any] = raw_extensions if isinstance(raw_extensions, dict) else {}
    code = str(extensions.get("code", "ERROR"))
    message = str(first.get("message", "GraphQL error"))
    if code == "UNAUTHENTICATED":
        return NotAuthenticated("session rejected after one recovery")
    if code == "NOT_FOUND":
        return NotFound(message)
    fields: dict[str, str] = {}
    for item in extensions.get("fields") or []:
        if isinstance(item, dict) and isinstance(item.get("field"), str):
            fields[item["field"]] = str(item.get("message", "invalid"))
    named = extensions.get("code")
    return InvalidRequest(f"{code}: {message}", 400, fields, code=named if isinstance(named, str) else None)


_FARES: TypeAdapter[list[Fare]] = TypeAdapter(list[Fare])
_SEAT_MAP: TypeAdapter[SeatMap] = TypeAdapter(SeatMap)
_SEAT_HOLD: TypeAdapter[SeatHold] = TypeAdapter(SeatHold)
_BOOL: TypeAdapter[bool] = TypeAdapter(bool)
_PROFILE: TypeAdapter[Profile | None] = TypeAdapter(Optional[Profile])  # noqa: UP045 - a runtime value


def _parse(adapter: TypeAdapter[T], value: Any, field: str) -> T:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        raise MalformedResponse(f"GraphQL field {field} has an unexpected shape") from None
