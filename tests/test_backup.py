"""Backups: the SQLite online backup while the database is written, the restore's revision
checks and its round trip, pruning by the time in the name, the daily job on the scheduler,
and pg_dump / pg_restore on the local PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import create_engine, text

from bot import cli
from bot.app import App
from bot.backup import (
    BackupError,
    DailyBackup,
    backup,
    backup_name,
    prune,
    restore,
    sqlite_revision,
)
from config.roster import Roster
from config.settings import load_settings
from handlers.workcal import WorkCalendar
from storage import migrate
from storage.db import Database
from tests.conftest import POSTGRES_URL, postgres_unreachable
from tests.test_schedule import Transport

HEAD = migrate.head()
NOW = dt.datetime(2026, 11, 30, 18, 30, tzinfo=dt.UTC)


def make_db(path: Path, revision: str = "head") -> str:
    url = f"sqlite:///{path}"
    db = Database(url)
    try:
        migrate.upgrade(db.engine, revision)
    finally:
        db.dispose()
    return url


def write_marker(path: Path, value: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS marker (value TEXT)")
        conn.execute("DELETE FROM marker")
        conn.execute("INSERT INTO marker VALUES (?)", (value,))


def read_marker(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT value FROM marker").fetchone()[0])


def test_a_sqlite_backup_while_the_database_is_written_is_consistent(tmp_path: Path) -> None:
    url = make_db(tmp_path / "bot.db")
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        conn.execute("CREATE TABLE counter (n INTEGER)")
        conn.execute("CREATE TABLE log (n INTEGER)")
        conn.execute("INSERT INTO counter VALUES (0)")
    stop = threading.Event()

    def writer() -> None:  # each transaction: one log row and the counter, together
        conn = sqlite3.connect(tmp_path / "bot.db", timeout=30, isolation_level=None)
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO log VALUES (?)", (n,))
            conn.execute("UPDATE counter SET n = ?", (n,))
            conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        made = [backup(url, tmp_path / "backups", NOW + dt.timedelta(seconds=i)) for i in range(3)]
    finally:
        stop.set()
        thread.join()
    for path in made:
        assert path.name.startswith("bot-20261130T1830") and path.suffix == ".db"
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            (count,) = conn.execute("SELECT count(*) FROM log").fetchone()
            (counter,) = conn.execute("SELECT n FROM counter").fetchone()
        assert count == counter  # one moment, not half a transaction
        assert sqlite_revision(path) == HEAD
    assert not list((tmp_path / "backups").glob("*.part"))


def test_a_backup_never_overwrites_one(tmp_path: Path) -> None:
    """Two backups in one second (the daily job and a hand-made one) are two files, and the
    second is pruned as the first is."""
    url = make_db(tmp_path / "bot.db")
    first = backup(url, tmp_path / "b", NOW)
    second = backup(url, tmp_path / "b", NOW)
    assert (first.name, second.name) == ("bot-20261130T183000Z.db", "bot-20261130T183000Z-2.db")
    assert prune(tmp_path / "b", 1, NOW + dt.timedelta(days=3)) == [first]


def test_restore_round_trip_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "bot.db"
    url = make_db(target)
    write_marker(target, "as backed up")
    saved = backup(url, tmp_path / "backups", NOW)
    write_marker(target, "changed after")
    # the bot's engine leaves a WAL behind while it runs; it must not outlive the restore
    done = restore(url, saved, tmp_path / "bot.pid")
    assert done.revision == HEAD and done.migrated_to is None
    assert read_marker(target) == "as backed up"
    assert done.kept == tmp_path / "bot.db.before-restore"
    assert read_marker(done.kept) == "changed after"
    assert sqlite_revision(target) == HEAD
    assert not list(tmp_path.glob("*.restore-part"))
    db = Database(url)  # the bot opens it as usual
    try:
        assert db.migrate() == HEAD
    finally:
        db.dispose()


def test_restore_onto_a_new_machine(tmp_path: Path) -> None:
    source = tmp_path / "old" / "bot.db"
    source.parent.mkdir()
    url = make_db(source)
    write_marker(source, "moved")
    saved = backup(url, tmp_path / "backups", NOW)
    target = tmp_path / "new" / "data" / "bot.db"
    done = restore(f"sqlite:///{target}", saved, tmp_path / "bot.pid")
    assert done.kept is None and read_marker(target) == "moved"


def test_restore_of_an_older_backup_migrates_it(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    make_db(old, "0017")
    assert sqlite_revision(old) == "0017"
    url = make_db(tmp_path / "bot.db")
    done = restore(url, old, tmp_path / "bot.pid")
    assert (done.revision, done.migrated_to) == ("0017", HEAD)
    assert sqlite_revision(tmp_path / "bot.db") == HEAD
    assert sqlite_revision(old) == "0017"  # the backup itself is untouched


@pytest.mark.parametrize(
    ("revision", "problem"),
    [("9999", "newer than this code's"), (None, "no schema revision")],
)
def test_restore_refuses_a_newer_or_unversioned_backup(
    tmp_path: Path, revision: str | None, problem: str
) -> None:
    target = tmp_path / "bot.db"
    url = make_db(target)
    write_marker(target, "untouched")
    other = tmp_path / "other.db"
    make_db(other)
    with sqlite3.connect(other) as conn:
        if revision is None:
            conn.execute("DROP TABLE alembic_version")
        else:
            conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    with pytest.raises(BackupError, match=problem):
        restore(url, other, tmp_path / "bot.pid")
    assert read_marker(target) == "untouched"
    assert not (tmp_path / "bot.db.before-restore").exists()


def test_restore_refuses_what_is_not_sqlite(tmp_path: Path) -> None:
    url = make_db(tmp_path / "bot.db")
    junk = tmp_path / "notes.db"
    junk.write_text("not a database", encoding="utf-8")
    with pytest.raises(BackupError, match="not an SQLite database"):
        restore(url, junk, tmp_path / "bot.pid")
    with pytest.raises(BackupError, match="does not exist"):
        restore(url, tmp_path / "missing.db", tmp_path / "bot.pid")


def test_restore_refuses_while_a_bot_runs(tmp_path: Path, fake_bot: int) -> None:
    url = make_db(tmp_path / "bot.db")
    saved = backup(url, tmp_path / "backups", NOW)
    pid_file = tmp_path / "bot.pid"
    pid_file.write_text(f"{fake_bot}\n", encoding="ascii")
    with pytest.raises(BackupError, match=r"a bot is running \(pid"):
        restore(url, saved, pid_file)
    assert not (tmp_path / "bot.db.before-restore").exists()
    pid_file.write_text(f"{os.getppid()}\n", encoding="ascii")  # stale: another program's
    restore(url, saved, pid_file)
    pid_file.write_text("999999999\n", encoding="ascii")  # stale: gone
    restore(url, saved, pid_file)


def test_restore_refuses_while_a_bot_holds_the_sqlite_lock(tmp_path: Path) -> None:
    leader = pytest.importorskip("storage.leader")  # coord's lock, once merged
    target = tmp_path / "bot.db"
    url = make_db(target)
    saved = backup(url, tmp_path / "backups", NOW)
    handle = leader.lock_sqlite(target.resolve())  # as a running bot holds it
    try:
        with pytest.raises(BackupError, match=r"is in use: .*another bot process"):
            restore(url, saved, tmp_path / "bot.pid")
    finally:
        handle.close()
    restore(url, saved, tmp_path / "bot.pid")


def touch(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(b"")
    return path


def test_prune_removes_only_old_backups_it_made(tmp_path: Path) -> None:
    fresh = [touch(tmp_path, backup_name(NOW - dt.timedelta(days=d), "db")) for d in (0, 13)]
    old = [touch(tmp_path, backup_name(NOW - dt.timedelta(days=d), "dump")) for d in (15, 40)]
    others = [
        touch(tmp_path, "bot-20200101T000000Z.db.part"),
        touch(tmp_path, "my-20200101T000000Z.db"),
        touch(tmp_path, "bot.db"),
    ]
    assert sorted(prune(tmp_path, 14, NOW)) == sorted(old)
    assert sorted(tmp_path.iterdir()) == sorted(fresh + others)
    # the newest backup stays, however old
    for path in fresh[:1]:
        path.unlink()
    assert prune(tmp_path, 1, NOW + dt.timedelta(days=100)) == []


def test_the_daily_job_backs_up_and_prunes_on_its_clock(tmp_path: Path) -> None:
    url = make_db(tmp_path / "bot.db")
    now = [NOW]
    job = DailyBackup(url, tmp_path / "backups", dt.time(2, 30), 14, clock=lambda: now[0])
    made = []
    for _day in range(20):
        made.append(job.run_once())
        now[0] += dt.timedelta(days=1)
    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert kept == sorted(p.name for p in made[-15:])  # 14 days back from the last run
    assert made[-1].name == backup_name(NOW + dt.timedelta(days=19), "db")


def test_settings_make_the_daily_job(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BOT_BACKUP_DIR", "BOT_BACKUP_KEEP", "BOT_BACKUP_AT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert DailyBackup.from_settings(load_settings()) is None
    settings = load_settings(bot_backup_dir="backups", bot_backup_at="03:05", bot_backup_keep=7)
    job = DailyBackup.from_settings(settings)
    assert job is not None
    assert (job.directory, job.at, job.keep_days) == (Path("backups"), dt.time(3, 5), 7)
    with pytest.raises(ValueError, match="BOT_BACKUP_AT"):
        load_settings(bot_backup_at="25:00")


async def test_the_job_runs_at_bot_backup_at_local_time(
    tmp_path: Path, roster: Roster, cal: WorkCalendar
) -> None:
    url = make_db(tmp_path / "bot.db")
    db = Database(url)
    job = DailyBackup(url, tmp_path / "backups", dt.time(2, 30))
    app = App(roster, cal, db, Transport(), timed=False, backup=job)
    await app.start()
    try:
        scheduler = app._scheduler
        assert scheduler is not None
        planned = scheduler.get_job("backup")
        assert planned is not None
        when = planned.next_run_time.astimezone(ZoneInfo("Asia/Shanghai"))
        assert (when.hour, when.minute, when.second) == (2, 30, 0)
        assert when - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)
        await job.job()  # what the scheduler calls
        assert len(list((tmp_path / "backups").glob("bot-*.db"))) == 1
    finally:
        await app.stop()
        db.dispose()


def test_cli_backup_and_restore(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bot.db"
    url = make_db(target)
    write_marker(target, "one")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOT_PID_FILE", str(tmp_path / "bot.pid"))
    assert cli.main(["db", "backup", "backups"]) == 0
    saved = Path(capsys.readouterr().out.strip())
    assert saved.parent == Path("backups") and saved.exists()
    write_marker(target, "two")
    assert cli.main(["db", "restore", str(saved)]) == 0
    out = capsys.readouterr().out
    assert f"revision {HEAD}" in out and "before-restore" in out
    assert read_marker(target) == "one"
    assert cli.main(["db", "restore", "nothing.db"]) == 2
    assert "nothing.db does not exist" in capsys.readouterr().err


# --- PostgreSQL --------------------------------------------------------------------------


@pytest.fixture
def scratch_pg() -> Iterator[str]:
    """A database of its own on the local server, dropped after."""
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    name = f"wt_deploy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_marker(url: str, value: str | None = None) -> str:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if value is not None:
                conn.execute(text("CREATE TABLE IF NOT EXISTS marker (value TEXT)"))
                conn.execute(text("DELETE FROM marker"))
                conn.execute(text("INSERT INTO marker VALUES (:v)"), {"v": value})
            return str(conn.execute(text("SELECT value FROM marker")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_backup_and_restore(scratch_pg: str, tmp_path: Path) -> None:
    db = Database(scratch_pg)
    try:
        db.migrate()
    finally:
        db.dispose()
    pg_marker(scratch_pg, "as backed up")
    saved = backup(scratch_pg, tmp_path / "backups", NOW)
    assert saved.name == "bot-20261130T183000Z.dump"
    listing = subprocess.run(["pg_restore", "--list", str(saved)], capture_output=True, check=True)
    assert b"alembic_version" in listing.stdout
    pg_marker(scratch_pg, "changed after")
    done = restore(scratch_pg, saved, tmp_path / "bot.pid")
    assert done.revision == HEAD and done.migrated_to is None
    assert pg_marker(scratch_pg) == "as backed up"
    assert done.kept is not None and done.kept.parent == saved.parent
    assert done.kept.name.startswith("before-restore-")
    # the database as it was, dumped before: restored in turn
    restore(scratch_pg, done.kept, tmp_path / "bot.pid")
    assert pg_marker(scratch_pg) == "changed after"


@pytest.mark.postgres
def test_postgresql_restore_of_an_older_dump_migrates_it(scratch_pg: str, tmp_path: Path) -> None:
    db = Database(scratch_pg)
    try:
        migrate.upgrade(db.engine, "0017")
        pg_marker(scratch_pg, "at 0017")
        saved = backup(scratch_pg, tmp_path, NOW)
        db.migrate()  # the tables 0018 made must not stop the restore
        pg_marker(scratch_pg, "at head")
        done = restore(scratch_pg, saved, tmp_path / "bot.pid")
        assert (done.revision, done.migrated_to) == ("0017", HEAD)
        assert db.current_revision() == HEAD
    finally:
        db.dispose()
    assert pg_marker(scratch_pg) == "at 0017"


@pytest.mark.postgres
def test_postgresql_restore_refuses_a_newer_dump(scratch_pg: str, tmp_path: Path) -> None:
    db = Database(scratch_pg)
    try:
        db.migrate()
    finally:
        db.dispose()
    pg_marker(scratch_pg, "untouched")
    engine = create_engine(scratch_pg)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    saved = backup(scratch_pg, tmp_path, NOW)
    with engine.begin() as conn:
        conn.execute(text("UPDATE marker SET value = 'changed'"))
    engine.dispose()
    # an instance holding the lease (coord's storage.leader names its connection so)
    with (
        psycopg.connect(scratch_pg, application_name="dubanbot lease 4242"),
        pytest.raises(BackupError, match="dubanbot lease 4242 from"),
    ):
        restore(scratch_pg, saved, tmp_path / "bot.pid")
    with pytest.raises(BackupError, match="9999, newer"):
        restore(scratch_pg, saved, tmp_path / "bot.pid")
    assert pg_marker(scratch_pg) == "changed"
    assert list(tmp_path.iterdir()) == [saved]  # nothing dumped before refusing


def test_postgresql_without_pg_dump_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump there
    with pytest.raises(BackupError, match=r"pg_dump is not on PATH.*README"):
        backup("postgresql://bot:secret@127.0.0.1:1/none", tmp_path, NOW)
