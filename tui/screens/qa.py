"""The QA panel: the client's estimate beside the server's truth, the event timeline, and every
edge case one key away (api.qa.actions: skip ahead, background, faults, revoke, offline, burst,
reset).

Keys pressed here are QA, not user activity, and the panel keeps the flow kind of the screen it
covers: opening it must not change what the session rules do. A QA action that the server cannot
carry out (down, slow, gone) says so here, and the panel stays open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from sessionkeeper.api.errors import ApiError
from sessionkeeper.api.qa.actions import ACTIONS, ACTIONS_BY_NAME
from sessionkeeper.api.qa.control import ServerState
from sessionkeeper.tui import wording
from sessionkeeper.tui.messages import GoBack, PinExpectation
from sessionkeeper.tui.screens.base import AppScreen, is_active_flow, screen_work
from sessionkeeper.tui.widgets.line_box import LineBox, update_in_place
from sessionkeeper.tui.widgets.remaining_chart import RemainingChart

_TIMELINE = "Timeline"
_HEADINGS = (_TIMELINE,)
CHART_MIN_HEIGHT = 36  # terminal rows from which the chart is shown (it takes 10)
CONFIRM_S = 5.0  # a whole-server action's second press, within this, does it
# Pairs of actions listed as one ("e/j refresh 503/401"): three lines must do at 80x24.
_PAIRED = {
    "refresh_503": ("refresh_401", "refresh 503/401"),
    "lose_answer": ("lose_answers", "lose 1/30%"),
    "burst": ("burst_at_expiry", "burst N/at expiry"),
}


def _key_help() -> str:
    second = {pair for pair, _ in _PAIRED.values()}
    items = []
    for action in ACTIONS:
        if not action.listed or action.name in second:
            continue
        if action.name in _PAIRED:
            other, words = _PAIRED[action.name]
            items.append(f"[b]{action.shown_key}/{ACTIONS_BY_NAME[other].shown_key}[/b] {words}")
        else:
            items.append(f"[b]{action.shown_key}[/b] {action.short}")
    return "  ".join(items)  # N (+/-) and where (%) are in the footer


KEY_HELP = _key_help()


def _qa_bindings() -> list[BindingType]:
    bindings: list[BindingType] = [
        Binding("escape", "close", "Close", priority=True),
        Binding("plus,equals_sign", "amount(1)", "N+", key_display="+"),
        Binding("minus", "amount(-1)", "N-", key_display="-"),
        Binding("percent_sign", "where", "Where", key_display="%"),
        Binding("p", "pin", "Expect this"),  # only while recording a scenario
        Binding("i", "inspect", "Requests"),
    ]
    # Every action has its key; the footer shows only the few above, the panel lists them all.
    bindings += [Binding(a.key, f"qa('{a.name}')", a.title.removeprefix("QA: "), show=False) for a in ACTIONS]
    return bindings


class QAPanel(AppScreen):
    QA_TOOL = True
    BINDINGS: ClassVar[list[BindingType]] = _qa_bindings()

    def __init__(self) -> None:
        super().__init__()
        self.server: ServerState | None = None
        self.server_problem: str | None = None
        self.client_remaining_at_poll: float | None = None  # the client's side of the drift
        self.own_session: str | None = None  # this window's session's id on the server, once known
        self._armed: tuple[str, float] | None = None  # a whole-server action pressed once, and when
        self.last_action = "Keys here are QA, not user activity. F2 or Esc closes the panel."
        if self.keeper.last_qa_result is not None:
            self.last_action = f"last QA action: {self.keeper.last_qa_result}"
        self._shown: dict[str, str] = {}  # what each box shows now
        self._polling = False  # a poll of the server is out
        self._boxes: tuple[Widget, ...] = ()  # what `redraw` draws into, once composed

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="qa"):
            with Horizontal(id="qa-columns"):
                client = LineBox(id="qa-client", classes="qa-box")
                client.border_title = "Client estimate"
                yield client
                server = LineBox(id="qa-server", classes="qa-box")
                server.border_title = "Server truth (/__qa/state)"
                yield server
            chart = RemainingChart(id="qa-chart")
            yield chart
            yield Static(KEY_HELP, id="qa-keys")
            action = Static("", id="qa-action")
            yield action
            timeline = Static("", id="qa-timeline")
            yield timeline
        self._boxes = (client, server, chart, action, timeline)

    def mounted(self) -> None:
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        self.ACTIVE_FLOW = is_active_flow(below)
        self._fit_chart()
        self.poll_server()
        self.redraw()

    def on_resize(self) -> None:
        self._fit_chart()
        self.redraw()

    def _fit_chart(self) -> None:
        # The chart where there is room for it: in a small terminal the timeline matters more.
        self.query_one("#qa-chart").display = self.app.size.height >= CHART_MIN_HEIGHT

    def ticked(self) -> None:
        # Once a second, with the countdown: ask the server, and draw both sides when it answers,
        # so they show one moment. While a poll is still out (a slow server), the client's side
        # is drawn now, so it stays live.
        if self._polling:
            self.redraw()
        self.poll_server()

    @screen_work(group="qa-poll")
    async def poll_server(self) -> None:
        """Read the server's truth, and show it with the client's side of the same moment."""
        qa = self.keeper.qa
        if qa is None:
            return
        self._polling = True
        try:
            server = await self.outcome(qa.control.state())
            self.own_session = await self.outcome(qa.own_session_id())
        except ApiError as exc:  # the panel keeps working while the backend is down
            self.server_problem = wording.qa_server_problem(exc)
        else:
            self.server, self.server_problem = server, None
            # The drift compares the two sides at one moment: the client's remaining time is
            # read as the server's answer lands, not when the panel is next drawn.
            client = self.keeper.client
            self.client_remaining_at_poll = client.manager.view().remaining_s if client else None
            session = server.live_session(client.username if client else None, self.own_session)
            self.keeper.history.server_seen(session.expires_in_s if session is not None else None)
        finally:
            self._polling = False
        self.redraw()

    # -- drawing ------------------------------------------------------------------------------------

    def redraw(self) -> None:
        client = self.keeper.client
        qa = self.keeper.qa
        # A poll or an action can finish while the panel is not all there: its boxes not yet
        # mounted (they nest, and come one level at a time; one can be attached to its parent
        # before a query finds it), or being removed (one by one), or the app ending. Then there is
        # nothing to draw; the panel draws once mounted, and shows what was noted.
        if client is None or qa is None or not self._boxes_there():
            return
        manager = client.manager
        view = manager.view()
        retry = f"in {view.retry_at - self.keeper.now():.0f} s" if view.retry_at is not None else "-"
        switch = client.network
        network = "online" if switch.online else f"OFFLINE {switch.scope('offline').short}"
        if switch.garble:
            network += f" · MALFORMED {switch.scope('garble').short}"
        if switch.losing:
            network += f" · lost {switch.scope('lose').short}"
        lines = [
            # The switch first: the link is what the last call learned, and none may have gone yet.
            f"state      {view.state.value} · link "
            + ("offline (QA switch)" if switch.offline_everywhere else view.link.value),
            f"holder     {view.kind.value if view.kind else '-'} {client.username or ''}",
            f"remaining  {wording.format_remaining(view.remaining_s)}  ({view.remaining_s or 0:.1f} s)",
            f"TTL est.   {view.ttl_s:.1f} s · warn {view.warn_s:.1f} s",
            f"token      gen {view.generation} {manager.token_fingerprint or '-'}",
            f"prompt     {'shown' if view.prompt_visible else '-'} · flight "
            f"{view.flight.value if view.flight else '-'} · retry {retry}",
            f"network    {network}",
            f"N · where  {qa.amount} · {qa.scope.short}",
        ]
        shared = manager.shared
        if shared is not None:
            lines += wording.instance_lines(shared.peers(), shared.lock_problem)
        self.query_one("#qa-client", LineBox).show("\n".join(lines))
        self.query_one("#qa-server", LineBox).show(
            self._server_text(self.client_remaining_at_poll, client.username)
        )
        action = self.last_action
        if qa.burst_running:
            action = f"burst in flight: {qa.burst_answered} of {qa.burst_size} answered…"
        self._show("#qa-action", action)
        self._show("#qa-timeline", self._timeline_text())
        chart = self.query_one("#qa-chart", RemainingChart)
        if chart.display:
            chart.show(list(self.keeper.history.samples), view.ttl_s)

    def _boxes_there(self) -> bool:
        return bool(self._boxes) and all(box.is_mounted and box.is_attached for box in self._boxes)

    def _show(self, selector: str, text: str) -> None:
        """Update a box only when its text changed (the panel redraws every second). The text is
        shown as it is, never read as markup: it quotes the server and exceptions ("failed
        ['BackendUnreachable']"), and a line cut short can end in a lone "[". Its first line is a
        heading when it starts with one (`_HEADINGS`)."""
        if self._shown.get(selector) == text:
            return
        first = selector not in self._shown
        self._shown[selector] = text
        heading = next((h for h in _HEADINGS if text.startswith(h)), None)
        visual = Content.assemble((heading, "bold"), text[len(heading) :]) if heading else Content(text)
        update_in_place(self.query_one(selector, Static), visual, layout=first)

    def _server_text(self, client_remaining: float | None, username: str | None) -> str:
        lines: list[str] = []
        if self.server_problem is not None:
            lines.append(self.server_problem)
        if self.server is None:
            return "\n".join([*lines, "" if self.server_problem else "loading…"])
        state = self.server
        session = state.live_session(username, self.own_session)
        if session is None:
            lines += ["session    no live session on the server", "remaining  -", "drift      -"]
        else:
            left = session.expires_in_s
            mine = " (ours)" if session.id == self.own_session else ""  # short: half of 80 columns
            lines += [
                f"session    {session.id} {session.kind} {session.user or ''}{mine}",
                f"remaining  {wording.format_remaining(left)}  ({left:.1f} s)",
            ]
            if session.lifetime_left_s is not None:
                cap = f" of {wording.format_long(state.lifetime_s)}" if state.lifetime_s is not None else ""
                life = max(0.0, session.lifetime_left_s)
                lines.append(f"lifetime   {wording.format_long(life)} left{cap}")
            if client_remaining:
                drift = session.expires_in_s - client_remaining
                lines.append(f"drift      {drift:+.1f} s (server-client)")
            else:
                lines.append("drift      - (no live session on the client)")
        f = state.faults

        def where(fault: str) -> str:
            scope = f.scopes.get(fault)
            return f" {scope.short}" if scope is not None else ""

        faults = [
            f"refresh {f.refresh}" + (where("refresh") if f.refresh != "ok" else ""),
            f"latency {f.latency_ms} ms{where('latency')}" if f.latency_ms else "",
            f"DOWN{where('down')}" if f.down else "",
            "gql 401" if f.graphql_auth_error == "http" else "",
        ]
        alive = [s for s in state.sessions if s.alive]
        lines += [
            "live       " + (", ".join(f"{s.id} {s.user or s.kind}" for s in alive) or "none"),
            f"TTL        {state.ttl_s:g} s",
            "faults     " + (" · ".join(x for x in faults if x)),
            "counters   " + " ".join(f"{k}={v}" for k, v in state.counters.items() if v),
        ]
        return "\n".join(lines)

    def _timeline_text(self) -> str:
        client = self.keeper.client
        if client is None:
            return ""
        timeline = client.manager.timeline
        box = self.query_one("#qa-timeline", Static)
        rows = max(3, box.size.height - 1) if box.size.height else 14
        width = max(40, box.size.width or 118)
        origin = timeline.origin or 0.0
        out = [f"{_TIMELINE}  s since start · UTC · latest last · all in timeline.jsonl"]
        for entry in list(timeline)[-rows:]:
            detail = " ".join(f"{k}={v}" for k, v in entry.detail.items())
            clock = dt.datetime.fromtimestamp(entry.wall, tz=dt.UTC).strftime("%H:%M:%SZ")
            out.append(f"{entry.at - origin:8.1f} {clock} {entry.name:<22} {detail}"[:width])
        return "\n".join(out)

    def note(self, text: str) -> None:
        client = self.keeper.client
        origin = client.manager.timeline.origin if client is not None else None
        at = f"{self.keeper.now() - origin:8.1f}  " if origin is not None else ""
        self.last_action = f"{at}{text}"
        self.redraw()
        self.keeper.refresh_chrome()

    # -- actions ------------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.post_message(GoBack())

    def action_inspect(self) -> None:
        """The request inspector: every exchange so far, over this panel (Esc comes back here)."""
        from sessionkeeper.tui.screens.inspector import InspectorScreen

        self.app.push_screen(InspectorScreen())

    def _confirmed(self, name: str) -> bool:
        """An action that reaches the whole server (its clock, its faults, a reset), pressed while
        other sessions are live there (another window's, another user's): the first press says
        so, and a second within `CONFIRM_S` does it. Alone on the server, one press does it."""
        action = ACTIONS_BY_NAME.get(name)
        if action is None or not action.whole_server or self.server is None:
            return True
        others = self.server.others_alive(self.own_session)
        if not others:
            return True
        now = self.keeper.now()
        if self._armed is not None and self._armed[0] == name and now - self._armed[1] <= CONFIRM_S:
            self._armed = None
            return True
        self._armed = (name, now)
        self.note(wording.whole_server_warning(action.short, action.shown_key, len(others)))
        return False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pin":
            return self.keeper.recording
        return True

    def action_pin(self) -> None:
        self.post_message(PinExpectation())

    def action_amount(self, step: int) -> None:
        qa = self.keeper.qa
        if qa is not None:
            self.note(f"N = {qa.change_amount(step)}")

    def action_where(self) -> None:
        """Where the next fault switched on applies: everywhere, or a share of some calls."""
        qa = self.keeper.qa
        if qa is not None:
            scope = qa.next_scope()
            self.note(f"faults turned on now apply{scope.words or ' everywhere'}")

    def action_qa(self, name: str) -> None:
        # Run by the app, not by this screen: closing the panel must not cancel the action (a
        # burst closed after 0.3 s sent a few calls and never said how it ended).
        if not self._confirmed(name):
            return
        qa = self.keeper.qa
        if qa is not None and name.startswith("burst"):
            self.note(f"burst of {qa.amount} calls (REST and GraphQL) in flight…")
        self.keeper.run_qa(name)
