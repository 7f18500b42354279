"""What a scenario is: a title, the edge cases it covers, the TTL and warning window it runs with, and
its steps. Plain values, checked when they are built (tui.scenario.loader reads them from TOML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sessionkeeper.api.network import Scope
    from sessionkeeper.api.wire import Exchange

# What an expectation (or a wait's condition) may name; docs/scenarios.md says what each means.
CONDITION_KEYS = ("state", "user", "remaining", "screen", "counters", "drift", "timeline", "prompt")
STATES = ("no_session", "active", "warning", "refreshing", "recovering", "paused", "expired", "signed_out")
DRIFTS = ("+", "-", "0")


def timeline_detail(wanted: str) -> tuple[str, tuple[str, str] | None]:
    """A condition's timeline entry: a name (`resumed`), or a name and one of its details
    (`resumed/how=sleep`): `("resumed", ("how", "sleep"))`."""
    name, _, detail = wanted.partition("/")
    key, _, value = detail.partition("=")
    return name, ((key, value) if detail else None)


@dataclass(frozen=True, slots=True)
class Condition:
    """What must hold: every given field, at one moment."""

    state: str | None = None
    user: str | None = None  # "guest", a username, or "none"
    remaining: tuple[float, float] | None = None  # the client's remaining seconds, inclusive
    screen: tuple[str, ...] = ()  # texts that must all be on the screen
    counters: dict[str, int] = field(default_factory=dict)  # the server's counters, exactly
    drift: str | None = None  # the sign of server-minus-client remaining time ("0": within 1 s)
    timeline: tuple[str, ...] = ()  # event names, in this order, since the scenario began
    prompt: bool | None = None  # the near-expiry prompt shown or not


@dataclass(frozen=True, slots=True)
class Step:
    """One step: exactly one of its actions is set. `line` is where it starts in its file."""

    line: int
    say: str | None = None
    press: tuple[str, ...] = ()
    type: str | None = None
    qa: str | None = None
    n: float | None = None  # the QA action's N (seconds, or calls for a burst)
    on: bool | None = None  # a QA switch: on or off (toggled when not said)
    detach: bool = False  # a QA action started, and the next step at once (it finishes meanwhile)
    rate: float | None = None  # a fault turned on: the probability per request (None: every one)
    path: str | None = None  # a fault turned on: only requests whose path holds this
    wait: Condition | None = None
    within: float = 5.0  # a wait's bound, in seconds of real time
    snapshot: str | None = None
    expect: Condition | None = None
    restart: bool = False  # quit the app and start it again on the same data (the server runs on)
    instance: int = 1  # which app the step drives: 2 is a second one on the same data dir (rule 14)

    @property
    def qa_words(self) -> str:
        """A QA step as the chart and the evidence page name it: `skip 30`, `down on`."""
        if self.qa is None:
            return ""
        words = self.qa + (f" {self.n:g}" if self.n is not None else "") + (" …" if self.detach else "")
        words += "" if self.on is None else (" on" if self.on else " off")
        if self.rate is not None and self.rate < 1:
            words += f" {self.rate:.0%}"
        return words + (f" {self.path}" if self.path else "")

    @property
    def scope(self) -> Scope | None:
        """Where the fault this step turns on applies (`rate`, `path`); None when it does not say
        (the QA panel's scope, everywhere unless `%` was pressed)."""
        if self.rate is None and self.path is None:
            return None
        from sessionkeeper.api.network import Scope

        return Scope(1.0 if self.rate is None else self.rate, self.path or "")

    @property
    def kind(self) -> str:
        for name in ("say", "press", "type", "qa", "wait", "snapshot", "expect", "restart"):
            value: Any = getattr(self, name)
            if value not in (None, (), False):
                return name
        raise AssertionError("a step with no action")  # the loader never builds one


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str  # the file's stem
    title: str
    covers: tuple[int, ...]  # edge cases of docs/rules.md
    ttl: float
    warn: float
    steps: tuple[Step, ...]
    source: str  # the file it came from
    lifetime: float | None = None  # the backend's absolute lifetime (rule 15); None: its default

    @property
    def instances(self) -> int:
        """How many apps it runs at once on one data dir: 2 when a step names the second."""
        return max((step.instance for step in self.steps), default=1)


# -- what a run comes to (tui.scenario.runner makes them, tui.scenario.evidence draws them) ---------


@dataclass
class Outcome:
    """How a scenario went: `failure` says which step, what was expected and what was seen."""

    scenario: Scenario
    passed: bool
    seconds: float
    failure: str | None = None
    snapshots: list[Path] = field(default_factory=list)
    # With evidence: what each step did (and the screenshots it changed), the app's first screen
    # (and the second window's, as it opens), and the two sides' remaining time after each step,
    # for the chart (tui/scenario/evidence.py).
    records: list[StepRecord] = field(default_factory=list)
    opening: list[Shot] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    # Every request of the scenario's apps (a restart's and a second window's included), for the
    # evidence's HAR file: plain records, as an outcome crosses processes (`--jobs`).
    exchanges: list[Exchange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # seconds on the client's session clock since the scenario began (QA skips included)
    client: float | None  # the client's remaining time
    server: float | None  # the server's, from /__qa/state
    label: str  # what happened just before: a QA action or keys, "" for nothing worth marking
    line: int | None = None  # the line of the step just before (None: the scenario's start)


@dataclass(frozen=True, slots=True)
class StepRecord:
    step: Step
    passed: bool
    shots: tuple[Shot, ...] = ()  # what the step changed on screen, or its snapshot, or its failure
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Shot:
    """An SVG screenshot of one app: `window` 2 is the second instance's."""

    path: Path
    window: int = 1
    why: str = "changed"  # "changed", "snapshot" (a snapshot step asked), "failed", "start"
