"""Backups of the database: ``python -m bot db backup DIR``, ``python -m bot db restore FILE``
and the daily backup job (BOT_BACKUP_DIR, BOT_BACKUP_KEEP, BOT_BACKUP_AT).

SQLite: the online backup API (a consistent copy while the bot runs) into
``DIR/bot-<UTC time>.db``. PostgreSQL: ``pg_dump -Fc`` into ``DIR/bot-<UTC time>.dump``. A
restore checks the backup's schema revision against the code's before it replaces anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import logging
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.control import running_pid
from bot.startup import one_line

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
STAMP = "%Y%m%dT%H%M%SZ"
# what this module writes, nothing else: bot-<UTC time>[-N].db|dump
NAME = re.compile(r"^bot-(\d{8}T\d{6}Z)(?:-(\d+))?\.(db|dump)$")
SQLITE_HEADER = b"SQLite format 3\x00"
README = "see README, Backups"


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why (never a password)."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _parse(url: str) -> tuple[URL, str]:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise BackupError("DATABASE_URL is not a database URL") from None
    backend = "postgresql" if parsed.drivername == "postgres" else parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"DATABASE_URL: cannot back up a {backend!r} database")
    return parsed, backend


def _shown(parsed: URL) -> str:
    return parsed.render_as_string(hide_password=True)


def backup_name(now: dt.datetime, suffix: str) -> str:
    return f"bot-{now.astimezone(dt.UTC).strftime(STAMP)}.{suffix}"


def backup(url: str, directory: Path, now: dt.datetime | None = None) -> Path:
    """Back up the database at ``url`` into ``directory`` (made if missing); the file."""
    parsed, backend = _parse(url)
    now = now or _utc_now()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot make the folder {directory}: {exc.strerror or exc}") from None
    if backend == "sqlite":
        target = _free(directory / backup_name(now, "db"))
        _sqlite_backup(Path(parsed.database or ""), target, _shown(parsed))
    else:
        target = _free(directory / backup_name(now, "dump"))
        _pg_dump(parsed, target)
    return target


def _free(target: Path) -> Path:
    """``target``, or when a file has that name already (two backups in one second), the
    same name with -2, -3, ... before its suffix: nothing is overwritten."""
    found, number = target, 1
    while found.exists():
        number += 1
        found = target.with_name(f"{target.stem}-{number}{target.suffix}")
    return found


def _sqlite_backup(source: Path, target: Path, shown: str) -> None:
    """A consistent copy of ``source`` while others write (the backup API reads it in one
    transaction), written beside ``target`` and renamed when complete."""
    if not source.is_file():
        raise BackupError(f"DATABASE_URL {shown}: {source} does not exist")
    part = target.with_name(target.name + ".part")
    try:
        _copy_sqlite(source, part)
        os.replace(part, target)
    except (sqlite3.Error, OSError) as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        raise BackupError(f"backing up {source} into {target}: {exc}") from None


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy with the backup API, then check the copy and sync it to disk."""
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    src = sqlite3.connect(source, timeout=60)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            (check,) = dst.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(f"the copy fails its check: {check}")
        finally:
            dst.close()
    finally:
        src.close()
    with target.open("rb") as written:
        os.fsync(written.fileno())


def _libpq(parsed: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it."""
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client of the server's major "
            f"version (e.g. apt-get install postgresql-client), or run it by hand ({README})"
        )
    return path


def _run_pg(tool: str, args: list[str], parsed: URL, stdin: str | None = None) -> str:
    """Run a PostgreSQL client on the database; its output. The password goes in the
    environment, never on the command line nor in a message."""
    path = _tool(tool)
    dsn, env = _libpq(parsed)
    done = subprocess.run(
        [path, *args, f"--dbname={dsn}"],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        secret = str(parsed.password) if parsed.password else None
        reason = one_line(done.stderr or f"exit status {done.returncode}", secret)
        raise BackupError(f"{tool} for DATABASE_URL {_shown(parsed)} failed: {reason}")
    return done.stdout


def _pg_dump(parsed: URL, target: Path) -> None:
    part = target.with_name(target.name + ".part")
    try:
        _run_pg("pg_dump", ["--format=custom", "--no-owner", f"--file={part}"], parsed)
        os.replace(part, target)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()


# --- restore -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    target: str  # the database restored into
    revision: str  # the backup's revision
    migrated_to: str | None  # the code's head, when the backup was older
    kept: Path | None  # the database as it was before, SQLite


def check_revision(revision: str | None, what: str) -> bool:
    """True when ``revision`` is the code's head, False when older (to migrate after);
    BackupError when absent, unknown or newer."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from storage.migrate import MIGRATIONS, VERSIONS, head

    latest = head()
    if not revision:
        raise BackupError(f"{what} has no schema revision (alembic_version): not a bot database")
    if revision == latest:
        return True
    script = ScriptDirectory(str(MIGRATIONS), version_locations=[str(VERSIONS)])
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"{what} is at revision {revision}, newer than this code's {latest} (or unknown): "
            f"restore it with the version of the bot that made it"
        )
    return False


def sqlite_revision(path: Path) -> str | None:
    """The alembic revision of the SQLite file ``path``, read without changing it."""
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    if header != SQLITE_HEADER:
        raise BackupError(f"{path} is not an SQLite database")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
    return str(row[0]) if row else None


def restore(url: str, file: Path, pid_file: Path) -> Restored:
    """Replace the database at ``url`` by the backup ``file`` once its revision is checked;
    an older backup is migrated to the code's head after. Refused while a bot runs."""
    parsed, backend = _parse(url)
    if not file.is_file():
        raise BackupError(f"{file} does not exist")
    pid = running_pid(pid_file)
    if pid is not None:
        raise BackupError(
            f"a bot is running (pid {pid}, BOT_PID_FILE {pid_file}): stop it before restoring"
        )
    if backend == "sqlite":
        return _restore_sqlite(parsed, file)
    return _restore_pg(parsed, file, _utc_now())


def _restore_sqlite(parsed: URL, file: Path) -> Restored:
    """Copy the backup beside the database (the backup API reads a WAL file too), check
    the copy's revision, keep the database as it was, then rename the copy over it."""
    sqlite_revision(file)  # an SQLite file at all, before copying anything
    target = Path(parsed.database or "")
    if target.resolve() == file.resolve():
        raise BackupError(f"{file} is the database itself")
    part = target.with_name(target.name + ".restore-part")
    kept: Path | None = None
    try:
        with _sqlite_unused(target):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                _copy_sqlite(file, part)
            except (sqlite3.Error, OSError) as exc:
                raise BackupError(f"cannot copy {file}: {exc}") from None
            revision = sqlite_revision(part)
            current = check_revision(revision, str(file))
            assert revision is not None
            try:
                if target.exists():
                    kept = target.with_name(target.name + ".before-restore")
                    _copy_sqlite(target, kept)
                    _checkpoint(target)
                os.replace(part, target)
            except (sqlite3.Error, OSError) as exc:
                raise BackupError(f"restoring {file} into {target}: {exc}") from None
            for extra in ("-wal", "-shm"):  # the old file's: emptied by the checkpoint
                with contextlib.suppress(FileNotFoundError):
                    target.with_name(target.name + extra).unlink()
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
    migrated = None if current else _migrate(parsed.render_as_string(hide_password=False))
    return Restored(str(target), revision, migrated, kept)


@contextlib.contextmanager
def _sqlite_unused(target: Path) -> Any:
    """Hold the bot's lock on the SQLite file (coord's storage.leader.lock_sqlite, when it
    exists) while the file is replaced: a bot starting meanwhile is refused."""
    try:
        leader: Any = importlib.import_module("storage.leader")
    except ImportError:
        leader = None
    lock = getattr(leader, "lock_sqlite", None)
    if lock is None or not target.exists():
        yield
        return
    from config.settings import SettingsError

    try:
        handle = lock(target.resolve())
    except SettingsError as exc:
        raise BackupError(f"{target} is in use: {exc}") from None
    try:
        yield
    finally:
        for name in ("release", "close"):
            release = getattr(handle, name, None)
            if callable(release):
                release()
                break


def _checkpoint(path: Path) -> None:
    """Move the WAL's pages into the file and empty the WAL (nobody else has it open)."""
    conn = sqlite3.connect(path, timeout=1)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        raise BackupError(f"{path} is in use ({exc}): stop the bot before restoring") from None
    finally:
        conn.close()


def _migrate(url: str) -> str:
    from storage.db import Database

    db = Database(url)
    try:
        return db.migrate()
    finally:
        db.dispose()


def _restore_script(file: Path, args: list[str]) -> str:
    """``pg_restore`` of ``file`` as an SQL script (no database needed)."""
    done = subprocess.run(
        [_tool("pg_restore"), *args, "--file=-", str(file)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"{file} is not a pg_dump -Fc file: {one_line(done.stderr)}")
    return done.stdout


def dump_revision(file: Path) -> str | None:
    """The alembic revision inside a ``pg_dump -Fc`` file."""
    script = _restore_script(file, ["--data-only", "--table=alembic_version"])
    lines = iter(script.splitlines())
    for line in lines:
        if line.startswith("COPY ") and "alembic_version" in line:
            value = next(lines, "\\.").strip()
            return None if value == "\\." else value
    return None


def _refuse_leader(parsed: URL) -> None:
    """Refuse while an instance leads on the database (coord's lease connection is named
    ``dubanbot lease <pid>``), wherever it runs."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    engine = create_engine(parsed.set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT application_name, coalesce(host(client_addr), 'local') "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name LIKE 'dubanbot lease %'"
                )
            ).first()
    except DBAPIError as exc:
        secret = str(parsed.password) if parsed.password else None
        reason = one_line(str(exc.orig or exc), secret)
        raise BackupError(f"DATABASE_URL {_shown(parsed)}: cannot connect: {reason}") from None
    finally:
        engine.dispose()
    if found is not None:
        raise BackupError(
            f"a bot is running on DATABASE_URL {_shown(parsed)} ({found[0]} from {found[1]}): "
            f"stop every instance before restoring"
        )


def _restore_pg(parsed: URL, file: Path, now: dt.datetime) -> Restored:
    """Check the dump's revision, dump the database as it is beside the backup, then, in
    one transaction (psql), drop every table of the bot and make them again from the dump;
    an older dump is migrated after."""
    from storage.models import Base

    _refuse_leader(parsed)
    revision = dump_revision(file)
    current = check_revision(revision, str(file))
    assert revision is not None
    script = _restore_script(file, ["--clean", "--if-exists", "--no-owner", "--no-privileges"])
    kept = _free(file.parent / f"before-restore-{now.astimezone(dt.UTC).strftime(STAMP)}.dump")
    _tool("psql")
    _pg_dump(parsed, kept)
    tables = [*Base.metadata.tables, "alembic_version"]
    drop = "DROP TABLE IF EXISTS " + ", ".join(f'"{t}"' for t in tables) + " CASCADE;\n"
    _run_pg(
        "psql",
        ["--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1"],
        parsed,
        stdin=drop + script,
    )
    migrated = None if current else _migrate(parsed.render_as_string(hide_password=False))
    return Restored(_shown(parsed), revision, migrated, kept)


# --- the daily job -------------------------------------------------------------------------


def prune(directory: Path, keep_days: int, now: dt.datetime) -> list[Path]:
    """Delete the backups this module made in ``directory`` more than ``keep_days`` days
    before ``now`` (by the time in their name); the newest one is always kept."""
    found: list[tuple[dt.datetime, int, Path]] = []  # (time in the name, its -N, file)
    for path in directory.iterdir():
        match = NAME.match(path.name)
        if match and path.is_file():
            made = dt.datetime.strptime(match.group(1), STAMP).replace(tzinfo=dt.UTC)
            found.append((made, int(match.group(2) or 1), path))
    found.sort()
    cutoff = now - dt.timedelta(days=keep_days)
    removed = []
    for made, _, path in found[:-1]:
        if made < cutoff:
            path.unlink()
            removed.append(path)
    return removed


@dataclass
class DailyBackup:
    """The daily backup (BOT_BACKUP_DIR, BOT_BACKUP_AT, BOT_BACKUP_KEEP) on the App's
    scheduler, which runs it on the leading instance only."""

    url: str
    directory: Path
    at: dt.time  # local time
    keep_days: int = 14
    clock: Clock = field(default=_utc_now)

    @classmethod
    def from_settings(cls, settings: Any) -> DailyBackup | None:
        if not str(settings.bot_backup_dir).strip():
            return None
        hour, minute = (int(p) for p in settings.bot_backup_at.split(":"))
        return cls(
            settings.database_url,
            Path(settings.bot_backup_dir),
            dt.time(hour, minute),
            settings.bot_backup_keep,
        )

    def trigger(self, tz: dt.tzinfo) -> CronTrigger:
        return CronTrigger(hour=self.at.hour, minute=self.at.minute, timezone=tz)

    def run_once(self) -> Path:
        """Back up, then prune; the new backup's path."""
        now = self.clock()
        made = backup(self.url, self.directory, now)
        for old in prune(self.directory, self.keep_days, now):
            logger.info("backup: removed %s (older than %d days)", old, self.keep_days)
        return made

    async def job(self) -> None:
        """The scheduler's job: an error goes to the log; tomorrow's run stays planned."""
        try:
            made = await asyncio.to_thread(self.run_once)
        except Exception as exc:
            logger.error("backup: failed: %s", exc)
        else:
            logger.info("backup: wrote %s", made)
