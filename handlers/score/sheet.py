"""A year's score sheet from the data the bot holds: the rules' input per department (late
reports, lights, the task book's facts, the office's adjustments), the @件 platform's figures
beside it (handlers.stats.figures, the one source), and the whole as a JSON-able dict: the
form that is rendered (handlers.score.export) and frozen on approval."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import texts
from handlers.matters.base import label
from handlers.score import plan, rules
from handlers.stats.figures import (
    DepartmentStats,
    department_stats,
    filing_outcome,
    filings_in_window,
)
from handlers.workcal import WorkCalendar
from storage.models import Light, Matter, ScoreAdjustment, ScoreSheet

NOT_REPORTS = frozenset({"decision"})  # a 例会议定's deadline is work done, not a report


def year_window(cal: WorkCalendar, year: int) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime(year, 1, 1, tzinfo=cal.tz),
        dt.datetime(year + 1, 1, 1, tzinfo=cal.tz),
    )


def _canonical(roster: Roster, name: str) -> str:
    dept = roster.department(name)
    return dept.name if dept else name


def late_reports(
    session: Session, roster: Roster, cal: WorkCalendar, year: int, now: dt.datetime
) -> dict[str, list[rules.LateReport]]:
    """The year's 超限 reports per department: filings due in the year whose outcome is
    超限 (handlers.stats.figures.filing_outcome)."""
    start, end = year_window(cal, year)
    out: dict[str, list[rules.LateReport]] = defaultdict(list)
    for filing, matter in filings_in_window(session, start, end):
        if filing.kind in NOT_REPORTS or filing_outcome(filing, now) != "overdue":
            continue
        what = texts.filing_label(filing.kind, filing.period, matter.category == "领导批示件")
        due = texts.when(filing.due_at, cal.tz)
        out[_canonical(roster, matter.department)].append(
            rules.LateReport(label(matter), what, due)
        )
    return out


def matter_lights(
    session: Session, roster: Roster, year: int
) -> dict[str, list[rules.MatterLights]]:
    """Per department: the matters with a light in the year, and the open 区委区政府重点工作
    (whose missing year-end light is listed)."""
    prefix = f"{year}-"
    lit = select(Light.matter_id).where(Light.period.like(prefix + "%"))
    matters = session.scalars(
        select(Matter)
        .where(
            or_(
                Matter.id.in_(lit),
                (Matter.category == rules.DISTRICT_KEY_WORK) & (Matter.status == "open"),
            )
        )
        .order_by(Matter.id)
    ).all()
    lights: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for matter_id, period, color in session.execute(
        select(Light.matter_id, Light.period, Light.color).where(
            Light.matter_id.in_([m.id for m in matters]), Light.period.like(prefix + "%")
        )
    ):
        lights[matter_id].append((period, color))
    out: dict[str, list[rules.MatterLights]] = defaultdict(list)
    for m in matters:
        item = rules.MatterLights(label(m), m.category, m.star, tuple(sorted(lights[m.id])))
        out[_canonical(roster, m.department)].append(item)
    return out


def adjustments(
    session: Session, roster: Roster, sheet: ScoreSheet | None
) -> dict[str, list[rules.Adjustment]]:
    """The office's adjustments in force: the latest per department and item."""
    if sheet is None:
        return {}
    latest: dict[tuple[str, str], ScoreAdjustment] = {}
    for row in session.scalars(
        select(ScoreAdjustment)
        .where(ScoreAdjustment.sheet_id == sheet.id)
        .order_by(ScoreAdjustment.id)
    ):
        latest[(row.department, row.item)] = row
    out: dict[str, list[rules.Adjustment]] = defaultdict(list)
    for (dept, item), row in latest.items():
        if row.points:
            out[dept].append(rules.Adjustment(item, row.points, row.reason, roster.name(row.by)))
    return out


def _figures(stats: DepartmentStats) -> dict[str, str]:
    return {
        "items": str(stats.items),
        "claim": texts.score_rate(stats.claim.rate),
        "reply": texts.score_rate(stats.reply.rate),
        "placeholder": texts.score_rate(stats.placeholder.rate),
        "filings": texts.score_rate(stats.filings.rate),
    }


def build(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    year: int,
    now: dt.datetime,
    sheet: ScoreSheet | None = None,
) -> dict[str, Any]:
    """The score sheet of ``year`` as of ``now``, JSON-able."""
    start, end = year_window(cal, year)
    stats = department_stats(session, roster, start, end, now, tz=cal.tz)
    plans = plan.plan_facts_of(session, roster, cal, year, now)
    late = late_reports(session, roster, cal, year, now)
    lit = matter_lights(session, roster, year)
    adjusted = adjustments(session, roster, sheet)
    departments = []
    names = [row.name for row in stats.departments]
    names += sorted((set(late) | set(lit) | set(adjusted)) - set(names))
    by_name = {row.name: row for row in stats.departments}
    for name in dict.fromkeys(names):
        dept = rules.DeptInput(
            name, plans.get(name), late.get(name, ()), lit.get(name, ()), adjusted.get(name, ())
        )
        result = rules.score(dept, year, roster.score).to_dict()
        result["figures"] = _figures(by_name.get(name) or DepartmentStats(name))
        departments.append(result)
    return {
        "year": year,
        "title": texts.score_title(year),
        "taken_at": texts.when(now, cal.tz),
        "state": sheet.state if sheet else "draft",
        "opinion": sheet.opinion if sheet else "",
        "approved": None,
        "departments": departments,
        "notes": rules.notes(roster.score, year, bool(plans)),
    }
