"""The registry of 督办事项 as an Excel workbook: export it, and import the office's edits.

Import checks every row before it writes anything, with the checks the chat commands use
(handlers.matters.fields); each problem reads ``第{row}行「{column}」：{what}`` with the row
number Excel shows. Matters are made and changed by the same code as 新增事项 and 修改事项:
rows with a 编号 update that matter (one ``MatterEvent`` per changed field, actor
``import``); rows without one are new matters, numbered by the bot in sheet order; matters
not in the sheet are left alone.

Columns are found by their headers (any order, full-width forms and spaces tolerated, a few
aliases; unknown columns are ignored). Optional columns that are absent leave existing
matters unchanged; an empty 绩效考核 / 填报平台 / 分管局领导 cell means the category's ★, the
category's platform and the department's deputy; an empty 状态 keeps an existing matter's
status (a new one is 进行中).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.categories import Category, category
from config.roster import Roster, normalize_name
from handlers import texts
from handlers.filings.rows import sync_matter
from handlers.matters.base import INSTRUCTION
from handlers.matters.fields import (
    BadValue,
    change,
    create_matter,
    to_category,
    to_date,
    to_department,
    to_name,
    to_owner,
    to_person,
    to_plan_year,
    to_platform,
    to_star,
    to_status,
)
from handlers.workcal import WorkCalendar
from storage.models import Matter

T = TypeVar("T")

ACTOR = "import"
SHEET_TITLE = "督办事项"
HEADER_SCAN_ROWS = 10  # a title row or two above the header is common in the office's sheets

_NUMBER = re.compile(r"督?\s*(\d+)")


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    min_width: int = 8


COLUMNS: tuple[Column, ...] = (
    Column("number", "编号", True, ("督办编号", "事项编号"), 7),
    Column("name", "事项名称", True, ("名称", "督办事项", "事项"), 24),
    Column("category", "类别", True, ("事项类别", "类型"), 14),
    Column("star", "绩效考核", False, ("纳入绩效考核", "是否纳入绩效考核"), 9),
    Column("platform", "填报平台", False, ("平台",), 12),
    Column("department", "责任处室", True, ("处室", "责任部门", "牵头处室"), 12),
    Column("owner", "具体负责人", True, ("项目具体负责人", "负责人"), 10),
    Column("deputy", "分管局领导", False, ("分管领导",), 10),
    Column("status", "状态", False, ("办理状态",), 8),
    Column("notice_due", "批示件反馈期限", False, ("反馈期限",), 14),
    Column("note", "备注", False, (), 20),
    Column("plan_year", "年度", False, ("计划年度", "实施年度", "申报年度"), 6),
)
_BY_FIELD = {c.field: c for c in COLUMNS}


def _header_key(text: str) -> str:
    key = "".join(unicodedata.normalize("NFKC", text).split())
    return key.lstrip("*★").rstrip(":")


_BY_HEADER = {_header_key(h): c for c in COLUMNS for h in (c.header, *c.aliases)}


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    ignored_columns: tuple[str, ...] = ()  # headers of the sheet that are not registry columns


class RegistryImportError(ValueError):
    """The sheet was refused; ``problems`` lists each one, nothing was written."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --- people --------------------------------------------------------------------------------


class _People:
    """Names for userIds and back; a name two people share is written as the userId."""

    def __init__(self, roster: Roster) -> None:
        self.roster = roster
        self.by_name: dict[str, list[str]] = {}
        for user_id, person in roster.people.items():
            self.by_name.setdefault(normalize_name(person.name), []).append(user_id)

    def display(self, user_id: str) -> str:
        person = self.roster.people.get(user_id)
        if person is not None and len(self.by_name[normalize_name(person.name)]) == 1:
            return person.name
        return user_id


# --- export --------------------------------------------------------------------------------


def _star_cell(matter: Matter) -> str:
    if matter.star:
        return "★"
    cat = category(matter.category)
    return "否" if cat is not None and cat.star else ""  # empty reads back as the category's ★


def _row_values(matter: Matter, people: _People) -> dict[str, object]:
    return {
        "number": f"督{matter.id}",
        "name": matter.name,
        "category": matter.category,
        "star": _star_cell(matter),
        "platform": matter.platform,
        "department": matter.department,
        "owner": people.display(matter.owner),
        "deputy": people.display(matter.deputy),
        "status": texts.MATTER_STATUS.get(matter.status, matter.status),
        "notice_due": matter.notice_due,
        "plan_year": matter.plan_year,
        "note": matter.note,
    }


def _width(value: object) -> int:
    if isinstance(value, dt.date):
        return 10
    lines = str(value).splitlines() or [""]
    return max(
        sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in lines
    )


def export_registry(session: Session, roster: Roster, path: Path) -> int:
    """Write every matter, by number, to a new workbook at ``path``; the number written."""
    people = _People(roster)
    matters = list(session.scalars(select(Matter).order_by(Matter.id)))
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet.append([c.header for c in COLUMNS])
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    widths = [max(c.min_width, _width(c.header)) for c in COLUMNS]
    for row, matter in enumerate(matters, start=2):
        values = _row_values(matter, people)
        for col, column in enumerate(COLUMNS, start=1):
            value = values[column.field]
            if value == "":
                value = None
            cell = sheet.cell(row=row, column=col, value=value)
            if isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            if value is not None:
                widths[col - 1] = max(widths[col - 1], _width(value))
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = min(width + 2, 60)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(matters) + 1}"
    workbook.save(path)
    return len(matters)


# --- reading the sheet ---------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return str(value).strip()


@dataclass
class _Sheet:
    header_row: int
    columns: dict[str, int]  # field -> 0-based column index
    rows: list[tuple[int, tuple[object, ...]]]  # (Excel row number, values)
    ignored: tuple[str, ...]


def _read(path: Path) -> _Sheet:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on unsupported Excel features
            workbook = load_workbook(path, data_only=True)
    except FileNotFoundError:
        raise RegistryImportError([f"{path}：文件不存在"]) from None
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise RegistryImportError([f"{path}：无法读取，请另存为 .xlsx 后再导入（{exc}）"]) from None
    try:
        sheet = workbook.worksheets[0]
        max_col = max(sheet.max_column, 1)
        rows: list[tuple[object, ...]] = [
            tuple(r)
            for r in sheet.iter_rows(min_row=1, min_col=1, max_col=max_col, values_only=True)
        ]
    finally:
        workbook.close()
    header_index = 0
    for i, values in enumerate(rows[:HEADER_SCAN_ROWS]):
        if sum(_header_key(_text(v)) in _BY_HEADER for v in values) >= 2:
            header_index = i
            break
    header_row = header_index + 1
    headers = rows[header_index] if rows else ()
    columns: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[str] = []
    for index, value in enumerate(headers):
        text = _text(value)
        column = _BY_HEADER.get(_header_key(text))
        if column is None:
            if text:
                ignored.append(text)
        elif column.field in columns:
            first = get_column_letter(columns[column.field] + 1)
            problems.append(
                f"第{header_row}行「{column.header}」：表头重复"
                f"（{first}列和{get_column_letter(index + 1)}列）"
            )
        else:
            columns[column.field] = index
    for column in COLUMNS:
        if column.required and column.field not in columns:
            problems.append(f"第{header_row}行（表头）：缺少「{column.header}」列")
    if problems:
        raise RegistryImportError(problems)
    body = [(header_row + 1 + i, values) for i, values in enumerate(rows[header_index + 1 :])]
    return _Sheet(header_row, columns, body, tuple(ignored))


def _date_cell(value: object) -> object:
    """A date cell that lost its date format (an Excel serial number) as a date; any other
    value as it is, for handlers.matters.fields.to_date."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = from_excel(value)
        except (ValueError, OverflowError, TypeError):
            return _text(value)
        if isinstance(moment, dt.datetime) and 2000 <= moment.year < 2100:
            return moment.date()
    return value if isinstance(value, dt.date) else _text(value)


# --- import --------------------------------------------------------------------------------


@dataclass
class _Plan:
    row: int
    matter: Matter | None
    values: dict[str, Any] = field(default_factory=dict)  # the matter's fields after import


_FIELDS = (
    "name",
    "category",
    "star",
    "platform",
    "department",
    "owner",
    "deputy",
    "status",
    "notice_due",
    "plan_year",
    "note",
)


def _show(name: str, value: object, people: _People) -> str:
    if value is None or value == "":
        return "（空）"
    if name == "star":
        return "是" if value else "否"
    if name == "status":
        return texts.MATTER_STATUS.get(str(value), str(value))
    if name in ("owner", "deputy"):
        return people.display(str(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def import_registry(
    session: Session, roster: Roster, cal: WorkCalendar, path: Path, now: dt.datetime
) -> ImportResult:
    """Check the first sheet of ``path`` row by row, then apply it to the registry in
    ``session`` (the caller commits). Raises RegistryImportError, having written nothing."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    sheet = _read(path)
    people = _People(roster)
    existing = {m.id: m for m in session.scalars(select(Matter))}
    problems: list[tuple[int, int, str]] = []
    plans: list[_Plan] = []
    numbers: dict[int, int] = {}  # matter id -> row

    for row, values in sheet.rows:

        def cell(name: str, values: tuple[object, ...] = values) -> object:
            index = sheet.columns.get(name)
            return values[index] if index is not None and index < len(values) else None

        if all(_text(cell(c.field)) == "" for c in COLUMNS):
            continue

        def problem(name: str, what: str, row: int = row) -> None:
            column = _BY_FIELD[name]
            problems.append((row, COLUMNS.index(column), f"第{row}行「{column.header}」：{what}"))

        matter: Matter | None = None
        number_text = _text(cell("number"))
        if number_text:
            match = _NUMBER.fullmatch(unicodedata.normalize("NFKC", number_text))
            if match is None or int(match[1]) == 0:
                problem("number", f"「{number_text}」不是编号（如督3；新增事项留空）")
            else:
                number = int(match[1])
                if number in numbers:
                    problem("number", f"督{number}与第{numbers[number]}行重复")
                else:
                    numbers[number] = row
                matter = existing.get(number)
                if matter is None:
                    problem("number", f"督{number}不存在（编号由督办助手分配，新增事项请留空）")
        plan = _Plan(row, matter)
        plans.append(plan)
        _plan_row(plan, sheet, cell, problem, roster, people)
        _plan_year(plan, sheet, cell, problem, roster, now.astimezone(cal.tz).year + 1)

    # Names: unique in the sheet and among the matters the sheet leaves alone.
    others = {normalize_name(m.name): m.id for m in existing.values() if m.id not in numbers}
    seen: dict[str, int] = {}
    for plan in plans:
        name = plan.values.get("name")
        if not name:
            continue
        key = normalize_name(name)
        column = COLUMNS.index(_BY_FIELD["name"])
        if key in seen:
            what = f"「{name}」与第{seen[key]}行重名"
            problems.append((plan.row, column, f"第{plan.row}行「事项名称」：{what}"))
        elif key in others:
            what = f"「{name}」与督{others[key]}重名"
            problems.append((plan.row, column, f"第{plan.row}行「事项名称」：{what}"))
        seen.setdefault(key, plan.row)

    if problems:
        raise RegistryImportError([text for _, _, text in sorted(problems)])
    created = updated = unchanged = 0
    for plan in plans:
        if plan.matter is None:
            sync_matter(session, roster, cal, now, _create(session, plan, now))
            created += 1
        elif _update(session, plan, now, people):
            sync_matter(session, roster, cal, now, plan.matter)
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return ImportResult(created, updated, unchanged, sheet.ignored)


def _plan_row(
    plan: _Plan,
    sheet: _Sheet,
    cell: Callable[[str], object],
    problem: Callable[[str, str], None],
    roster: Roster,
    people: _People,
) -> None:
    """The row's values for every field, or a problem for each bad cell."""
    matter = plan.matter
    values = plan.values

    def present(name: str) -> bool:
        return name in sheet.columns

    def text(name: str) -> str:
        return _text(cell(name))

    def keep(name: str, default: object) -> object:
        return getattr(matter, name) if matter is not None else default

    def check(name: str, convert: Callable[[], T]) -> T | None:
        """The cell's value by the field's check (handlers.matters.fields), or None with the
        problem noted."""
        try:
            return convert()
        except BadValue as exc:
            problem(name, exc.cell)
            return None

    name = text("name")
    if not name:
        problem("name", "未填写")
    elif check("name", lambda: to_name(name)) is not None:
        values["name"] = name

    cat: Category | None = None
    raw = text("category")
    if not raw:
        problem("category", "未填写")
    else:
        cat = check("category", lambda: to_category(raw))
        if cat is not None:
            values["category"] = cat.name

    raw = text("star")
    if raw:
        star = check("star", lambda: to_star(raw))
        if star is not None:
            values["star"] = star
    elif cat is not None:
        values["star"] = cat.star if present("star") or matter is None else matter.star

    raw = text("platform")
    if raw:
        found = check("platform", lambda: to_platform(raw))
        if found is not None:
            values["platform"] = found
    elif cat is not None:
        values["platform"] = (
            cat.platform if present("platform") or matter is None else matter.platform
        )

    dept = None
    raw = text("department")
    if not raw:
        problem("department", "未填写")
    else:
        if matter is not None and raw == matter.department and not roster.department(raw):
            values["department"] = raw  # no longer in the roster, but unchanged
        else:
            dept = check("department", lambda: to_department(roster, raw))
            if dept is not None:
                values["department"] = dept.name

    raw = text("owner")
    if not raw:
        problem("owner", "未填写")
    else:
        current, of = (matter.owner if matter else None), (dept.name if dept else None)
        owner = check("owner", lambda: to_owner(roster, raw, of, current))
        if owner is not None:
            values["owner"] = owner

    raw = text("deputy")
    if raw:
        current = matter.deputy if matter else None
        deputy = check("deputy", lambda: to_person(roster, raw, current))
        if deputy is not None:
            values["deputy"] = deputy
    elif present("deputy") or matter is None:
        if dept is not None:
            values["deputy"] = dept.deputy
        elif matter is not None and "department" in values:
            values["deputy"] = matter.deputy  # department outside the roster: keep the deputy
    else:
        values["deputy"] = matter.deputy

    raw = text("status")
    if raw:
        status = check("status", lambda: to_status(raw))
        if status is not None:
            values["status"] = status
    else:
        values["status"] = keep("status", "open")

    due: object = keep("notice_due", None)
    raw = text("notice_due")
    if raw:
        due = check("notice_due", lambda: to_date(_date_cell(cell("notice_due")), raw))
        if due is not None and cat is not None and cat.name != INSTRUCTION:
            problem("notice_due", f"只有{INSTRUCTION}填写反馈期限")
    elif present("notice_due"):
        due = None
    if cat is not None and cat.name != INSTRUCTION:
        due = None
    values["notice_due"] = due

    values["note"] = text("note") if present("note") else keep("note", "")


def _plan_year(
    plan: _Plan,
    sheet: _Sheet,
    cell: Callable[[str], object],
    problem: Callable[[str, str], None],
    roster: Roster,
    latest: int,
) -> None:
    """年度: the year a 实事项目 was declared for (its filings start that January); empty or
    absent keeps an existing matter's."""
    matter, values = plan.matter, plan.values
    annual = values.get("category") in roster.filings.annual.categories
    raw = _text(cell("plan_year"))
    year: int | None = matter.plan_year if matter is not None else None
    if raw:
        try:
            year = to_plan_year(raw, latest)
        except BadValue as exc:
            problem("plan_year", exc.cell)
            year = None
        if not annual and "category" in values:
            problem("plan_year", f"只有{'、'.join(roster.filings.annual.categories)}填写年度")
    elif "plan_year" in sheet.columns:
        year = None
    values["plan_year"] = year if annual else None


def _create(session: Session, plan: _Plan, now: dt.datetime) -> Matter:
    values = plan.values
    detail = f"{values['category']}·{values['department']}（表格导入）"
    return create_matter(session, now, ACTOR, detail, **{name: values[name] for name in _FIELDS})


def _update(session: Session, plan: _Plan, now: dt.datetime, people: _People) -> bool:
    matter = plan.matter
    assert matter is not None
    changed = False
    for name in _FIELDS:
        old, new = getattr(matter, name), plan.values[name]
        if old == new:
            continue
        changed = True
        label = _BY_FIELD[name].header
        detail = f"{label}：{_show(name, old, people)} → {_show(name, new, people)}"
        change(session, matter, now, ACTOR, name, new, detail)
    return changed
