"""Benchmark of the session middleware against the mock backend on loopback; prints one JSON line.

- Overhead: the median of sequential calls through the middleware over the median of the same
  calls with a static `Authorization` header and no middleware, same server, same run, the two
  interleaved in rounds; for REST and for GraphQL.
- Burst: 500 concurrent calls, half REST and half GraphQL, fired just after the client's deadline
  passed (the server still holds the session): how many refreshes the server saw, how many calls
  failed, and the burst's wall time next to the same burst with a fresh session.

Run: python bench/middleware.py [--rounds 20] [--calls 50] [--burst 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

from api import operations
from api.backend.serve import EmbeddedBackend
from api.client import BackendClient
from session.clock import QAClock
from session.policy import Policy
from session.timeline import Timeline

TTL = 900.0


async def timed(call: Any) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def overhead(client: BackendClient, url: str, rounds: int, calls: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=url) as raw:
        token = (await raw.post("/api/session/guest")).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    # The same calls on both sides, at the same layer: an httpx client and a gql session, one
    # with the session middleware attached as the app attaches it, one with a static header.
    mw_rest = httpx.AsyncClient(base_url=url, **client.auth.client_kwargs())
    plain_rest = httpx.AsyncClient(base_url=url, headers=headers)
    mw_gql = Client(transport=HTTPXAsyncTransport(url=f"{url}/graphql", **client.auth.client_kwargs()))
    plain_gql = Client(transport=HTTPXAsyncTransport(url=f"{url}/graphql", headers=headers))
    mw_session = await mw_gql.connect_async(reconnecting=False)
    plain_session = await plain_gql.connect_async(reconnecting=False)
    me = GraphQLRequest(operations.ME)
    modes = {
        "rest_middleware": lambda: _rest(mw_rest),
        "rest_plain": lambda: _rest(plain_rest),
        "graphql_middleware": lambda: mw_session.execute(me),
        "graphql_plain": lambda: plain_session.execute(me),
    }
    samples: dict[str, list[float]] = {name: [] for name in modes}
    for _name, call in modes.items():  # warm-up: connections, imports, caches
        for _ in range(10):
            await call()
    for round_no in range(rounds):
        order = list(modes.items())
        if round_no % 2:
            order.reverse()  # neither side always goes first
        for name, call in order:
            for _ in range(calls):
                samples[name].append(await timed(call))
    for http in (mw_rest, plain_rest):
        await http.aclose()
    for gql_client in (mw_gql, plain_gql):
        await gql_client.close_async()
    med = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "rest_overhead_ratio": round(med["rest_middleware"] / med["rest_plain"], 4),
        "graphql_overhead_ratio": round(med["graphql_middleware"] / med["graphql_plain"], 4),
        "rest_median_ms_middleware": round(med["rest_middleware"] * 1000, 4),
        "rest_median_ms_plain": round(med["rest_plain"] * 1000, 4),
        "graphql_median_ms_middleware": round(med["graphql_middleware"] * 1000, 4),
        "graphql_median_ms_plain": round(med["graphql_plain"] * 1000, 4),
        "overhead_samples_per_mode": rounds * calls,
    }


async def _rest(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/session")
    response.raise_for_status()
    response.json()


async def burst(client: BackendClient, n: int) -> tuple[float, int]:
    calls = [client.rest.whoami() if i % 2 == 0 else client.graphql.me() for i in range(n)]
    start = time.perf_counter()
    results = await asyncio.gather(*calls, return_exceptions=True)
    return time.perf_counter() - start, sum(isinstance(r, BaseException) for r in results)


async def bursts(
    client: BackendClient, qa: httpx.AsyncClient, clock: QAClock, n: int, reps: int
) -> dict[str, Any]:
    fresh_times, expired_times, refreshes, failures = [], [], [], 0
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
        "burst_failures": failures,
        "burst_wall_s": round(expired, 4),
        "fresh_burst_wall_s": round(fresh, 4),
        "burst_wall_ratio": round(expired / fresh, 4),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--burst-reps", type=int, default=5)
    args = parser.parse_args()
    async with EmbeddedBackend(ttl_s=TTL) as backend:
        clock = QAClock()
        client = BackendClient(
            backend.url, clock=clock, policy=Policy(ttl_s=TTL, warn_s=60.0), timeline=Timeline()
        )
        await client.start()
        async with httpx.AsyncClient(base_url=backend.url) as qa:
            figures = await overhead(client, backend.url, args.rounds, args.calls)
            figures.update(await bursts(client, qa, clock, args.burst, args.burst_reps))
        await client.aclose()
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
