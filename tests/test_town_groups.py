"""Bureau answers never land in a town's group: every command typed there by a roster person
is answered 1:1, anything else is left alone; through the real SDK and the local DingTalk."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox import Sandbox
from config.roster import Roster, load_roster
from handlers import texts
from handlers.dispatch import REGISTRY
from handlers.workcal import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
EXAMPLE = Path(__file__).parent.parent / "config" / "examples" / "org.toml"
CHUANSHA = "cid-town-chuansha"
ZHANGJIANG = "cid-town-zhangjiang"
FAST_RETRY = {"backoff_base": 0.02, "backoff_max": 0.1, "max_wait": 0.05}

# One sample of every command, about another town's item (#2) or the registry (督1).
SAMPLES = [
    "分派 2 水处",
    "退回 2 不属于我局",
    "改派 2 水处",
    "登记 张江镇 政策咨询 电话咨询油烟检测",
    "认领 2",
    "答复 2 请落实六个百分百",
    "同意 2",
    "退改 2 请补充依据",
    "疑难 2",
    "报分管 2",
    "集体研判 2",
    "已线下答复 2",
    "待办",
    "查看 2",
    "列表",
    "帮助",
    "新增事项 局重点工作 大气处 u-air-clerk 扬尘治理",
    "修改事项 督1 备注 测试",
    "办结事项 督1",
    "事项列表",
    "查看 督1",
    "已填报 督1",
    "批示件 大气处 2026-12-10 落实区长批示",
    "签收 督1",
    "已反馈 督1 已完成专项检查",
    "进展 督1 1、目前进展：推进中 2、难点问题：无 3、下一步打算：继续",
    "闭环 督1 报区主要领导",
    "亮灯 督1 黄",
    "点名 督1 区分管领导 全区环保大会上指出进度滞后",
    "严重滞后 督1 区主要 年度目标完成不到三成",
    "启动约谈 督1",
    "不约谈 督1 二级 已整改到位",
    "约谈完成 督1",
    "销项 督1 问题描述：无 解决情况：无",
    "附件 督1",
    "复核 督1 实地核查 现场已整改",
    "调整申请 督1 改期",
    "调整同意 督1 王副区长",
    "调整备案 督1",
    "调整撤回 督1",
    "统计",
    "汇总 实事项目",
    "重发 2",
    "发送失败",
    "报告 季度",
    "报告已呈报 2026Q3",
    "例会 2026-12-18 14:30",
    "例会纪要 研究了重点工作推进",
    "例会议定 大气处 孙内勤 完成走航监测 12月31日",
    "议定完成 督1",
    "例会情况",
    "考核 2026",
    "考核调整 大气处 成效情况 1 成效明显",
    "考核意见 2026 总体完成年度任务",
    "考核送审 2026",
    "考核审定 2026",
    "考核退回 2026 请核实",
    "考核重开 2026 数据更正",
    "新增任务 臭氧攻坚 6月30日 完成方案；12月31日 完成验收",
    "任务修改 任1 预期目标 PM2.5下降5%",
    "删除任务 任1",
    "已完成 任1 方案已印发",
    "任务书提交 2026",
    "任务书汇总 2026",
    "任务书审定 2026 局长办公会",
    "任务书下达 2026",
    "任务调整 任1 预期目标 更高 上级要求",
    "任务关联 任1 督1",
    "任务立项 任1",
    "滞后 任1 进度慢",
    "查看 任1",
    "分派 ２",  # malformed: its usage line, privately
]


def test_the_samples_cover_every_command() -> None:
    named = {REGISTRY.parse(text).name for text in SAMPLES if not text.startswith("分派 ２")}
    assert named == set(REGISTRY.specs)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    roster: Roster = load_roster(EXAMPLE)
    async with Sandbox(
        roster,
        WorkCalendar(),
        db_url=f"sqlite:///{tmp_path}/town.db",
        start=dt.datetime(2026, 11, 16, 9, 30, tzinfo=SH),
        sender_options=FAST_RETRY,
    ) as box:
        yield box


async def test_commands_in_a_town_group_are_answered_privately(sandbox: Sandbox) -> None:
    await sandbox.town_says("川沙新镇", "川沙的问题", staff_id="town-cs-1", nick="李娜")
    await sandbox.town_says("张江镇", "张江的问题", staff_id="town-zj-1", nick="王芳")
    await sandbox.person_says("u-admin", "新增事项 局重点工作 大气处 u-air-clerk 扬尘治理")
    people = ["u-admin", "u-air-clerk", "u-air-head", "u-deputy-1", "u-director"]
    for person in people:
        for text in SAMPLES:
            out = await sandbox.person_says(person, text, group=CHUANSHA)
            # nothing about another town, the registry or statistics reaches this town
            assert [m for m in out if CHUANSHA in (m.target, *m.target)] == [], (person, text)
            # the answer went to the person alone
            assert any(m.channel == "oto" and m.target == (person,) for m in out), (person, text)


async def test_talk_in_a_town_group_is_left_alone(sandbox: Sandbox) -> None:
    for text in ["好的，我们尽快处理", "你好", "", "认领了"]:
        out = await sandbox.person_says("u-air-clerk", text, group=CHUANSHA)
        assert out == [], text


async def test_acting_on_the_towns_own_item_from_its_group(sandbox: Sandbox) -> None:
    """An approval typed in the town's group sends the answer to the town (its own item) and
    the confirmation to the approver alone."""
    await sandbox.town_says("川沙新镇", "川沙的问题", staff_id="town-cs-1", nick="李娜")
    await sandbox.person_says("u-admin", "分派 1 大气处")
    await sandbox.person_says("u-air-clerk", "认领 1")
    await sandbox.person_says("u-air-clerk", "答复 1 已答复内容")
    out = await sandbox.person_says("u-air-head", "同意 1", group=CHUANSHA)
    to_town = [m for m in out if m.target == CHUANSHA]
    assert len(to_town) == 1 and to_town[0].text.endswith("\n已答复内容")
    assert [m.text for m in out if m.target == ("u-air-head",)] == [
        texts.approved_reply(1),
        texts.delivered_notice("reply", 1, "川沙新镇"),
    ]


async def test_bureau_groups_still_get_their_answers(sandbox: Sandbox) -> None:
    out = await sandbox.person_says("u-admin", "列表", group="cid-office")
    assert [m.channel for m in out] == ["session"] and out[0].target == "cid-office"
    out = await sandbox.person_says("u-air-clerk", "待办", group="cid-air")
    assert [m.channel for m in out] == ["session"] and out[0].target == "cid-air"
