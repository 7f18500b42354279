"""Reads scenario files (TOML, docs/scenarios.md) into `Scenario` values, or says exactly what is wrong:
the file, the line, and the keys or values that would be valid (`ScenarioError`)."""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual.keys import REPLACED_KEYS, Keys, key_to_character

from sessionkeeper.api.qa.actions import ACTIONS_BY_NAME
from sessionkeeper.tui.scenario.model import CONDITION_KEYS, DRIFTS, STATES, Condition, Scenario, Step

SHIPPED = Path(__file__).resolve().parent / "shipped"
TOP_KEYS = ("title", "covers", "ttl", "warn", "lifetime", "step")
ACTION_KEYS = ("say", "press", "type", "qa", "wait", "snapshot", "expect", "restart")
STEP_KEYS = (*ACTION_KEYS, "n", "on", "detach", "rate", "path", "within", "instance")
# The actions a second instance can take: `say` is the scenario's, `restart` the first app's.
_INSTANCE_ACTIONS = ("press", "type", "qa", "wait", "snapshot", "expect")
_STEP_HEADER = re.compile(r"^\s*\[\[\s*step\s*\]\]")


MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
KEY_FORMS = (
    "a key is one character ('a', 'A', '/'), a key name as Textual names it (enter, escape, tab, "
    "backspace, space, up, pageup, f1, plus, left_square_bracket...), or either after "
    "ctrl+, shift+ or alt+ ('ctrl+n', 'shift+tab')"
)
# The key names Textual sends that are not characters: enter, f12, pageup... (modifiers cut off).
_NAMED_KEYS = frozenset(key.value.rpartition("+")[2] for key in Keys)


def is_key(name: str) -> bool:
    """True if Textual could send `name` as a key: "ctrl+nn" is not one, and would never match."""
    *modifiers, base = name.split("+")
    if not base or any(modifier not in MODIFIERS for modifier in modifiers):
        return name == "+"  # the plus key itself, typed as its character
    if len(base) == 1:
        return base.isprintable()
    return base in _NAMED_KEYS or key_to_character(REPLACED_KEYS.get(base, base)) is not None


class ScenarioError(Exception):
    """A scenario file that cannot be run; str() names the file and the line."""


def shipped() -> list[Path]:
    return sorted(SHIPPED.glob("*.toml"))


def find(name_or_path: str) -> Path:
    """A shipped scenario by name (`01-token-obtained`), by its name without the number (`tour`), by
    a unique prefix of either (`01`, `token`), or a file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"{name_or_path}: no such scenario file")
        return path
    every = shipped()

    def words(p: Path) -> str:  # the name without its number: `tour` for 00-tour
        number, _, rest = p.stem.partition("-")
        return rest if number.isdigit() else p.stem

    matches: list[Path] = []
    tests: tuple[Callable[[Path], bool], ...] = (
        lambda p: p.stem == name_or_path,
        lambda p: words(p) == name_or_path,
        lambda p: p.stem.startswith(name_or_path) or words(p).startswith(name_or_path),
    )
    for matching in tests:
        matches = [p for p in every if matching(p)]
        if matches:
            break
    if len(matches) != 1:
        names = ", ".join(p.stem for p in (matches or every))
        found = "is ambiguous, it names" if matches else "is not a shipped scenario; shipped:"
        raise ScenarioError(f"{name_or_path}: {found} {names}")
    return matches[0]


def load(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return _Reader(path, text).scenario(data)


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.step_lines = [i + 1 for i, line in enumerate(self.lines) if _STEP_HEADER.match(line)]

    def fail(self, line: int | None, message: str) -> ScenarioError:
        where = f"{self.path}, line {line}" if line else str(self.path)
        return ScenarioError(f"{where}: {message}")

    def line_of(self, key: str, start: int = 1, end: int | None = None) -> int | None:
        """The first line in [start, end) where `key` is set (`key =`, or `key = ` in an inline table)."""
        pattern = re.compile(rf"(^|[{{,\s]){re.escape(key)}\s*=")
        stop = end if end is not None else len(self.lines) + 1
        for number in range(start, stop):
            if pattern.search(self.lines[number - 1]):
                return number
        return start if start > 1 else None

    # -- the file ---------------------------------------------------------------------------------

    def scenario(self, data: dict[str, Any]) -> Scenario:
        for key in data:
            if key not in TOP_KEYS:
                raise self.fail(self.line_of(key), f"unknown key {key!r}; valid keys: {', '.join(TOP_KEYS)}")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise self.fail(self.line_of("title"), "'title' must be a non-empty string")
        covers = data.get("covers", [])  # a recorded repro may cover no edge case of the list
        if isinstance(covers, int) and not isinstance(covers, bool):
            covers = [covers]
        if not (isinstance(covers, list) and all(_case(c) for c in covers)):
            raise self.fail(
                self.line_of("covers"), "'covers' must be an edge case number 1-20, or a list of them"
            )
        ttl = self.number(data, "ttl", 60.0, self.line_of("ttl"), low=10.0)
        warn = self.number(data, "warn", min(20.0, ttl / 3), self.line_of("warn"), low=1.0)
        if warn >= ttl:
            raise self.fail(self.line_of("warn"), f"'warn' ({warn:g}) must be shorter than 'ttl' ({ttl:g})")
        steps = data.get("step")
        if not (isinstance(steps, list) and steps):
            raise self.fail(None, "no steps: add at least one [[step]]")
        built = tuple(self.step(i, raw) for i, raw in enumerate(steps))
        if any(step.instance == 2 for step in built):
            restart = next((step for step in built if step.restart), None)
            if restart is not None:
                raise self.fail(
                    restart.line, "'restart' does not go in a scenario with a second instance (instance = 2)"
                )
        lifetime = None
        if "lifetime" in data:
            lifetime = self.number(data, "lifetime", 0.0, self.line_of("lifetime"), low=30.0)
        return Scenario(
            self.path.stem, title.strip(), tuple(covers), ttl, warn, built, str(self.path), lifetime
        )

    def number(
        self, data: dict[str, Any], key: str, default: float, line: int | None, *, low: float
    ) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(line, f"{key!r} must be a number, got {value!r}")
        if value < low:
            raise self.fail(line, f"{key!r} must be at least {low:g}, got {value!r}")
        return float(value)

    # -- a step -----------------------------------------------------------------------------------

    def step(self, index: int, raw: Any) -> Step:
        start = self.step_lines[index] if index < len(self.step_lines) else None
        end = self.step_lines[index + 1] if index + 1 < len(self.step_lines) else None
        number = f"step {index + 1}"

        def line(key: str) -> int | None:
            return self.line_of(key, start or 1, end)

        if not isinstance(raw, dict):
            raise self.fail(start, f"{number} must be a table")
        for key in raw:
            if key not in STEP_KEYS:
                raise self.fail(
                    line(key),
                    f"{number}: unknown key {key!r}; a step has one of {', '.join(ACTION_KEYS)}"
                    " (and n/on/detach/rate/path with qa, within with wait, instance with any but say and"
                    " restart)",
                )
        actions = [key for key in ACTION_KEYS if key in raw]
        if len(actions) != 1:
            said = ", ".join(actions) or "none"
            raise self.fail(
                start, f"{number} must have exactly one of {', '.join(ACTION_KEYS)} (it has: {said})"
            )
        action = actions[0]
        for extra, owner in (
            ("n", "qa"),
            ("on", "qa"),
            ("detach", "qa"),
            ("rate", "qa"),
            ("path", "qa"),
            ("within", "wait"),
        ):
            if extra in raw and action != owner:
                raise self.fail(line(extra), f"{number}: {extra!r} goes only with {owner!r}")
        at = start or 0
        instance = raw.get("instance", 1)
        if "instance" in raw:
            if action not in _INSTANCE_ACTIONS:
                raise self.fail(line("instance"), f"{number}: 'instance' does not go with {action!r}")
            if instance not in (1, 2) or isinstance(instance, bool):
                raise self.fail(line("instance"), f"{number}: 'instance' must be 1 or 2, got {instance!r}")
        step = self._action_step(at, number, raw, action, line)
        return dataclasses.replace(step, instance=instance) if instance != 1 else step

    def _action_step(self, at: int, number: str, raw: dict[str, Any], action: str, line: Any) -> Step:
        value = raw[action]
        if action in ("say", "type", "snapshot"):
            if not isinstance(value, str) or not value:
                raise self.fail(
                    line(action), f"{number}: {action!r} must be a non-empty string, got {value!r}"
                )
            if action == "say":
                return Step(at, say=value)
            return Step(at, type=value) if action == "type" else Step(at, snapshot=value)
        if action == "press":
            keys = [value] if isinstance(value, str) else value
            if not (isinstance(keys, list) and keys and all(isinstance(k, str) and k for k in keys)):
                raise self.fail(
                    line(action), f"{number}: 'press' must be a key or a list of keys, got {value!r}"
                )
            for key in keys:
                if not is_key(key):
                    raise self.fail(line(action), f"{number}: {key!r} is not a key; {KEY_FORMS}")
            return Step(at, press=tuple(keys))
        if action == "qa":
            return self.qa_step(at, number, raw, line)
        if action == "restart":
            if value is not True:
                raise self.fail(line(action), f"{number}: 'restart' must be true, got {value!r}")
            return Step(at, restart=True)
        condition = self.condition(value, number, action, line(action))
        if action == "wait":
            within = self.number(raw, "within", 5.0, line("within"), low=0.0)
            return Step(at, wait=condition, within=within)
        return Step(at, expect=condition)

    def qa_step(self, at: int, number: str, raw: dict[str, Any], line: Any) -> Step:
        name = raw["qa"]
        action = ACTIONS_BY_NAME.get(name) if isinstance(name, str) else None
        if action is None:
            raise self.fail(
                line("qa"),
                f"{number}: unknown QA action {name!r}; valid: {', '.join(sorted(ACTIONS_BY_NAME))}",
            )
        n = None
        if "n" in raw:
            if not action.amount:
                raise self.fail(line("n"), f"{number}: QA action {name!r} takes no 'n'")
            n = self.number(raw, "n", 0.0, line("n"), low=0.0)
        on = raw.get("on")
        if on is not None and (not action.switch or not isinstance(on, bool)):
            problem = "takes no 'on'" if not action.switch else "needs 'on' = true or false"
            raise self.fail(line("on"), f"{number}: QA action {name!r} {problem}")
        detach = raw.get("detach", False)
        if not isinstance(detach, bool):
            raise self.fail(line("detach"), f"{number}: 'detach' must be true or false, got {detach!r}")
        rate, path = self.scope(raw, number, name, action.fault, line)
        return Step(at, qa=name, n=n, on=on, detach=detach, rate=rate, path=path)

    def scope(
        self, raw: dict[str, Any], number: str, name: str, fault: str | None, line: Any
    ) -> tuple[float | None, str | None]:
        """A fault's `rate` (a probability above 0, at most 1) and `path` (a part of a request's
        path), when the step narrows it; only a fault switched on takes them."""
        if "rate" not in raw and "path" not in raw:
            return None, None
        key = "rate" if "rate" in raw else "path"
        if fault is None:
            raise self.fail(line(key), f"{number}: QA action {name!r} is not a fault: it takes no {key!r}")
        if raw.get("on") is not True:
            raise self.fail(line(key), f"{number}: {key!r} narrows a fault turned on: add 'on = true'")
        rate = raw.get("rate", 1.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
            raise self.fail(
                line("rate"), f"{number}: 'rate' must be a probability above 0, at most 1, got {rate!r}"
            )
        path = raw.get("path", "")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise self.fail(
                line("path"), f"{number}: 'path' must be a part of a path starting with '/', got {path!r}"
            )
        return float(rate), path

    def condition(self, value: Any, number: str, action: str, line: int | None) -> Condition:
        if not isinstance(value, dict) or not value:
            raise self.fail(line, f"{number}: {action!r} must be a table of {', '.join(CONDITION_KEYS)}")
        for key in value:
            if key not in CONDITION_KEYS:
                raise self.fail(
                    line,
                    f"{number}: {action} has unknown key {key!r}; valid keys: {', '.join(CONDITION_KEYS)}",
                )
        state, user, drift = value.get("state"), value.get("user"), value.get("drift")
        if state is not None and state not in STATES:
            raise self.fail(line, f"{number}: state {state!r} is not one of {', '.join(STATES)}")
        if user is not None and not isinstance(user, str):
            raise self.fail(line, f"{number}: 'user' must be a string (guest, none or a username)")
        if drift is not None and drift not in DRIFTS:
            raise self.fail(line, f"{number}: drift {drift!r} is not one of {', '.join(DRIFTS)}")
        remaining = value.get("remaining")
        if remaining is not None:
            if not (
                isinstance(remaining, list)
                and len(remaining) == 2
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in remaining)
                and remaining[0] <= remaining[1]
            ):
                raise self.fail(
                    line, f"{number}: 'remaining' must be [low, high] in seconds, got {remaining!r}"
                )
            remaining = (float(remaining[0]), float(remaining[1]))
        screen = value.get("screen", [])
        screen = [screen] if isinstance(screen, str) else screen
        timeline = value.get("timeline", [])
        for key, texts in (("screen", screen), ("timeline", timeline)):
            if not (isinstance(texts, list) and all(isinstance(t, str) and t for t in texts)):
                raise self.fail(line, f"{number}: {key!r} must be a string or a list of strings")
        counters = value.get("counters", {})
        if not (
            isinstance(counters, dict)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counters.values())
        ):
            raise self.fail(line, f"{number}: 'counters' must be a table of whole numbers")
        prompt = value.get("prompt")
        if prompt is not None and not isinstance(prompt, bool):
            raise self.fail(line, f"{number}: 'prompt' must be true or false")
        return Condition(
            state=state,
            user=user,
            remaining=remaining,
            screen=tuple(screen),
            counters=dict(counters),
            drift=drift,
            timeline=tuple(timeline),
            prompt=prompt,
        )


def load_all(names: Sequence[str]) -> list[Scenario]:
    return [load(find(name)) for name in names]


def _case(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 20
