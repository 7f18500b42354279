"""One test (or a few) per session rule of docs/rules.md, on the pure engine and exact decisions."""

from __future__ import annotations

import pytest

from sessionkeeper.session import decisions as d
from sessionkeeper.session import events as e
from sessionkeeper.session.engine import SessionEngine, SessionFlight, SessionProtocolError, State, Status
from sessionkeeper.session.events import SessionKind, Source
from sessionkeeper.session.policy import Policy

TTL, WARN = 900.0, 60.0


def engine_with(
    kind: SessionKind = SessionKind.GUEST, *, at: float = 0.0, active_flow: bool = False
) -> SessionEngine:
    """An engine holding a fresh session sent at `at`, answered at once."""
    eng = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN), now=at)
    if active_flow:
        eng.handle(e.ScreenChanged(active_flow=True), at)
    if kind is SessionKind.GUEST:
        assert eng.handle(e.CallStarting(), at) == [d.StartGuestSession()]
        eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=at), at)
    else:
        eng.handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at=at), at)
    return eng


# -- rule 1: one deadline ------------------------------------------------------------------------


def test_rule1_token_issued_sets_deadline_from_the_send_time_not_the_answer() -> None:
    eng = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN), now=10.0)
    assert eng.handle(e.CallStarting(), 10.0) == [d.StartGuestSession()]
    out = eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=10.0), 12.5)
    assert out == [d.DeadlineMoved(910.0)]
    assert eng.view(12.5).remaining_s == pytest.approx(897.5)
    assert eng.state is State.ACTIVE


def test_rule1_accepted_call_moves_deadline_to_its_send_time_plus_ttl() -> None:
    eng = engine_with()
    assert eng.handle(e.CallStarting(), 100.0) == [d.Proceed(1)]
    out = eng.handle(e.ResponseAccepted(sent_at=100.0, generation=1), 103.0)
    assert out == [d.DeadlineMoved(1000.0)]
    assert eng.deadline == 1000.0


def test_rule1_late_answer_of_an_older_call_never_moves_the_deadline_back() -> None:
    eng = engine_with()
    eng.handle(e.ResponseAccepted(sent_at=200.0, generation=1), 201.0)
    assert eng.handle(e.ResponseAccepted(sent_at=150.0, generation=1), 202.0) == []
    assert eng.deadline == 1100.0


def test_rule1_remaining_time_is_derived_from_the_clock_not_counted_down() -> None:
    eng = engine_with()
    assert eng.view(0.0).remaining_s == TTL
    assert eng.view(300.0).remaining_s == 600.0
    assert eng.view(5000.0).remaining_s == 0.0
    assert eng.deadline == TTL  # reading moved nothing


def test_rule1_answer_to_a_rotated_out_token_does_not_extend_the_new_one() -> None:
    eng = engine_with()
    eng.handle(e.Tick(), 845.0)  # passive, but idle: lapse path; force a refresh by activity
    eng.handle(e.UserActivity(), 846.0)
    assert eng.flight is SessionFlight.REFRESH
    eng.handle(e.RefreshSucceeded(sent_at=846.0), 846.2)
    assert eng.generation == 2 and eng.deadline == 846.0 + TTL
    assert eng.handle(e.ResponseAccepted(sent_at=846.1, generation=1), 847.0) == []
    assert eng.deadline == 846.0 + TTL


# -- rule 2: what extends ------------------------------------------------------------------------


def test_rule2_transport_failure_does_not_move_the_deadline_and_marks_offline() -> None:
    eng = engine_with()
    out = eng.handle(e.ResponseFailed(sent_at=100.0, generation=1, transport=True), 130.0)
    assert out == [d.ConnectivityChanged(d.Link.UNREACHABLE)]
    assert eng.deadline == TTL and eng.offline
    assert eng.handle(e.ResponseAccepted(sent_at=140.0, generation=1), 141.0) == [
        d.ConnectivityChanged(d.Link.ONLINE),
        d.DeadlineMoved(1040.0),
    ]


def test_rule2_server_error_does_not_move_the_deadline_and_says_the_server_is_failing() -> None:
    eng = engine_with()
    out = eng.handle(e.ResponseFailed(sent_at=100.0, generation=1, transport=False), 101.0)
    assert out == [d.ConnectivityChanged(d.Link.FAILING)]
    assert eng.deadline == TTL and eng.offline and eng.view(101.0).link is d.Link.FAILING
    # A second 5xx changes nothing more; the first accepted answer says the server is back.
    assert eng.handle(e.ResponseFailed(sent_at=102.0, generation=1, transport=False), 103.0) == []
    assert eng.handle(e.ResponseAccepted(sent_at=104.0, generation=1), 105.0)[0] == d.ConnectivityChanged(
        d.Link.ONLINE
    )


def test_a_new_session_after_an_outage_records_that_the_server_is_reachable_again() -> None:
    eng = engine_with()
    eng.handle(e.ResponseRejected(sent_at=5.0, generation=1), 5.1)
    eng.handle(e.RecoveryFailed(rejected=False, transport=True), 5.2)
    assert eng.offline
    assert eng.handle(e.CallStarting(), 6.0) == [d.StartGuestSession()]
    out = eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=6.0), 6.1)
    assert out[0] == d.ConnectivityChanged(d.Link.ONLINE) and not eng.offline


def test_rule2_rejection_does_not_move_the_deadline() -> None:
    eng = engine_with()
    eng.handle(e.ResponseRejected(sent_at=10.0, generation=1), 11.0)
    assert eng.deadline == TTL


# -- rule 3: clock ------------------------------------------------------------------------------


@pytest.mark.parametrize("elapsed", [-5.0, TTL, TTL * 10, float("inf")])
def test_rule3_stored_session_with_negative_or_absurd_wall_gap_is_treated_as_expired(elapsed: float) -> None:
    eng = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN), now=0.0)
    assert eng.handle(e.SessionRestored(SessionKind.USER, elapsed), 0.0) == [d.StartReauth()]
    assert eng.status is Status.REAUTHENTICATING and eng.token_spent() and eng.flight is SessionFlight.REAUTH


def test_rule3_time_going_backwards_is_refused_and_changes_nothing() -> None:
    eng = engine_with(at=100.0)
    with pytest.raises(SessionProtocolError, match="backwards"):
        eng.handle(e.Tick(), 99.0)
    assert eng.now == 100.0


# -- rule 4: near expiry -------------------------------------------------------------------------


def test_rule4_active_flow_shows_prompt_with_seconds_left_and_stay_refreshes() -> None:
    eng = engine_with(active_flow=True)
    assert eng.handle(e.Tick(), 839.0) == []
    assert eng.handle(e.Tick(), 840.0) == [d.WarningWindow(60.0, "prompt"), d.ShowPrompt(seconds_left=60.0)]
    assert eng.state is State.WARNING and eng.prompt_visible
    assert eng.handle(e.Tick(), 845.0) == []  # shown once; the UI counts down from the deadline
    assert eng.handle(e.PromptAnswered(stay=True), 850.0) == [d.HidePrompt(), d.StartRefresh()]
    assert eng.handle(e.RefreshSucceeded(sent_at=850.0), 850.3) == [d.DeadlineMoved(850.0 + TTL)]
    assert eng.state is State.ACTIVE and not eng.prompt_visible  # type: ignore[comparison-overlap]


def test_rule4_passive_screen_with_active_user_refreshes_silently() -> None:
    eng = engine_with()
    eng.handle(e.UserActivity(), 500.0)
    assert eng.handle(e.Tick(), 840.0) == [d.WarningWindow(60.0, "refresh"), d.StartRefresh()]
    assert not eng.prompt_visible


def test_rule4_passive_screen_with_idle_user_lets_the_session_lapse() -> None:
    eng = engine_with(SessionKind.USER)
    assert eng.handle(e.Tick(), 840.0) == [d.WarningWindow(60.0, "lapse")]
    assert eng.flight is None
    assert eng.handle(e.Tick(), 900.0) == [d.SignOut(d.SignOutReason.EXPIRED)]


def test_rule4_activity_inside_the_window_on_a_passive_screen_refreshes() -> None:
    eng = engine_with()
    eng.handle(e.Tick(), 840.0)
    assert eng.handle(e.UserActivity(), 870.0) == [d.StartRefresh()]


def test_rule4_entering_an_active_flow_inside_the_window_shows_the_prompt() -> None:
    eng = engine_with()
    eng.handle(e.Tick(), 840.0)
    assert eng.handle(e.ScreenChanged(active_flow=True), 860.0) == [
        d.WarningWindow(40.0, "prompt"),
        d.ShowPrompt(seconds_left=40.0),
    ]


def test_rule4_prompt_sign_out_ends_the_session() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.Tick(), 840.0)
    assert eng.handle(e.PromptAnswered(stay=False), 850.0) == [d.SignOut(d.SignOutReason.USER_CHOICE)]
    assert eng.state is State.SIGNED_OUT


# -- rule 5: at expiry -------------------------------------------------------------------------------


def test_rule5_user_ignoring_the_prompt_is_signed_out_at_the_deadline() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.Tick(), 840.0)
    assert eng.handle(e.Tick(), 900.0) == [d.HidePrompt(), d.SignOut(d.SignOutReason.EXPIRED)]
    assert eng.state is State.SIGNED_OUT and eng.kind is None
    # Signed out, the next action browses as a new guest.
    assert eng.handle(e.CallStarting(), 905.0) == [d.StartGuestSession()]


def test_rule5_guest_lapses_and_gets_a_new_session_silently_on_the_next_action() -> None:
    eng = engine_with()
    assert eng.handle(e.Tick(), 900.0) == [d.SessionLapsed(SessionKind.GUEST)]
    assert eng.state is State.EXPIRED
    assert eng.handle(e.CallStarting(), 950.0) == [d.StartGuestSession()]
    eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=950.0), 950.1)
    assert eng.handle(e.CallStarting(), 951.0) == [d.Proceed(2)]


# -- rule 6: refresh failure -------------------------------------------------------------------------


def test_rule6_refresh_server_error_retries_with_backoff_then_lapses_without_signing_the_user_out() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.Tick(), 840.0)
    eng.handle(e.PromptAnswered(stay=True), 841.0)
    assert eng.handle(e.RefreshFailed(rejected=False), 841.5) == [
        d.ConnectivityChanged(d.Link.FAILING),
        d.RefreshRetryScheduled(842.5, 1),
    ]
    assert eng.handle(e.Tick(), 842.0) == []
    assert eng.handle(e.Tick(), 842.5) == [d.StartRefresh()]
    assert eng.handle(e.RefreshFailed(rejected=False), 843.0) == [d.RefreshRetryScheduled(845.0, 2)]
    eng.handle(e.Tick(), 845.0)
    assert eng.handle(e.RefreshFailed(rejected=False), 845.0) == [d.RefreshRetryScheduled(849.0, 3)]
    eng.handle(e.Tick(), 849.0)
    assert eng.handle(e.RefreshFailed(rejected=False), 849.0) == [d.RefreshRetryScheduled(857.0, 4)]
    eng.handle(e.Tick(), 857.0)
    assert eng.handle(e.RefreshFailed(rejected=False), 857.0) == [d.RefreshRetryScheduled(873.0, 5)]
    eng.handle(e.Tick(), 873.0)
    # The next retry (30 s) would land past the deadline: no retry is scheduled.
    assert eng.handle(e.RefreshFailed(rejected=False), 873.0) == []
    # The server never said the session is gone: a 5xx is no verdict, so no sign-out (rule 6).
    assert eng.handle(e.Tick(), 900.0) == [d.SessionLapsed(SessionKind.USER)]
    assert eng.kind is SessionKind.USER and not eng.signed_out and eng.view(900.0).offline
    # Once the backend answers again, the next action re-authenticates silently.
    assert eng.handle(e.CallStarting(), 950.0) == [d.StartReauth()]


def test_rule6_a_call_past_the_deadline_after_failed_refreshes_recovers_a_user_at_once() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.Tick(), 840.0)
    eng.handle(e.PromptAnswered(stay=True), 841.0)
    eng.handle(e.RefreshFailed(rejected=False), 899.0)  # no retry before the deadline
    # The call comes before the deadline's wake-up: the same verdict, and recovery starts now.
    assert eng.handle(e.CallStarting(), 901.0) == [d.SessionLapsed(SessionKind.USER), d.StartReauth()]
    assert not eng.signed_out


def test_rule6_a_user_who_ignored_the_prompt_while_all_was_well_is_still_signed_out() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.Tick(), 840.0)
    assert eng.handle(e.Tick(), 900.0)[-1] == d.SignOut(d.SignOutReason.EXPIRED)


def test_rule4_stay_whose_refresh_failed_is_not_asked_again_while_the_retries_run() -> None:
    eng = engine_with(active_flow=True)
    eng.handle(e.Tick(), 840.0)
    eng.handle(e.PromptAnswered(stay=True), 841.0)
    eng.handle(e.RefreshFailed(rejected=False, transport=True), 841.1)
    assert eng.view(841.1).stay_pending and eng.view(841.1).retry_at == 842.1
    # The flow comes back in front when the prompt closes: no second prompt for the same Stay.
    assert eng.handle(e.ScreenChanged(active_flow=True), 841.2) == []
    assert not eng.prompt_visible
    # The retry lands: the Stay is done, and the next warning window prompts again.
    eng.handle(e.Tick(), 842.1)
    eng.handle(e.RefreshSucceeded(sent_at=842.1), 842.2)
    assert not eng.view(842.2).stay_pending
    assert eng.handle(e.Tick(), 1682.1)[-1] == d.ShowPrompt(seconds_left=60.0)


def test_rule6_rejected_refresh_re_authenticates_a_user() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.Tick(), 840.0)
    eng.handle(e.PromptAnswered(stay=True), 841.0)
    assert eng.handle(e.RefreshFailed(rejected=True), 841.2) == [d.StartReauth()]
    assert eng.flight is SessionFlight.REAUTH


def test_rule6_rejected_refresh_gives_a_guest_a_new_session() -> None:
    eng = engine_with(active_flow=True)
    eng.handle(e.Tick(), 840.0)
    eng.handle(e.PromptAnswered(stay=True), 841.0)
    assert eng.handle(e.RefreshFailed(rejected=True), 841.2) == [d.StartGuestSession()]


def test_rule6_refresh_unreachable_until_the_deadline_does_not_sign_a_user_out() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.Tick(), 840.0)
    eng.handle(e.PromptAnswered(stay=True), 841.0)
    eng.handle(e.RefreshFailed(rejected=False, transport=True), 841.0)
    assert eng.offline
    assert eng.handle(e.Tick(), 900.0) == [d.SessionLapsed(SessionKind.USER)]
    assert eng.kind is SessionKind.USER and not eng.signed_out
    # Back online, the next action re-authenticates silently.
    assert eng.handle(e.CallStarting(), 960.0) == [d.StartReauth()]


# -- rule 7: unexpected rejection ------------------------------------------------------------------


def test_rule7_revoked_user_session_recovers_once_and_replays_once() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.CallStarting(), 10.0)
    out = eng.handle(e.ResponseRejected(sent_at=10.0, generation=1), 10.1)
    assert out == [d.StartReauth(), d.Replay()]
    assert eng.ttl_s == TTL  # too early to be the TTL: a revocation
    assert eng.handle(e.CallStarting(), 10.1) == [d.AwaitFlight()]
    assert eng.handle(e.SessionIssued(SessionKind.USER, Source.REAUTH, sent_at=10.1), 10.2) == [
        d.DeadlineMoved(10.1 + TTL),
        d.ResyncProfile(),
    ]
    assert eng.handle(e.CallStarting(), 10.2) == [d.Proceed(2)]
    # Rejected again on the replay: final, no loop.
    assert eng.handle(e.ResponseRejected(sent_at=10.2, generation=2, attempt=2), 10.3) == [
        d.GiveUp("rejected again after one replay")
    ]
    assert eng.flight is None


def test_rule7_revoked_guest_session_gets_a_new_guest_session_and_replays() -> None:
    eng = engine_with()
    assert eng.handle(e.ResponseRejected(sent_at=5.0, generation=1), 5.1) == [
        d.StartGuestSession(),
        d.Replay(),
    ]


def test_rule7_rejection_of_a_rotated_out_token_replays_without_another_refresh() -> None:
    eng = engine_with()
    eng.handle(e.UserActivity(), 100.0)
    eng.handle(e.Tick(), 840.0)
    eng.handle(e.RefreshSucceeded(sent_at=840.0), 840.1)
    assert eng.handle(e.ResponseRejected(sent_at=839.9, generation=1), 841.0) == [d.Replay()]
    assert eng.flight is None and eng.status is Status.LIVE


def test_rule7_rejection_late_in_the_session_lowers_the_ttl_estimate() -> None:
    eng = engine_with()
    out = eng.handle(e.ResponseRejected(sent_at=600.0, generation=1), 600.1)
    assert out == [d.TTLLowered(old_s=TTL, new_s=300.0), d.StartGuestSession(), d.Replay()]
    eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=600.1), 600.2)
    assert eng.deadline == pytest.approx(900.1)


def test_rule7_failed_re_authentication_signs_out_gracefully() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.ResponseRejected(sent_at=5.0, generation=1), 5.1)
    assert eng.handle(e.RecoveryFailed(rejected=True), 5.2) == [d.SignOut(d.SignOutReason.RECOVERY_FAILED)]


def test_rule15_a_re_authentication_refused_at_the_lifetime_signs_out_saying_so() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.ResponseRejected(sent_at=5.0, generation=1), 5.1)
    out = eng.handle(e.RecoveryFailed(rejected=True, lifetime=True), 5.2)
    assert out == [d.SignOut(d.SignOutReason.LIFETIME_REACHED)]
    assert eng.status is Status.SIGNED_OUT


def test_rule15_the_deadline_never_goes_past_a_known_lifetime() -> None:
    eng = engine_with(SessionKind.USER)  # deadline 900
    assert eng.handle(e.LifetimeKnown(400.0), 1.0) == [d.DeadlineMoved(400.0)]
    eng.handle(e.ResponseAccepted(sent_at=350.0, generation=1), 350.1)  # 350 + 900, capped
    assert eng.deadline == 400.0 and eng.view(350.1).lifetime_left_s == pytest.approx(49.9)


def test_rule15_the_warning_comes_once_at_the_policy_before_the_lifetime_and_is_due_at_once_if_past() -> None:
    eng = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN, lifetime_warn_s=300.0), now=0.0)
    eng.handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at=0.0), 0.0)
    eng.handle(e.LifetimeKnown(800.0), 0.0)
    assert eng.next_wakeup() == 500.0  # before the TTL's warning at 840
    assert eng.handle(e.Tick(scheduled_for=500.0), 500.0) == [d.LifetimeWarning(300.0)]
    assert eng.handle(e.Tick(), 501.0) == []
    # Learned with less than the warning left: said at once, never left to a wake-up in the past.
    later = engine_with(SessionKind.USER)
    assert later.handle(e.LifetimeKnown(100.0), 1.0) == [d.LifetimeWarning(99.0), d.DeadlineMoved(100.0)]
    assert later.next_wakeup() == 100.0 - WARN


def test_rule15_at_a_lifetime_deadline_no_prompt_or_refresh_then_signed_out_saying_so_even_offline() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.LifetimeKnown(400.0), 1.0)
    eng.handle(e.ResponseFailed(sent_at=2.0, generation=1, transport=True), 2.1)  # offline
    out = eng.handle(e.Tick(), 400.0 - WARN)
    assert out == [d.LifetimeWarning(WARN), d.WarningWindow(WARN, "lifetime")]  # no prompt, no refresh
    assert eng.handle(e.Tick(), 400.0) == [d.SignOut(d.SignOutReason.LIFETIME_REACHED)]


def test_rule15_a_sign_in_starts_a_new_lifetime_a_guest_has_none() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.LifetimeKnown(400.0), 1.0)
    eng.handle(e.SessionIssued(SessionKind.USER, Source.LOGIN, sent_at=450.0), 450.0)
    assert eng.lifetime_end is None and eng.deadline == 450.0 + TTL
    eng.handle(e.LifetimeKnown(850.0), 450.0)
    eng.handle(e.SignOutRequested(), 451.0)
    eng.handle(e.CallStarting(), 452.0)
    eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=452.0), 452.0)
    assert eng.lifetime_end is None and eng.view(452.0).lifetime_left_s is None


def test_rule7_unreachable_re_authentication_keeps_the_user_and_retries_on_the_next_call() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.ResponseRejected(sent_at=5.0, generation=1), 5.1)
    out = eng.handle(e.RecoveryFailed(rejected=False, transport=True), 5.2)
    assert out == [d.ConnectivityChanged(d.Link.UNREACHABLE)]
    assert not eng.signed_out
    assert eng.handle(e.CallStarting(), 20.0) == [d.StartReauth()]


# -- rule 8: single flight ---------------------------------------------------------------------------


def test_rule8_calls_during_a_flight_wait_for_it_and_only_one_flight_starts() -> None:
    eng = engine_with()
    outs = [eng.handle(e.CallStarting(), 901.0) for _ in range(500)]
    assert outs[0] == [d.StartRefresh()]
    assert all(out == [d.AwaitFlight()] for out in outs[1:])
    eng.handle(e.RefreshSucceeded(sent_at=901.0), 901.2)
    assert eng.handle(e.CallStarting(), 901.2) == [d.Proceed(2)]


def test_rule8_outcome_of_a_flight_that_is_not_out_is_refused() -> None:
    eng = engine_with()
    with pytest.raises(SessionProtocolError, match="not legal"):
        eng.handle(e.RefreshSucceeded(sent_at=1.0), 1.0)
    assert eng.generation == 1


# -- rule 9: backgrounding -----------------------------------------------------------------------


def test_rule9_nothing_happens_while_backgrounded_and_the_countdown_shows_paused() -> None:
    eng = engine_with(active_flow=True)
    eng.handle(e.Backgrounded(), 100.0)
    assert eng.handle(e.Tick(), 850.0) == []
    assert eng.state is State.PAUSED and eng.view(850.0).paused
    assert eng.next_wakeup() is None


def test_rule9_return_before_expiry_refreshes() -> None:
    eng = engine_with()
    eng.handle(e.Backgrounded(), 100.0)
    assert eng.handle(e.Resumed(), 400.0) == [d.BackgroundEnded(300.0, detected=False), d.StartRefresh()]


def test_rule9_return_after_expiry_re_authenticates_a_user_and_resyncs_the_profile() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.Backgrounded(), 100.0)
    assert eng.handle(e.Resumed(), 2000.0) == [d.BackgroundEnded(1900.0, detected=False), d.StartReauth()]
    out = eng.handle(e.SessionIssued(SessionKind.USER, Source.REAUTH, sent_at=2000.0), 2000.1)
    assert d.ResyncProfile() in out and eng.state is State.ACTIVE


def test_rule9_return_after_expiry_gives_a_guest_a_new_session() -> None:
    eng = engine_with()
    eng.handle(e.Backgrounded(), 100.0)
    assert eng.handle(e.Resumed(), 2000.0)[-1] == d.StartGuestSession()


def test_rule9_a_stop_from_outside_is_noticed_from_the_gap_in_time() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.UserActivity(), 50.0)
    # SIGTSTP from another shell: no Backgrounded, only the resume on SIGCONT.
    assert eng.handle(e.Resumed(), 1500.0) == [
        d.BackgroundEnded(1450.0, detected=True, how="stop"),
        d.StartReauth(),
    ]


def test_rule9_going_to_the_background_hides_the_prompt() -> None:
    eng = engine_with(active_flow=True)
    eng.handle(e.Tick(), 840.0)
    assert eng.handle(e.Backgrounded(), 841.0) == [d.HidePrompt()]


# -- rule 10: restart ---------------------------------------------------------------------------------


def test_rule10_restart_within_the_ttl_resumes_the_stored_session_refreshing_first() -> None:
    eng = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN), now=50.0)
    out = eng.handle(e.SessionRestored(SessionKind.USER, elapsed_wall_s=300.0), 50.0)
    assert out == [d.DeadlineMoved(650.0), d.StartRefresh()]
    assert eng.kind is SessionKind.USER and eng.state is State.REFRESHING


def test_rule10_restart_after_the_ttl_takes_the_expired_path() -> None:
    eng = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN), now=0.0)
    assert eng.handle(e.SessionRestored(SessionKind.GUEST, elapsed_wall_s=901.0), 0.0) == [
        d.StartGuestSession()
    ]


def test_rule10_restore_after_the_first_session_is_refused() -> None:
    eng = engine_with()
    with pytest.raises(SessionProtocolError, match=r"not legal|start-up"):
        eng.handle(e.SessionRestored(SessionKind.GUEST, 1.0), 1.0)


# -- the calls' gate: no request with a token known dead ------------------------------------------


def test_no_call_goes_out_with_a_token_already_known_dead() -> None:
    eng = engine_with()
    eng.handle(e.ResponseRejected(sent_at=5.0, generation=1), 5.1)
    eng.handle(e.RecoveryFailed(rejected=False, transport=True), 5.2)
    assert eng.handle(e.CallStarting(), 6.0) == [d.StartGuestSession()]


def test_a_call_past_the_deadline_refreshes_first_since_the_server_may_still_hold_it() -> None:
    eng = engine_with()
    assert eng.handle(e.CallStarting(), 900.5) == [d.StartRefresh()]


# -- signing out while a flight is out -------------------------------------------------------------


def test_signing_out_during_a_refresh_voids_its_outcome() -> None:
    eng = engine_with(SessionKind.USER, active_flow=True)
    eng.handle(e.Tick(), 840.0)
    eng.handle(e.PromptAnswered(stay=True), 841.0)
    assert eng.handle(e.SignOutRequested(), 841.1) == [d.SignOut(d.SignOutReason.USER_CHOICE)]
    assert eng.handle(e.RefreshSucceeded(sent_at=841.0), 841.3) == [d.DiscardSession()]
    assert eng.state is State.SIGNED_OUT and eng.kind is None and eng.generation == 1


def test_a_re_authentication_that_lands_after_sign_out_signs_nobody_back_in() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.ResponseRejected(sent_at=5.0, generation=1), 5.1)  # re-auth goes out
    eng.handle(e.SignOutRequested(), 5.2)
    out = eng.handle(e.SessionIssued(SessionKind.USER, Source.REAUTH, sent_at=5.1), 5.3)
    assert out == [d.DiscardSession()]
    assert eng.state is State.SIGNED_OUT
    # A failure of the abandoned flight is void too, and the next call starts afresh.
    assert eng.handle(e.CallStarting(), 6.0) == [d.StartGuestSession()]


def test_rule9_a_wake_up_that_fires_long_after_it_was_due_is_read_as_a_resume() -> None:
    # SIGTSTP from outside, SIGCONT after the deadline: the scheduled wake-up fires first, late.
    eng = engine_with(SessionKind.USER)
    out = eng.handle(e.Tick(scheduled_for=840.0, alive_at=829.0), 1500.0)
    # Away since the last heartbeat (829), not since the wake-up was due (840).
    assert out == [d.BackgroundEnded(671.0, detected=True, how="stop"), d.StartReauth()]
    assert not eng.signed_out


def test_rule9_time_away_after_a_stop_from_outside_counts_from_the_last_sign_of_life() -> None:
    eng = engine_with(SessionKind.USER)
    eng.handle(e.UserActivity(), 50.0)
    # Heartbeats went on until 200; SIGCONT at 269: 69 s away, whatever the wake-up timer says.
    assert eng.handle(e.Resumed(alive_at=200.0), 269.0)[0] == d.BackgroundEnded(
        69.0, detected=True, how="stop"
    )


def test_rule4_the_warning_window_shrinks_with_a_lowered_ttl_estimate() -> None:
    eng = SessionEngine(Policy(ttl_s=60.0, warn_s=20.0), now=0.0)
    eng.handle(e.CallStarting(), 0.0)
    eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=0.0), 0.0)
    eng.handle(e.ScreenChanged(active_flow=True), 0.0)
    # A rejection 50 s in: the server's TTL is shorter; the estimate drops to 25 s.
    eng.handle(e.ResponseRejected(sent_at=50.0, generation=1), 50.1)
    assert eng.ttl_s == 25.0
    eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=50.2), 50.3)
    # 20 s of 60 becomes 25 * 20 / 60 = 8.33 s: a Stay buys about 16.7 s of quiet, not 5.
    assert eng.warn_s == pytest.approx(25.0 * 20.0 / 60.0)
    assert eng.next_wakeup() == pytest.approx(50.2 + 25.0 - 25.0 / 3)
    assert eng.handle(e.Tick(), 60.0) == []
    assert d.ShowPrompt in {type(x) for x in eng.handle(e.Tick(), 67.0)}


def test_a_wake_up_on_time_is_an_ordinary_tick() -> None:
    eng = engine_with(SessionKind.USER)
    assert eng.handle(e.Tick(scheduled_for=840.0), 840.5) == [d.WarningWindow(59.5, "lapse")]
