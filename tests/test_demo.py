"""The scripted day that `python -m bot demo` (and the README's run command without
credentials) shows: it plays through and shows every capability once."""

from __future__ import annotations

from pathlib import Path

from bot.demo import play
from config.roster import Roster
from tests.conftest import CAL


async def test_the_demo_day(roster: Roster, tmp_path: Path) -> None:
    transcript = "\n".join(await play(roster, CAL, tmp_path))
    for expected in (
        "[川沙新镇直通车群] 已收到，编号#1",  # the town's receipt
        "【新@件】#1",  # the office's triage notice
        "经甄别，该事项非本机关职责范围。",  # 退回
        "该政策咨询/问题已收到，经研判需集体讨论",  # the hard case's placeholder
        "【超时督办】#4",  # an escalation
        "【填报提醒】督1",  # a monthly filing reminder
        "【第一层级约谈问询】督1",  # the ladder
        "填报按时完成",
        "2026年11月督办统计",
    ):
        assert expected in transcript, expected
