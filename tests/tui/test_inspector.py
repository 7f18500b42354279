"""The request inspector in the real app (issue 20, item 1): opened from the QA panel with `i`, it
lists every exchange so far with the session's facts, filters by kind, shows the highlighted one's
headers and bodies with secrets as fingerprints, writes a HAR file with `e`, and Esc goes back to
the panel. `--har FILE` writes the same at the app's end, and a path it cannot use is refused
first."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jsonschema
import pytest
from textual.widgets import DataTable, Static

from sessionkeeper.tui import cli
from sessionkeeper.tui.screens.inspector import InspectorScreen
from sessionkeeper.tui.screens.qa import QAPanel
from tests.tui.harness import running


async def test_the_inspector_lists_filters_details_and_exports_with_no_secret(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.fill_search()
        await h.step()  # the flights: a REST call with ada's token
        token = h.client.manager.token
        assert token is not None
        await h.pilot.press("f2")
        await h.pilot.pause()
        assert isinstance(h.app.screen, QAPanel)
        await h.pilot.press("i")
        await h.pilot.pause()
        screen = h.app.screen
        assert isinstance(screen, InspectorScreen)
        table = screen.query_one(DataTable)
        log = h.client.wire
        assert table.row_count == len(log.exchanges) >= 4
        calls = [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert any("POST /api/session/login 200" in c and "issued" in c for c in calls), calls
        assert any("GET /api/flights 200 accepted" in c and token.fingerprint in c for c in calls), calls

        await h.pilot.press("f", "f", "f")  # all, REST, GraphQL, session calls
        await h.pilot.pause()
        assert table.row_count == len(log.select("session")) >= 2
        await h.pilot.press("f")  # all again
        await h.pilot.pause()
        flights = next(i for i, c in enumerate(calls) if "/api/flights" in c)
        table.move_cursor(row=flights)
        await h.pilot.pause()
        shown = str(screen.query_one("#inspector-detail", Static).render())
        assert f"Bearer {token.fingerprint}" in shown and token.reveal() not in shown

        await h.pilot.press("e")
        await h.pilot.pause()
        [written] = (tmp_path / "exports").glob("wire-*.har")
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        text = written.read_text()
        assert (
            json.loads(text)["log"]["version"] == "1.2"
            and token.reveal() not in text
            and "lovelace" not in text
        )
        # Every token and reauth key this backend issued starts so (the harness's token factory).
        assert "test-secret-" not in text
        schema = Path(__file__).resolve().parents[1] / "api" / "data" / "har-1.2.schema.json"
        jsonschema.validate(json.loads(text), json.loads(schema.read_text()))
        assert str(written) in str(screen.query_one("#inspector-said", Static).render())

        await h.pilot.press("escape")
        await h.pilot.pause()
        assert isinstance(h.app.screen, QAPanel)


async def test_har_at_exit_writes_the_apps_requests_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "session.har"
    target.parent.mkdir()
    async with running(tmp_path / "data") as h:
        await h.sign_in()
        token = h.client.manager.token
        assert token is not None
        count = len(h.client.wire.exchanges)
    assert cli._write_har(h.app, target) == 0
    assert f"wrote {count} requests to {target}" in capsys.readouterr().err
    text = target.read_text()
    assert len(json.loads(text)["log"]["entries"]) == count >= 2
    assert token.reveal() not in text and "lovelace" not in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_har_path_that_cannot_be_written_is_refused_before_the_app_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for given, said in ((tmp_path, "is a directory"), (tmp_path / "no" / "x.har", "no such directory")):
        with pytest.raises(SystemExit) as ended:
            cli.main(["--har", str(given), "--data-dir", str(tmp_path / "data")])
        assert ended.value.code == 2
        assert said in capsys.readouterr().err
