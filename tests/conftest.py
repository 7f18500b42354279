"""The suite's two lanes, its Hypothesis profile, and fixtures shared across packages.

THE LANES. `python -m pytest` runs everything (`.ci/run` runs exactly that). `python -m pytest -m
"not slow"` is the fast lane, what a developer runs before each commit: under two minutes here on
two workers. The rule for `slow` (registered in pyproject.toml; strict markers on):
- what leaves the process for long: the browser tests (headless Chromium), ruff and mypy run as
  tests, the shipped scenarios run one by one (each a whole app run; the QA recipe of an edge case);
- the monkey (hundreds of random keys a seed);
- Pilot suites that start the real app for many cases, or walk it through long flows: a module
  whose tests take about 2 s or more each here is marked whole (`pytestmark`); in a module that is
  mostly quick, a test of about 3 s or more is marked alone.
The fast lane still covers every package with real parts: the engine and the manager (their
state machines at the "dev" profile), the mock backend in process and on loopback, the client
against it, and the real app under Pilot (start-up, screens and what they say, keys and layout,
the QA panel, files, the edge cases that are not also a shipped scenario).

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
