"""A child of bench/tui.py: the cost of the first GraphQL call after start, in a fresh process.

It starts the app's services exactly as the app does (embedded backend on loopback, the same
client, middleware, timeline and store), makes the REST call that comes before the fares step
(a flight search), then times the first `fares` query and 15 more. With `--warm`, it first lets
the background warm-up the app runs once the countdown is drawn finish, as it has by the time a
user reaches the fares step; without it, the first call pays for the GraphQL stack itself.
Prints one JSON line: {"first_ms": ..., "warm_ms": median of the later calls}.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sessionkeeper.tui.services import Overrides, Services
from sessionkeeper.tui.settings import Settings


async def measure(warm: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as data:
        overrides = Overrides() if warm else Overrides(warm_up_after_s=None)
        services = Services(Settings(data_dir=Path(data)), overrides)
        await services.start(lambda _decision: None, lambda: None)
        try:
            client = services.client
            assert client is not None
            if services.warming is not None:
                await services.warming
            flights = await client.rest.search_flights("LHR", "JFK", dt.date.today() + dt.timedelta(days=7))
            flight_id = flights[0].id
            times = []
            for _ in range(16):
                start = time.perf_counter()
                await client.graphql.fares(flight_id)
                times.append(time.perf_counter() - start)
        finally:
            await services.aclose()
    return {"first_ms": times[0] * 1000, "warm_ms": statistics.median(times[1:]) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", action="store_true")
    print(json.dumps(asyncio.run(measure(parser.parse_args().warm))))


if __name__ == "__main__":
    main()
