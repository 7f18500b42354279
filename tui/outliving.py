"""Work that outlives the screen that started it (leaving a screen cancels its workers): a payment,
a QA action. Its errors are not lost: an ApiError is the caller's to show (it awaits the task),
anything else is a bug and ends the app with its report, as an error in a worker would. Quitting
waits for the work that must finish (a payment the server may have taken must reach the draft),
up to a bound, and cancels the rest."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Outliving:
    def __init__(self, on_error: Callable[[Exception], None]) -> None:
        self._on_error = on_error
        self._tasks: set[asyncio.Task[Any]] = set()
        self._must_finish: set[asyncio.Task[Any]] = set()

    def start(self, coro: Coroutine[Any, Any, T], *, finish_on_quit: bool = False) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        if finish_on_quit:
            self._must_finish.add(task)
        task.add_done_callback(self._ended)
        return task

    async def close(self, bound_s: float) -> None:
        """Wait up to `bound_s` for the work that must finish, then cancel everything left."""
        if self._must_finish:
            await asyncio.wait(list(self._must_finish), timeout=bound_s)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        from sessionkeeper.api.errors import ApiError

        self._tasks.discard(task)
        self._must_finish.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, Exception) and not isinstance(error, ApiError):
            # Handled as if caught here: a done callback runs outside any except block, and the
            # report (Textual's and ours) reads the error being handled from sys.exc_info().
            try:
                raise error
            except Exception as caught:
                self._on_error(caught)
