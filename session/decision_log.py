"""What each of the engine's decisions leaves on the timeline (rule 13): the entry's name and details.

One `match` over every decision: a decision type added to `session.decisions` and not named here
fails `mypy --strict` (`assert_never`), rather than going unrecorded in silence.
"""

from __future__ import annotations

from typing import Any, assert_never

from sessionkeeper.session import decisions as d

Entry = tuple[str, dict[str, Any]]


def entry(decision: d.Decision, now: float) -> Entry | None:
    """The timeline entry for `decision` made at `now`; None for the routine ones (a call that may
    go out or must wait, a session discarded: the manager records that itself, with its token)."""
    match decision:  # the one on every accepted call's path first
        case d.DeadlineMoved(deadline=deadline):
            return "deadline_moved", {"remaining_s": round(deadline - now, 3)}
        case d.Proceed() | d.AwaitFlight() | d.DiscardSession():
            return None
        case d.StartRefresh():
            return "refresh_started", {}
        case d.StartReauth():
            return "reauth_started", {}
        case d.StartGuestSession():
            return "guest_session_started", {}
        case d.ShowPrompt(seconds_left=left):
            return "prompt_shown", {"seconds_left": round(left, 3)}
        case d.WarningWindow(seconds_left=left, action=action):
            return "warning", {"seconds_left": round(left, 3), "action": action}
        case d.HidePrompt():
            return "prompt_hidden", {}
        case d.SignOut(reason=reason):
            return "signed_out", {"reason": reason.value}
        case d.ResyncProfile():
            return "profile_resync", {}
        case d.TTLLowered(old_s=old, new_s=new):
            return "ttl_lowered", {"old_s": round(old, 3), "new_s": round(new, 3)}
        case d.RefreshRetryScheduled(at=at, failures=failures):
            return "refresh_retry_scheduled", {"in_s": round(at - now, 3), "failures": failures}
        case d.SessionLapsed(kind=kind):
            return "session_lapsed", {"kind": kind.value}
        case d.ConnectivityChanged(link=link):
            return "connectivity", {"online": decision.online, "link": link.value}
        case d.BackgroundEnded(away_s=away, detected=detected, how=how):
            return "resumed", {"away_s": round(away, 3), "detected": detected, "how": how}
        case d.LifetimeWarning(seconds_left=left):
            return "lifetime_warning", {"seconds_left": round(left, 3)}
        case d.SessionShared(kind=kind):
            return "session_shared", {"kind": kind.value}
        case d.Replay():
            return "call_replay", {}
        case d.GiveUp(reason=reason):
            return "call_given_up", {"reason": reason}
        case _:
            assert_never(decision)
