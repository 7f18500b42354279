"""What `scenario run --evidence DIR` leaves for a bug report or a stakeholder: `DIR/index.html`, every
scenario of the run with its outcome and its title, linking each scenario's own folder, where
`index.html` shows the outcome, the chart (`chart.svg`: the client's remaining time against the
server's over the scenario, with what happened marked) and every step in order, numbered 1 to n, in
plain words, with a screenshot wherever a step changed what the app shows; beside the timeline and
the SVG screenshots the runner wrote. Plain SVG and HTML, no script and nothing fetched: it opens
offline.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sessionkeeper.tui.scenario.wording import describe

if TYPE_CHECKING:
    from sessionkeeper.tui.scenario.model import Outcome, Sample, Shot, Step

FONT = 11  # the chart's font size, in pixels
CHAR_EM = 0.62  # a generous width of one character of a sans-serif font, in font sizes
WIDTH = 900
LEFT, PLOT_W, PLOT_H = 56, 600, 220  # the plot's left edge and its size
LANE = 16  # the height of one row of mark numbers (above the plot) or of the key (below it)
CLIENT_COLOUR, SERVER_COLOUR, MARK_COLOUR = "#1f77b4", "#ff7f0e", "#999999"
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)


def write_evidence(outcome: Outcome, folder: Path) -> None:
    numbers = step_numbers([record.step for record in outcome.records] + not_run(outcome))
    marks = {line: (number, describe(step)) for line, (number, step) in numbers.items()}
    chart = chart_svg(outcome.samples, outcome.scenario.ttl, marks)
    (folder / "chart.svg").write_text(chart, encoding="utf-8")
    if outcome.exchanges:
        from sessionkeeper.api.wire import write_har_file

        write_har_file(outcome.exchanges, folder / HAR_FILE)
    (folder / "index.html").write_text(index_html(outcome), encoding="utf-8")


HAR_FILE = "requests.har"  # every request of the scenario's apps, HAR 1.2 (api.wire: no secret in it)


def write_overview(outcomes: Sequence[Outcome], folder: Path) -> Path:
    """`folder/index.html`: every scenario of the run, its outcome and what it shows, linking its
    page."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    path.write_text(overview_html(outcomes), encoding="utf-8")
    return path


def not_run(outcome: Outcome) -> list[Step]:
    """The steps after the one that failed (the page lists them, numbered on, as not run)."""
    return list(outcome.scenario.steps[len(outcome.records) :])


def step_numbers(steps: Sequence[Step]) -> dict[int, tuple[int, Step]]:
    """Each step but a caption (`say`), by its line: its number on the page, 1 to n with no gap."""
    numbered = [step for step in steps if step.say is None]
    return {step.line: (number, step) for number, step in enumerate(numbered, start=1)}


# -- the chart ----------------------------------------------------------------------------------------


def text_width(text: str, size: float = FONT) -> float:
    """How wide `text` is drawn, generously: no font metrics without a renderer."""
    return len(text) * CHAR_EM * size


def chart_svg(samples: list[Sample], ttl: float, marks: Mapping[int, tuple[int, str]] | None = None) -> str:
    """Two lines of remaining seconds over session time: the client's estimate and the server's
    truth. A QA action or a key press is marked by a dashed line numbered above the plot (the
    step's number, when `marks` gives it by the step's line, with its words), and the key below
    says what each number was. No two texts overlap: the numbers take rows of their own as needed,
    the key is a list below, the legend sits to the right of the plot."""
    marks = marks or {}
    span = max((s.at for s in samples), default=0.0) or 1.0
    groups = _mark_groups(samples, marks, lambda at: LEFT + PLOT_W * at / span)
    lanes = _lanes([(px, text_width(text) + 6) for px, text, _words in groups])
    top = 10 + LANE * (max(lanes, default=-1) + 1) + 6
    base, right = top + PLOT_H, LEFT + PLOT_W
    key_top = base + 52
    key = [(text, _wrap(words, WIDTH - LEFT - 10 - text_width(text) - 6)) for _px, text, words in groups]
    height = key_top + LANE * sum(len(lines) for _text, lines in key) + 8

    def x(at: float) -> float:
        return LEFT + PLOT_W * at / span

    def y(left: float) -> float:
        return top + PLOT_H * (1 - max(0.0, min(left, ttl)) / ttl)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="{FONT}">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<line class="x-axis" x1="{LEFT}" y1="{base}" x2="{right}" y2="{base}" stroke="black"/>',
        f'<line class="y-axis" x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{base}" stroke="black"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        value = ttl * fraction
        parts.append(_text(LEFT - 6, y(value) + 4, f"{value:g} s", anchor="end", css="y-tick"))
    tick = _tick_step(span)
    at = 0.0
    while at <= span + 1e-9:
        px = x(at)
        parts.append(f'<line x1="{px:.1f}" y1="{base}" x2="{px:.1f}" y2="{base + 4}" stroke="black"/>')
        parts.append(_text(px, base + 16, _clock(at), anchor="middle", css="x-tick"))
        at += tick
    parts.append(
        _text(
            LEFT + PLOT_W / 2,
            base + 34,
            "time into the scenario (minutes:seconds, on the session's clock)",
            anchor="middle",
            css="x-title",
        )
    )
    labels: list[str] = []
    for (px, text, _words), lane in zip(groups, lanes, strict=True):
        box_w = text_width(text) + 6
        bx = min(max(px - box_w / 2, 2.0), WIDTH - 2 - box_w)
        by = top - 6 - LANE * (lane + 1)
        parts.append(
            f'<line x1="{px:.1f}" y1="{by + LANE - 2:.1f}" x2="{px:.1f}" y2="{base}" '
            f'stroke="{MARK_COLOUR}" stroke-dasharray="3,3"/>'
        )
        labels.append(
            f'<rect x="{bx:.1f}" y="{by:.1f}" width="{box_w:.1f}" height="{LANE - 2}" fill="white"/>'
        )
        labels.append(_text(bx + box_w / 2, by + 11, text, anchor="middle", css="mark", fill="#555"))
    for name, colour, values in (
        ("client", CLIENT_COLOUR, [(s.at, s.client) for s in samples]),
        ("server", SERVER_COLOUR, [(s.at, s.server) for s in samples]),
    ):
        points = _step_points(values, x, y)
        if points:
            style = f'fill="none" stroke="{colour}" stroke-width="2"'
            style += ' stroke-dasharray="6,3"' if name == "server" else ""
            parts.append(f'<polyline class="{name}" points="{points}" {style}/>')
    parts += labels
    parts += _legend(right + 16, top)
    ky = key_top
    for text, lines in key:
        parts.append(_text(LEFT, ky, text, css="key-number", weight="bold"))
        for line in lines:
            parts.append(_text(LEFT + text_width(text) + 6, ky, line, css="key"))
            ky += LANE
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _mark_groups(
    samples: list[Sample], marks: Mapping[int, tuple[int, str]], x: Callable[[float], float]
) -> list[tuple[float, str, str]]:
    """The marks: (x, its number or numbers, what happened). Marks within a few pixels of each
    other (no session time passed between them) share one line: `5-9`."""
    groups: list[tuple[float, list[int], list[str]]] = []
    count = 0
    for sample in samples:
        if not sample.label:
            continue
        count += 1
        number, words = (count, sample.label)
        if sample.line is not None and sample.line in marks:
            number, words = marks[sample.line]
        px = x(sample.at)
        if groups and px - groups[-1][0] < 14:
            groups[-1][1].append(number)
            groups[-1][2].append(words)
        else:
            groups.append((px, [number], [words]))
    dash = "\N{EN DASH}"
    return [
        (px, str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}{dash}{numbers[-1]}", " · ".join(words))
        for px, numbers, words in groups
    ]


def _lanes(boxes: list[tuple[float, float]]) -> list[int]:
    """A row for each label (centred at x, this wide) above the plot, 0 nearest it: the first row
    where it overlaps no label, its line crosses no label in a row below, and it hides no line of a
    label above. Failing the line rules, the first row where it overlaps nothing."""
    placed: list[tuple[float, float, float, int]] = []  # left, right, x, lane

    def fits(left: float, right: float, px: float, lane: int, *, lines: bool) -> bool:
        for other_left, other_right, other_x, other_lane in placed:
            if other_lane == lane and left < other_right + 4 and other_left < right + 4:
                return False
            if lines and other_lane < lane and other_left - 2 <= px <= other_right + 2:
                return False  # its line would pass behind a label nearer the plot
            if lines and other_lane > lane and left - 2 <= other_x <= right + 2:
                return False  # it would hide the line of a label further up
        return True

    lanes = []
    for px, width in boxes:
        left, right = px - width / 2, px + width / 2
        limit = len(placed) + 1
        lane = next((n for n in range(limit) if fits(left, right, px, n, lines=True)), None)
        if lane is None:
            lane = next(n for n in range(limit) if fits(left, right, px, n, lines=False))
        placed.append((left, right, px, lane))
        lanes.append(lane)
    return lanes


def _wrap(words: str, width: float) -> list[str]:
    """`words` in lines no wider than `width` pixels."""
    return textwrap.wrap(words, max(10, int(width / (CHAR_EM * FONT)))) or [""]


def _tick_step(span: float) -> float:
    """The smallest round step that puts at most one time label per 60 pixels."""
    most = max(1, int(PLOT_W // 60))
    return float(next((step for step in NICE_STEPS if span / step <= most), NICE_STEPS[-1]))


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, seconds_ = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds_:02d}" if hours else f"{minutes}:{seconds_:02d}"


def _legend(lx: float, ly: float) -> list[str]:
    client_key = f'stroke="{CLIENT_COLOUR}" stroke-width="2"'
    server_key = f'stroke="{SERVER_COLOUR}" stroke-width="2" stroke-dasharray="6,3"'
    texts = ("seconds left on the session", "client estimate", "server truth (/__qa/state)")
    width = 36 + max(text_width(t) for t in texts) + 8
    return [
        '<g class="legend">',
        f'<rect x="{lx}" y="{ly}" width="{width:.0f}" height="54" fill="white" stroke="#ccc"/>',
        _text(lx + 8, ly + 15, texts[0], css="legend-title", weight="bold"),
        f'<line x1="{lx + 8}" y1="{ly + 27}" x2="{lx + 30}" y2="{ly + 27}" {client_key}/>',
        _text(lx + 36, ly + 31, texts[1], css="legend-text"),
        f'<line x1="{lx + 8}" y1="{ly + 43}" x2="{lx + 30}" y2="{ly + 43}" {server_key}/>',
        _text(lx + 36, ly + 47, texts[2], css="legend-text"),
        "</g>",
    ]


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    css: str = "",
    fill: str = "",
    weight: str = "",
) -> str:
    attributes = f'x="{x:.1f}" y="{y:.1f}"'
    attributes += f' text-anchor="{anchor}"' if anchor != "start" else ""
    attributes += f' class="{css}"' if css else ""
    attributes += f' fill="{fill}"' if fill else ""
    attributes += f' font-weight="{weight}"' if weight else ""
    return f"<text {attributes}>{html.escape(text)}</text>"


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


# -- the pages ----------------------------------------------------------------------------------------

STYLE = """
body { font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #cf222e; font-weight: bold; }
.problem { color: #cf222e; font-family: monospace; white-space: pre-wrap; }
.step { margin: .5em 0; display: flex; gap: .6em; align-items: baseline; flex-wrap: wrap; }
.step.failed { background: #fff0f0; } .step.not-run { color: #999; }
.num { display: inline-block; min-width: 2em; text-align: right; font-weight: bold; }
.say { font-style: italic; margin: 1.2em 0 .4em 2.6em; border-left: 3px solid #ccc; padding-left: .6em; }
.line, .window { color: #888; font-family: monospace; font-size: 90%; }
.window { background: #eef; padding: 0 .3em; }
figure { margin: .4em 0 1em 2.6em; } figcaption { color: #666; font-size: 90%; }
figure img { width: 640px; max-width: 100%; border: 1px solid #ccc; }
table { border-collapse: collapse; } td, th { padding: .3em .6em; text-align: left; vertical-align: top; }
tr + tr td { border-top: 1px solid #eee; } td.nowrap { white-space: nowrap; }
"""


def index_html(outcome: Outcome) -> str:
    """One scenario's page: its outcome, the chart, and its steps numbered 1 to n (a caption is
    shown as a caption, unnumbered), each with the screenshots it took."""
    scenario = outcome.scenario
    verdict = "PASSED" if outcome.passed else "FAILED"
    cases = ", ".join(str(c) for c in scenario.covers) or "none"
    windows = scenario.instances > 1
    numbers = step_numbers([record.step for record in outcome.records] + not_run(outcome))
    rows: list[str] = [_figure(shot, "The app as it starts", windows) for shot in outcome.opening]
    for record in outcome.records:
        step = record.step
        if step.say is not None:
            rows.append(f'<p class="say">{html.escape(step.say)}</p>')
            continue
        number = numbers[step.line][0]
        css = "step" if record.passed else "step failed"
        problem = "" if record.passed else f'<div class="problem">{html.escape(record.problem or "")}</div>'
        rows.append(f'<div class="{css}">{_step_line(number, step, windows)}</div>{problem}')
        rows += [_figure(shot, _caption(number, shot), windows) for shot in record.shots]
    for step in not_run(outcome):
        if step.say is not None:
            rows.append(f'<p class="say not-run">{html.escape(step.say)}</p>')
        else:
            line = _step_line(numbers[step.line][0], step, windows)
            rows.append(f'<div class="step not-run">{line} (not run)</div>')
    failure = f'<p class="problem">{html.escape(outcome.failure)}</p>' if outcome.failure else ""
    css = "pass" if outcome.passed else "fail"
    two = " · two windows on one data directory" if windows else ""
    count = len(outcome.exchanges)
    requests = f' · <a href="{HAR_FILE}">{count} requests (HAR)</a>' if count else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(scenario.title)}</title>
<style>{STYLE}</style></head><body>
<p><a href="../index.html">← every scenario of the run</a></p>
<h1>{html.escape(scenario.title)}</h1>
<p><span class="{css}">{verdict}</span> in {outcome.seconds:.1f} s · edge case {cases}
· TTL {scenario.ttl:g} s, warning {scenario.warn:g} s{two} · <code>{html.escape(scenario.source)}</code>
· <a href="timeline.jsonl">timeline</a>{requests}</p>
{failure}
<h2>Remaining time, client against server</h2>
<p>The numbers above the chart are the steps below.</p>
<img src="chart.svg" alt="remaining time of the client and of the server over the scenario">
<h2>Steps</h2>
{chr(10).join(rows)}
</body></html>
"""


def _step_line(number: int, step: Step, windows: bool) -> str:
    window = f' <span class="window">window {step.instance}</span>' if windows else ""
    return (
        f'<span class="num">{number}</span>{window} <span class="what">{html.escape(describe(step))}</span>'
        f' <span class="line">line {step.line}</span>'
    )


def _caption(number: int, shot: Shot) -> str:
    if shot.why == "failed":
        return f"Where step {number} failed"
    if shot.why == "snapshot":
        return f"Step {number}'s snapshot"
    return f"After step {number}"


def _figure(shot: Shot, caption: str, windows: bool) -> str:
    where = f" · window {shot.window}" if windows else ""
    name = html.escape(quote(shot.path.name))
    return (
        f'<figure><a href="{name}"><img src="{name}" alt="{html.escape(caption)}{where}"></a>'
        f"<figcaption>{html.escape(caption)}{where}</figcaption></figure>"
    )


def overview_html(outcomes: Sequence[Outcome]) -> str:
    """Every scenario of the run: PASS or FAIL, its name linking its page, its title (and, for a
    failure, what failed), the edge cases it covers and how long it took."""
    failed = sum(not o.passed for o in outcomes)
    rows = []
    for outcome in outcomes:
        scenario = outcome.scenario
        mark, css = ("PASS", "pass") if outcome.passed else ("FAIL", "fail")
        href = html.escape(quote(scenario.name) + "/index.html")
        problem = f'<div class="problem">{html.escape(outcome.failure)}</div>' if outcome.failure else ""
        cases = ", ".join(str(c) for c in scenario.covers) or "-"
        link = f'<a href="{href}">{html.escape(scenario.name)}</a>'
        rows.append(
            f'<tr><td class="{css}">{mark}</td><td class="nowrap">{link}</td>'
            f"<td>{html.escape(scenario.title)}{problem}</td><td>{cases}</td>"
            f'<td class="nowrap">{outcome.seconds:.1f} s</td></tr>'
        )
    total = f"{len(outcomes) - failed} passed, {failed} failed"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scenarios: {total}</title>
<style>{STYLE}</style></head><body>
<h1>Scenarios: {total}</h1>
<p>Each one ran headless against the real app and the real backend on loopback, with fake clocks.
Its page has the steps in plain words, a screenshot wherever the screen changed, and a chart of the
client's remaining time against the server's.</p>
<table>
<tr><th>outcome</th><th>scenario</th><th>what it shows</th><th>edge case</th><th>took</th></tr>
{chr(10).join(rows)}
</table>
</body></html>
"""
