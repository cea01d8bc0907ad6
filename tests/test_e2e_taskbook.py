"""End to end for the task book: an imported task's 时间节点 reminders reach the 责任人 and the
department's group through the real SDK and the local DingTalk on working days only, the
escalation reaches the head and the office group, and 已完成 stops the next node's."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from bot.sandbox import Sandbox
from bot.taskbook_xlsx import import_taskbook
from config.roster import Roster
from tests.test_e2e import CAL, FAST_RETRY, start_at
from tests.test_e2e_matters import until

OFFICE, AIR = "cid-office", "cid-air"


def chats(out: list, word: str) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    """(channel, chat) of the messages naming ``word``; a 1:1 message's target is its users."""
    found = set()
    for m in out:
        if word in m.text:
            targets = m.target if isinstance(m.target, tuple) else (m.target,)
            found |= {(m.channel, t) for t in targets}
    return found


async def test_milestone_reminders_escalation_and_done(roster: Roster, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "大气处"
    sheet.append(["任务名称", "时间节点", "预期目标", "具体举措", "责任人"])
    sheet.append(["臭氧攻坚", "11月30日 完成方案\n12月31日 完成验收", "达标", "监测", "孙内勤"])
    book.save(tmp_path / "t.xlsx")
    url = f"sqlite:///{tmp_path}/e2e.db"
    async with Sandbox(
        roster, CAL, db_url=url, start=start_at("2026-11-20 10:00"), sender_options=FAST_RETRY
    ) as box:
        with box.db.transaction() as session:
            import_taskbook(session, roster, CAL, tmp_path / "t.xlsx", 2026, box.clock.now)
        # 5 working days before Monday 11-30: Monday 11-23; nothing on the weekend
        assert chats(await until(box, "2026-11-23 08:55"), "任1") == set()
        out = await until(box, "2026-11-23 09:15")
        assert chats(out, "任1") == {("oto", "u-air-clerk"), ("group", AIR)}
        assert chats(await until(box, "2026-11-26 18:00"), "任1") == set()
        out = await until(box, "2026-11-27 09:15")  # 1 working day before
        assert chats(out, "任1") == {("oto", "u-air-clerk"), ("group", AIR)}
        out = await until(box, "2026-12-01 09:15")  # passed unmet
        assert chats(out, "任1") == {("oto", "u-air-head"), ("group", OFFICE)}
        reply = await box.person_says("u-air-clerk", "已完成 任1 方案已印发")
        assert any("第1个时间节点" in m.text and "超过时间节点" in m.text for m in reply)
        reply = await box.person_says("u-air-clerk", "已完成 任1")
        assert any("全部节点已完成" in m.text for m in reply)
        # the second node (12-31) is met: no reminder in late December
        assert chats(await until(box, "2026-12-31 18:00"), "任1") == set()
