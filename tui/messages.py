"""Messages that travel up from screens to the app (attributes travel down)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class FlowEntered(Message):
    """A screen became current: an active flow (booking step) or a passive screen."""

    active_flow: bool


@dataclass
class SignInSucceeded(Message):
    username: str
