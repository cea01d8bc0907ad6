"""Statistics per department: handlers.stats.figures, the workbook, the CLI."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from bot.cli import main
from bot.stats_xlsx import export_stats
from config.roster import Roster
from handlers.stats.figures import (
    Stats,
    clock_outcome,
    department_stats,
    item_outcomes,
    month_window,
    render_summary,
)
from storage.db import Database
from storage.models import Filing, Interview, Item, Light, Matter
from tests.conftest import EXAMPLE_ROSTER, TZ

AIR, WATER, OLD = "大气环境处", "水生态环境处", "旧处室"
START, END = month_window("2026-11", TZ)
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=TZ)
H, D = dt.timedelta(hours=1), dt.timedelta(days=1)


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


R = at(10)  # most items arrive then


def wall(moment: dt.datetime) -> dt.datetime:
    """The Shanghai wall time, as the workbook holds it (Excel has no time zones)."""
    return moment.astimezone(TZ).replace(tzinfo=None)


def item(received: dt.datetime, dept: str | None, state: str, **times: Any) -> Item:
    return Item(
        town="川沙新镇",
        category="政策咨询",
        text="请问扬尘管控有哪些新要求？",
        state=state,
        department=dept,
        received_at=received,
        triage_due=received + 4 * H,
        **times,
    )


def done_item(received: dt.datetime, dept: str | None) -> Item:
    """Answered, every clock met."""
    return item(
        received,
        dept,
        "answered",
        triaged_at=received + H,
        claim_due=received + D,
        claimed_at=received + 2 * H,
        reply_due=received + 3 * D,
        replied_at=received + 2 * D,
    )


def seed_items(session: Session) -> None:
    on_claim = {"triaged_at": R + H, "claim_due": R + D, "claimed_at": R + 2 * H}
    hard = {**on_claim, "hard": True, "reply_due": R + 3 * D, "placeholder_due": R + 2 * D}
    session.add_all(
        [
            done_item(START, AIR),  # 1: received at the window's start: in
            item(  # 2: every clock late
                R,
                AIR,
                "answered",
                triaged_at=R + 5 * H,
                claim_due=R + D,
                claimed_at=R + D + H,
                reply_due=R + 3 * D,
                replied_at=R + 3 * D + H,
            ),
            item(R, AIR, "claimed", **on_claim, reply_due=at(19, 17)),  # 3: reply open past due
            item(  # 4: claim open past due
                at(19), AIR, "assigned", triaged_at=at(19, 10), claim_due=at(19, 17)
            ),
            item(  # 5: reply not yet due
                at(19),
                AIR,
                "claimed",
                triaged_at=at(19, 10),
                claim_due=at(19, 17),
                claimed_at=at(19, 11),
                reply_due=at(24, 17),
            ),
            item(R, AIR, "hard", **hard, placeholder_at=R + D),  # 6: placeholder in time
            item(  # 7: placeholder late, still before the reply's due; answered offline late
                R, AIR, "offline", **hard, placeholder_at=R + 2 * D + H, replied_at=R + 6 * D
            ),
            done_item(R, WATER),  # 8
            item(  # 9: assigned, then rejected: no department's
                R,
                WATER,
                "rejected",
                triaged_at=R + H,
                claim_due=R + D,
                replied_at=R + 3 * H,
            ),
            item(at(20, 7), None, "new"),  # 10: triage open past due (due 11:00)
            item(at(20, 11), None, "new"),  # 11: triage not yet due (due 15:00)
            item(R, None, "rejected", triaged_at=R + H, replied_at=R + H),  # 12
            done_item(END, AIR),  # 13: received at the window's end: out
            done_item(START - dt.timedelta(minutes=1), AIR),  # 14: out
            done_item(R, OLD),  # 15: a department no longer in the roster
        ]
    )


def matter(session: Session, name: str, dept: str, category: str, star: bool) -> int:
    row = Matter(
        name=name,
        category=category,
        star=star,
        platform="无",
        department=dept,
        owner="u-air-clerk",
        deputy="u-deputy-1",
        created_at=at(1, month=1),
    )
    session.add(row)
    session.flush()
    return row.id


def filing(
    matter_id: int,
    period: str,
    due: dt.datetime,
    done: dt.datetime | None = None,
    overdue: bool = False,
) -> Filing:
    return Filing(
        matter_id=matter_id,
        period=period,
        node=due.date(),
        due_at=due,
        done_at=done,
        done_by="u-air-clerk" if done else None,
        overdue=overdue,
    )


def light(matter_id: int, period: str, color: str) -> Light:
    return Light(matter_id=matter_id, period=period, color=color, at=at(1), by="u-admin")


def interview(matter_id: int, tier: int, condition: str, state: str) -> Interview:
    return Interview(
        matter_id=matter_id,
        tier=tier,
        condition=condition,
        rule="连续二次亮黄灯",
        evidence="",
        interviewer="u-air-head",
        interviewee="u-air-clerk",
        state=state,
        opened_at=at(5),
    )


def seed_registry(session: Session) -> None:
    m1 = matter(session, "扬尘治理", AIR, "区委区政府重点工作", True)
    m2 = matter(session, "VOCs减排", AIR, "局重点工作", False)
    m3 = matter(session, "河道整治", WATER, "实事项目", True)
    m4 = matter(session, "水质简报", WATER, "民心工程", True)
    m5 = matter(session, "臭氧防控", AIR, "实事项目", True)
    session.add_all(
        [
            filing(m4, "2026-10", START, done=START - H),  # due at the start: in, on time
            filing(m1, "2026-11", at(6, 17), done=at(5, 10)),  # on time
            filing(m4, "2026-11", at(18, 17), done=at(19, 10)),  # filed late: 超限
            filing(m2, "2026-11", at(19, 17), overdue=True),  # marked 超限
            filing(m5, "2026-11", at(20, 9)),  # past due, not yet marked: 超限
            filing(m3, "2026-11", at(25, 17)),  # not yet due
            filing(m1, "2026-10", at(20, 17, month=10), overdue=True),  # out
            filing(m3, "2026-12", END),  # due at the window's end: out
            light(m1, "2026-11", "yellow"),
            light(m2, "2026-11", "yellow"),
            light(m5, "2026-11", "red"),
            light(m3, "2026-11", "green"),
            light(m1, "2026-10", "red"),  # out
            light(m1, "2026-12", "green"),  # out
            interview(m1, 1, "yellow2", "open"),
            interview(m1, 2, "yellowred3", "superseded"),
            interview(m5, 1, "late2", "held"),
            interview(m3, 1, "yellow2", "open"),
        ]
    )


def seed(database: Database) -> None:
    with database.transaction() as session:
        seed_items(session)
        seed_registry(session)


def november(db: Database, roster: Roster) -> Stats:
    seed(db)
    with db.sessions() as session:
        return department_stats(session, roster, START, END, NOW)


# --- definitions ---------------------------------------------------------------------------


def test_clock_outcome_boundaries() -> None:
    due = at(10, 12)
    tick = dt.timedelta(microseconds=1)
    assert clock_outcome(None, None, NOW) is None
    assert clock_outcome(due, due, NOW) == "on_time"
    assert clock_outcome(due, due + tick, NOW) == "late"
    assert clock_outcome(due, None, due) == "pending"
    assert clock_outcome(due, None, due + tick) == "open_overdue"
    assert clock_outcome(due, None, NOW, closed=True) is None
    assert clock_outcome(due, due + tick, NOW, closed=True) == "late"


def test_an_undelivered_reply_counts_until_it_lands() -> None:
    """An approved reply that DingTalk refused leaves the item answered without replied_at:
    its reply clock is overdue, not left out."""
    due = dt.datetime(2026, 11, 18, 17, tzinfo=TZ)
    item = Item(state="answered", hard=False, reply_due=due, replied_at=None)
    assert item_outcomes(item, due + dt.timedelta(hours=1))["reply"] == "open_overdue"
    item.replied_at = due - dt.timedelta(hours=1)
    assert item_outcomes(item, due + dt.timedelta(hours=1))["reply"] == "on_time"


def test_month_window() -> None:
    assert month_window("2026-12", TZ) == (
        dt.datetime(2026, 12, 1, tzinfo=TZ),
        dt.datetime(2027, 1, 1, tzinfo=TZ),
    )
    assert START.utcoffset() == dt.timedelta(hours=8)
    for bad in ("2026-13", "2026-1", "202611", "2026-11-01", "x"):
        with pytest.raises(ValueError, match="not a month"):
            month_window(bad, TZ)


def test_empty_database(db: Database, roster: Roster) -> None:
    with db.sessions() as session:
        stats = department_stats(session, roster, START, END, NOW)
        with pytest.raises(ValueError, match="start must be an aware"):
            department_stats(session, roster, START.replace(tzinfo=None), END, NOW)
    assert [d.name for d in stats.departments] == [AIR, WATER]
    assert all(d.empty for d in stats.departments)
    assert render_summary(stats, "空") == "**空**\n\n本期没有数据。"


# --- figures -------------------------------------------------------------------------------


def test_office_row(db: Database, roster: Roster) -> None:
    office = november(db, roster).office
    assert office.name == "局办公室"
    assert office.items == 13  # 1-12 and 15; not 13 (at the end) nor 14 (before the start)
    triage = office.triage
    assert (triage.on_time, triage.late, triage.open_overdue, triage.pending) == (10, 1, 1, 1)
    assert triage.counted == 12 and triage.rate == 10 / 12
    assert office.rejected == 2


def test_departments_in_roster_order_then_unknown(db: Database, roster: Roster) -> None:
    stats = november(db, roster)
    assert [d.name for d in stats.departments] == [AIR, WATER, OLD]
    air, water, old = stats.departments
    assert air.items == 7
    assert (air.claim.on_time, air.claim.late, air.claim.open_overdue) == (5, 1, 1)
    assert air.claim.rate == 5 / 7
    # 6 and 7 are met by their placeholder; 5 is not yet due; 4 has no reply clock yet
    reply = air.reply
    assert (reply.on_time, reply.late, reply.open_overdue, reply.pending) == (3, 1, 1, 1)
    assert reply.rate == 0.6
    assert (air.placeholder.on_time, air.placeholder.late, air.placeholder.counted) == (1, 1, 2)
    assert (air.filings.on_time, air.filings.overdue, air.filings.open) == (1, 2, 0)
    assert air.filings.rate == 1 / 3
    assert air.lights == {"green": 0, "yellow": 2, "red": 1}
    assert air.interviews == 1

    assert water.items == 1  # the rejected item 9 is not the department's
    assert (water.claim.rate, water.reply.rate, water.placeholder.rate) == (1.0, 1.0, None)
    assert (water.filings.on_time, water.filings.overdue, water.filings.open) == (1, 1, 1)
    assert water.lights == {"green": 1, "yellow": 0, "red": 0}
    assert water.interviews == 1

    assert (old.items, old.claim.counted, old.reply.on_time, old.empty) == (1, 1, 1, False)


def test_empty_window(db: Database, roster: Roster) -> None:
    seed(db)
    start, end = month_window("2026-09", TZ)
    with db.sessions() as session:
        stats = department_stats(session, roster, start, end, NOW)
    assert [d.name for d in stats.departments] == [AIR, WATER]  # interviews are not windowed
    assert [d.empty for d in stats.departments] == [False, False]
    assert stats.office.items == 0 and stats.office.triage.rate is None
    assert stats.departments[0].items == 0 and stats.departments[0].claim.rate is None
    assert render_summary(stats, "2026年9月") == (
        "**2026年9月**\n\n**大气环境处** 约谈1\n\n**水生态环境处** 约谈1"
    )


def test_summary_of_november(db: Database, roster: Roster) -> None:
    assert render_summary(november(db, roster), "2026年11月").split("\n\n") == [
        "**2026年11月**",
        "**局办公室** @件13 甄别按时10/12 超时未办1 · 退回2",
        "**大气环境处** @件7 认领按时5/7 答复按时3/5 先行回复按时1/2 超时未办2"
        " · 填报按时1 超限2 · 黄灯2 红灯1 · 约谈1",
        "**水生态环境处** @件1 认领按时1/1 答复按时1/1 · 填报按时1 超限1 未到期1 · 绿灯1 · 约谈1",
        "**旧处室** @件1 认领按时1/1 答复按时1/1",
    ]


def test_summary_small_case_skips_empty_departments(db: Database, roster: Roster) -> None:
    start, end = month_window("2026-12", TZ)
    received = dt.datetime(2026, 12, 2, 9, 0, tzinfo=TZ)
    with db.transaction() as session:
        late_reply = done_item(received, AIR)
        late_reply.replied_at = received + 4 * D
        session.add(late_reply)
        m1 = matter(session, "扬尘治理", AIR, "区委区政府重点工作", True)
        session.add_all(
            [
                filing(m1, "2026-12", received + D, done=received),
                light(m1, "2026-12", "yellow"),
                interview(m1, 1, "yellow2", "open"),
            ]
        )
    with db.sessions() as session:
        stats = department_stats(session, roster, start, end, received + 10 * D)
    assert render_summary(stats, "2026年12月统计") == (
        "**2026年12月统计**\n\n"
        "**局办公室** @件1 甄别按时1/1\n\n"
        "**大气环境处** @件1 认领按时1/1 答复按时0/1 · 填报按时1 · 黄灯1 · 约谈1"
    )
    assert stats.departments[1].empty


# --- the workbook --------------------------------------------------------------------------


def rows(sheet: Any) -> list[dict[str, Any]]:
    """The sheet's data rows as {header: cell}, up to the first empty row."""
    header = [cell.value for cell in sheet[1]]
    out = []
    for line in sheet.iter_rows(min_row=2):
        if line[0].value is None:
            break
        out.append(dict(zip(header, line, strict=True)))
    return out


def test_workbook(db: Database, roster: Roster, tmp_path: Path) -> None:
    seed(db)
    path = tmp_path / "stats.xlsx"
    with db.sessions() as session:
        export_stats(session, roster, path, START, END, NOW)
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "@件明细", "填报"]

    summary = book["汇总"]
    assert [c.value for c in summary[1]][:8] == [
        "处室",
        "@件数",
        "退回",
        "甄别按时",
        "甄别超时",
        "甄别超时未办",
        "甄别按时率",
        "认领按时",
    ]
    assert summary["A1"].font.b and summary.freeze_panes == "A2"
    table = {r["处室"].value: r for r in rows(summary)}
    assert list(table) == ["局办公室", AIR, WATER, OLD, "合计"]
    office, air, total = table["局办公室"], table[AIR], table["合计"]
    assert (office["@件数"].value, office["退回"].value, office["甄别按时"].value) == (13, 2, 10)
    assert office["甄别按时率"].value == pytest.approx(10 / 12)
    assert office["甄别按时率"].number_format == "0.0%"
    assert office["认领按时"].value is None and air["甄别按时"].value is None
    assert (air["认领按时"].value, air["认领超时"].value, air["认领超时未办"].value) == (5, 1, 1)
    assert air["答复按时率"].value == pytest.approx(0.6)
    assert air["答复按时率"].number_format == "0.0%"
    assert (air["填报超限"].value, air["黄灯"].value, air["在办约谈"].value) == (2, 2, 1)
    assert table[WATER]["先行回复按时率"].value is None
    assert (total["@件数"].value, total["认领按时"].value, total["填报超限"].value) == (13, 7, 3)
    assert total["认领按时率"].value == pytest.approx(7 / 9)
    note = summary.cell(row=summary.max_row, column=1).value
    assert note.startswith("统计区间：2026-11-01至2026-11-30") and note.endswith("2026-11-20 12:00")

    items = book["@件明细"]
    assert items["A1"].font.b and items.freeze_panes == "A2"
    details = {r["编号"].value: r for r in rows(items)}
    assert sorted(details) == [*range(1, 13), 15]
    first = details[1]
    assert first["收到时间"].value == wall(START)  # local time
    assert first["收到时间"].number_format == "yyyy-mm-dd hh:mm"
    assert (first["状态"].value, first["处室"].value, first["疑难件"].value) == (
        "已答复",
        AIR,
        "否",
    )
    outcome = {
        n: {c: details[n][f"{c}是否超时"].value for c in ("甄别", "认领", "答复", "先行回复")}
        for n in (2, 3, 4, 5, 6, 7, 10, 11, 12)
    }
    assert outcome[2] == {"甄别": "是", "认领": "是", "答复": "是", "先行回复": None}
    assert outcome[3]["答复"] == "是（未办）" and outcome[4]["认领"] == "是（未办）"
    assert outcome[5]["答复"] == "未到期" and outcome[4]["答复"] is None
    assert outcome[6] == {"甄别": "否", "认领": "否", "答复": "否", "先行回复": "否"}
    assert outcome[7]["答复"] == "否" and outcome[7]["先行回复"] == "是"
    assert details[7]["答复时间"].value == wall(R + 6 * D)
    assert (outcome[10]["甄别"], outcome[11]["甄别"]) == ("是（未办）", "未到期")
    assert (outcome[12]["甄别"], outcome[12]["认领"], details[12]["状态"].value) == (
        "否",
        None,
        "已退回",
    )

    filings = book["填报"]
    assert filings["A1"].font.b and filings.freeze_panes == "A2"
    lines = rows(filings)
    assert [(r["事项名称"].value, r["月份/环节"].value, r["情况"].value) for r in lines] == [
        ("水质简报", "2026年10月", "按时"),
        ("扬尘治理", "2026年11月", "按时"),
        ("水质简报", "2026年11月", "超限"),
        ("VOCs减排", "2026年11月", "超限"),
        ("臭氧防控", "2026年11月", "超限"),
        ("河道整治", "2026年11月", "未到期"),
    ]
    assert lines[1]["事项编号"].value == "督1" and lines[1]["处室"].value == AIR
    assert lines[1]["填报人"].value == "孙内勤"
    assert lines[1]["截止时间"].value == wall(at(6, 17))


def test_workbook_speaks_chinese(db: Database, roster: Roster, tmp_path: Path) -> None:
    seed(db)
    with db.transaction() as session:
        order = matter(session, "区长批示扬尘整治", AIR, "领导批示件", False)
        session.add_all(
            [
                Filing(
                    matter_id=order,
                    kind="sign",
                    period="sign",
                    node=at(9).date(),
                    due_at=at(9, 17),
                    done_at=at(9, 10),
                    done_by="u-air-clerk",
                ),
                Filing(
                    matter_id=order,
                    kind="feedback",
                    period="feedback",
                    node=at(16).date(),
                    due_at=at(16, 17),
                ),
            ]
        )
    path = tmp_path / "stats.xlsx"
    with db.sessions() as session:
        export_stats(session, roster, path, START, END, NOW)
    book = load_workbook(path)
    steps = [
        (r["月份/环节"].value, r["情况"].value)
        for r in rows(book["填报"])
        if r["事项名称"].value == "区长批示扬尘整治"
    ]
    assert steps == [("签收", "按时"), ("反馈", "超限")]
    for sheet in book:
        header = [cell.value for cell in sheet[1]]
        for line in sheet.iter_rows(values_only=True):
            for name, value in zip(header, line, strict=False):
                if isinstance(value, str) and name != "事项名称":  # names are the office's
                    assert not re.search("[A-Za-z]", value), (sheet.title, name, value)


# --- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tmp SQLite file, the example roster, the clock at NOW; run from tmp_path."""
    monkeypatch.chdir(tmp_path)  # no .env from the developer's tree
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("BOT_ORG_FILE", str(EXAMPLE_ROSTER))
    monkeypatch.setenv("BOT_CALENDAR_FILE", str(tmp_path / "calendar.txt"))
    clock = tmp_path / "clock.txt"
    clock.write_text(NOW.isoformat(), encoding="utf-8")
    monkeypatch.setenv("BOT_CLOCK_FILE", str(clock))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def item_numbers(path: Path) -> list[int]:
    return [r["编号"].value for r in rows(load_workbook(path)["@件明细"])]


def test_cli_export(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a fresh file: the command migrates it first
    code, out, err = run(capsys, "stats", "export", "empty.xlsx")
    assert (code, err) == (0, "")
    assert out == "导出统计到empty.xlsx（2026-11-01至2026-11-30）\n"
    assert item_numbers(cli_env / "empty.xlsx") == []

    database = Database(f"sqlite:///{cli_env / 'bot.db'}")
    try:
        seed(database)
    finally:
        database.dispose()
    code, out, _ = run(capsys, "stats", "export", "month.xlsx")
    assert code == 0 and out == "导出统计到month.xlsx（2026-11-01至2026-11-30）\n"
    assert sorted(item_numbers(cli_env / "month.xlsx")) == [*range(1, 13), 15]

    code, out, _ = run(
        capsys, "stats", "export", "day.xlsx", "--from", "2026-11-10", "--to", "2026-11-10"
    )
    assert code == 0 and out == "导出统计到day.xlsx（2026-11-10至2026-11-10）\n"
    assert item_numbers(cli_env / "day.xlsx") == [2, 3, 6, 7, 8, 9, 12, 15]

    code, out, _ = run(
        capsys, "stats", "export", "dec.xlsx", "--from", "2026-11-20", "--to", "2026-12-01"
    )
    assert code == 0 and out == "导出统计到dec.xlsx（2026-11-20至2026-12-01）\n"
    assert item_numbers(cli_env / "dec.xlsx") == [10, 11, 13]  # --to is inclusive


def test_cli_errors(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in [
        (["--from", "2026-11-31"], "--from '2026-11-31' is not a date"),
        (["--to", "11/30"], "--to '11/30' is not a date"),
        (["--from", "2026-11-20", "--to", "2026-11-19"], "is before --from"),
        (["--to", "2026-10-31"], "is before --from 2026-11-01"),
    ]:
        code, out, err = run(capsys, "stats", "export", "x.xlsx", *argv)
        assert (code, out) == (2, "") and message in err and err.count("\n") == 1
    code, out, err = run(capsys, "stats", "export", str(cli_env / "no" / "dir" / "x.xlsx"))
    assert code == 2 and not out and err.startswith("error: cannot write")
    assert not (cli_env / "x.xlsx").exists()
