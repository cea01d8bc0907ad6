"""The office's compiled document of a node: every department's filing of one category and
month, in the template's layout, late (超限) and missing ones marked. Sent to the office group
as a Word document and an Excel sheet after the node's deadline (once: a Flag records it) and
on demand (汇总)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.filings import Template
from config.hours import CalendarError
from config.roster import Roster
from handlers import documents, texts
from handlers.context import Ctx
from handlers.effects import Outgoing, to_group
from handlers.filings import schedule
from handlers.filings.render import render_docx, render_xlsx
from handlers.instructions import reports
from handlers.workcal import WorkCalendar
from storage.models import Filing, Flag, Matter

# After a deploy, nodes whose deadline passed longer ago than this are not compiled.
CATCH_UP = dt.timedelta(days=7)


@dataclass(frozen=True)
class Entry:
    """One matter's filing of the node."""

    matter_id: int
    name: str
    department: str
    status: str  # a key of texts.COMPILED_STATUS
    done_at: dt.datetime | None
    content: dict[str, str]


@dataclass(frozen=True)
class Node:
    category: str
    period: str
    template: Template
    due_at: dt.datetime  # the latest due moment of its rows
    entries: list[Entry]

    def counts(self) -> dict[str, int]:
        found = Counter(e.status for e in self.entries)
        return {key: found[key] for key in texts.COMPILED_STATUS}


def status_of(row: Filing, now: dt.datetime) -> str:
    if row.done_at is not None:
        return "late" if row.overdue else "on_time"
    return "missing_late" if row.overdue or now > row.due_at else "missing"


def gather(
    session: Session, roster: Roster, category: str, period: str, now: dt.datetime
) -> Node | None:
    """The node's filings, by department in the roster's order; None: no rows, or no
    template."""
    template = roster.filings.template(category)
    if template is None:
        return None
    rows = session.execute(
        select(Filing, Matter)
        .join(Matter, Filing.matter_id == Matter.id)
        .where(Matter.category == category, Filing.kind == "monthly", Filing.period == period)
    ).all()
    if not rows:
        return None
    order = {d.name: i for i, d in enumerate(roster.data.departments)}
    entries = [
        Entry(
            matter.id,
            matter.name,
            matter.department,
            status_of(row, now),
            row.done_at,
            _content(row, template) if row.done_at is not None else {},
        )
        for row, matter in sorted(
            rows, key=lambda r: (order.get(r[1].department, len(order)), r[1].id)
        )
    ]
    due_at = max(row.due_at for row, _ in rows)
    return Node(category, period, template, due_at, entries)


def _content(row: Filing, template: Template) -> dict[str, str]:
    """A filing's parts; a 批示件 report filed before the parts were kept is read again."""
    if row.content:
        return dict(row.content)
    if row.report:
        limits = {p.name: p.limit or len(row.report) for p in template.parts}
        return reports.check_report(row.report, limits).parts
    return {}


def send_node(ctx: Ctx, node: Node) -> None:
    """Keep the node's Word and Excel files and send them, with a summary, to the office
    group."""
    group = ctx.roster.office.group
    subject = f"汇总:{node.category}:{node.period}"
    ctx.send(to_group(group, texts.compiled_summary(node.category, node.period, node.counts())))
    for suffix, content in (
        ("docx", render_docx(node, ctx.roster, ctx.cal.tz, ctx.now)),
        ("xlsx", render_xlsx(node, ctx.roster, ctx.cal.tz, ctx.now)),
    ):
        name = texts.compiled_file(node.category, node.period, suffix)
        documents.send(ctx, "group", group, documents.keep(ctx, name, content, subject))


def flag_key(category: str, period: str) -> str:
    return f"compiled:{category}:{period}"


def compile_due(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> list[Outgoing]:
    """The sweeper's part: each templated node of last, this or next month whose every row's
    deadline has passed (within CATCH_UP) is compiled and sent once, in working time."""
    categories = roster.filings.templated
    try:
        if not categories or not cal.is_working_time(now):
            return []
    except (CalendarError, OverflowError):
        return []  # past the calendar's end: nothing more goes out
    this = schedule.period_of(now, cal.tz)
    periods = [schedule.shift_period(this, -1), this, schedule.shift_period(this, 1)]
    nodes = session.execute(
        select(Matter.category, Filing.period, func.max(Filing.due_at))
        .join(Matter, Filing.matter_id == Matter.id)
        .where(
            Filing.kind == "monthly",
            Filing.period.in_(periods),
            Matter.category.in_(categories),
        )
        .group_by(Matter.category, Filing.period)
    ).all()
    ctx = Ctx(session, roster, cal, now, actor="bot")
    for category, period, due_at in nodes:
        if not due_at < now <= due_at + CATCH_UP:
            continue
        key = flag_key(category, period)
        if session.get(Flag, key) is not None:
            continue
        try:
            with session.begin_nested():  # another instance may have compiled it meanwhile
                session.add(Flag(key=key, at=now))
        except IntegrityError:
            continue
        node = gather(session, roster, category, period, now)
        if node is not None:
            send_node(ctx, node)
    return ctx.out
