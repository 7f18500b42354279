"""What an unexpected error leaves behind: a private report in the data dir, and one line that says
where it is.

Textual's own report of an unhandled exception is a traceback with every frame's local variables,
printed on the terminal; locals can hold a token or a password field's text. This one has the
traceback without locals, the screens that were open and the last entries of the session timeline
(which hold fingerprints, never secrets), with any secret the session still knows replaced by its
fingerprint. The file is created 0600, never through a link, and never over another report.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sessionkeeper.session.private_files import open_private, write_all

if TYPE_CHECKING:
    from sessionkeeper.tui.host import Host


def report_text(
    error: BaseException,
    *,
    wall: float,
    context: Iterable[str] = (),
    redact: Callable[[str], str] = lambda text: text,
) -> str:
    """The report: when, what, where (no frame's locals), and what the app was doing."""
    when = dt.datetime.fromtimestamp(wall, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    lines = [
        "sessionkeeper: unexpected error",
        f"when      {when}",
        f"python    {platform.python_version()} on {platform.platform(terse=True)}",
        f"error     {type(error).__name__}: {error}",
        "",
        "".join(traceback.format_exception(error)).rstrip(),
        "",
        *context,
    ]
    return redact("\n".join(lines)) + "\n"


def write_report(directory: Path, text: str, *, wall: float) -> Path:
    """Write `text` to a new `crash-<UTC time>.txt` in `directory` (0600); its path. Raises OSError."""
    stamp = dt.datetime.fromtimestamp(wall, tz=dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    n = 1
    while True:
        path = directory / (f"crash-{stamp}.txt" if n == 1 else f"crash-{stamp}-{n}.txt")
        try:
            # A new file only: never through a link, never over another report.
            fd = open_private(path, os.O_WRONLY | os.O_EXCL, create=True)
        except FileExistsError:
            n += 1
            continue
        break
    try:
        write_all(fd, text.encode("utf-8", errors="replace"))
    finally:
        os.close(fd)
    return path


def one_line(error: BaseException, report: Path | None, problem: str | None = None) -> str:
    """What stderr says: the error's kind and where the whole story is."""
    if report is not None:
        return f"sessionkeeper: unexpected error ({type(error).__name__}); the full report is in {report}"
    return (
        f"sessionkeeper: unexpected error ({type(error).__name__}: {error}); "
        f"no report could be written ({problem or 'unknown reason'})"
    )


def report(app: Host, error: BaseException) -> str:
    """Write the report of `error` for `app` (its reports dir, or its data dir); the stderr line."""
    from sessionkeeper.session.clock import skip_offset

    client = app.client
    redact = client.manager.redact if client is not None else (lambda text: text)
    clock = app.services.clock
    wall = clock.wall() - skip_offset(clock)
    context = ["screens   " + " > ".join(type(screen).__name__ for screen in app.screen_stack)]
    if client is not None:
        context += ["", "timeline (latest last):"]
        context += [entry.as_json() for entry in list(client.manager.timeline)[-40:]]
    text = report_text(error, wall=wall, context=context, redact=redact)
    try:
        path: Path | None = write_report(app.reports_dir or app.settings.data_path, text, wall=wall)
        problem = None
    except OSError as exc:
        path, problem = None, exc.strerror or type(exc).__name__
    app.record("app_crashed", error=type(error).__name__, report=path.name if path else None)
    return redact(one_line(error, path, problem))
