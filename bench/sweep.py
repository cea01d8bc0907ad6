"""The sweeper at size: an idle sweep, and how late reminders go out, on SQLite and PostgreSQL.

    python bench/sweep.py [--items 100000] [--matters 2000] [--timers 300] [--span 20]
                          [--sqlite-only]

The database holds ``--items`` open @件, each with a pending reminder days ahead, and
``--matters`` registry matters with this and next month's filing rows.

Idle sweep: the real App's sweep (``sweep_once``: the due deadline rows, the next due
moment read back) with nothing due, repeated; beside it the cost of making the filing
rows for every matter, which every sweep used to pay and which now runs once a day.
Target: median under 5 ms.

Lateness: the real App with its scheduler, on a clock that ticks in real time from a Monday
morning; ``--timers`` reminders fall due over ``--span`` seconds, half of them in the
database at start-up, half written while it runs (each batch followed by ``replan()``, as
the processor does after an inbox batch). Lateness is the time a reminder's message went
into the outbox minus its timer's moment. Target: p99 under 2 s. The run is bounded: span
plus 15 s.

PostgreSQL: 127.0.0.1:5432, database ``test`` (``TEST_POSTGRES_URL`` overrides), in a
schema of its own, dropped at the end; skipped with a note when the server does not answer.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import Figure, write_figures
from sqlalchemy import Table, insert, select, text

from bot.app import App
from config.roster import Roster, load_roster
from handlers.filings.rows import ensure_filings
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Deadline, Item, Matter, OutboxMessage

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 16, 9, 30, tzinfo=TZ)  # a Monday, in office hours
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = f"bench_sweep_{os.getpid()}"
IDLE_TARGET_MS, LATE_TARGET_S = 5.0, 2.0
ITEMS, DEADLINES = cast(Table, Item.__table__), cast(Table, Deadline.__table__)
MATTERS = cast(Table, Matter.__table__)
REF = re.compile(r"#(\d+) ")


class NullTransport:
    """DingTalk taking every message at once."""

    async def send_session(self, webhook: str, text: str, **_: Any) -> None:
        return None

    async def send_group(self, open_conversation_id: str, text: str, **_: Any) -> None:
        return None

    async def send_oto(self, user_ids: Sequence[str], text: str, **_: Any) -> Any:
        from bot.dingtalk.transport import OtoResult

        return OtoResult()


def ticking(start: dt.datetime) -> Callable[[], dt.datetime]:
    origin = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - origin)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# Data ---------------------------------------------------------------------------------------


def fill(db: Database, roster: Roster, cal: WorkCalendar, n_items: int, n_matters: int) -> None:
    """Open @件 with a reminder each, days ahead; matters with their filing rows."""
    rng = random.Random(9)
    departments = roster.data.departments
    with db.transaction() as session:
        conn = session.connection()
        for lo in range(0, n_items, 10_000):
            ids = range(lo + 1, min(n_items, lo + 10_000) + 1)
            conn.execute(
                insert(ITEMS),
                [
                    {
                        "id": i,
                        "town": "川沙新镇",
                        "category": "政策咨询",
                        "text": f"第{i}件咨询",
                        "state": "assigned",
                        "department": departments[i % len(departments)].name,
                        "received_at": START - dt.timedelta(days=1),
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(DEADLINES),
                [
                    {
                        "item_id": i,
                        "clock": "claim",
                        "kind": "nag",
                        "step": 0,
                        "due_at": START + dt.timedelta(days=3),
                        "fire_at": START + dt.timedelta(days=1, minutes=rng.randrange(2000)),
                        "state": "pending",
                    }
                    for i in ids
                ],
            )
        conn.execute(
            insert(MATTERS),
            [
                {
                    "name": f"重点工作{m}",
                    "category": "区委区政府重点工作",
                    "star": m % 3 == 0,
                    "platform": "区网上督查室",
                    "department": departments[m % len(departments)].name,
                    "owner": departments[m % len(departments)].clerks[0],
                    "deputy": departments[m % len(departments)].deputy,
                    "status": "open",
                    "note": "",
                    "created_at": START - dt.timedelta(days=30),
                    "checklist": {},
                }
                for m in range(n_matters)
            ],
        )
        ensure_filings(session, roster, cal, START)
    if db.engine.dialect.name == "postgresql":  # the statistics autovacuum would gather
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


# Measurements -------------------------------------------------------------------------------


def idle(
    db: Database, roster: Roster, cal: WorkCalendar, repeat: int
) -> tuple[float, float, float, float]:
    """(median, p99 of an idle sweep, the old per-sweep filing rows, the median CPU of this
    thread in an idle sweep), in ms."""
    app = App(roster, cal, db, NullTransport(), clock=lambda: START, timed=False)  # type: ignore[arg-type]
    app.sweep_once()  # the day's work
    samples, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.thread_time()
        assert app.sweep_once() == 0
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    old = []
    for _ in range(5):
        with db.transaction() as session:
            t0 = time.perf_counter()
            ensure_filings(session, roster, cal, START)
            old.append((time.perf_counter() - t0) * 1000)
    return (
        statistics.median(samples),
        pct(samples, 0.99),
        statistics.median(old),
        statistics.median(cpu),
    )


async def lateness(
    db: Database, roster: Roster, cal: WorkCalendar, n_timers: int, span: float
) -> list[float]:
    """Seconds from each reminder's moment to its message in the outbox."""
    rng = random.Random(11)
    clock = ticking(START)
    first = 1_000_000
    with db.transaction() as session:
        session.connection().execute(
            insert(ITEMS),
            [
                {
                    "id": first + k,
                    "town": "川沙新镇",
                    "category": "政策咨询",
                    "text": f"第{k}件",
                    "state": "new",
                    "received_at": START,
                }
                for k in range(n_timers)
            ],
        )
    lead = dt.timedelta(seconds=2)  # the start-up sweep and the day's work first
    moments = {
        first + k: clock() + lead + dt.timedelta(seconds=rng.uniform(0, span))
        for k in range(n_timers)
    }

    def add(ids: list[int]) -> None:
        rows = [
            {
                "item_id": i,
                "clock": "triage",
                "kind": "nag",
                "step": 0,
                "due_at": moments[i] + dt.timedelta(hours=1),
                "fire_at": moments[i],
                "state": "pending",
            }
            for i in ids
        ]
        with db.transaction() as session:
            session.connection().execute(insert(DEADLINES), rows)

    ids = sorted(moments)
    preload, live = ids[: n_timers // 2], ids[n_timers // 2 :]
    add(preload)
    app = App(
        roster,
        cal,
        db,
        NullTransport(),  # type: ignore[arg-type]
        clock=clock,
        sender_clock=clock,
        sender_options={"group_rate": (10**9, 60.0)},  # no burst digests rewriting the texts
    )
    await app.start()
    try:
        # written while it runs: each one 0.5-2.5 s before its moment, then replan()
        pending = sorted(live, key=moments.__getitem__)
        while pending:
            now = clock()
            batch = [i for i in pending if moments[i] - now < dt.timedelta(seconds=2.5)]
            if batch:
                await asyncio.to_thread(add, batch)
                await app.replan()
                pending = pending[len(batch) :]
            await asyncio.sleep(0.2)
        stop = time.monotonic() + span + 15
        seen: dict[int, dt.datetime] = {}
        while len(seen) < n_timers and time.monotonic() < stop:
            await asyncio.sleep(0.2)
            seen = await asyncio.to_thread(outbox_times, db, first)
    finally:
        await app.stop()
    if len(seen) < n_timers:
        raise RuntimeError(f"{n_timers - len(seen)} reminders missing after {span + 15:.0f} s")
    return [(seen[i] - moments[i]).total_seconds() for i in ids]


def outbox_times(db: Database, first: int) -> dict[int, dt.datetime]:
    """When each bench @件's reminder first went into the outbox."""
    seen: dict[int, dt.datetime] = {}
    with db.sessions() as session:
        for text, at in session.execute(select(OutboxMessage.text, OutboxMessage.created_at)):
            for ref in REF.findall(text):
                if int(ref) >= first:
                    seen[int(ref)] = min(at, seen.get(int(ref), at))
    return seen


# Databases ----------------------------------------------------------------------------------


def postgres() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            conn.execute(f"CREATE SCHEMA {SCHEMA}")
    except psycopg.Error as exc:
        print(f"PostgreSQL skipped ({POSTGRES_URL}): {str(exc).strip().splitlines()[0]}")
        return None
    return f"{POSTGRES_URL}?options=-csearch_path%3D{SCHEMA}"


def drop_postgres() -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def run(url: str, args: argparse.Namespace, figures: list[Figure]) -> bool:
    roster = load_roster(ROOT / "config" / "examples" / "org.toml")
    cal = WorkCalendar(tz=TZ)
    db = Database(url)
    try:
        db.create_schema()
        t0 = time.perf_counter()
        fill(db, roster, cal, args.items, args.matters)
        made = time.perf_counter() - t0
        median, p99, old, cpu = idle(db, roster, cal, args.repeat)
        late = asyncio.run(lateness(db, roster, cal, args.timers, args.span))
    finally:
        db.dispose()
    name = db.engine.dialect.name
    late_p50, late_p99, late_max = pct(late, 0.5), pct(late, 0.99), max(late)
    ok = median < IDLE_TARGET_MS and late_p99 < LATE_TARGET_S
    shown = "SQLite" if name == "sqlite" else "PostgreSQL"
    figures += [
        Figure(
            "sweep",
            f"idle sweep median, {shown}",
            median,
            "ms",
            IDLE_TARGET_MS,
            detail=f"{args.items:,} open @件, {args.matters:,} matters; p99 {p99:.2f} ms; "
            f"CPU of this process's thread {cpu:.2f} ms a sweep (the database's not counted)",
            why=f"the sweep itself needs {cpu:.2f} ms of this process's CPU; the rest is waiting "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
        ),
        Figure(
            "sweep",
            f"reminder lateness p99, {shown}",
            late_p99,
            "s",
            LATE_TARGET_S,
            detail=f"{args.timers} reminders over {args.span:.0f} s; p50 {late_p50 * 1000:.0f} ms, "
            f"max {late_max * 1000:.0f} ms",
        ),
    ]
    print(
        f"{name:<10} {args.items} @件, {args.matters} matters (filled in {made:.0f} s)\n"
        f"  idle sweep       median {median:6.2f} ms  p99 {p99:6.2f} ms   "
        f"(target < {IDLE_TARGET_MS:.0f} ms; the filing rows every sweep used to make: "
        f"{old:.0f} ms)\n"
        f"  reminder late    p50 {late_p50 * 1000:6.0f} ms  p99 {late_p99 * 1000:6.0f} ms  "
        f"max {late_max * 1000:6.0f} ms   (target p99 < {LATE_TARGET_S:.0f} s; "
        f"{args.timers} reminders over {args.span:.0f} s)\n"
        f"  {'met' if ok else 'NOT MET'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--matters", type=int, default=2_000)
    parser.add_argument("--timers", type=int, default=300)
    parser.add_argument("--span", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--json", help="append the figures to this JSON file (run_all.py)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    ok = True
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        ok = run(f"sqlite:///{tmp}/sweep.db", args, figures) and ok
    if not args.sqlite_only:
        url = postgres()
        if url is not None:
            try:
                ok = run(url, args, figures) and ok
            finally:
                drop_postgres()
    write_figures(args.json, figures)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
