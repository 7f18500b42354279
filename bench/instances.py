"""Benchmark of rule 14's cost at rest: what one session shared by two instances costs each of them.

Both sides are the real app in a real pseudo-terminal against one `sessionkeeper backend` (started
here, on loopback), sitting on the home screen:

- alone: one instance on a data dir of its own (it still looks at its session.json once a second,
  and finds nothing changed);
- pair: two instances on one data dir, each looking once a second and taking on what the other
  stores.

The two are alternated, `--rounds` times, each measured over `--idle-seconds` (user + system time
from /proc, as % of one core). Beside them, the look itself: `SharedSession.changed()` (one lstat)
timed in a loop, and what once a second of it costs as % of one core.

Run: python bench/instances.py [--rounds 3] [--idle-seconds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tui import COUNTDOWN, cpu_seconds, spawn, stop  # noqa: E402
from sessionkeeper.session.shared import SharedSession  # noqa: E402


def drain_all(masters: list[int], seconds: float) -> None:
    """Read every terminal for `seconds` (an app whose terminal is not read stops drawing)."""
    end = time.perf_counter() + seconds
    while (left := end - time.perf_counter()) > 0:
        ready, _, _ = select.select(masters, [], [], min(left, 0.05))
        for master in ready:
            try:
                os.read(master, 65536)
            except OSError:
                masters = [m for m in masters if m != master]


def wait_for_countdown(master: int, timeout: float = 30.0) -> None:
    buffer = b""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            buffer = (buffer + os.read(master, 65536))[-4096:]
            if COUNTDOWN.search(buffer):
                return
    raise RuntimeError("the app never showed its countdown")


def idle_cpu(count: int, url: str, idle_s: float) -> list[float]:
    """Start `count` apps on one fresh data dir; each one's idle CPU (%) once all run."""
    data = tempfile.mkdtemp(prefix="sessionkeeper-bench-instances-")
    argv = [sys.executable, "-m", "sessionkeeper.tui.cli", "--backend", url, "--data-dir", data]
    apps = [spawn(argv) for _ in range(count)]
    try:
        for _, master in apps:
            wait_for_countdown(master)
        drain_all([m for _, m in apps], 3.0)  # start-up work over (the warm-up query among it)
        before = [cpu_seconds(proc.pid) for proc, _ in apps]
        started = time.perf_counter()
        drain_all([m for _, m in apps], idle_s)
        elapsed = time.perf_counter() - started
        after = [cpu_seconds(proc.pid) for proc, _ in apps]
        return [100 * (a - b) / elapsed for a, b in zip(after, before, strict=True)]
    finally:
        for proc, master in apps:
            stop(proc, master)


def poll_cost(loops: int = 200_000) -> float:
    """Microseconds one look at the stored session takes (it exists and has not changed)."""
    with tempfile.TemporaryDirectory() as data:
        path = Path(data) / "session.json"
        path.write_text("{}")
        shared = SharedSession(path)
        shared.look()
        started = time.perf_counter()
        for _ in range(loops):
            shared.changed()
        return (time.perf_counter() - started) / loops * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    args = parser.parse_args()

    from sessionkeeper.api.backend.serve import find_free_port, url_for

    port = find_free_port("127.0.0.1")
    backend = subprocess.Popen(
        [sys.executable, "-m", "sessionkeeper.tui.cli", "backend", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    url = url_for("127.0.0.1", port)
    try:
        time.sleep(2.0)  # the backend's imports; the first app waits for its answer anyway
        alone: list[float] = []
        pair: list[float] = []
        for _ in range(args.rounds):
            alone += idle_cpu(1, url, args.idle_seconds)
            pair += idle_cpu(2, url, args.idle_seconds)
    finally:
        backend.terminate()
        backend.wait(timeout=10)
    look_us = poll_cost()
    result = {
        "rounds": args.rounds,
        "idle_seconds": args.idle_seconds,
        "idle_cpu_alone_percent": round(statistics.median(alone), 3),
        "idle_cpu_pair_percent_each": round(statistics.median(pair), 3),
        "idle_cpu_pair_max_percent": round(max(pair), 3),
        "pair_vs_alone": round(statistics.median(pair) / statistics.median(alone), 3),
        "look_us": round(look_us, 3),
        "look_once_a_second_percent": round(look_us / 1e6 * 100, 6),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
