"""Textual's footer, except that a key that does not fit is left out whole.

In a narrow terminal Textual's footer cuts the last key it has room for under the command
palette's key, leaving a stray letter or two; here such a key is hidden instead (the screen's own
buttons still name every key).
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Footer

# Selected by type name: FooterKey lives in a private module of Textual's.
_KEY = "FooterKey"
_PALETTE = "-command-palette"


class FittingFooter(Footer):
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
