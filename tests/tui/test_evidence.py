"""Evidence for stakeholders (issue 18, item 7): `scenario run --evidence DIR` writes DIR/index.html
linking every scenario with its outcome and title; each scenario's page has a screenshot after every
step that changed what a window shows (labelled with the window when there are two), its steps in
plain words, numbered 1 to n with no gap, and a chart whose texts never overlap, with time ticks and
the legend off the plot."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from itertools import combinations, pairwise
from pathlib import Path

import pytest

from sessionkeeper.tui.scenario.command import run_command
from sessionkeeper.tui.scenario.evidence import chart_svg
from sessionkeeper.tui.scenario.loader import find, load
from sessionkeeper.tui.scenario.model import Condition, Sample, Step
from sessionkeeper.tui.scenario.runner import run

SVG = "{http://www.w3.org/2000/svg}"


def scenario_file(tmp_path: Path, name: str, body: str, title: str = "t") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'title = "{title}"\ncovers = 1\n' + body)
    return path


def numbers_on(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="num">(\d+)</span>', page)]


@pytest.mark.slow  # two scenario runs, through the command
def test_the_run_writes_an_index_linking_every_scenario_with_its_outcome_and_title(tmp_path: Path) -> None:
    passing = scenario_file(
        tmp_path, "fine", '[[step]]\nexpect = { user = "guest" }\n', "A guest at the start"
    )
    failing = scenario_file(tmp_path, "broken", '[[step]]\nexpect = { user = "ada" }\n', "Ada at the start")
    evidence = tmp_path / "ev"
    status = run_command(
        [str(passing), str(failing)], every=False, evidence=evidence, jobs=1, out=io.StringIO()
    )
    assert status == 1
    index = (evidence / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr>(.*?)</tr>", index, re.S)[1:]  # under the header
    assert len(rows) == 2
    for row, (name, mark, title) in zip(
        rows, [("fine", "PASS", "A guest at the start"), ("broken", "FAIL", "Ada at the start")], strict=True
    ):
        assert f'href="{name}/index.html"' in row and f">{mark}<" in row and title in row
        assert (evidence / name / "index.html").is_file()
    assert "expected user ada, seen guest" in rows[1]
    assert "1 passed, 1 failed" in index
    # Each page links back to it.
    assert 'href="../index.html"' in (evidence / "fine" / "index.html").read_text(encoding="utf-8")


async def test_a_screenshot_after_each_step_that_changed_the_screen_and_only_then(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        "shots",
        '[[step]]\nsay = "Ada signs in."\n\n'
        '[[step]]\npress = "s"\n\n'  # the sign-in form: changed
        '[[step]]\nexpect = { screen = "Username" }\n\n'  # nothing changes
        '[[step]]\ntype = "ada"\n\n'  # the field fills: changed
        '[[step]]\nexpect = { user = "guest" }\n\n'  # nothing changes
        '[[step]]\nsnapshot = "the form"\n\n'  # asked for: taken though nothing changed
        '[[step]]\npress = "escape"\n',  # back home: changed
    )
    out = tmp_path / "ev"
    outcome = await run(load(path), evidence=out)
    assert outcome.passed, outcome.failure
    assert [shot.why for shot in outcome.opening] == ["start"]
    assert [[shot.why for shot in record.shots] for record in outcome.records] == [
        [],
        ["changed"],
        [],
        ["changed"],
        [],
        ["snapshot"],
        ["changed"],
    ]
    typed = outcome.records[3].shots[0].path.read_text(encoding="utf-8")
    form = outcome.records[1].shots[0].path.read_text(encoding="utf-8")
    assert ">ada<" in typed and ">ada<" not in form  # the field, typed into
    assert "palette" in form  # the footer that follows the new screen a repaint later
    page = (out / "shots" / "index.html").read_text(encoding="utf-8")
    shots = re.findall(r'<img src="([^"]+\.svg)"', page)
    assert shots[0] == "chart.svg"
    assert shots[1:] == [s.path.name for s in outcome.opening] + [
        s.path.name for r in outcome.records for s in r.shots
    ]
    assert "After step 1" in page and "After step 3" in page and "Step 5&#x27;s snapshot" in page
    assert numbers_on(page) == [1, 2, 3, 4, 5, 6]  # the caption is not numbered, and leaves no gap


async def test_two_windows_each_screenshot_names_its_window(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        "two",
        '[[step]]\ninstance = 2\nexpect = { user = "guest" }\n\n[[step]]\npress = "s"\n',
    )
    outcome = await run(load(path), evidence=tmp_path / "ev")
    assert outcome.passed, outcome.failure
    # The second window's first screen comes with the step that opened it; the key with the first.
    assert [[shot.window for shot in record.shots] for record in outcome.records] == [[2], [1]]
    page = (tmp_path / "ev" / "two" / "index.html").read_text(encoding="utf-8")
    assert "After step 1 · window 2" in page and "After step 2 · window 1" in page
    assert '<span class="window">window 2</span>' in page


async def test_steps_not_run_after_a_failure_are_numbered_on_without_a_gap(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        "fails",
        '[[step]]\nsay = "One."\n\n[[step]]\nexpect = { user = "ada" }\n\n'
        '[[step]]\nsay = "Two."\n\n[[step]]\npress = "s"\n\n[[step]]\nexpect = { state = "active" }\n',
    )
    outcome = await run(load(path), evidence=tmp_path / "ev")
    assert not outcome.passed
    page = (tmp_path / "ev" / "fails" / "index.html").read_text(encoding="utf-8")
    assert numbers_on(page) == [1, 2, 3]
    assert page.count("(not run)") == 2 and "Where step 1 failed" in page


def test_every_kind_of_step_in_plain_words() -> None:
    from sessionkeeper.tui.scenario.wording import describe

    expect = Step(line=1, expect=Condition(state="active", user="guest", remaining=(90.0, 120.0)))
    assert describe(expect) == (
        "Check that the session is active, a guest holds it and 90 to 120 seconds are left on the countdown"
    )
    everything = Condition(
        prompt=True,
        screen=("Choose a flight", "LHR"),
        timeline=("backgrounded", "reauth_succeeded"),
        counters={"refreshes": 1, "reauths": 2, "logins": 0},
        drift="0",
    )
    assert describe(Step(line=1, expect=everything)) == (
        "Check that the near-expiry prompt is up, the screen shows “Choose a flight” and “LHR”, the"
        " client's timeline records backgrounded and reauth succeeded, in that order, the server counted"
        " exactly 1 refresh, 2 silent re-authentications and no sign-ins and the client's countdown"
        " agrees with the server's (within a second)"
    )
    cases = [
        (Step(line=1, press=("tab", "enter")), "Press Tab, then Enter"),
        (Step(line=1, press=("ctrl+n",)), "Press Ctrl+N"),
        (Step(line=1, press=("s",)), "Press s"),
        (Step(line=1, type="ada"), "Type “ada”"),
        (
            Step(line=1, qa="skip", n=30),
            "30 seconds later, the app awake: both clocks skip ahead, each moment on the way in turn",
        ),
        (
            Step(line=1, qa="sleep", n=120),
            "The machine sleeps 2 minutes: nothing runs, and on waking its clock has jumped",
        ),
        (
            Step(line=1, qa="freeze", n=60),
            "The process is stopped 1 minute (SIGSTOP), then continued (SIGCONT)",
        ),
        (
            Step(line=1, qa="down", on=True, rate=0.3, path="/graphql"),
            "The backend goes down (503 to everything) on 30 % of /graphql calls",
        ),
        (
            Step(line=1, qa="background", n=300),
            "The app goes to the background for 5 minutes, then comes back",
        ),
        (Step(line=1, qa="down", on=True), "The backend goes down (503 to everything)"),
        (Step(line=1, qa="down", on=False), "The backend is back up"),
        (
            Step(line=1, qa="burst", n=20, detach=True),
            "20 calls at once, half REST, half GraphQL; the next step goes on while it runs",
        ),
        (
            Step(line=1, wait=Condition(state="warning"), within=5),
            "Wait until the session is in its warning window (at most 5 s)",
        ),
        (Step(line=1, snapshot="the prompt"), "Take a screenshot: the prompt"),
        (
            Step(line=1, restart=True),
            "Quit the app and start it again on the same data (the server keeps running)",
        ),
        (Step(line=1, say="Ada signs in."), "Ada signs in."),
    ]
    for step, words in cases:
        assert describe(step) == words


@pytest.mark.parametrize("name", ["00-tour", "04", "15", "23", "25"])
def test_no_step_of_a_shipped_scenario_reads_as_the_file_does(name: str) -> None:
    from sessionkeeper.tui.scenario.wording import describe

    for step in load(find(name)).steps:
        words = describe(step)
        assert not re.search(r"\b(expect|qa|remaining|counters|drift|state) ", words), words
        assert "=" not in words and "_" not in words.replace("/__qa/", ""), words


def text_boxes(svg: ET.Element) -> list[tuple[str, float, float, float, float]]:
    """Each text's box, by a width of 0.6 font sizes a character: (text, left, top, right, bottom)."""
    size = float(svg.get("font-size", "11"))
    boxes = []
    for element in svg.iter(f"{SVG}text"):
        text = element.text or ""
        x, y = float(element.get("x", "0")), float(element.get("y", "0"))
        width = len(text) * 0.6 * size
        left = {"start": x, "middle": x - width / 2, "end": x - width}[element.get("text-anchor", "start")]
        boxes.append((text, left, y - 0.8 * size, left + width, y + 0.25 * size))
    return boxes


def assert_a_readable_chart(svg: ET.Element, ticks_at_least: int = 2) -> None:
    boxes = text_boxes(svg)
    for a, b in combinations(boxes, 2):
        overlap = a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
        assert not overlap, f"{a[0]!r} overlaps {b[0]!r}"
    width = float(svg.get("width", "0"))
    assert all(left >= 0 and right <= width for _t, left, _top, right, _bottom in boxes)
    axis = next(e for e in svg.iter(f"{SVG}line") if e.get("class") == "x-axis")
    plot_left, plot_right, base = float(axis.get("x1", 0)), float(axis.get("x2", 0)), float(axis.get("y1", 0))
    ticks = [
        (float(e.get("x", 0)), e.text or "") for e in svg.iter(f"{SVG}text") if e.get("class") == "x-tick"
    ]
    assert len(ticks) >= ticks_at_least and all(re.fullmatch(r"\d+:\d\d", text) for _x, text in ticks)
    assert ticks[0] == (plot_left, "0:00") and [x for x, _ in ticks] == sorted(x for x, _ in ticks)
    assert all(plot_left <= x <= plot_right for x, _ in ticks)
    legend = next(e for e in svg.iter(f"{SVG}g") if e.get("class") == "legend")
    [frame] = legend.iter(f"{SVG}rect")
    assert float(frame.get("x", 0)) > plot_right or float(frame.get("y", 0)) > base  # off the plot


def test_the_chart_never_overlaps_its_labels_has_time_ticks_and_its_legend_off_the_plot() -> None:
    # Marks crowded together (every few seconds of a 10-minute span, and many at one moment), with
    # long names: what overlapped before.
    samples = [Sample(0.0, 60.0, 60.0, "")]
    for i in range(1, 40):
        at = 8.0 * i if i < 20 else 600.0 - (40 - i) * 3.0
        samples.append(Sample(at, 50.0, 50.0, f"burst_at_expiry {i} … with a long name"))
    samples += [Sample(600.0, 40.0, 40.0, f"press tab {j}") for j in range(5)]
    assert_a_readable_chart(ET.fromstring(chart_svg(samples, ttl=60.0)))  # marks numbered in turn
    # The marks by their steps' numbers (a step's line gives it), with their words in the key.
    samples = [samples[0]] + [replace(sample, line=i) for i, sample in enumerate(samples[1:], start=1)]
    marks = {i: (i, f"words of step {i}") for i in range(1, 45)}
    svg = ET.fromstring(chart_svg(samples, ttl=60.0, marks=marks))
    assert_a_readable_chart(svg, ticks_at_least=6)  # 10 minutes: every 2 minutes at most
    numbers = [e.text for e in svg.iter(f"{SVG}text") if e.get("class") == "mark"]
    assert numbers[0] is not None and numbers[0].startswith("1")
    assert numbers[-1] is not None and numbers[-1].endswith("44")
    assert any("words of step 1" in (e.text or "") for e in svg.iter(f"{SVG}text"))


@pytest.mark.slow  # the tour, with evidence (about 5 s)
async def test_the_tours_page_has_a_screenshot_at_each_key_a_readable_chart_and_no_gap(
    tmp_path: Path,
) -> None:
    scenario = load(find("tour"))
    outcome = await run(scenario, evidence=tmp_path)
    assert outcome.passed, outcome.failure
    folder = tmp_path / scenario.name
    page = (folder / "index.html").read_text(encoding="utf-8")
    steps = [step for step in scenario.steps if step.say is None]
    assert numbers_on(page) == list(range(1, len(steps) + 1))
    for record in outcome.records:
        if record.step.press or record.step.type is not None:
            assert record.shots, f"no screenshot after the step at line {record.step.line}"
    shots = [shot.path for record in outcome.records for shot in record.shots]
    assert len(shots) >= 15 and all(f'src="{path.name}"' in page for path in shots)
    # Each screenshot shows something the one before did not (no shot for an unchanged screen).
    contents = [path.read_text(encoding="utf-8") for path in [outcome.opening[0].path, *shots]]
    assert all(a != b for a, b in pairwise(contents))
    assert_a_readable_chart(ET.parse(folder / "chart.svg").getroot(), ticks_at_least=5)


async def test_the_evidence_has_the_scenarios_requests_as_har_and_no_issued_secret_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import secrets

    import jsonschema

    from sessionkeeper.api.backend import sessions

    issued: list[str] = []

    def recorded() -> str:
        issued.append(secrets.token_urlsafe(32))
        return issued[-1]

    monkeypatch.setattr(sessions, "default_token_factory", recorded)
    path = scenario_file(
        tmp_path,
        "signs-in",
        '[[step]]\npress = "s"\n\n[[step]]\ntype = "ada"\n\n[[step]]\npress = "tab"\n\n'
        '[[step]]\ntype = "lovelace"\n\n[[step]]\npress = "enter"\n\n'
        '[[step]]\nexpect = { user = "ada" }\n\n[[step]]\nqa = "revoke"\n\n[[step]]\npress = "b"\n\n'
        '[[step]]\nqa = "skip"\nn = 61\n\n[[step]]\nrestart = true\n\n[[step]]\npress = "m"\n',
    )
    out = tmp_path / "ev"
    outcome = await run(load(path), evidence=out)
    assert outcome.passed, outcome.failure
    folder = out / "signs-in"
    har = json.loads((folder / "requests.har").read_text())
    schema = Path(__file__).resolve().parents[1] / "api" / "data" / "har-1.2.schema.json"
    jsonschema.validate(har, json.loads(schema.read_text()))
    urls = [entry["request"]["url"] for entry in har["log"]["entries"]]
    assert any(u.endswith("/api/session/login") for u in urls) and any(
        u.endswith("/api/bookings") for u in urls
    )
    numbers = [x.number for x in outcome.exchanges]
    assert numbers.count(1) == 2  # the app before the restart, and the one after: each from 1
    assert '<a href="requests.har">' in (folder / "index.html").read_text(encoding="utf-8")
    assert len(issued) >= 4, issued
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) > 5
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        for secret in issued:
            assert secret not in text, f"an issued secret in {file.name}"
