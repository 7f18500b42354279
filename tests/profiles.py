"""Hypothesis profiles: "ci" is today's numbers, "dev" a tenth of them (see tests/conftest.py for
which one a run loads).

A test that runs more than Hypothesis's default asks for `examples(n)`, n being its number under
"ci"; under "dev" it gets n / 10.
"""

from __future__ import annotations

import os
import re

from hypothesis import settings

# Hypothesis's own default, and so the "ci" profile's.
CI_EXAMPLES = 100
settings.register_profile("ci", max_examples=CI_EXAMPLES)
settings.register_profile("dev", max_examples=CI_EXAMPLES // 10)

_LEAVES_SLOW_OUT = re.compile(r"\bnot\s+slow\b")


def profile_for(named: str | None, markexpr: str) -> str:
    """The profile named (`--hypothesis-profile`, or HYPOTHESIS_PROFILE), else "dev" when the run
    leaves the slow tests out (`-m "not slow"`), else "ci"."""
    named = named or os.environ.get("HYPOTHESIS_PROFILE")
    if named:
        return named
    return "dev" if _LEAVES_SLOW_OUT.search(markexpr) else "ci"


def examples(ci: int) -> int:
    """How many examples a test that runs `ci` of them under "ci" runs under the loaded profile."""
    return max(1, ci * settings().max_examples // CI_EXAMPLES)
