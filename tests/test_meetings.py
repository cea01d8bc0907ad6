"""The 双月例会 (document 三(三)): its agenda of lagging items, sent once to the office group
N working days before the meeting, and its decisions as 督办事项 with reminders; on both
databases."""

from __future__ import annotations

import datetime as dt
import io
import tomllib
from collections import Counter

import docx
import pytest
from sqlalchemy import select

from config.meetings import MeetingRules
from config.roster import RosterError, build_roster
from handlers import texts
from handlers.effects import Outgoing
from handlers.meetings.commands import parse_day
from handlers.sweep import daily, sweep
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import (
    Deadline,
    Document,
    Filing,
    Matter,
    Meeting,
    MeetingDecision,
    Task,
    TaskBook,
    TaskMilestone,
)
from tests.conftest import EXAMPLE_ROSTER as EXAMPLE
from tests.conftest import World

OFFICE, AIR, WATER = "cid-office", "cid-air", "cid-water"


def sweep_at(world: World, *moment: int) -> list[Outgoing]:
    world.at(*moment)
    with world.db.transaction() as session:
        return sweep(session, world.roster, world.cal, world.now)


def daily_at(world: World, *moment: int) -> None:
    world.at(*moment)
    with world.db.transaction() as session:
        daily(session, world.roster, world.cal, world.now)


def add(world: World, text: str) -> str:
    world.must("office_admin", text)
    with world.db.sessions() as s:
        return f"督{max(s.scalars(select(Matter.id)).all())}"


def chats(out: list[Outgoing]) -> set[tuple[str, str]]:
    return {(m.channel, m.target) for m in out}


def agenda_of(out: list[Outgoing]) -> list[Outgoing]:
    """The agenda's messages among a sweep's (the items' escalations go too)."""
    return [m for m in out if m.kind == "file" or "议程草案" in m.text]


def agenda_document(world: World) -> docx.document.Document:
    with world.db.sessions() as s:
        (doc,) = s.scalars(select(Document)).all()
        assert doc.name == "2026年12月双月例会议程草案.docx"
        return docx.Document(io.BytesIO(doc.content))


def test_the_agenda_lists_exactly_the_lagging_items(world: World) -> None:
    world.at(2026, 11, 16, 9, 30)
    untriaged, late_reply, answered, rejected = world.build_many(
        ["new", "claimed", "answered", "rejected"]
    )
    # lights: the latest counts
    yellow = add(world, "新增事项 大调研工作 大气处 孙内勤 走航监测")
    world.must("office_admin", f"亮灯 {yellow} 绿 10月")
    world.must("office_admin", f"亮灯 {yellow} 黄 11月")
    green_now = add(world, "新增事项 大调研工作 水处 吴内勤 河道整治")
    world.must("office_admin", f"亮灯 {green_now} 红 10月")
    world.must("office_admin", f"亮灯 {green_now} 绿 11月")
    # two yellows: a tier-1 interview, open; and one held, its matter green since
    interviewed = add(world, "新增事项 大调研工作 大气处 孙内勤 VOCs治理")
    world.must("office_admin", f"亮灯 {interviewed} 黄 10月")
    world.must("office_admin", f"亮灯 {interviewed} 黄 11月")
    world.must("office_admin", f"启动约谈 {interviewed}")  # proposed, then started ("酌情")
    held = add(world, "新增事项 大调研工作 水处 吴内勤 污水管网")
    world.must("office_admin", f"亮灯 {held} 黄 9月")
    world.must("office_admin", f"亮灯 {held} 黄 10月")
    world.must("office_admin", f"启动约谈 {held}")
    world.must("office_admin", f"亮灯 {held} 绿 11月")
    world.must("office_admin", f"约谈完成 {held}")
    # monthly filings (局重点工作, to the office a working day before the 20th)
    unfiled = add(world, "新增事项 局重点工作 大气处 孙内勤 扬尘整治")
    filed = add(world, "新增事项 局重点工作 水处 吴内勤 节水型机关")
    world.must("water_clerk", f"已填报 {filed}")
    # 批示件: one without feedback past its date, one with it
    no_feedback = add(world, "批示件 大气处 2026-12-10 中央督察反馈问题整改")
    fed_back = add(world, "批示件 水处 2026-12-10 黑臭水体复查")
    world.must("air_clerk", f"签收 {no_feedback}")
    world.must("water_clerk", f"签收 {fed_back}")
    world.must("water_clerk", f"已反馈 {fed_back} 已完成复查，材料已录入")
    world.must("deputy", f"同意 {fed_back}")  # the 分管局领导's approval (attachment 1)
    world.at(2026, 12, 1, 10, 0)
    report = "进展 {} 1、目前进展：已完成整改方案 2、难点问题：无 3、下一步打算：按期完成"
    world.must("air_clerk", report.format(no_feedback))
    world.must("water_clerk", report.format(fed_back))
    world.must("deputy", f"同意 {no_feedback}")  # tracking reports count once approved
    world.must("deputy", f"同意 {fed_back}")
    world.must("water_clerk", f"已填报 {filed} 12月")
    # opened the evening before the agenda: its triage is not due yet
    world.at(2026, 12, 21, 16, 55)
    fresh = world.receive()

    daily_at(world, 2026, 12, 22, 0, 5)
    out = agenda_of(sweep_at(world, 2026, 12, 22, 9, 0))
    assert chats(out) == {("group", OFFICE)}
    summary, file = out
    assert file.kind == "file" and summary.title == texts.AGENDA_TITLE
    lines = summary.text.split("\n")
    assert (
        lines[0] == "【双月例会议程草案】2026年12月双月例会 12月25日(周五) 14:00召开，滞后事项8项"
    )
    assert len(summary.text) < 600
    assert "- **局办公室**：超期@件1" in lines
    assert "- **大气环境处**：黄灯红灯2，超限2，超期@件1，批示件逾期未反馈1，待约谈问询1" in lines
    assert not any("水生态环境处" in line for line in lines)

    document = agenda_document(world)
    rows = Counter(
        (row.cells[0].text, row.cells[1].text.split()[0])
        for table in document.tables
        if table.rows[0].cells[0].text == "类型"
        for row in table.rows[1:]
    )
    assert rows == Counter(
        {
            ("超期@件", f"#{untriaged}"): 1,
            ("超期@件", f"#{late_reply}"): 1,
            ("黄灯红灯", yellow): 1,
            ("黄灯红灯", interviewed): 1,
            ("待约谈问询", interviewed): 1,
            ("超限", unfiled): 2,  # November's and December's filings
            ("批示件逾期未反馈", no_feedback): 1,
        }
    )
    for control in (answered, rejected, fresh):
        assert f"#{control}" not in summary.text
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [*texts.DOC_SECTIONS[:3], "局办公室", "大气环境处", texts.DOC_SECTIONS[3]]


def test_the_agenda_goes_once_n_working_days_before_on_a_working_day(world: World) -> None:
    world.at(2026, 9, 28, 10, 0)
    (reply,) = [world.run("office_admin", "例会 2026-10-12 15:00")[0].reply]
    # Monday 12 October: three working days before are Sat 10 (a make-up day), Fri 9, Thu 8
    assert reply == (
        "已定：2026年10月双月例会于10月12日(周一) 15:00召开；"
        "议程草案将于10月8日(周四) 09:00发送局办公室群。"
    )
    daily_at(world, 2026, 10, 1, 0, 5)  # the default day makes no second meeting
    assert agenda_of(sweep_at(world, 2026, 9, 30, 17, 0)) == []
    assert agenda_of(sweep_at(world, 2026, 10, 5, 10, 0)) == []  # National Day
    assert agenda_of(sweep_at(world, 2026, 10, 8, 8, 59)) == []
    out = agenda_of(sweep_at(world, 2026, 10, 8, 9, 0))
    assert chats(out) == {("group", OFFICE)} and [m.kind for m in out] == ["text", "file"]
    assert out[0].text.startswith("【双月例会议程草案】2026年10月双月例会 10月12日(周一) 15:00召开")
    # (the sweeps carry the October reminder to declare 实事项目 too: agenda_of keeps the agenda's)
    # later sweeps, a day's work, a restart (all state is in the database): never again
    assert agenda_of(sweep_at(world, 2026, 10, 8, 9, 30)) == []
    daily_at(world, 2026, 10, 9, 0, 5)
    assert agenda_of(sweep_at(world, 2026, 10, 9, 9, 0)) == []
    with world.db.sessions() as s:
        (meeting,) = s.scalars(select(Meeting)).all()
        assert meeting.agenda_sent_at == dt.datetime(2026, 10, 8, 1, 0, tzinfo=dt.UTC)
    (again,) = [world.run("office_admin", "例会 2026-10-13")[0].reply]
    assert "已于10月8日(周四) 09:00发送，不再重发" in again
    assert agenda_of(sweep_at(world, 2026, 10, 13, 9, 0)) == []


def test_a_new_date_moves_the_agenda(world: World) -> None:
    world.at(2026, 12, 1, 10, 0)
    view = world.run("director", "例会情况")[0].reply
    assert "**下次例会**：2026年12月双月例会 12月25日(周五) 14:00（默认日期" in view
    assert "议程草案：将于12月22日(周二) 09:00发送局办公室群" in view
    world.must("office_admin", "例会 12月21日")
    world.must("office_admin", "例会 12月18日 9:30")
    assert "12月18日(周五) 09:30（王敏确定）" in world.run("director", "例会情况")[0].reply
    assert sweep_at(world, 2026, 12, 14, 17, 0) == []
    assert sweep_at(world, 2026, 12, 15, 9, 0)[0].text.startswith(
        "【双月例会议程草案】2026年12月双月例会 12月18日(周五) 09:30召开"
    )
    assert "议程草案：已于12月15日(周二) 09:00发送" in world.run("director", "例会情况")[0].reply
    assert sweep_at(world, 2026, 12, 22, 9, 0) == []
    with world.db.sessions() as s:
        states = s.scalars(select(Deadline.state).where(Deadline.clock == "agenda")).all()
        assert sorted(states) == ["cancelled", "fired"]


def test_the_default_meeting_is_made_on_its_agenda_day(world: World) -> None:
    for day in (1, 21):
        daily_at(world, 2026, 12, day, 0, 5)
        with world.db.sessions() as s:
            assert s.scalars(select(Meeting)).all() == []
    daily_at(world, 2026, 12, 22, 0, 5)
    assert sweep_at(world, 2026, 12, 22, 8, 0) == []
    assert agenda_of(sweep_at(world, 2026, 12, 22, 9, 0))
    with world.db.sessions() as s:
        (meeting,) = s.scalars(select(Meeting)).all()
        assert (meeting.period, meeting.set_by) == ("2026-12", None)
        assert meeting.at == dt.datetime(2026, 12, 25, 6, 0, tzinfo=dt.UTC)


def test_an_agenda_after_the_meeting_is_not_sent(world: World) -> None:
    world.at(2026, 12, 1, 10, 0)
    world.must("office_admin", "例会 2026-12-04 10:00")  # agenda at once (in working time)
    assert sweep_at(world, 2026, 12, 4, 11, 0) == []  # the bot was down until after it
    assert sweep_at(world, 2026, 12, 7, 9, 0) == []


def test_a_decision_becomes_a_matter_with_reminders_and_escalation(world: World) -> None:
    world.at(2026, 10, 12, 10, 0)
    outcome, _ = world.run("office_admin", "例会议定 大气处 孙内勤 完成臭氧走航监测 10月23日")
    assert outcome.reply == texts.meeting_none_held()
    world.must("office_admin", "例会 2026-10-12 14:00")
    world.at(2026, 10, 12, 16, 0)
    world.must("office_admin", "例会纪要 研究了臭氧防控，明确走航监测分工")
    assert world.run("office_admin", "例会 10月30日")[0].reply == texts.meeting_held_already(
        "2026年10月双月例会", "10月12日(周一) 14:00"
    )
    out = world.must("office_admin", "例会议定 大气处 孙内勤 完成臭氧走航监测 10月23日")
    assert chats(out) == {("oto", "u-air-clerk"), ("group", AIR)}
    notice = next(m for m in out if m.channel == "oto")
    assert notice.text.startswith("【例会议定】督1 完成臭氧走航监测，期限10月23日(周五) 17:00")
    assert [a.command for a in notice.actions] == ["议定完成 督1", "查看 督1"]
    with world.db.sessions() as s:
        matter = s.get(Matter, 1)
        assert matter is not None
        assert (matter.category, matter.department, matter.owner) == (
            "局重点工作",
            "大气环境处",
            "u-air-clerk",
        )
        link = s.scalars(select(MeetingDecision)).one()
        assert link.matter_id == 1
        kinds = s.scalars(select(Filing.kind).where(Filing.matter_id == 1)).all()
        assert kinds == ["decision"]  # its 期限, no monthly filing besides
    # reminders 3 and 1 working days before and on the day, at 09:00; weekends are quiet
    for day in (19, 20, 21, 22, 23):
        out = sweep_at(world, 2026, 10, day, 9, 0)
        if day in (19, 21):
            assert out == [], day
            continue
        assert chats(out) == {("oto", "u-air-clerk"), ("group", AIR)}, day
        assert out[0].text.startswith(
            "【例会议定事项提醒】督1 完成臭氧走航监测｜例会议定事项期限10月23日(周五) 17:00"
        )
    assert sweep_at(world, 2026, 10, 24, 10, 0) == []
    out = sweep_at(world, 2026, 10, 26, 9, 0)
    assert chats(out) == {("oto", "u-air-head"), ("group", OFFICE)}
    assert "督1 完成臭氧走航监测｜例会议定事项已过时限10月23日(周五) 17:00" in out[0].text
    view = world.run("office_head", "例会情况")[0].reply
    assert "纪要：研究了臭氧防控" in view and "督1 完成臭氧走航监测｜大气环境处｜孙内勤" in view
    assert "｜已超期" in view
    out = world.must("air_clerk", "议定完成 督1")
    assert chats(out) == {("group", OFFICE)}
    assert "｜已完成（待办结）" in world.run("office_head", "例会情况")[0].reply
    world.must("office_admin", "办结事项 督1")
    assert "｜已办结" in world.run("office_head", "例会情况")[0].reply


def test_a_decision_without_a_due_date_files_monthly(world: World) -> None:
    world.at(2026, 10, 12, 10, 0)
    world.must("office_admin", "例会 2026-10-12 14:00")
    world.at(2026, 10, 12, 16, 0)
    out = world.must("office_admin", "例会议定 水处 吴内勤 建立河长巡河台账")
    assert chats(out) == {("oto", "u-water-clerk"), ("group", WATER)}
    with world.db.sessions() as s:
        assert set(s.scalars(select(Filing.kind).where(Filing.matter_id == 1))) == {"monthly"}


def test_refusals(world: World) -> None:
    world.at(2026, 10, 12, 10, 0)
    refused = world.run("air_clerk", "例会 2026-10-20")[0]
    assert not refused.ok and "局办公室督办岗" in refused.reply
    assert world.run("office_admin", "例会 明天")[0].reply == texts.meeting_bad_date("明天")
    assert world.run("office_admin", "例会 2026-10-12 08:00")[0].reply == texts.meeting_in_past(
        "10月12日(周一) 08:00"
    )
    assert world.run("office_admin", "例会 2026-10-20 25:00")[0].reply == (
        texts.meeting_bad_time("25:00")
    )
    assert world.run("office_admin", "例会纪要 要点")[0].reply == texts.meeting_none_held()
    assert world.run("office_admin", "例会 10月1日")[0].reply == texts.meeting_in_past(
        "10月1日(周四) 14:00"
    )
    assert world.run("office_admin", "例会 2030-10-20")[0].reply == texts.meeting_date_too_far(
        "2030-10-20"
    )
    with world.db.sessions() as s:
        assert s.scalars(select(Meeting)).all() == []


def test_the_roster_settings() -> None:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert build_roster(raw).meetings == MeetingRules()
    assert MeetingRules().months == [2, 4, 6, 8, 10, 12]
    raw["meetings"] = {"months": [1, 13], "decision_category": "批示件"}
    with pytest.raises(RosterError) as err:
        build_roster(raw, "org.toml")
    assert "meetings.months: Value error, 13 is not a month" in str(err.value)
    assert "meetings.decision_category" in str(err.value)


def test_parse_day() -> None:
    december = dt.date(2026, 12, 20)
    assert parse_day("1月15日", december) == dt.date(2027, 1, 15)
    assert parse_day("12月1日", december) == dt.date(2026, 12, 1)  # past: refused by the caller
    assert parse_day("2027年2月3日", december) == dt.date(2027, 2, 3)
    assert parse_day("２月３０日", december) is None
    assert parse_day("明天", december) is None


def test_the_agenda_lead_is_a_setting(db: Database, cal: WorkCalendar) -> None:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["meetings"] = {"agenda_workdays_before": 1, "months": [10]}
    world = World(db, build_roster(raw), cal)
    world.at(2026, 9, 28, 10, 0)
    assert world.run("office_admin", "例会 2026-11-12")[0].reply == texts.meeting_set(
        "2026年10月双月例会", "11月12日(周四) 14:00", "11月11日(周三) 09:00"
    )  # a meeting put off into November is October's
    world.must("office_admin", "例会 2026-10-12 15:00")
    assert sweep_at(world, 2026, 10, 9, 17, 0) == []
    out = sweep_at(world, 2026, 10, 10, 9, 0)  # Saturday 10 October 2026 is a working day
    assert chats(out) == {("group", OFFICE)}


def test_the_agenda_lists_a_task_behind_plan_and_not_one_on_schedule(world: World) -> None:
    world.at(2026, 11, 16, 9, 30)
    tz = world.cal.tz

    def due(month: int, day: int) -> dt.datetime:
        return dt.datetime(2026, month, day, 17, 30, tzinfo=tz)

    with world.db.transaction() as s:
        books = {
            d: TaskBook(year=2026, department=d, state="issued", created_at=world.now)
            for d in ("大气环境处", "水生态环境处")
        }
        s.add_all(books.values())
        s.flush()
        numbers = []
        for dept, name, plan in (
            ("大气环境处", "VOCs治理", [(due(11, 2), None)]),  # missed, > 10 working days
            ("水生态环境处", "河道整治", [(due(11, 2), due(11, 2)), (due(12, 30), None)]),
        ):
            task = Task(
                taskbook_id=books[dept].id, year=2026, department=dept, name=name,
                category="局重点工作", platform="无", created_at=world.now,
            )  # fmt: skip
            s.add(task)
            s.flush()
            numbers.append(task.id)
            s.add_all(
                TaskMilestone(task_id=task.id, seq=n, due=d.date(), due_at=d, met_at=met)
                for n, (d, met) in enumerate(plan, 1)
            )
    behind, on_schedule = numbers

    daily_at(world, 2026, 12, 22, 0, 5)
    out = agenda_of(sweep_at(world, 2026, 12, 22, 9, 0))
    summary, _ = out
    lines = summary.text.split("\n")
    assert "- **大气环境处**：任务明显滞后1" in lines
    assert not any("水生态环境处" in line for line in lines)
    document = agenda_document(world)
    rows = [
        [c.text for c in row.cells]
        for table in document.tables
        if table.rows[0].cells[0].text == "类型"
        for row in table.rows[1:]
    ]
    assert [r[:2] for r in rows if r[0] == "任务明显滞后"] == [["任务明显滞后", f"任{behind}"]]
    (evidence,) = [r[2] for r in rows if r[0] == "任务明显滞后"]
    assert (
        evidence.startswith("「VOCs治理」第1个时间节点（11月2日") and "未完成，已逾期" in evidence
    )
    assert lines[0].endswith("滞后事项1项")
    assert not any(f"任{on_schedule}" in r[1] for r in rows)
