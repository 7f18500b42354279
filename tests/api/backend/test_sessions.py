"""The server's session store against a small reference model, over random timelines.

The model below is written from the contract's words, not from sessions.py, so the two
have to agree independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkeeper.api.backend.clock import ServerClock
from sessionkeeper.api.backend.sessions import AuthRejected, ServerSessions
from tests.api.backend.helpers import FakeClock
from tests.profiles import examples

TTL = 60.0
GRACE = 30.0

# An op is ("wait", seconds) | ("use", token index from newest: 0 = newest) | ("refresh", idx)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.sampled_from([1.0, 10.0, 29.0, 30.0, 31.0, 59.0, 60.0, 61.0])),
        st.tuples(st.just("use"), st.integers(0, 2)),
        st.tuples(st.just("refresh"), st.integers(0, 2)),
    ),
    max_size=30,
)


@dataclass
class Model:
    """Contract: a session lives TTL after the last accepted request; a refreshed-away token
    lives GRACE more; once the session's deadline passes it never comes back."""

    now: float = 0.0
    deadline: float = TTL
    dead: bool = False
    # (token, retired_at or None), oldest first
    tokens: list[tuple[int, float | None]] = field(default_factory=lambda: [(0, None)])

    def accepts(self, index: int) -> bool:
        if self.dead or self.now >= self.deadline:
            self.dead = True
            return False
        _token, retired = self.tokens[index]
        return retired is None or self.now < retired + GRACE


@given(ops)
@settings(max_examples=examples(300), deadline=None)
def test_store_agrees_with_the_contract_model(timeline: list[tuple[str, float]]) -> None:
    base = FakeClock()
    clock = ServerClock(base)
    store = ServerSessions(clock, ttl_s=TTL, grace_s=GRACE)
    issued = store.create_guest()
    real_tokens = [issued.token]
    model = Model()
    for op, arg in timeline:
        if op == "wait":
            base.advance(arg)
            model.now += arg
            continue
        index = max(0, len(real_tokens) - 1 - int(arg))
        expected = model.accepts(index)
        try:
            session = store.authenticate(real_tokens[index])
            accepted = True
        except AuthRejected as rejection:
            reason: str | None = rejection.reason
            accepted = False
        else:
            reason = None
        assert reason in (None, "session_expired")
        assert accepted == expected, (op, arg, model)
        if accepted:
            model.deadline = model.now + TTL
            if op == "refresh":
                real_tokens.append(store.refresh(session))
                model.tokens = [(t, model.now if r is None else r) for t, r in model.tokens] + [
                    (len(model.tokens), None)
                ]
        assert store.expires_in(issued.session) == model.deadline - model.now


def test_unknown_token_is_invalid_token_not_session_expired() -> None:
    store = ServerSessions(ServerClock(FakeClock()), ttl_s=TTL, grace_s=GRACE)
    store.create_guest()
    with pytest.raises(AuthRejected) as rejected:
        store.authenticate("nope")
    assert rejected.value.reason == "invalid_token"


def test_store_keeps_no_secret_in_the_clear() -> None:
    store = ServerSessions(ServerClock(FakeClock()), ttl_s=TTL, grace_s=GRACE)
    user = store.create_user("ada")
    refreshed = store.refresh(user.session)
    dump = repr(vars(store)) + repr(user) + repr(user.session)
    for secret in (user.token, user.reauth_key, refreshed):
        assert secret is not None and secret not in dump


def test_an_injected_token_factory_that_repeats_itself_is_refused() -> None:
    store = ServerSessions(ServerClock(FakeClock()), ttl_s=TTL, grace_s=GRACE, token_factory=lambda: "same")
    store.create_guest()
    with pytest.raises(RuntimeError, match="repeating"):
        store.create_guest()
