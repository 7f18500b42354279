"""Everything the app needs to talk to the backend, wired once.

One session manager, one middleware (`SessionAuth`) shared by the REST client and the GraphQL
client, and the session port they all stand on. The TUI, the benchmarks and the tests build it
the same way.

Lean at start: the REST client (and pydantic under it) and the GraphQL client (gql) are made on
first use; `warm_up()` makes them in the background once the session runs, so the first real
call costs what a warm one does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, assert_never

import httpx

from sessionkeeper.api.errors import ApiError, BackendFailed, BackendUnreachable, LoginFailed
from sessionkeeper.api.middleware import GatedRoutes, SessionAuth
from sessionkeeper.api.network import (
    DEFAULT_CALL_DEADLINE_S,
    MAX_ANSWER_BYTES,
    MAX_SESSION_ANSWER_BYTES,
    BoundedTransport,
    NetworkSwitch,
    call_timeout,
    http_transport,
)
from sessionkeeper.api.session_port import HttpSessionPort
from sessionkeeper.api.wire import WireLog, WireTransport
from sessionkeeper.session import decisions as d
from sessionkeeper.session.clock import Clock
from sessionkeeper.session.kinds import SessionKind
from sessionkeeper.session.manager import SessionManager
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.port import BackendUnavailable, SessionRejected
from sessionkeeper.session.secrets import Fingerprinter, Secret
from sessionkeeper.session.store import SessionStore
from sessionkeeper.session.timeline import Timeline

if TYPE_CHECKING:
    from sessionkeeper.api.graphql import GraphQLClient
    from sessionkeeper.api.models import Profile
    from sessionkeeper.api.rest import RestClient

log = logging.getLogger(__name__)

InnerTransportFactory = Callable[[], httpx.AsyncBaseTransport]


# How much longer than a call's deadline a flight's lease lasts (rule 14).
LEASE_MARGIN_S = 5.0


class BackendClient:
    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock,
        policy: Policy | None = None,
        store: SessionStore | None = None,
        timeline: Timeline | None = None,
        auto_wake: bool = True,
        notice_sleep: bool | None = None,
        network: NetworkSwitch | None = None,
        inner_transport: InnerTransportFactory | None = None,
        timeout: float = 10.0,
        call_deadline: float = DEFAULT_CALL_DEADLINE_S,
        fingerprinter: Fingerprinter | None = None,
        lifetime_s: float | None = None,
    ) -> None:
        """`timeout`: httpx's, to connect and between bytes. `call_deadline`: the most any one
        exchange takes, answer read whole (`api.network.BoundedTransport`); past it, no answer."""
        self.base_url = base_url.rstrip("/")
        timeouts = call_timeout(timeout)
        self.network = network or NetworkSwitch()
        self.call_deadline = call_deadline
        tls = httpx.URL(self.base_url).scheme == "https"

        def connection(max_bytes: int = MAX_ANSWER_BYTES) -> httpx.AsyncBaseTransport:
            inner = inner_transport() if inner_transport else http_transport(tls=tls)
            # Bounded just above httpx's own: a QA hold (the switch) is not the server's time.
            bounded = BoundedTransport(inner, deadline_s=call_deadline, max_bytes=max_bytes)
            return WireTransport(self.network.transport(bounded, tls=tls), self.wire)

        self.wire = WireLog(clock, fingerprinter=fingerprinter)  # what went over the wire (the inspector)
        self.port = HttpSessionPort(
            self.base_url,
            transport=connection(MAX_SESSION_ANSWER_BYTES),
            timeout=timeouts,
            fingerprinter=fingerprinter,
        )
        self.manager = SessionManager(
            port=self.port,
            clock=clock,
            policy=policy,
            store=store,
            timeline=timeline,
            auto_wake=auto_wake,
            notice_sleep=notice_sleep,
            # Another instance waits this long for this one's flight before taking it over: longer
            # than the flight's one call may take (rule 14).
            flight_lease_s=call_deadline + LEASE_MARGIN_S,
            lifetime_s=lifetime_s,
        )
        # The session's routes sit below the base URL's path (a backend behind a path prefix).
        self.auth = SessionAuth(self.manager, routes=GatedRoutes.under(httpx.URL(self.base_url).path))
        self.wire.watch(self.manager)
        self.auth.settled = self.wire.settled
        # The connection stack of a domain client (the switch over the bounded transport): the
        # REST and GraphQL clients stand on one each, and so does the benchmark's plain side.
        self.connection: Callable[[], httpx.AsyncBaseTransport] = connection
        self._timeout = timeouts
        self.profile: Profile | None = None
        self.profile_listeners: list[Callable[[Profile | None], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.manager.subscribe(self._on_decision)

    @cached_property
    def rest(self) -> RestClient:
        """Built on first use: the typed REST client brings pydantic, which the countdown needs not."""
        from sessionkeeper.api.rest import RestClient

        return RestClient(self.base_url, self.auth, inner_transport=self.connection(), timeout=self._timeout)

    @cached_property
    def graphql(self) -> GraphQLClient:
        """Built on first use: gql is a tenth of a second of imports the first frame can do without."""
        from sessionkeeper.api.graphql import GraphQLClient

        return GraphQLClient(
            f"{self.base_url}/graphql", self.auth, inner_transport=self.connection(), timeout=self._timeout
        )

    @property
    def username(self) -> str | None:
        """Who holds the session: the signed-in user's name, or None for a guest (or nobody)."""
        if not self.manager.signed_in:
            return None
        name = self.manager.user.get("username")
        return name if isinstance(name, str) else None

    async def start(self) -> None:
        """Resume the stored session or obtain a guest one; a signed-in user's profile then loads
        in the background."""
        await self.manager.start()
        if self.manager.signed_in:
            self._spawn(self.resync_profile())  # not awaited: the countdown need not wait for it

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        await self.manager.close()
        if "graphql" in self.__dict__:
            await self.graphql.aclose()
        if "rest" in self.__dict__:
            await self.rest.aclose()
        await self.port.aclose()

    async def warm_up(self) -> None:
        """Make the REST and GraphQL clients now, off any call's path: their imports, the GraphQL
        documents parsed, and one introspection-only query (ungated: it takes no token and moves
        no deadline) that runs gql's whole path once and opens its connection, so the first fares
        step costs what a warm call costs."""
        from sessionkeeper.api import operations
        from sessionkeeper.api.graphql import prepare

        self.rest  # noqa: B018 - built on first use
        prepare((*operations.ALL, operations.WARM_UP))
        await self.graphql.execute(operations.WARM_UP)

    async def login(self, username: str, password: str) -> Profile | None:
        try:
            await self.manager.login(username, Secret(password))
        except SessionRejected:
            raise LoginFailed("wrong username or password") from None
        except BackendUnavailable as exc:
            if exc.transport:
                raise BackendUnreachable("backend unreachable") from None
            raise BackendFailed(str(exc), 503) from None
        await self.resync_profile()
        return self.profile

    def sign_out(self) -> None:
        self.manager.sign_out()

    async def resync_profile(self) -> Profile | None:
        """Fetch the user's profile again (after a silent re-auth); touches no screen itself."""
        if not self.manager.signed_in:
            self._set_profile(None)
            return None
        try:
            self._set_profile(await self.graphql.me())
        except ApiError as exc:
            # Kept: the old profile stays on screen, and the next re-sync tries again.
            log.warning("profile re-sync failed: %s", type(exc).__name__)
        return self.profile

    def _set_profile(self, profile: Profile | None) -> None:
        self.profile = profile
        for listener in list(self.profile_listeners):
            listener(profile)

    def _on_decision(self, decision: d.Decision) -> None:
        match decision:  # the two on every call's path first
            case (
                d.Proceed()
                | d.DeadlineMoved()
                | d.AwaitFlight()
                | d.StartRefresh()
                | d.StartReauth()
                | d.StartGuestSession()
                | d.Replay()
                | d.GiveUp()
                | d.ShowPrompt()
                | d.WarningWindow()
                | d.HidePrompt()
                | d.DiscardSession()
                | d.TTLLowered()
                | d.RefreshRetryScheduled()
                | d.SessionLapsed()
                | d.ConnectivityChanged()
                | d.BackgroundEnded()
                | d.LifetimeWarning()
            ):
                pass  # the profile follows only who holds the session
            case d.ResyncProfile():
                self._spawn(self.resync_profile())
            case d.SignOut():
                self._set_profile(None)
            case d.SessionShared(kind=kind):
                # Another instance's session (rule 14): the profile follows whoever now holds it.
                if kind is SessionKind.GUEST:
                    self._set_profile(None)
                elif self.profile is None or self.profile.username != self.username:
                    self._spawn(self.resync_profile())
            case _:
                assert_never(decision)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for any flight and any profile re-sync in progress (tests, QA actions)."""
        await self.manager.wait_for_flight()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
