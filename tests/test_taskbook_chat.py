"""The task book in chat (新增任务, 任务修改, 删除任务): the same rows and 时间节点 deadlines as
the import, field edits, refusals, 查看's missing fields, and the reminders that follow."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from bot.taskbook_xlsx import import_taskbook
from handlers.sweep import sweep
from storage.models import Deadline, Task, TaskBook, TaskMilestone
from tests.conftest import World

AIR, WATER = "大气环境处", "水生态环境处"
NODES = "11月30日 完成方案；12月31日 完成验收"


def reply(world: World, who: str, text: str) -> str:
    outcome, _ = world.run(who, text)
    assert outcome.ok, outcome.reply
    return outcome.reply


def refused(world: World, who: str, text: str) -> str:
    outcome, _ = world.run(who, text)
    assert not outcome.ok, outcome.reply
    return outcome.reply


def rows(world: World, dept: str) -> list[tuple[object, ...]]:
    """The department's tasks, milestones and their deadline rows, without ids."""
    out: list[tuple[object, ...]] = []
    with world.db.sessions() as s:
        for t in s.scalars(select(Task).where(Task.department == dept).order_by(Task.id)):
            out.append((t.year, t.name, t.target, t.measures, t.owner, t.category, t.platform))
            for m in s.scalars(
                select(TaskMilestone)
                .where(TaskMilestone.task_id == t.id)
                .order_by(TaskMilestone.seq)
            ):
                d = s.get(Deadline, m.deadline_id)
                assert d is not None
                out.append((m.seq, m.due, m.due_at, m.what, m.met_at))
                out.append((d.clock, d.kind, d.step, d.due_at, d.fire_at, d.state))
    return out


def only_task(world: World, dept: str = AIR) -> int:
    with world.db.sessions() as s:
        (number,) = s.scalars(select(Task.id).where(Task.department == dept)).all()
        return number


def test_chat_makes_the_same_rows_and_deadlines_as_the_import(world: World, tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = WATER
    ws.append(["任务名称", "类别", "预期目标", "时间节点", "具体举措", "责任人", "平台"])
    ws.append(["臭氧攻坚", "", "PM2.5达标", NODES, "监测", "老刘", "区网上督查室"])
    book.save(tmp_path / "t.xlsx")
    with world.db.transaction() as s:
        import_taskbook(s, world.roster, world.cal, tmp_path / "t.xlsx", 2026, world.now)
    text = reply(world, "air_clerk", f"新增任务 臭氧攻坚 {NODES}")
    assert "尚缺：预期目标、具体举措、责任人" in text
    ref = f"任{only_task(world)}"
    assert "尚缺：预期目标、具体举措、责任人" in reply(world, "air_head", f"查看 {ref}")
    reply(world, "air_clerk", f"任务修改 {ref} 预期目标 PM2.5达标")
    reply(world, "air_clerk", f"任务修改 {ref} 具体举措 监测")
    assert "老刘" in reply(world, "air_clerk", f"任务修改 {ref} 责任人 老刘")
    assert "要素齐全" in reply(world, "air_head", f"任务修改 {ref} 平台 区网上督查室")
    assert "尚缺" not in reply(world, "air_head", f"查看 {ref}")
    chat, imported = rows(world, AIR), rows(world, WATER)
    assert len(chat) == 5 and chat == imported
    with world.db.sessions() as s:
        books = s.scalars(select(TaskBook).order_by(TaskBook.id)).all()
        assert [(b.department, b.year, b.state) for b in books] == [
            (WATER, 2026, "draft"),
            (AIR, 2026, "draft"),
        ]


def test_field_edits_a_roster_owner_the_nodes_and_delete(world: World) -> None:
    reply(world, "office_admin", "新增任务 2027年度 大气处 扬尘治理 2027-06-30 完成整治")
    number = only_task(world)
    ref = f"任{number}"
    text = reply(world, "air_clerk", f"任务修改 {ref} 责任人 u-air-clerk")
    assert "u-air-clerk" not in text  # the person's name is shown
    reply(world, "air_clerk", f"任务修改 {ref} 类别 区委区政府重点工作")
    reply(world, "air_clerk", f"任务修改 {ref} 时间节点 3月31日 启动；9月底 中期")
    with world.db.sessions() as s:
        task = s.get(Task, number)
        assert task is not None
        assert (task.year, task.owner, task.category) == (2027, "u-air-clerk", "区委区政府重点工作")
        ms = s.scalars(select(TaskMilestone).order_by(TaskMilestone.seq)).all()
        assert [(m.due.isoformat(), m.what) for m in ms] == [
            ("2027-03-31", "启动"),
            ("2027-09-30", "中期"),
        ]
        (old,) = s.scalars(select(Deadline).where(Deadline.state == "cancelled")).all()
        assert old.due_at.year == 2027 and old.due_at.month == 6
    assert "不是任务的字段" in refused(world, "air_clerk", f"任务修改 {ref} 颜色 红")
    assert "时间节点" in refused(world, "air_clerk", f"任务修改 {ref} 时间节点 年底完成")
    reply(world, "air_head", f"删除任务 {ref}")
    with world.db.sessions() as s:
        assert s.scalars(select(Task)).all() == []
        assert s.scalars(select(TaskMilestone)).all() == []
        assert {d.state for d in s.scalars(select(Deadline))} == {"cancelled"}


def test_refusals_name_the_reason(world: World) -> None:
    refused(world, "director", f"新增任务 臭氧攻坚 {NODES}")  # not a department's
    assert "请先写处室" in refused(world, "office_admin", f"新增任务 臭氧攻坚 {NODES}")
    assert "不是大气环境处" in refused(world, "water_clerk", f"新增任务 大气处 臭氧攻坚 {NODES}")
    assert "没有日期" in refused(world, "air_clerk", "新增任务 臭氧攻坚 年底完成")
    assert "早于2026年" in refused(world, "air_clerk", "新增任务 臭氧攻坚 2025-12-31 完成")
    assert "时间节点" in refused(world, "air_clerk", "新增任务 臭氧攻坚")  # the usage line
    with world.db.sessions() as s:
        assert s.scalars(select(Task)).all() == [] and s.scalars(select(TaskBook)).all() == []
    reply(world, "air_clerk", f"新增任务 臭氧攻坚 {NODES}")
    ref = f"任{only_task(world)}"
    assert "不是大气环境处" in refused(world, "water_clerk", f"任务修改 {ref} 预期目标 达标")
    refused(world, "water_head", f"删除任务 {ref}")
    reply(world, "air_head", "任务书提交 2026")
    assert "已提交" in refused(world, "air_clerk", f"新增任务 扬尘治理 {NODES}")
    assert "任务调整" in refused(world, "air_clerk", f"任务修改 {ref} 预期目标 达标")
    refused(world, "air_head", f"删除任务 {ref}")
    assert "尚缺" not in reply(world, "air_head", f"查看 {ref}")  # no longer a draft


def test_reminders_arrive_for_a_task_made_in_chat(world: World) -> None:
    reply(world, "air_clerk", "新增任务 臭氧攻坚 11月30日 完成方案")
    ref = f"任{only_task(world)}"
    reply(world, "air_clerk", f"任务修改 {ref} 责任人 u-air-clerk")
    world.at(2026, 11, 23, 9, 0)  # 5 working days before Monday 11-30
    with world.db.transaction() as session:
        out = sweep(session, world.roster, world.cal, world.now)
    assert {(m.channel, m.target) for m in out} == {("oto", "u-air-clerk"), ("group", "cid-air")}
    assert all(ref in m.text and "完成方案" in m.text for m in out)
