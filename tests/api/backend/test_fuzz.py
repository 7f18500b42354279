"""Random JSON at every endpoint that takes a body: never a 5xx, always a JSON answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionkeeper.api.backend.app import create_app
from tests.api.backend.helpers import FakeClock
from tests.profiles import examples

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Bodies shaped like the real ones, with random values: they get past "not an object".
FIELDS = [
    "username",
    "password",
    "reauth_key",
    "step",
    "data",
    "flight_id",
    "fare_code",
    "passengers",
    "seats",
    "payment",
    "draft_id",
    "advance_s",
    "query",
    "variables",
    "operationName",
    "name",
    "email",
]
bodies = json_values | st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
# /__qa/faults, /revoke and /reset are left out: they would only switch the app off.
TARGETS = [
    ("POST", "/api/session/login"),
    ("POST", "/api/session/reauth"),
    ("POST", "/api/drafts"),
    ("PUT", "/api/drafts/{draft}"),
    ("POST", "/api/bookings"),
    ("POST", "/__qa/clock"),
    ("POST", "/graphql"),
]


# One app for all examples (building one per example is most of the cost); every example
# starts its own guest session and draft, so earlier examples cannot get in the way.
APP = create_app(ttl_s=60, clock=FakeClock())


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), body=bodies)
def test_random_json_bodies_never_cause_a_5xx(target: tuple[str, str], body: Any) -> None:
    asyncio.run(_send(target, json.dumps(body).encode()))


@settings(max_examples=examples(60), deadline=None)
@given(target=st.sampled_from(TARGETS), raw=st.binary(max_size=200))
def test_random_bytes_never_cause_a_5xx(target: tuple[str, str], raw: bytes) -> None:
    asyncio.run(_send(target, raw))


async def _send(target: tuple[str, str], content: bytes) -> None:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz.test") as client:
        token = (await client.post("/api/session/guest")).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        draft = (await client.post("/api/drafts", json={"step": "s", "data": {}}, headers=auth)).json()["id"]
        method, path = target
        r = await client.request(
            method,
            path.format(draft=draft),
            content=content,
            headers={**auth, "Content-Type": "application/json"},
        )
    assert r.status_code < 500, (target, content[:200], r.text)
    assert isinstance(r.json(), dict)
