"""The typed REST client: flights, drafts and bookings, every call through the session middleware."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from sessionkeeper.api.errors import (
    ApiError,
    BackendFailed,
    InvalidRequest,
    MalformedResponse,
    NotAuthenticated,
    NotFound,
    RedirectNotFollowed,
    from_exception,
)
from sessionkeeper.api.middleware import SessionAuth
from sessionkeeper.api.models import Airport, Booking, Draft, Flight, WhoAmI

T = TypeVar("T")


class _Airports(BaseModel):
    airports: list[Airport]


class _Flights(BaseModel):
    flights: list[Flight]


class _Drafts(BaseModel):
    drafts: list[Draft]


class _Bookings(BaseModel):
    bookings: list[Booking]


class RestClient:
    def __init__(
        self,
        base_url: str,
        auth: SessionAuth,
        *,
        inner_transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 10.0,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, **auth.client_kwargs(inner_transport)
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def whoami(self) -> WhoAmI:
        return await self._call("GET", "/api/session", WhoAmI)

    async def airports(self) -> list[Airport]:
        return (await self._call("GET", "/api/airports", _Airports)).airports

    async def search_flights(self, origin: str, destination: str, date: dt.date) -> list[Flight]:
        params = {"origin": origin, "destination": destination, "date": date.isoformat()}
        return (await self._call("GET", "/api/flights", _Flights, params=params)).flights

    async def flight(self, flight_id: str) -> Flight:
        return await self._call("GET", f"/api/flights/{flight_id}", Flight)

    async def create_draft(self, step: str, data: dict[str, Any]) -> Draft:
        return await self._call("POST", "/api/drafts", Draft, json={"step": step, "data": data})

    async def get_draft(self, draft_id: str) -> Draft:
        return await self._call("GET", f"/api/drafts/{draft_id}", Draft)

    async def list_drafts(self) -> list[Draft]:
        return (await self._call("GET", "/api/drafts", _Drafts)).drafts

    async def update_draft(self, draft_id: str, step: str, data: dict[str, Any]) -> Draft:
        return await self._call("PUT", f"/api/drafts/{draft_id}", Draft, json={"step": step, "data": data})

    async def create_booking(
        self,
        *,
        flight_id: str,
        fare_code: str,
        passengers: list[dict[str, str]],
        seats: list[str],
        payment: dict[str, str],
        draft_id: str | None = None,
    ) -> Booking:
        body = {
            "flight_id": flight_id,
            "fare_code": fare_code,
            "passengers": passengers,
            "seats": seats,
            "payment": payment,
            "draft_id": draft_id,
        }
        return await self._call("POST", "/api/bookings", Booking, json=body)

    async def list_bookings(self) -> list[Booking]:
        """The session owner's bookings, newest first (a user's from all their sessions)."""
        return (await self._call("GET", "/api/bookings", _Bookings)).bookings

    async def _call(
        self,
        method: str,
        path: str,
        model: type[T],
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> T:
        try:
            response = await self.http.request(method, path, json=json, params=params)
        except Exception as exc:
            mapped = from_exception(exc)
            if mapped is None:
                raise
            raise mapped from None
        return _read(response, model)


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(model: type[T]) -> TypeAdapter[T]:
    # Building a TypeAdapter costs far more than using one: one per model, kept.
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


def _read(response: httpx.Response, model: type[T]) -> T:
    status = response.status_code
    if status >= 400:
        raise _error_for(response)
    if status >= 300:  # the middleware refuses one first; never read as the call's answer
        raise RedirectNotFollowed(status)
    try:
        return _adapter(model).validate_json(response.content)
    except ValidationError as exc:
        raise MalformedResponse(
            f"{response.request.method} {response.request.url.path}: unexpected answer "
            f"({exc.error_count()} problem(s), first at {_loc(exc)})"
        ) from None


def _loc(exc: ValidationError) -> str:
    errors = exc.errors()
    return ".".join(str(p) for p in errors[0]["loc"]) or "top level" if errors else "?"


def _error_for(response: httpx.Response) -> ApiError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    named = body.get("error") if isinstance(body.get("error"), str) else None
    code = named or f"HTTP {status}"
    detail = body.get("detail") if isinstance(body.get("detail"), str) else None
    message = f"{code}: {detail}" if detail else str(code)
    if status == 401:
        return NotAuthenticated(message)
    if status == 404:
        return NotFound(message)
    if status >= 500:
        return BackendFailed(message, status)
    fields: dict[str, str] = {}
    for item in body.get("fields") or []:
        if isinstance(item, dict) and isinstance(item.get("field"), str):
            fields[item["field"]] = str(item.get("message", "invalid"))
    return InvalidRequest(message, status, fields, code=named)
