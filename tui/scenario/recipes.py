"""The README's QA recipes, made from the shipped scenarios: for each, the keys a tester presses in
the app to do by hand what the scenario does (QA actions through the panel: F2, N set with +/-,
the action's key, Esc back to the app), and what it shows (its title). One source of truth: the
README holds this table between two markers, and a test keeps it equal to what this makes
(`sessionkeeper scenario list --markdown`)."""

from __future__ import annotations

from collections.abc import Iterable

from sessionkeeper.api.network import Scope
from sessionkeeper.api.qa.actions import ACTIONS_BY_NAME, AMOUNTS, SCOPES
from sessionkeeper.tui.scenario.model import Scenario, Step

BEGIN = "<!-- recipes: made by `sessionkeeper scenario list --markdown`; do not edit by hand -->"
END = "<!-- recipes: end -->"
_KEY_WORDS = {
    "enter": "Enter",
    "tab": "Tab",
    "escape": "Esc",
    "down": "↓",
    "up": "↑",
    "left": "←",
    "right": "→",
    "space": "Space",
}


class NotOnTheKeyboard(ValueError):
    """A QA amount that the panel's +/- cannot reach."""


def key_words(key: str) -> str:
    if key in _KEY_WORDS:
        return _KEY_WORDS[key]
    if key.startswith("ctrl+"):
        return "Ctrl+" + key.removeprefix("ctrl+").upper()
    return key


def recipe(steps: Iterable[Step]) -> str:
    """The keys, in Markdown: `b` "LHR" `Tab` … F2 `w` Esc `y`. With a second instance (two
    terminals on one data dir, started with the same --data-dir and --backend), each change of
    window is said: *window 2:* … *window 1:* …; each window has its own panel and N."""
    steps = list(steps)
    two = any(step.instance == 2 for step in steps)
    words: list[str] = []
    window = 1
    panel_open = {1: False, 2: False}
    index = {1: AMOUNTS.index(30), 2: AMOUNTS.index(30)}  # the panel's N when the app starts
    where = {1: 0, 2: 0}  # the panel's scope (%): everywhere when the app starts
    opened = False
    say_window = two  # the next keys say which window they go to
    for step in steps:
        if step.instance == 2 and not opened:
            words.append("*open window 2 (same `--data-dir`, same `--backend`);*")
            opened, say_window = True, True
        if step.qa is None and not step.press and step.type is None and not step.restart:
            continue  # nothing pressed: a caption, a wait, an expectation, a snapshot
        if two and (say_window or step.instance != window):
            window, say_window = step.instance, False
            words.append(f"*window {window}:*")
        if step.qa is not None:
            if not panel_open[window]:
                words.append("F2")
                panel_open[window] = True
            action = ACTIONS_BY_NAME[step.qa]
            if action.amount and step.n is not None:
                if step.n not in AMOUNTS:
                    raise NotOnTheKeyboard(f"N={step.n:g} for {step.qa!r} is not one of {AMOUNTS}")
                target = AMOUNTS.index(int(step.n))
                words += ["`+`" if target > index[window] else "`-`"] * abs(target - index[window])
                index[window] = target
            if action.fault is not None and step.on is not False:
                # A fault turned on takes the panel's scope: `%` until it is the step's.
                scope = step.scope or Scope()
                if scope not in SCOPES:
                    raise NotOnTheKeyboard(f"{step.qa!r} {scope.short} is not one of the panel's scopes")
                target = SCOPES.index(scope)
                words += ["`%`"] * ((target - where[window]) % len(SCOPES))
                where[window] = target
            words.append(f"`{action.shown_key}`")
            continue
        if step.press or step.type is not None:
            if panel_open[window]:
                words.append("Esc")
                panel_open[window] = False
            if step.type is not None:
                words.append(f'"{step.type}"')
            words += [f"`{key_words(key)}`" for key in step.press]
        elif step.restart:
            words.append("`Ctrl+Q`, start again")
            panel_open[window] = False
    return " ".join(words) or "start the app"


def markdown_table(scenarios: Iterable[Scenario]) -> str:
    rows = [
        "| # | keys (F2 opens the QA panel, Esc closes it) | what it shows | scenario |",
        "| --- | --- | --- | --- |",
    ]
    for scenario in scenarios:
        cases = ", ".join(str(c) for c in scenario.covers)
        rows.append(f"| {cases} | {recipe(scenario.steps)} | {scenario.title} | `{scenario.name}` |")
    return "\n".join([BEGIN, *rows, END])


def plain_list(scenarios: Iterable[Scenario]) -> str:
    return "\n".join(
        f"{scenario.name:<52} {','.join(str(c) for c in scenario.covers):<12} {scenario.title}"
        for scenario in scenarios
    )
