"""The QA panel on a backend shared by several windows (issue 18, item 6): it shows this window's
own session (found by the id the server gives its token, not by user name), revoke ends that
session only, and an action that reaches the whole server says so before it acts while other
sessions are live there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from sessionkeeper.tui.screens.qa import QAPanel
from tests.tui.harness import Harness, running


@asynccontextmanager
async def two_people(tmp_path: Path, second_user: str = "grace") -> AsyncIterator[tuple[Harness, Harness]]:
    """Two windows on one backend with data dirs of their own: two people (or one in two browsers)."""
    async with running(tmp_path / "one") as first:
        url = first.app.services.backend_url
        async with running(tmp_path / "two", backend_url=url, clock=first.clock) as second:
            await first.sign_in()
            passwords = {"ada": "lovelace", "grace": "hopper"}
            await second.sign_in(second_user, passwords[second_user])
            yield first, second


async def open_panel(h: Harness) -> QAPanel:
    await h.pilot.press("f2")
    await h.pilot.pause()
    panel = h.app.screen
    assert isinstance(panel, QAPanel)
    await panel.poll_server().wait()
    await h.pilot.pause()
    return panel


async def test_the_panel_shows_this_windows_session_even_when_another_holds_one_of_the_same_user(
    tmp_path: Path,
) -> None:
    async with two_people(tmp_path, "ada") as (first, second):
        state = await first.control.state()
        ada = [s.id for s in state.sessions if s.alive and s.user == "ada"]
        assert len(ada) == 2
        for h in (first, second):
            panel = await open_panel(h)
            mine = panel.own_session
            assert mine in ada
            assert f"session    {mine} user ada (ours)" in h.text("#qa-server")
        assert first.app.screen.own_session != second.app.screen.own_session  # type: ignore[attr-defined]


async def test_revoke_ends_this_windows_session_only(tmp_path: Path) -> None:
    async with two_people(tmp_path) as (first, _second):
        panel = await open_panel(first)
        await first.pilot.press("v")
        await first.app.workers.wait_for_complete()
        await first.pilot.pause()
        state = await first.control.state()
        alive = {s.user for s in state.sessions if s.alive}
        assert alive == {"grace"}
        assert f"this window's session {panel.own_session}" in (first.app.qa_runner.last_result or "")


async def test_a_whole_server_action_says_so_first_while_another_session_is_live(tmp_path: Path) -> None:
    async with two_people(tmp_path) as (first, _second):
        await open_panel(first)
        before = await first.counters()
        await first.pilot.press("0")  # reset: every session, every counter
        await first.app.workers.wait_for_complete()
        await first.pilot.pause()
        assert "reaches the whole server" in first.text("#qa-action")
        assert await first.counters() == before  # nothing done yet
        await first.pilot.press("0")
        await first.app.workers.wait_for_complete()
        await first.pilot.pause()
        assert (await first.counters())["logins"] == 0  # reset


async def test_alone_on_the_server_a_whole_server_action_takes_one_press(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await open_panel(h)
        await h.pilot.press("0")
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()
        assert (await h.counters())["logins"] == 0


async def test_the_server_says_whose_session_a_token_is_without_counting_or_extending_it(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        token = h.client.manager.token
        assert token is not None
        before = await h.control.state()
        found = await h.control.whose(token)
        after = await h.control.state()
        assert found is not None and found in {s.id for s in after.sessions}
        assert after.counters == before.counters
        assert [s.expires_in_s for s in after.sessions] == [s.expires_in_s for s in before.sessions]
        async with httpx.AsyncClient(base_url=h.app.services.backend_url) as raw:
            assert (
                await raw.get("/__qa/session", headers={"Authorization": "Bearer nope"})
            ).status_code == 404
            assert (await raw.get("/__qa/session")).status_code == 404


async def test_the_qa_offline_switch_shows_on_the_link_at_once(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await open_panel(h)
        await h.pilot.press("o")
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()
        h.app.tick()
        await h.pilot.pause()
        text = h.text("#qa-client")
        assert "link offline (QA switch)" in text and "link online" not in text
