"""A node's filings by sheet: ``python -m bot filings export`` writes the office's compiled
Word and Excel files; ``python -m bot filings import`` takes the filings of a 月报表 sheet
(the export's columns, or the office's own with the template's headings), all or nothing.

Each problem of an import reads ``第{row}行「{column}」：{what}`` (as bot.registry_xlsx)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app import write_outbox
from config.categories import category as find_category
from config.filings import Template
from config.roster import Roster, load_roster
from config.settings import Settings
from handlers import texts
from handlers.context import Ctx
from handlers.filings import schedule
from handlers.filings.commands import previous_percentage
from handlers.filings.compiled import gather
from handlers.filings.done import mark_done
from handlers.filings.render import columns, render_docx, render_xlsx
from handlers.filings.template import check_template
from handlers.workcal import WorkCalendar, load_calendar
from storage.db import Database
from storage.models import Filing, Matter

ACTOR = "import"
HEADER_SCAN_ROWS = 10
NUMBER_HEADERS = ("事项编号", "编号", "督办编号")
NAME_HEADERS = ("项目名称", "事项名称", "名称")
_NUMBER = re.compile(r"督?\s*(\d+)")


class FilingsError(ValueError):
    """An operator's mistake (English, names the argument)."""


class FilingImportError(ValueError):
    """The sheet was refused; ``problems`` lists each one (Chinese), nothing was written."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def template_of(roster: Roster, name: str) -> tuple[str, Template]:
    found = find_category(name)
    if found is None:
        raise FilingsError(f"category {name!r} is not a category (e.g. 实事项目, 民心工程)")
    template = roster.filings.template(found.name)
    if template is None:
        raise FilingsError(f"category {found.name!r} has no filing template ([filings.templates])")
    return found.name, template


def parse_period(text: str | None, cal: WorkCalendar, now: dt.datetime) -> str:
    if not text:
        return schedule.period_of(now, cal.tz)
    try:
        year, month = (int(p) for p in text.split("-"))
        return schedule.format_period(year, month)
    except ValueError:
        raise FilingsError(f"--period {text!r} is not a month as YYYY-MM") from None


def export_node(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    category: str,
    period: str,
    now: dt.datetime,
    out_dir: Path,
) -> list[Path]:
    """Write the node's Word and Excel files into ``out_dir``; their paths."""
    name, _ = template_of(roster, category)
    node = gather(session, roster, name, period, now)
    if node is None:
        raise FilingsError(f"no filings of {name} for {period}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, content in (
        ("docx", render_docx(node, roster, cal.tz, now)),
        ("xlsx", render_xlsx(node, roster, cal.tz, now)),
    ):
        path = out_dir / texts.compiled_file(name, period, suffix)
        path.write_bytes(content)
        paths.append(path)
    return paths


@dataclass(frozen=True)
class ImportResult:
    filed: int
    unchanged: int


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lstrip("*★").rstrip(":")


def _rows(path: Path) -> list[tuple[object, ...]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, data_only=True)
    except FileNotFoundError:
        raise FilingImportError([texts.sheet_unreadable(path)]) from None
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise FilingImportError([texts.sheet_unreadable(path, exc)]) from None
    try:
        sheet = workbook.worksheets[0]
        return [tuple(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def import_filings(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    path: Path,
    category: str,
    period: str,
    now: dt.datetime,
) -> ImportResult:
    """Check every row of the first sheet of ``path``, then record each filing of ``period``
    (the caller commits). Raises FilingImportError, having written nothing."""
    name, template = template_of(roster, category)
    rows = _rows(path)
    cols = columns(template)
    wanted = {_key(h): h for h, _ in cols}
    ids = {_key(h) for h in (*NUMBER_HEADERS, *NAME_HEADERS)}
    header_at = next(
        (
            i
            for i, r in enumerate(rows[:HEADER_SCAN_ROWS])
            if sum(_key(_text(v)) in wanted or _key(_text(v)) in ids for v in r) >= 2
        ),
        None,
    )
    if header_at is None:
        raise FilingImportError([texts.sheet_no_header([h for h, _ in cols])])
    index: dict[str, int] = {}
    for i, value in enumerate(rows[header_at]):
        key = _key(_text(value))
        if key in wanted:
            index.setdefault(wanted[key], i)
        elif key in {_key(h) for h in NUMBER_HEADERS}:
            index.setdefault("#number", i)
        elif key in {_key(h) for h in NAME_HEADERS}:
            index.setdefault("#name", i)
    header_row = header_at + 1
    problems = [
        texts.sheet_missing_column(header_row, h)
        for h, parts in cols
        if h not in index and any(p.required for p in template.parts if p.name in parts)
    ]
    if "#number" not in index and "#name" not in index:
        what = f"{texts.SHEET_NUMBER}」或「{texts.SHEET_NAME}"
        problems.append(texts.sheet_missing_column(header_row, what))
    if problems:
        raise FilingImportError(problems)
    by_part = {p.name: p for p in template.parts}
    plans: list[tuple[Matter, Filing, dict[str, str]]] = []
    unchanged = 0
    seen: dict[int, int] = {}
    for offset, values in enumerate(rows[header_at + 1 :]):
        row_number = header_row + 1 + offset

        def cell(key: str, values: tuple[object, ...] = values) -> str:
            at = index.get(key)
            return _text(values[at]) if at is not None and at < len(values) else ""

        if not any(cell(h) for h, _ in cols):
            continue  # nothing filed on this row (an exported 未报送, or an empty row)
        where = texts.SHEET_NUMBER if cell("#number") else texts.SHEET_NAME
        matter = _matter(session, name, cell("#number"), cell("#name"))
        if isinstance(matter, str):
            problems.append(texts.filing_sheet_problem(row_number, where, matter))
            continue
        if matter.id in seen:
            what = texts.sheet_row_twice(matter.id, seen[matter.id])
            problems.append(texts.filing_sheet_problem(row_number, where, what))
            continue
        seen[matter.id] = row_number
        filing = session.scalars(
            select(Filing).where(
                Filing.matter_id == matter.id, Filing.kind == "monthly", Filing.period == period
            )
        ).first()
        if filing is None:
            what = texts.sheet_no_filing(matter.id, period)
            problems.append(texts.filing_sheet_problem(row_number, where, what))
            continue
        content: dict[str, str] = {}
        for heading, parts in cols:
            text = cell(heading)
            if not text:
                content_missing = [p for p in parts if by_part[p].required]
                for part in content_missing:
                    what = texts.report_missing(part)
                    problems.append(texts.filing_sheet_problem(row_number, heading, what))
                continue
            sub = Template.model_construct(
                title=template.title,
                layout=template.layout,
                parts=[by_part[p] for p in parts],
                note="",
            )
            written = f"{parts[0]}：{text}" if len(parts) == 1 else text
            check = check_template(written, sub)
            for problem in check.problems:
                problems.append(texts.filing_sheet_problem(row_number, heading, problem))
            content.update(check.good)
        previous = previous_percentage(Ctx(session, roster, cal, now), matter, filing, template)
        whole = check_template("", template, draft=content, previous=previous)
        for problem in whole.wrong:
            heading = next(h for h, ps in cols if any(by_part[p].kind == "percentage" for p in ps))
            problems.append(texts.filing_sheet_problem(row_number, heading, problem))
        if filing.done_at is not None:
            if filing.content == whole.good:
                unchanged += 1
            else:
                what = texts.sheet_filed_already(matter.id, texts.when(filing.done_at, cal.tz))
                problems.append(texts.filing_sheet_problem(row_number, where, what))
            continue
        plans.append((matter, filing, whole.good))
    if problems:
        raise FilingImportError(problems)
    ctx = Ctx(session, roster, cal, now, actor=ACTOR)
    for matter, filing, content in plans:
        mark_done(ctx, matter, filing, content=content)
    write_outbox(session, ctx.out, now)  # the interview notices a 超限 may open
    return ImportResult(len(plans), unchanged)


def _matter(session: Session, category: str, number: str, name: str) -> Matter | str:
    """The matter a row names, or what is wrong (Chinese)."""
    if number:
        match = _NUMBER.fullmatch(_key(number))
        matter = session.get(Matter, int(match[1])) if match else None
        if matter is None:
            return texts.sheet_no_matter(number)
    else:
        found = session.scalars(
            select(Matter).where(Matter.name == name.strip(), Matter.category == category)
        ).all()
        if len(found) != 1:
            return texts.sheet_no_name(name, category, bool(found))
        matter = found[0]
    if matter.category != category:
        return texts.sheet_wrong_category(matter.id, matter.category, category)
    return matter


# --- the command line ------------------------------------------------------------------------


def _open(settings: Settings) -> tuple[Roster, WorkCalendar, dt.datetime, Database]:
    from alembic.util import CommandError

    from bot.startup import open_database, settings_clock
    from storage.migrate import MigrationError

    roster, cal = load_roster(settings.bot_org_file), load_calendar(settings)
    now = settings_clock(settings.bot_clock_file)()
    db = open_database(settings.database_url)
    try:
        db.migrate()
    except (MigrationError, CommandError) as exc:
        db.dispose()
        raise FilingsError(str(exc)) from None
    return roster, cal, now, db


def export_with_settings(
    settings: Settings, category: str, period: str | None, out_dir: Path
) -> list[Path]:
    roster, cal, now, db = _open(settings)
    try:
        with db.sessions() as session:
            month = parse_period(period, cal, now)
            return export_node(session, roster, cal, category, month, now, out_dir)
    finally:
        db.dispose()


def import_with_settings(
    settings: Settings, category: str, path: Path, period: str | None
) -> ImportResult:
    roster, cal, now, db = _open(settings)
    try:
        with db.transaction() as session:
            month = parse_period(period, cal, now)
            return import_filings(session, roster, cal, path, category, month, now)
    finally:
        db.dispose()
