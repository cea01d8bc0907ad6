"""``python -m bot filings import|export``: the 月报表 by sheet, all or nothing, problems named
by row and column; the compiled files written for the operator; English errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import openpyxl
import pytest
from sqlalchemy import select

from bot.cli import main
from config.roster import Roster
from handlers.context import Ctx
from handlers.dispatch import run_command
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Filing, OutboxMessage
from tests.conftest import EXAMPLE_ROSTER

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HEADERS = ["序号", "责任处室", "事项编号", "项目名称", "项目完成情况", "累计完成进度（%）", "备注"]
DONE = "1、证照办理情况：已取得\n2、本月进展情况：铺设管网\n3、下月主要工作安排：验收"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, roster: Roster) -> Path:
    clock = tmp_path / "clock.txt"
    clock.write_text(NOW.isoformat(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/bot.db")
    monkeypatch.setenv("BOT_ORG_FILE", str(EXAMPLE_ROSTER))
    monkeypatch.setenv("BOT_CLOCK_FILE", str(clock))
    monkeypatch.setenv("BOT_CALENDAR_FILE", str(tmp_path / "calendar.txt"))
    assert main(["db", "upgrade"]) == 0
    db = Database(f"sqlite:///{tmp_path}/bot.db")
    try:
        for text in (
            "新增事项 实事项目 大气处 孙内勤 雨污混接改造",
            "新增事项 实事项目 水处 吴内勤 河道整治",
            "新增事项 局重点工作 水处 吴内勤 臭氧防治",
            "新增事项 实事项目 水处 吴内勤 泵站改造",
        ):
            with db.transaction() as session:
                ctx = Ctx(session, roster, WorkCalendar(), NOW, actor="u-admin")
                assert run_command(ctx, text).ok
    finally:
        db.dispose()
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def sheet(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["浦东新区为民办实事项目建设进度月报表"])
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    book.save(path)
    return path


def filings(env: Path) -> dict[int, Filing]:
    db = Database(f"sqlite:///{env}/bot.db")
    try:
        with db.sessions() as session:
            found = session.scalars(select(Filing).where(Filing.period == "2026-11")).all()
            return {f.matter_id: f for f in found}
    finally:
        db.dispose()


def test_import_all_or_nothing_then_export(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = sheet(
        env / "bad.xlsx",
        [
            [1, "大气环境处", "督1", "雨污混接改造", DONE, 60, ""],
            [
                2,
                "水生态环境处",
                "",
                "河道整治",
                "1、证照办理情况：无需\n2、本月进展情况：清淤",
                "120%",
                "",
            ],
            [3, "水生态环境处", "督3", "臭氧防治", DONE, 10, ""],
            [4, "", "", "不存在的项目", DONE, 10, ""],
        ],
    )
    code, out, err = cli(capsys, "filings", "import", "实事项目", str(bad), "--period", "2026-11")
    assert (code, out) == (2, [])
    assert "4处问题" in err[0] and "没有改动" in err[0]
    assert err[1:] == [
        "第4行「项目完成情况」：缺少「下月主要工作安排」",
        "第4行「累计完成进度（%）」：「累计完成进度」应在0到100之间，收到「120%」",
        "第5行「事项编号」：督3是局重点工作，不是实事项目",
        "第6行「项目名称」：没有名为「不存在的项目」的实事项目",
    ]
    assert all(f.done_at is None for f in filings(env).values())
    good = sheet(
        env / "good.xlsx",
        [
            [1, "大气环境处", "督1", "雨污混接改造", DONE, 60, ""],
            [2, "水生态环境处", "", "河道整治", DONE.replace("已取得", "无需"), "45%", "汛期停工"],
        ],
    )
    assert cli(capsys, "filings", "import", "实事", str(good)) == (
        0,
        ["导入完成：填报2项，未变0项"],
        [],
    )
    rows = filings(env)
    assert rows[1].content is not None and rows[1].content["累计完成进度"] == "60"
    assert rows[2].content is not None and rows[2].content["备注"] == "汛期停工"
    assert rows[1].done_at is not None and not rows[1].overdue
    code, out, _ = cli(capsys, "filings", "export", "实事项目", "--period", "2026-11", "--out", "o")
    assert code == 0
    assert out == ["o/实事项目2026年11月汇总.docx", "o/实事项目2026年11月汇总.xlsx"]
    word = docx.Document(str(env / out[0]))
    statuses = [r.cells[7].text for r in word.tables[0].rows[1:]]
    assert statuses == ["按时报送", "按时报送", "未报送"]  # 督4: not due yet
    # the export reads back: nothing changes, the row not filed is left alone
    assert cli(capsys, "filings", "import", "实事项目", out[1])[1] == ["导入完成：填报0项，未变2项"]
    db = Database(f"sqlite:///{env}/bot.db")
    try:
        with db.sessions() as session:
            assert session.scalars(select(OutboxMessage)).all() == []  # on time: nobody told
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["export", "实事工程", "--out", "o"], "category '实事工程' is not a category"),
        (["export", "局重点工作", "--out", "o"], "'局重点工作' has no filing template"),
        (["export", "实事项目", "--period", "11月", "--out", "o"], "--period '11月' is not"),
        (["export", "民心工程", "--out", "o"], "no filings of 民心工程 for 2026-11"),
        (["import", "局重点工作", "x.xlsx"], "'局重点工作' has no filing template"),
    ],
)
def test_operator_errors(
    env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, err = cli(capsys, "filings", *argv)
    assert code == 2 and out == [] and err[0].startswith("error: ") and says in err[0]


def test_a_sheet_without_the_columns(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "filings", "import", "实事项目", "none.xlsx")
    assert code == 2 and "none.xlsx：文件不存在" in err[-1]
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["项目名称", "累计完成进度（%）"])
    book.save(env / "h.xlsx")
    code, _, err = cli(capsys, "filings", "import", "实事项目", "h.xlsx")
    assert code == 2 and err[1:] == ["第1行（表头）：缺少「项目完成情况」列"]
