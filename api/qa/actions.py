"""Every QA action, by name, once: its key in the panel, its words, and what it runs on the desk
(`sessionkeeper.api.qa.desk`). The panel, the palette and scenarios look them up here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sessionkeeper.api.network import Scope


class Desk(Protocol):
    """What the actions ask of the desk (`sessionkeeper.api.qa.desk.QADesk` is the one there is).
    `on`: the switch's state wanted, None to toggle it."""

    async def skip(self, seconds: float) -> str: ...
    async def sleep(self, seconds: float) -> str: ...
    async def freeze(self, seconds: float) -> str: ...
    async def to_warning(self) -> str: ...
    async def past_expiry(self) -> str: ...
    async def background(self, seconds: float) -> str: ...
    async def refresh_fault(self, mode: str, on: bool | None) -> str: ...
    async def latency(self, on: bool | None) -> str: ...
    async def down(self, on: bool | None) -> str: ...
    async def graphql_style(self, on: bool | None) -> str: ...
    async def short_ttl(self, on: bool | None) -> str: ...
    async def malformed(self, on: bool | None) -> str: ...
    async def revoke(self) -> str: ...
    async def offline(self, on: bool | None) -> str: ...
    async def slow_calls(self, on: bool | None) -> str: ...
    async def lose_answer(self) -> str: ...
    async def lose_answers(self, on: bool | None) -> str: ...
    async def hold(self, phase: str, target: str, nth: int = 1) -> str: ...
    async def decide(self, kind: str, status: int = 0) -> str: ...
    async def burst(self, n: int) -> str: ...
    async def burst_at_expiry(self, n: int) -> str: ...
    async def reset(self) -> str: ...


# What an action runs: the desk, N (for those that take one), and on/off (for a switch).
Run = Callable[[Desk, float, bool | None], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class QAAction:
    """One QA action: `name` is how scenarios and the palette call it, `key` the panel's key."""

    name: str
    key: str
    short: str  # in the panel's key list
    title: str  # for the command palette; "N" is the panel's amount
    help: str
    run: Run  # what it does, on the desk
    amount: bool = False  # takes N (seconds, or calls for a burst)
    switch: bool = False  # a fault or switch: on/off (toggled when not said)
    # It reaches every session on the server (its clock, its faults, a reset), not only this
    # window's: the panel says so before it acts when other sessions are live there.
    whole_server: bool = False
    # In the QA panel's key list (False: the breakpoints', listed by the request inspector, which
    # binds them too; the panel binds every key all the same).
    listed: bool = True
    # The fault a scope can narrow (a path, a probability: issue 20, item 5), for a switch that
    # turns one on; None for the rest.
    fault: str | None = None

    @property
    def shown_key(self) -> str:
        """The key as a person reads it: `.` for Textual's `full_stop`."""
        return _SHOWN_KEYS.get(self.key, self.key)


_SHOWN_KEYS = {"full_stop": "."}


ACTIONS: tuple[QAAction, ...] = (
    QAAction(
        "skip",
        "k",
        "skip N",
        "QA: skip ahead N seconds",
        "both clocks, the app awake: each wake-up on the way fires once, in order",
        amount=True,
        run=lambda desk, n, on: desk.skip(n),
        whole_server=True,
    ),
    QAAction(
        "sleep",
        "s",
        "sleep N",
        "QA: the machine sleeps N seconds",
        "nothing runs; the clock jumps as CLOCK_BOOTTIME sees it, and the app finds out on waking",
        amount=True,
        run=lambda desk, n, on: desk.sleep(n),
        whole_server=True,
    ),
    QAAction(
        "freeze",
        "full_stop",
        "freeze N",
        "QA: the process is stopped N seconds",
        "SIGSTOP, then SIGCONT: the app finds out from the gap",
        amount=True,
        run=lambda desk, n, on: desk.freeze(n),
        whole_server=True,
    ),
    QAAction(
        "to_warning",
        "w",
        "to warn",
        "QA: skip to the warning window",
        "both clocks, just inside it",
        run=lambda desk, n, on: desk.to_warning(),
        whole_server=True,
    ),
    QAAction(
        "past_expiry",
        "x",
        "expire",
        "QA: skip just past the deadline",
        "both clocks, 1 s past it",
        run=lambda desk, n, on: desk.past_expiry(),
        whole_server=True,
    ),
    QAAction(
        "background",
        "g",
        "away N",
        "QA: background for N seconds",
        "as a focus loss, then back",
        amount=True,
        run=lambda desk, n, on: desk.background(n),
    ),
    QAAction(
        "refresh_503",
        "e",
        "refresh 503",
        "QA: refresh answers 503",
        "fault on the server",
        switch=True,
        run=lambda desk, n, on: desk.refresh_fault("error", on),
        whole_server=True,
        fault="refresh",
    ),
    QAAction(
        "refresh_401",
        "j",
        "refresh 401",
        "QA: refresh answers 401",
        "fault on the server",
        switch=True,
        run=lambda desk, n, on: desk.refresh_fault("reject", on),
        whole_server=True,
        fault="refresh",
    ),
    QAAction(
        "latency",
        "l",
        "latency",
        "QA: 1.5 s latency on every answer",
        "fault on the server",
        switch=True,
        run=lambda desk, n, on: desk.latency(on),
        whole_server=True,
        fault="latency",
    ),
    QAAction(
        "down",
        "d",
        "down",
        "QA: backend down (503 everywhere)",
        "fault on the server",
        switch=True,
        run=lambda desk, n, on: desk.down(on),
        whole_server=True,
        fault="down",
    ),
    QAAction(
        "graphql_401",
        "a",
        "gql 401",
        "QA: GraphQL auth errors as HTTP 401",
        "instead of 200 + UNAUTHENTICATED",
        switch=True,
        run=lambda desk, n, on: desk.graphql_style(on),
        whole_server=True,
    ),
    QAAction(
        "short_ttl",
        "t",
        "TTL/2",
        "QA: server TTL halved",
        "the client is not told",
        switch=True,
        run=lambda desk, n, on: desk.short_ttl(on),
        whole_server=True,
    ),
    QAAction(
        "malformed",
        "m",
        "garble",
        "QA: malformed answers",
        "client side: domain answers garbled",
        switch=True,
        run=lambda desk, n, on: desk.malformed(on),
        fault="garble",
    ),
    QAAction(
        "revoke",
        "v",
        "revoke",
        "QA: revoke the session server-side",
        "every live session",
        run=lambda desk, n, on: desk.revoke(),
    ),
    QAAction(
        "offline",
        "o",
        "offline",
        "QA: client offline",
        "calls fail in transport",
        switch=True,
        run=lambda desk, n, on: desk.offline(on),
        fault="offline",
    ),
    QAAction(
        "slow_calls",
        "c",
        "slow",
        "QA: calls held 3 s before they leave",
        "client side, token already on; a refresh meanwhile overtakes them (edge case 15)",
        switch=True,
        run=lambda desk, n, on: desk.slow_calls(on),
        fault="slow",
    ),
    QAAction(
        "lose_answer",
        "n",
        "lose 1",
        "QA: lose the next answer",
        "the server takes the call and extends the session; the answer never reaches the client",
        run=lambda desk, n, on: desk.lose_answer(),
    ),
    QAAction(
        "lose_answers",
        "f",
        "lose 30%",
        "QA: lose 30 % of answers",
        "each call's answer lost on its way back with a probability of 30 %",
        switch=True,
        run=lambda desk, n, on: desk.lose_answers(on),
        fault="lose",
    ),
    QAAction(
        "hold_call",
        "b",
        "hold call",
        "QA: hold the next call before it leaves",
        "a breakpoint: the next REST or GraphQL call stops, its token on it, until released",
        run=lambda desk, n, on: desk.hold("out", "call"),
        listed=False,
    ),
    QAAction(
        "hold_nth_call",
        "1",
        "hold call N",
        "QA: hold call N from now before it leaves",
        "a breakpoint on the Nth call to come (one of a burst): the calls before it go on",
        amount=True,
        run=lambda desk, n, on: desk.hold("out", "call", int(n)),
        listed=False,
    ),
    QAAction(
        "hold_answer",
        "h",
        "hold answer",
        "QA: hold the next call's answer",
        "a breakpoint: the server answers the next call (and extends the session); the client waits",
        run=lambda desk, n, on: desk.hold("back", "call"),
        listed=False,
    ),
    QAAction(
        "hold_renewal",
        "z",
        "hold renewal",
        "QA: hold the next refresh or re-auth's answer",
        "a breakpoint: the server renews the session; the client sees it only when released",
        run=lambda desk, n, on: desk.hold("back", "flight"),
        listed=False,
    ),
    QAAction(
        "release",
        "r",
        "release",
        "QA: release the held request",
        "it goes on as it was",
        run=lambda desk, n, on: desk.decide("release"),
        listed=False,
    ),
    QAAction(
        "abort",
        "q",
        "abort",
        "QA: abort the held request",
        "a transport error: before it left, the server never sees it; after, its answer is lost",
        run=lambda desk, n, on: desk.decide("abort"),
        listed=False,
    ),
    QAAction(
        "answer_401",
        "4",
        "answer 401",
        "QA: answer the held request 401",
        "made by the tester: the server never sees it if it had not left",
        run=lambda desk, n, on: desk.decide("answer", 401),
        listed=False,
    ),
    QAAction(
        "answer_503",
        "5",
        "answer 503",
        "QA: answer the held request 503",
        "made by the tester",
        run=lambda desk, n, on: desk.decide("answer", 503),
        listed=False,
    ),
    QAAction(
        "answer_malformed",
        "6",
        "answer garbled",
        "QA: answer the held request with a malformed 200",
        "made by the tester: a 200 whose body is not JSON",
        run=lambda desk, n, on: desk.decide("answer", 200),
        listed=False,
    ),
    QAAction(
        "burst",
        "u",
        "burst N",
        "QA: burst of N calls",
        "half REST, half GraphQL, all at once",
        amount=True,
        run=lambda desk, n, on: desk.burst(int(n)),
    ),
    QAAction(
        "burst_at_expiry",
        "y",
        "burst at expiry",
        "QA: burst of N calls at expiry",
        "just past the client's deadline",
        amount=True,
        run=lambda desk, n, on: desk.burst_at_expiry(int(n)),
        whole_server=True,
    ),
    QAAction(
        "reset",
        "0",
        "reset",
        "QA: reset the server",
        "sessions, counters and faults; client back online",
        run=lambda desk, n, on: desk.reset(),
        whole_server=True,
    ),
)
ACTIONS_BY_NAME = {action.name: action for action in ACTIONS}
# N for the QA actions that take one; +/- step through them. Each shipped scenario's N is one of
# these, so that its recipe can be played from the keyboard (tui.scenario.recipes).
AMOUNTS = (10, 30, 60, 120, 300, 500, 900, 3600)
SLOW_CALLS_S = 3.0
LOST_ANSWER_RATE = 0.3
# Where a fault switched on from the panel applies; % steps through them. "lose 30%" keeps its
# 30 % where the rest apply everywhere.
SCOPES = (Scope(), Scope(0.3), Scope(0.3, "/graphql"), Scope(0.3, "/api/"))
