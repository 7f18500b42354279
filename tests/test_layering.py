"""Dependencies point one way (tui -> api -> session); the engine stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "session": {"httpx", "gql", "textual", "rich", "api", "tui", "fastapi", "starlette", "uvicorn"},
    "api": {"textual", "tui"},
}
# The engine itself does no I/O and no waiting.
PURE_MODULES = {"session/engine.py", "session/events.py", "session/decisions.py", "session/policy.py"}
IMPURE = {"asyncio", "time", "os", "socket", "threading", "logging", "random", "datetime"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_from_the_layers_above_it(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    offenders = {
        str(f.relative_to(ROOT)): sorted(imported_roots(f) & FORBIDDEN[package])
        for f in files
        if package != "api" or "backend" not in f.parts  # the mock server is its own world
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_engine_modules_do_no_io_and_read_no_clock() -> None:
    offenders = {m: sorted(imported_roots(ROOT / m) & IMPURE) for m in PURE_MODULES}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_mock_backend_shares_no_session_logic_with_the_client() -> None:
    files = sorted((ROOT / "api" / "backend").rglob("*.py"))
    offenders = {str(f.relative_to(ROOT)) for f in files if {"session", "tui"} & imported_roots(f)}
    assert offenders == set()
