"""Overdue shown as overdue (待办, 列表, 查看), and 待办 lists the registry work too."""

from __future__ import annotations

import pytest
from conftest import World

from handlers import texts
from handlers.workcal import WorkCalendar
from tests.test_matters import add


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (0, "已超时"),
        (1, "已超时 1分钟"),
        (59, "已超时 59分钟"),
        (120, "已超时 2小时"),
        (150, "已超时 2小时30分"),
        (419, "已超时 6小时59分"),
        (420, "已超时 1个工作日"),
        (630, "已超时 1.5个工作日"),
        (839, "已超时 1.5个工作日"),
        (420 * 12, "已超时 12个工作日"),
    ],
)
def test_overdue_in_working_time(minutes: int, shown: str, cal: WorkCalendar) -> None:
    assert cal.day_us // 60_000_000 == 420  # 09:00-12:00 and 13:00-17:00
    assert texts.overdue(minutes, 420) == shown


def test_todo_list_and_show_mark_the_overdue_clock(world: World) -> None:
    n = world.build("assigned")  # Monday 09:30; claim due 14:00
    world.at(2026, 11, 16, 13, 30)
    outcome, _ = world.run("air_clerk", "待办")
    assert outcome.reply == f"待办：\n#{n} 川沙新镇·待认领，时限11月16日(周一) 14:00"
    world.at(2026, 11, 16, 16, 0)  # two working hours late
    outcome, _ = world.run("air_clerk", "待办")
    assert outcome.reply.endswith("时限11月16日(周一) 14:00，已超时 2小时")
    outcome, _ = world.run("office_admin", "列表")
    assert f"#{n} 川沙新镇·待认领·大气环境处·已超时 2小时" in outcome.reply
    outcome, _ = world.run("office_admin", f"查看 {n}")
    assert "认领时限：11月16日(周一) 14:00（已超时 2小时）" in outcome.reply
    # the triage deadline (14:00 too) was met: not marked
    assert "甄别时限：11月16日(周一) 14:00\n" in outcome.reply
    world.at(2026, 11, 17, 9, 0)  # the night does not count
    outcome, _ = world.run("office_admin", "列表")
    assert "·已超时 3小时" in outcome.reply


def test_todo_lists_filings_and_interviews(world: World) -> None:
    world.at(2026, 11, 16, 10, 0)
    add(world)  # 区委区政府重点工作 (★) in 大气处, owner 孙内勤: files by the 20th
    outcome, _ = world.run("air_clerk", "待办")
    assert outcome.reply == "待办：\n督1 臭氧污染防治攻坚·2026年11月填报，时限11月20日(周五) 17:00"
    outcome, _ = world.run("water_clerk", "待办")
    assert outcome.reply == texts.nothing_to_do()
    world.at(2026, 11, 24, 10, 0)  # Friday 17:00 + 8 working hours
    outcome, _ = world.run("air_head", "待办")
    assert "·2026年11月填报，时限11月20日(周五) 17:00，已超时 1个工作日" in outcome.reply
    world.must("office_admin", "亮灯 督1 黄 9月")
    world.must("office_admin", "亮灯 督1 黄 10月")  # tier 1 proposed to the office
    proposal = (
        "督1 臭氧污染防治攻坚·约谈建议待决定（11月24日(周二) 10:00起）："
        "第一层级约谈问询，赵处约谈孙内勤"
    )
    outcome, _ = world.run("office_admin", "待办")
    assert proposal in outcome.reply
    for who in ("air_head", "air_clerk"):  # only the office decides
        outcome, _ = world.run(who, "待办")
        assert "约谈" not in outcome.reply, who
    world.must("office_admin", "启动约谈 督1")  # the head interviews the owner
    line = "督1 臭氧污染防治攻坚·第一层级约谈问询：赵处约谈孙内勤"
    for who in ("air_head", "air_clerk", "office_admin"):
        outcome, _ = world.run(who, "待办")
        assert line in outcome.reply, who
    outcome, _ = world.run("water_head", "待办")
    assert line not in outcome.reply
    world.must("air_clerk", "已填报 督1 11月")
    outcome, _ = world.run("air_clerk", "待办")
    assert "填报" not in outcome.reply.replace("约谈完成", "")
