"""The rooms and the direction of imports (the contracts in pyproject.toml, checked by
import-linter): they hold for the code as it is, and they catch a breach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = 9


def lint_imports(path_first: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path_first is not None:
        env["PYTHONPATH"] = str(path_first)
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=path_first or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_contract_is_kept() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"Contracts: {CONTRACTS} kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "added", "broken"),
    [
        ("session/engine.py", "import time", "The engine is pure"),
        ("session/store.py", "from sessionkeeper.tui import wording", "tui -> api -> session"),
        ("api/backend/state.py", "from sessionkeeper.api import errors", "the backend is"),
        ("api/middleware.py", "from sessionkeeper.api.backend import gate", "never comes from the server"),
        ("tui/presenter.py", "from sessionkeeper.tui.scenario import model", "knows nothing of scenarios"),
        ("tui/navigation.py", "from sessionkeeper.tui import app", "No import circles"),
    ],
)
def test_a_breach_of_each_kind_is_caught(tmp_path: Path, module: str, added: str, broken: str) -> None:
    # A copy of the code with one import added, found before the checkout's own.
    for room in ("api", "session", "tui"):
        shutil.copytree(
            ROOT / room, tmp_path / "sessionkeeper" / room, ignore=shutil.ignore_patterns("__pycache__")
        )
    target = tmp_path / "sessionkeeper" / module
    target.write_text(target.read_text() + f"\n{added}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert broken in result.stdout.split("Broken contracts")[1], result.stdout[-3000:]
