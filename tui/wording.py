"""What the screens say, in words for people: the countdown line, who holds the session, the
banner, and what a failed call means for the user. Technical detail goes to the timeline and the
QA panel, never here.

Pure functions of what they are given: one place decides each phrase, so the countdown and the
home screen cannot disagree.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessionkeeper.api.errors import (
    ApiError,
    BackendFailed,
    BackendUnreachable,
    InvalidRequest,
    MalformedResponse,
    NotAuthenticated,
    NotFound,
)
from sessionkeeper.session.kinds import Link, SessionFlight, SessionKind, State

if TYPE_CHECKING:
    from sessionkeeper.session.engine import SessionView
    from sessionkeeper.session.shared import Peer


def format_remaining(seconds: float | None) -> str:
    """M:SS, rounded up: a fresh 60 s session reads 1:00, and 0:00 means the session is over."""
    if seconds is None:
        return "-:--"
    # The epsilon keeps float noise (59.999999999 or 60.000000001 left) from costing a second.
    whole = max(0, math.ceil(seconds - 1e-6))
    return f"{whole // 60}:{whole % 60:02d}"


def format_long(seconds: float) -> str:
    """H:MM:SS from an hour up (a lifetime of hours), M:SS below, rounded up as format_remaining."""
    whole = max(0, math.ceil(seconds - 1e-6))
    if whole < 3600:
        return format_remaining(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the session, as the countdown and the home screen both say it."""

    short: str  # for the countdown: "guest", "ada", "no session"
    sentence: str  # for the home screen
    signed_in: bool
    guest: bool


def holder(view: SessionView | None, username: str | None, *, was_user: bool = True) -> Holder:
    """Who holds the session. `was_user`: whoever was signed out last was a user (a guest who
    ended their session was never "signed out")."""
    if view is None or (
        view.kind is None and view.flight is SessionFlight.NEW_GUEST and view.generation == 0
    ):
        return Holder("connecting", "Connecting to SK Air…", signed_in=False, guest=False)
    if view.state is State.SIGNED_OUT and not was_user:
        return Holder(
            "no session",
            "Your guest session ended. Sign in, or book as a guest: a new guest session starts with"
            " your next step.",
            signed_in=False,
            guest=False,
        )
    if view.state is State.SIGNED_OUT or (view.kind is None and view.flight is None):
        return Holder(
            "no session",
            "You're signed out. Sign in, or book as a guest: a guest session starts with your next step.",
            signed_in=False,
            guest=False,
        )
    if view.kind is SessionKind.USER and username:
        return Holder(username, f"Signed in as {username}.", signed_in=True, guest=False)
    if view.kind is SessionKind.USER:
        return Holder("user", "Signed in.", signed_in=True, guest=False)
    if view.state is State.EXPIRED:
        return Holder(
            "guest",
            "Browsing as a guest. Your guest session ended; a new one starts with your next step.",
            signed_in=False,
            guest=True,
        )
    return Holder("guest", "Browsing as a guest. Sign in to earn points.", signed_in=False, guest=True)


_STATE_WORDS = {
    State.NO_SESSION: "no session",
    State.ACTIVE: "active",
    State.WARNING: "expiring soon",
    State.REFRESHING: "extending…",
    State.RECOVERING: "re-authenticating…",
    State.PAUSED: "in the background",  # the countdown says more: away_words
    State.EXPIRED: "expired",
    State.SIGNED_OUT: "signed out",
}


def state_words(view: SessionView) -> str:
    if view.flight is SessionFlight.NEW_GUEST:
        return "connecting…" if view.generation == 0 else "starting a new guest session…"
    words = _STATE_WORDS[view.state]
    if view.link is Link.UNREACHABLE:
        words += " · offline"
    elif view.link is Link.FAILING:
        words += " · server not answering"
    return words


# The countdown line shows the time left on the absolute lifetime (rule 15) from this much before it.
LIFETIME_SHOWN_S = 300.0

# While the app is away (rule 9) the number keeps falling: the countdown says why, and what happens
# on return. Each fits 80 columns with the holder ("⏱ 0:20  <words>  ·  guest").
AWAY = "away: the server's clock runs on; renewed when you're back"
AWAY_SPENT_USER = "ran out while away: signed in again when you're back"
AWAY_SPENT_GUEST = "ran out while away: a new session starts when you're back"


def held_words(method: str, path: str) -> str:
    """After the countdown while a request is held at a QA breakpoint (the request inspector)."""
    return f"  ·  ⏸ held: {method} {path}"


def away_words(remaining: float | None, *, signed_in: bool) -> str:
    """The countdown's words while the app is in the background: the server's clock runs on and
    nothing is refreshed until the app is back; at 0:00, what the return brings."""
    if format_remaining(remaining) != "0:00":
        return AWAY
    return AWAY_SPENT_USER if signed_in else AWAY_SPENT_GUEST


def countdown(view: SessionView | None, username: str | None, *, was_user: bool = True) -> tuple[str, str]:
    """The countdown line and its urgency class (ok, warn, critical, paused, offline, idle)."""
    if view is None:
        return "⏱ -:--  connecting…", "idle"
    who = holder(view, username, was_user=was_user)
    remaining = None if view.state is State.SIGNED_OUT else view.remaining_s
    words = state_words(view)
    if view.state is State.SIGNED_OUT and not was_user:
        words = words.replace(_STATE_WORDS[State.SIGNED_OUT], "session ended")
    if view.state is State.PAUSED and view.flight is None:
        words = words.replace(_STATE_WORDS[State.PAUSED], away_words(remaining, signed_in=who.signed_in))
    text = f"⏱ {format_remaining(remaining)}  {words}"
    if who.short != words.split(" · ")[0]:  # "no session · offline" needs no "· no session" after it
        text += f"  ·  {who.short}"
    left = view.lifetime_left_s
    if left is not None and left <= LIFETIME_SHOWN_S and view.state is not State.SIGNED_OUT:
        text += f"  ·  time limit in {format_long(left)}"
    if view.offline:
        urgency = "offline"
    elif view.state is State.PAUSED:
        urgency = "paused"
    elif remaining is None or view.state in (State.NO_SESSION, State.SIGNED_OUT) or view.flight:
        urgency = "idle"
    elif remaining <= min(10.0, view.warn_s / 2) or view.state is State.EXPIRED:
        urgency = "critical"
    elif remaining <= view.warn_s:
        urgency = "warn"
    else:
        urgency = "ok"
    return text, urgency


def banner(
    view: SessionView | None, now: float, *, client_offline: bool, storage: str | None = None
) -> str | None:
    """A lasting condition the user should know about, with what happens next; None when all is well.
    `storage` is what cannot be kept on this disk (see `storage_words`): said when nothing more
    pressing is."""
    if client_offline:
        return (
            "You're offline (QA switch): calls fail before they leave. Your work is kept. F2, o reconnects."
        )
    if view is None or not view.offline:
        return storage
    cause = "Can't reach the server." if view.link is Link.UNREACHABLE else "The server is having trouble."
    if view.retry_at is not None:
        wait = max(1, math.ceil(view.retry_at - now))
        what = "extending your session" if view.stay_pending else "trying again"
        return f"{cause} {what.capitalize()} in {wait} s. Your form is safe."
    if view.state is State.EXPIRED:
        # True either way: a server that restarted meanwhile no longer knows the session, and then
        # only a sign-in renews it (the draft is kept through that too).
        if view.kind is SessionKind.USER:
            return (
                f"{cause} Your next step renews your session once it answers, or, if the server has"
                " lost it, asks you to sign in again. Your draft is kept either way."
            )
        return f"{cause} Your next step starts a new session once it answers. Nothing is lost."
    return f"{cause} Nothing is lost; your next step tries again."


def storage_words(
    *,
    session: str | None,
    drafts_in_memory: bool,
    drafts_failing: bool = False,
    data_dir: str | None = None,
) -> str | None:
    """What this disk cannot keep, and what that means; None when everything is saved.
    `drafts_failing`: the latest save of the booking draft was refused. `data_dir` is why the data
    dir is not private ("mode 0755, and it belongs to another user"), if it is not."""
    if drafts_failing:
        return (
            "Your booking draft can't be saved on this disk right now; the form still holds it. "
            "Saving is tried again at every change."
        )
    if session is not None:
        return (
            "This session won't survive a restart: it can't be saved on this disk. "
            "Everything else works; saving is tried again at every change."
        )
    if drafts_in_memory:
        return "Your booking draft is kept in memory only: this disk can't store it. Don't quit mid-booking."
    if data_dir is not None:
        return (
            f"Your data folder can't be made private ({data_dir}): other users may list or replace "
            "what's kept there. Use --data-dir to pick another."
        )
    return None


def stay_failed(view: SessionView, now: float) -> str:
    """Said once when the refresh a "Stay" asked for fails."""
    cause = "Couldn't reach the server" if view.link is Link.UNREACHABLE else "The server had a problem"
    if view.retry_at is None:
        return f"{cause}; your session can't be extended before it ends. Your form is safe."
    return f"{cause}; retrying in {max(1, math.ceil(view.retry_at - now))} s. Your form is safe."


def failure(exc: ApiError, *, retry: str | None = None) -> str:
    """What a failed call means for the user, and what to do next. `retry` names the key that
    tries again, if the screen has one."""
    again = f" Press {retry} to try again." if retry else " Try again in a moment."
    if isinstance(exc, BackendUnreachable):
        return "Couldn't reach the server. Your draft is saved." + again
    if isinstance(exc, BackendFailed):
        return "The server had a problem and could not answer. Your draft is saved." + again
    if isinstance(exc, MalformedResponse):
        return "The server sent an answer we couldn't read. Your draft is saved." + again
    if isinstance(exc, NotAuthenticated):
        return "Your session ended and could not be renewed. Your draft is saved; sign in to go on."
    if isinstance(exc, NotFound):
        return "The server no longer has this. Your draft is saved; go back a step and try again."
    if isinstance(exc, InvalidRequest):
        fields = "; ".join(f"{name}: {message}" for name, message in exc.fields.items())
        return f"The server did not accept this{f' ({fields})' if fields else ''}. Your draft is saved."
    return "Something went wrong talking to the server. Your draft is saved." + again


def seat_released(seat: str, *, go_back: bool) -> str:
    """The draft gave up its seat (api.drafts.SEAT_RELEASED): the session that held it ended, and
    when the draft was carried over to the new one, someone else had the seat. `go_back`: said on a
    step after the seat step, where esc leads back to it."""
    next_move = "go back (esc) and choose another seat" if go_back else "choose another seat"
    return f"Seat {seat} was released when your session ended and is taken now: {next_move}."


def qa_server_problem(exc: ApiError) -> str:
    """Why the backend could not do what QA asked (the QA panel's words, for testers)."""
    if isinstance(exc, BackendUnreachable):
        return str(exc)  # "the server is unreachable", "the server did not answer in time"
    return f"the server could not do it ({type(exc).__name__}: {exc})"


def instance_lines(peers: Sequence[Peer], lock_problem: str | None = None) -> list[str]:
    """The QA panel's list of the instances on this data dir (rule 14): pid, this one, in front,
    in the background or stopped, since when, and the flight lease's holder. Nothing when this
    instance is alone and its lock works (the panel keeps its rows for the timeline at 80x24)."""
    lines: list[str] = []
    if len(peers) > 1:
        holder = next((peer for peer in peers if peer.holds_lease), None)
        lease = f"lease pid {holder.pid}" if holder is not None else "lease free"
        lines.append(f"windows    {len(peers)} · {lease}")
        for peer in peers:
            where = "STOPPED" if peer.stopped else ("front" if peer.focused else "back")
            since = time.strftime("%H:%M:%S", time.localtime(peer.since_wall))
            lines.append(f"  {peer.pid:<7} {'this' if peer.this else '    '} {where:<7} {since}")
    if lock_problem is not None:
        lines.append(f"lock       {lock_problem}")
    return lines


def whole_server_warning(short: str, key: str, others: int) -> str:
    """The QA panel, before an action that reaches every session on the server."""
    sessions = "another live session" if others == 1 else f"{others} other live sessions"
    return (
        f"⚠ '{short}' reaches the whole server: {sessions} there (another window, another user) "
        f"will feel it too. Press {key} again to do it."
    )


def lifetime_warning(seconds_left: float) -> str:
    """Rule 15, said once before the end: what happens, and that nothing is lost."""
    return (
        f"Your session reaches its time limit in {format_long(seconds_left)}. Then you'll be asked for "
        "your password, right here: your screen and your booking are kept."
    )


def prompt_words(guest: bool) -> tuple[str, str, str]:
    """The prompt's title and its two buttons: guests are not "signed in"."""
    if guest:
        return "Your guest session is about to end", "Keep my session", "End session"
    return "Your session is about to expire", "Stay signed in", "Sign out"


def prompt_note(*, interrupted: bool, ignored: int, guarded: bool) -> str:
    """The line under the prompt's countdown. While it ignores keys (it just appeared, or the person
    types on), why; once it takes them, that what was typed is kept."""
    kept = "Your booking form is kept either way."
    if not (interrupted or ignored):
        return kept
    dropped = f" ({ignored} key{'s' if ignored != 1 else ''} ignored)" if ignored else ""
    if guarded:
        return (
            f"You were typing: keys do nothing until you pause{dropped}, so none answers this by "
            "accident. What you typed is kept."
        )
    return f"You were typing; what you typed is kept{dropped}. Now choose: y or n."


# The booking flow's steps as its screens title them ("1 · Search flights"): said wherever a draft's
# step is named, never the internal id ("search").
STEP_NAMES = {
    "search": "Search flights",
    "flights": "Choose a flight and fare",
    "passengers": "Passenger",
    "seats": "Seat",
    "review": "Review and pay",
    "confirmation": "Confirmation",
}


def step_words(step: str) -> str:
    """A draft's step as a person reads it: "step 1 of 6, Search flights"."""
    if step not in STEP_NAMES:
        return "a step of the booking"
    return f"step {list(STEP_NAMES).index(step) + 1} of {len(STEP_NAMES)}, {STEP_NAMES[step]}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def flight_words(flight_id: str) -> str:
    """A flight as a person reads it: "LHR-CDG-20270601-1" is "LHR→CDG 1 Jun 2027" (an id of
    another shape is shown as it is)."""
    parts = flight_id.split("-")
    if len(parts) >= 3 and len(parts[2]) == 8 and parts[2].isdigit():
        year, month, day = int(parts[2][:4]), int(parts[2][4:6]), int(parts[2][6:])
        if 1 <= month <= 12:
            return f"{parts[0]}→{parts[1]} {day} {_MONTHS[month - 1]} {year}"
    return flight_id


def points_words(points: int, as_guest: bool = False) -> str:
    """Points a booking earned: "+1,234", or "none" (a guest's booking earns none); "none (as
    guest)" for a signed-in user's booking made as a guest before signing in."""
    if points:
        return f"+{points:,}"
    return "none (as guest)" if as_guest else "none"


AS_GUEST_NOTE = (
    "Bookings marked 'as guest' were made as a guest before signing in, and moved to this account then."
)


def ended_words(was_user: bool, draft_kept: bool) -> str:
    """The note after choosing to end the session."""
    kept = " Your booking draft is saved." if draft_kept else ""
    return ("Signed out." if was_user else "Session ended.") + kept
