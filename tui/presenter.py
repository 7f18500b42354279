"""The session's decisions made visible: the expiry prompt shown and hidden, a sign-out's screen, a
failed Stay said once, and one redraw for a run of decisions.

Made once the session starts (the first frame needs none of it). One `match` over every decision:
a decision type added to `session.decisions` and not named here fails `mypy --strict`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from sessionkeeper.session import decisions as d
from sessionkeeper.session.kinds import SessionKind, SignOutReason
from sessionkeeper.tui import wording
from sessionkeeper.tui.screens.base import is_active_flow, is_qa_tool
from sessionkeeper.tui.screens.prompt import ExpiryPrompt, expiry_prompt

if TYPE_CHECKING:
    from textual import events

    from sessionkeeper.tui.host import Host

# A key this recent (seconds) when the prompt appears means the person was typing.
TYPING_RECENT_S = 2.0
# Keys the prompt's guard never holds back: they answer nothing in it (QA panel, quit).
_ALWAYS_KEYS = frozenset({"f2", "ctrl+q"})
# A run of decisions closer together than this is drawn once (a burst moves the deadline hundreds
# of times; a redraw for each would starve the keyboard).
_REDRAW_AFTER_S = 0.05


class SessionPresenter:
    def __init__(self, app: Host) -> None:
        self._app = app
        self.prompt: ExpiryPrompt | None = None
        self.pending_sign_out: SignOutReason | None = None  # waits for the QA panel to close
        self._redraw_pending = False
        self._redraw_full = False

    # -- decisions --------------------------------------------------------------------------------

    def on_decision(self, decision: d.Decision) -> None:
        full = False
        match decision:
            case d.ShowPrompt():
                self.show_prompt()
            case d.HidePrompt():
                self.hide_prompt()
            case d.SignOut(reason=reason):
                self._app.call_later(self.signed_out, reason)
                full = True
            case d.RefreshRetryScheduled(failures=failures):
                view = self._app.view()
                if failures == 1 and view is not None and view.stay_pending:
                    self._app.notify(
                        wording.stay_failed(view, self._app.now()), severity="warning", timeout=8
                    )
            case d.SessionShared(kind=kind):
                self._shared(kind)
                full = True
            case d.LifetimeWarning(seconds_left=left):
                self._app.notify(wording.lifetime_warning(left), severity="warning", timeout=12)
            case d.ConnectivityChanged() | d.SessionLapsed() | d.DeadlineMoved():
                full = True  # the banner and home's words follow these
            case (
                d.Proceed()
                | d.AwaitFlight()
                | d.StartRefresh()
                | d.StartReauth()
                | d.StartGuestSession()
                | d.Replay()
                | d.GiveUp()
                | d.WarningWindow()
                | d.DiscardSession()
                | d.ResyncProfile()
                | d.TTLLowered()
                | d.BackgroundEnded()
            ):
                pass  # the countdown's redraw below shows them
            case _:
                assert_never(decision)
        self.redraw_soon(full=full)

    def _shared(self, kind: SessionKind) -> None:
        """Another window's sign-in is this one's too (rule 14): said once, where it shows."""
        client = self._app.client
        if client is None or kind is not SessionKind.USER or not client.manager.holder_changed:
            return
        name = client.username
        if name is not None:
            self._app.notify(f"Signed in as {name} in another window.", timeout=6)

    def redraw_soon(self, *, full: bool) -> None:
        """One redraw for a run of decisions; `full`: the banner and home's words too."""
        self._redraw_full = self._redraw_full or full
        if not self._redraw_pending:
            self._redraw_pending = True
            self._app.set_timer(_REDRAW_AFTER_S, self._redraw)

    def _redraw(self) -> None:
        full, self._redraw_full, self._redraw_pending = self._redraw_full, False, False
        if full:
            self._app.refresh_chrome()
        else:
            self._app.refresh_countdown()

    # -- the prompt (rule 4) ----------------------------------------------------------------------

    def show_prompt(self) -> None:
        app = self._app
        screen = app.screen
        if self.prompt is not None or not is_active_flow(screen):
            return
        if is_qa_tool(screen):
            return  # shown when the flow under the QA panel is back in front (flow_entered)
        view = app.view()
        now = app.now()
        last_key = app.presence.last_key_at
        self.prompt = expiry_prompt(
            view is not None and view.kind is SessionKind.GUEST,
            still_wanted=lambda prompt: prompt is self.prompt,
            now=app.now,
            guard_s=app.settings.prompt_guard_s,
            interrupted=last_key is not None and now - last_key <= TYPING_RECENT_S,
        )
        app.push_screen(self.prompt, self._answered)

    def hide_prompt(self) -> None:
        prompt, self.prompt = self.prompt, None
        # Only the top screen can be dismissed (dismiss pops whatever is on top). A prompt under
        # the QA panel closes itself when it is uncovered, seeing it is no longer wanted.
        if prompt is not None and self._app.screen is prompt:
            prompt.dismiss(None)

    def drops(self, event: events.Key) -> bool:
        """True if the prompt in front just appeared and `event` must not answer it: it is dropped
        (before any binding or button sees it) and the prompt says so. A click, the prompt drops."""
        prompt = self.prompt
        if prompt is None or self._app.screen is not prompt or event.key in _ALWAYS_KEYS:
            return False
        if not prompt.guarded:
            return False
        prompt.ignore()
        return True

    def _answered(self, stay: bool | None) -> None:
        was_open, self.prompt = self.prompt is not None, None
        client = self._app.client
        if stay is None or not was_open or client is None:
            return  # closed by the engine (refreshed, expired, backgrounded): nothing to answer
        if client.manager.view().prompt_visible:
            client.manager.answer_prompt(stay=stay)

    # -- sign-out (rules 5 and 7) -----------------------------------------------------------------

    async def signed_out(self, reason: SignOutReason) -> None:
        app = self._app
        self.hide_prompt()
        if is_qa_tool(app.screen):
            # The tester is looking at the panel: it stays open; the rest follows when it closes.
            self.pending_sign_out = reason
            app.refresh_chrome()
            return
        self.pending_sign_out = None
        client = app.client
        former = client.manager.former_user.get("username") if client else None
        if reason is SignOutReason.LIFETIME_REACHED and isinstance(former, str) and former:
            # Rule 15: the password, over the screen the person is on; "Not now" goes on below.
            self.password_prompt(former)
            app.refresh_chrome()
            return
        await self.show_signed_out(reason, former)

    async def show_signed_out(self, reason: SignOutReason, former: str | None) -> None:
        """Home, and what the sign-out means for the person (the signed-out screen, or a note)."""
        from sessionkeeper.tui.screens.signed_out import SignedOutScreen

        app = self._app
        await app.navigator.back_home()
        drafts = app.drafts
        draft = drafts.saved_for(former) if drafts is not None and former else None
        if reason is SignOutReason.USER_CHOICE:
            app.notify(wording.ended_words(was_user=former is not None, draft_kept=draft is not None))
            app.refresh_chrome()
            return
        await app.push_screen(SignedOutScreen(reason, draft))

    # -- the password at the lifetime (rule 15) ---------------------------------------------------

    def password_prompt(self, username: str) -> None:
        from sessionkeeper.tui.screens.password import PasswordPrompt

        async def sign_in(password: str) -> str | None:
            return await self._sign_in_again(username, password)

        def answered(signed_in: bool | None) -> None:
            if not signed_in:
                self._app.call_later(self.show_signed_out, SignOutReason.LIFETIME_REACHED, username)
            self._app.refresh_chrome()

        self._app.push_screen(PasswordPrompt(username, sign_in), answered)

    async def _sign_in_again(self, username: str, password: str) -> str | None:
        """None once signed in again as `username`; otherwise what to say in the prompt."""
        from sessionkeeper.api.errors import ApiError, LoginFailed
        from sessionkeeper.tui.screens.password import WRONG_PASSWORD

        client = self._app.client
        if client is None:
            return "Still connecting to the server; try again in a moment."
        try:
            await client.login(username, password)
        except LoginFailed:
            return WRONG_PASSWORD
        except ApiError as exc:
            self._app.report(exc, "sign in")
            return wording.failure(exc, retry="enter")
        return None
