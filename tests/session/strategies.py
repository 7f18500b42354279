"""What both state machines draw (test_engine_properties.py drives the engine, test_manager_properties.py
the manager): the times and the failures, made for the session both run (TTL 100 s, warning at 20 s)."""

from __future__ import annotations

from hypothesis import strategies as st

TTL = 100.0
WARN = 20.0
GRACE = 30.0  # the model server's grace for a refreshed token's predecessor

# Time steps: mostly small (latency), some around the warning window and the TTL, some past it.
TIME_STEPS = st.one_of(
    st.floats(min_value=0.0, max_value=5.0),
    st.sampled_from([0.5, 1.0, 2.0, 10.0, 20.0, 30.0, 79.0, 80.0, 81.0, 99.0, 100.0, 101.0, 250.0]),
    st.floats(min_value=5.0, max_value=120.0),
)
# Network latency before a delivery or an answer (time passes, the wake-ups tick on the way).
LATENCY = st.sampled_from([0.0, 0.0, 0.25, 1.5, 4.0])
# How a request ends on the way: mostly it gets through; sometimes a transport failure or a 5xx.
FAILURES = st.sampled_from([None, None, None, None, None, "transport", "5xx"])
# Which pending request or call a rule acts on (modulo how many there are).
PICK = st.integers(min_value=0, max_value=63)
