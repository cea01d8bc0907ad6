"""The task book's workbook: a bad row refuses the whole workbook naming row and column,
nothing imported; a good one becomes tasks with milestone deadlines; the export opens in
python-docx and openpyxl and imports again; through the command line."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import docx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.cli import main
from bot.taskbook_xlsx import TaskbookImportError, import_taskbook
from config.roster import Roster
from handlers.taskbook.export import word, workbook
from storage.db import Database
from storage.models import Deadline, Task, TaskBook, TaskMilestone
from tests.conftest import CAL, EXAMPLE_ROSTER, TZ

NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=TZ)
HEADER = ["任务名称", "类别", "预期目标", "时间节点", "具体举措", "责任人", "平台"]
GOOD = [
    [
        "臭氧攻坚",
        "局重点工作",
        "PM2.5达标",
        "11月30日 完成方案；12月31日 完成验收",
        "监测",
        "孙内勤",
        "",
    ],
    ["扬尘治理", "", "", "2026-12-15 完成整治", "", "老刘", "区网上督查室"],
]


def sheet(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def counts(db: Database) -> tuple[int, int, int, int]:
    with db.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(TaskBook)) or 0,
            s.scalar(select(func.count()).select_from(Task)) or 0,
            s.scalar(select(func.count()).select_from(TaskMilestone)) or 0,
            s.scalar(select(func.count()).select_from(Deadline)) or 0,
        )


def run(db: Database, roster: Roster, path: Path) -> list[tuple[str, int]]:
    with db.transaction() as s:
        return import_taskbook(s, roster, CAL, path, 2026, NOW).counts


def test_a_bad_row_refuses_the_workbook_naming_row_and_column(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    bad = [*GOOD, ["河道", "不存在的类别", "", "年底前完成", "", "", ""]]
    path = sheet(tmp_path / "t.xlsx", {"大气环境处": [HEADER, *GOOD], "水处": [HEADER, *bad]})
    with pytest.raises(TaskbookImportError) as caught:
        run(db, roster, path)
    problems = caught.value.problems
    assert any(p.startswith("「水处」工作表第4行「类别」：") for p in problems), problems
    assert any(p.startswith("「水处」工作表第4行「时间节点」：") for p in problems), problems
    assert len(problems) == 2
    assert counts(db) == (0, 0, 0, 0)  # nothing imported, not even the good sheet


def test_a_processing_column_and_a_bad_date(db: Database, roster: Roster, tmp_path: Path) -> None:
    rows = [
        ["处室", *HEADER],
        ["大气处", *GOOD[0]],
        ["财务处", "x", "", "", "6月31日 y", "", "", ""],
    ]
    path = sheet(tmp_path / "t.xlsx", {"Sheet1": rows})
    with pytest.raises(TaskbookImportError) as caught:
        run(db, roster, path)
    assert caught.value.problems == [
        "第3行「处室」：「财务处」不是名单中的处室",
        "第3行「时间节点」：「6月31日」不是有效日期",
    ]
    assert counts(db) == (0, 0, 0, 0)


def test_a_good_workbook_becomes_tasks_with_deadlines(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    path = sheet(tmp_path / "t.xlsx", {"大气环境处": [["2026年任务书"], HEADER, *GOOD]})
    assert run(db, roster, path) == [("大气环境处", 2)]
    with db.sessions() as s:
        first, second = s.scalars(select(Task).order_by(Task.id)).all()
        assert (first.department, first.owner, first.platform) == (
            "大气环境处",
            "u-air-clerk",
            "无",
        )
        assert (second.category, second.owner, second.platform) == (
            "局重点工作",
            "老刘",
            "区网上督查室",
        )
        ms = s.scalars(select(TaskMilestone).order_by(TaskMilestone.id)).all()
        assert [(m.task_id, m.seq, m.due, m.what) for m in ms] == [
            (first.id, 1, dt.date(2026, 11, 30), "完成方案"),
            (first.id, 2, dt.date(2026, 12, 31), "完成验收"),
            (second.id, 1, dt.date(2026, 12, 15), "完成整治"),
        ]
        rows = s.scalars(select(Deadline).where(Deadline.state == "pending")).all()
        assert {r.id for r in rows} == {m.deadline_id for m in ms}
        assert all(r.clock == "milestone" for r in rows)
    # a second import replaces the draft
    assert run(db, roster, path) == [("大气环境处", 2)]
    assert counts(db)[:3] == (1, 2, 3)
    # once submitted, the department's book is no longer imported
    with db.transaction() as s:
        (found,) = s.scalars(select(TaskBook)).all()
        found.state = "submitted"
    with pytest.raises(TaskbookImportError) as caught:
        run(db, roster, path)
    assert "已提交" in caught.value.problems[0]


def test_the_export_opens_and_imports_again(db: Database, roster: Roster, tmp_path: Path) -> None:
    rows = [["处室", *HEADER], ["大气处", *GOOD[0]], ["水处", *GOOD[1]]]
    run(db, roster, sheet(tmp_path / "t.xlsx", {"Sheet1": rows}))
    with db.sessions() as s:
        document = docx.Document(io.BytesIO(word(s, roster, 2026)))
        content = workbook(s, roster, 2026)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == ["一、大气环境处", "二、水生态环境处"]
    assert len(document.tables) == 2
    cells = [c.text for c in document.tables[0].rows[1].cells]
    assert cells[1:] == [
        "臭氧攻坚",
        "局重点工作",
        "PM2.5达标",
        "11月30日 完成方案\n12月31日 完成验收",
        "监测",
        "孙内勤",
        "无",
    ]
    ws = load_workbook(io.BytesIO(content)).active
    assert ws is not None
    assert [c.value for c in ws[1]][:3] == ["处室", "编号", "任务名称"]
    assert ws.max_row == 3
    again = tmp_path / "again.xlsx"
    again.write_bytes(content)
    assert run(db, roster, again) == [("大气环境处", 1), ("水生态环境处", 1)]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clock = tmp_path / "clock.txt"
    clock.write_text(NOW.isoformat(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/bot.db")
    monkeypatch.setenv("BOT_ORG_FILE", str(EXAMPLE_ROSTER))
    monkeypatch.setenv("BOT_CLOCK_FILE", str(clock))
    monkeypatch.setenv("BOT_CALENDAR_FILE", str(tmp_path / "calendar.txt"))
    return tmp_path


def test_the_command_line(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = sheet(
        cli_env / "bad.xlsx", {"大气环境处": [HEADER, ["x", "", "", "没有日期", "", "", ""]]}
    )
    assert main(["taskbook", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "未导入" in err and "第2行「时间节点」：" in err
    good = sheet(cli_env / "good.xlsx", {"大气环境处": [HEADER, *GOOD]})
    assert main(["taskbook", "import", str(good), "--year", "2026"]) == 0
    assert "大气环境处2项" in capsys.readouterr().out
    assert main(["taskbook", "export", "--year", "2026", "--out", str(cli_env / "out")]) == 0
    written = sorted(p.name for p in (cli_env / "out").iterdir())
    assert written == ["2026年度局重点工作任务书.docx", "2026年度局重点工作任务书.xlsx"]
    assert len(docx.Document(str(cli_env / "out" / written[0])).tables) == 1
