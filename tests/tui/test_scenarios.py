"""Scenarios (issue 11): every shipped scenario passes headless through the app factory; a broken
engine makes one fail with a readable message; a bad file is refused with its line, the valid keys
and exit status 2; `--junit` writes what CI reads."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sessionkeeper.session import decisions as d
from sessionkeeper.session.engine import SessionEngine
from sessionkeeper.tui.cli import main
from sessionkeeper.tui.scenario.command import run_command
from sessionkeeper.tui.scenario.evidence import chart_svg
from sessionkeeper.tui.scenario.loader import ScenarioError, find, is_key, load, shipped
from sessionkeeper.tui.scenario.model import Sample
from sessionkeeper.tui.scenario.recipes import BEGIN, END, NotOnTheKeyboard, markdown_table, recipe
from sessionkeeper.tui.scenario.runner import run

SHIPPED = shipped()


def test_the_readmes_recipe_table_is_made_from_the_shipped_scenarios() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == markdown_table(load(path) for path in SHIPPED), (
        "README's recipes are stale: paste `sessionkeeper scenario list --markdown` in"
    )


def test_a_recipe_is_the_keys_of_its_scenario_and_refuses_an_n_the_panel_cannot_reach(
    tmp_path: Path,
) -> None:
    assert recipe(load(find("04")).steps) == '`b` "LHR" F2 `w` Esc `y`'
    path = write(tmp_path, '[[step]]\nqa = "skip"\nn = 45\n')
    with pytest.raises(NotOnTheKeyboard, match="N=45 for 'skip'"):
        recipe(load(path).steps)


def test_every_edge_case_of_the_design_has_a_shipped_scenario() -> None:
    covered = {case for path in SHIPPED for case in load(path).covers}
    assert covered >= set(range(1, 21))
    titles = [load(path).title for path in SHIPPED]
    assert len(set(titles)) == len(titles)


# Each shipped scenario is a whole app run, the QA recipe of an edge case: slow, but for those whose
# edge case no test in the fast lane drives through the app otherwise (tests/tui/test_edge_cases.py
# leaves them to these), and which take under a second.
ALSO_IN_THE_FAST_LANE = {
    "01-token-obtained",
    "06-warning-on-a-passive-screen-guest-idle",
    "17-quit-and-restart-within-the-ttl",
}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, marks=() if path.stem in ALSO_IN_THE_FAST_LANE else pytest.mark.slow, id=path.stem)
        for path in SHIPPED
    ],
)
async def test_a_shipped_scenario_passes(path: Path) -> None:
    outcome = await run(load(path))
    assert outcome.passed, outcome.failure


async def test_an_engine_that_never_moves_the_deadline_fails_the_scenario_in_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never_extend(self: SessionEngine, sent_at: float) -> list[d.Decision]:
        return []

    monkeypatch.setattr(SessionEngine, "_extend", never_extend)
    outcome = await run(load(find("02")))
    assert not outcome.passed and outcome.failure is not None
    assert "step at line 22 (expect): expected remaining 59.5-60 s, seen 30.0 s" in outcome.failure


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text('title = "t"\ncovers = 1\n' + text)
    return path


def test_every_key_the_app_binds_or_a_person_types_is_a_key_and_a_typo_is_not() -> None:
    from tests.tui.monkey import MOVING, TYPED, binding_keys

    for key in (*binding_keys(), *TYPED, *MOVING, "ctrl+q", "plus", "minus", "equals_sign"):
        assert is_key(key), key
    for typo in ("ctrl+nn", "entr", "ctrl+", "cmd+n", "f2f", "shift+tabb", ""):
        assert not is_key(typo), typo


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[step]]\nsay = "hi"\n\n[[step]]\npres = "b"\n',
            "line 7: step 2: unknown key 'pres'; a step has one of say, press, type, qa, wait, snapshot,"
            " expect",
        ),
        ('[[step]]\nqa = "skip"\nn = "ten"\n', "line 5: 'n' must be a number, got 'ten'"),
        (
            '[[step]]\nqa = "teleport"\n',
            "line 4: step 1: unknown QA action 'teleport'; valid: abort, answer_401",
        ),
        ('[[step]]\nqa = "revoke"\nn = 3\n', "line 5: step 1: QA action 'revoke' takes no 'n'"),
        (
            '[[step]]\nexpect = { mood = "calm" }\n',
            "step 1: expect has unknown key 'mood'; valid keys: state, user",
        ),
        ('[[step]]\nexpect = { state = "sleepy" }\n', "state 'sleepy' is not one of no_session, active"),
        ('[[step]]\nsay = "a"\npress = "b"\n', "line 3: step 1 must have exactly one of say, press"),
        ("ttl = 'long'\n[[step]]\nsay = 'a'\n", "line 3: 'ttl' must be a number"),
        ("", "no steps: add at least one [[step]]"),
        ("[[step]\n", "not valid TOML"),
        ("[[step]]\nrestart = false\n", "line 4: step 1: 'restart' must be true, got False"),
        ('[[step]]\npress = "b"\ndetach = true\n', "line 5: step 1: 'detach' goes only with 'qa'"),
        ('[[step]]\nqa = "burst"\ndetach = "yes"\n', "line 5: step 1: 'detach' must be true or false"),
        # Issue 16, item 13: a key that does not exist loaded, and the scenario passed.
        (
            '[[step]]\npress = "ctrl+nn"\n',
            "line 4: step 1: 'ctrl+nn' is not a key; a key is one character ('a', 'A', '/'), a key name",
        ),
        ('[[step]]\npress = ["tab", "entr"]\n', "line 4: step 1: 'entr' is not a key;"),
        ('[[step]]\npress = "cmd+n"\n', "'ctrl+n', 'shift+tab'"),
        # Issue 20, item 5: a fault narrowed to a share and a path.
        ('[[step]]\nqa = "revoke"\nrate = 0.3\n', "line 5: step 1: QA action 'revoke' is not a fault"),
        ('[[step]]\nqa = "down"\nrate = 0.3\n', "step 1: 'rate' narrows a fault turned on: add 'on = true'"),
        ('[[step]]\nqa = "down"\non = true\nrate = 0\n', "'rate' must be a probability above 0, at most 1"),
        ('[[step]]\nqa = "down"\non = true\nrate = 1.5\n', "'rate' must be a probability above 0"),
        ('[[step]]\nqa = "down"\non = true\npath = "graphql"\n', "'path' must be a part of a path starting"),
        ('[[step]]\npress = "b"\npath = "/api"\n', "line 5: step 1: 'path' goes only with 'qa'"),
    ],
)
def test_a_bad_file_is_refused_with_where_and_what_is_valid(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ScenarioError, match=None) as caught:
        load(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)
    err = io.StringIO()
    assert run_command([str(path)], every=False, out=io.StringIO(), err=err) == 2
    assert message in err.getvalue()


def test_a_missing_file_or_unknown_name_exits_2_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scenario", "run", str(tmp_path / "nowhere.toml")]) == 2
    assert "nowhere.toml: no such scenario file" in capsys.readouterr().err
    assert main(["scenario", "run", "no-such-scenario"]) == 2
    assert "is not a shipped scenario; shipped: 00-tour, 01-token-obtained" in capsys.readouterr().err
    assert main(["scenario", "run", "08"]) == 2  # a user and a guest variant
    assert "08: is ambiguous, it names 08-refresh-answers-503-guest, 08-refresh" in capsys.readouterr().err


@pytest.mark.slow  # scenario runs, through the command
def test_the_command_reports_each_scenario_and_writes_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = write(tmp_path, '[[step]]\nexpect = { user = "ada" }\n')
    junit = tmp_path / "out" / "junit.xml"
    ev = ["--evidence", str(tmp_path / "ev")]
    status = main(["scenario", "run", "01", str(failing), "--junit", str(junit), *ev, "--jobs", "1"])
    out = capsys.readouterr().out
    assert status == 1
    assert "PASS  01-token-obtained" in out and "FAIL  bad" in out
    assert "step at line 3 (expect): expected user ada, seen guest" in out
    assert "1 passed, 1 failed" in out
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    [failure] = suite.iter("failure")
    assert "expected user ada, seen guest" in (failure.get("message") or "")
    evidence = tmp_path / "ev" / "bad"
    assert (evidence / "timeline.jsonl").is_file()
    [shot] = evidence.glob("*failed-line-3*.svg")
    page = (evidence / "index.html").read_text()
    assert "FAILED" in page and "expected user ada, seen guest" in page
    assert 'src="chart.svg"' in page and f'src="{shot.name}"' in page
    chart = ET.parse(evidence / "chart.svg").getroot()
    lines = {e.get("class") for e in chart.iter("{http://www.w3.org/2000/svg}polyline")}
    assert lines == {"client", "server"}


@pytest.mark.slow  # scenario runs, in processes
def test_scenarios_run_side_by_side_in_processes_report_in_the_order_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = write(tmp_path, '[[step]]\nexpect = { state = "paused" }\n')
    junit = tmp_path / "junit.xml"
    status = main(["scenario", "run", str(failing), "02", "--jobs", "2", "--junit", str(junit)])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL  bad" in out and "expected state paused, seen active" in out
    assert "PASS  02-a-call-moves-the-deadline" in out
    assert "1 passed, 1 failed in" in out and "(2 at a time)" in out
    names = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")]
    assert names == ["bad", "02-a-call-moves-the-deadline"]


async def test_a_restart_keeps_the_server_and_the_data_and_resumes_the_session(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[step]]\nqa = "skip"\nn = 15\n\n[[step]]\nrestart = true\n\n'
        '[[step]]\nexpect = { state = "active", user = "guest", remaining = [59, 60],'
        " counters = { guest_sessions = 1, refreshes = 1 } }\n",
    )
    outcome = await run(load(path), evidence=tmp_path / "ev")
    assert outcome.passed, outcome.failure
    # The chart's time runs on across the restart: 15 s skipped before it, nothing after.
    assert [round(s.at) for s in outcome.samples] == [0, 15, 15, 15]
    assert [s.label for s in outcome.samples][1:3] == ["skip 15", "restart"]


def test_the_chart_runs_remaining_time_down_between_steps_and_jumps_at_them() -> None:
    samples = [
        Sample(0.0, 60.0, 60.0, ""),
        Sample(30.0, 60.0, 60.0, "background 30"),  # away 30 s, refreshed on return
        Sample(30.0, None, 30.0, "revoke"),  # no session on the client
    ]
    chart = ET.fromstring(chart_svg(samples, ttl=60.0))
    polylines = {
        e.get("class"): e.get("points", "") for e in chart.iter("{http://www.w3.org/2000/svg}polyline")
    }
    client = [tuple(map(float, p.split(","))) for p in polylines["client"].split()]
    heights = [round(y) for _x, y in client]
    axis = next(e for e in chart.iter("{http://www.w3.org/2000/svg}line") if e.get("class") == "y-axis")
    top, bottom = float(axis.get("y1", 0)), float(axis.get("y2", 0))
    top, middle, bottom = round(top), (top + bottom) / 2, round(bottom)
    # 60 s, down to 30 s at the second sample, back to 60 s; then down to 60-0, and to 0 (no session)
    assert heights == [top, round(middle), top, top, bottom]
    assert "background 30 · revoke" in ET.tostring(chart, encoding="unicode")  # one mark for one moment
