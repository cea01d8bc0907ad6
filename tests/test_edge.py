"""A thin edge (issue 9, item 5): the sender only delivers (no SQL of its own), the local
DingTalk ships no test-only helpers, and the modules of the edge stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.local_dingtalk import LocalDingTalk
from tests.fake_dingtalk import FakeDingTalk

ROOT = Path(__file__).resolve().parent.parent
TEST_ONLY = (
    "fail_next",
    "throttle_oto",
    "expire_tokens",
    "refuse_connections",
    "accept_connections",
    "drop_connections",
    "go_silent",
    "add_message_file",
    "push_system_ping",
    "push_disconnect",
    "sent_to_conversation",
    "sent_to_user",
    "media",
    "uploads",
    "requests_log",
    "open_calls",
    "connections",
    "connection_log",
    "pushed",
    "acks_for",
    "wait_for_sent",
    "cards_delivered",
    "wait_card",
    "tap",
)
EDGE = sorted(
    [
        *(ROOT / "bot" / "dingtalk").glob("*.py"),
        *(ROOT / "bot" / "local_dingtalk").glob("*.py"),
        ROOT / "bot" / "sender.py",
        ROOT / "bot" / "bursts.py",
        ROOT / "storage" / "outbox.py",
    ]
)


def imported_names(path: Path) -> set[str]:
    """``module`` and ``module.name`` of every import in ``path``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_the_sender_runs_no_sql_of_its_own() -> None:
    names = imported_names(ROOT / "bot" / "sender.py")
    builders = {"select", "update", "insert", "delete", "bindparam", "func", "or_", "text"}
    assert not {n for n in names if n.startswith("sqlalchemy") and n.rsplit(".")[-1] in builders}
    assert "storage.models" not in names
    assert "storage.outbox" in names


def test_the_transport_lives_in_bot_dingtalk() -> None:
    names = imported_names(ROOT / "bot" / "sender.py")
    assert not {n for n in names if n.startswith(("alibabacloud", "Tea", "httpx", "aiohttp"))}


@pytest.mark.parametrize("name", TEST_ONLY)
def test_test_only_helpers_live_under_tests(name: str) -> None:
    assert not hasattr(LocalDingTalk, name)
    assert hasattr(FakeDingTalk, name)


@pytest.mark.parametrize("path", EDGE, ids=lambda p: str(p.relative_to(ROOT)))
def test_edge_modules_stay_small(path: Path) -> None:
    limit = 550 if path.name == "sender.py" else 400
    assert len(path.read_text(encoding="utf-8").splitlines()) <= limit
