"""Dependencies point one way (tui -> api -> session); the engine stays pure; the mock backend is
its own world.

The rules, for every import statement of every module (inside functions and `TYPE_CHECKING`
blocks too), relative ones resolved against the module's package as Python would:
- `session` imports nothing of the layers above it, nor any HTTP or UI library;
- `api` outside `api/backend/` imports nothing of `tui` or Textual, and nothing of `api.backend`:
  the client's idea of the session must not come from the server's;
- `api/backend/` imports nothing of the project but `api.backend` (no `session`, no `tui`, no
  other `api` module): its truth must be independent, or one bug hides in both;
- no relative import climbs above its top-level package (Python refuses it at run time).
`offences()` is the checker; the tests at the end prove it catches each kind of violation.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The project's own top-level packages: every directory at the root holding Python modules.
PROJECT = frozenset(
    p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.py"))
)
LAYERS = ("session", "api", "tui")
BACKEND = "api.backend"

FORBIDDEN = {
    "session": {"httpx", "gql", "textual", "rich", "api", "tui", "fastapi", "starlette", "uvicorn"},
    "api": {"textual", "tui"},
}
# The engine itself does no I/O and no waiting.
PURE_MODULES = {"session/engine.py", "session/events.py", "session/decisions.py", "session/policy.py"}
IMPURE = {"asyncio", "time", "os", "socket", "threading", "logging", "random", "datetime"}


@dataclass(frozen=True)
class Imported:
    name: str  # absolute and dotted: `from .x import y` in package p is "p.x.y"
    line: int
    above_top: bool = False  # a relative import that climbs past its top-level package

    @property
    def root(self) -> str:
        return self.name.split(".")[0]

    def within(self, package: str) -> bool:
        return self.name == package or self.name.startswith(package + ".")


def resolve(module: str | None, level: int, package: str) -> tuple[str, bool]:
    """The absolute name of `from <level dots><module> import ...` in `package`, and whether it
    climbs above the top-level package. (One that does is resolved as if the project's root were
    a package, so that what it reaches is checked too.)"""
    if level == 0:
        return module or "", False
    parts = package.split(".") if package else []
    keep = len(parts) - (level - 1)
    base = parts[: max(keep, 0)]
    if module:
        base.append(module)
    return ".".join(base), keep < 1


def imports_of(path: Path, package: str) -> list[Imported]:
    """Every module `path` (a module of `package`) imports. A name taken from a module
    (`from a import b`) counts as `a.b`: it may be a submodule."""
    found: list[Imported] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend(Imported(alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base, above_top = resolve(node.module, node.level, package)
            for alias in node.names:
                name = f"{base}.{alias.name}" if base else alias.name
                found.append(Imported(name, node.lineno, above_top))
    return found


def imported_roots(path: Path, package: str) -> set[str]:
    return {imported.root for imported in imports_of(path, package)}


def offences(path: Path, package: str) -> list[str]:
    """What `path`, a module of `package` ("api.backend" for api/backend/x.py), imports against
    the layering rules; [] when nothing."""
    layer = package.split(".")[0]
    in_backend = package == BACKEND or package.startswith(BACKEND + ".")
    found: list[str] = []
    for imported in imports_of(path, package):
        where = f"{path.name}:{imported.line} imports {imported.name}"
        if imported.above_top:
            found.append(f"{where}: a relative import above the top-level package")
        if in_backend:
            if imported.root in PROJECT and not imported.within(BACKEND):
                found.append(f"{where}: the mock backend imports nothing of the project but {BACKEND}")
            continue
        if imported.root in FORBIDDEN.get(layer, ()):
            found.append(f"{where}: {layer} must not import {imported.root}")
        if layer == "api" and imported.within(BACKEND):
            found.append(f"{where}: the client must not import the mock backend")
    return found


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parent.parts)


# -- the project as it is ------------------------------------------------------------------------


def test_the_project_is_the_packages_at_the_root() -> None:
    assert set(LAYERS) <= PROJECT
    assert ".venv" not in PROJECT


@pytest.mark.parametrize("layer", LAYERS)
def test_every_module_imports_only_what_its_layer_may(layer: str) -> None:
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files
    found = {str(f.relative_to(ROOT)): offences(f, package_of(f)) for f in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_mock_backend_has_modules_and_the_checker_reads_them_as_the_backend() -> None:
    files = sorted((ROOT / "api" / "backend").rglob("*.py"))
    assert len(files) > 5
    assert {package_of(f) for f in files} == {BACKEND}


def test_the_engine_modules_do_no_io_and_read_no_clock() -> None:
    offenders = {m: sorted(imported_roots(ROOT / m, "session") & IMPURE) for m in PURE_MODULES}
    assert {k: v for k, v in offenders.items() if v} == {}


# -- the checker catches each kind of violation ----------------------------------------------------


def module(tmp_path: Path, relative: str, source: str) -> Path:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    ("relative", "package", "source", "expected"),
    [
        (  # the hole of issue 9: the backend importing the client passed every check
            "api/backend/users.py",
            "api.backend",
            "from api.client import BackendClient\n",
            "users.py:1 imports api.client.BackendClient: the mock backend imports nothing of the "
            "project but api.backend",
        ),
        (
            "api/backend/users.py",
            "api.backend",
            "import api.middleware\n",
            "users.py:1 imports api.middleware: the mock backend imports nothing of the project "
            "but api.backend",
        ),
        (
            "api/backend/users.py",
            "api.backend",
            "from api import client\n",
            "users.py:1 imports api.client: the mock backend imports nothing of the project but api.backend",
        ),
        (  # relative, climbing out of api/backend
            "api/backend/x.py",
            "api.backend",
            "from .. import client\n",
            "x.py:1 imports api.client: the mock backend imports nothing of the project but api.backend",
        ),
        (
            "api/backend/x.py",
            "api.backend",
            "from ..session_port import HttpSessionPort\n",
            "x.py:1 imports api.session_port.HttpSessionPort: the mock backend imports nothing of the "
            "project but api.backend",
        ),
        (
            "api/backend/x.py",
            "api.backend",
            "def later():\n    from session.engine import SessionEngine\n",
            "x.py:2 imports session.engine.SessionEngine: the mock backend imports nothing of the "
            "project but api.backend",
        ),
        (
            "api/backend/x.py",
            "api.backend",
            "import tui.app\n",
            "x.py:1 imports tui.app: the mock backend imports nothing of the project but api.backend",
        ),
        (  # session importing api through a relative import: it can only climb out of session
            "session/x.py",
            "session",
            "from ..api import client\n",
            "x.py:1 imports api.client: a relative import above the top-level package",
        ),
        (
            "session/x.py",
            "session",
            "from ..api import client\n",
            "x.py:1 imports api.client: session must not import api",
        ),
        (
            "session/sub/x.py",
            "session.sub",
            "from ... import api\n",
            "x.py:1 imports api: session must not import api",
        ),
        (  # tui imported from api
            "api/x.py",
            "api",
            "from tui.app import SessionKeeperApp\n",
            "x.py:1 imports tui.app.SessionKeeperApp: api must not import tui",
        ),
        (
            "api/x.py",
            "api",
            "import tui\n",
            "x.py:1 imports tui: api must not import tui",
        ),
        (  # the client importing the mock backend, absolutely and relatively
            "api/x.py",
            "api",
            "from api.backend.serve import EmbeddedBackend\n",
            "x.py:1 imports api.backend.serve.EmbeddedBackend: the client must not import the mock backend",
        ),
        (
            "api/x.py",
            "api",
            "from .backend import serve\n",
            "x.py:1 imports api.backend.serve: the client must not import the mock backend",
        ),
        (
            "api/x.py",
            "api",
            "from . import backend\n",
            "x.py:1 imports api.backend: the client must not import the mock backend",
        ),
    ],
)
def test_the_checker_catches_the_violation(
    tmp_path: Path, relative: str, package: str, source: str, expected: str
) -> None:
    assert expected in offences(module(tmp_path, relative, source), package)


@pytest.mark.parametrize(
    ("relative", "package", "source"),
    [
        ("api/backend/x.py", "api.backend", "from .gate import Gate\nfrom . import models\n"),
        (
            "api/backend/x.py",
            "api.backend",
            "from api.backend.errors import error_response\nimport fastapi\n",
        ),
        ("api/backend/x.py", "api.backend", "from api import backend\nimport api.backend.serve\n"),
        ("api/backend/__init__.py", "api.backend", "from .serve import EmbeddedBackend\n"),
        ("api/x.py", "api", "from .errors import ApiError\nfrom session.clock import Clock\nimport httpx\n"),
        ("api/x.py", "api", "from . import middleware\n"),
        ("session/x.py", "session", "from .clock import Clock\nfrom . import events as e\n"),
        ("tui/x.py", "tui", "from api.backend.serve import EmbeddedBackend\nfrom session import clock\n"),
    ],
)
def test_the_checker_lets_the_allowed_imports_through(
    tmp_path: Path, relative: str, package: str, source: str
) -> None:
    assert offences(module(tmp_path, relative, source), package) == []


def test_a_relative_import_resolves_as_python_does() -> None:
    assert resolve("models", 1, "api.backend") == ("api.backend.models", False)
    assert resolve(None, 1, "api.backend") == ("api.backend", False)
    assert resolve(None, 2, "api.backend") == ("api", False)
    assert resolve("client", 2, "api.backend") == ("api.client", False)
    assert resolve("api", 2, "session") == ("api", True)
    assert resolve(None, 3, "api.backend") == ("", True)
    assert resolve("x.y", 0, "session") == ("x.y", False)
