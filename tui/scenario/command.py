"""`sessionkeeper scenario run`: runs scenarios headless, says pass or fail for each (and, for a failure,
the step, what was expected and what was seen), writes JUnit XML for CI. Exit status: 0 all passed,
1 one failed, 2 a scenario file could not be read."""

from __future__ import annotations

import asyncio
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tui.scenario.loader import ScenarioError, load, load_all, shipped
from tui.scenario.model import Scenario
from tui.scenario.runner import Outcome, run


def run_command(
    names: Sequence[str],
    *,
    every: bool,
    junit: Path | None = None,
    evidence: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
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
    outcomes = asyncio.run(_run_all(scenarios, evidence, out))
    failed = [o for o in outcomes if not o.passed]
    total = sum(o.seconds for o in outcomes)
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed in {total:.1f} s", file=out)
    if junit is not None:
        write_junit(outcomes, junit)
    return 1 if failed else 0


async def _run_all(scenarios: list[Scenario], evidence: Path | None, out: TextIO) -> list[Outcome]:
    outcomes = []
    for scenario in scenarios:
        outcome = await run(scenario, evidence=evidence)
        outcomes.append(outcome)
        mark = "PASS" if outcome.passed else "FAIL"
        cases = ",".join(str(c) for c in scenario.covers)
        print(
            f"{mark}  {scenario.name}  (edge case {cases}; {outcome.seconds:.1f} s)  {scenario.title}",
            file=out,
        )
        if outcome.failure:
            print(f"      {outcome.failure}", file=out)
        out.flush()
    return outcomes


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
