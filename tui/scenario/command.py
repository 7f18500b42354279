"""`sessionkeeper scenario run`: runs scenarios headless, says pass or fail for each (and, for a failure,
the step, what was expected and what was seen), writes JUnit XML for CI. Exit status: 0 all passed,
1 one failed, 2 a scenario file could not be read."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TextIO

from sessionkeeper.tui.scenario.loader import ScenarioError, find, load, load_all, shipped
from sessionkeeper.tui.scenario.model import Outcome, Scenario
from sessionkeeper.tui.scenario.runner import run


def run_command(
    names: Sequence[str],
    *,
    every: bool,
    junit: Path | None = None,
    evidence: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    jobs: int | None = None,
) -> int:
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        scenarios = [load(path) for path in shipped()] if every else load_all(names)
    except ScenarioError as exc:
        print(f"sessionkeeper scenario: {exc}", file=err)
        return 2
    if not scenarios:
        print("sessionkeeper scenario: name a scenario (or a file), or give --all", file=err)
        return 2
    jobs = max(1, min(jobs or default_jobs(), len(scenarios)))
    started = time.perf_counter()
    if jobs == 1:
        outcomes = asyncio.run(_run_all(scenarios, evidence, out))
    else:
        outcomes = _run_in_processes(scenarios, evidence, out, jobs)
    failed = [o for o in outcomes if not o.passed]
    wall = time.perf_counter() - started
    print(
        f"{len(outcomes) - len(failed)} passed, {len(failed)} failed in {wall:.1f} s"
        + (f" ({jobs} at a time)" if jobs > 1 else ""),
        file=out,
    )
    if junit is not None:
        write_junit(outcomes, junit)
    if evidence is not None:
        from sessionkeeper.tui.scenario.evidence import write_overview

        print(f"evidence: {write_overview(outcomes, evidence)}", file=out)
    return 1 if failed else 0


def play_command(name: str, *, speed: float, err: TextIO | None = None) -> int:
    """The scenario in this terminal, on a fresh data directory (the demo starts from nothing)."""
    import shutil
    import tempfile

    from sessionkeeper.tui.app import build_app, run_app
    from sessionkeeper.tui.scenario.play import Player, PlayError
    from sessionkeeper.tui.settings import Settings

    err = err if err is not None else sys.stderr
    try:
        player = Player(load(find(name)), speed=speed)
    except (ScenarioError, PlayError) as exc:
        print(f"sessionkeeper scenario: {exc}", file=err)
        return 2
    scenario = player.scenario
    data = Path(tempfile.mkdtemp(prefix="sessionkeeper-play-"))
    try:
        app = build_app(Settings(ttl_s=scenario.ttl, warn_s=scenario.warn, data_dir=data))
        app.director = player
        app.reports_dir = Path(tempfile.gettempdir())  # the data dir goes when the play ends
        status = run_app(app)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return status


def record_command(
    path: Path, *, ttl: float, warn: float, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """The app on a fresh data directory (a replay starts from nothing too), recorded into `path`."""
    import shutil
    import tempfile

    from sessionkeeper.tui.app import build_app, run_app
    from sessionkeeper.tui.scenario.record import Recorder
    from sessionkeeper.tui.settings import Settings

    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if path.suffix != ".toml":
        print(f"sessionkeeper scenario: {path}: a scenario file ends in .toml", file=err)
        return 2
    recorder = Recorder(path, ttl=ttl, warn=warn)
    try:
        recorder.close()  # written at once: a path that cannot be written is said now
    except OSError as exc:
        print(f"sessionkeeper scenario: {path}: cannot write it ({exc.strerror})", file=err)
        return 2
    data = Path(tempfile.mkdtemp(prefix="sessionkeeper-record-"))
    try:
        app = build_app(Settings(ttl_s=ttl, warn_s=warn, data_dir=data))
        app.director = recorder
        app.reports_dir = Path(tempfile.gettempdir())  # the data dir goes when the recording ends
        status = run_app(app)
    finally:
        recorder.close()
        shutil.rmtree(data, ignore_errors=True)
    if status != 0:
        return status
    print(
        f"{len(recorder.steps)} steps recorded in {path}; replay: sessionkeeper scenario run {path}", file=out
    )
    return 0


def default_jobs() -> int:
    """One scenario per CPU this process may use: each is one event loop, busy on one core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


async def _run_all(scenarios: list[Scenario], evidence: Path | None, out: TextIO) -> list[Outcome]:
    outcomes = []
    for scenario in scenarios:
        outcome = await run(scenario, evidence=evidence)
        outcomes.append(outcome)
        _report(outcome, out)
    return outcomes


def _run_in_processes(
    scenarios: list[Scenario], evidence: Path | None, out: TextIO, jobs: int
) -> list[Outcome]:
    """Each scenario in a process of its own pool (each has its own backend, data and clocks, so
    they cannot meet); reported as each ends, returned in the order given."""
    # spawn, not fork: a forked child would inherit whatever threads this process has started.
    context = multiprocessing.get_context("spawn")
    done: dict[int, Outcome] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_run_one, scenario, evidence): i for i, scenario in enumerate(scenarios)}
        for future in as_completed(futures):
            outcome = future.result()
            done[futures[future]] = outcome
            _report(outcome, out)
    return [done[i] for i in range(len(scenarios))]


def _run_one(scenario: Scenario, evidence: Path | None) -> Outcome:
    outcome = asyncio.run(run(scenario, evidence=evidence))
    outcome.records.clear()  # the evidence is written; what goes back is the verdict
    outcome.samples.clear()
    return outcome


def _report(outcome: Outcome, out: TextIO) -> None:
    scenario = outcome.scenario
    mark = "PASS" if outcome.passed else "FAIL"
    cases = ",".join(str(c) for c in scenario.covers)
    took = f"(edge case {cases}; {outcome.seconds:.1f} s)" if cases else f"({outcome.seconds:.1f} s)"
    print(f"{mark}  {scenario.name}  {took}  {scenario.title}", file=out)
    if outcome.failure:
        print(f"      {outcome.failure}", file=out)
    out.flush()


def write_junit(outcomes: list[Outcome], path: Path) -> None:
    suite = ET.Element(
        "testsuite",
        name="sessionkeeper scenarios",
        tests=str(len(outcomes)),
        failures=str(sum(not o.passed for o in outcomes)),
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for outcome in outcomes:
        case = ET.SubElement(
            suite, "testcase", classname="scenario", name=outcome.scenario.name, time=f"{outcome.seconds:.3f}"
        )
        if not outcome.passed:
            failure = ET.SubElement(case, "failure", message=outcome.failure or "failed")
            failure.text = f"{outcome.scenario.source}\n{outcome.failure}"
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
