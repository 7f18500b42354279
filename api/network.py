"""The connection layers every client of the app stands on.

`BoundedTransport`, just above httpx's own: every exchange ends within an overall deadline, its
answer read whole and no larger than a bound (issue 16). `NetworkSwitch`, above it: QA can take
the client offline (requests fail in transport), make the backend's answers malformed (edge case
20), or hold calls on their way out so that a refresh overtakes them (edge case 15), from the
keyboard.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx


def is_session_call(request: httpx.Request) -> bool:
    """A call of the session's own (guest, login, refresh, reauth, sign-out): how the client
    gets and ends its tokens, not a call made with one."""
    path = request.url.path
    return path.startswith("/api/session/") or (path == "/api/session" and request.method == "DELETE")


# Past this, an exchange is "no answer", like a refused connection. Well above an answer the QA
# latency fault slows (1.5 s) and httpx's 10 s between bytes, well below "the app hangs".
DEFAULT_CALL_DEADLINE_S = 15.0
# Any answer: the largest the mock backend sends (a seat map, a full QA state) is tens of KiB.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
# A session endpoint's answer: a token, a reauth key and a user's profile, under 1 KiB today.
MAX_SESSION_ANSWER_BYTES = 64 * 1024


def describe_size(size: int) -> str:
    """`4 MiB`, `64 KiB`, `100 bytes`: a bound in words."""
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class DeadlineExceeded(httpx.TimeoutException):
    """No whole answer within the call's deadline: a transport failure, like any timeout."""


class AnswerTooLarge(httpx.DecodingError):
    """The answer was larger than the bound: refused unread past it. Not a transport failure: the
    server did answer, with something this client will not read (a malformed answer)."""

    def __init__(self, limit: int, status: int, *, request: httpx.Request) -> None:
        super().__init__(f"the answer was larger than {describe_size(limit)}", request=request)
        self.limit = limit
        self.status = status


def http_transport(*, tls: bool = True) -> httpx.AsyncHTTPTransport:
    """httpx's own transport. With `tls=False` (an http:// backend) no TLS context is made:
    loading the CA certificates costs about 15 ms a client, for nothing on loopback."""
    return httpx.AsyncHTTPTransport() if tls else httpx.AsyncHTTPTransport(verify=False)


class BoundedTransport(httpx.AsyncBaseTransport):
    """Every exchange over `inner` ends within `deadline_s`, with an answer of at most `max_bytes`.

    What the deadline bounds, together: connecting, sending the request, the wait for the status
    line and headers, and reading the whole body. A server that drips its answer (a byte every
    few seconds, each within httpx's timeout between bytes) is cut off at the deadline: the
    exchange is abandoned, its connection closed, and `DeadlineExceeded` (an
    `httpx.TimeoutException`, a transport failure: "no answer") is raised.

    The size: an answer whose Content-Length is over `max_bytes` is refused before its body is
    read; one without (chunked) is read until it grows past `max_bytes` and refused there, the
    rest unread. Both the bytes received and the bytes they decode to (gzip...) count. Refused:
    `AnswerTooLarge` (a malformed answer, not a transport failure).

    The response handed up holds the body already read (decoded): layers above never wait on the
    network again. Not bounded here, because each is bounded by its own exchanges: a QA hold (the
    switch sits above this), a call's wait for a slot in the middleware (every holder is bounded),
    its wait for the session's refresh or recovery (that flight's exchanges are bounded), and a
    replay after a rejection (an exchange of its own).
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        deadline_s: float = DEFAULT_CALL_DEADLINE_S,
        max_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        if not deadline_s > 0 or max_bytes <= 0:
            raise ValueError("a deadline and a size bound must be positive")
        self._inner = inner
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self.deadline_s):
                response = await self._inner.handle_async_request(request)
                body = await self._read(response, request)
        except TimeoutError:
            raise DeadlineExceeded(f"no whole answer within {self.deadline_s:g} s", request=request) from None
        finally:
            if response is not None:
                await response.aclose()  # nothing once read whole; else the connection is dropped
        headers: httpx.Headers | list[tuple[str, str]] = response.headers
        if "content-encoding" in response.headers:
            # Its body is decoded now: the headers that described the encoded one go.
            headers = [
                (name, value)
                for name, value in response.headers.multi_items()
                if name.lower() not in _BODY_HEADERS
            ]
        return httpx.Response(
            response.status_code, headers=headers, content=body, extensions=response.extensions
        )

    async def _read(self, response: httpx.Response, request: httpx.Request) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise AnswerTooLarge(self.max_bytes, response.status_code, request=request)
        chunks: list[bytes] = []
        size = 0
        # Decoded (and counted decoded) only when encoded: the common answer skips httpx's decoders.
        # An answer already read (made in memory, by a test's transport) is served as it is.
        raw = not response.is_stream_consumed and "content-encoding" not in response.headers
        body = response.aiter_raw() if raw else response.aiter_bytes()
        async for chunk in body:
            size += len(chunk)
            if size > self.max_bytes or response.num_bytes_downloaded > self.max_bytes:
                raise AnswerTooLarge(self.max_bytes, response.status_code, request=request)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        await self._inner.aclose()


_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def call_timeout(seconds: float) -> httpx.Timeout:
    """Every call's timeout: `seconds` to connect, to send and between bytes of the answer, and no
    limit of httpx's own on the wait for a free connection from the pool.

    A burst (500 calls at the moment of expiry, edge case 12) would queue for the transport's 100
    connections; the middleware lets only 16 gated calls out at once, so none does. A call waiting
    there has not reached the server, so a pool timeout would fail it for the client's own queue,
    not for the backend. The whole exchange, that wait included, is bounded by `BoundedTransport`.
    """
    return httpx.Timeout(seconds, pool=None)


# The client's faults a scope can narrow (issue 20, item 5).
CLIENT_FAULTS = ("offline", "garble", "slow", "lose")


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a fault applies: to a call whose path contains `path` ("" for every path), and then
    with probability `rate` (1 for every such call), drawn per call. The mock backend's faults
    take the same two (`/__qa/faults`, "scopes")."""

    rate: float = 1.0
    path: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1:
            raise ValueError(f"a scope's rate is a probability above 0, at most 1; got {self.rate!r}")

    @property
    def everywhere(self) -> bool:
        return self.rate >= 1 and not self.path

    def applies(self, path: str, chance: Callable[[], float]) -> bool:
        # The path first: a call outside the filter draws nothing, so a seeded run's draws depend
        # only on the calls the fault could reach.
        return self.path in path and (self.rate >= 1 or chance() < self.rate)

    @property
    def _percent(self) -> str:
        return f"{self.rate:.0%}".replace("%", " %")  # `30 %`

    @property
    def short(self) -> str:
        """`all`, `30 %`, `30 % /graphql`: for the QA panel's narrow column."""
        if self.everywhere:
            return "all"
        rate = self._percent if self.rate < 1 else "all"
        return f"{rate} {self.path}".strip()

    @property
    def words(self) -> str:
        """`` (everywhere), ` on 30 % of /graphql calls`, ` on 30 % of calls`: after a fault's name."""
        if self.everywhere:
            return ""
        share = f"{self._percent} of" if self.rate < 1 else "every"
        return f" on {share} {self.path + ' ' if self.path else ''}call{'s' if self.rate < 1 else ''}"

    def as_json(self) -> dict[str, float | str]:
        return {"rate": self.rate, "path": self.path}


EVERYWHERE = Scope()


class NetworkSwitch:
    """Shared by every client of one app: flip `online` and all of them go dark or come back.
    Each fault may be narrowed by a `Scope` in `scopes` (by its name in `CLIENT_FAULTS`)."""

    def __init__(self) -> None:
        self.online = True
        self.garble = False  # domain answers (not session endpoints) arrive as nonsense
        # Seconds every call but the session's own waits before it leaves, its token already
        # on it: a refresh made meanwhile rotates the token under the calls in flight.
        self.hold_s = 0.0
        self.holding = 0  # calls being held right now
        # Answers lost on their way back (issue 20, item 4): the server took the call (and extended
        # the session), the client never hears. `lose_next` answers, then, while `losing`, each
        # call within the scope "lose" (a probability, a path); never the session's own.
        self.lose_next = 0
        self.losing = False
        self.chance: Callable[[], float] = random.random  # a test gives a seeded one
        self.lost = 0  # answers lost so far
        self.scopes: dict[str, Scope] = {}

    def scope(self, fault: str) -> Scope:
        return self.scopes.get(fault, EVERYWHERE)

    def narrow(self, fault: str, scope: Scope) -> None:
        """`fault` applies within `scope` from now on (everywhere: the scope is dropped)."""
        if fault not in CLIENT_FAULTS:
            raise ValueError(f"no client fault {fault!r}")
        if scope.everywhere:
            self.scopes.pop(fault, None)
        else:
            self.scopes[fault] = scope

    @property
    def offline_everywhere(self) -> bool:
        """Every call fails in transport: the app says it is offline (a flaky link does not)."""
        return not self.online and "offline" not in self.scopes

    def hits(self, fault: str, request: httpx.Request) -> bool:
        """Whether `fault` (switched on) reaches this call, within its scope (drawn per call)."""
        scope = self.scopes.get(fault)
        return scope is None or scope.applies(request.url.path, self.chance)

    def loses(self, request: httpx.Request) -> bool:
        """Whether this call's answer is to be lost (and counted)."""
        if is_session_call(request):
            return False
        if self.lose_next > 0:
            self.lose_next -= 1
        elif not (self.losing and self.hits("lose", request)):
            return False
        self.lost += 1
        return True

    def transport(
        self, inner: httpx.AsyncBaseTransport | None = None, *, tls: bool = True
    ) -> httpx.AsyncBaseTransport:
        """The switch in front of `inner` (by default httpx's own transport, see `http_transport`)."""
        return _SwitchedTransport(self, inner if inner is not None else http_transport(tls=tls))


class _SwitchedTransport(httpx.AsyncBaseTransport):
    def __init__(self, switch: NetworkSwitch, inner: httpx.AsyncBaseTransport) -> None:
        self._switch = switch
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        switch = self._switch
        if not switch.online and switch.hits("offline", request):
            raise httpx.ConnectError("the client is offline (QA switch)", request=request)
        session_call = is_session_call(request)
        if switch.hold_s > 0 and not session_call and switch.hits("slow", request):
            switch.holding += 1
            try:
                await asyncio.sleep(switch.hold_s)
            finally:
                switch.holding -= 1
        response = await self._inner.handle_async_request(request)
        if switch.loses(request):
            await response.aread()  # the server answered, whole: the call happened there
            raise httpx.ReadError(
                f"the server answered {response.status_code}; the answer was lost on its way back (QA fault)",
                request=request,
            )
        if (
            switch.garble
            and response.status_code == 200
            and not session_call
            and switch.hits("garble", request)
        ):
            await response.aread()
            return httpx.Response(200, json={"unexpected": "shape"}, request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
