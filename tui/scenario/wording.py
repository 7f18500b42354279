"""A scenario's steps in plain words, for the evidence pages a stakeholder reads: "Press Tab, then
Enter", "30 seconds pass", "Check that the session is active, a guest holds it and 90 to 120
seconds are left", not the file's `expect state active; remaining (90.0, 120.0)`."""

from __future__ import annotations

from sessionkeeper.tui.scenario.model import Condition, Step, timeline_detail

STATES = {
    "no_session": "there is no session yet",
    "active": "the session is active",
    "warning": "the session is in its warning window",
    "refreshing": "a refresh is under way",
    "recovering": "the client is retrying to get the session back",
    "paused": "the countdown is paused",
    "expired": "the session has expired",
    "signed_out": "the user is signed out",
}

# The server's counters (/__qa/state), one and many.
COUNTERS = {
    "api_calls": ("REST call", "REST calls"),
    "graphql_calls": ("GraphQL call", "GraphQL calls"),
    "refreshes": ("refresh", "refreshes"),
    "refresh_failures": ("failed refresh", "failed refreshes"),
    "logins": ("sign-in", "sign-ins"),
    "login_failures": ("failed sign-in", "failed sign-ins"),
    "reauths": ("silent re-authentication", "silent re-authentications"),
    "reauth_failures": ("failed re-authentication", "failed re-authentications"),
    "guest_sessions": ("guest session", "guest sessions"),
    "rejected": ("call rejected for its session", "calls rejected for their session"),
    "signouts": ("sign-out", "sign-outs"),
    "bookings": ("booking", "bookings"),
    "seat_holds": ("seat held", "seats held"),
}

# A switch of the QA panel: what turning it on, and off, does.
SWITCHES = {
    "refresh_503": (
        "The server starts answering refreshes with 503",
        "Refreshes are answered normally again",
    ),
    "refresh_401": (
        "The server starts rejecting refreshes (401)",
        "Refreshes are answered normally again",
    ),
    "latency": ("Every answer of the server now takes 1.5 s", "The server answers at once again"),
    "down": ("The backend goes down (503 to everything)", "The backend is back up"),
    "graphql_401": (
        "GraphQL's auth errors now come as HTTP 401 (not 200 with UNAUTHENTICATED)",
        "GraphQL's auth errors come as 200 with UNAUTHENTICATED again",
    ),
    "short_ttl": (
        "The server halves its session lifetime without telling the client",
        "The server's session lifetime is back to normal",
    ),
    "malformed": ("The server's answers arrive garbled", "The server's answers are well-formed again"),
    "offline": ("The client goes offline (its calls fail in transport)", "The client is back online"),
    "slow_calls": (
        "Calls are held 3 s before they leave (a refresh meanwhile overtakes them)",
        "Calls leave at once again",
    ),
}

KEYS = {
    "enter": "Enter",
    "tab": "Tab",
    "escape": "Esc",
    "space": "Space",
    "backspace": "Backspace",
    "delete": "Delete",
    "home": "Home",
    "end": "End",
    "pageup": "Page Up",
    "pagedown": "Page Down",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "plus": "+",
    "minus": "-",
}


def describe(step: Step) -> str:
    """The step as a sentence; a `say` step is its caption."""
    if step.say is not None:
        return step.say
    if step.press:
        return "Press " + keys_words(step.press)
    if step.type is not None:
        return f"Type “{step.type}”"
    if step.qa is not None:
        return qa_words(step)
    if step.snapshot is not None:
        return f"Take a screenshot: {step.snapshot}"
    if step.wait is not None:
        return f"Wait until {condition_words(step.wait)} (at most {step.within:g} s)"
    if step.restart:
        return "Quit the app and start it again on the same data (the server keeps running)"
    assert step.expect is not None
    return f"Check that {condition_words(step.expect)}"


def keys_words(keys: tuple[str, ...]) -> str:
    """`Tab, then Enter`; `Ctrl+N`; `s`."""
    names = [key_name(key) for key in keys]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + ", then " + names[-1]


def key_name(key: str) -> str:
    """A key as printed on it: `Ctrl+N`, `Page Up`, `F2`, `[`; a letter as it is typed."""
    *modifiers, last = key.split("+") if len(key) > 1 else [key]
    if len(last) == 1:
        name = last.upper() if modifiers else last
    elif last in KEYS:
        name = KEYS[last]
    elif last[0] == "f" and last[1:].isdigit():
        name = last.upper()
    else:
        from textual.keys import key_to_character

        character = key_to_character(last)
        name = character if character is not None and character.isprintable() else _title(last)
    return "+".join([*(m.capitalize() for m in modifiers), name])


def qa_words(step: Step) -> str:
    """A QA action, as what it makes happen."""
    name, n = step.qa or "", step.n
    words: str
    if name == "skip":
        words = (
            f"{duration(n or 0)} later, the app awake: both clocks skip ahead, each moment on the way in turn"
        )
    elif name == "sleep":
        words = f"The machine sleeps {duration(n or 0)}: nothing runs, and on waking its clock has jumped"
    elif name == "freeze":
        words = f"The process is stopped {duration(n or 0)} (SIGSTOP), then continued (SIGCONT)"
    elif name == "to_warning":
        words = "Time jumps to just inside the session's warning window (both clocks)"
    elif name == "past_expiry":
        words = "Time jumps to just past the session's deadline (both clocks)"
    elif name == "background":
        words = f"The app goes to the background for {duration(n or 0)}, then comes back"
    elif name == "revoke":
        words = "The server revokes every live session"
    elif name == "burst":
        words = f"{n or 0:g} calls at once, half REST, half GraphQL"
    elif name == "burst_at_expiry":
        words = f"{n or 0:g} calls at once, just past the client's deadline"
    elif name == "reset":
        words = "The server is reset (sessions, counters, faults), the client back online"
    elif name in SWITCHES:
        on, off = SWITCHES[name]
        words = (on if step.on else off) if step.on is not None else f"{on}, or stops if it was already so"
        if step.on and step.scope is not None:
            words += step.scope.words
    else:  # an action added since: its panel title
        from sessionkeeper.api.qa.actions import ACTIONS_BY_NAME

        action = ACTIONS_BY_NAME.get(name)
        title = action.title.removeprefix("QA: ") if action is not None else name.replace("_", " ")
        amount = f" (N = {n:g})" if n is not None else ""
        state = "" if step.on is None else (": on" if step.on else ": off")
        words = f"QA: {title}{amount}{state}"
    if step.detach:
        words += "; the next step goes on while it runs"
    return words


def timeline_words(wanted: str) -> str:
    """`resumed/how=sleep` as `resumed (how: sleep)`."""
    name, detail = timeline_detail(wanted)
    said = f" ({detail[0].replace('_', ' ')}: {detail[1]})" if detail is not None else ""
    return name.replace("_", " ") + said


def condition_words(condition: Condition) -> str:
    """What must hold, as a clause: `the session is active, a guest holds it and 90 to 120 seconds
    are left`."""
    parts: list[str] = []
    if condition.state is not None:
        parts.append(STATES.get(condition.state, f"the session is {condition.state.replace('_', ' ')}"))
    if condition.user is not None:
        parts.append(
            {"none": "nobody is signed in", "guest": "a guest holds it"}.get(
                condition.user, f"{condition.user} is signed in"
            )
        )
    if condition.remaining is not None:
        low, high = condition.remaining
        span = f"{low:g} seconds are" if low == high else f"{low:g} to {high:g} seconds are"
        parts.append(f"{span} left on the countdown")
    if condition.prompt is not None:
        parts.append("the near-expiry prompt is up" if condition.prompt else "no near-expiry prompt is up")
    if condition.screen:
        parts.append("the screen shows " + _and([f"“{text}”" for text in condition.screen]))
    if condition.timeline:
        events = [timeline_words(name) for name in condition.timeline]
        order = ", in that order" if len(events) > 1 else ""
        parts.append(f"the client's timeline records {_and(events)}{order}")
    if condition.counters:
        counted = [_count(name, value) for name, value in condition.counters.items()]
        parts.append("the server counted exactly " + _and(counted))
    if condition.drift is not None:
        parts.append(
            {
                "0": "the client's countdown agrees with the server's (within a second)",
                "+": "the server has more time left than the client's countdown shows",
                "-": "the server has less time left than the client's countdown shows",
            }[condition.drift]
        )
    return _and(parts)


def duration(seconds: float) -> str:
    """`5 minutes`, `1 minute 30 seconds`, `45 seconds`, `1.5 seconds`."""
    if seconds != int(seconds) or seconds < 60:
        return f"{seconds:g} second{'' if seconds == 1 else 's'}"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    parts += [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes else []
    parts += [f"{rest} second{'s' if rest != 1 else ''}"] if rest else []
    return " ".join(parts)


def _count(name: str, value: int) -> str:
    one, many = COUNTERS.get(name, (name.replace("_", " "), name.replace("_", " ")))
    return f"{'no' if value == 0 else value} {one if value == 1 else many}"


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()
