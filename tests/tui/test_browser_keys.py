"""Keys a browser keeps (issue 18, item 4): a browser never hands Ctrl+N, Ctrl+T, Ctrl+W (and the
rest of tui.widgets.footer.BROWSER_KEEPS) to a page, so every action of every screen has a key it
leaves to the page, besides the terminal's; in a browser the footer names that key, in a terminal
the terminal's. (Headless Chromium has no browser accelerators, so this is pinned here, on the
bindings, and under Pilot with the web driver's environment.)"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

import sessionkeeper.tui.screens
from sessionkeeper.tui.app import SessionKeeperApp
from sessionkeeper.tui.screens.booking import FlightsStep, ReviewStep, SearchStep
from sessionkeeper.tui.widgets.footer import BROWSER_RESERVED, BROWSER_SAFE, FittingFooter
from tests.tui.harness import running

WEB = "textual.drivers.web_driver:WebDriver"  # what textual-serve sets for the app it starts


def screen_classes() -> list[type[Screen[Any]]]:
    found: dict[str, type[Screen[Any]]] = {}
    for module in pkgutil.iter_modules(sessionkeeper.tui.screens.__path__):
        loaded = importlib.import_module(f"sessionkeeper.tui.screens.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__.startswith("sessionkeeper."):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def keys_by_action(cls: type[Screen[Any]]) -> dict[str, set[str]]:
    """Every action reachable on a screen of `cls` ("app." for the app's), with its keys: the
    screen's bindings (its own and inherited) and the app's."""
    actions: defaultdict[str, set[str]] = defaultdict(set)
    for key, bindings in cls._merge_bindings().key_to_bindings.items():
        for binding in bindings:
            action = binding.action
            actions[action if action.startswith("app.") else f"screen.{action}"].add(key)
    for key, bindings in SessionKeeperApp._merge_bindings().key_to_bindings.items():
        for binding in bindings:
            actions[f"app.{binding.action}"].add(key)
    return dict(actions)


def test_the_screens_are_all_walked() -> None:
    names = {cls.__name__ for cls in screen_classes()}
    assert {"HomeScreen", "SearchStep", "ReviewStep", "ConfirmationStep", "QAPanel", "ExpiryPrompt"} <= names
    assert {"PasswordPrompt", "SignInScreen", "SignedOutScreen", "BookingsScreen"} <= names


@pytest.mark.parametrize("cls", screen_classes(), ids=lambda cls: cls.__name__)
def test_every_action_of_every_screen_has_a_key_a_browser_leaves_to_the_page(cls: type[Screen[Any]]) -> None:
    actions = keys_by_action(cls)
    kept = {action: keys for action, keys in actions.items() if not keys - BROWSER_RESERVED}
    assert kept == {}, f"{cls.__name__}: only keys a browser keeps"
    # The terminal's keys stay: each kept key's action has both.
    for action, keys in actions.items():
        for key in keys & set(BROWSER_SAFE):
            assert BROWSER_SAFE[key] in keys, (cls.__name__, action, keys)


def test_next_pay_done_and_quit_have_alt_keys() -> None:
    assert BROWSER_SAFE == {"ctrl+n": "alt+n", "ctrl+q": "alt+q"}
    assert set(BROWSER_SAFE.values()).isdisjoint(BROWSER_RESERVED)
    for cls in (SearchStep, FlightsStep, ReviewStep):
        assert {"ctrl+n", "alt+n"} <= keys_by_action(cls)["screen.next"]


def footer_keys(app: SessionKeeperApp) -> dict[str, str]:
    """What the footer of the screen in front shows: {description: key}."""
    shown: dict[str, str] = {}
    for key in app.screen.query_one(FittingFooter).query("FooterKey"):
        assert isinstance(key, Widget)
        shown[str(getattr(key, "description", ""))] = str(getattr(key, "key", ""))
    return shown


async def test_in_a_browser_the_footer_shows_the_keys_a_browser_leaves_to_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTUAL_DRIVER", WEB)
    async with running(tmp_path) as h:
        assert footer_keys(h.app)["Quit"] == "alt+q"
        await h.fill_search()
        await h.pilot.pause()
        shown = footer_keys(h.app)
        assert shown["Next"] == "alt+n" and shown["Quit"] == "alt+q", shown
        assert not set(shown.values()) & BROWSER_RESERVED, shown
        # The key shown works: Alt+N goes on, as Ctrl+N does, and types nothing into the field.
        await h.step("alt+n")
        assert isinstance(h.app.screen, FlightsStep), type(h.app.screen).__name__


async def test_in_a_terminal_the_footer_shows_the_terminal_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.pilot.pause()
        shown = footer_keys(h.app)
        assert shown["Next"] == "ctrl+n" and shown["Quit"] == "ctrl+q", shown
        await h.step("ctrl+n")
        assert isinstance(h.app.screen, FlightsStep)


async def test_alt_n_in_a_field_goes_on_and_types_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTUAL_DRIVER", WEB)
    async with running(tmp_path) as h:
        await h.open_search()
        await h.fill("origin", "LHR")
        await h.fill("destination", "CDG")
        await h.fill("date", "2030-05-01")
        await h.step("alt+n")
        assert isinstance(h.app.screen, FlightsStep)
        await h.step("escape")
        assert isinstance(h.app.screen, SearchStep) and h.value("date") == "2030-05-01"


def test_binding_keys_are_textual_key_names() -> None:
    # A key Textual would not recognise is a key nobody can press.
    for cls in screen_classes():
        for key in cls._merge_bindings().key_to_bindings:
            assert key == key.lower() and " " not in key, (cls.__name__, key)
    assert Binding("alt+n", "next").key == "alt+n"
