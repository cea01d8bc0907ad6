"""scripts/run and scripts/test check the interpreter first (one line naming PYTHON=) and
rebuild a .venv made by another interpreter than the one asked for."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def interpreters() -> dict[tuple[int, int], str]:
    """Python interpreters on this machine by version: PATH, then pyenv's."""
    found: dict[tuple[int, int], str] = {}
    names = [f"python3.{minor}" for minor in range(6, 15)]
    paths = [p for p in (shutil.which(n) for n in names) if p]
    paths += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    for path in paths:
        done = subprocess.run(
            [path, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            major, minor = map(int, done.stdout.split())
            found.setdefault((major, minor), path)
    return found


INTERPRETERS = interpreters()
OLD = next((p for v, p in sorted(INTERPRETERS.items()) if v < (3, 11)), None)
NEWER = next((p for v, p in sorted(INTERPRETERS.items()) if v > sys.version_info[:2]), None)


def tree(tmp_path: Path) -> Path:
    """The scripts in a checkout of their own, with a probe sourcing the same check."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    probe = tmp_path / "scripts" / "probe"
    probe.write_text(
        'set -euo pipefail\ncd "$(dirname "$0")/.."\n. scripts/venv.sh\n'
        '.venv/bin/python -c "import sys; print(sys.base_prefix, *sys.version_info[:3])"\n',
        encoding="utf-8",
    )
    return tmp_path


def run(where: Path, script: str, python: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"PYTHON": python}
    return subprocess.run(
        ["bash", f"scripts/{script}"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("script", ["run", "test"])
def test_an_interpreter_not_found_is_one_line_naming_python(tmp_path: Path, script: str) -> None:
    done = run(tree(tmp_path), script, "python3.99-nowhere")
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.count("\n") == 1
    assert "python3.99-nowhere not found" in done.stderr
    assert "Python 3.11 or newer is needed" in done.stderr and "PYTHON=" in done.stderr
    assert f"bash scripts/{script}" in done.stderr
    assert not (tmp_path / ".venv").exists()


@pytest.mark.skipif(OLD is None, reason="no Python older than 3.11 on this machine")
@pytest.mark.parametrize("script", ["run", "test"])
def test_an_old_interpreter_is_one_line_naming_python(tmp_path: Path, script: str) -> None:
    assert OLD is not None
    done = run(tree(tmp_path), script, OLD)
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Python 3.11 or newer is needed" in done.stderr and "PYTHON=" in done.stderr
    assert f"{OLD} is Python 3." in done.stderr
    assert not (tmp_path / ".venv").exists()


def test_a_venv_of_another_interpreter_is_rebuilt(tmp_path: Path) -> None:
    where = tree(tmp_path)
    # a .venv left by some other interpreter (here one that no longer runs at all)
    (where / ".venv" / "bin").mkdir(parents=True)
    stale = where / ".venv" / "bin" / "python"
    stale.write_text("#!/bin/sh\necho Python 3.9.0 in /elsewhere\n", encoding="utf-8")
    stale.chmod(0o755)
    (where / ".venv" / "marker").write_text("old", encoding="utf-8")
    done = run(where, "probe", sys.executable)
    assert done.returncode == 0, done.stderr
    assert "(Python 3.9.0 in /elsewhere), rebuilding it" in done.stderr
    assert not (where / ".venv" / "marker").exists()
    version = " ".join(map(str, sys.version_info[:3]))
    assert done.stdout.strip().endswith(version)
    # the interpreter it was made by: kept as it is
    (where / ".venv" / "marker").write_text("same", encoding="utf-8")
    again = run(where, "probe", sys.executable)
    assert again.returncode == 0 and again.stderr == ""
    assert (where / ".venv" / "marker").exists()


@pytest.mark.skipif(NEWER is None, reason="no second Python 3.11+ on this machine")
def test_a_venv_of_an_older_python_is_rebuilt_for_the_one_asked(tmp_path: Path) -> None:
    assert NEWER is not None
    where = tree(tmp_path)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", ".venv"], cwd=where, check=True)
    done = run(where, "probe", NEWER)
    assert done.returncode == 0, done.stderr
    assert "rebuilding it" in done.stderr
    asked = subprocess.run(
        [NEWER, "-c", "import sys; print(*sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert done.stdout.strip().endswith(asked)
