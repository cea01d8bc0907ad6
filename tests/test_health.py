"""/healthz's verdicts and the gauges read from the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from bot.health import HealthServer
from bot.metrics import Metrics, outbox_state
from config.settings import SettingsError, load_settings
from storage import repo
from storage.db import Database
from storage.models import Deadline
from storage.outbox import enqueue_rows, outbox_row

NOW = dt.datetime(2026, 11, 16, 2, 0, tzinfo=dt.UTC)


@dataclass
class Stream:
    connected: bool = True
    last_frame_at: float | None = None


def fake_app(db: Database, leading: bool = True) -> Any:
    metrics = Metrics()
    metrics.watch_database(db, lambda: NOW, lambda: NOW)
    return SimpleNamespace(db=db, sender_clock=lambda: NOW, metrics=metrics, leading=leading)


def add_outbox(db: Database, created: dt.datetime) -> None:
    with db.transaction() as session:
        enqueue_rows(session, [outbox_row(channel="group", target="cid", text="x", now=created)])


async def test_ok_then_each_problem(db: Database) -> None:
    stream = Stream(last_frame_at=time.monotonic())
    server = HealthServer(fake_app(db, leading=False), stream, "127.0.0.1", 0, outbox_age=600)
    body = await server.check()
    assert body["status"] == "ok" and body["leader"] is False and body["database"] is True
    assert body["outbox_depth"] == 0 and body["outbox_oldest_age_seconds"] is None

    add_outbox(db, NOW - dt.timedelta(seconds=30))
    add_outbox(db, NOW - dt.timedelta(seconds=700))
    body = await server.check()
    assert body["outbox_depth"] == 2 and body["outbox_oldest_age_seconds"] == 700
    assert body["status"] == "failing"
    assert body["problems"] == ["outbox: oldest pending message 700 s old (limit 600 s)"]

    server.outbox_age = 900
    stream.last_frame_at = time.monotonic() - 100
    assert (await server.check())["problems"] == ["no stream frame for 100 s (limit 90 s)"]
    stream.connected = False
    assert (await server.check())["problems"][0] == "stream not connected"


async def test_http_status_and_unreachable_database(tmp_path: Any) -> None:
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=1")
    try:
        stream = Stream(last_frame_at=time.monotonic())
        server = HealthServer(fake_app(db), stream, "127.0.0.1", 0)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                response = await http.get("/healthz")
                metrics = await http.get("/metrics")
        finally:
            await server.stop()
    finally:
        db.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["database"] is False and body["outbox_depth"] == 0
    assert body["problems"] == ["database: OperationalError"]
    assert metrics.status_code == 200
    assert "dubanbot_database_up 0.0" in metrics.text
    assert "dubanbot_stream_connected 1.0" in metrics.text


def test_overdue_obligations_by_clock_and_kind(db: Database) -> None:
    app = fake_app(db)
    with db.transaction() as session:
        for clock, kind, late in [
            ("triage", "nag", 60),
            ("triage", "nag", 120),
            ("triage", "escalate", 5),
            ("claim", "nag", -60),  # not yet due
        ]:
            fire_at = NOW - dt.timedelta(seconds=late)
            session.add(Deadline(clock=clock, kind=kind, step=1, due_at=fire_at, fire_at=fire_at))
    metrics = cast(Metrics, app.metrics)
    metrics.exposition()
    assert metrics.value("dubanbot_overdue_obligations", clock="triage", kind="nag") == 2
    assert metrics.value("dubanbot_overdue_obligations", clock="triage", kind="escalate") == 1
    assert metrics.value("dubanbot_overdue_obligations", clock="claim", kind="nag") == 0
    # firing a row records its lateness for the sweep's histogram
    with db.transaction() as session:
        rows = repo.due_deadlines(session, NOW)
        assert all(repo.claim_deadline(session, row, NOW) for row in rows)
        assert sorted(repo.fired_lateness(session)) == [5.0, 60.0, 120.0]
        assert repo.fired_lateness(session) == []


def test_bot_http_setting() -> None:
    assert load_settings(bot_http="").http_address is None
    assert load_settings(bot_http="127.0.0.1:8080").http_address == ("127.0.0.1", 8080)
    assert load_settings(bot_http="[::1]:9000").http_address == ("::1", 9000)
    for wrong in ("8080", "localhost", "host:0", "host:70000", ":80"):
        with pytest.raises(SettingsError, match=r"BOT_HTTP: .*host:port"):
            load_settings(bot_http=wrong)
    with pytest.raises(SettingsError, match="BOT_STREAM_SILENCE_SECONDS"):
        load_settings(bot_stream_silence_seconds=0)


def test_gauges_read_while_a_writer_holds_the_lock(db: Database) -> None:
    """SQLite: the reads take no write lock (a long sweep does not make /healthz fail)."""
    add_outbox(db, NOW - dt.timedelta(seconds=5))
    began = time.monotonic()
    with db.transaction() as session:  # BEGIN IMMEDIATE on SQLite: the write lock
        enqueue_rows(session, [outbox_row(channel="group", target="c", text="y", now=NOW)])
        session.flush()
        state = outbox_state(db, NOW)
    assert time.monotonic() - began < 2
    assert state.depth == 1  # the writer's row is not committed yet
