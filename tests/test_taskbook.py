"""The year's task book (document 三(一) 任务分解制度): milestones as deadlines with reminders on
working days to the right people, plan against progress, and what the score reads
(handlers.taskbook.facts); on both databases."""

from __future__ import annotations

import datetime as dt
import io

import docx
from sqlalchemy import select

from handlers.effects import Outgoing
from handlers.score import rules as score_rules
from handlers.score import sheet
from handlers.sweep import sweep
from handlers.taskbook.book import NewTask, parse_milestones, replace_tasks
from handlers.taskbook.facts import PlanFacts, plan_facts
from storage.models import Document, Matter, Task, TaskBook, TaskMilestone
from tests.conftest import TZ, World

OFFICE, AIR, WATER = "cid-office", "cid-air", "cid-water"
AIR_DEPT, WATER_DEPT = "大气环境处", "水生态环境处"


def task(
    name: str,
    milestones: str = "11月30日 完成方案；12月31日 完成验收",
    *,
    dept: str = AIR_DEPT,
    owner: str = "u-air-clerk",
    platform: str = "无",
    target: str = "达标",
    measures: str = "监测",
) -> NewTask:
    return NewTask(
        department=dept,
        name=name,
        category="局重点工作",
        platform=platform,
        target=target,
        measures=measures,
        owner=owner,
        milestones=tuple(parse_milestones(milestones, 2026)),
    )


def put(world: World, dept: str, *tasks: NewTask) -> list[int]:
    with world.db.transaction() as s:
        made = replace_tasks(s, world.roster, world.cal, world.now, 2026, dept, list(tasks))
        return [t.id for t in made]


def sweep_at(world: World, *moment: int) -> list[Outgoing]:
    world.at(*moment)
    with world.db.transaction() as session:
        return sweep(session, world.roster, world.cal, world.now)


def chats(out: list[Outgoing]) -> set[tuple[str, str]]:
    return {(m.channel, m.target) for m in out}


def test_milestone_reminders_arrive_on_working_days_to_the_owner_and_group(world: World) -> None:
    # 2026-11-30 is a Monday: 5 working days before is Monday 11-23, 1 is Friday 11-27
    (number,) = put(world, AIR_DEPT, task("臭氧攻坚", "11月30日 完成方案"))
    assert sweep_at(world, 2026, 11, 22, 10, 0) == []  # a Sunday: nothing
    out = sweep_at(world, 2026, 11, 23, 9, 0)
    assert chats(out) == {("oto", "u-air-clerk"), ("group", AIR)}
    assert f"任{number}" in out[0].text and "完成方案" in out[0].text
    assert sweep_at(world, 2026, 11, 23, 15, 0) == []  # once
    assert sweep_at(world, 2026, 11, 26, 17, 0) == []
    out = sweep_at(world, 2026, 11, 27, 9, 0)
    assert chats(out) == {("oto", "u-air-clerk"), ("group", AIR)}
    assert sweep_at(world, 2026, 11, 28, 10, 0) == []  # Saturday
    assert sweep_at(world, 2026, 11, 30, 17, 0) == []  # the day itself: no more reminders
    # passed unmet: the head and the office group, not the clerk
    out = sweep_at(world, 2026, 12, 1, 9, 0)
    assert chats(out) == {("oto", "u-air-head"), ("group", OFFICE)}
    assert all("仍未完成" in m.text for m in out)
    with world.db.sessions() as s:
        (m,) = s.scalars(select(TaskMilestone)).all()
        assert m.overdue


def test_an_owner_not_in_the_roster_leaves_the_group_reminded(world: World) -> None:
    put(world, WATER_DEPT, task("河道整治", "11月30日 方案", dept=WATER_DEPT, owner="老刘"))
    out = sweep_at(world, 2026, 11, 23, 9, 0)
    assert chats(out) == {("group", WATER)}
    assert "老刘" in out[0].text


def test_plan_facts_per_department(world: World) -> None:
    world.at(2026, 11, 2, 9, 0)
    air = put(
        world,
        AIR_DEPT,
        task("完整的", "11月10日 方案"),  # missed by > 10 working days at the reading
        task("缺举措", "12月31日 验收", measures=""),
        task("平台上的", "11月10日 方案", platform="区网上督查室"),  # behind but on a platform
        task("近期逾期", "11月27日 方案"),  # missed by fewer than 10 working days
    )
    water = put(world, WATER_DEPT, task("缺责任人", "12月31日 验收", dept=WATER_DEPT, owner=""))
    with world.db.transaction() as s:
        marked = s.get(Task, water[0])
        assert marked is not None
        marked.behind_at, marked.behind_note = world.now, "方案未报"
    now = dt.datetime(2026, 12, 4, 9, 0, tzinfo=TZ)
    with world.db.sessions() as s:
        facts = plan_facts(s, world.roster, world.cal, 2026, now)
        empty = PlanFacts(tasks=0, complete=0, off_platform_behind=[])
        assert plan_facts(s, world.roster, world.cal, 2025, now) == {
            AIR_DEPT: empty,
            WATER_DEPT: empty,
        }
    assert set(facts) == {AIR_DEPT, WATER_DEPT}
    got = facts[AIR_DEPT]
    assert (got.tasks, got.complete) == (4, 3)
    assert [label for label, _ in got.off_platform_behind] == [f"任{air[0]}"]
    (evidence,) = [e for _, e in got.off_platform_behind]
    assert "完整的" in evidence and "11月10日" in evidence and "工作日" in evidence
    assert facts[WATER_DEPT] == PlanFacts(
        tasks=1, complete=0, off_platform_behind=[(f"任{water[0]}", evidence_of(facts))]
    )
    assert "方案未报" in facts[WATER_DEPT].off_platform_behind[0][1]


def evidence_of(facts: dict[str, PlanFacts]) -> str:
    return facts[WATER_DEPT].off_platform_behind[0][1]


def test_a_met_milestone_is_not_behind(world: World) -> None:
    world.at(2026, 11, 2, 9, 0)
    (number,) = put(world, AIR_DEPT, task("完整的", "11月10日 方案"))
    with world.db.transaction() as s:
        (m,) = s.scalars(select(TaskMilestone).where(TaskMilestone.task_id == number)).all()
        m.met_at, m.met_by = world.now, "u-air-clerk"
    with world.db.sessions() as s:
        now = dt.datetime(2026, 12, 4, 9, 0, tzinfo=TZ)
        facts = plan_facts(s, world.roster, world.cal, 2026, now)
    assert facts[AIR_DEPT].off_platform_behind == []


def test_milestones_are_read_from_the_cell() -> None:
    assert parse_milestones("1. 6月30日 方案\n2、12.31 验收", 2026) == [
        (dt.date(2026, 6, 30), "方案"),
        (dt.date(2026, 12, 31), "验收"),
    ]
    assert parse_milestones("2027-03-31 启动；9月底 中期", 2026) == [
        (dt.date(2026, 9, 30), "中期"),
        (dt.date(2027, 3, 31), "启动"),
    ]


# --- in chat ---------------------------------------------------------------------------------


def reply(world: World, who: str, text: str) -> str:
    outcome, _ = world.run(who, text)
    assert outcome.ok, outcome.reply
    return outcome.reply


def refused(world: World, who: str, text: str) -> str:
    outcome, _ = world.run(who, text)
    assert not outcome.ok
    return outcome.reply


def test_the_state_path_with_who_and_when(world: World) -> None:
    put(world, AIR_DEPT, task("臭氧攻坚"))
    put(world, WATER_DEPT, task("河道整治", dept=WATER_DEPT, owner="u-water-clerk"))
    assert "没有已提交" in refused(world, "office_admin", "任务书汇总 2026")
    refused(world, "air_clerk", "任务书提交 2026")  # the head submits
    out = world.must("air_head", "任务书提交 2026")
    assert chats(out) == {("group", OFFICE)}
    assert "不能再提交" in refused(world, "air_head", "任务书提交 2026")
    assert "尚未提交：水生态环境处" in reply(world, "office_admin", "任务书汇总 2026")
    refused(world, "air_head", "任务书审定 2026 局长办公会")  # the office records it
    world.later(days=1)
    reply(world, "office_admin", "任务书审定 2026 2026年12月1日局长办公会")
    out = world.must("office_admin", "任务书下达 2026")
    # the department issued (the water book was never submitted); the Word file to the office
    assert chats(out) == {("group", AIR), ("group", OFFICE)}
    (file,) = [m for m in out if m.kind == "file"]
    assert file.target == OFFICE and file.text == "2026年度局重点工作任务书.docx"
    with world.db.sessions() as s:
        (kept,) = s.scalars(select(Document)).all()
        assert docx.Document(io.BytesIO(kept.content)).tables
    with world.db.sessions() as s:
        air, water = s.scalars(select(TaskBook).order_by(TaskBook.id)).all()
        assert air.department == AIR_DEPT and air.state == "issued"
        assert (air.submitted_by, air.compiled_by, air.approved_by, air.issued_by) == (
            "u-air-head",
            "u-admin",
            "u-admin",
            "u-admin",
        )
        assert air.approved_meeting == "2026年12月1日局长办公会"
        assert air.submitted_at is not None and air.approved_at is not None
        assert air.approved_at > air.submitted_at
        assert water.state == "draft"


def test_milestone_met_view_and_amendment(world: World) -> None:
    (number,) = put(world, AIR_DEPT, task("臭氧攻坚"))
    ref = f"任{number}"
    refused(world, "water_clerk", f"已完成 {ref}")  # not their department
    assert "未审定" in refused(world, "office_admin", f"任务调整 {ref} 预期目标 更高 上级要求")
    text = reply(world, "air_clerk", f"已完成 {ref} 方案已印发")
    assert "第1个" in text and "还有1个" in text
    assert "第2个" in reply(world, "air_clerk", f"已完成 {ref} 2")
    assert "都已完成" in refused(world, "air_clerk", f"已完成 {ref}")
    view = reply(world, "air_head", f"查看 {ref}")
    assert "方案已印发" in view and view.count("已完成") >= 2
    with world.db.sessions() as s:
        ms = s.scalars(select(TaskMilestone).order_by(TaskMilestone.seq)).all()
        assert [m.met_by for m in ms] == ["u-air-clerk", "u-air-clerk"]
    # a met milestone sends nothing more
    assert sweep_at(world, 2026, 11, 23, 9, 0) == []
    with world.db.transaction() as s:
        (found,) = s.scalars(select(TaskBook)).all()
        found.state = "approved"
    reply(world, "office_admin", f"任务调整 {ref} 预期目标 PM2.5下降5% 区里下达新指标")
    assert "区里下达新指标" in reply(world, "air_head", f"查看 {ref}")
    with world.db.sessions() as s:
        found_task = s.get(Task, number)
        assert found_task is not None and found_task.target == "PM2.5下降5%"


def test_behind_plan_is_listed_for_the_office(world: World) -> None:
    world.at(2026, 11, 2, 9, 0)
    late, fine = put(
        world, AIR_DEPT, task("臭氧攻坚", "11月10日 方案"), task("其他", "12月31日 验收")
    )
    world.at(2026, 11, 24, 9, 0)  # 10 working days after 11-10: not yet "clearly" behind
    assert f"任{late}" not in reply(world, "office_admin", "待办")
    assert f"任{late}" in reply(world, "air_clerk", "待办")  # missed: the department sees it
    world.at(2026, 11, 26, 9, 0)
    todo = reply(world, "office_admin", "待办")
    assert f"任{late}｜大气环境处任务明显滞后" in todo and f"任{fine}" not in todo
    refused(world, "air_head", f"滞后 任{fine} 进度慢")  # the office judges
    reply(world, "office_admin", f"滞后 任{fine} 验收材料未准备")
    assert "验收材料未准备" in reply(world, "office_admin", "待办")
    assert "明显滞后" in reply(world, "air_head", f"查看 任{fine}")


def test_a_task_becomes_or_links_to_a_matter(world: World) -> None:
    first, second = put(world, AIR_DEPT, task("臭氧攻坚"), task("扬尘治理", owner="老刘"))
    assert "已关联" in reply(world, "office_admin", f"任务立项 任{first}")
    reply(world, "office_admin", f"任务立项 任{second}")
    with world.db.sessions() as s:
        one, two = s.scalars(select(Matter).order_by(Matter.id)).all()
        assert (one.name, one.department, one.owner, one.category) == (
            "臭氧攻坚",
            AIR_DEPT,
            "u-air-clerk",
            "局重点工作",
        )
        assert two.owner == "u-air-head"  # 老刘 is not in the roster: the head owns it
        got = s.get(Task, first)
        assert got is not None and got.matter_id == one.id
    assert "已关联" in refused(world, "office_admin", f"任务关联 任{first} 督{two.id}")
    assert f"督{one.id}" in reply(world, "air_head", f"查看 任{first}")
    # 已完成 <任务/事项>: the 督办事项 a task is followed as stands for the task
    reply(world, "air_clerk", f"已完成 督{one.id} 方案已印发")
    with world.db.sessions() as s:
        met = s.scalars(
            select(TaskMilestone).where(TaskMilestone.task_id == first, TaskMilestone.seq == 1)
        ).one()
        assert met.met_by == "u-air-clerk" and met.note == "方案已印发"
    reply(world, "office_admin", "新增事项 局重点工作 大气处 孙内勤 未关联的事项")
    assert "没有关联任务书的任务" in refused(world, "air_clerk", "已完成 督3")


def test_an_amended_plan_moves_the_reminders(world: World) -> None:
    (number,) = put(world, AIR_DEPT, task("臭氧攻坚"))
    ref = f"任{number}"
    reply(world, "air_clerk", f"已完成 {ref}")  # the first node, 11-30
    with world.db.transaction() as s:
        (found,) = s.scalars(select(TaskBook)).all()
        found.state = "issued"
    assert "时间节点" in refused(world, "office_admin", f"任务调整 {ref} 时间节点 年底 理由")
    text = reply(world, "office_admin", f"任务调整 {ref} 时间节点 12月7日完成验收 提前")
    assert "12月31日 完成验收" in text and "12月7日 完成验收" in text
    with world.db.sessions() as s:
        ms = s.scalars(select(TaskMilestone).order_by(TaskMilestone.seq)).all()
        assert [(m.seq, m.due, m.met_at is not None) for m in ms] == [
            (1, dt.date(2026, 11, 30), True),
            (2, dt.date(2026, 12, 7), False),
        ]
    # 5 working days before 12-07 (a Monday) is 11-30
    out = sweep_at(world, 2026, 11, 30, 9, 0)
    assert chats(out) == {("oto", "u-air-clerk"), ("group", AIR)}
    assert "12月7日" in out[0].text


def test_a_plan_imported_late_reminds_once_and_escalates_nothing_past(world: World) -> None:
    world.at(2026, 11, 26, 10, 0)  # Thursday: 11-10 is long past, 11-27 is tomorrow
    put(world, AIR_DEPT, task("臭氧攻坚", "11月10日 方案；11月27日 中期"))
    out = sweep_at(world, 2026, 11, 26, 10, 1)
    assert chats(out) == {("oto", "u-air-clerk"), ("group", AIR)}
    assert all("第2个" in m.text for m in out)  # the past node is not escalated at once
    assert sweep_at(world, 2026, 11, 27, 9, 30) == []  # the 1-day reminder was this one
    out = sweep_at(world, 2026, 11, 30, 9, 0)
    assert chats(out) == {("oto", "u-air-head"), ("group", OFFICE)}


def test_the_year_end_score_reads_the_task_book(world: World) -> None:
    """Attachment 5: "形成工作任务项目化、项目清单化、清单计划化的不扣分" and "其它不在区督查平台的
    重点工作,与年初计划对表,完成情况与年初计划差距明显的工作一票否决": the score of a department
    with a task book is judged from it (a task without 具体举措 costs 目标清晰度; a task off the
    platforms missed by more than behind_workdays vetoes 完成度); one without a task book gets
    the [score] no_taskbook reading."""
    world.at(2026, 11, 2, 9, 0)
    (behind, _) = put(
        world,
        AIR_DEPT,
        task("臭氧走航", "11月10日 方案"),  # off the platforms, missed by > 10 working days
        task("缺举措", "12月31日 验收", measures=""),
    )
    now = dt.datetime(2026, 12, 4, 9, 0, tzinfo=TZ)
    with world.db.sessions() as s:
        built = sheet.build(s, world.roster, world.cal, 2026, now)
    by_name = {d["name"]: d for d in built["departments"]}
    air = {line["item"]: line for line in by_name[AIR_DEPT]["lines"]}
    assert air[score_rules.CLARITY]["base"] == 1.5  # 1 of 2 tasks complete
    assert air[score_rules.COMPLETION]["points"] == 0
    assert any(f"任{behind}" in v and "臭氧走航" in v for v in by_name[AIR_DEPT]["vetoes"])
    water = {line["item"]: line for line in by_name[WATER_DEPT]["lines"]}
    assert water[score_rules.CLARITY]["base"] == 3  # no task book: full marks, noted
    assert "尚无工作任务书" in water[score_rules.CLARITY]["evidence"][0]
    assert not by_name[WATER_DEPT]["vetoes"]
