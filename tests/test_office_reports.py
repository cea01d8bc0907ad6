"""The office's reports: periods, figures (the same as 统计's), the Word document, the
workbook and its charts, the phone's summary, the roster's [reports] table, the CLI."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import docx
import pytest
from openpyxl import load_workbook
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.cli import main
from config.reports import ReportRules
from config.roster import Roster, RosterError, build_roster
from handlers.office_reports import model, periods, prose
from handlers.office_reports.make import cli_command, make
from handlers.office_reports.tasks import task_figures
from handlers.stats.figures import department_stats
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import (
    Filing,
    Interview,
    Item,
    Light,
    Matter,
    Review,
    Task,
    TaskBook,
    TaskMilestone,
)
from tests.conftest import EXAMPLE_ROSTER, TZ

AIR, WATER = "大气环境处", "水生态环境处"
RULES = ReportRules()
NOW = dt.datetime(2026, 8, 3, 10, 0, tzinfo=TZ)  # the Q3 report's draft day
H, D = dt.timedelta(hours=1), dt.timedelta(days=1)


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=TZ)


# --- periods ---


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2026Q3", "2026Q3"),
        ("2026q1", "2026Q1"),
        ("2026年第三季度", "2026Q3"),
        ("2026年第3季度", "2026Q3"),
        ("２０２６年第四季度", "2026Q4"),
        ("2026上半年", "2026H1"),
        ("2026年下半年", "2026H2"),
        ("2026H1", "2026H1"),
        ("2026年", "2026"),
        ("2026年度", "2026"),
        ("2026", "2026"),
    ],
)
def test_periods_as_written(text: str, label: str) -> None:
    found = periods.parse(RULES, text)
    assert found is not None and found.label == label


@pytest.mark.parametrize("text", ["2026Q5", "2026年第五季度", "26Q1", "上半年", "2026-08", "x"])
def test_what_is_no_period(text: str) -> None:
    assert periods.parse(RULES, text) is None


def test_a_quarter_covers_the_three_full_months_before_its_month() -> None:
    q1 = periods.parse(RULES, "2026Q1")
    assert q1 is not None
    assert (q1.start, q1.last, q1.made) == (
        dt.date(2025, 11, 1),
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 1),
    )
    assert q1.months() == ["2025-11", "2025-12", "2026-01"]
    assert periods.previous(RULES, q1).label == "2025Q4"
    assert periods.previous(RULES, periods.half(2026, 1)).label == "2025H2"
    assert periods.year_of(2026).months()[-1] == "2026-12"
    # the roster may say otherwise: reports in March, June, September, December of 2 months
    other = ReportRules(quarter_months=[3, 6, 9, 12], quarter_span_months=2)
    q2 = periods.quarter(other, 2026, 2)
    assert (q2.start, q2.last) == (dt.date(2026, 4, 1), dt.date(2026, 5, 31))


def test_the_latest_report_of_each_kind() -> None:
    assert periods.latest(RULES, "quarter", dt.date(2026, 1, 20)).label == "2025Q4"
    assert periods.latest(RULES, "quarter", dt.date(2026, 2, 1)).label == "2026Q1"
    assert periods.latest(RULES, "quarter", dt.date(2026, 10, 31)).label == "2026Q3"
    assert periods.latest(RULES, "half", dt.date(2026, 7, 1)).label == "2026H1"
    assert periods.latest(RULES, "half", dt.date(2026, 6, 30)).label == "2025H2"
    assert periods.latest(RULES, "year", dt.date(2026, 6, 30)).label == "2025"


def test_drafts_are_made_in_the_report_months_on_a_working_day(cal: WorkCalendar) -> None:
    assert [p.label for p in periods.made_in(RULES, 2026, 2)] == ["2026Q1"]
    assert [p.label for p in periods.made_in(RULES, 2026, 7)] == ["2026H1"]
    assert [p.label for p in periods.made_in(RULES, 2027, 1)] == ["2026"]
    assert periods.made_in(RULES, 2026, 3) == []
    # 1 Feb 2026 is a Sunday; 1 Aug a Saturday; October opens with the national holiday
    assert periods.draft_day(RULES, cal, dt.date(2026, 2, 1)) == dt.date(2026, 2, 2)
    assert periods.draft_day(RULES, cal, dt.date(2026, 8, 1)) == dt.date(2026, 8, 3)
    assert periods.draft_day(RULES, cal, dt.date(2026, 10, 1)) == dt.date(2026, 10, 8)
    second = ReportRules(draft_workday=2)
    assert periods.draft_day(second, cal, dt.date(2026, 2, 1)) == dt.date(2026, 2, 3)


def test_a_wrong_reports_table_names_the_field() -> None:
    import tomllib

    raw = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
    raw["reports"] = {"quarter_months": [2, 13], "draft_workday": 0, "cadence": 1}
    with pytest.raises(RosterError) as caught:
        build_roster(raw)
    message = str(caught.value)
    assert "reports.quarter_months: Value error, 13: a month is 1 to 12" in message
    assert "reports.draft_workday" in message and "reports.cadence: Extra inputs" in message


# --- a quarter of activity, built in the database ---


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


def answered(received: dt.datetime, dept: str, *, late_triage: bool = False) -> Item:
    return item(
        received,
        dept,
        "answered",
        triaged_at=received + (5 if late_triage else 1) * H,
        claim_due=received + D,
        claimed_at=received + 2 * H,
        reply_due=received + 3 * D,
        replied_at=received + 2 * D,
    )


def matter(name: str, dept: str, category: str = "区委区政府重点工作", **more: Any) -> Matter:
    return Matter(
        name=name,
        category=category,
        star=True,
        platform="区网上督查室",
        department=dept,
        owner="u-air-clerk",
        deputy="u-deputy-1",
        **({"created_at": at(5, 6)} | more),
    )


def filing(
    m: Matter, period: str, due: dt.datetime, done: dt.datetime | None, **more: Any
) -> Filing:
    return Filing(matter=m, period=period, node=due.date(), due_at=due, done_at=done, **more)


def seed(session: Session) -> None:
    session.add_all(
        [
            answered(at(3, 10), AIR),  # previous quarter: two items, triage on time
            answered(at(4, 14), WATER),
            answered(at(5, 11), AIR),  # this quarter
            answered(at(6, 8), AIR, late_triage=True),  # triage late
            item(  # a reply open past due
                at(7, 13),
                WATER,
                "claimed",
                triaged_at=at(7, 13, 11),
                claim_due=at(7, 14),
                claimed_at=at(7, 13, 15),
                reply_due=at(7, 16, 17),
            ),
            item(at(7, 20), None, "rejected", triaged_at=at(7, 20, 11)),  # 退回
        ]
    )
    ozone = matter("臭氧污染防治", AIR)
    instruction = matter("区长批示：河道保洁", WATER, "领导批示件", created_at=at(6, 1))
    session.add_all([ozone, instruction])
    session.flush()
    session.add_all(
        [
            Filing(
                matter_id=ozone.id,
                period="2026-05",
                node=dt.date(2026, 5, 20),
                due_at=at(5, 20, 17),
                done_at=at(5, 19),
            ),
            Filing(
                matter_id=ozone.id,
                period="2026-06",
                node=dt.date(2026, 6, 19),
                due_at=at(6, 19, 17),
                overdue=True,
            ),
            Filing(
                matter_id=ozone.id,
                period="2026-07",
                node=dt.date(2026, 7, 20),
                due_at=at(7, 20, 17),
                done_at=at(7, 17),
            ),
            Filing(
                matter_id=instruction.id,
                kind="sign",
                period="sign",
                node=dt.date(2026, 6, 2),
                due_at=at(6, 2, 17),
                done_at=at(6, 1, 15),
            ),
            Light(matter_id=ozone.id, period="2026-06", color="yellow", at=at(6, 30), by="u-admin"),
            Light(matter_id=ozone.id, period="2026-07", color="red", at=at(7, 31), by="u-admin"),
            Interview(
                matter_id=ozone.id,
                tier=2,
                condition="consecutive_red_2",
                rule="连续二次亮黄灯或红灯",
                evidence="2026年6月黄灯、7月红灯",
                interviewer="u-deputy-1",
                interviewee="u-air-head",
                opened_at=at(7, 31, 11),
            ),
        ]
    )
    session.flush()


@pytest.fixture
def quarter(db: Database, roster: Roster, cal: WorkCalendar) -> Any:
    with db.transaction() as session:
        seed(session)
    period = periods.parse(roster.data.reports, "2026Q3")
    assert period is not None
    with db.sessions() as session:
        return make(session, roster, cal, period, NOW)


def test_the_figures_are_statistics_figures(db: Database, roster: Roster, quarter: Any) -> None:
    report = quarter.report
    start, end = report.period.window(TZ)
    with db.sessions() as session:  # the same numbers as 统计 over the same window
        same = department_stats(session, roster, start, end, NOW, tz=TZ)
    assert report.stats == same
    office = report.stats.office
    assert (office.items, office.rejected) == (4, 1)
    assert (office.triage.on_time, office.triage.late) == (3, 1)
    assert report.previous.office.items == 2 and report.previous.office.triage.rate == 1.0
    air = report.stats.departments[0]
    assert (air.name, air.items, air.filings.on_time, air.filings.overdue) == (AIR, 2, 2, 1)
    assert air.lights == {"green": 0, "yellow": 1, "red": 1}
    assert model.clock_total(report.stats, "reply").open_overdue == 1
    assert (report.instructions.registered, report.instructions.sign.on_time) == (1, 1)
    assert [o.number for o in report.overdue] == [5]
    assert [(f.name, f.colors[-1][1]) for f in report.flagged] == [("臭氧污染防治", "red")]
    assert [i.tier for i in report.interviews] == [2]
    # 13 weeks of May to July (Mondays from 27 April), the items in their weeks
    assert len(report.weeks) == 14 and sum(n for _, n in report.weeks) == 4


def test_the_overview_reads_the_figures_with_the_comparison(quarter: Any) -> None:
    first = prose.overview(quarter.report)[0]
    assert first.startswith("本季度共受理街镇@件4件，较上季度增加2件，")
    assert "按时甄别率75.0%，较上季度降低25.0个百分点" in first
    assert "退回1件" in first


def test_the_word_document(quarter: Any) -> None:
    document = docx.Document(io.BytesIO(quarter.word))
    lines = [p.text for p in document.paragraphs]
    assert lines[0] == "2026年8月督查情况报告"
    assert lines[1] == "（2026年5月1日至2026年7月31日）"
    headings = [
        p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"
    ]
    assert headings == [
        "一、总体情况",
        "二、街镇直通车@件办理情况",
        "三、督办事项及月度填报情况",
        "四、任务书执行情况",
        "五、领导批示件办理情况",
        "六、亮灯及约谈问询情况",
        "七、复核情况",
        "八、需要领导关注的事项",
    ]
    assert "本期无复核记录。" in lines  # and no table of them
    items, filings, instructions, lights = (
        [[c.text for c in row.cells] for row in t.rows] for t in document.tables
    )
    assert items[0][:3] == ["处室", "@件数", "认领按时率"]
    assert items[1] == [AIR, "2", "100.0%", "100.0%", "—", "0"]
    assert items[2] == [WATER, "1", "100.0%", "0.0%", "—", "1"]
    assert items[-1][:2] == ["合计", "3"]
    assert filings[1] == [AIR, "3", "2", "1", "0", "66.7%"]
    assert instructions[1][:2] == ["签收", "1"]
    assert lights[1] == [AIR, "0", "1", "1", "1"]
    attention = [line for line in lines if line[:2] in ("1.", "2.", "3.", "4.")]
    assert len(attention) == 4
    assert attention[0].startswith("1. 超时未办@件：#5（川沙新镇，水生态环境处）：答复时限7月16日")
    assert "督1 臭氧污染防治：6月黄灯、7月红灯" in attention[1]
    assert attention[3] == "4. 填报超限：大气环境处超限1次"


def test_the_reviews_section_counts_each_kind_per_department(
    db: Database, roster: Roster, cal: WorkCalendar
) -> None:
    """复核 recorded in the period (三(五): 实地调查复核, 回头看, 再督查), by department."""
    at = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
    with db.transaction() as session:
        matter = Matter(
            name="臭氧",
            category="局重点工作",
            platform="无",
            department=AIR,
            owner="u1",
            deputy="u2",
            created_at=at,
        )
        session.add(matter)
        session.flush()
        for kind in ("field", "field", "lookback"):
            session.add(Review(matter_id=matter.id, kind=kind, finding="已整改", at=at, by="u2"))
    with db.sessions() as session:
        made = make(session, roster, cal, periods.half(2026, 1), NOW)
    document = docx.Document(io.BytesIO(made.word))
    assert "七、复核情况" in [p.text for p in document.paragraphs]
    assert [[c.text for c in r.cells] for r in document.tables[-1].rows] == [
        ["处室", "实地核查", "回头看", "再督查", "合计"],
        [AIR, "2", "1", "0", "3"],
    ]


def test_the_workbook_and_its_charts(quarter: Any) -> None:
    book = load_workbook(io.BytesIO(quarter.workbook))
    assert book.sheetnames == ["汇总", "@件按周", "亮灯按月", "填报", "任务书", "需关注"]
    summary = book["汇总"]
    assert [c.value for c in summary[2]][:3] == [AIR, 2, 1.0]

    def series(sheet: str) -> tuple[str, list[str]]:
        (chart,) = book[sheet]._charts
        return type(chart).__name__, [s.tx.strRef.f for s in chart.series]

    assert series("汇总") == ("BarChart", ["'汇总'!C1", "'汇总'!D1", "'汇总'!E1"])
    assert series("@件按周") == ("LineChart", ["'@件按周'!B1"])
    assert series("亮灯按月") == ("BarChart", ["'亮灯按月'!B1", "'亮灯按月'!C1"])
    assert series("填报") == ("BarChart", ["'填报'!B1", "'填报'!C1"])
    assert [c.value for c in book["亮灯按月"][1]] == ["月份", AIR, WATER]
    assert [c.value for c in book["亮灯按月"]["B"]] == [AIR, 0, 1, 1]
    assert [c.value for c in book["填报"][2]] == [AIR, 2, 1]
    assert book["需关注"].max_row == 5


def test_the_summary_fits_a_phone(quarter: Any) -> None:
    text = quarter.summary
    lines = text.split("\n")
    assert lines[0] == "**2026年8月督查情况报告**（2026年5月1日至2026年7月31日）"
    assert lines[2:7] == [
        "1. 受理@件 4件（+2）",
        "2. 按时甄别率 75.0%（-25.0个百分点）",
        "3. 按时答复率 66.7%（-33.3个百分点）",
        "4. 按时填报率 75.0%，超限1次",
        "5. 黄灯1次、红灯1次，在办约谈1起",
    ]
    assert "- 超时未办@件：#5" in text and "- 黄红灯事项：督1" in text
    assert len(text) <= prose.SUMMARY_LIMIT and len(text.encode()) < 15000


def test_a_long_attention_list_stays_short(db: Database, roster: Roster, cal: WorkCalendar) -> None:
    with db.transaction() as session:
        session.add_all(
            item(at(7, 1), AIR, "assigned", triaged_at=at(7, 1, 11), claim_due=at(7, 2))
            for _ in range(40)
        )
    with db.sessions() as session:
        made = make(session, roster, cal, periods.quarter(RULES, 2026, 3), NOW)
    assert (
        "- 超时未办@件：#1（大气环境处·认领）；#2（大气环境处·认领）；#3（大气环境处·认领）等40项"
        in made.summary
    )
    assert len(made.summary) <= prose.SUMMARY_LIMIT


def test_the_command_that_writes_a_report() -> None:
    assert cli_command("report:quarter:2026Q3") == (
        "python -m bot report quarter --period 2026Q3 --out DIR"
    )
    assert cli_command("督12") is None


def test_the_cli_writes_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/bot.db")
    monkeypatch.setenv("BOT_ORG_FILE", str(EXAMPLE_ROSTER))
    clock = tmp_path / "clock"
    clock.write_text(NOW.isoformat())
    monkeypatch.setenv("BOT_CLOCK_FILE", str(clock))
    assert main(["report", "half", "--period", "2026上半年", "--out", str(tmp_path / "out")]) == 0
    written = capsys.readouterr().out.split()
    assert [Path(p).name for p in written] == [
        "2026年上半年督查情况报告.docx",
        "2026年上半年督查情况报告附表.xlsx",
    ]
    assert docx.Document(written[0]).paragraphs[0].text == "2026年上半年督查情况报告"
    assert main(["report", "quarter", "--period", "2026H1", "--out", "x"]) == 2
    assert "--period '2026H1' is not a quarter period" in capsys.readouterr().err
    assert main(["report", "year", "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.split()[0].endswith("2025年度督查情况报告.docx")


def test_the_document_lists_twenty_of_a_kind_and_the_workbook_all(
    db: Database, roster: Roster, cal: WorkCalendar
) -> None:
    with db.transaction() as session:
        session.add_all(
            item(at(7, 1), AIR, "assigned", triaged_at=at(7, 1, 11), claim_due=at(7, 2))
            for _ in range(25)
        )
    with db.sessions() as session:
        made = make(session, roster, cal, periods.quarter(RULES, 2026, 3), NOW)
    lines = [p.text for p in docx.Document(io.BytesIO(made.word)).paragraphs]
    assert lines[-2].startswith("20. 超时未办@件：#20（")
    assert lines[-1] == "另有超时未办@件5项，见Excel附表「需关注」。"
    assert load_workbook(io.BytesIO(made.workbook))["需关注"].max_row == 26


def test_a_missed_draft_day_is_made_up_for_three_working_days(
    db: Database, roster: Roster, cal: WorkCalendar
) -> None:
    from handlers.office_reports import schedule

    def send(moment: dt.datetime) -> list[tuple[str, str, str]]:
        with db.transaction() as session:
            out = schedule.send_drafts(session, roster, cal, moment)
        return [(m.channel, m.target, m.kind) for m in out]

    with db.sessions() as session:  # down on Monday 3 August; a week later it is too late
        assert [p.label for p in schedule.due(session, roster, cal, at(8, 6))] == ["2026Q3"]
        assert schedule.due(session, roster, cal, at(8, 7)) == []
        assert schedule.draft_moment(session, roster, cal, at(8, 4, 7)) == at(8, 4, 9)
    assert send(at(8, 8)) == []  # a Saturday
    office = ("group", "cid-office")
    assert send(at(8, 4)) == [(*office, "text"), (*office, "file"), (*office, "file")]
    assert send(at(8, 4, 11)) == []


def test_no_draft_for_a_report_already_marked_sent(
    db: Database, roster: Roster, cal: WorkCalendar
) -> None:
    from handlers.office_reports import schedule
    from storage.models import OfficeReport

    with db.transaction() as session:
        session.add(
            OfficeReport(
                period="2026Q3", kind="quarter", submitted_at=at(7, 31), submitted_by="u-admin"
            )
        )
    with db.transaction() as session:
        assert schedule.send_drafts(session, roster, cal, at(8, 3)) == []


# --- the task book (任务书执行情况) ---


def due_at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 17, 30, tzinfo=TZ)


def task_book(session: Session) -> None:
    """大气: 走航监测 met on time, met late, not yet due; VOCs治理 missed on 1 June (behind).
    水: 河道整治 missed on 31 July, one working day before NOW (not behind yet)."""
    books = {
        d: TaskBook(year=2026, department=d, state="issued", created_at=at(1, 5))
        for d in (AIR, WATER)
    }
    session.add_all(books.values())
    session.flush()

    def task(dept: str, name: str, *plan: tuple[dt.datetime, dt.datetime | None]) -> None:
        row = Task(
            taskbook_id=books[dept].id, year=2026, department=dept, name=name, target="目标",
            measures="举措", owner="孙内勤", category="局重点工作", platform="无",
            created_at=at(1, 5),
        )  # fmt: skip
        session.add(row)
        session.flush()
        session.add_all(
            TaskMilestone(
                task_id=row.id, seq=n, due=due.date(), due_at=due, what=f"节点{n}", met_at=met
            )
            for n, (due, met) in enumerate(plan, 1)
        )

    task(
        AIR,
        "走航监测",
        (due_at(3, 31), due_at(3, 30)),
        (due_at(6, 30), due_at(7, 2)),
        (due_at(9, 30), None),
    )
    task(AIR, "VOCs治理", (due_at(6, 1), None))
    task(WATER, "河道整治", (due_at(7, 31), None))
    session.flush()


@pytest.fixture
def year_report(db: Database, roster: Roster, cal: WorkCalendar) -> Any:
    with db.transaction() as session:
        task_book(session)
    period = periods.parse(roster.data.reports, "2026")
    assert period is not None
    with db.sessions() as session:
        return make(session, roster, cal, period, NOW)


def test_the_task_book_figures_count_each_milestone_by_its_record(year_report: Any) -> None:
    figures = year_report.report.tasks
    got = {d.name: (d.tasks, d.milestones) for d in figures.departments}
    assert got == {
        AIR: (2, {"on_time": 1, "late": 1, "missed": 1, "due": 1}),
        WATER: (1, {"on_time": 0, "late": 0, "missed": 1, "due": 0}),
    }
    (behind,) = figures.behind  # 河道整治 is one working day late: not clearly behind
    assert (behind.label, behind.department, behind.name) == ("任2", AIR, "VOCs治理")
    assert "第1个时间节点（6月1日 节点1）未完成，已逾期" in behind.evidence


def test_the_word_document_has_the_task_book_section(year_report: Any) -> None:
    document = docx.Document(io.BytesIO(year_report.word))
    lines = [p.text for p in document.paragraphs]
    headings = [
        p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"
    ]
    assert headings[3] == "四、任务书执行情况" and headings[-1] == "八、需要领导关注的事项"
    assert (
        "2026年度任务书共3项任务。本期到期的时间节点中，按期完成1个，逾期完成1个，"
        "逾期未完成2个，尚未到期1个；目前明显滞后的任务1项。各处室情况见下表。" in lines
    )
    (table,) = [t for t in document.tables if t.rows[0].cells[1].text == "任务数"]
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[1] == [AIR, "2", "1", "1", "1", "1"]
    assert rows[2] == [WATER, "1", "0", "0", "1", "0"]
    assert rows[3] == ["合计", "3", "1", "1", "2", "1"]
    assert any(line.startswith("1. 任2（大气环境处）「VOCs治理」") for line in lines)
    attention = [line for line in lines if "任务明显滞后：" in line]
    assert len(attention) == 1 and "任2（大气环境处）「VOCs治理」" in attention[0]
    assert "河道整治" not in "\n".join(lines)


def test_the_workbook_and_the_phone_show_the_task_book(year_report: Any) -> None:
    book = load_workbook(io.BytesIO(year_report.workbook))
    assert "任务书" in book.sheetnames
    rows = [[c.value for c in row] for row in book["任务书"].iter_rows()]
    assert rows[0][:2] == ["处室", "任务数"]
    assert rows[1] == [AIR, 2, 1, 1, 1, 1] and rows[2] == [WATER, 1, 0, 0, 1, 0]
    assert rows[4][:3] == ["任务", "处室", "任务名称"]
    assert rows[5][:3] == ["任2", AIR, "VOCs治理"]
    needs = [[c.value for c in row] for row in book["需关注"].iter_rows(min_row=2)]
    assert [r[:3] for r in needs] == [["任务明显滞后", "任2", AIR]]
    assert "- 任务明显滞后：任2 大气环境处" in year_report.summary


def test_no_task_book_is_one_sentence(quarter: Any) -> None:
    document = docx.Document(io.BytesIO(quarter.word))
    lines = [p.text for p in document.paragraphs]
    assert "2026年度工作任务书尚未录入，本期无任务书执行情况。" in lines
    assert not any(t.rows[0].cells[1].text == "任务数" for t in document.tables)
    assert "任务明显滞后" not in quarter.summary


def test_the_task_figures_take_two_queries_whatever_the_tasks(
    db: Database, roster: Roster, cal: WorkCalendar
) -> None:
    with db.transaction() as session:
        task_book(session)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.sessions() as session:
            figures = task_figures(session, roster, cal, [2026], at(1, 1), at(12, 31), NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert sum(d.tasks for d in figures.departments) == 3
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_a_quarter_across_new_year_reads_both_task_books(
    db: Database, roster: Roster, cal: WorkCalendar
) -> None:
    with db.transaction() as session:
        task_book(session)  # 2026: 走航监测's 30 September is before November
        book = TaskBook(year=2027, department=WATER, state="issued", created_at=at(12, 20))
        session.add(book)
        session.flush()
        task = Task(
            taskbook_id=book.id, year=2027, department=WATER, name="节水", category="局重点工作",
            platform="无", created_at=at(12, 20),
        )  # fmt: skip
        session.add(task)
        session.flush()
        due = dt.datetime(2027, 1, 15, 17, 30, tzinfo=TZ)
        session.add(TaskMilestone(task_id=task.id, seq=1, due=due.date(), due_at=due, met_at=due))
    period = periods.parse(roster.data.reports, "2027Q1")
    assert period is not None and period.start.year == 2026 and period.last.year == 2027
    with db.sessions() as session:
        made = make(session, roster, cal, period, dt.datetime(2027, 2, 3, 10, tzinfo=TZ))
    figures = made.report.tasks
    assert figures.label == "2026、2027"
    water = {d.name: d for d in figures.departments}[WATER]
    assert (water.tasks, water.milestones["on_time"]) == (2, 1)
    assert [b.name for b in figures.behind] == ["走航监测", "VOCs治理", "河道整治"]  # by February
