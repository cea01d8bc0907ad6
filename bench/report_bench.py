"""A year's report at size: 5,000 @件 in the year (and as many the year before, for the
comparisons) and 300 registry matters (with their monthly filings,
lights and some interviews), the year report made whole (figures, previous year, Word,
workbook, summary), with a task book of 200 tasks, on SQLite and, when it answers, PostgreSQL.

    python bench/report_bench.py [--items 5000] [--matters 300] [--runs 3] [--sqlite-only]

Target: under 5 s for the whole report. Prints the time of each part (the best of --runs).
PostgreSQL: 127.0.0.1:5432, database ``test`` (``TEST_POSTGRES_URL`` overrides), in a schema
of its own, dropped at the end; skipped with a note when the server does not answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import Figure, write_figures
from sqlalchemy import Table, insert

from config.roster import Roster, load_roster
from handlers.office_reports import excel, model, periods, prose, word
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Filing, Interview, Item, Light, Matter, Task, TaskBook, TaskMilestone

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2026
NOW = dt.datetime(YEAR + 1, 1, 5, 10, 0, tzinfo=TZ)  # the year report's draft day
TASKS = 200  # the year's task book
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = f"bench_report_{os.getpid()}"
TARGET_S = 5.0
H, D = dt.timedelta(hours=1), dt.timedelta(days=1)
CATEGORIES = ("区委区政府重点工作", "局重点工作", "实事项目", "领导批示件")


def table(model_class: Any) -> Table:
    return cast(Table, model_class.__table__)


def fill(db: Database, roster: Roster, items: int, matters: int) -> None:
    rand = random.Random(12)
    departments = [d.name for d in roster.data.departments]
    towns = [t.name for t in roster.data.towns] or ["川沙新镇"]
    item_rows = []
    for n in range(2 * items):  # as many in the year before, for the comparisons
        start = dt.datetime(YEAR - (n % 2), 1, 1, tzinfo=TZ)
        received = start + dt.timedelta(minutes=rand.randrange(365 * 24 * 60))
        late = rand.random() < 0.1
        open_ = rand.random() < 0.05
        item_rows.append(
            {
                "town": rand.choice(towns),
                "category": "政策咨询",
                "text": f"问题{n}",
                "state": "claimed" if open_ else "answered",
                "department": rand.choice(departments),
                "hard": rand.random() < 0.03,
                "provisional": False,
                "conversation_type": "2",
                "asker_nick": "",
                "received_at": received,
                "triage_due": received + 4 * H,
                "triaged_at": received + (5 if late else 1) * H,
                "claim_due": received + D,
                "claimed_at": received + 2 * H,
                "reply_due": received + 3 * D,
                "replied_at": None if open_ else received + (4 if late else 2) * D,
            }
        )
    matter_rows = [
        {
            "id": n + 1,
            "name": f"事项{n + 1}",
            "category": CATEGORIES[n % len(CATEGORIES)],
            "star": True,
            "platform": "区网上督查室",
            "department": departments[n % len(departments)],
            "owner": "u-air-clerk",
            "deputy": "u-deputy-1",
            "status": "open",
            "note": "",
            "checklist": {},
            "created_at": dt.datetime(YEAR - 1, 12, 1, tzinfo=TZ),
        }
        for n in range(matters)
    ]
    filing_rows, light_rows, interview_rows = [], [], []
    for m in range(1, matters + 1):
        for month in range(1, 13):
            due = dt.datetime(YEAR, month, 20, 17, tzinfo=TZ)
            overdue = rand.random() < 0.08
            filing_rows.append(
                {
                    "matter_id": m,
                    "kind": "monthly",
                    "period": f"{YEAR}-{month:02d}",
                    "node": due.date(),
                    "due_at": due,
                    "provisional": False,
                    "done_at": None if overdue else due - D,
                    "overdue": overdue,
                }
            )
            light_rows.append(
                {
                    "matter_id": m,
                    "period": f"{YEAR}-{month:02d}",
                    "color": rand.choice(("green", "green", "green", "yellow", "red")),
                    "at": due,
                    "by": "u-admin",
                }
            )
        if m % 10 == 0:
            interview_rows.append(
                {
                    "matter_id": m,
                    "tier": 1,
                    "condition": "yellow_2",
                    "rule": "连续二次亮黄灯",
                    "evidence": "",
                    "interviewer": "u-air-head",
                    "interviewee": "u-air-clerk",
                    "state": "open",
                    "opened_at": NOW - 30 * D,
                    "note": "",
                }
            )
    book_rows = [
        {"id": n + 1, "year": YEAR, "department": d, "state": "issued", "created_at": NOW - 400 * D}
        for n, d in enumerate(departments)
    ]
    task_rows, milestone_rows = [], []
    for t in range(1, TASKS + 1):  # the year's task book: TASKS tasks, a milestone a quarter
        task_rows.append(
            {
                "id": t,
                "taskbook_id": (t - 1) % len(departments) + 1,
                "year": YEAR,
                "department": departments[(t - 1) % len(departments)],
                "name": f"任务{t}",
                "target": "目标",
                "measures": "举措",
                "owner": "u-air-clerk",
                "category": CATEGORIES[t % len(CATEGORIES)],
                "platform": "无",
                "created_at": NOW - 400 * D,
            }
        )
        for q in range(1, 5):
            due = dt.datetime(YEAR, 3 * q, 28, 17, 30, tzinfo=TZ)
            met = rand.random()
            milestone_rows.append(
                {
                    "task_id": t,
                    "seq": q,
                    "due": due.date(),
                    "due_at": due,
                    "what": f"节点{q}",
                    "met_at": None if met < 0.1 else due + (2 * D if met < 0.2 else -D),
                    "overdue": False,
                }
            )
    with db.engine.begin() as connection:
        connection.execute(insert(table(Item)), item_rows)
        connection.execute(insert(table(Matter)), matter_rows)
        connection.execute(insert(table(Filing)), filing_rows)
        connection.execute(insert(table(Light)), light_rows)
        connection.execute(insert(table(Interview)), interview_rows)
        connection.execute(insert(table(TaskBook)), book_rows)
        connection.execute(insert(table(Task)), task_rows)
        connection.execute(insert(table(TaskMilestone)), milestone_rows)


def postgres() -> str | None:
    """A schema of our own on the local server, or None (with a note) when it does not answer."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {SCHEMA}")
    except psycopg.Error as exc:
        print(f"PostgreSQL skipped ({POSTGRES_URL}): {str(exc).strip().splitlines()[0]}")
        return None
    return f"{POSTGRES_URL}?options=-csearch_path%3D{SCHEMA}"


def drop_postgres() -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def measure(name: str, db: Database, roster: Roster, cal: WorkCalendar, runs: int) -> float:
    period = periods.year_of(YEAR)
    best: dict[str, float] = {}
    for _ in range(runs):
        with db.sessions() as session:
            t0 = time.perf_counter()
            report = model.build(session, roster, cal, period, NOW)
            t1 = time.perf_counter()
        summary = prose.summary(report)
        t2 = time.perf_counter()
        document = word.build(report)
        t3 = time.perf_counter()
        workbook = excel.build(report)
        t4 = time.perf_counter()
        for part, seconds in (
            ("figures", t1 - t0),
            ("summary", t2 - t1),
            ("word", t3 - t2),
            ("excel", t4 - t3),
            ("total", t4 - t0),
        ):
            best[part] = min(best.get(part, seconds), seconds)
    print(
        f"{name}: figures {best['figures']:.3f} s, summary {best['summary'] * 1000:.1f} ms, "
        f"word {best['word']:.3f} s, excel {best['excel']:.3f} s; "
        f"total {best['total']:.3f} s (target < {TARGET_S:.0f} s) "
        f"[{report.stats.office.items} @件 in the year, {len(summary)} characters of summary, "
        f"{len(document) // 1024} KB docx, {len(workbook) // 1024} KB xlsx]"
    )
    return best["total"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--matters", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--json", help="append the figures to this JSON file (run_all.py)")
    args = parser.parse_args()
    roster = load_roster(ROOT / "config" / "examples" / "org.toml")
    cal = WorkCalendar(tz=TZ)
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.create_schema()
        fill(db, roster, args.items, args.matters)
        totals.append(("SQLite", measure("SQLite", db, roster, cal, args.runs)))
        db.dispose()
    if not args.sqlite_only:
        url = postgres()
        if url is not None:
            db = Database(url)
            try:
                db.create_schema()
                fill(db, roster, args.items, args.matters)
                totals.append(("PostgreSQL", measure("PostgreSQL", db, roster, cal, args.runs)))
            finally:
                db.dispose()
                drop_postgres()
    detail = f"{args.items} @件 a year, {args.matters} matters, {TASKS} tasks; best of {args.runs}"
    write_figures(
        args.json,
        [
            Figure("report", f"year report whole, {name}", t, "s", TARGET_S, detail=detail)
            for name, t in totals
        ],
    )
    return 0 if all(t < TARGET_S for _, t in totals) else 1


if __name__ == "__main__":
    sys.exit(main())
