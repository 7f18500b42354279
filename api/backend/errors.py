"""Error answers: one JSON shape for every failure, and handlers that never leak a traceback.

REST errors look like `{"error": code, "detail": text, "fields": [...] | null}`.
GraphQL auth rejections look like `{"data": null, "errors": [{..., "extensions": {"code":
"UNAUTHENTICATED", "reason": ...}}]}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from sessionkeeper.api.backend.bookings import Conflict, FieldError, InvalidInput, NotFound
from sessionkeeper.api.backend.models import ErrorOut

log = logging.getLogger("sessionkeeper.backend")

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class ErrorAnswer(Exception):
    """An error answer the backend gives a request (status, error code, detail): raised by a
    handler, written by the error handlers. (The client's own errors are sessionkeeper.api.errors.)"""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or error)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})


def error_response(
    status: int,
    error: str,
    detail: str | None = None,
    *,
    fields: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "detail": detail, "fields": None}
    if fields is not None:
        body["fields"] = [{"field": f.field, "message": f.message} for f in fields]
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def graphql_unauthenticated_body(reason: str, detail: str) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": detail, "extensions": {"code": "UNAUTHENTICATED", "reason": reason}}],
    }


def graphql_request_error_body(message: str, code: str = "BAD_REQUEST") -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_fields(exc: RequestValidationError) -> tuple[str, list[FieldError]]:
    """Turn FastAPI's validation errors into our code and field list (no input echoed back,
    so a password in a malformed body never comes back in the answer)."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = next(e.get("ctx") or {} for e in errors if e.get("type") == "json_invalid")
        return "malformed_json", [FieldError("body", f"not valid JSON: {ctx.get('error', '?')}")]
    fields = [FieldError(_loc(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in errors]
    where = errors[0].get("loc", ("body",))[0] if errors else "body"
    return ("invalid_body" if where == "body" else "invalid_request"), fields


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    code, fields = validation_fields(exc)
    content_type = request.headers.get("content-type", "")
    if code == "invalid_body" and "json" not in content_type and request.method != "GET":
        # FastAPI reads a non-JSON body as raw bytes; "not a dict" would only confuse.
        hint = FieldError("body", "must be a JSON object sent as Content-Type: application/json")
        fields = [hint, *(f for f in fields if f.field != "body")]
    summary = "; ".join(f"{f.field}: {f.message}" for f in fields[:3])
    return error_response(422, code, summary, fields=fields)


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else None
    # Name the problem: which route, which method (the path is ours to echo, never a header).
    where = f"{request.method} {request.url.path[:200]}"
    if exc.status_code == 404:
        detail = f"no such route: {where}"
    elif exc.status_code == 405:
        detail = f"method not allowed: {where} (allowed: {(exc.headers or {}).get('Allow', '?')})"
    return error_response(exc.status_code, code, detail, headers=exc.headers)


async def _on_api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ErrorAnswer)
    return error_response(exc.status, exc.error, exc.detail, headers=exc.headers)


async def _on_not_found(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFound)
    return error_response(404, f"{exc.what}_not_found", str(exc))


async def _on_conflict(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Conflict)
    return error_response(409, exc.code, exc.detail)


async def _on_invalid(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    return error_response(422, "invalid_input", str(exc), fields=exc.errors)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Logged by type only: an exception's message could carry request data.
    log.error("unexpected %s answering %s %s", type(exc).__name__, request.method, request.url.path)
    return error_response(500, "internal_error", "the mock backend failed; see its log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ErrorAnswer, _on_api_error)
    app.add_exception_handler(NotFound, _on_not_found)
    app.add_exception_handler(Conflict, _on_conflict)
    app.add_exception_handler(InvalidInput, _on_invalid)
    app.add_exception_handler(Exception, _on_unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each listed status answers an ErrorOut."""
    return {status: {"model": ErrorOut} for status in statuses}
