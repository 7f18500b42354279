"""The errors a caller of the typed clients can act on. Messages are safe to show: no secrets."""

from __future__ import annotations


class ApiError(Exception):
    """Anything that went wrong talking to the backend."""


class BackendUnreachable(ApiError):
    """No answer at all: connection refused, timeout, the client is offline (edge case 16)."""


class BackendFailed(ApiError):
    """The backend answered with a 5xx."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class MalformedResponse(ApiError):
    """The backend answered something this client cannot read (edge case 20)."""


class RedirectNotFollowed(MalformedResponse):
    """The backend answered with a redirect (3xx). It is never followed: the session's token must
    go nowhere but the backend it was issued by, and the answer says nothing of the call."""

    def __init__(self, status: int) -> None:
        super().__init__(redirect_words(status))
        self.status = status


def redirect_words(status: int) -> str:
    return f"the server answered with a redirect (HTTP {status}), which this client does not follow"


class NotAuthenticated(ApiError):
    """The session could not be recovered: rejected after one replay, or the user was signed out."""


class NotFound(ApiError):
    pass


class InvalidRequest(ApiError):
    """A 4xx naming what was wrong; `fields` maps a field path to its problem, and `code` is the
    server's error code in lower case (REST's `seat_unavailable` and GraphQL's `SEAT_UNAVAILABLE`
    read the same), or None when the answer named none."""

    def __init__(
        self, message: str, status: int, fields: dict[str, str] | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.fields = fields or {}
        self.code = code.lower() if code else None


class LoginFailed(ApiError):
    """Wrong username or password."""


def from_exception(exc: BaseException) -> ApiError | None:
    """The ApiError a lower-level failure stands for, or None if it is not one of ours to map."""
    # Imported here: errors.py is imported by everything in api/, and session is below it.
    import httpx

    from sessionkeeper.session.manager import SessionEnded, SessionUnavailable

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, SessionEnded):
        return NotAuthenticated(str(exc))
    if isinstance(exc, SessionUnavailable):
        if exc.transport:
            return BackendUnreachable("backend unreachable: no session could be obtained")
        return BackendFailed(str(exc), status=503)
    if isinstance(exc, httpx.DecodingError):  # AnswerTooLarge among them: "larger than 4 MiB"
        return MalformedResponse(str(exc) or "the answer could not be decoded")
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnreachable("backend did not answer in time")
    if isinstance(exc, httpx.TransportError):
        return BackendUnreachable(f"backend unreachable ({type(exc).__name__})")
    return None
