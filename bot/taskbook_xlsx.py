"""The task book's workbook: read and check every sheet, then replace the departments' draft
task books (handlers.taskbook.book); nothing is written when any row has a problem. Each
problem reads ``第{row}行「{column}」：{what}`` (the sheet's name before it when the workbook
has several) with the row number Excel shows.

One sheet per department (the sheet's name is the department) or a 处室 column. Columns are
found by their headers (any order; unknown columns, such as the export's 编号, are ignored):
任务名称 and 时间节点 are required; an empty 类别 is 局重点工作, an empty 平台 the category's
platform; 预期目标, 具体举措 and 责任人 may be empty (the score counts such a task as
incomplete). A 责任人 who is in the roster is stored as their userId, anyone else by name.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers.matters.fields import BadValue, to_category, to_platform
from handlers.taskbook.book import (
    DEFAULT_CATEGORY,
    BadMilestones,
    NewTask,
    book_of,
    owner_id,
    parse_milestones,
    replace_tasks,
    too_early,
)
from handlers.workcal import WorkCalendar

HEADER_SCAN_ROWS = 10
FIELDS = {
    "处室": "dept",
    "部门": "dept",
    "责任处室": "dept",
    "任务名称": "name",
    "任务": "name",
    "工作任务": "name",
    "类别": "category",
    "预期目标": "target",
    "目标": "target",
    "时间节点": "milestones",
    "具体举措": "measures",
    "举措": "measures",
    "责任人": "owner",
    "平台": "platform",
    "填报平台": "platform",
}
LABELS = {"dept": "处室", "name": "任务名称", "milestones": "时间节点"}
REQUIRED = ("name", "milestones")


class TaskbookImportError(ValueError):
    """The workbook was refused; ``problems`` lists each one, nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class ImportResult:
    year: int
    counts: list[tuple[str, int]]  # (department, tasks) in sheet order


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lstrip("*★").rstrip(":：")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def read_tasks(path: Path, roster: Roster, year: int) -> dict[str, list[NewTask]]:
    """Every task of the workbook by department; raises TaskbookImportError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, data_only=True)
    except FileNotFoundError:
        raise TaskbookImportError([f"{path}：文件不存在"]) from None
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise TaskbookImportError([f"{path}：无法读取，请另存为 .xlsx 后再导入（{exc}）"]) from None
    try:
        sheets = [
            (ws.title, [tuple(r) for r in ws.iter_rows(values_only=True)])
            for ws in workbook.worksheets
        ]
    finally:
        workbook.close()
    sheets = [(t, rows) for t, rows in sheets if any(any(v is not None for v in r) for r in rows)]
    problems: list[str] = []
    out: dict[str, list[NewTask]] = {}
    for title, rows in sheets:
        where = f"「{title}」工作表" if len(sheets) > 1 else ""
        _sheet(roster, year, title, rows, where, problems, out)
    if not sheets:
        problems.append(f"{path}：没有任务")
    if problems:
        raise TaskbookImportError(problems)
    return out


def _sheet(
    roster: Roster,
    year: int,
    title: str,
    rows: list[tuple[object, ...]],
    where: str,
    problems: list[str],
    out: dict[str, list[NewTask]],
) -> None:
    head = next(
        (
            i
            for i, r in enumerate(rows[:HEADER_SCAN_ROWS])
            if sum(_key(_text(v)) in FIELDS for v in r) >= 2
        ),
        0,
    )
    columns: dict[str, int] = {}
    for index, value in enumerate(rows[head] if rows else ()):
        field = FIELDS.get(_key(_text(value)))
        if field is not None and field not in columns:
            columns[field] = index
    missing = [LABELS[f] for f in REQUIRED if f not in columns]
    if missing:
        for label in missing:
            problems.append(f"{where}第{head + 1}行（表头）：缺少「{label}」列")
        return
    sheet_dept = roster.department(title)
    if "dept" not in columns and sheet_dept is None:
        problems.append(
            f"{where}第{head + 1}行（表头）：没有「处室」列，工作表名「{title}」也不是处室"
        )
        return
    for number, values in enumerate(rows[head + 1 :], head + 2):

        def cell(field: str, values: tuple[object, ...] = values) -> str:
            index = columns.get(field)
            return _text(values[index]) if index is not None and index < len(values) else ""

        if not any(_text(v) for v in values):
            continue

        def problem(label: str, what: str, number: int = number) -> None:
            problems.append(f"{where}第{number}行「{label}」：{what}")

        dept = sheet_dept
        if "dept" in columns:
            dept = roster.department(cell("dept")) if cell("dept") else sheet_dept
            if dept is None:
                problem(
                    "处室", f"「{cell('dept')}」不是名单中的处室" if cell("dept") else "不能为空"
                )
        name = cell("name")
        if not name:
            problem("任务名称", "不能为空")
        category = None
        try:
            category = to_category(cell("category") or DEFAULT_CATEGORY)
        except BadValue as exc:
            problem("类别", exc.cell)
        platform = category.platform if category is not None else None
        if cell("platform"):
            try:
                platform = to_platform(cell("platform"))
            except BadValue as exc:
                problem("平台", exc.cell)
                platform = None
        milestones: list[tuple[dt.date, str]] = []
        if cell("milestones"):
            try:
                milestones = parse_milestones(cell("milestones"), year)
            except BadMilestones as exc:
                problem("时间节点", str(exc))
            for what in too_early(milestones, year):
                problem("时间节点", what)
        if dept is None or not name or category is None or platform is None:
            continue
        out.setdefault(dept.name, []).append(
            NewTask(
                department=dept.name,
                name=name,
                category=category.name,
                platform=platform,
                target=cell("target"),
                measures=cell("measures"),
                owner=owner_id(roster, cell("owner")),
                milestones=tuple(milestones),
            )
        )


def import_taskbook(
    session: Session, roster: Roster, cal: WorkCalendar, path: Path, year: int, now: dt.datetime
) -> ImportResult:
    """Check the whole workbook, then replace each department's draft task book of ``year``."""
    tasks = read_tasks(path, roster, year)
    problems = []
    for dept in tasks:
        found = book_of(session, year, dept)
        if found is not None and found.state != "draft":
            problems.append(
                f"「处室」{dept}：{year}年度任务书已提交，不能再导入（审定后请用「任务调整」）"
            )
    if problems:
        raise TaskbookImportError(problems)
    counts = []
    for dept, new in tasks.items():
        replace_tasks(session, roster, cal, now, year, dept, new)
        counts.append((dept, len(new)))
    return ImportResult(year, counts)
