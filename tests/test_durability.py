"""Kill the bot with SIGKILL while deadlines are pending, move the clock past them, start it
again: every missed escalation goes out exactly once, the reminders it made moot not at all,
no @件 is lost."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.main import FileClock
from tests.fake_dingtalk import FakeDingTalk
from tests.procs import bot_env, spawn_bot, town_asks

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config" / "examples" / "org.toml"
CLIENT_ID, CLIENT_SECRET = "dingdurability", "durability-secret"
TOWN_CID = "cid-town-chuansha"


@pytest.fixture
async def dingtalk(tmp_path: Path) -> AsyncIterator[FakeDingTalk]:
    clock_file = tmp_path / "clock.txt"
    clock_file.write_text("2026-11-16T09:30:00+08:00", encoding="utf-8")
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET, clock=FileClock(clock_file)) as server:
        yield server


def start_bot(tmp_path: Path, endpoint: str) -> subprocess.Popen[bytes]:
    env = bot_env(
        tmp_path,
        endpoint,
        f"sqlite:///{tmp_path}/bot.db",
        (CLIENT_ID, CLIENT_SECRET),
        BOT_CLOCK_FILE=str(tmp_path / "clock.txt"),
        BOT_SWEEP_SECONDS="0.2",
        BOT_LOG_LEVEL="WARNING",
    )
    return spawn_bot(tmp_path, env, tmp_path / "bot.log")


def settled(db: Path, now_utc: str = "2026-11-16 06:30:00") -> bool:
    """Every timer due by ``now_utc`` fired, every message handled, nothing left to send."""
    with sqlite3.connect(db) as conn:
        timers = conn.execute(
            "select count(*) from deadlines where state = 'pending' and fire_at <= ?", (now_utc,)
        ).fetchone()[0]
        outbox = conn.execute("select count(*) from outbox where state = 'pending'").fetchone()[0]
        inbox = conn.execute("select count(*) from inbox where processed_at is null").fetchone()[0]
    return timers == 0 and outbox == 0 and inbox == 0


async def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll another process's database (no event crosses the process boundary)."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def lines(dingtalk: FakeDingTalk, channel: str, target: object) -> Counter[str]:
    found: Counter[str] = Counter()
    for message in dingtalk.sent:
        if message.channel == channel and message.target == target:
            for line in message.text.splitlines():
                found[line.split("（原定")[0].lstrip("0123456789. ")] += 1
    return found


async def test_sigkill_then_restart_sends_each_missed_message_once(
    dingtalk: FakeDingTalk, tmp_path: Path
) -> None:
    bot = start_bot(tmp_path, dingtalk.endpoint)
    try:
        await dingtalk.wait_connected(timeout=30)
        await town_asks(dingtalk, 3)
        # Killed between sends, with its deadlines pending. (A message DingTalk received
        # just before a crash, but not yet marked sent, would go again after restart.)
        await wait_until(lambda: settled(tmp_path / "bot.db", "2026-11-16 01:30:00"))
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
        before = len(dingtalk.sent)

        # Past the reminders (11:45, 13:00) and the triage deadline (14:00) of all three.
        (tmp_path / "clock.txt").write_text("2026-11-16T14:30:00+08:00", encoding="utf-8")
        bot = start_bot(tmp_path, dingtalk.endpoint)
        await dingtalk.wait_connected(timeout=30, total=2)
        await wait_until(lambda: settled(tmp_path / "bot.db"))
        # a redelivery of a frame stored before the crash makes no second item
        again = await dingtalk.push_bot_message(
            "第1件咨询", sender_staff_id=None, conversation_id=TOWN_CID, msg_id="town-msg-0"
        )
        await dingtalk.wait_ack(again, timeout=10)
        await wait_until(lambda: settled(tmp_path / "bot.db"))
    finally:
        bot.send_signal(signal.SIGTERM)
        code = bot.wait(timeout=20)
    assert code == 0, (tmp_path / "bot.log").read_text(encoding="utf-8")

    assert len(dingtalk.sent) > before
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        assert conn.execute("select id, state from items order by id").fetchall() == [
            (1, "new"),
            (2, "new"),
            (3, "new"),
        ]
    admin = lines(dingtalk, "oto", ("u-admin",))
    head = lines(dingtalk, "oto", ("u-office-head",))
    office = lines(dingtalk, "group", "cid-office")
    for n in (1, 2, 3):
        nag = f"#{n} 川沙新镇：请于11月16日(周一) 14:00前甄别（分派/退回）"
        alert = f"#{n} 川沙新镇：甄别已超时（时限11月16日(周一) 14:00），待王敏办理"
        # the reminders (half-way and one hour before) are past their deadline: moot
        assert admin[nag] == 0 and office[nag] == 0
        assert head[alert] == 1 and office[alert] == 1
    late = [m.text for m in dingtalk.sent if "因系统停机延后" in m.text]
    assert late and all("原定11月16日(周一) 1" in text for text in late)
    town = [m.text for m in dingtalk.sent if m.target == TOWN_CID]
    assert len(town) == 3
