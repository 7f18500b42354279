"""Rule 15 in the manager: the sign-in's time is kept with the session (across restarts and
instances), the backend's cap is learned from its refusal and remembered in lifetime.json, and a
known cap bounds the deadline and tells the engine when the lifetime ends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.manager import SessionEnded, SessionManager
from sessionkeeper.session.port import IssuedSession, LifetimeReached
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.store import SessionStore
from sessionkeeper.session.timeline import Timeline
from tests.session.fake_backend import FakeBackend
from tests.session.managers import PASSWORD, TTL, api_call
from tests.session.test_manager_shared import instance

CAP = 1200.0


@dataclass
class CappedBackend(FakeBackend):
    """The in-memory backend with an absolute lifetime: past it, calls are rejected and renewals
    refused with lifetime_reached (it never says the cap itself)."""

    signed_in_at: float | None = None

    async def login(
        self, username: str, password: Secret, guest_token: Secret | None = None
    ) -> IssuedSession:
        self.signed_in_at = self.clock.now()
        return await super().login(username, password, guest_token)

    def _past(self) -> bool:
        return self.signed_in_at is not None and self.clock.now() - self.signed_in_at >= CAP

    def call(self, token: Secret) -> bool:
        return False if self._past() else super().call(token)

    async def reauth(self, reauth_key: Secret) -> IssuedSession:
        if self._past():
            self.counters["reauths"] += 1
            raise LifetimeReached("lifetime_reached")
        return await super().reauth(reauth_key)


def manager(tmp_path: Path, clock: FakeClock, backend: FakeBackend) -> SessionManager:
    return SessionManager(
        port=backend,
        clock=clock,
        store=SessionStore(tmp_path / "session.json"),
        timeline=Timeline(),
        auto_wake=False,
    )


async def test_the_cap_is_learned_from_the_refusal_remembered_and_bounds_the_next_sign_in(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    backend = CappedBackend(clock, ttl_s=TTL)
    first = manager(tmp_path, clock, backend)
    await first.start()
    await first.login("ada", Secret(PASSWORD))
    assert first.view().lifetime_left_s is None  # not known yet: nothing said of it
    for _ in range(2):
        clock.advance(500)
        assert await api_call(first, backend)
    clock.advance(230)  # 1,230 s after the sign-in: past the cap
    with pytest.raises(SessionEnded, match="lifetime"):
        await api_call(first, backend)
    assert first.lifetime_s == pytest.approx(1230.0)
    assert json.loads((tmp_path / "lifetime.json").read_text())["lifetime_s"] == pytest.approx(1230.0)
    await first.close()

    # A new run: it knows the cap, and the next sign-in's deadline never goes past it.
    second = manager(tmp_path, clock, backend)
    assert second.lifetime_s == pytest.approx(1230.0)
    await second.start()
    await second.login("ada", Secret(PASSWORD))
    view = second.view()
    assert view.lifetime_left_s == pytest.approx(1230.0)
    clock.advance(800)
    assert await api_call(second, backend)
    assert second.view().remaining_s == pytest.approx(430.0)  # 1,230 - 800: capped, not a TTL's 900


async def test_a_known_cap_and_the_sign_in_time_are_shared_with_another_instance_and_a_restart(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    backend = FakeBackend(clock, ttl_s=TTL)
    a, b = instance(tmp_path, clock, backend), instance(tmp_path, clock, backend)
    a.lifetime_s = b.lifetime_s = CAP
    await a.start()
    await b.start()
    clock.advance(5)
    await a.login("ada", Secret(PASSWORD))
    clock.advance(10)
    b.sync()
    assert b.signed_in_wall == a.signed_in_wall is not None
    assert b.view().lifetime_left_s == pytest.approx(CAP - 10)
    stored = json.loads((tmp_path / "session.json").read_text())
    assert stored["signed_in_wall"] == a.signed_in_wall
    await a.close()
    await b.close()
    c = instance(tmp_path, clock, backend)
    c.lifetime_s = CAP
    await c.start()
    assert c.signed_in and c.view().lifetime_left_s == pytest.approx(CAP - 10)
