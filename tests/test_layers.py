"""The layers hold: ``config`` imports nothing else of the project, ``storage`` neither
``handlers`` nor ``bot``, ``handlers`` never ``bot``. Every import is read, at any depth (an
import inside a function counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "storage", "handlers", "bot")
FORBIDDEN = {
    "config": {"storage", "handlers", "bot"},
    "storage": {"handlers", "bot"},
    "handlers": {"bot"},
    "bot": set(),
}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of a project package in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in PACKAGES]
    return sorted(found)


MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_crosses_a_layer(path: Path) -> None:
    layer = path.relative_to(ROOT).parts[0]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for line, package in project_imports(path)
        if package in FORBIDDEN[layer]
    ]
    assert wrong == []


def test_the_rule_sees_a_crossing(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from handlers.workcal import WorkCalendar\nimport bot.app\n")
    assert project_imports(module) == [(2, "handlers"), (3, "bot")]


def test_every_package_is_read() -> None:
    assert {p.relative_to(ROOT).parts[0] for p in MODULES} == set(PACKAGES)
