"""Benchmark of the session middleware as the app wires it, against the mock backend on loopback;
prints one JSON line.

- Overhead: each call made twice in a row, once through the app's own clients (the middleware,
  the session manager with its file timeline and stored session, the network switch) and once
  through a client on the same transport stack with a static `Authorization` header instead of
  the middleware; the order flips every call. Reported: the ratio of the medians, and the time
  the middleware adds per call (the paired difference), p50 and p99, in microseconds; for REST
  (`GET /api/session`) and for GraphQL (`me`).
- Burst: N concurrent calls, half REST and half GraphQL, fired just after the client's deadline
  passed (the server still holds the session): how many refreshes the server saw, the failed
  calls by exception type, and the burst's wall time beside the same burst with a fresh session.

- In process (issue 19, item 7): the middleware as the app wires it, over an `httpx.MockTransport`
  that answers at once, against httpx with a static header on the same transport stack; no
  network, no server, so the figure is the middleware's own cost against httpx's own. Reported:
  CPU per call on each side (process time over blocks of calls, the sides interleaved block by
  block) and the added CPU as a share of httpx's per-call CPU (target <= 15 %).

Run: python bench/middleware.py [--calls 1000] [--burst 500] [--burst-reps 5] [--in-process-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from graphql import parse

from sessionkeeper.api import operations
from sessionkeeper.api.backend.serve import EmbeddedBackend
from sessionkeeper.api.client import BackendClient
from sessionkeeper.api.network import call_timeout
from sessionkeeper.session.clock import QAClock
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.store import SessionStore
from sessionkeeper.session.timeline import Timeline

TTL = 900.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def overhead(client: BackendClient, url: str, calls: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as raw:
        token = (await raw.post("/api/session/guest")).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    timeout = call_timeout(10.0)
    # The plain side has the app's transport stack (the network switch over the bounded transport
    # over httpx's) and its timeouts; only the middleware (the auth flow and its reporting
    # transport) is left out.
    plain_rest = httpx.AsyncClient(
        base_url=url, headers=headers, timeout=timeout, transport=client.connection()
    )
    plain_gql = Client(
        transport=HTTPXAsyncTransport(
            url=f"{url}/graphql", headers=headers, timeout=timeout, transport=client.connection()
        ),
        fetch_schema_from_transport=False,
        execute_timeout=None,
    )
    plain_session = await plain_gql.connect_async(reconnecting=False)  # type: ignore[no-untyped-call]
    me = parse(operations.ME)  # parsed once, as the app's GraphQL client does

    async def rest_through() -> None:
        (await client.rest.http.get("/api/session")).raise_for_status()

    async def rest_plain() -> None:
        (await plain_rest.get("/api/session")).raise_for_status()

    async def graphql_plain() -> None:
        await plain_session.execute(GraphQLRequest(me))

    modes: dict[str, tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = {
        # The app's own clients, below their typed reading of the answer (the same on both sides
        # would only dilute the figure): the REST client's httpx client, the GraphQL client's execute.
        "rest": (rest_through, rest_plain),
        "graphql": (lambda: client.graphql.execute(operations.ME), graphql_plain),
    }
    figures: dict[str, Any] = {}
    for name, (through, plain) in modes.items():
        for _ in range(50):  # warm-up: connections, imports, caches, both sides
            await through()
            await plain()
        with_mw: list[float] = []
        without: list[float] = []
        for i in range(calls):
            pair = [(through, with_mw), (plain, without)]
            for call, sink in pair if i % 2 == 0 else reversed(pair):
                start = time.perf_counter()
                await call()
                sink.append(time.perf_counter() - start)
        added = [a - b for a, b in zip(with_mw, without, strict=True)]
        figures |= {
            f"{name}_overhead_ratio": round(statistics.median(with_mw) / statistics.median(without), 4),
            f"{name}_added_us_p50": round(percentile(added, 0.50) * 1e6, 1),
            f"{name}_added_us_p99": round(percentile(added, 0.99) * 1e6, 1),
            f"{name}_median_ms_middleware": round(statistics.median(with_mw) * 1000, 4),
            f"{name}_median_ms_plain": round(statistics.median(without) * 1000, 4),
        }
    await plain_rest.aclose()
    await plain_gql.close_async()  # type: ignore[no-untyped-call]
    figures["overhead_calls_per_side"] = calls
    return figures


def _instant(request: httpx.Request) -> httpx.Response:
    """The backend's answers, made at once in memory: a guest session, and a whoami for any call."""
    if request.url.path == "/api/session/guest":
        return httpx.Response(201, json={"token": "in-process-token-" + "x" * 32, "kind": "guest"})
    return httpx.Response(200, json={"kind": "guest", "user": None, "session_id": "s1"})


async def in_process(calls: int, blocks: int = 20) -> dict[str, Any]:
    """CPU per call, through the middleware and with a static header, over an instant transport."""
    with tempfile.TemporaryDirectory() as data:
        client = BackendClient(
            "http://in-process.invalid",
            clock=QAClock(),
            policy=Policy(ttl_s=TTL, warn_s=60.0),
            store=SessionStore(Path(data) / "session.json", scope="in-process"),
            timeline=Timeline(Path(data) / "timeline.jsonl", flush_every_s=1.0),
            inner_transport=lambda: httpx.MockTransport(_instant),
        )
        await client.start()
        through = client.rest.http
        plain = httpx.AsyncClient(
            base_url="http://in-process.invalid",
            headers={"Authorization": "Bearer in-process-token-" + "x" * 32},
            timeout=call_timeout(10.0),
            transport=client.connection(),
        )
        per_block = max(1, calls // blocks)
        cpu = {"middleware": 0.0, "plain": 0.0}
        sides = [("middleware", through), ("plain", plain)]
        for _ in range(50):  # warm-up
            for _name, http in sides:
                await http.get("/api/session")
        for block in range(blocks):
            for name, http in sides if block % 2 == 0 else list(reversed(sides)):
                start = time.process_time()
                for _ in range(per_block):
                    await http.get("/api/session")
                cpu[name] += time.process_time() - start
        await plain.aclose()
        await client.aclose()
    n = per_block * blocks
    through_us, plain_us = cpu["middleware"] / n * 1e6, cpu["plain"] / n * 1e6
    return {
        "in_process_calls_per_side": n,
        "in_process_cpu_us_per_call_middleware": round(through_us, 1),
        "in_process_cpu_us_per_call_plain": round(plain_us, 1),
        "in_process_added_cpu_us": round(through_us - plain_us, 1),
        "in_process_added_share": round((through_us - plain_us) / plain_us, 4),
    }


async def burst(client: BackendClient, n: int) -> tuple[float, Counter[str]]:
    calls = [client.rest.whoami() if i % 2 == 0 else client.graphql.me() for i in range(n)]
    start = time.perf_counter()
    results = await asyncio.gather(*calls, return_exceptions=True)
    wall = time.perf_counter() - start
    return wall, Counter(type(r).__name__ for r in results if isinstance(r, BaseException))


async def bursts(
    client: BackendClient, qa: httpx.AsyncClient, clock: QAClock, n: int, reps: int
) -> dict[str, Any]:
    fresh_times, expired_times, refreshes = [], [], []
    failures: Counter[str] = Counter()
    for _ in range(reps):
        await client.rest.whoami()
        wall, failed = await burst(client, n)
        fresh_times.append(wall)
        failures += failed
        # Just after the client's deadline; the server, which saw the last call a little later,
        # still holds the session for a few seconds (its deadline is never earlier than ours).
        before = (await qa.get("/__qa/state")).json()["counters"]["refreshes"]
        await client.rest.whoami()
        clock.skip_ahead(TTL + 0.01)
        await qa.post("/__qa/clock", json={"advance_s": TTL - 5})
        wall, failed = await burst(client, n)
        expired_times.append(wall)
        failures += failed
        refreshes.append((await qa.get("/__qa/state")).json()["counters"]["refreshes"] - before)
    fresh, expired = statistics.median(fresh_times), statistics.median(expired_times)
    return {
        "burst_calls": n,
        "burst_repetitions": reps,
        "burst_refreshes_seen_by_server": max(refreshes),
        "burst_refreshes_per_repetition": refreshes,
        "burst_failures": sum(failures.values()),
        "burst_failures_by_type": dict(failures),
        "burst_wall_s": round(expired, 4),
        "fresh_burst_wall_s": round(fresh, 4),
        "burst_wall_ratio": round(expired / fresh, 4),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per side, per protocol")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--burst-reps", type=int, default=5)
    parser.add_argument("--in-process-only", action="store_true", help="only the in-process figures")
    args = parser.parse_args()
    figures = await in_process(max(args.calls, 2000) * 5)
    if args.in_process_only:
        print(json.dumps(figures))
        return
    with tempfile.TemporaryDirectory() as data:
        async with EmbeddedBackend(ttl_s=TTL) as backend:
            clock = QAClock()
            # Wired as tui/services.py wires it: a file timeline, a stored session, the switch.
            client = BackendClient(
                backend.url,
                clock=clock,
                policy=Policy(ttl_s=TTL, warn_s=60.0),
                store=SessionStore(Path(data) / "session.json", scope=backend.url),
                timeline=Timeline(Path(data) / "timeline.jsonl", flush_every_s=1.0),
            )
            await client.start()
            async with httpx.AsyncClient(base_url=backend.url) as qa:
                figures.update(await overhead(client, backend.url, args.calls))
                figures.update(await bursts(client, qa, clock, args.burst, args.burst_reps))
            await client.aclose()
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
