"""One package per feature family (issue 9, items 2 and 7): routers meet only in the
dispatcher, the @件 and the 督办事项 families do not import each other, modules stay small,
@件 states are an enum with a transition table, and constants live once."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from handlers import texts
from handlers.dispatch import REGISTRY, ROUTERS
from handlers.items import states
from handlers.items.states import TRANSITIONS, ItemState

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "handlers"
ITEM_FAMILY = {"items"}
MATTER_FAMILIES = {"matters", "filings", "instructions", "lights", "closure", "reviews", "annual"}
FAMILIES = ITEM_FAMILY | MATTER_FAMILIES | {"stats"}
SHARED_VOCABULARY = {"handlers.items.states"}  # the @件 states, read by statistics too
MAX_LINES = 400
CATALOGUE = HANDLERS / "texts.py"  # the one text catalogue may be longer


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``path``; ``from a import b`` gives both
    ``a`` and ``a.b`` (b may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return sorted(found)


def family_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "handlers" and parts[1] in FAMILIES:
        return parts[1]
    return None


HANDLER_MODULES = sorted(HANDLERS.rglob("*.py"))


@pytest.mark.parametrize("path", HANDLER_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_routers_meet_only_in_the_dispatcher(path: Path) -> None:
    """A family's commands module (its router) is imported by the dispatcher alone (and by
    its own package's router): 查看 and 待办 are chosen there, not by a family."""
    if path == HANDLERS / "dispatch.py":
        return
    own = path.relative_to(HANDLERS).parts[0]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imported_modules(path)
        if module.endswith(".commands") and family_of(module) not in (None, own)
    ]
    assert wrong == []


@pytest.mark.parametrize("path", HANDLER_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_item_and_matter_families_stay_apart(path: Path) -> None:
    own = path.relative_to(HANDLERS).parts[0]
    if own not in ITEM_FAMILY | MATTER_FAMILIES:
        return
    other = MATTER_FAMILIES if own in ITEM_FAMILY else ITEM_FAMILY
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imported_modules(path)
        if family_of(module) in other and module not in SHARED_VOCABULARY
    ]
    assert wrong == []


def test_the_import_reader_sees_a_family() -> None:
    assert family_of("handlers.matters.commands") == "matters"
    assert family_of("handlers.texts") is None
    assert family_of("handlers") is None


@pytest.mark.parametrize("path", HANDLER_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_the_limit(path: Path) -> None:
    if path == CATALOGUE:
        return
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_every_family_has_a_router_in_the_dispatcher() -> None:
    for family in FAMILIES:
        router = importlib.import_module(f"handlers.{family}.commands").router
        assert router in ROUTERS, family
        assert router.specs, family
        assert all(REGISTRY.specs[name] is spec for name, spec in router.specs.items())


def test_view_is_chosen_by_the_argument() -> None:
    """查看 N is an @件, 查看 督N a 督办事项: one command, the argument's form decides."""
    item = REGISTRY.parse("查看 ３")
    matter = REGISTRY.parse("查看 督3")
    assert (item.item, item.ref) == (3, None)
    assert (matter.item, matter.ref) == (None, "督3")
    assert item.spec is matter.spec


# --- @件 states -------------------------------------------------------------------------


def test_states_are_the_stored_strings() -> None:
    assert [s.value for s in ItemState] == list(texts.STATE_LABELS)
    assert all(isinstance(s, str) and s == s.value for s in ItemState)
    assert set(states.OPEN) | set(states.CLOSED) == set(ItemState)
    assert not set(states.OPEN) & set(states.CLOSED)


def test_closed_states_are_final() -> None:
    for transition in TRANSITIONS.values():
        assert not transition.sources & set(states.CLOSED)
        assert transition.sources and transition.targets


@pytest.mark.parametrize(
    ("state", "action", "allowed"),
    [
        ("new", "assign", True),
        ("assigned", "assign", False),
        ("assigned", "claim", True),
        ("claimed", "claim", False),
        ("hard", "draft", True),
        ("review", "approve", True),
        ("claimed", "approve", False),
        ("answered", "reject", False),
        ("assigned", "send_back", False),
        ("hard", "offline", True),
    ],
)
def test_transition_table(state: str, action: str, allowed: bool) -> None:
    assert states.can(state, action) is allowed


def test_a_move_outside_the_table_is_refused() -> None:
    assert states.move("review", "send_back", ItemState.HARD) == "hard"
    assert type(states.move("new", "assign", ItemState.ASSIGNED)) is str
    with pytest.raises(ValueError, match="send_back"):
        states.move("assigned", "send_back", ItemState.CLAIMED)
    with pytest.raises(ValueError, match="approve"):
        states.move("review", "approve", ItemState.REJECTED)


# --- constants live once ------------------------------------------------------------------


def test_registry_workbook_declares_no_constant_of_its_own_again() -> None:
    """bot/registry_xlsx.py imports the 督办事项 constants instead of repeating them."""
    base = importlib.import_module("handlers.matters.base")
    xlsx = importlib.import_module("bot.registry_xlsx")
    shared = [
        value
        for module in (base, texts)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str | int | dict | tuple) and value
    ]
    path = ROOT / "bot" / "registry_xlsx.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared = [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]
    repeated = [name for name in declared if any(getattr(xlsx, name) == v for v in shared)]
    assert repeated == []
    assert xlsx.INSTRUCTION is base.INSTRUCTION
