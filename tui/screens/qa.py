"""The QA panel: the client's estimate beside the server's truth, the event timeline, and every
edge case one key away (skip ahead, background, faults, revoke, offline, burst, reset).

Keys pressed here are QA, not user activity, and the panel keeps the flow kind of the screen it
covers: opening it must not change what the session rules do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static

from api.errors import ApiError
from tui.screens.base import AppScreen
from tui.widgets.countdown import format_remaining

AMOUNTS = (10, 30, 60, 300, 900, 3600)
KEYS = (
    "[b]time[/b] k skip N · w to warning · x past expiry · g background N · +/- change N   "
    "[b]faults[/b] e refresh 503 · j refresh 401 · l latency · d down · a GraphQL 401/200 · "
    "t server TTL/2 · m malformed answers   [b]session[/b] v revoke · o offline · u burst N · "
    "y burst at expiry · 0 reset · Esc close"
)


class QAPanel(AppScreen):
    QA_TOOL = True  # the app does not count keys pressed here as user activity
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("plus,equals_sign", "amount(1)", "N+", key_display="+"),
        Binding("minus", "amount(-1)", "N-", key_display="-"),
        Binding("k", "skip", "Skip N"),
        Binding("w", "to_warning", "To warning"),
        Binding("x", "to_expiry", "Past expiry"),
        Binding("g", "background", "Background N"),
        Binding("e", "fault_refresh('error')", "Refresh 503"),
        Binding("j", "fault_refresh('reject')", "Refresh 401"),
        Binding("l", "latency", "Latency"),
        Binding("d", "down", "Down"),
        Binding("a", "auth_style", "GQL 401/200"),
        Binding("t", "short_ttl", "Server TTL/2"),
        Binding("v", "revoke", "Revoke"),
        Binding("o", "offline", "Offline"),
        Binding("u", "burst", "Burst N"),
        Binding("y", "burst_at_expiry", "Burst at expiry"),
        Binding("m", "garble", "Malformed"),
        Binding("0", "reset", "Reset"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.amount_index = 1
        self.server: dict[str, Any] = {}
        self.last_action = "F2 or Esc closes this panel. Keys here are QA, not user activity."

    @property
    def amount(self) -> int:
        return AMOUNTS[self.amount_index]

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="qa"):
            with Horizontal(id="qa-columns"):
                yield Static("", id="qa-client", classes="qa-box")
                yield Static("", id="qa-server", classes="qa-box")
            yield Static(KEYS, id="qa-keys")
            yield Static("", id="qa-action")
            yield Static("", id="qa-timeline")

    def on_mount(self) -> None:
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        self.ACTIVE_FLOW = bool(getattr(below, "ACTIVE_FLOW", False))
        self.poll = self.set_interval(1.0, self.poll_server)
        self.poll_server()
        self.redraw()

    def on_screen_resume(self) -> None:
        self.keeper.refresh_chrome(self)  # no FlowEntered: the panel keeps the covered screen's kind

    @work(exclusive=True, group="qa-poll")
    async def poll_server(self) -> None:
        try:
            self.server = await self.keeper.qa_state()
        except Exception as exc:  # the panel must keep working while the backend is down
            self.server = {"error": f"{type(exc).__name__}"}
        self.redraw()

    def redraw(self) -> None:
        client = self.keeper.client
        if client is None or not self.is_mounted:
            return
        manager = client.manager
        view = manager.view()
        engine = manager.engine
        lines = [
            "[b]Client estimate[/b]",
            f"state       {view.state.value}{' (offline)' if view.offline else ''}",
            f"kind        {view.kind.value if view.kind else '-'}  {self.keeper.username or ''}",
            f"remaining   {format_remaining(view.remaining_s)}  ({view.remaining_s or 0:.1f} s)",
            f"TTL est.    {engine.ttl_s:.1f} s   warn {view.warn_s:.0f} s",
            f"token       gen {view.generation}  {manager.token_fingerprint or '-'}",
            f"prompt      {'shown' if view.prompt_visible else '-'}",
            f"flight      {view.flight.value if view.flight else '-'}",
            f"network     {'online' if client.network.online else 'OFFLINE (switch)'}",
            f"N           {self.amount} s   (+/- to change)",
        ]
        self.query_one("#qa-client", Static).update("\n".join(lines))
        self.query_one("#qa-server", Static).update(self._server_text(view.remaining_s))
        self.query_one("#qa-action", Static).update(self.last_action)
        entries = list(manager.timeline)[-14:]
        start = entries[0].at if entries else 0.0
        timeline = ["[b]Timeline[/b] (latest last; also in timeline.jsonl)"]
        for entry in entries:
            detail = " ".join(f"{k}={v}" for k, v in entry.detail.items())
            timeline.append(f"+{entry.at - start:7.1f}s  {entry.name:<22} {detail}"[:118])
        self.query_one("#qa-timeline", Static).update("\n".join(timeline))

    def _server_text(self, client_remaining: float | None) -> str:
        if "error" in self.server:
            return f"[b]Server truth[/b]\nunreachable: {self.server['error']}"
        if not self.server:
            return "[b]Server truth[/b]\nloading…"
        session = self._current_session()
        faults = self.server.get("faults", {})
        counters = self.server.get("counters", {})
        lines = ["[b]Server truth[/b] (/__qa/state)"]
        if session is None:
            lines.append("session     none alive")
        else:
            server_left = float(session.get("expires_in_s", 0.0))
            drift = server_left - (client_remaining or 0.0)
            lines += [
                f"session     {session.get('id')} {session.get('kind')} {session.get('user') or ''}",
                f"remaining   {format_remaining(server_left)}  ({server_left:.1f} s)",
                f"drift       {drift:+.1f} s  (server - client; >= 0 unless the TTL is wrong)",
            ]
        lines += [
            f"TTL         {self.server.get('ttl_s')} s",
            "faults      " + " ".join(f"{k}={v}" for k, v in faults.items()),
            "counters    " + " ".join(f"{k}={v}" for k, v in counters.items() if v),
        ]
        return "\n".join(lines)

    def _current_session(self) -> dict[str, Any] | None:
        """The server's record of our session: tokens are never shown, so match by who and freshness."""
        sessions = [s for s in self.server.get("sessions", []) if not s.get("revoked") and not s.get("ended")]
        user = self.keeper.username
        mine = [s for s in sessions if (s.get("user") == user if user else s.get("kind") == "guest")]
        return max(mine, key=lambda s: float(s.get("expires_in_s", 0.0)), default=None)

    def note(self, text: str) -> None:
        self.last_action = f"{time.strftime('%H:%M:%S')}  {text}"
        self.redraw()
        self.keeper.refresh_chrome(self)

    # -- actions ----------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_amount(self, step: int) -> None:
        self.amount_index = max(0, min(len(AMOUNTS) - 1, self.amount_index + step))
        self.note(f"N = {self.amount} s")

    async def skip(self, seconds: float) -> None:
        """Move the client's clock and the server's together."""
        self.keeper.clock.skip_ahead(seconds)
        await self.keeper.qa_post("/__qa/clock", {"advance_s": seconds})
        self.keeper.require_client().manager.clock_jumped()

    async def action_skip(self) -> None:
        await self.skip(self.amount)
        self.note(f"skipped ahead {self.amount} s on both clocks")

    async def action_to_warning(self) -> None:
        view = self.keeper.require_client().manager.view()
        if view.remaining_s is None:
            return
        seconds = max(0.0, view.remaining_s - view.warn_s + 0.5)
        await self.skip(seconds)
        self.note(f"skipped {seconds:.1f} s: into the warning window")

    async def action_to_expiry(self) -> None:
        view = self.keeper.require_client().manager.view()
        seconds = (view.remaining_s or 0.0) + 1.0
        await self.skip(seconds)
        self.note(f"skipped {seconds:.1f} s: past the deadline")

    async def action_background(self) -> None:
        manager = self.keeper.require_client().manager
        manager.background()
        await self.skip(self.amount)
        manager.resume()
        self.note(f"backgrounded for {self.amount} s, then resumed")

    async def fault(self, **faults: Any) -> dict[str, Any]:
        return await self.keeper.qa_post("/__qa/faults", faults)

    def _faults(self) -> dict[str, Any]:
        faults: dict[str, Any] = self.server.get("faults", {})
        return faults

    async def action_fault_refresh(self, mode: str) -> None:
        new = "ok" if self._faults().get("refresh") == mode else mode
        self.server["faults"] = await self.fault(refresh=new)
        self.note(f"fault refresh = {new}")

    async def action_latency(self) -> None:
        new = 0 if self._faults().get("latency_ms") else 1500
        self.server["faults"] = await self.fault(latency_ms=new)
        self.note(f"fault latency = {new} ms")

    async def action_down(self) -> None:
        new = not self._faults().get("down", False)
        self.server["faults"] = await self.fault(down=new)
        self.note(f"fault down = {new}")

    async def action_auth_style(self) -> None:
        new = "extensions" if self._faults().get("graphql_auth_error") == "http" else "http"
        self.server["faults"] = await self.fault(graphql_auth_error=new)
        self.note(f"GraphQL auth error style = {new}")

    async def action_short_ttl(self) -> None:
        full = self.keeper.settings.ttl_s
        current = float(self.server.get("ttl_s", full))
        new = full if current < full else full / 2
        await self.fault(ttl_s=new)
        self.note(f"server TTL = {new:g} s (the client is not told)")

    async def action_revoke(self) -> None:
        answer = await self.keeper.qa_post("/__qa/revoke", {"all": True})
        self.note(f"revoked server-side: {answer.get('revoked')}")

    def action_offline(self) -> None:
        client = self.keeper.require_client()
        client.network.online = not client.network.online
        self.note(
            "client OFFLINE: requests fail in transport" if not client.network.online else "client online"
        )

    def action_garble(self) -> None:
        client = self.keeper.require_client()
        client.network.garble = not client.network.garble
        self.note("backend answers are now MALFORMED" if client.network.garble else "backend answers normal")

    async def action_burst_at_expiry(self) -> None:
        """Both clocks to just past the client's deadline (the server still holds the session a
        second longer, as it would), then the burst, before the client's own wake-up runs."""
        client = self.keeper.require_client()
        remaining = client.manager.view().remaining_s
        if remaining is None:
            return
        self.keeper.clock.skip_ahead(remaining + 0.5)
        await self.keeper.qa_post("/__qa/clock", {"advance_s": max(0.0, remaining - 1.0)})
        self.action_burst()

    @work(exclusive=True, group="qa-burst")
    async def action_burst(self) -> None:
        client = self.keeper.require_client()
        n = self.amount
        before = self.server.get("counters", {}).get("refreshes", 0)
        calls = [client.rest.whoami() if i % 2 == 0 else client.graphql.me() for i in range(n)]
        self.note(f"burst of {n} calls (REST and GraphQL) in flight…")
        results = await asyncio.gather(*calls, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        state = await self.keeper.qa_state()
        refreshes = state.get("counters", {}).get("refreshes", 0) - before
        kinds = sorted({type(r).__name__ for r in failed})
        self.note(
            f"burst of {n}: {n - len(failed)} ok, {len(failed)} failed {kinds or ''}; "
            f"server refreshes +{refreshes}"
        )

    async def action_reset(self) -> None:
        try:
            await self.keeper.qa_post("/__qa/reset", {})
        except ApiError as exc:
            self.note(f"reset failed: {exc}")
            return
        self.keeper.require_client().network.online = True
        self.note("server reset: sessions, counters and faults back to the start")
