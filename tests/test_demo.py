"""The scripted day that `python -m bot demo` (and the README's run command without
credentials) shows: it plays through and shows every capability once."""

from __future__ import annotations

import re
from pathlib import Path

from bot.demo import play
from bot.local_dingtalk import OutboundMessage
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
        "【约谈建议】督1",  # the ladder proposes ("酌情启动约谈问询")
        "【第一层级约谈问询】督1",  # the office started it
        "填报按时完成",
        "2026年11月督办统计",
        "〔认领 #1〕　〔查看 #1〕",  # a 1:1 notice's links, shown by their labels
    ):
        assert expected in transcript, expected
    assert "dtmd://" not in transcript and "\n    \n" not in transcript


async def test_the_demo_is_the_same_on_every_run(roster: Roster, tmp_path: Path) -> None:
    first = await play(roster, CAL, tmp_path / "1")
    assert await play(roster, CAL, tmp_path / "2") == first
    # within a step: the chat spoken in, the towns, the office, departments, then 1:1 chats
    group = next(i for i, x in enumerate(first) if x.startswith("  [水生态环境处群] 【待认领】#3"))
    assert first[group + 1].startswith("  [单聊→吴内勤] 【待认领】#3")
    stamp = next(i for i, line in enumerate(first) if line.startswith("—— 11-16 11:00"))
    block = first[stamp + 1 : stamp + 5]
    assert [line.split("]")[0] for line in block] == [
        "  [水生态环境处群",
        "  [单聊→吴内勤",  # the reminder at 11:xx, before the escalations at 13:30
        "  [局办公室群",
        "  [单聊→周处",
    ], block


# The phone's first screen (README, «One tap»): every message of the demo day, its links
# counted by their labels, and the 1:1 notices that ask for action, shorter still.
MESSAGE_MAX = 400
NOTICE_MAX = 160
LINK = re.compile(r"\[([^\]]+)\]\(dtmd://[^)]*\)")


async def test_every_demo_message_fits_the_phone(roster: Roster, tmp_path: Path) -> None:
    sent: list[OutboundMessage] = []
    await play(roster, CAL, tmp_path, sent=sent)
    notices = [m for m in sent if "dtmd://" in m.text]
    assert len(notices) >= 15  # assignments, reviews, reminders, filings, 待办, interviews
    for message in sent:
        assert len(LINK.sub(r"\1", message.text)) <= MESSAGE_MAX, message.text
    for notice in notices:
        assert notice.channel != "group" and notice.msg_key in ("sampleMarkdown", "markdown")
        shown = LINK.sub(r"\1", notice.text)
        assert len(shown) <= NOTICE_MAX, notice.text
        first = shown.split("\n")[0]
        assert notice.title == first
        if not first.startswith(("待办", "【第一层级约谈问询】", "【约谈建议】")):  # no deadline
            assert re.search(r"\d+月\d+日\(周.\) \d\d:\d\d", first), first  # by when
