"""A scripted day in the sandbox: what the bot does, as a transcript."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.local_dingtalk import OutboundMessage
from bot.sandbox import Sandbox
from config.roster import Roster
from handlers.workcal import WorkCalendar

START = dt.datetime(2026, 11, 16, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday

# (who, what): a town name, a roster userId, or "快进" with a duration in minutes
SCRIPT: list[tuple[str, str]] = [
    ("u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治攻坚"),
    ("川沙新镇", "【政策咨询】工地扬尘管控今年有什么新要求？夜间施工需要另外报备吗？"),
    ("u-admin", "待办"),
    ("u-admin", "分派 1 大气处"),
    ("u-air-clerk", "认领 1"),
    ("u-air-clerk", "答复 1 根据本市扬尘污染防治管理办法，工地须落实六个百分百。"),
    ("u-air-head", "退改 1 请补充夜间施工报备的要求"),
    ("u-air-clerk", "答复 1 工地须落实六个百分百；夜间施工须提前三日向我局报备。"),
    ("u-air-head", "同意 1"),
    ("张江镇", "【问题沟通】辖区内道路积水严重，请协调处理。"),
    ("u-admin", "退回 2 道路积水请联系区建设和交通委。"),
    ("川沙新镇", "【问题沟通】某河道出现黑臭，多部门职责交叉，请明确牵头单位。"),
    ("张江镇", "【政策咨询】小微企业危废收集有没有补贴政策？"),
    ("u-admin", "分派 3 水处"),
    ("u-admin", "分派 4 水处"),
    ("u-water-clerk", "认领 3"),
    ("u-water-head", "疑难 3 涉及多部门，需报分管领导集体研判"),
    ("快进", "120"),
    ("快进", "180"),
    ("u-water-clerk", "待办"),
    ("快进", "1440"),
    ("快进", "1440"),
    ("u-water-clerk", "已线下答复 3 已召开协调会，明确由属地牵头"),
    ("u-director", "查看 3"),
    ("u-admin", "亮灯 督1 黄 10月"),
    ("u-admin", "亮灯 督1 黄 11月"),
    ("u-admin", "启动约谈 督1"),
    ("u-air-clerk", "已填报 督1"),
    ("u-director", "统计"),
]


async def play(
    roster: Roster,
    cal: WorkCalendar,
    db_dir: Path | None = None,
    sent: list[OutboundMessage] | None = None,
) -> list[str]:
    """Play the script; return the transcript lines (and add each message sent to ``sent``)."""
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(db_dir or tmp) / "demo.db"
        async with Sandbox(roster, cal, db_url=f"sqlite:///{db}", start=START) as sandbox:
            for who, what in SCRIPT:
                stamp = f"{sandbox.clock.now.astimezone(cal.tz):%m-%d %H:%M}"
                if who == "快进":
                    minutes = int(what)
                    lines.append(f"—— {stamp} 时钟快进 {minutes / 60:g} 小时 ——")
                    out = await sandbox.advance(dt.timedelta(minutes=minutes))
                elif roster.town(who) is not None:
                    lines.append(f"{stamp} {who}（直通车群）：{what}")
                    out = await sandbox.town_says(who, what)
                else:
                    lines.append(f"{stamp} {roster.name(who)}：{what}")
                    out = await sandbox.person_says(who, what)
                lines.extend(sandbox.render(m) for m in out)
                if sent is not None:
                    sent.extend(out)
    return lines
