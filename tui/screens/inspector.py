"""The request inspector (issue 20, item 1), opened from the QA panel with `i`: every exchange with
the backend so far (`api.wire.WireLog`), newest last, with the session's facts about each (the
token generation and fingerprint it carried, the flight it waited for, the middleware's verdict,
the deadline before and after); the highlighted one's headers and bodies below. `f` changes the
filter (all, REST, GraphQL, the session's calls); `e` writes everything so far as a HAR 1.2 file in
the data dir. The breakpoints (issue 20, item 3) are QA actions, bound here as in the panel: `b`
holds the next call before it leaves, `h` the next call's answer, `z` the next renewal's answer;
then `r` releases it, `q` aborts it, `4` `5` `6` answer it 401, 503 or a malformed 200. Secrets
were replaced as the log recorded them: nothing here can show one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from sessionkeeper.api.qa.actions import ACTIONS
from sessionkeeper.api.wire import Exchange, write_har
from sessionkeeper.tui.messages import GoBack
from sessionkeeper.tui.screens.base import AppScreen

FILTERS: tuple[str | None, ...] = (None, "rest", "graphql", "session")
FILTER_WORDS = {None: "all", "rest": "REST", "graphql": "GraphQL", "session": "session calls"}
BREAKPOINTS = [a for a in ACTIONS if not a.listed]  # the QA actions that hold and decide
HELD_WORDS = {"out": "before it left", "back": "answered, not delivered"}
BREAKPOINT_HELP = "  ".join(f"{a.key} {a.short}" for a in BREAKPOINTS)
DETAIL_BODY_CHARS = 1200  # the rest is in the HAR export
EXPORT_DIR = "exports"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def deadline_words(x: Exchange) -> str:
    """The client's time left as it went out, and once it settled: "0:41 → 1:00"."""
    if x.remaining_before is None and x.remaining_after is None:
        return "-"
    after = _clock(x.remaining_after) if x.done else "…"
    return f"{_clock(x.remaining_before)} → {after}" + (" moved" if x.moved else "")


def row(x: Exchange, start: float) -> tuple[str, ...]:
    status = str(x.status) if x.status is not None else ("error" if x.error else "…")
    if x.held is not None:
        status += " HELD " + HELD_WORDS[x.held]
    token = f"g{x.generation} {x.token}" if x.token else "-"
    took = f"{(x.answered_at - x.sent_at) * 1000:.0f} ms" if x.answered_at is not None else "…"
    return (
        str(x.number),
        f"+{x.sent_at - start:.1f}s",
        x.kind,
        f"{x.method} {x.path}",
        status,
        x.verdict or ("failed" if x.error else "-"),
        took,
        token,
        x.waited_for or "-",
        deadline_words(x),
    )


def detail(x: Exchange) -> str:
    def body(text: str) -> str:
        if len(text) > DETAIL_BODY_CHARS:
            return text[:DETAIL_BODY_CHARS] + "… (whole in the HAR export: h)"
        return text or "(none)"

    lines = [f"#{x.number} {x.method} {x.url}"]
    if x.held is not None:
        lines.append(
            f"HELD at a breakpoint ({HELD_WORDS[x.held]}): r release, q abort, 4 5 6 answer 401, 503, garbled"
        )
    if x.broken:
        lines.append(f"breakpoint: {x.broken}")
    if x.error:
        lines.append(f"no answer: {x.error}")
    lines += [
        "Request headers:",
        *(f"  {n}: {v}" for n, v in x.request_headers),
        "Request body:",
        f"  {body(x.request_body)}",
    ]
    if x.status is not None:
        lines += [
            f"Answer {x.status}:",
            *(f"  {n}: {v}" for n, v in x.response_headers),
            "Answer body:",
            f"  {body(x.response_body)}",
        ]
    return "\n".join(lines)


class InspectorScreen(AppScreen):
    QA_TOOL = True  # keys here are QA, not user activity
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", priority=True),
        Binding("f", "next_filter", "Filter"),
        Binding("e", "export", "Export HAR"),
        Binding("b", "qa('hold_call')", "Hold call"),
        Binding("r", "qa('release')", "Release"),
        *(Binding(a.key, f"qa('{a.name}')", a.short, show=False) for a in BREAKPOINTS if a.key not in "br"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.kind: str | None = None
        self._shown: tuple[int, str | None] | None = None  # (log version, filter) drawn
        self._rows: list[Exchange] = []

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="inspector"):
            yield Static("", id="inspector-head", markup=False)
            table: DataTable[str] = DataTable(id="inspector-table", cursor_type="row", zebra_stripes=True)
            table.add_columns(
                "#", "sent", "kind", "call", "status", "verdict", "took", "token", "waited for", "time left"
            )
            yield table
            yield Static("", id="inspector-detail", markup=False)
            yield Static("", id="inspector-said", markup=False)

    def mounted(self) -> None:
        self.query_one(DataTable).focus()
        self.redraw()

    def ticked(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        client = self.keeper.client
        if client is None or self.gone:
            return
        log = client.wire
        if self._shown == (log.version, self.kind):
            return
        self._shown = (log.version, self.kind)
        exchanges = log.select(self.kind)
        start = log.exchanges[0].sent_at if log.exchanges else 0.0
        table = self.query_one(DataTable)
        at_end = table.cursor_row >= len(self._rows) - 1  # following the newest: keep following
        keep = table.cursor_row
        table.clear()
        for x in exchanges:
            table.add_row(*row(x, start))
        self._rows = exchanges
        if exchanges:
            table.move_cursor(row=len(exchanges) - 1 if at_end else min(keep, len(exchanges) - 1))
        shown = FILTER_WORDS[self.kind]
        armed = len(log.breakpoints)
        held = f"  ·  HELD: {len(log.holds)}" if log.holds else ""
        self.query_one("#inspector-head", Static).update(
            f"Requests: {len(exchanges)} shown ({shown}) of {len(log.exchanges)}{held}"
            "  ·  f filter  e export HAR"
            f"\nBreakpoints ({armed} armed): {BREAKPOINT_HELP}"
        )
        self._show_detail(table.cursor_row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        text = detail(self._rows[index]) if 0 <= index < len(self._rows) else "No request yet."
        self.query_one("#inspector-detail", Static).update(text)

    def action_next_filter(self) -> None:
        self.kind = FILTERS[(FILTERS.index(self.kind) + 1) % len(FILTERS)]
        self.redraw()

    def action_qa(self, name: str) -> None:
        # Run by the app, as the panel's are: the decision outlives this screen.
        self.keeper.run_qa(name)

    def action_export(self) -> None:
        client = self.keeper.client
        said = self.query_one("#inspector-said", Static)
        if client is None:
            said.update("No session yet: nothing to export.")
            return
        from importlib.metadata import version

        try:
            path = write_har(
                client.wire, self.keeper.settings.data_path / EXPORT_DIR, version=version("sessionkeeper")
            )
        except OSError as exc:
            said.update(f"Could not write the HAR file: {exc.strerror or exc}")
            return
        said.update(
            f"Wrote {len(client.wire.exchanges)} requests to {path}"
            " (HAR 1.2: no token, key or password in it)."
        )
        self.notify(f"HAR written: {path}", timeout=6)

    def action_close(self) -> None:
        self.post_message(GoBack())
