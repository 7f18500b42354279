"""The QA desk: carries out the QA actions (`sessionkeeper.api.qa.actions`) on both sides, the
client (its QA clock, the session manager, the network switch) and the server (through
`QAControl`)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sessionkeeper.api.errors import ApiError
from sessionkeeper.api.network import Scope
from sessionkeeper.api.qa.actions import ACTIONS_BY_NAME, AMOUNTS, LOST_ANSWER_RATE, SCOPES, SLOW_CALLS_S
from sessionkeeper.api.qa.control import QAControl
from sessionkeeper.api.qa.stop import stop_process
from sessionkeeper.session.clock import runs_in_real_time

# A skip that crosses more wake-ups than this (a refresh at every warning for days) goes on as one jump.
MAX_WAKEUPS_PER_SKIP = 200
FREEZE_STOP_S = 1.0  # the real stop of a freeze: the rest of its N is added to the clocks

if TYPE_CHECKING:
    from sessionkeeper.api.client import BackendClient
    from sessionkeeper.session.clock import QAClock
    from sessionkeeper.session.secrets import Secret


class QADesk:
    """Carries out the QA actions on both sides: the client (its QA clock, the session manager, the
    network switch) and the server (through `QAControl`). The server is asked first, so an action
    the server refuses or cannot hear moves nothing on the client either."""

    def __init__(
        self,
        control: QAControl,
        client: BackendClient,
        clock: QAClock,
        *,
        full_ttl_s: float,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.control = control
        self.client = client
        self.clock = clock
        self.full_ttl_s = full_ttl_s
        self.amount_index = 1  # N = 30: kept for the life of the app, not per panel
        self.scope_index = 0  # where a fault switched on from the panel applies: everywhere
        self._where = Scope()  # the scope of the action running now (`run`)
        self._own: tuple[Secret, str] | None = None  # the token asked about, and its session's id
        self._on_change = on_change or (lambda: None)
        # Told of each action done (its name, N if it takes one, a switch's state after it, the
        # scope a fault was turned on with): the scenario recorder writes them down
        # (tui.scenario.record).
        self.listeners: list[Callable[[str, float | None, bool | None, Scope | None], None]] = []
        self._switched: bool | None = None  # the state the last switch action left
        self.burst_running = False
        self.burst_answered = self.burst_size = 0  # progress of the burst in flight

    @property
    def amount(self) -> int:
        return AMOUNTS[self.amount_index]

    def change_amount(self, step: int) -> int:
        self.amount_index = max(0, min(len(AMOUNTS) - 1, self.amount_index + step))
        return self.amount

    @property
    def scope(self) -> Scope:
        """Where the next fault switched on from the panel applies."""
        return SCOPES[self.scope_index]

    def next_scope(self) -> Scope:
        self.scope_index = (self.scope_index + 1) % len(SCOPES)
        return self.scope

    async def run(
        self, name: str, amount: float | None = None, on: bool | None = None, scope: Scope | None = None
    ) -> str:
        """Run the action called `name`; what happened, in one line. `scope`: where a fault it turns
        on applies (by default, the panel's). Raises KeyError for an unknown name, ValueError for a
        bad amount or a scope on an action that takes none, and ApiError when the server could not
        do it."""
        action = ACTIONS_BY_NAME[name]
        n = float(self.amount if amount is None else amount)
        if action.amount and not (math.isfinite(n) and n >= 0):
            raise ValueError(f"{name}: N must be a non-negative number, got {amount!r}")
        if scope is not None and action.fault is None:
            raise ValueError(f"{name}: not a fault, so it takes no rate or path")
        self._switched = None
        self._where = self.scope if scope is None else scope
        try:
            words = await action.run(self, n, on)
        finally:
            self._on_change()
        where = self._where if action.fault is not None and self._switched else None
        for listener in list(self.listeners):
            listener(
                name,
                n if action.amount else None,
                self._switched if action.switch else None,
                None if where is None or where.everywhere else where,
            )
        return words

    def _server_scope(self, fault: str, turn_on: bool) -> dict[str, dict[str, dict[str, float | str]]]:
        """The `scopes` field of /__qa/faults for a server fault turned on (nothing when off)."""
        return {"scopes": {fault: self._where.as_json()}} if turn_on else {}

    # -- time --------------------------------------------------------------------------------------

    async def skip(self, seconds: float) -> str:
        """Time passes with the app awake: both clocks go to each moment the session has work at
        (the warning, a retry, the deadline) in turn, and that work is done there, its calls
        answered at that moment, before the clocks go on."""
        manager, left, fired = self.client.manager, seconds, 0
        for _ in range(MAX_WAKEUPS_PER_SKIP):
            due = manager.next_wakeup()
            if due is None or due - self.clock.now() > left:
                break
            step = max(0.0, due - self.clock.now())
            await self._skip_both(step, step)
            left -= step
            fired += 1
            await self._settled_or_held()  # a refresh it started lands at its moment, not at the end
        await self._skip_both(left, left)
        woke = f"; {fired} wake-up{'s' if fired != 1 else ''} fired on the way" if fired else ""
        return f"skipped ahead {seconds:g} s on both clocks{woke}"

    async def _settled_or_held(self) -> None:
        """Until the flight and the re-syncs in progress are done, or one of them is held at a
        breakpoint: then time goes on while it is held (the tester decides it later)."""
        settling = asyncio.ensure_future(self.client.settle())
        while not settling.done():
            if self.client.wire.holds:
                settling.add_done_callback(lambda t: t.cancelled() or t.exception())
                return
            await asyncio.wait({settling}, timeout=0.02)
        settling.result()

    async def sleep(self, seconds: float) -> str:
        """The machine sleeps: nothing of the app runs, and on waking its clock has jumped (the
        session's clock counts the sleep, the event loop's does not), with no wake-up fired on
        the way. The app is not told: it finds out from its clocks."""
        await self.control.advance_clock(seconds)  # the server is another machine: awake
        self.clock.sleep(seconds)
        return f"the machine slept {seconds:g} s: nothing ran, and the app finds out on waking"

    async def freeze(self, seconds: float) -> str:
        """The process is stopped (SIGSTOP) and continued (SIGCONT) `seconds` later, as far as its
        clocks can tell: stopped for real for at most `FREEZE_STOP_S`, the rest added to both
        clocks as it stops. The app is not told: it finds out from the gap."""
        real = runs_in_real_time(self.clock)  # a fake clock (the scenario runner's) sees no real time
        stop_s = min(seconds, FREEZE_STOP_S)
        rest = seconds - (stop_s if real else 0.0)
        await self.control.advance_clock(rest)
        how = await stop_process(
            stop_s,
            # Right before the stop, so that nothing of the app sees the clock before it.
            just_before=lambda: self.clock.skip_ahead(rest),
            continued=self.client.manager.continued,
        )
        return f"the process was stopped {seconds:g} s ({how}); the app finds out from the gap"

    async def _skip_both(self, client_s: float, server_s: float) -> None:
        await self.control.advance_clock(max(0.0, server_s))
        self.clock.skip_ahead(max(0.0, client_s))
        self.client.manager.clock_jumped()

    async def to_warning(self) -> str:
        view = self.client.manager.view()
        if view.remaining_s is None or view.remaining_s <= 0:
            return "no live session to skip in: nothing done"
        seconds = max(0.0, view.remaining_s - view.warn_s + 0.5)
        await self._skip_both(seconds, seconds)
        return f"skipped {seconds:.1f} s: into the warning window"

    async def past_expiry(self) -> str:
        view = self.client.manager.view()
        seconds = (view.remaining_s or 0.0) + 1.0
        await self._skip_both(seconds, seconds)
        return f"skipped {seconds:.1f} s: past the deadline"

    async def background(self, seconds: float) -> str:
        await self.go_away(seconds)
        self.come_back(seconds)
        return f"backgrounded for {seconds:g} s, then came back"

    async def go_away(self, seconds: float) -> None:
        """The first half of `background`: the app in the background (the countdown paused), the
        server's clock already `seconds` ahead. A live demo shows the pause between the halves."""
        # The server's clock first: if it cannot be moved, the client is not left backgrounded.
        await self.control.advance_clock(seconds)
        self.client.manager.background()

    def come_back(self, seconds: float) -> None:
        """The second half: the client's clock catches up with the server's, and the app returns."""
        self.clock.skip_ahead(seconds)
        self.client.manager.resume()
        self._on_change()

    # -- faults and switches --------------------------------------------------------------------------

    async def refresh_fault(self, mode: str, on: bool | None) -> str:
        current = (await self.control.faults()).refresh
        turn_on = (current != mode) if on is None else on
        new = mode if turn_on else "ok"
        await self.control.set_faults(refresh=new, **self._server_scope("refresh", turn_on))
        self._switched = turn_on
        words = {"ok": "answers normally", "error": "answers 503", "reject": "answers 401"}
        return f"fault: refresh {words[new]}" + (self._where.words if turn_on else "")

    async def latency(self, on: bool | None) -> str:
        current = (await self.control.faults()).latency_ms
        turn_on = (current == 0) if on is None else on
        await self.control.set_faults(
            latency_ms=1500 if turn_on else 0, **self._server_scope("latency", turn_on)
        )
        self._switched = turn_on
        if turn_on:
            return "fault: 1.5 s latency" + (self._where.words or " on every answer")
        return "fault cleared: no latency"

    async def down(self, on: bool | None) -> str:
        current = (await self.control.faults()).down
        turn_on = (not current) if on is None else on
        await self.control.set_faults(down=turn_on, **self._server_scope("down", turn_on))
        self._switched = turn_on
        if turn_on:
            return "fault: backend DOWN: 503" + (self._where.words or " everywhere")
        return "fault cleared: backend up"

    async def graphql_style(self, on: bool | None) -> str:
        current = (await self.control.faults()).graphql_auth_error
        turn_on = (current != "http") if on is None else on
        await self.control.set_faults(graphql_auth_error="http" if turn_on else "extensions")
        self._switched = turn_on
        return (
            "GraphQL auth errors now answer HTTP 401"
            if turn_on
            else "GraphQL auth errors now answer 200 + UNAUTHENTICATED"
        )

    async def short_ttl(self, on: bool | None) -> str:
        current = (await self.control.faults()).ttl_s
        turn_on = (current >= self.full_ttl_s) if on is None else on
        new = self.full_ttl_s / 2 if turn_on else self.full_ttl_s
        await self.control.set_faults(ttl_s=new)
        self._switched = turn_on
        return f"server TTL = {new:g} s (the client is not told)"

    async def malformed(self, on: bool | None) -> str:
        network = self.client.network
        network.garble = self._switched = (not network.garble) if on is None else on
        if network.garble:
            network.narrow("garble", self._where)
            return "the backend's answers now arrive MALFORMED" + self._where.words
        return "answers normal again"

    async def offline(self, on: bool | None) -> str:
        network = self.client.network
        network.online = (not network.online) if on is None else not on
        self._switched = not network.online
        if not network.online:
            network.narrow("offline", self._where)
            return "client OFFLINE: calls fail in transport" + self._where.words
        return "client back online"

    async def slow_calls(self, on: bool | None) -> str:
        network = self.client.network
        turn_on = (network.hold_s == 0) if on is None else on
        network.hold_s = SLOW_CALLS_S if turn_on else 0.0
        self._switched = turn_on
        if turn_on:
            network.narrow("slow", self._where)
            where = self._where.words
            return f"calls now wait {SLOW_CALLS_S:g} s before they leave{where} (session calls do not)"
        return "calls leave at once again"

    async def lose_answer(self) -> str:
        self.client.network.lose_next += 1
        return (
            "the next call's answer will be lost on its way back: the server takes it, the client never hears"
        )

    async def lose_answers(self, on: bool | None) -> str:
        network = self.client.network
        turn_on = (not network.losing) if on is None else on
        network.losing = self._switched = turn_on
        if turn_on:
            # Every answer lost would be a cut link: unnarrowed, it is 30 % of them.
            where = self._where if not self._where.everywhere else Scope(LOST_ANSWER_RATE)
            self._where = where
            network.narrow("lose", where)
            return f"answers now lost on their way back{where.words} (the server takes the calls)"
        return "answers reach the client again"

    # -- breakpoints (api.wire) -------------------------------------------------------------------------

    async def hold(self, phase: str, target: str, nth: int = 1) -> str:
        from sessionkeeper.api.wire import Breakpoint

        self.client.wire.arm(Breakpoint(phase, target, max(1, nth)))
        what = {"call": "call", "flight": "refresh or re-auth", "any": "request"}[target]
        if nth > 1:
            return f"call {nth} from now will be held before it leaves (r release, q abort, 4/5/6 answer)"
        if phase == "out":
            return f"the next {what} will be held before it leaves (r release, q abort, 4/5/6 answer)"
        return f"the next {what}'s answer will be held once the server answered (r release, q abort, 4/5/6)"

    async def decide(self, kind: str, status: int = 0) -> str:
        from sessionkeeper.api.wire import Decision

        decision = Decision(kind, status)
        exchange = self.client.wire.decide(decision)
        if exchange is None:
            return "no request is held: nothing done"
        words = decision.words(exchange.held or "out")
        return f"#{exchange.number} {exchange.method} {exchange.path}: {words}"

    # -- the session -------------------------------------------------------------------------------------

    async def own_session_id(self) -> str | None:
        """The server's id of the session this client holds (asked once per token): the panel
        shows that session, and revoke ends that one, never another window's."""
        manager = self.client.manager
        token = manager.token
        if token is None:
            return None
        if self._own is not None and self._own[0] is token:
            return self._own[1]
        found = await self.control.whose(token)
        if found is not None:
            self._own = (token, found)
        return found

    async def revoke(self) -> str:
        mine = await self.own_session_id()
        if mine is None:
            return "revoke: this window holds no live session on the server; nothing done"
        revoked = await self.control.revoke(mine)
        return f"revoked server-side: this window's session {', '.join(revoked) or mine + ' (already ended)'}"

    async def reset(self) -> str:
        await self.control.reset()
        network = self.client.network
        network.online, network.garble, network.hold_s, network.losing = True, False, 0.0, False
        network.scopes.clear()
        return "server reset: sessions, counters and faults back to the start; client online"

    async def burst_at_expiry(self, n: int) -> str:
        """Both clocks to just past the client's deadline (the server still holds the session a
        second longer, as it would), then the burst, before the client's own wake-up runs."""
        remaining = self.client.manager.view().remaining_s
        if remaining is None:
            return "no session to burst at: nothing done"
        await self.control.advance_clock(max(0.0, remaining - 1.0))
        self.clock.skip_ahead(remaining + 0.5)
        return await self.burst(n)

    async def burst(self, n: int) -> str:
        """N calls at once, half REST and half GraphQL; one timeline entry sums them up."""
        if self.burst_running:
            return "a burst is already running"
        client = self.client
        before = (await self.control.state()).counters.get("refreshes", 0)
        self.burst_running, self.burst_answered, self.burst_size = True, 0, n
        self._on_change()

        async def one(call: Awaitable[object]) -> object:
            try:
                return await call
            finally:
                self.burst_answered += 1

        try:
            with client.manager.timeline.summarising("burst", calls=n):
                results = await asyncio.gather(
                    *(one(client.rest.whoami() if i % 2 == 0 else client.graphql.me()) for i in range(n)),
                    return_exceptions=True,
                )
        finally:
            self.burst_running = False
        failed = [r for r in results if isinstance(r, BaseException)]
        kinds = sorted({type(r).__name__ for r in failed})
        try:
            refreshes = f"+{(await self.control.state()).counters.get('refreshes', 0) - before}"
        except ApiError:
            refreshes = "unknown (the server did not answer)"
        failures = f"{len(failed)} failed {kinds}" if failed else "0 failed"
        return f"burst of {n}: {n - len(failed)} ok, {failures}; server refreshes {refreshes}"
