"""Textual's footer, except that a key that does not fit is left out whole, and that in a browser
it names the key a browser leaves to the page.

In a narrow terminal Textual's footer cuts the last key it has room for under the command
palette's key, leaving a stray letter or two; here such a key is hidden instead (the screen's own
buttons still name every key).

A browser keeps some keys for itself and never hands them to a page (BROWSER_KEEPS): an action
bound to one of them has a second binding, to a key browsers leave alone (BROWSER_SAFE), shown
only in a browser; in a terminal the footer shows the terminal's key, as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets import Footer

# Selected by type name: FooterKey lives in a private module of Textual's.
_KEY = "FooterKey"
_PALETTE = "-command-palette"

# Keys a browser acts on itself and never hands to a page, whatever the page does (preventDefault
# included), and which browsers do it. Chromium (Chrome, Edge, Brave...) reserves its tab and window
# commands (`BrowserCommandController::IsReservedCommandOrKey`); Firefox marks the same commands
# `reserved="true"`. On macOS these commands are on Cmd, and Ctrl+N, Ctrl+T, Ctrl+W reach the page.
BROWSER_KEEPS: dict[str, str] = {
    "ctrl+n": "Chrome, Edge, Firefox (new window)",
    "ctrl+t": "Chrome, Edge, Firefox (new tab)",
    "ctrl+w": "Chrome, Edge, Firefox (close tab)",
    "ctrl+f4": "Chrome, Edge, Firefox on Windows and Linux (close tab)",
    "ctrl+shift+n": "Chrome, Edge (new incognito window); Firefox (reopen closed window)",
    "ctrl+shift+t": "Chrome, Edge, Firefox (reopen closed tab)",
    "ctrl+shift+w": "Chrome, Edge, Firefox (close window)",
    "ctrl+shift+p": "Firefox (new private window)",
    "ctrl+tab": "Chrome, Edge, Firefox (next tab)",
    "ctrl+shift+tab": "Chrome, Edge, Firefox (previous tab)",
    "ctrl+pagedown": "Chrome, Edge, Firefox (next tab)",
    "ctrl+pageup": "Chrome, Edge, Firefox (previous tab)",
    "ctrl+q": "Firefox on Linux (quit)",
    "ctrl+shift+q": "Chrome on Linux and ChromeOS (quit)",
    "alt+f4": "the window manager on Windows and Linux (close window)",
    "f11": "Chrome, Edge, Firefox (full screen; Chromium keeps it while in full screen)",
}
BROWSER_RESERVED = frozenset(BROWSER_KEEPS)

# The key each kept key's action also has, for a browser: Alt+letter reaches the page in Chrome,
# Edge and Firefox on Windows and Linux (no menu of theirs is on N or Q), and is no text a field
# could want. (On macOS, where Option+letter types a character, the Ctrl key itself reaches the page.)
BROWSER_SAFE: dict[str, str] = {"ctrl+n": "alt+n", "ctrl+q": "alt+q"}


def in_browser() -> bool:
    """True when the app runs in a browser tab (textual-serve starts it with Textual's web driver)."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def _target(node: DOMNode, action: str) -> tuple[int, str]:
    """What an action runs on: `app.quit` bound on a screen is the app's `quit`."""
    if action.startswith("app."):
        return id(node.app), action.removeprefix("app.")
    return id(node), action


class FittingFooter(Footer):
    def compose(self) -> ComposeResult:
        keys: Iterator[Widget] = iter(super().compose())
        if not in_browser():
            yield from keys
            return
        safe = self._browser_safe()
        for key in keys:
            twin = safe.get((getattr(key, "key", ""), getattr(key, "action", "")))
            if twin is not None:
                # The same action, named by the key the browser hands over.
                key.key = twin.key  # type: ignore[attr-defined]
                key.key_display = self.app.get_key_display(twin)  # type: ignore[attr-defined]
            yield key

    def _browser_safe(self) -> dict[tuple[str, str], Binding]:
        """For each active binding on a key a browser keeps, the same action's binding on a key it
        leaves to the page: {(kept key, action): safe binding}."""
        active = list(self.screen.active_bindings.values())
        safe: dict[tuple[int, str], Binding] = {}
        for node, binding, _enabled, _tooltip in active:
            if binding.key not in BROWSER_RESERVED:
                safe.setdefault(_target(node, binding.action), binding)
        found: dict[tuple[str, str], Binding] = {}
        for node, binding, _enabled, _tooltip in active:
            if binding.key in BROWSER_RESERVED:
                twin = safe.get(_target(node, binding.action))
                if twin is not None:
                    found[(binding.key, binding.action)] = twin
        return found

    async def recompose(self) -> None:
        await super().recompose()
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Show every key, then, once laid out, hide those that reach under the palette's key."""
        for key in self._keys():
            key.display = True
        self.call_after_refresh(self._hide_overflow)

    def _keys(self) -> list[Widget]:
        return [key for key in self.query(_KEY) if not key.has_class(_PALETTE)]

    def _hide_overflow(self) -> None:
        palette = [key for key in self.query(_KEY) if key.has_class(_PALETTE)]
        limit = palette[0].region.x if palette else self.region.right
        for key in self._keys():
            if key.region.right > limit:
                key.display = False
