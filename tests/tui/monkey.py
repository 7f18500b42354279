"""A random-key (monkey) run of the real app, headless: thousands of keys drawn from every screen's
bindings and from what a person types, interleaved with time passing and with QA actions (slow
calls, latency, down, offline, revoke, malformed answers, bursts, skips, background).

It watches three things the whole way:
- nothing raises: an exception anywhere in the app ends the run (Pilot re-raises it);
- every key is answered within `key_bound_s` (handled by the app and the screen in front);
- the countdown line always reads as one of the documented states (README, "Using the app"),
  matched against a pattern written here from the documentation, not from the code.

A run is repeatable for a seed as far as the keys go; what the app makes of them depends on when
loopback answers land, which is the point: screens are left while their calls are out.

The suite runs a few seeds (tests/tui/test_monkey.py). For a longer run, for QA:

    .venv/bin/python -m tests.tui.monkey --seeds 20 --seconds 600
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from textual import events
from textual.binding import Binding

from sessionkeeper.tui import wording
from sessionkeeper.tui.scenario.probe import handled, post_key
from tests.tui.harness import Harness, running

# The countdown line as the README documents it: "⏱ M:SS  <state>[ · offline| · server not
# answering]  ·  <who holds the session>", or "⏱ -:--  connecting…" before the first session.
_STATES = (
    "connecting…|starting a new guest session…|no session|active|expiring soon|extending…"
    "|re-authenticating…|expired|signed out|session ended|"
    + "|".join(map(re.escape, (wording.AWAY, wording.AWAY_SPENT_USER, wording.AWAY_SPENT_GUEST)))
)
COUNTDOWN = re.compile(
    rf"^⏱ (-:--|\d+:\d\d)  ({_STATES})( · offline| · server not answering)?(  ·  [\w .-]+)?"
    r"(  ·  time limit in [\d:]+)?(  ·  ⏸ held: [A-Z]+ \S+)?$"
)

# Keys a person types into the forms, and the keys that move around any screen.
TYPED: list[str] = [
    *"abcdefghijklmnopqrstuvwxyz0123456789",
    "A",
    "L",
    "H",
    "R",
    "C",
    "D",
    "G",
    "space",
    "[",
    "]",
    "/",
    "@",
]
MOVING = ["tab", "shift+tab", "enter", "escape", "up", "down", "backspace", "left", "right"]
# What a person types into each form (the seat: whichever the seat map offers as free).
FORMS: dict[str, dict[str, str]] = {
    "SearchStep": {"origin": "LHR", "destination": "CDG", "date": "2030-05-01"},
    "FlightsStep": {},
    "PassengersStep": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "SeatsStep": {"seat": "3C"},
    "ReviewStep": {"card_number": "4111111111111111", "expiry": "12/30", "cvc": "123"},
    "SignInScreen": {"username": "ada", "password": "lovelace"},
}
# Never sent: quitting ends the run (a person's Ctrl+Q and Alt+Q are tested elsewhere).
NEVER = frozenset({"ctrl+q", "alt+q"})
# QA panel keys worth pressing on purpose (on top of those the random keys hit in the panel).
QA_KEYS = [
    "c",
    "l",
    "d",
    "o",
    "v",
    "m",
    "u",
    "y",
    "k",
    "w",
    "x",
    "g",
    "e",
    "j",
    "t",
    "a",
    "0",
    "+",
    "-",
    "s",
    "full_stop",
    "percent_sign",
]


def binding_keys() -> list[str]:
    """Every key bound on any screen of the app, the app's own included."""
    from sessionkeeper.tui.app import SessionKeeperApp
    from sessionkeeper.tui.screens.booking import SCREENS
    from sessionkeeper.tui.screens.bookings import BookingsScreen
    from sessionkeeper.tui.screens.home import HomeScreen
    from sessionkeeper.tui.screens.prompt import ExpiryPrompt, GuestExpiryPrompt
    from sessionkeeper.tui.screens.qa import QAPanel
    from sessionkeeper.tui.screens.sign_in import SignInScreen
    from sessionkeeper.tui.screens.signed_out import SignedOutScreen

    owners: list[type[object]] = [
        SessionKeeperApp,
        HomeScreen,
        BookingsScreen,
        SignInScreen,
        SignedOutScreen,
        ExpiryPrompt,
        GuestExpiryPrompt,
        QAPanel,
        *SCREENS.values(),
    ]
    keys: set[str] = set()
    for owner in owners:
        for binding in getattr(owner, "BINDINGS", []):
            key = binding.key if isinstance(binding, Binding) else str(binding[0])
            keys.update(k.strip() for k in key.split(","))
    return sorted(keys - NEVER)


@dataclass
class Report:
    seed: int
    keys: int = 0
    qa_rounds: int = 0
    seconds_passed: int = 0
    slowest_key_s: float = 0.0
    slowest_key: str = ""
    lines_seen: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    screens_seen: set[str] = field(default_factory=set)

    def summary(self) -> str:
        return (
            f"seed {self.seed}: {self.keys} keys, {self.qa_rounds} QA rounds, {self.seconds_passed} s "
            f"passed, slowest key {self.slowest_key_s * 1000:.0f} ms ({self.slowest_key!r}), "
            f"screens {sorted(self.screens_seen)}, problems {len(self.problems)}"
        )


class Monkey:
    def __init__(self, h: Harness, seed: int, *, key_bound_s: float) -> None:
        self.h = h
        self.rng = random.Random(seed)
        self.key_bound_s = key_bound_s
        self.report = Report(seed)
        self.bound = binding_keys()

    def pick(self) -> str:
        roll = self.rng.random()
        if roll < 0.40:
            return self.rng.choice(self.bound)
        if roll < 0.75:
            return self.rng.choice(TYPED)
        return self.rng.choice(MOVING)

    async def key(self, key: str) -> None:
        app = self.h.app
        started = time.perf_counter()
        post_key(app, key)
        await handled(app)
        took = time.perf_counter() - started
        self.report.keys += 1
        if took > self.report.slowest_key_s:
            self.report.slowest_key_s, self.report.slowest_key = took, key
        if took > self.key_bound_s:
            self.report.problems.append(f"key {key!r} took {took:.2f} s (bound {self.key_bound_s:g} s)")
        self.look()

    def look(self) -> None:
        from sessionkeeper.tui.widgets.countdown import Countdown

        app = self.h.app
        self.report.screens_seen.add(type(app.screen).__name__)
        for screen in app.visible_screens():
            for countdown in screen.query(Countdown):
                line = str(countdown.render()).strip()
                self.report.lines_seen.add(COUNTDOWN.sub(r"\2\3", line))
                if not COUNTDOWN.match(line):
                    self.report.problems.append(f"countdown line not a documented state: {line!r}")

    async def second_passes(self) -> None:
        """One second of session time on both clocks, and what the app's tick and wake-up do then."""
        h = self.h
        h.clock.advance(1.0)
        if h.server_clock is not None:
            h.server_clock.advance(1.0)
        client = h.app.client
        if client is not None:
            client.manager.tick()
        h.app.tick()
        self.report.seconds_passed += 1
        await handled(h.app)

    async def qa_round(self) -> None:
        """Open the QA panel, press one or two of its keys, close it: a tester at work."""
        self.report.qa_rounds += 1
        await self.key("f2")
        for _ in range(self.rng.choice((1, 1, 2))):
            await self.key(self.rng.choice(QA_KEYS))
        await self.key(self.rng.choice(("escape", "f2")))

    async def fill_form(self) -> None:
        """A person who knows what to type: the form in front filled in and sent, so the monkey
        reaches every step of the booking flow, not only the first."""
        from textual.widgets import Input

        screen = self.h.app.screen
        values = FORMS.get(type(screen).__name__)
        if values is None:
            return
        for name, text in values.items():
            fields = [w for w in screen.query(Input) if w.id == name]
            if not fields:
                continue
            field = fields[0]
            if name == "seat":
                text = field.placeholder.removeprefix("e.g. ").split(" ")[0] or text
            field.value = ""
            field.focus()
            for char in text:
                await self.key("space" if char == " " else char)
                if self.h.app.screen is not screen:
                    return  # the prompt (or a sign-out) came up while typing
        await self.key("enter" if type(screen).__name__ in ("SignInScreen", "FlightsStep") else "ctrl+n")
        if type(screen).__name__ == "FlightsStep":
            await self.key("enter")

    async def focus_round(self) -> None:
        """The terminal loses the focus for a while, then gets it back."""
        app = self.h.app
        app.post_message(events.AppBlur())
        await handled(app)
        for _ in range(self.rng.randint(0, 3)):
            await self.second_passes()
        app.post_message(events.AppFocus())
        await handled(app)
        self.look()

    async def run(self, keys: int) -> Report:
        while self.report.keys < keys:
            if self.h.app.return_code is not None:
                # The app stopped: leaving `running` re-raises what stopped it.
                self.report.problems.append(f"the app stopped (status {self.h.app.return_code})")
                break
            roll = self.rng.random()
            if roll < 0.04:
                await self.qa_round()
            elif roll < 0.08:
                await self.fill_form()
            elif roll < 0.10:
                await self.focus_round()
            elif roll < 0.22:
                await self.second_passes()
            else:
                await self.key(self.pick())
            if self.rng.random() < 0.02:
                # A pause as long as a person's: loopback answers (and held calls) land meanwhile.
                await asyncio.sleep(self.rng.choice((0.05, 0.2, 0.5)))
        return self.report


async def monkey_run(data_dir: Path, seed: int, *, keys: int, key_bound_s: float = 3.0) -> Report:
    """One seed: a fresh app and data dir, `keys` keys. An exception in the app is raised from here."""
    async with running(data_dir, warm_up_after_s=0.0, prompt_guard_s=1.0) as h:
        report = await Monkey(h, seed, key_bound_s=key_bound_s).run(keys)
        if h.app.changes_overdue:
            # Keys held for a screen change that never came: released by the bound, but a bug.
            report.problems.append("a screen change was asked for and never carried out")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=3000, help="keys per seed (default 3000)")
    parser.add_argument("--seconds", type=float, default=600.0, help="stop starting seeds after this long")
    args = parser.parse_args(argv)
    started, failed = time.monotonic(), 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        if time.monotonic() - started > args.seconds:
            print(f"time is up after {seed - args.first_seed} seeds")
            break
        with tempfile.TemporaryDirectory() as tmp:
            try:
                report = asyncio.run(monkey_run(Path(tmp), seed, keys=args.keys))
            except Exception as exc:
                failed += 1
                print(f"seed {seed}: the app raised {type(exc).__name__}: {exc}")
                continue
        failed += bool(report.problems)
        print(report.summary())
        for problem in report.problems[:10]:
            print("   ", problem)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
