"""Several real ``python -m bot run`` processes (issue 14): on PostgreSQL, SIGKILL the leader and
another instance leads within 30 s, every reminder and escalation due across the kill going
out exactly once; on SQLite a second process on the same file is refused at once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import POSTGRES_URL, postgres_unreachable

from bot.startup import FileClock
from storage.leader import leader_pid
from tests.fake_dingtalk import FakeDingTalk
from tests.procs import bot_env, scratch_database, spawn_bot, town_asks

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config" / "examples" / "org.toml"
CLIENT_ID, CLIENT_SECRET = "dinginstances", "instances-secret"
TOWN_CID = "cid-town-chuansha"


@pytest.fixture
async def dingtalk(tmp_path: Path) -> AsyncIterator[FakeDingTalk]:
    clock_file = tmp_path / "clock.txt"
    clock_file.write_text("2026-11-16T09:30:00+08:00", encoding="utf-8")
    async with FakeDingTalk(
        CLIENT_ID, CLIENT_SECRET, clock=FileClock(clock_file), spread=True
    ) as server:
        yield server


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own (the lease is per database and schema)."""
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    with scratch_database(POSTGRES_URL) as url:
        yield url


def start_bot(
    tmp_path: Path, endpoint: str, database_url: str, name: str
) -> subprocess.Popen[bytes]:
    env = bot_env(
        tmp_path,
        endpoint,
        database_url,
        (CLIENT_ID, CLIENT_SECRET),
        BOT_CLOCK_FILE=str(tmp_path / "clock.txt"),
        BOT_FILES_DIR=str(tmp_path / "files"),
        BOT_SWEEP_SECONDS="1",
        BOT_LEADER_POLL_SECONDS="1",
        BOT_LOG_LEVEL="INFO",
    )
    return spawn_bot(tmp_path, env, tmp_path / f"{name}.log")


def logs(tmp_path: Path, tail: int = 3000) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(encoding='utf-8', errors='replace')[-tail:]}"
        for p in sorted(tmp_path.glob("bot*.log"))
    )


def settled(url: str, now_utc: str) -> bool:
    """Every timer due by ``now_utc`` fired, every message handled, nothing left to send."""
    with psycopg.connect(url, autocommit=True) as conn:
        timers = conn.execute(
            "select count(*) from deadlines where state = 'pending' and fire_at <= %s",
            (now_utc,),
        ).fetchone()
        outbox = conn.execute("select count(*) from outbox where state = 'pending'").fetchone()
        inbox = conn.execute("select count(*) from inbox where processed_at is null").fetchone()
    return (timers, outbox, inbox) == ((0,), (0,), (0,))


async def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(check):  # noqa: ASYNC110
            await asyncio.sleep(0.1)


def said(dingtalk: FakeDingTalk, channel: str, target: object, needle: str) -> int:
    """How many times ``needle`` went to the chat (alone or as a digest's line)."""
    return sum(
        m.text.count(needle) for m in dingtalk.sent if m.channel == channel and m.target == target
    )


def stop_all(bots: list[subprocess.Popen[bytes]]) -> list[int | None]:
    for bot in bots:
        if bot.poll() is None:
            bot.send_signal(signal.SIGTERM)
    codes = []
    for bot in bots:
        try:
            codes.append(bot.wait(timeout=20))
        except subprocess.TimeoutExpired:
            bot.kill()
            codes.append(bot.wait())
    return codes


@pytest.mark.postgres
async def test_kill_the_leader_another_leads_within_30s_and_nothing_is_doubled(
    dingtalk: FakeDingTalk, tmp_path: Path, pg_database: str
) -> None:
    url = pg_database
    bots = [start_bot(tmp_path, dingtalk.endpoint, url, f"bot{n}") for n in range(3)]
    try:
        await dingtalk.wait_connected(timeout=120, total=3)  # a loaded machine: slow starts
        await town_asks(dingtalk, 3)  # dealt to the instances in turn
        await wait_until(lambda: settled(url, "2026-11-16 01:30:00"))
        # the half-way reminders (11:45) fall due: the leader sends them
        (tmp_path / "clock.txt").write_text("2026-11-16T11:50:00+08:00", encoding="utf-8")
        await wait_until(lambda: settled(url, "2026-11-16 03:50:00"))

        leader = await asyncio.to_thread(leader_pid, url)
        pids = {bot.pid: bot for bot in bots}
        assert leader in pids, logs(tmp_path)
        pids[leader].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        pids[leader].wait(timeout=10)
        # past the 13:00 reminders and the 14:00 triage deadline of all three
        (tmp_path / "clock.txt").write_text("2026-11-16T14:30:00+08:00", encoding="utf-8")

        def new_leader() -> bool:
            return leader_pid(url) in set(pids) - {leader}

        await wait_until(new_leader, timeout=30)
        takeover = time.monotonic() - killed_at
        await wait_until(lambda: settled(url, "2026-11-16 06:30:00"))
        print(f"takeover after SIGKILL of the leader: {takeover:.2f} s")
    finally:
        codes = stop_all(bots)
    survivors = [code for bot, code in zip(bots, codes, strict=True) if bot.pid != leader]
    assert survivors == [0, 0], logs(tmp_path)
    assert takeover < 30

    admin, head = ("oto", ("u-admin",)), ("oto", ("u-office-head",))
    office = ("group", "cid-office")
    with psycopg.connect(url) as conn:
        items = [row[0] for row in conn.execute("select id from items order by id")]
    assert len(items) == 3
    for n in items:
        nag = f"#{n} 川沙新镇：请于11月16日(周一) 14:00前甄别（分派/退回）"
        alert = f"#{n} 川沙新镇：甄别已超时（时限11月16日(周一) 14:00），待王敏办理"
        # the 11:45 reminder before the kill, the 14:00 escalation after it: once each
        assert said(dingtalk, *admin, nag) == 1 and said(dingtalk, *office, nag) == 1
        assert said(dingtalk, *head, alert) == 1 and said(dingtalk, *office, alert) == 1
    town = [m.text for m in dingtalk.sent if m.target == TOWN_CID]
    assert len(town) == 3
    every = Counter((m.channel, str(m.target), m.text) for m in dingtalk.sent)
    assert max(every.values()) == 1, [k for k, v in every.items() if v > 1]
    assert logs(tmp_path, tail=10**8).count("leader: this instance leads") >= 2


async def test_a_second_process_on_one_sqlite_file_is_refused(
    dingtalk: FakeDingTalk, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    first = start_bot(tmp_path, dingtalk.endpoint, url, "bot-first")
    try:
        await dingtalk.wait_connected(timeout=120)
        second = start_bot(tmp_path, dingtalk.endpoint, url, "bot-second")
        code = await asyncio.to_thread(second.wait, 30)
        assert first.poll() is None  # the first runs on
    finally:
        codes = stop_all([first])
    said = (tmp_path / "bot-second.log").read_text(encoding="utf-8")
    assert code != 0 and codes == [0], logs(tmp_path)
    assert said.strip().splitlines()[-1] == (
        f"error: DATABASE_URL sqlite:///{tmp_path}/bot.db: another bot process is using this"
        " file (SQLite allows one process); stop it, or use PostgreSQL to run several instances"
    )
