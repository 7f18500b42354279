"""The background warm-up (issue 10, item 3): once the countdown runs, the embedded backend's full
app is built and the clients are made and run once, so the first fares step costs what a warm call
costs; and none of it touches the session."""

from __future__ import annotations

from pathlib import Path

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
