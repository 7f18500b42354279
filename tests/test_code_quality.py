"""ruff and mypy (strict) are part of the suite: a lint or type error fails CI like a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # ruff and mypy over the whole tree, in subprocesses

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "session", "api", "tui", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing() -> None:
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_imports_a_private_name_of_textual() -> None:
    """Textual's private names (`textual.keys._character_to_key`...) change without notice: the
    project uses its public API only."""
    import ast

    found = []
    for folder in ("session", "api", "tui", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textual"):
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    private += [part for part in (node.module or "").split(".") if part.startswith("_")]
                    if private:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {', '.join(private)}")
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.startswith("textual") and any(
                            p.startswith("_") for p in alias.name.split(".")
                        ):
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {alias.name}")
    assert found == []
