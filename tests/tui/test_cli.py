"""The command line: bad arguments exit 2 with one line naming the problem (docs/backend.md section 1)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sessionkeeper.tui.cli import build_parser, main
from sessionkeeper.tui.settings import Settings


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--ttl", "-5"], "--ttl"),
        (["--ttl", "abc"], "--ttl"),
        (["--ttl", "60", "--warn", "60"], "--warn"),
        (["--backend", "ftp://example"], "--backend"),
        (["--backend-port", "70000"], "--backend-port"),
        (["--backend", "http://127.0.0.1:1", "--backend-port", "9000"], "--backend-port"),
        (["--bogus"], "--bogus"),
        (["backend", "--port", "0"], "--port"),
        (["backend", "--ttl", "0"], "--ttl"),
        (["--ttl", "1e308"], "--ttl"),  # would break the countdown line
        (["--ttl", "0.5"], "--ttl"),  # would start expired
        (["--ttl", "9.9"], "--ttl"),
        (["--ttl", "86401"], "--ttl"),
        (["--ttl", "nan"], "--ttl"),
        (["--ttl", "60", "--warn", "0.5"], "--warn"),
        (["--ttl", "60", "--warn", "inf"], "--warn"),
        (["backend", "--ttl", "1e308"], "--ttl"),
        (["--call-deadline", "0"], "--call-deadline"),
        (["--call-deadline", "0.5"], "--call-deadline"),
        (["--call-deadline", "301"], "--call-deadline"),
        (["--call-deadline", "-15"], "--call-deadline"),
        (["--call-deadline", "soon"], "--call-deadline"),
        (["--call-deadline", "nan"], "--call-deadline"),
        (["--call-deadline", "inf"], "--call-deadline"),
        (["--lifetime", "29"], "--lifetime"),
        (["--lifetime", "nan"], "--lifetime"),
        (["--lifetime", "2592001"], "--lifetime"),
        (["backend", "--lifetime", "-1"], "--lifetime"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and names in err and "Traceback" not in err


def test_a_pinned_backend_port_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            main(["--backend-port", str(port)])
    assert exit_info.value.code == 2
    assert "already in use" in capsys.readouterr().err


def test_version_prints_the_installed_version_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sessionkeeper {version('sessionkeeper')}"


@pytest.mark.parametrize(("ttl", "warn"), [("10", "1"), ("86400", "60"), ("60", "59.9")])
def test_the_bounds_of_ttl_and_warn_are_accepted(ttl: str, warn: str) -> None:
    args = build_parser().parse_args(["--ttl", ttl, "--warn", warn])
    assert (args.ttl, args.warn) == (float(ttl), float(warn))


@pytest.mark.parametrize("argv", [["--help"], ["backend", "--help"]])
def test_help_exits_0(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0


def settings_from(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings the command line builds the app with (the app itself is not run)."""
    import sessionkeeper.tui.app

    built: list[Settings] = []

    class NotRun:
        crash_line = None
        return_code = 0

        def run(self) -> None:
            pass

    def build_app(settings: Settings) -> NotRun:
        built.append(settings)
        return NotRun()

    monkeypatch.setattr(sessionkeeper.tui.app, "build_app", build_app)
    assert main(["--data-dir", str(tmp_path), *argv]) == 0
    [settings] = built
    return settings


@pytest.mark.parametrize(
    ("argv", "expected"), [([], 15.0), (["--call-deadline", "1"], 1.0), (["--call-deadline", "300"], 300.0)]
)
def test_the_call_deadline_reaches_the_settings(
    argv: list[str], expected: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sessionkeeper.api.network import DEFAULT_CALL_DEADLINE_S

    assert Settings().call_deadline_s == DEFAULT_CALL_DEADLINE_S == 15.0
    assert settings_from(argv, tmp_path, monkeypatch).call_deadline_s == expected


@pytest.mark.parametrize(("argv", "expected"), [([], 28800.0), (["--lifetime", "45"], 45.0)])
def test_the_lifetime_reaches_the_settings_of_the_embedded_backend(
    argv: list[str], expected: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings_from(argv, tmp_path, monkeypatch).lifetime_s == expected
