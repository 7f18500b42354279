"""The engine's policy as data: how long a session is assumed to live and how the client reacts."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Policy:
    """Tunable numbers of the session rules; every one is checked when the policy is built.

    ttl_s: how long the client assumes a session lives after the server last accepted it.
    warn_s: the warning window before the deadline (rule 4).
    refresh_backoff_s: delays between refresh retries after a server error (rule 6); the last
        entry repeats.
    idle_rule: on a passive screen, refresh near expiry only if the user did something since the
        last extension (rule 4); False refreshes regardless.
    ttl_evidence_fraction: an unexpected rejection lowers the TTL estimate (rule 7) only when at
        least this fraction of the assumed TTL had passed since the last extension; an earlier one
        reads as a revocation, which says nothing about the TTL.
    ttl_shrink_factor: the lowered estimate is the elapsed time times this factor. The server's
        TTL is known only to be below the elapsed time, so halving lands under it quickly.
    min_ttl_s: the estimate is never lowered below the warning window plus this.
    stop_gap_s: a scheduled wake-up this much late means the process was stopped meanwhile.
    lifetime_warn_s: how long before the session's absolute lifetime the user is told (rule 15),
        once the lifetime is known.
    """

    ttl_s: float = 900.0
    warn_s: float = 60.0
    refresh_backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
    idle_rule: bool = True
    ttl_evidence_fraction: float = 0.5
    ttl_shrink_factor: float = 0.5
    min_ttl_s: float = 5.0
    stop_gap_s: float = 2.0
    lifetime_warn_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("ttl_s", "warn_s", "min_ttl_s", "stop_gap_s", "lifetime_warn_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if self.warn_s >= self.ttl_s:
            raise ValueError(f"warn_s ({self.warn_s}) must be shorter than ttl_s ({self.ttl_s})")
        if not self.refresh_backoff_s or any(
            not (math.isfinite(d) and d > 0) for d in self.refresh_backoff_s
        ):
            raise ValueError("refresh_backoff_s must be a non-empty sequence of positive delays")
        if not 0 < self.ttl_evidence_fraction <= 1:
            raise ValueError("ttl_evidence_fraction must be in (0, 1]")
        if not 0 < self.ttl_shrink_factor <= 1:
            raise ValueError("ttl_shrink_factor must be in (0, 1]")

    def backoff(self, failures: int) -> float:
        """The delay before the retry that follows the given number of consecutive failures."""
        index = min(max(failures, 1), len(self.refresh_backoff_s)) - 1
        return self.refresh_backoff_s[index]
