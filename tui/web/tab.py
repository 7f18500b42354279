"""A tab's app process, started before its tab (`sessionkeeper serve`'s spare).

serve keeps one of these waiting: it starts with the app's options but no data directory, does the
slow part of an app's start-up ahead of time (Python itself, Textual, the app's modules compiled
and imported), and then waits on stdin for one line of JSON: the tab it now serves,
`{"data_dir": ..., "columns": ..., "rows": ...}`. It then runs the app there, as
`python -m sessionkeeper.tui.cli <options> --data-dir <data_dir>` would, its stdin and stdout
textual-serve's channel to the tab (nothing is written to stdout before the app). The directory is
also made its working directory (`/proc/<pid>/cwd` names the tab's data). An end of input before
that line (serve stopped, or dropped the spare) ends it at once, having started nothing.

Textual reads its driver, frame rate and colours from the environment as it is imported: serve
starts the spare with textual-serve's environment for a tab already set; only the size comes
later.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys

AHEAD = (
    "textual.drivers.web_driver",
    "textual.pilot",  # App.run_async's
    "httpx",
    "sqlite3",
    "sessionkeeper.tui.app",
    "sessionkeeper.tui.presenter",
    "sessionkeeper.tui.outliving",
    "sessionkeeper.tui.screens.prompt",
    "sessionkeeper.api.client",
    "sessionkeeper.api.drafts",
    "sessionkeeper.api.qa.control",
    "sessionkeeper.api.qa.desk",
    "sessionkeeper.session.store",
    "sessionkeeper.session.timeline",
)


def read_order(fd: int = 0) -> dict[str, object] | None:
    """The one line serve sends, read a byte at a time: what follows it on stdin (the tab's keys
    and sizes) is the app's, and must stay unread. None at the end of input."""
    line = bytearray()
    while True:
        byte = os.read(fd, 1)
        if not byte:
            return None
        if byte == b"\n":
            order = json.loads(line)
            assert isinstance(order, dict)
            return order
        line += byte


def main(argv: list[str] | None = None) -> int:
    options = list(sys.argv[1:] if argv is None else argv)
    # What the app imports up to its running countdown (and textual-serve's driver), imported
    # now, before any tab waits on it; a terminal's start leaves most of it for after its first
    # frame, a tab has nothing on screen to show before it anyway.
    for module in AHEAD:
        importlib.import_module(module)

    order = read_order()
    if order is None:
        return 0
    data_dir = str(order["data_dir"])
    os.environ["COLUMNS"] = str(order.get("columns", 80))
    os.environ["ROWS"] = str(order.get("rows", 24))
    os.chdir(data_dir)
    # The command line runs as the program it is (`python -m sessionkeeper.tui.cli`): the web
    # rooms never import it (it reaches the scenarios, and imports `serve` itself).
    sys.argv = ["sessionkeeper", *options, "--data-dir", data_dir]
    try:
        runpy.run_module("sessionkeeper.tui.cli", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
