"""The wheel installs one namespace, `sessionkeeper` (sessionkeeper.api, .session, .tui), and
nothing else into site-packages (a bare `api` would overwrite any other distribution's); the app
runs from it, a scenario included."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # builds a wheel and a venv, runs a scenario from it: about 20 s
def test_the_wheel_holds_only_the_sessionkeeper_namespace_and_a_scenario_runs_from_it(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("sessionkeeper-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"sessionkeeper", next(t for t in tops if t.endswith(".dist-info"))}, tops
    assert "sessionkeeper/tui/app.tcss" in names
    assert "sessionkeeper/api/backend/schema.graphql" in names
    assert any(name.startswith("sessionkeeper/tui/scenario/shipped/") for name in names)
    assert not any(name.startswith("sessionkeeper/__init__") for name in names)  # a namespace

    # A clean venv with the wheel alone. Its dependencies are read from this venv's site-packages
    # through PYTHONPATH, which (unlike a .pth) does not run this venv's editable-install hook:
    # nothing of the checkout can stand in for what the wheel installed.
    clean = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(clean)
    python = clean / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import sessionkeeper.tui.app as m, importlib.util as u; "
            "print(m.__file__); print(u.find_spec('api'), u.find_spec('tui'), u.find_spec('session'))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert where[0].startswith(str(clean)), where
    assert where[1] == "None None None", where

    run = subprocess.run(
        [str(clean / "bin" / "sessionkeeper"), "scenario", "run", "02", "--jobs", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASS" in run.stdout.upper(), run.stdout


def test_every_package_of_the_checkout_is_listed_for_the_wheel() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        "sessionkeeper." + ".".join(init.parent.relative_to(ROOT).parts)
        for room in ("api", "session", "tui")
        for init in (ROOT / room).rglob("__init__.py")
    }
    assert listed == found
