"""A session port whose every request parks until a test delivers it, for driving the real manager.

`ParkedPort` fills in `session.port.SessionPort`. Each call (start_guest, login, refresh, reauth,
sign_out) becomes a `Request` on one shared list and waits on a future; API calls made by the
test's middleware stand-in (`ParkedPort.call`) join the same list. Nothing answers by itself: the
test decides when the server processes a request (`Request.delivered`, the server's verdict is
taken then) and when, and how, the client hears back (`answer` / `fail`). So the manager's tasks
stay parked between a test's steps, and a property test can interleave them as it likes.

The server's truth is not in here: the test asks `tests/session/session_model.ModelServer` at
delivery. This module only carries messages and translates between the model's short token names
("t7", "k8") and what the client sees: a `Secret` whose value holds `MARK`, so a leaked token or
reauth key is one substring search away.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sessionkeeper.session.port import BackendUnavailable, IssuedSession
from sessionkeeper.session.secrets import Secret

MARK = "sk-s3cr3t"  # in the value of every token and reauth key the client is given

RequestKind = Literal["call", "guest", "login", "refresh", "reauth", "sign_out"]
FLIGHT_KINDS: frozenset[RequestKind] = frozenset({"guest", "refresh", "reauth"})
CallOutcome = Literal["accepted", "rejected", "5xx", "transport"]


def client_secret(model_name: str) -> Secret:
    """What the client is given for the model's token or key `model_name`."""
    return Secret(f"{MARK}-{model_name}")


def model_name(secret: Secret) -> str:
    """The model's name for a token or key the client presents."""
    value = secret.reveal()
    prefix = f"{MARK}-"
    if not value.startswith(prefix):
        raise AssertionError(f"the client presented a credential it was never given: {secret!r}")
    return value[len(prefix) :]


@dataclass(eq=False)
class CallRecord:
    """One API call as its caller sees it, across its first sending and its one replay."""

    cid: int
    sends: int = 0
    outcome: str | None = None  # how it ended: accepted, given_up, 5xx, SessionEnded, ...


@dataclass(eq=False)
class Request:
    """One message on its way to the server: made at `sent_at`, delivered, then answered."""

    rid: int
    kind: RequestKind
    sent_at: float
    future: asyncio.Future[object]
    credential: str | None = None  # the model token (call, refresh, sign_out, login's guest) or key
    password: str | None = None  # login only; never kept beyond the request
    attempt: int = 0  # calls: 1, or 2 for the replay
    generation: int = 0  # calls: the ticket's generation
    call: CallRecord | None = None
    delivered: bool = False  # the server has processed it; `verdict` holds what it decided
    verdict: object = None

    @property
    def open(self) -> bool:
        """Still waiting for its answer (a cancelled waiter closes it too)."""
        return not self.future.done()


@dataclass
class ParkedPort:
    """The in-memory port: every request waits in `requests` until the test answers it."""

    now: Callable[[], float]
    on_request: Callable[[Request], None] = lambda request: None
    requests: list[Request] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- the port -------------------------------------------------------------------------------

    async def start_guest(self) -> IssuedSession:
        return _issued(await self._park("guest"))

    async def login(
        self, username: str, password: Secret, guest_token: Secret | None = None
    ) -> IssuedSession:
        guest = model_name(guest_token) if guest_token is not None else None
        return _issued(await self._park("login", credential=guest, password=password.reveal()))

    async def refresh(self, token: Secret) -> Secret:
        result = await self._park("refresh", credential=model_name(token))
        assert isinstance(result, Secret)
        return result

    async def reauth(self, reauth_key: Secret) -> IssuedSession:
        return _issued(await self._park("reauth", credential=model_name(reauth_key)))

    async def sign_out(self, token: Secret) -> None:
        await self._park("sign_out", credential=model_name(token))

    # -- what the middleware stand-in sends ------------------------------------------------------

    async def call(self, token: Secret, generation: int, attempt: int, record: CallRecord) -> CallOutcome:
        result = await self._park(
            "call", credential=model_name(token), attempt=attempt, generation=generation, call=record
        )
        assert result in ("accepted", "rejected", "5xx", "transport")
        return result

    # -- the test's side ------------------------------------------------------------------------

    def open_requests(self, *kinds: RequestKind) -> list[Request]:
        return [r for r in self.requests if r.open and (not kinds or r.kind in kinds)]

    @staticmethod
    def answer(request: Request, result: object) -> None:
        """The client hears the server's answer: a value, or an exception (401, 5xx...)."""
        if isinstance(result, BaseException):
            request.future.set_exception(result)
        else:
            request.future.set_result(result)
        # An exception nobody awaits (a waiter cancelled meanwhile) is not an error here.
        request.future.exception()

    @staticmethod
    def fail(request: Request, *, transport: bool) -> None:
        """No verdict reaches the client: the request or its answer was lost, or a 5xx came back."""
        if request.kind == "call":
            ParkedPort.answer(request, "transport" if transport else "5xx")
        else:
            status = "connection reset" if transport else "503 service unavailable"
            ParkedPort.answer(request, BackendUnavailable(status, transport=transport))

    # -- internals ------------------------------------------------------------------------------

    async def _park(
        self,
        kind: RequestKind,
        *,
        credential: str | None = None,
        password: str | None = None,
        attempt: int = 0,
        generation: int = 0,
        call: CallRecord | None = None,
    ) -> object:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        request = Request(
            next(self._ids), kind, self.now(), future, credential, password, attempt, generation, call
        )
        self.on_request(request)
        self.requests.append(request)
        try:
            return await future
        finally:
            self.requests.remove(request)


def _issued(result: object) -> IssuedSession:
    assert isinstance(result, IssuedSession)
    return result
