"""What `scenario run --evidence DIR` leaves for a bug report, per scenario: `chart.svg` (the client's
remaining time against the server's over the scenario, with what happened marked) and `index.html`
(the outcome, the chart, and every step in order with its screenshots), beside the timeline and the
SVG screenshots the runner wrote. Plain SVG and HTML, no script and nothing fetched: it opens offline.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessionkeeper.tui.scenario.model import Condition, Outcome, Sample, Step

WIDTH, HEIGHT = 900, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 240, 20, 100  # margins: axes on the left and bottom, labels below
CLIENT_COLOUR, SERVER_COLOUR, MARK_COLOUR = "#1f77b4", "#ff7f0e", "#999999"


def write_evidence(outcome: Outcome, folder: Path) -> None:
    (folder / "chart.svg").write_text(chart_svg(outcome.samples, outcome.scenario.ttl), encoding="utf-8")
    (folder / "index.html").write_text(index_html(outcome), encoding="utf-8")


def chart_svg(samples: list[Sample], ttl: float) -> str:
    """Two lines of remaining seconds over session time: the client's estimate and the server's
    truth. A QA action or a key press is marked by a dashed line and its name."""
    span = max((s.at for s in samples), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: float) -> float:
        return LEFT + plot_w * at / span

    def y(left: float) -> float:
        return TOP + plot_h * (1 - max(0.0, min(left, ttl)) / ttl)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        value = ttl * fraction
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:g} s</text>')
    right, base = LEFT + plot_w, TOP + plot_h
    parts.append(f'<text x="{right}" y="{base + 14}" text-anchor="end">{span:.0f} s of session time</text>')
    # Marks that land within a few pixels of each other (no session time passed between them)
    # share one line and one label.
    groups: list[tuple[float, list[str]]] = []
    for sample in samples:
        if sample.label:
            px = x(sample.at)
            if groups and px - groups[-1][0] < 14:
                groups[-1][1].append(sample.label)
            else:
                groups.append((px, [sample.label]))
    for px, labels in groups:
        parts.append(
            f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{TOP + plot_h}" '
            f'stroke="{MARK_COLOUR}" stroke-dasharray="3,3"/>'
        )
        at = f'x="{px:.1f}" y="{base + 28}" transform="rotate(20 {px:.1f} {base + 28})"'
        parts.append(f'<text {at} fill="#555">{html.escape(" · ".join(labels))}</text>')
    for name, colour, values in (
        ("client", CLIENT_COLOUR, [(s.at, s.client) for s in samples]),
        ("server", SERVER_COLOUR, [(s.at, s.server) for s in samples]),
    ):
        points = _step_points(values, x, y)
        if points:
            style = f'fill="none" stroke="{colour}" stroke-width="2"'
            style += ' stroke-dasharray="6,3"' if name == "server" else ""
            parts.append(f'<polyline class="{name}" points="{points}" {style}/>')
    ly, lx = TOP + 4, right - 190  # the legend's corner
    client_key = f'stroke="{CLIENT_COLOUR}" stroke-width="2"'
    server_key = f'stroke="{SERVER_COLOUR}" stroke-width="2" stroke-dasharray="6,3"'
    parts += [
        f'<rect x="{lx}" y="{ly - 2}" width="186" height="34" fill="white" stroke="#ccc"/>',
        f'<line x1="{lx + 8}" y1="{ly + 8}" x2="{lx + 30}" y2="{ly + 8}" {client_key}/>',
        f'<text x="{lx + 36}" y="{ly + 12}">client estimate</text>',
        f'<line x1="{lx + 8}" y1="{ly + 22}" x2="{lx + 30}" y2="{ly + 22}" {server_key}/>',
        f'<text x="{lx + 36}" y="{ly + 26}">server truth (/__qa/state)</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _step_points(
    values: list[tuple[float, float | None]], x: Callable[[float], float], y: Callable[[float], float]
) -> str:
    """A sawtooth: between two samples the remaining time runs down with the clock (nothing else
    moves a deadline between steps), and at a sample it jumps to what was seen there (a refresh, a
    new session, a revocation). No session counts as zero."""
    points: list[tuple[float, float]] = []
    previous: tuple[float, float] | None = None
    for at, left in values:
        seen = left if left is not None else 0.0
        if previous is not None:
            points.append((at, max(0.0, previous[1] - (at - previous[0]))))
        points.append((at, seen))
        previous = (at, seen)
    return " ".join(f"{x(at):.1f},{y(left):.1f}" for at, left in points)


def index_html(outcome: Outcome) -> str:
    scenario = outcome.scenario
    verdict = "PASSED" if outcome.passed else "FAILED"
    colour = "#1a7f37" if outcome.passed else "#cf222e"
    cases = ", ".join(str(c) for c in scenario.covers)
    rows = []
    for record in outcome.records:
        what = html.escape(describe(record.step))
        mark = "" if record.passed else f'<div class="problem">{html.escape(record.problem or "")}</div>'
        shot = f'<div><img src="{html.escape(record.snapshot.name)}" alt=""></div>' if record.snapshot else ""
        css = "say" if record.step.say is not None else ("fail" if not record.passed else "")
        rows.append(
            f'<li class="{css}"><span class="line">line {record.step.line}</span> {what}{mark}{shot}</li>'
        )
    failure = f'<p class="problem">{html.escape(outcome.failure)}</p>' if outcome.failure else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(scenario.title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
.verdict {{ color: {colour}; font-weight: bold; }}
.problem {{ color: #cf222e; font-family: monospace; white-space: pre-wrap; }}
li {{ margin: .4em 0; }} li.say {{ font-weight: bold; list-style: none; margin-top: 1em; }}
li.fail {{ background: #fff0f0; }} .line {{ color: #888; font-family: monospace; }}
img {{ max-width: 100%; border: 1px solid #ccc; margin: .4em 0; }}
</style></head><body>
<h1>{html.escape(scenario.title)}</h1>
<p><span class="verdict">{verdict}</span> in {outcome.seconds:.1f} s · edge case {cases}
· TTL {scenario.ttl:g} s, warning {scenario.warn:g} s · <code>{html.escape(scenario.source)}</code>
· <a href="timeline.jsonl">timeline</a></p>
{failure}
<h2>Remaining time, client against server</h2>
<img src="chart.svg" alt="remaining time of the client and of the server over the scenario">
<h2>Steps</h2>
<ol>
{chr(10).join(rows)}
</ol>
</body></html>
"""


def describe(step: Step) -> str:
    if step.say is not None:
        return step.say
    if step.press:
        return "press " + " ".join(step.press)
    if step.type is not None:
        return f"type {step.type!r}"
    if step.qa is not None:
        return f"QA: {step.qa_words}"
    if step.snapshot is not None:
        return f"snapshot: {step.snapshot}"
    if step.wait is not None:
        return f"wait (up to {step.within:g} s) for {_condition(step.wait)}"
    if step.restart:
        return "quit the app and start it again (same data, the server running on)"
    assert step.expect is not None
    return f"expect {_condition(step.expect)}"


def _condition(condition: Condition) -> str:
    parts = []
    for name in ("state", "user", "remaining", "prompt", "drift"):
        value = getattr(condition, name)
        if value is not None:
            parts.append(f"{name} {value}")
    if condition.screen:
        parts.append("screen shows " + ", ".join(repr(t) for t in condition.screen))
    if condition.timeline:
        parts.append("timeline " + " → ".join(condition.timeline))
    if condition.counters:
        parts.append("server " + ", ".join(f"{k}={v}" for k, v in condition.counters.items()))
    return "; ".join(parts)
