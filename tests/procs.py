"""Several real ``python -m bot run`` processes for the fault tests (tests/test_faults.py).

- :class:`PgProxy`: a TCP proxy to PostgreSQL, on an event loop of its own in a thread, that a
  test cuts (every connection closed at once, new ones refused) and restores.
- :func:`scratch_database`: a PostgreSQL database of the test's own, dropped after.
- :func:`bot_env`, :func:`spawn_bot`: one bot process's environment and its start.
- :class:`Bots`: N bot processes, each in
  a directory of its own with its log file, sharing one clock file; killed (SIGKILL) or
  stopped (SIGTERM) one by one.
- Helpers on the :class:`FakeDingTalk` (``spread=True``: frames dealt to each open stream
  connection in turn): wait for N connections, push many town @件 until each is ACKed (a frame
  that gets no ACK or a NACK is pushed again, with the same msgId, as DingTalk redelivers),
  count what it recorded as sent, read the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.fake_dingtalk import FakeDingTalk

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config" / "examples" / "org.toml"
CLIENT_ID, CLIENT_SECRET = "dingfaults", "faults-secret"
TOWN_CID = "cid-town-chuansha"
OFFICE_CID = "cid-office"
START = "2026-11-16T09:30:00+08:00"  # a Monday, in office hours


def bot_env(
    home: Path,
    endpoint: str,
    database_url: str,
    client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
    **settings: str,
) -> dict[str, str]:
    """The environment of a ``python -m bot run`` child against the local DingTalk at
    ``endpoint``: this process's without any BOT_* or DINGTALK_*, the example roster, the
    calendar file in ``home``, then ``settings`` by their variable names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DINGTALK_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DINGTALK_CLIENT_ID=client[0],
        DINGTALK_CLIENT_SECRET=client[1],
        DINGTALK_OPENAPI_ENDPOINT=endpoint,
        DATABASE_URL=database_url,
        BOT_ORG_FILE=str(EXAMPLE),
        BOT_CALENDAR_FILE=str(home / "calendar.txt"),
    )
    env.update(settings)
    return env


async def town_asks(dingtalk: FakeDingTalk, count: int, timeout: float = 10) -> None:
    """The town's group @s the bot ``count`` times (第1件咨询, ...; msgId town-msg-0, ...), each
    pushed once its predecessor was acknowledged."""
    for n in range(count):
        message_id = await dingtalk.push_bot_message(
            f"第{n + 1}件咨询",
            sender_staff_id=None,
            sender_nick="李娜",
            conversation_id=TOWN_CID,
            msg_id=f"town-msg-{n}",
        )
        await dingtalk.wait_ack(message_id, timeout=timeout)


def spawn_bot(cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m bot run`` in ``cwd`` with ``env``, its output appended to ``log``."""
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=cwd, env=env, stdout=out, stderr=out
        )


_names = itertools.count()


# --- PostgreSQL: a database of our own, reached through a proxy we can cut ------------------


@contextlib.contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new database on the server of ``server_url``; yields its URL, drops it after."""
    name = f"faults_{os.getpid()}_{next(_names)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def via(url: str, port: int) -> str:
    """``url`` with its port replaced (to go through the proxy)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    netloc[-1] = host
    return urlunsplit((parts.scheme, "@".join(netloc), parts.path, parts.query, ""))


def truncate_all(url: str) -> None:
    """Empty every table but alembic's (between runs, with no bot running)."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "select tablename from pg_tables where schemaname = 'public'"
                " and tablename <> 'alembic_version'"
            )
        ]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


class PgProxy:
    """A TCP proxy from 127.0.0.1:<port> to PostgreSQL, which a test can cut and restore."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.target = (host, port)
        self.port = 0
        self.accepted = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> int:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="pg-proxy", daemon=True)
        self._thread.start()
        ready.wait()
        self._call(self._listen())
        return self.port

    def cut(self) -> None:
        """Close every connection at once (a reset, no goodbye) and refuse new ones."""
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def stop(self) -> None:
        if self._loop is None:
            return
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._serve, sock=sock)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer, up_writer}
        self._writers |= pair

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.transport.abort() if dst in self._writers else dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            for w in pair:
                self._writers.discard(w)
                w.transport.abort()


# --- the bot processes ------------------------------------------------------------------------


@dataclass
class Bots:
    """N ``python -m bot run`` processes on ``database_url`` against ``endpoint``."""

    root: Path
    endpoint: str
    database_url: str
    count: int = 2
    env_extra: dict[str, str] = field(default_factory=dict)
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: int = 0

    def __post_init__(self) -> None:
        clock = self.root / "clock.txt"
        if not clock.exists():
            clock.write_text(START, encoding="utf-8")

    def env(self) -> dict[str, str]:
        return bot_env(
            self.root,
            self.endpoint,
            self.database_url,
            BOT_CLOCK_FILE=str(self.root / "clock.txt"),
            BOT_SWEEP_SECONDS="0.5",
            BOT_LOG_LEVEL="WARNING",
            **self.env_extra,
        )

    def log_path(self, index: int) -> Path:
        return self.root / f"bot{index}" / "bot.log"

    def start(self, index: int) -> subprocess.Popen[bytes]:
        home = self.root / f"bot{index}"
        home.mkdir(exist_ok=True)
        proc = spawn_bot(home, self.env(), self.log_path(index))
        self.procs[index] = proc
        return proc

    def start_all(self) -> None:
        for index in range(self.count):
            self.start(index)

    def alive(self, index: int) -> bool:
        proc = self.procs.get(index)
        return proc is not None and proc.poll() is None

    def kill(self, index: int) -> None:
        proc = self.procs.get(index)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            self.kills += 1

    def stop(self, index: int, timeout: float = 30) -> int | None:
        """SIGTERM; the exit code (None: it was not running)."""
        proc = self.procs.get(index)
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                raise
        return proc.returncode

    def stop_all(self) -> dict[int, int | None]:
        return {index: self.stop(index) for index in list(self.procs)}

    def kill_all(self) -> None:
        for index in list(self.procs):
            self.kill(index)

    def logs(self) -> str:
        return "\n".join(
            f"--- bot{i} ---\n" + self.log_path(i).read_text(encoding="utf-8", errors="replace")
            for i in sorted(self.procs)
            if self.log_path(i).exists()
        )


# --- the fake DingTalk's side -------------------------------------------------------------------


async def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` (another process's state: no event crosses the boundary)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.05)


def live_connections(dingtalk: FakeDingTalk) -> int:
    """Open stream connections, but those ``go_silent`` silenced."""
    with dingtalk.recorder.lock:
        return sum(1 for c in dingtalk.gateway.conns if not c.silent)


async def wait_connections(dingtalk: FakeDingTalk, n: int, timeout: float = 60) -> None:
    """Until ``n`` live stream connections are open at once."""
    await wait_for(lambda: live_connections(dingtalk) >= n, timeout, f"{n} stream connections")


def town_text(tag: str, i: int) -> str:
    return f"{tag}-{i:04d} 请问工地扬尘管控有哪些新要求？"


def town_msg_id(tag: str, i: int) -> str:
    return f"{tag}-{i}"


@dataclass
class PushStats:
    pushes: int = 0  # frames pushed, redeliveries included
    nacks: int = 0  # ACKs with a status other than 200
    unanswered: int = 0  # pushes that got no ACK in time (connection killed, say)


async def push_town(
    dingtalk: FakeDingTalk,
    tag: str,
    indexes: range,
    *,
    concurrency: int = 20,
    ack_timeout: float = 3.0,
    deadline: float = 120.0,
    stats: PushStats | None = None,
) -> PushStats:
    """Push town @件 ``indexes`` (msgId ``<tag>-<i>``) until each is ACKed with 200: a frame
    NACKed or not ACKed within ``ack_timeout`` is pushed again with the same msgId and
    messageId, as DingTalk redelivers."""
    stats = stats or PushStats()
    gate = asyncio.Semaphore(concurrency)
    give_up = time.monotonic() + deadline

    async def one(i: int) -> None:
        async with gate:
            message_id = f"frame-{tag}-{i}"
            while True:
                if time.monotonic() > give_up:
                    raise TimeoutError(f"@件 {tag}-{i} never ACKed")
                stats.pushes += 1
                try:
                    await dingtalk.push_bot_message(
                        town_text(tag, i),
                        sender_staff_id=None,
                        sender_nick="川沙小王",
                        conversation_id=TOWN_CID,
                        conversation_title="川沙新镇督办群",
                        msg_id=town_msg_id(tag, i),
                        message_id=message_id,
                        timeout=30,
                    )
                    ack = await dingtalk.wait_ack(message_id, timeout=ack_timeout)
                except (TimeoutError, ConnectionError, RuntimeError):
                    stats.unanswered += 1
                    await asyncio.sleep(0.2)
                    continue
                if ack.get("code") == 200:
                    return
                stats.nacks += 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(i) for i in indexes))
    return stats


NUMBER = re.compile(r"#(\d+)[ ，。]")


def office_numbers(dingtalk: FakeDingTalk) -> Counter[int]:
    """How many times each item number was announced to the office group (alone or in a
    burst digest)."""
    found: Counter[int] = Counter()
    for message in dingtalk.sent:
        if message.channel == "group" and message.target == OFFICE_CID:
            for line in message.text.splitlines():
                if "川沙新镇" in line:  # a notice, or a digest's line: "1. #86 川沙新镇·…"
                    found.update(int(n) for n in NUMBER.findall(line)[:1])
    return found


def town_acks(dingtalk: FakeDingTalk) -> Counter[int]:
    """How many times the town was told each item's number (已收到，编号#N)."""
    found: Counter[int] = Counter()
    for message in dingtalk.sent:
        if message.target == TOWN_CID and "已收到" in message.text:
            found.update(int(n) for n in re.findall(r"编号#(\d+)", message.text))
    return found


def sent_texts(dingtalk: FakeDingTalk) -> Counter[tuple[str, str]]:
    """Every message sent, counted by (chat, text)."""
    return Counter((str(m.target), m.text) for m in dingtalk.sent)


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``?`` placeholders) on a PostgreSQL or SQLite ``url``."""
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)) as db:
            return db.execute(sql, params).fetchall()
    with psycopg.connect(url, connect_timeout=5) as conn:
        return [tuple(row) for row in conn.execute(sql.replace("?", "%s"), params).fetchall()]


def items_by_msg(url: str, tag: str) -> dict[str, int]:
    """source msgId -> item number, for the @件 of ``tag``."""
    rows = query(
        url, "select source_msg_id, id from items where source_msg_id like ?", (f"{tag}-%",)
    )
    return {str(msg): int(number) for msg, number in rows}


def settled(url: str) -> bool:
    """Every inbox row processed and nothing left to send."""
    inbox = query(url, "select count(*) from inbox where processed_at is null")
    outbox = query(url, "select count(*) from outbox where state = 'pending'")
    return inbox[0][0] == 0 and outbox[0][0] == 0


def outbox_states(url: str) -> Counter[str]:
    return Counter(
        {str(s): int(n) for s, n in query(url, "select state, count(*) from outbox group by 1")}
    )
