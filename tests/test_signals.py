"""A real ``python -m bot run`` process: SIGTERM while it sends finishes what is in hand and
gives the rest of the outbox back for the next start; SIGHUP and ``python -m bot reload``
re-read the roster, and a broken one keeps the running roster and says why."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import App
from bot.main import FileClock
from config.roster import Roster
from handlers import texts
from handlers.workcal import WorkCalendar
from storage.db import Database
from tests.fake_dingtalk import FakeDingTalk
from tests.procs import bot_env, spawn_bot, town_asks
from tests.test_durability import CLIENT_ID, CLIENT_SECRET, EXAMPLE, TOWN_CID, wait_until

SENDS = ("/robot/sendBySession", "/v1.0/robot/groupMessages/send", "/v1.0/robot/oToMessages")


class SlowDingTalk(FakeDingTalk):
    """Each message the bot sends takes ``delay`` seconds to be answered."""

    delay = 0.0

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.delay and request.path.startswith(SENDS):
            await asyncio.sleep(self.delay)
        return await super()._middleware(request, handler)


@pytest.fixture
async def dingtalk(tmp_path: Path) -> AsyncIterator[SlowDingTalk]:
    clock_file = tmp_path / "clock.txt"
    clock_file.write_text("2026-11-16T09:30:00+08:00", encoding="utf-8")
    async with SlowDingTalk(CLIENT_ID, CLIENT_SECRET, clock=FileClock(clock_file)) as server:
        yield server


def signals_env(tmp_path: Path, endpoint: str, org: Path = EXAMPLE) -> dict[str, str]:
    return bot_env(
        tmp_path,
        endpoint,
        f"sqlite:///{tmp_path}/bot.db",
        (CLIENT_ID, CLIENT_SECRET),
        BOT_ORG_FILE=str(org),
        BOT_CLOCK_FILE=str(tmp_path / "clock.txt"),
        BOT_PID_FILE=str(tmp_path / "run" / "bot.pid"),
        BOT_SWEEP_SECONDS="0.2",
        BOT_LOG_LEVEL="INFO",
    )


def start_bot(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return spawn_bot(tmp_path, env, tmp_path / "bot.log")


def stop_bot(bot: subprocess.Popen[bytes], timeout: float = 10) -> tuple[int, float]:
    """SIGTERM; the exit status and how long it took."""
    started = time.monotonic()
    bot.send_signal(signal.SIGTERM)
    try:
        code = bot.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        bot.kill()
        bot.wait()
        raise
    return code, time.monotonic() - started


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


async def test_sigterm_finishes_in_hand_and_leaves_the_outbox_for_the_next_start(
    dingtalk: SlowDingTalk, tmp_path: Path
) -> None:
    env = signals_env(tmp_path, dingtalk.endpoint)
    db = tmp_path / "bot.db"
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # as systemd's NOTIFY_SOCKET
    systemd.bind(str(tmp_path / "notify"))
    systemd.settimeout(30)
    env["NOTIFY_SOCKET"] = str(tmp_path / "notify")
    bot = start_bot(tmp_path, env)
    try:
        await dingtalk.wait_connected(timeout=30)
        assert await asyncio.to_thread(systemd.recv, 100) == b"READY=1"
        assert (tmp_path / "run" / "bot.pid").read_text().strip() == str(bot.pid)
        dingtalk.delay = 0.4  # the town's replies go one after another, slowly
        await town_asks(dingtalk, 8)
        await wait_until(lambda: len(dingtalk.sent_to_conversation(TOWN_CID)) >= 2)
        code, took = await asyncio.to_thread(stop_bot, bot)
    finally:
        if bot.poll() is None:
            bot.kill()
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert code == 0, log
    assert systemd.recv(100) == b"STOPPING=1"
    systemd.close()
    del env["NOTIFY_SOCKET"]
    assert took < 5, log
    assert "stopped" in log
    assert not (tmp_path / "run" / "bot.pid").exists()
    assert query(db, "select count(*) from items") == [(8,)]
    assert query(db, "select count(*) from inbox where processed_at is null") == [(0,)]
    pending = query(db, "select next_attempt_at from outbox where state = 'pending'")
    assert pending, "SIGTERM came after everything was sent"
    # given back: due now, not leased for a minute
    soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=10)
    assert all(dt.datetime.fromisoformat(when) < soon for (when,) in pending)
    sent_before = len(dingtalk.sent)

    dingtalk.delay = 0.0
    started = time.monotonic()
    bot = start_bot(tmp_path, env)
    try:
        await wait_until(
            lambda: query(db, "select count(*) from outbox where state = 'pending'") == [(0,)],
            timeout=30,
        )
        # well within the sender's 60 s lease: the rows were given back
        assert time.monotonic() - started < 20
    finally:
        code, _ = await asyncio.to_thread(stop_bot, bot)
    assert code == 0
    assert len(dingtalk.sent) > sent_before
    town = [m.text for m in dingtalk.sent_to_conversation(TOWN_CID)]
    assert len(town) == 8 and len(set(town)) == 8  # each reply once: none lost, none twice
    assert len(dingtalk.sent) == query(db, "select count(*) from outbox where state = 'sent'")[0][0]


BROKEN = '[[people]]\nid = "u-x"\nname = \n'


async def test_reload_keeps_the_roster_when_the_new_one_is_broken(
    dingtalk: SlowDingTalk, tmp_path: Path
) -> None:
    org = tmp_path / "org.toml"
    original = EXAMPLE.read_text(encoding="utf-8")
    org.write_text(original, encoding="utf-8")
    env = signals_env(tmp_path, dingtalk.endpoint, org)
    newcomer = "u-newcomer"

    async def ask(n: int) -> str:
        before = len(dingtalk.sent_to_user(newcomer))
        await dingtalk.push_bot_message(
            "帮助",
            sender_staff_id=newcomer,
            sender_nick="新人",
            conversation_type="1",
            conversation_id="cid-1to1-newcomer",
            msg_id=f"newcomer-{n}",
        )
        await wait_until(lambda: len(dingtalk.sent_to_user(newcomer)) > before)
        return dingtalk.sent_to_user(newcomer)[-1].text

    def reload_cli() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "reload"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    bot = start_bot(tmp_path, env)
    try:
        await dingtalk.wait_connected(timeout=30)
        assert await ask(1) == texts.NOT_IN_ROSTER

        # a broken roster: the command refuses it and signals nothing
        org.write_text(BROKEN, encoding="utf-8")
        refused = await asyncio.to_thread(reload_cli)
        assert refused.returncode == 1
        assert "BOT_ORG_FILE" in refused.stderr and str(org) in refused.stderr
        # SIGHUP (systemctl reload) with the broken file: the bot keeps its roster
        bot.send_signal(signal.SIGHUP)
        log = tmp_path / "bot.log"
        await wait_until(lambda: "reload refused" in log.read_text(encoding="utf-8"))
        refusals = [
            line for line in log.read_text(encoding="utf-8").splitlines() if "reload" in line
        ]
        assert len(refusals) == 1 and "ERROR" in refusals[0], refusals
        assert f"BOT_ORG_FILE {org}" in refusals[0]
        assert await ask(2) == texts.NOT_IN_ROSTER  # answered as before
        assert bot.poll() is None

        # a good roster with the newcomer
        person = f'\n[[people]]\nid = "{newcomer}"\nname = "新人"\n'
        org.write_text(original + person, encoding="utf-8")
        done = await asyncio.to_thread(reload_cli)
        assert done.returncode == 0, done.stderr
        assert f"pid {bot.pid}" in done.stdout
        await wait_until(lambda: "reload: " in log.read_text(encoding="utf-8"))
        answer = await ask(3)
        assert answer != texts.NOT_IN_ROSTER
    finally:
        code, _ = await asyncio.to_thread(stop_bot, bot)
    assert code == 0, (tmp_path / "bot.log").read_text(encoding="utf-8")
    # no bot: the command says so
    gone = await asyncio.to_thread(reload_cli)
    assert gone.returncode == 1 and "no running bot" in gone.stderr


async def test_a_stop_while_a_batch_runs_ends_the_processor(
    db: Database, roster: Roster, cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: a stop that came while the processor was in a batch had its wake-up
    cleared with the batch's, and the processor waited on until the stop's grace ran out
    (10 s a SIGTERM)."""
    app = App(roster, cal, db, transport=None, timed=False)  # type: ignore[arg-type]
    await app.start()
    app.wake()
    await asyncio.sleep(0)  # the processor is woken: in its batch (lingering for more)
    await app.stop(grace=2.0)
    assert not [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
