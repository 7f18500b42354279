"""The QA freeze's stop: the process stopped by SIGSTOP and continued by SIGCONT from a helper
process a moment later, as `kill -STOP` and `kill -CONT` from another shell would.

Under an interactive shell's job control (the app started from a prompt), a stopped job hands the
terminal back to the shell, which then keeps it: the app would come back in the background, and
stop again at its first read. There the stop is made by blocking the event loop instead, and the
SIGCONT's work is done by hand: nothing of the app runs meanwhile either.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable


def under_job_control() -> bool:
    """Whether a shell with job control runs this process as a job of its own (its own process
    group, not a session leader, in a group other than its parent's)."""
    try:
        group = os.getpgrp()
        return group == os.getpid() and os.getsid(0) != os.getpid() and os.getpgid(os.getppid()) != group
    except OSError:
        return True  # cannot tell: the safe way


async def stop_process(
    seconds: float, *, just_before: Callable[[], None], continued: Callable[[], None]
) -> str:
    """Stop this process for `seconds` of real time; how it was done, in words. `just_before`
    runs right before the stop, with nothing of the app run between the two. `continued` is what a
    SIGCONT tells the app (`tui.continued`); called here when no signal came."""
    helper: asyncio.subprocess.Process | None = None
    why = "a SIGSTOP would hand the terminal to your shell"
    if hasattr(signal, "SIGSTOP") and not under_job_control():
        try:
            helper = await asyncio.create_subprocess_exec(
                "sh",
                "-c",
                f"sleep {seconds:.3f}; kill -CONT {os.getpid()}",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError:
            why = "no helper could be started to send the SIGCONT"
    just_before()
    if helper is None:
        time.sleep(seconds)  # noqa: ASYNC251 - blocking the loop is the point: nothing runs
        continued()
        return f"its event loop blocked: {why}"
    os.kill(os.getpid(), signal.SIGSTOP)  # here until the helper's SIGCONT
    await helper.wait()
    return "SIGSTOP, then SIGCONT"
