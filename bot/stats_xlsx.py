"""The statistics workbook for the office (xlsx): 汇总, @件明细, 填报.

The figures and their definitions are handlers.stats.figures'; this module only lays them out.
Times are written as local times of ``tz`` (Excel has no time zones).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from config.roster import Roster, load_roster
from config.settings import Settings
from handlers import texts
from handlers.stats.figures import (
    CLOCKS,
    COLORS,
    DEPARTMENT_CLOCKS,
    REVIEW_KINDS,
    ClockStats,
    DepartmentStats,
    FilingStats,
    department_stats,
    filing_outcome,
    filings_in_window,
    item_outcomes,
    items_in_window,
)

PERCENT = "0.0%"
MOMENT = "yyyy-mm-dd hh:mm"
DATE = "yyyy-mm-dd"


def _local(moment: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    return None if moment is None else moment.astimezone(tz).replace(tzinfo=None)


def _period(kind: str, period: str) -> str:
    """'2026-11' -> '2026年11月'; a 批示件's 'sign' / 'feedback' -> 签收 / 反馈."""
    if kind in texts.XLSX_FILING_STEPS or period in texts.XLSX_FILING_STEPS:
        return texts.XLSX_FILING_STEPS.get(kind) or texts.XLSX_FILING_STEPS[period]
    try:
        return texts.period_label(period)
    except ValueError:
        return period


def _clock_cells(stats: ClockStats | None) -> list[Any]:
    if stats is None:
        return [None] * len(texts.XLSX_CLOCK_COLUMNS)
    return [stats.on_time, stats.late, stats.open_overdue, stats.rate]


def _summary_header() -> list[str]:
    header = list(texts.XLSX_SUMMARY_HEAD)
    for clock in CLOCKS:
        label = texts.CLOCK_LABELS[clock]
        header += [f"{label}{column}" for column in texts.XLSX_CLOCK_COLUMNS]
    return header + list(texts.XLSX_SUMMARY_TAIL) + list(texts.XLSX_REVIEW_COLUMNS)


def _summary_row(
    name: str,
    items: int,
    rejected: int | None,
    clocks: dict[str, ClockStats],
    filings: FilingStats | None,
    lights: dict[str, int] | None,
    interviews: int | None,
    proposals: int | None = None,
    reviews: dict[str, int] | None = None,
) -> list[Any]:
    row: list[Any] = [name, items, rejected]
    for clock in CLOCKS:
        row += _clock_cells(clocks.get(clock))
    if filings is None:
        row += [None] * 4
    else:
        row += [filings.on_time, filings.overdue, filings.open, filings.rate]
    row += [None] * 3 if lights is None else [lights.get(c, 0) for c in COLORS]
    row += [interviews, proposals]
    return row + ([None] * 3 if reviews is None else [reviews.get(k, 0) for k in REVIEW_KINDS])


def _total(departments: list[DepartmentStats]) -> DepartmentStats:
    total = DepartmentStats(texts.XLSX_TOTAL)
    for dept in departments:
        total.items += dept.items
        for clock in DEPARTMENT_CLOCKS:
            mine, theirs = total.clock(clock), dept.clock(clock)
            mine.on_time += theirs.on_time
            mine.late += theirs.late
            mine.open_overdue += theirs.open_overdue
            mine.pending += theirs.pending
        total.filings.on_time += dept.filings.on_time
        total.filings.overdue += dept.filings.overdue
        total.filings.open += dept.filings.open
        for color, count in dept.lights.items():
            total.lights[color] = total.lights.get(color, 0) + count
        total.interviews += dept.interviews
        total.proposals += dept.proposals
        for kind, count in dept.reviews.items():
            total.reviews[kind] = total.reviews.get(kind, 0) + count
    return total


def _finish(sheet: Any, header: list[str], formats: dict[int, str], widths: dict[int, int]) -> None:
    """Bold, frozen header; number formats and widths by column (1-based)."""
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column in range(1, len(header) + 1):
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = widths.get(
            column, max(10, 2 * len(header[column - 1]) + 2)
        )
        number_format = formats.get(column)
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = number_format


def export_stats(
    session: Session,
    roster: Roster,
    path: str | Path,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    *,
    tz: dt.tzinfo | None = None,
) -> None:
    """Write the workbook of [start, end) as of ``now``; ``tz`` (default: ``start``'s) for the
    times shown."""
    zone = tz or start.tzinfo or dt.UTC
    stats = department_stats(session, roster, start, end, now, tz=zone)
    book = Workbook()

    # 汇总: the office, each department, the total
    summary = book.active
    summary.title = texts.XLSX_SUMMARY
    header = _summary_header()
    summary.append(header)
    office = stats.office
    summary.append(
        _summary_row(
            office.name, office.items, office.rejected, {"triage": office.triage}, None, None, None
        )
    )
    for dept in stats.departments:
        clocks = {clock: dept.clock(clock) for clock in DEPARTMENT_CLOCKS}
        summary.append(
            _summary_row(
                dept.name,
                dept.items,
                None,
                clocks,
                dept.filings,
                dept.lights,
                dept.interviews,
                dept.proposals,
                dept.reviews,
            )
        )
    total = _total(stats.departments)
    clocks = {clock: total.clock(clock) for clock in DEPARTMENT_CLOCKS}
    clocks["triage"] = office.triage
    summary.append(
        _summary_row(
            total.name,
            office.items,
            office.rejected,
            clocks,
            total.filings,
            total.lights,
            total.interviews,
            total.proposals,
            total.reviews,
        )
    )
    rates = {i + 1: PERCENT for i, name in enumerate(header) if name.endswith("按时率")}
    _finish(summary, header, rates, {1: 14})
    first = start.astimezone(zone).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    summary.append([])
    summary.append(
        [
            texts.XLSX_WINDOW.format(
                first=first.isoformat(),
                last=last.isoformat(),
                now=now.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            )
        ]
    )

    # @件明细: one row per item received in the window
    items = book.create_sheet(texts.XLSX_ITEMS)
    header = list(texts.XLSX_ITEM_HEAD)
    for clock in CLOCKS:
        header += [c.format(label=texts.CLOCK_LABELS[clock]) for c in texts.XLSX_ITEM_CLOCK]
    items.append(header)
    for item in items_in_window(session, start, end):
        outcomes = item_outcomes(item, now)
        done = {
            "triage": item.triaged_at,
            "claim": item.claimed_at,
            "reply": item.replied_at,
            "placeholder": item.placeholder_at,
        }
        due = {
            "triage": item.triage_due,
            "claim": item.claim_due,
            "reply": item.reply_due,
            "placeholder": item.placeholder_due,
        }
        row: list[Any] = [
            item.id,
            item.town,
            item.category,
            item.department,
            texts.STATE_LABELS.get(item.state, item.state),
            texts.XLSX_YES if item.hard else texts.XLSX_NO,
            _local(item.received_at, zone),
        ]
        for clock in CLOCKS:
            outcome = outcomes[clock]
            row += [
                _local(due[clock], zone),
                _local(done[clock], zone),
                texts.XLSX_OUTCOMES[outcome] if outcome else None,
            ]
        items.append(row)
    moments = {i + 1: MOMENT for i, name in enumerate(header) if name.endswith(("时间", "时限"))}
    _finish(items, header, moments, {1: 8, 2: 12, 3: 10, 4: 14, 5: 12, 6: 8})

    # 填报: the filings due in the window
    filings = book.create_sheet(texts.XLSX_FILINGS)
    header = list(texts.XLSX_FILING_HEAD)
    filings.append(header)
    for filing, matter in filings_in_window(session, start, end):
        known = roster.department(matter.department)
        filings.append(
            [
                f"督{matter.id}",
                matter.name,
                matter.category,
                known.name if known else matter.department,
                _period(filing.kind, filing.period),
                filing.node,
                _local(filing.due_at, zone),
                _local(filing.done_at, zone),
                roster.name(filing.done_by) if filing.done_by else None,
                texts.XLSX_FILING_OUTCOMES[filing_outcome(filing, now)],
            ]
        )
    _finish(filings, header, {6: DATE, 7: MOMENT, 8: MOMENT}, {2: 30, 3: 18, 4: 14})

    book.save(path)


def month_of(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and the last day of ``today``'s month."""
    first = today.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def export_with_settings(
    settings: Settings, path: str, first: dt.date | None, last: dt.date | None
) -> tuple[dt.date, dt.date]:
    """``python -m bot stats export``: the days ``first`` to ``last`` (inclusive; default: the
    month of the settings' clock) in the settings' time zone, from DATABASE_URL (migrated
    first) with the roster of BOT_ORG_FILE. Returns the days; ValueError for an empty range."""
    from bot.startup import open_database, settings_clock

    now = settings_clock(settings.bot_clock_file)()
    month_first, month_last = month_of(now.astimezone(settings.tz).date())
    first, last = first or month_first, last or month_last
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    try:
        start = dt.datetime.combine(first, dt.time(), settings.tz)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), settings.tz)
        start.astimezone(dt.UTC), end.astimezone(dt.UTC)  # as stored
    except OverflowError:
        raise ValueError(f"--from {first} / --to {last}: a date out of range") from None
    roster = load_roster(settings.bot_org_file)
    db = open_database(settings.database_url)
    try:
        db.migrate()
        with db.sessions() as session:
            export_stats(session, roster, path, start, end, now, tz=settings.tz)
    finally:
        db.dispose()
    return first, last
