"""The background warm-up (issue 10, item 3): once the countdown runs, the embedded backend's full
app is built and the clients are made and run once, so the first fares step costs what a warm call
costs; and none of it touches the session. In a browser tab it waits longer: the page attaches
(and resizes the app) after a head start's countdown, and that frame must not wait behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionkeeper.tui.app import BROWSER_WARM_UP_AFTER_S, build_app
from sessionkeeper.tui.services import Overrides
from sessionkeeper.tui.settings import Settings
from tests.tui.harness import running


async def test_the_warm_up_readies_backend_and_clients_and_leaves_the_session_alone(tmp_path: Path) -> None:
    async with running(tmp_path, warm_up_after_s=0.0) as h:
        services = h.app.services
        assert services.warming is not None and services.quick_start is not None
        manager = h.client.manager
        before, entries = manager.view(), len(manager.timeline.names())

        await services.warming

        assert services.quick_start.built and services.quick_start.problem is None
        assert {"rest", "graphql"} <= set(vars(h.client))  # both made, off any call's path
        after = manager.view()
        assert (after.deadline, after.last_extension_sent, after.generation) == (
            before.deadline,
            before.last_extension_sent,
            before.generation,
        )
        assert manager.timeline.names()[entries:] == []  # no call of the session's was made
        counters = await h.counters()
        assert counters["graphql_calls"] == 1 and counters["rejected"] == 0  # its one query, ungated


async def test_tests_and_a_closing_app_never_wait_for_a_warm_up(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        assert h.app.services.warming is None  # the harness's default: counters stay exact
    async with running(tmp_path, warm_up_after_s=3600.0) as h:
        warming = h.app.services.warming
        assert warming is not None and not warming.done()
    assert warming.cancelled()  # closing the app cancelled it


def test_in_a_browser_tab_the_warm_up_waits_for_the_page_to_attach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(backend_url="http://127.0.0.1:9", data_dir=tmp_path)
    assert build_app(settings).services.overrides.warm_up_after_s == Overrides().warm_up_after_s == 0.25
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")  # as serve starts a tab
    assert build_app(settings).services.overrides.warm_up_after_s == BROWSER_WARM_UP_AFTER_S == 2.0
    given = Overrides(warm_up_after_s=None)  # a test's own choice stays its own
    assert build_app(settings, overrides=given).services.overrides is given
