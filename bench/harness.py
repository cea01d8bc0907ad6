"""What the benchmarks share: figures for ``run_all.py``, a scratch PostgreSQL database, the
environment of a ``python -m bot run`` process, and CPU / memory read from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ORG = ROOT / "config" / "examples" / "org.toml"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Figure:
    """One measured figure beside its target. ``lower``: the target is an upper bound
    (value < target passes), else a lower bound (value >= target passes). ``why``: the
    bench's explanation, shown when the target is missed."""

    bench: str
    name: str
    value: float
    unit: str
    target: float | None = None
    lower: bool = True
    detail: str = ""
    why: str = ""

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value < self.target if self.lower else self.value >= self.target


def write_figures(path: str | None, figures: list[Figure]) -> None:
    """Append ``figures`` to the JSON list at ``path`` (``--json``; nothing when None)."""
    if not path:
        return
    target = Path(path)
    old = json.loads(target.read_text()) if target.exists() and target.stat().st_size else []
    target.write_text(json.dumps(old + [asdict(f) for f in figures], ensure_ascii=False, indent=1))


def read_figures(path: Path) -> list[Figure]:
    if not path.exists() or not path.stat().st_size:
        return []
    return [Figure(**f) for f in json.loads(path.read_text())]


# PostgreSQL -----------------------------------------------------------------------------------


def postgres_reachable() -> str | None:
    """None when the server answers, else why not (one line)."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=2):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@contextlib.contextmanager
def scratch_postgres(tag: str) -> Iterator[str]:
    """A database of its own on the PostgreSQL server (dropped after); yields its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bench_{tag}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backend_pids(url: str) -> list[int]:
    """The server processes serving the database at ``url`` (same machine)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        rows = conn.execute(
            "select pid from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return [int(r[0]) for r in rows]


# Bot processes ----------------------------------------------------------------------------------


def bot_env(
    database_url: str, endpoint: str, workdir: Path, client_id: str, secret: str, **extra: str
) -> dict[str, str]:
    """The environment of ``python -m bot run`` against the local DingTalk at ``endpoint``,
    the bot's clock read from ``workdir/clock.txt``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DINGTALK_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DINGTALK_CLIENT_ID=client_id,
        DINGTALK_CLIENT_SECRET=secret,
        DINGTALK_OPENAPI_ENDPOINT=endpoint,
        DINGTALK_OAPI_ENDPOINT=endpoint,
        DATABASE_URL=database_url,
        BOT_ORG_FILE=str(EXAMPLE_ORG),
        BOT_CALENDAR_FILE=str(workdir / "calendar.txt"),
        BOT_CLOCK_FILE=str(workdir / "clock.txt"),
        BOT_FILES_DIR=str(workdir / "files"),
        BOT_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def start_bot(env: dict[str, str], workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=workdir, env=env, stdout=out, stderr=out
        )


def stop_bot(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# /proc -------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` (its threads included); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    return (sum(parts[:8]) - idle) / TICK, sum(parts[:8]) / TICK
