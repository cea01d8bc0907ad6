"""督办事项 commands, monthly filings, 批示件, lights and the ladder, on both databases."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from config.interviews import InterviewRules
from handlers.effects import Outgoing
from handlers.sweep import sweep
from storage.models import Deadline, Filing, Interview, Light, Matter
from tests.conftest import TZ, World

AIR_GROUP, OFFICE_GROUP = "cid-air", "cid-office"


def add(world: World, text: str = "区委区政府重点工作 大气处 孙内勤 臭氧污染防治攻坚") -> int:
    world.must("office_admin", f"新增事项 {text}")
    with world.db.sessions() as s:
        return max(s.scalars(select(Matter.id)).all())


def sweep_at(world: World, *moment: int) -> list[Outgoing]:
    world.at(*moment)
    with world.db.transaction() as session:
        return sweep(session, world.roster, world.cal, world.now)


TABLES = ("matters", "matter_events", "filings", "lights", "criticisms", "interviews")


def snapshot(world: World) -> dict[str, list[tuple[object, ...]]]:
    with world.db.sessions() as s:
        cursor = s.connection().connection.cursor()
        out = {}
        for name in TABLES:
            cursor.execute(f"SELECT * FROM {name} ORDER BY id")
            out[name] = [tuple(row) for row in cursor.fetchall()]
        cursor.close()
        return out


def rows(world: World, model: type, **where: object) -> list:  # type: ignore[type-arg]
    with world.db.sessions() as s:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(s.scalars(query.order_by(model.id)).all())


# --- registry ------------------------------------------------------------------------------


def test_add_edit_list_show_close(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    outcome, _ = world.run("office_admin", "新增事项 攻坚 大气处 孙内勤 工业园区VOCs治理")
    assert outcome.ok and "督1" in outcome.reply and "历史遗留问题攻坚" in outcome.reply
    m = rows(world, Matter)[0]
    assert (m.category, m.star, m.platform, m.department, m.owner, m.deputy) == (
        "历史遗留问题攻坚",
        False,
        "区网上督查室",
        "大气环境处",
        "u-air-clerk",
        "u-deputy-1",
    )
    assert world.must("office_admin", "修改事项 督1 绩效考核 是") == []
    outcome, _ = world.run("office_admin", "修改事项 1 负责人 赵处")
    assert outcome.reply == "督1 工业园区VOCs治理：负责人由「孙内勤」改为「赵处」。"
    outcome, _ = world.run("office_admin", "事项列表 大气处")
    assert "督1 工业园区VOCs治理｜★历史遗留问题攻坚｜大气环境处" in outcome.reply
    outcome, _ = world.run("air_clerk", "查看 督1")
    assert outcome.ok and "负责人赵处" in outcome.reply and "修改" in outcome.reply
    outcome, _ = world.run("office_admin", "办结事项 VOCs")  # a unique part of the name
    assert outcome.ok and "销项报告" in outcome.reply  # 攻坚: its report first (test_closure.py)
    world.must("office_admin", "修改事项 督1 类别 局重点工作")
    outcome, _ = world.run("office_admin", "办结事项 VOCs")
    assert outcome.ok and "已办结" in outcome.reply
    outcome, _ = world.run("office_admin", "事项列表 已办结")
    assert "督1" in outcome.reply


@pytest.mark.parametrize(
    ("who", "text", "expected"),
    [
        ("air_clerk", "新增事项 攻坚 大气处 孙内勤 X", "局办公室督办岗"),
        (
            "office_admin",
            "新增事项 攻坚 大气处",
            "格式：新增事项 <类别> <处室> <负责人> [年度] <名称>",
        ),
        ("office_admin", "新增事项 不存在 大气处 孙内勤 X", "没有「不存在」这个类别"),
        ("office_admin", "新增事项 攻坚 土壤处 孙内勤 X", "土壤处"),
        ("office_admin", "新增事项 攻坚 大气处 无名氏 X", "名单中没有「无名氏」"),
        ("office_admin", "修改事项 督99 名称 X", "没有找到督办事项「督99」"),
        ("office_admin", "修改事项 督1 颜色 红", "格式：修改事项"),
        ("office_admin", "修改事项 督1 绩效考核 也许", "请写「是」或「否」"),
        ("office_admin", "修改事项 督1 平台 微信", "没有「微信」这个平台"),
        ("office_admin", "修改事项 督1 名称 臭氧污染防治攻坚", "没有变化"),
        ("office_admin", "亮灯 督1 紫", "格式：亮灯 <事项> <绿/黄/红> [月份]"),
        ("office_admin", "亮灯 督1 黄 13月", "没看懂月份「13月」"),
        ("office_admin", "亮灯 督1 黄 2026-12", "2026年12月还没到"),
        ("air_clerk", "亮灯 督1 黄", "局办公室督办岗"),
        ("office_admin", "点名 督1 市领导", "格式：点名"),
        ("office_admin", "约谈完成 督1", "没有待开展的约谈问询"),
        ("water_clerk", "已填报 督1", "由大气环境处负责"),
        ("air_clerk", "已填报 督1 2025-01", "没有2025年1月的填报任务"),
        ("air_clerk", "签收 督1", "不是领导批示件"),
        ("office_admin", "批示件 大气处 明天 X", "没看懂日期「明天」"),
        ("office_admin", "批示件 大气处 2026-01-05 X", "已经过去"),
        ("office_admin", "事项列表 火星", "格式：事项列表"),
        ("office_admin", "修改事项 督1", "格式：修改事项"),
        ("office_admin", "修改事项 督1 处室 土壤处", "土壤处"),
        ("office_admin", "修改事项 督1 负责人 无名氏", "名单中没有「无名氏」"),
        ("office_admin", "修改事项 督1 负责人 吴内勤", "吴内勤是水生态环境处的人员"),
        ("office_admin", "新增事项 攻坚 大气处 周处 新事项", "周处是水生态环境处的人员"),
        ("office_admin", "亮灯 督1 黄 2025-12", "不能记录2025年12月的"),
        ("office_admin", "修改事项 督1 名称 扬尘管控", "已有同名事项：督2"),
        ("office_admin", "办结事项", "格式：办结事项 <事项> [说明]"),
        ("office_admin", "办结事项 督3", "已办结"),
        ("office_admin", "亮灯 督1", "格式：亮灯"),
        ("office_admin", "亮灯 督99 黄", "没有找到督办事项「督99」"),
        ("office_admin", "点名 督1", "格式：点名"),
        ("air_clerk", "点名 督1 区主要领导 全区大会", "局办公室督办岗"),
        ("office_admin", "点名 督1 区主要领导", "格式：点名"),  # the reason is required
        ("office_admin", "严重滞后 督1 区分管", "格式：严重滞后"),
        ("office_admin", "严重滞后 督1 市领导 滞后", "格式：严重滞后"),
        ("air_head", "启动约谈 督1", "局办公室督办岗"),
        ("office_admin", "启动约谈 督1", "没有待决定的约谈建议"),
        ("office_admin", "不约谈 督1 一级", "格式：不约谈"),  # the reason is required
        ("office_admin", "约谈完成", "格式：约谈完成"),
        ("air_head", "约谈完成 督1", "局办公室督办岗"),
        ("office_admin", "批示件 大气处 2026-12-10", "格式：批示件"),
        ("office_admin", "批示件 土壤处 2026-12-10 X", "土壤处"),
        ("office_admin", "批示件 大气处 2026-02-30 X", "没看懂日期「2026-02-30」"),
        ("office_admin", "批示件 大气处 2026-12-10 扬尘管控", "已有同名事项"),
        ("air_clerk", "批示件 大气处 2026-12-10 X", "局办公室督办岗"),
        ("air_clerk", "闭环 督1 报区主要领导", "不是领导批示件"),
        ("air_clerk", "进展 督1", "格式：进展"),
        ("office_admin", "统计 十三月", "没看懂月份「十三月」"),
        ("air_clerk", "事项列表", "局办公室督办岗"),
        ("air_clerk", "已填报", "格式：已填报"),
    ],
)
def test_refusals_and_usage(world: World, who: str, text: str, expected: str) -> None:
    world.at(2026, 11, 2, 10, 0)
    add(world)
    add(world, "区委区政府重点工作 大气处 孙内勤 扬尘管控")
    add(world, "局重点工作 水处 吴内勤 已办结事项")
    world.must("office_admin", "办结事项 督3")
    before = snapshot(world)
    outcome, out = world.run(who, text)
    assert expected in outcome.reply
    assert out == []
    if not outcome.ok:
        assert snapshot(world) == before


def test_a_name_that_matches_several_items_asks_for_the_number(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    add(world, "攻坚 大气处 孙内勤 臭氧治理一期")
    add(world, "攻坚 大气处 孙内勤 臭氧治理二期")
    outcome, _ = world.run("office_admin", "亮灯 臭氧 黄")
    assert not outcome.ok and "督1" in outcome.reply and "督2" in outcome.reply


# --- monthly filings -----------------------------------------------------------------------


def test_filing_reminders_digest_escalation_and_overdue(world: World) -> None:
    """区委区政府重点工作 by the 20th: 2026-11-20 is a Friday. Reminders 3 and 1 working days
    before and on the day at 09:00, one digest per group; then 超限 to the head and the office."""
    world.at(2026, 11, 2, 10, 0)
    first = add(world)
    second = add(world, "区委区政府重点工作 大气处 孙内勤 扬尘管控")
    assert sweep_at(world, 2026, 11, 16, 18, 0) == []  # off hours: nothing
    out = sweep_at(world, 2026, 11, 17, 9, 0)  # 3 working days before Friday
    assert {(m.channel, m.target) for m in out} == {("group", AIR_GROUP), ("oto", "u-air-clerk")}
    group = next(m for m in out if m.target == AIR_GROUP)
    assert group.text.count("11月20日(周五) 17:00") == 2  # both matters in one digest
    assert f"督{first}" in group.text and f"督{second}" in group.text
    assert sweep_at(world, 2026, 11, 17, 9, 30) == []  # once
    assert len(sweep_at(world, 2026, 11, 19, 9, 0)) == 2
    world.must("air_clerk", f"已填报 督{first}")
    out = sweep_at(world, 2026, 11, 20, 9, 0)
    assert all(f"督{first} " not in m.text for m in out) and out
    out = sweep_at(world, 2026, 11, 23, 9, 0)  # Monday: the node passed
    assert {(m.channel, m.target) for m in out} == {("oto", "u-air-head"), ("group", OFFICE_GROUP)}
    assert all("超限" in m.text and f"督{second}" in m.text for m in out)
    done, late = rows(world, Filing, period="2026-11")
    assert (done.done_at is not None, done.overdue) == (True, False)
    assert (late.done_at, late.overdue) == (None, True)
    outcome, _ = world.run("air_clerk", f"已填报 督{second}")
    assert "超限" in outcome.reply
    assert sweep_at(world, 2026, 11, 24, 9, 0) == []


def test_off_platform_items_are_due_one_working_day_earlier(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    add(world, "实事项目 大气处 孙内勤 局实事项目")  # platform 无: node 11-25, due Tuesday 11-24
    row = rows(world, Filing)[0]
    assert row.due_at == dt.datetime(2026, 11, 24, 17, 0, tzinfo=TZ)
    out = sweep_at(world, 2026, 11, 19, 9, 0)
    assert out and "报局办公室" in out[0].text


def test_bureau_key_work_is_due_on_its_own_node(world: World) -> None:
    # attachment 6: "局重点工作：每月 20 日前填报" -- the bureau's own node, no office lead
    world.at(2026, 11, 2, 10, 0)
    add(world, "局重点工作 大气处 孙内勤 局重点项目")
    row = rows(world, Filing)[0]
    assert row.due_at == dt.datetime(2026, 11, 20, 17, 0, tzinfo=TZ)


def test_an_outage_sends_one_late_reminder_not_a_burst(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    add(world)
    out = sweep_at(world, 2026, 11, 19, 10, 0)  # missed 11-17 09:00 and 11-19 09:00
    assert len([m for m in out if m.channel == "group"]) == 1
    assert "11月19日(周四) 09:00" in out[0].text  # the planned time is stated
    (filing,) = rows(world, Filing, period="2026-11")
    # the next step is the escalation (step 2), pending
    pending = rows(world, Deadline, filing_id=filing.id, state="pending")
    assert [d.step for d in pending] == [2]


def test_an_item_added_after_the_node_starts_next_month(world: World) -> None:
    world.at(2026, 11, 23, 10, 0)
    add(world)
    assert [r.period for r in rows(world, Filing)] == ["2026-12"]


# --- 批示件 --------------------------------------------------------------------------------


def test_instruction_sign_feedback_progress_and_closure(world: World) -> None:
    world.at(2026, 11, 16, 10, 0)
    out = world.must("office_admin", "批示件 大气处 2026-12-10 关于加强秋冬季大气污染防治的批示")
    assert {(m.channel, m.target) for m in out} == {("group", AIR_GROUP), ("oto", "u-air-clerk")}
    assert "11月17日(周二) 10:00" in out[0].text  # 签收 within one working day
    assert "12月9日(周三) 17:00" in out[0].text  # 反馈 one working day before 12-10
    assert sweep_at(world, 2026, 11, 16, 14, 0) == []
    assert sweep_at(world, 2026, 11, 16, 14, 30)  # half-way reminder to sign
    world.at(2026, 11, 17, 11, 0)
    outcome, _ = world.run("air_clerk", "签收 督1")
    assert "超限" in outcome.reply  # signed an hour late
    world.at(2026, 12, 1, 10, 0)
    outcome, _ = world.run("air_clerk", "进展 督1 1、目前进展：已召开专题会。2、难点问题：无。")
    assert not outcome.ok and "缺少「下一步打算」" in outcome.reply
    long = "进" * 510
    report = f"1、目前进展：{long} 2、难点问题：协调。3、下一步打算：月底完成。"
    outcome, _ = world.run("air_clerk", f"进展 督1 {report}")
    assert not outcome.ok and "「目前进展」超出10字（510/500字）" in outcome.reply
    good = "1、目前进展：已召开专题会。2、难点问题：需区里协调。3、下一步打算：12月底完成。"
    outcome, _ = world.run("air_clerk", f"进展 督1 {good}")
    assert outcome.ok and "12月填报" in outcome.reply
    world.must("air_clerk", "已反馈 督1 已按批示完成专项检查。")
    world.must("deputy", "同意 督1")  # the earliest due first: December's report
    world.must("deputy", "同意 督1")  # then the feedback
    assert all(r.done_at is not None for r in rows(world, Filing) if r.period != "2027-01")
    outcome, _ = world.run("air_clerk", "闭环 督1 抄报区委督查室")
    assert not outcome.ok and "局办公室督办岗" in outcome.reply
    world.must("air_clerk", "闭环 督1 报区主要领导")
    world.must("air_head", "闭环 督1 传阅办公室")
    out = world.must("office_admin", "闭环 督1 抄报区委督查室")
    assert rows(world, Matter)[0].status == "closed"
    assert out and "闭环完成" in out[0].text


# --- lights and the ladder -----------------------------------------------------------------


def auto(world: World) -> None:
    """The roster's ``[interviews] start = "auto"``: interviews start without the office."""
    rules = InterviewRules(start="auto")
    world.roster = dataclasses.replace(
        world.roster, data=world.roster.data.model_copy(update={"interviews": rules})
    )


def test_a_second_yellow_opens_a_tier_one_interview_when_auto(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    auto(world)
    add(world)
    assert world.must("office_admin", "亮灯 督1 黄 9月") == []
    out = world.must("office_admin", "亮灯 督1 黄 10月")
    assert {(m.channel, m.target) for m in out} == {
        ("oto", "u-air-head"),
        ("oto", "u-air-clerk"),
        ("group", AIR_GROUP),
    }
    assert "第一层级约谈问询" in out[0].text and "2026年9月黄灯、10月黄灯" in out[0].text
    assert "由赵处约谈孙内勤" in out[0].text
    assert world.must("office_admin", "亮灯 督1 黄 10月") == []  # unchanged: nothing again
    out = world.must("office_admin", "亮灯 督1 红 11月")
    assert "第二层级约谈问询" in out[0].text
    states = [(i.tier, i.state) for i in rows(world, Interview)]
    assert states == [(1, "superseded"), (2, "open")]
    world.must("office_admin", "约谈完成 督1 已约谈")
    assert [i.state for i in rows(world, Interview)] == ["superseded", "held"]
    outcome, _ = world.run("office_admin", "查看 督1")
    assert "2026年9月黄灯、2026年10月黄灯、2026年11月红灯" in outcome.reply


def test_lights_on_an_item_outside_the_assessment_open_nothing(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    add(world, "局重点工作 大气处 孙内勤 局重点项目")
    world.must("office_admin", "亮灯 督1 红 9月")
    outcome, out = world.run("office_admin", "亮灯 督1 红 10月")
    assert out == [] and "不启动约谈问询" in outcome.reply
    assert len(rows(world, Light)) == 2


def test_named_criticism_by_the_principal_leader_opens_tier_three(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    auto(world)
    add(world)
    out = world.must("office_admin", "点名 督1 区主要领导 推进进度严重滞后")
    assert "第三层级约谈问询" in out[0].text and "由张局约谈陈副局" in out[0].text


def test_two_late_filings_open_tier_one_from_the_sweeper(world: World) -> None:
    world.at(2026, 10, 9, 10, 0)
    add(world)
    sweep_at(world, 2026, 10, 21, 9, 0)  # October's filing missed
    world.must("air_clerk", "已填报 督1 10月")
    out = sweep_at(world, 2026, 11, 23, 9, 0)  # November's missed too
    notices = [m for m in out if "约谈问询" in m.text]
    assert notices and "超限报告2次：2026年10月、11月" in notices[0].text


def test_statistics_in_chat(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    add(world)
    world.must("office_admin", "亮灯 督1 黄 11月")
    number = world.receive()
    world.must("office_admin", f"分派 {number} 大气处")
    world.must("air_clerk", f"认领 {number}")
    outcome, _ = world.run("director", "统计 11月")
    assert outcome.ok and outcome.reply.startswith("**2026年11月督办统计**")
    assert "**大气环境处** @件1 认领按时1/1" in outcome.reply and "黄灯1" in outcome.reply
    outcome, _ = world.run("air_clerk", "统计")
    assert not outcome.ok and "局办公室督办岗" in outcome.reply


@pytest.mark.parametrize(
    ("who", "text", "expected"),
    [
        ("air_clerk", "闭环 督1 写完了", "格式：闭环"),
        ("water_clerk", "签收 督1", "由大气环境处负责"),
        ("air_clerk", "签收 督1", "已于"),  # signed already below
        ("air_clerk", "进展 督1 一切顺利", "没有找到进展报告的各部分"),
        ("office_admin", "签收 督1", "处室内勤、处室负责人"),
    ],
)
def test_instruction_refusals(world: World, who: str, text: str, expected: str) -> None:
    world.at(2026, 11, 16, 10, 0)
    world.must("office_admin", "批示件 大气处 2026-12-10 批示一")
    world.must("air_clerk", "签收 督1")
    before = snapshot(world)
    outcome, out = world.run(who, text)
    assert not outcome.ok and expected in outcome.reply, outcome.reply
    assert out == [] and snapshot(world) == before
