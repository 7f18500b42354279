"""Rule 14, by property: two real managers on one stored session, driven by random steps.

Two `SessionManager`s (two terminals of one person) on one `session.json`, one fake clock, one
in-memory backend. Hypothesis picks a run of steps: a call on either (alone, or a burst on both at
once), time passing, either one looking (`sync`, the app's heartbeat), a sign-in or a sign-out in
either, either one's wake-up. After each step:

1. Single flight (rule 8 across instances): never two refreshes, re-auths or new guest sessions
   out at the server at once, whichever instance sent them.
2. No loss: the stored session holds the user from a sign-in until a sign-out (or the session's
   own end); a guest instance never writes over it; a third instance started now resumes it.
3. One session: once each has made a call and both have looked, both hold the same token.
4. A call succeeds, or ends with the session signed out (SessionEnded); it is never refused by the
   server with a session live in the store.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkeeper.session import decisions as d
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.manager import SessionEnded, SessionManager
from sessionkeeper.session.port import IssuedSession
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.store import SessionStore
from tests.session.fake_backend import FakeBackend
from tests.session.managers import PASSWORD, TTL, api_call
from tests.session.test_manager_shared import instance


class CountingBackend(FakeBackend):
    """The fake backend, counting the flights out at once (and letting others run while one is)."""

    out = 0
    most = 0

    async def _flight(self, work: Any) -> Any:
        self.out += 1
        self.most = max(self.most, self.out)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return await work
        finally:
            self.out -= 1

    async def start_guest(self) -> IssuedSession:
        return await self._flight(super().start_guest())  # type: ignore[no-any-return]

    async def refresh(self, token: Secret) -> Secret:
        return await self._flight(super().refresh(token))  # type: ignore[no-any-return]

    async def reauth(self, reauth_key: Secret) -> IssuedSession:
        return await self._flight(super().reauth(reauth_key))  # type: ignore[no-any-return]


WHO = st.sampled_from([0, 1])
STEP = st.one_of(
    st.tuples(st.just("call"), WHO),
    st.tuples(st.just("burst"), st.just(0)),
    st.tuples(st.just("advance"), st.sampled_from([1, 20, 200, 850, 1000])),
    st.tuples(st.just("sync"), WHO),
    st.tuples(st.just("login"), WHO),
    st.tuples(st.just("sign_out"), WHO),
    st.tuples(st.just("tick"), WHO),
)


def stored_kind(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text())["kind"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


async def call(mgr: SessionManager, backend: FakeBackend) -> None:
    try:
        ok = await api_call(mgr, backend)
    except SessionEnded:
        return
    assert ok, "a call was refused by the server"


async def run(steps: list[tuple[str, int]], data: Path) -> None:
    clock = FakeClock()
    backend = CountingBackend(clock, ttl_s=TTL)
    pair = [instance(data, clock, backend), instance(data, clock, backend)]
    ended: list[d.SignOut] = []  # a user's sign-outs, whatever their reason (a lowered TTL's expiry too)

    def watch(mgr: SessionManager) -> None:
        def seen(decision: d.Decision) -> None:
            if isinstance(decision, d.SignOut) and mgr.former_user:
                ended.append(decision)

        mgr.subscribe(seen)

    for mgr in pair:
        watch(mgr)
    await pair[0].start()
    await pair[1].start()
    user_stored = False  # a sign-in is stored and no sign-out has happened since
    try:
        for what, arg in steps:
            mgr = pair[arg] if what != "advance" else pair[0]
            if what == "call":
                await call(mgr, backend)
            elif what == "burst":
                await asyncio.wait_for(
                    asyncio.gather(*(call(m, backend) for m in pair * 3)),
                    10,
                )
            elif what == "advance":
                clock.advance(arg)
            elif what == "sync":
                mgr.sync()
            elif what == "login":
                await mgr.login("ada", Secret(PASSWORD))
                user_stored = True
            elif what == "sign_out":
                mgr.sign_out()
                await asyncio.sleep(0)
            else:
                mgr.tick()
                await asyncio.sleep(0)
            await mgr.wait_for_flight()
            if ended:
                user_stored = False
                ended.clear()
            # 1. single flight, across both
            assert backend.most <= 1, f"{backend.most} flights out at once"
            # 2. no loss
            if user_stored:
                assert stored_kind(data / "session.json") == "user", "the stored sign-in was lost"
        # 3. one session, once each has made a call and both have looked
        for mgr in pair:
            await call(mgr, backend)
        for _ in range(2):
            for mgr in pair:
                mgr.sync()
                await mgr.wait_for_flight()
        assert pair[0].token_fingerprint == pair[1].token_fingerprint
        if user_stored:
            third = SessionManager(port=backend, clock=clock, store=SessionStore(data / "session.json"))
            assert third._stored.load() is not None and third._stored.load().kind.value == "user"  # type: ignore[union-attr]
    finally:
        for mgr in pair:
            await mgr.close()


@settings(deadline=None, max_examples=int(os.environ.get("SESSIONKEEPER_SHARED_EXAMPLES", "150")))
@given(steps=st.lists(STEP, min_size=1, max_size=25))
def test_two_instances_on_one_store_keep_one_flight_lose_nothing_and_agree(
    steps: list[tuple[str, int]], tmp_path_factory: Any
) -> None:
    data = tmp_path_factory.mktemp("shared")
    asyncio.run(run(steps, data))
