"""Start-up errors name the setting: a bad DATABASE_URL or BOT_CLOCK_FILE is one line on
standard error and exit status 2, never a traceback, never the password; DingTalk refusing
the credentials stops the bot naming them, a network failure is retried with a growing
back-off."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.cli import main
from bot.startup import FileClock
from bot.stream import Backoff, CredentialsRejected, StreamRunner
from tests.conftest import EXAMPLE_ROSTER, POSTGRES_URL, postgres_unreachable
from tests.fake_dingtalk import FakeDingTalk

ROOT = Path(__file__).parent.parent
SECRET = "s3cr3t-pw"
COMMANDS = [
    ["db", "current"],
    ["db", "upgrade"],
    ["registry", "export", "out.xlsx"],
    ["stats", "export", "out.xlsx"],
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrong_database_url() -> str:
    parts = urlsplit(POSTGRES_URL)
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or "postgres"
    return urlunsplit(("postgresql", f"{user}:{SECRET}@{host}", "/no_such_db_dubanbot", "", ""))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("BOT_", "DINGTALK_", "DATABASE_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env from the developer's tree
    monkeypatch.setenv("BOT_ORG_FILE", str(EXAMPLE_ROSTER))
    monkeypatch.setenv("BOT_CALENDAR_FILE", str(tmp_path / "calendar.txt"))
    return tmp_path


def bad_urls(tmp: Path) -> dict[str, str]:
    (tmp / "a-file").write_text("", encoding="utf-8")
    (tmp / "a-dir.db").mkdir()
    return {
        "garbage": f"not a url {SECRET}",
        "unknown driver": f"foo://user:{SECRET}@127.0.0.1/db",
        "driver not installed": f"postgresql+asyncpg://user:{SECRET}@127.0.0.1/db",
        "refused port": f"postgresql://user:{SECRET}@127.0.0.1:{free_port()}/db",
        "wrong database": wrong_database_url(),
        "sqlite under a file": f"sqlite:///{tmp}/a-file/bot.db",
        "sqlite file is a directory": f"sqlite:///{tmp}/a-dir.db",
        "sqlite read-only": f"sqlite:///file:{tmp}/ro.db?mode=ro&uri=true",
        "sqlite in memory": "sqlite://",
    }


CASES = [
    "garbage",
    "unknown driver",
    "driver not installed",
    "refused port",
    pytest.param("wrong database", marks=pytest.mark.postgres),
    "sqlite under a file",
    "sqlite file is a directory",
    "sqlite read-only",
    "sqlite in memory",
]
WHAT = {
    "garbage": "not a database URL",
    "unknown driver": "unsupported database 'foo'",
    "driver not installed": "driver 'postgresql+asyncpg' is not available",
    "refused port": "Connection refused",
    "wrong database": 'database "no_such_db_dubanbot" does not exist',
    "sqlite under a file": "cannot create",
    "sqlite file is a directory": "unable to open database file",
    "sqlite read-only": "readonly",
    "sqlite in memory": "in-memory",
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_bad_database_url_is_one_line_naming_it(
    case: str,
    command: list[str],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if case == "wrong database" and (reason := postgres_unreachable()):
        pytest.skip(reason)
    if case == "sqlite read-only":
        import sqlite3

        sqlite3.connect(workdir / "ro.db").close()
    monkeypatch.setenv("DATABASE_URL", bad_urls(workdir)[case])
    code = main(command)
    out, err = capsys.readouterr()
    assert code == 2 and not out
    assert err.count("\n") == 1 and err.startswith("error: DATABASE_URL"), err
    assert WHAT[case] in err, err
    assert SECRET not in err
    assert not (workdir / "out.xlsx").exists()


@pytest.mark.parametrize("setting", ["DATABASE_URL", "BOT_CLOCK_FILE"])
def test_run_with_a_bad_setting_exits_2_in_one_line(tmp_path: Path, setting: str) -> None:
    (tmp_path / "clock.txt").write_text("tomorrow at nine", encoding="utf-8")
    bad = {
        "DATABASE_URL": f"postgresql://user:{SECRET}@127.0.0.1:{free_port()}/db",
        "BOT_CLOCK_FILE": str(tmp_path / "clock.txt"),
    }
    env = clean_env(tmp_path) | {
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        "DINGTALK_CLIENT_ID": "dingx",
        "DINGTALK_CLIENT_SECRET": "y",
        "DINGTALK_OPENAPI_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        setting: bad[setting],
    }
    done = run_bot(tmp_path, env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {setting} "), done.stderr
    assert done.stderr.count("\n") == 1 and SECRET not in done.stderr
    if setting == "DATABASE_URL":
        assert "postgresql://user:***@127.0.0.1:" in done.stderr


def test_sandbox_names_its_db_option(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "a-dir.db").mkdir()
    code = main(["sandbox", "--db", str(workdir / "a-dir.db")])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: --db sqlite:///") and err.count("\n") == 1


# --- BOT_CLOCK_FILE ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"next monday", "is not a time as ISO 8601"),
        (b"2026-11-16T09:30:00", "needs its UTC offset"),
        (b"\xff\xfe2026", "not UTF-8"),
        (None, "cannot read it"),  # a directory
    ],
)
@pytest.mark.parametrize(
    "command", [["stats", "export", "out.xlsx"], ["registry", "import", "in.xlsx"]]
)
def test_bad_clock_file_is_one_line_naming_it(
    content: bytes | None,
    what: str,
    command: list[str],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = workdir / "clock.txt"
    if content is None:
        clock.mkdir()
    else:
        clock.write_bytes(content)
    monkeypatch.setenv("BOT_CLOCK_FILE", str(clock))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{workdir}/bot.db")
    code = main(command)
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: BOT_CLOCK_FILE {clock}: ") and what in err, err


def test_clock_file_gone_bad_while_running_keeps_the_last_good_time(tmp_path: Path) -> None:
    path = tmp_path / "clock.txt"
    clock = FileClock(path)
    assert abs(clock() - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)  # absent: real
    path.write_text("2026-11-16T09:30:00+08:00", encoding="utf-8")
    good = clock()
    assert good == dt.datetime.fromisoformat("2026-11-16T09:30:00+08:00")
    path.write_text("2026-11-16 later", encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a new mtime, whatever the file system's resolution
    assert clock() == good


# --- DingTalk credentials ---------------------------------------------------------------

CLIENT_ID, CLIENT_SECRET = "dingstartup", "startup-secret"


class Recorder:
    """Stands in for asyncio.sleep on the stream's loop: records, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


async def run_stream(
    server: FakeDingTalk, secret: str, sleep: Recorder, *, connected: int = 0
) -> list[Exception]:
    """Start a StreamRunner; return the failures it reported once it connected (``connected``
    > 0) or failed."""
    loop = asyncio.get_running_loop()
    failures: list[Exception] = []
    failed = asyncio.Event()

    def on_failure(exc: Exception) -> None:
        failures.append(exc)
        failed.set()

    async def ingest(payload: dict[str, Any]) -> None:
        return None

    runner = StreamRunner(
        CLIENT_ID,
        secret,
        server.endpoint,
        ingest,
        loop,
        on_failure=on_failure,
        backoff=Backoff(rng=random.Random(8)),
        sleep=sleep,
    )
    runner.start()
    try:
        if connected:
            await server.wait_connected(timeout=10, total=connected)
        else:
            await asyncio.wait_for(failed.wait(), timeout=10)
    finally:
        await asyncio.to_thread(runner.stop)
    return failures


@pytest.mark.parametrize(
    "fault",
    [
        None,  # the local DingTalk's own answer: 400 invalidClientIdOrSecret
        (401, {"code": "authFailed", "message": "鉴权失败"}),  # DingTalk's open call
    ],
)
async def test_wrong_credentials_stop_at_once_naming_them(
    fault: tuple[int, dict[str, str]] | None,
) -> None:
    sleep = Recorder()
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET) as server:
        if fault is not None:
            server.fail_next("/v1.0/gateway/connections/open", *fault)
        secret = CLIENT_SECRET if fault else "wrong-secret"
        failures = await run_stream(server, secret, sleep)
        opens = [r for r in server.requests_log if r.path.endswith("/connections/open")]
    assert len(failures) == 1 and isinstance(failures[0], CredentialsRejected)
    message = str(failures[0])
    assert "DINGTALK_CLIENT_ID" in message and "DINGTALK_CLIENT_SECRET" in message
    assert "\n" not in message
    assert len(opens) == 1 and sleep.delays == []  # not retried


async def test_network_failure_is_retried_with_a_growing_back_off() -> None:
    sleep = Recorder()
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET) as server:
        # DingTalk busy, then a rate limit, then briefly unreachable: all pass
        server.fail_next("/v1.0/gateway/connections/open", 503, times=2)
        server.fail_next(
            "/v1.0/gateway/connections/open",
            403,
            {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"},
        )
        server.fail_next("/v1.0/gateway/connections/open", 400, {"code": "systemError"})
        failures = await run_stream(server, CLIENT_SECRET, sleep, connected=1)
    assert failures == []
    assert len(sleep.delays) == 4
    assert all(b > a for a, b in zip(sleep.delays, sleep.delays[1:], strict=False))
    assert 0.8 <= sleep.delays[0] <= 1.2 and 6.4 <= sleep.delays[3] <= 9.6


async def test_refused_then_back_resets_the_back_off() -> None:
    sleep = Recorder()
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET) as server:
        loop = asyncio.get_running_loop()
        refused = asyncio.Event()

        async def sleeping(delay: float) -> None:  # on the stream's own loop
            await sleep(delay)
            if len(sleep.delays) == 5:  # five failed tries later, DingTalk is back
                await server.accept_connections()
                loop.call_soon_threadsafe(refused.set)

        async def ingest(payload: dict[str, Any]) -> None:
            return None

        runner = StreamRunner(
            CLIENT_ID, CLIENT_SECRET, server.endpoint, ingest, loop, sleep=sleeping
        )
        await server.refuse_connections()
        runner.start()
        try:
            await asyncio.wait_for(refused.wait(), timeout=10)
            await server.wait_connected(timeout=10)
            ping = await server.push_system_ping()
            await server.wait_ack(ping)  # answered: the client is past its handshake
            assert runner.backoff.failures == 0
            assert runner.failure is None
        finally:
            await asyncio.to_thread(runner.stop)
    assert len(sleep.delays) == 5
    assert sleep.delays == sorted(sleep.delays) and sleep.delays[-1] > 10


async def test_run_with_wrong_credentials_exits_2_in_one_line(tmp_path: Path) -> None:
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET) as server:
        env = clean_env(tmp_path) | {
            "DINGTALK_CLIENT_ID": CLIENT_ID,
            "DINGTALK_CLIENT_SECRET": "wrong-secret",
            "DINGTALK_OPENAPI_ENDPOINT": server.endpoint,
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
            "BOT_LOG_LEVEL": "ERROR",
        }
        done = await asyncio.to_thread(run_bot, tmp_path, env, 60)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET" in errors[0]
    assert "Traceback" not in done.stderr


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DINGTALK_", "DATABASE_"))
    }
    return env | {
        "PYTHONPATH": str(ROOT),
        "BOT_ORG_FILE": str(EXAMPLE_ROSTER),
        "BOT_CALENDAR_FILE": str(tmp_path / "calendar.txt"),
    }


def run_bot(tmp_path: Path, env: dict[str, str], timeout: float) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_bad_endpoint_is_named(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DINGTALK_OPENAPI_ENDPOINT", "api.dingtalk.com")
    assert main(["db", "current"]) == 2
    assert "DINGTALK_OPENAPI_ENDPOINT: " in capsys.readouterr().err
