"""The `sessionkeeper` command line: parse and validate arguments, then start the TUI or the backend.

Bad arguments exit with status 2 and one line naming the problem (docs/backend.md section 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlparse

from sessionkeeper.tui.settings import CALL_DEADLINE_S

if TYPE_CHECKING:
    from sessionkeeper.tui.app import SessionKeeperApp

PROG = "sessionkeeper"


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints the whole usage on error; the contract wants one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


# A session shorter than 10 s cannot show a warning and a prompt in time; one longer than a day
# is not a session this tool is about (and breaks the countdown's M:SS).
TTL_MIN_S, TTL_MAX_S = 10.0, 86_400.0
WARN_MIN_S = 1.0
# A deadline under a second fails a healthy backend on a slow link; one over five minutes is a hang.
CALL_DEADLINE_MIN_S, CALL_DEADLINE_MAX_S = 1.0, 300.0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def _ttl(text: str) -> float:
    value = _seconds(text)
    if not TTL_MIN_S <= value <= TTL_MAX_S:
        raise argparse.ArgumentTypeError(
            f"must be from {TTL_MIN_S:g} s to {TTL_MAX_S:g} s (24 h), got {text!r}"
        )
    return value


LIFETIME_DEFAULT_S = 8 * 3600.0  # OWASP's upper bound; the backend's default too


def _lifetime(text: str) -> float:
    seconds = _seconds(text)
    if not 30 <= seconds <= 30 * 86400:
        raise argparse.ArgumentTypeError(f"must be between 30 s and 30 days, got {text!r}")
    return seconds


def _warn(text: str) -> float:
    value = _seconds(text)
    if value < WARN_MIN_S:
        raise argparse.ArgumentTypeError(f"must be at least {WARN_MIN_S:g} s, got {text!r}")
    return value


def _call_deadline(text: str) -> float:
    value = _seconds(text)
    if not CALL_DEADLINE_MIN_S <= value <= CALL_DEADLINE_MAX_S:
        raise argparse.ArgumentTypeError(
            f"must be from {CALL_DEADLINE_MIN_S:g} s to {CALL_DEADLINE_MAX_S:g} s, got {text!r}"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, got {value}")
    return value


def _within(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], float]:
    """An argument type: a number of `kind` from `low` to `high`, or one line saying what is wrong."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {text}")
        return value

    return parse


_jobs = _within(int, 1, 64)
_speed = _within(float, 0.1, 20)


def _http_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text.rstrip("/")


class _VersionAction(argparse.Action):
    """argparse's own `version` action wants the text as the parser is built, and reading the
    installed version (importlib.metadata and email imported, the path scanned, the metadata parsed)
    was about a fifth of the app's own work before its first frame, at every start, for a flag
    almost never given. This reads it only when `--version` is given."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> NoReturn:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROG,
        description="Keep a session alive against a backend that never says when it expires.",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument(
        "--backend",
        type=_http_url,
        metavar="URL",
        help="use a running backend instead of starting the embedded one",
    )
    parser.add_argument(
        "--ttl",
        type=_ttl,
        default=900.0,
        metavar="SECONDS",
        help="session length the client assumes, 10 s to 24 h (default 900); also the embedded backend's",
    )
    parser.add_argument(
        "--lifetime",
        type=_lifetime,
        default=LIFETIME_DEFAULT_S,
        metavar="SECONDS",
        help="the embedded backend's absolute session lifetime, counted from sign-in: past it only "
        "the password renews a session; 30 s to 30 days (default 28800, 8 h)",
    )
    parser.add_argument(
        "--warn",
        type=_warn,
        default=None,
        metavar="SECONDS",
        help="warning window before expiry: 1 s or more, below --ttl (default 60, or a third of --ttl)",
    )
    parser.add_argument(
        "--backend-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="pin the embedded backend's port (default: a free one)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="drafts, event log and stored session (default: the user data dir)",
    )
    parser.add_argument(
        "--call-deadline",
        type=_call_deadline,
        default=CALL_DEADLINE_S,
        metavar="SECONDS",
        help="the longest one call to the backend may take, answer read whole, before it counts as "
        f"no answer (banner, retries); 1 s to 300 s (default {CALL_DEADLINE_S:g})",
    )
    parser.add_argument(
        "--har",
        metavar="FILE",
        help="when the app ends, write every request it made as a HAR 1.2 file (no token, reauth key "
        "or password in it), as the QA panel's request inspector exports it",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_OneLineParser)
    backend = sub.add_parser("backend", help="run the mock backend alone, in the foreground")
    backend.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    backend.add_argument("--port", type=_port, default=8765, help="port to bind (default 8765)")
    backend.add_argument(
        "--ttl",
        type=_ttl,
        default=900.0,
        metavar="SECONDS",
        help="session TTL in seconds, 10 s to 24 h (default 900)",
    )
    backend.add_argument(
        "--lifetime",
        type=_lifetime,
        default=LIFETIME_DEFAULT_S,
        metavar="SECONDS",
        help="absolute session lifetime from sign-in, 30 s to 30 days (default 28800, 8 h)",
    )
    # serve's own: answer the first guest sessions before the full app is imported (not for people:
    # a standalone backend should fail at start, not at its first request, if it cannot build).
    backend.add_argument("--quick-start", action="store_true", help=argparse.SUPPRESS)
    web = sub.add_parser("serve", help="the app in a browser: one app per tab, one shared backend")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    web.add_argument("--ttl", type=_ttl, default=60.0, metavar="SECONDS", help="session TTL (default 60)")
    web.add_argument(
        "--warn", type=_warn, default=20.0, metavar="SECONDS", help="warning window (default 20)"
    )
    web.add_argument("--data-dir", default=None, help="where each tab's data directory goes")
    web.add_argument(
        "--public-url",
        type=_http_url,
        default=None,
        metavar="URL",
        help="the address browsers use behind a reverse proxy, e.g. https://demo.example.org",
    )
    web.add_argument(
        "--max-tabs",
        type=_within(int, 1, 256),
        default=8,
        metavar="N",
        help="tabs running an app at once (default 8)",
    )
    scenario = sub.add_parser("scenario", help="edge cases as scripts (docs/scenarios.md)")
    scenario_sub = scenario.add_subparsers(
        dest="scenario_command", required=True, parser_class=_OneLineParser
    )
    run = scenario_sub.add_parser("run", help="run scenarios headless: pass or fail for each")
    run.add_argument(
        "names", nargs="*", metavar="NAME|FILE", help="a shipped scenario (or its number) or a file"
    )
    run.add_argument("--all", action="store_true", help="every shipped scenario")
    run.add_argument("--junit", metavar="FILE", default=None, help="also write JUnit XML there")
    run.add_argument(
        "--evidence", metavar="DIR", default=None, help="write each run's timeline and snapshots"
    )
    run.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=None,
        metavar="N",
        help="scenarios run at once, each in its own process (default: one per CPU)",
    )
    listing = scenario_sub.add_parser("list", help="the shipped scenarios: name, edge cases, title")
    listing.add_argument(
        "--markdown", action="store_true", help="as the README's recipe table (keys for each)"
    )
    play = scenario_sub.add_parser("play", help="play a scenario in this terminal, for an audience")
    play.add_argument("name", metavar="NAME|FILE", help="a shipped scenario (or its number) or a file")
    play.add_argument(
        "--speed", type=_speed, default=1.0, metavar="X", help="pacing: 2 is twice as fast (default 1)"
    )
    record = scenario_sub.add_parser(
        "record", help="use the app; your keys and QA actions are written into a scenario file"
    )
    record.add_argument("file", metavar="FILE", help="the scenario file to write (.toml)")
    record.add_argument("--ttl", type=_ttl, default=60.0, metavar="SECONDS", help="session TTL (default 60)")
    record.add_argument(
        "--warn", type=_warn, default=20.0, metavar="SECONDS", help="warning window (default 20)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        from sessionkeeper.tui.web.serve import serve

        if args.warn >= args.ttl:
            parser.error(f"--warn ({args.warn:g}) must be shorter than --ttl ({args.ttl:g})")
        data = Path(args.data_dir).expanduser() if args.data_dir else None
        return serve(
            host=args.host,
            port=args.port,
            ttl=args.ttl,
            warn=args.warn,
            data_dir=data,
            public_url=args.public_url,
            max_tabs=args.max_tabs,
        )
    if args.command == "scenario" and args.scenario_command == "list":
        from sessionkeeper.tui.scenario.loader import load, shipped
        from sessionkeeper.tui.scenario.recipes import markdown_table, plain_list

        scenarios = [load(path) for path in shipped()]
        print(markdown_table(scenarios) if args.markdown else plain_list(scenarios))
        return 0
    if args.command == "scenario" and args.scenario_command == "record":
        from sessionkeeper.tui.scenario.command import record_command

        if args.warn >= args.ttl:
            parser.error(f"--warn ({args.warn:g}) must be shorter than --ttl ({args.ttl:g})")
        return record_command(Path(args.file), ttl=args.ttl, warn=args.warn)
    if args.command == "scenario" and args.scenario_command == "play":
        from sessionkeeper.tui.scenario.command import play_command

        return play_command(args.name, speed=args.speed)
    if args.command == "scenario":
        from sessionkeeper.tui.scenario.command import run_command

        return run_command(
            args.names,
            every=args.all,
            junit=Path(args.junit) if args.junit else None,
            jobs=args.jobs,
            evidence=Path(args.evidence) if args.evidence else None,
        )
    if args.command == "backend":
        from sessionkeeper.api.backend.serve import serve_forever

        return serve_forever(
            host=args.host,
            port=args.port,
            ttl_s=args.ttl,
            lifetime_s=args.lifetime,
            quick_start=args.quick_start,
        )
    warn = args.warn if args.warn is not None else min(60.0, args.ttl / 3)
    if warn >= args.ttl:
        parser.error(f"--warn ({warn:g}) must be shorter than --ttl ({args.ttl:g})")
    if args.backend is not None and args.backend_port is not None:
        parser.error("--backend-port pins the embedded backend; it cannot go with --backend")
    from sessionkeeper.tui.app import build_app, data_dir_problem, run_app
    from sessionkeeper.tui.settings import Settings

    settings = Settings(
        ttl_s=args.ttl,
        warn_s=warn,
        lifetime_s=args.lifetime,
        backend_url=args.backend,
        backend_port=args.backend_port,
        data_dir=Path(args.data_dir).expanduser() if args.data_dir else None,
        call_deadline_s=args.call_deadline,
    )
    problem = data_dir_problem(settings.data_path)
    if problem is None and args.backend_port is not None:
        from sessionkeeper.api.backend.serve import bind_problem  # only then: it imports the whole backend

        problem = bind_problem("127.0.0.1", args.backend_port)
    if problem is None and args.har is not None:
        problem = _har_problem(Path(args.har).expanduser())
    if problem is not None:
        parser.error(problem)
    app = build_app(settings)
    code = run_app(app)
    if args.har is not None:
        code = max(code, _write_har(app, Path(args.har).expanduser()))
    return code


def _har_problem(path: Path) -> str | None:
    """Why `--har FILE` cannot be written, said before the app starts rather than after it ends."""
    if path.is_dir():
        return f"--har {path}: is a directory; give a file name"
    if not path.parent.is_dir():
        return f"--har {path}: no such directory: {path.parent}"
    return None


def _write_har(app: SessionKeeperApp, path: Path) -> int:
    """After the app: its requests as a HAR file, said in one line on stderr; 1 if it failed."""
    from sessionkeeper.api.wire import write_har_file

    client = app.services.client
    exchanges = list(client.wire.exchanges) if client is not None else []
    try:
        write_har_file(exchanges, path, version=_version())
    except OSError as exc:
        print(f"sessionkeeper: could not write the HAR file {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"sessionkeeper: wrote {len(exchanges)} requests to {path} (HAR 1.2)", file=sys.stderr)
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sessionkeeper")
    except PackageNotFoundError:
        return "unknown (not installed)"


if __name__ == "__main__":
    sys.exit(main())
