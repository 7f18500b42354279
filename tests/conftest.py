"""The suite's two lanes, its Hypothesis profile, and fixtures shared across packages.

THE LANES. `python -m pytest` runs everything (`.ci/run` runs exactly that). `python -m pytest -m
"not slow"` is the fast lane, what a developer runs before each commit: under two minutes here on
two workers, with the machine busy. What is marked `slow` (registered in pyproject.toml, strict
markers on), and why:
- what leaves the process for long: the browser tests (headless Chromium), ruff and mypy as tests,
  scenarios run side by side in processes;
- scenario runs: each shipped scenario (a whole app run; the QA recipe of an edge case), played or
  recorded; except three, under a second each, whose edge cases no fast test drives through the
  app otherwise (tests/tui/test_scenarios.py, ALSO_IN_THE_FAST_LANE);
- sweeps: the monkey, every button of every screen three ways, every tab stop of every step, the
  footer at each size; and 500 calls at once over loopback (rule 8 stays fast, in memory);
- Pilot suites that walk the app through flows and past deadlines: a module whose tests take more
  than about 2 s each here is marked whole (`pytestmark`); in a module of quicker tests, one that
  takes about 3 s or more is marked alone.
A new test is fast unless it is of one of these kinds, or takes about 3 s or more here. The fast
lane still covers every package with real parts: the engine and the manager (their state machines
at the "dev" profile), the mock backend in process and on loopback, the client against it (the
parity table over REST and GraphQL), and the real app under Pilot (start-up, keys after a screen
change, layout, files planted in the data dir, snapshots, the QA panel's outliving work, three shipped
scenarios).

THE HYPOTHESIS PROFILE (tests/profiles.py): "ci" is today's numbers, "dev" a tenth of them. A run
loads the one named by `--hypothesis-profile` or HYPOTHESIS_PROFILE; otherwise "dev" when it leaves
the slow tests out (`-m "not slow"`), else "ci". So the full command, the one CI runs, gets today's
numbers with nothing to add, and the fast lane the cheap ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.files import plant_victim
from tests.profiles import profile_for


def _profile(config: pytest.Config) -> str:
    return profile_for(config.getoption("hypothesis_profile", None), config.getoption("markexpr") or "")


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module is imported: a settings(...) takes the loaded profile's values then.
    settings.load_profile(_profile(config))


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {_profile(config)}"


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """umask 0: nothing is private by accident, the modes must come from the code under test."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the data dir that a planted link points at (tests/files.py)."""
    return plant_victim(tmp_path)
