"""实事项目's year through the real DingTalk SDK against the local DingTalk, on the sandbox
clock: the October declaration reminder reaches the office and the departments with 实事项目
once, on the first working day of October, and a restart of the bot does not send it again;
a plan change's steps reach the office group."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.sandbox import Sandbox
from config.roster import load_roster
from handlers import texts
from handlers.workcal import WorkCalendar

EXAMPLE = Path(__file__).parent.parent / "config" / "examples" / "org.toml"
SH = ZoneInfo("Asia/Shanghai")
FAST_RETRY = {"backoff_base": 0.02, "backoff_max": 0.1, "max_wait": 0.05}


def sandbox(tmp_path: Path, start: dt.datetime) -> Sandbox:
    return Sandbox(
        load_roster(EXAMPLE),
        WorkCalendar(),
        db_url=f"sqlite:///{tmp_path}/annual.db",
        start=start,
        sender_options=FAST_RETRY,
    )


async def test_the_october_reminder_once_across_a_restart(tmp_path: Path) -> None:
    async with sandbox(tmp_path, dt.datetime(2026, 9, 29, 10, 0, tzinfo=SH)) as box:
        await box.person_says("u-admin", "新增事项 实事项目 大气处 u-air-clerk 社区噪声地图")
        await box.person_says("u-admin", "新增事项 局重点工作 水处 u-water-clerk 水质提升")
        out = await box.advance(dt.timedelta(days=9, hours=2))  # to 10-08 12:00
        declared = [m for m in out if texts.DECLARE_TITLE in m.text]
        assert {(m.channel, m.target) for m in declared} == {
            ("group", "cid-office"),
            ("oto", ("u-admin",)),
            ("group", "cid-air"),
            ("oto", ("u-air-clerk",)),
        }
        # 10-01..10-07 are 国庆: the first working day of October, at the start of the day
        assert {box.sent_at[m.seq] for m in declared} == {dt.datetime(2026, 10, 8, 9, 0, tzinfo=SH)}
    # the bot restarts the same day: the day's work runs again, the reminder does not
    async with sandbox(tmp_path, dt.datetime(2026, 10, 8, 12, 0, tzinfo=SH)) as box:
        out = await box.advance(dt.timedelta(days=2))
        assert [m for m in out if texts.DECLARE_TITLE in m.text] == []
        out = await box.person_says("u-air-clerk", "调整申请 督1 增加一处监测点")
        assert {(m.channel, m.target) for m in out if "增加一处监测点" in m.text} == {
            ("group", "cid-office"),
            ("oto", ("u-admin",)),
        }
