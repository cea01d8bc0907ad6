"""The sandbox never shows a traceback: DingTalk's group limit runs on the sandbox clock
without stalling, and /快进 of any length works or is refused politely."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.sandbox import MAX_ADVANCE, Sandbox, parse_duration, terminal
from config.hours import Overrides
from config.roster import Roster
from handlers.workcal import WorkCalendar
from tests.conftest import CAL, T0
from tests.test_e2e import item_events

OFFICE = "cid-office"


@pytest.fixture
async def sandbox(roster: Roster, tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(roster, CAL, db_url=f"sqlite:///{tmp_path}/s.db", start=T0) as box:
        yield box


async def test_the_21st_group_message_in_a_minute_waits_a_sandbox_minute(
    sandbox: Sandbox,
) -> None:
    towns = [t.name for t in sandbox.roster.data.towns]
    for n in range(21):
        await sandbox.town_says(towns[n % len(towns)], f"第{n + 1}个问题：工地扬尘怎么管？")
    office = [m for m in sandbox.dingtalk.sent if m.target == OFFICE]
    assert [m.text.split()[0] for m in office] == [f"【新@件】#{n}" for n in range(1, 22)]
    # the first 20 went at 09:30:00; the 21st a sandbox minute later, the clock moved for it
    assert sandbox.waits == [(T0, T0 + dt.timedelta(minutes=1))]
    assert sandbox.clock.now == T0 + dt.timedelta(minutes=1)
    # and the next one, in the same minute of the window, goes without waiting again
    await sandbox.town_says(towns[0], "第22个问题")
    assert len(sandbox.waits) == 1


def test_parse_duration_caps_what_it_reads() -> None:
    assert parse_duration("2d") == dt.timedelta(days=2)
    assert parse_duration("30m") == dt.timedelta(minutes=30)
    assert parse_duration("1e9d") is None
    for text in ("367d", "999999999d", "99999999999999999999999999天"):
        duration = parse_duration(text)
        assert duration is not None and duration > MAX_ADVANCE


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Lines for the terminal's input(), then end of input."""
    lines: list[str] = []

    def fake_input(prompt: str = "") -> str:
        if not lines:
            raise EOFError
        return lines.pop(0)

    monkeypatch.setattr(builtins, "input", fake_input)
    yield lines


async def test_the_terminal_refuses_or_does_any_fast_forward(
    roster: Roster, tmp_path: Path, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # 2027 known (as after its notice is imported): a year of days, no calendar warnings
    cal = WorkCalendar(overrides=Overrides(covered_years=frozenset({2027})))
    typed += ["/快进 999999999d", "/快进 367d", "/快进 1e9d", "/快进 365d", "/时间"]
    async with Sandbox(roster, cal, db_url=f"sqlite:///{tmp_path}/y.db", start=T0) as sandbox:
        await terminal(sandbox)
    out = capsys.readouterr().out
    assert "Traceback" not in out and "Error" not in out
    assert out.count("一次最多快进366天，可以分几次快进") == 2
    assert "时长如 30m、4h、2d" in out
    assert sandbox.clock.now == T0 + dt.timedelta(days=365)
    assert "  2027-11-16 09:30 (工作时间)" in out
    assert "【超时督办】" not in out  # nothing was asked: nothing escalated


async def test_a_fast_forward_shows_when_each_message_went(
    sandbox: Sandbox, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Seen before: after /快进 2d the clerk's two claim reminders (half-way, and an hour
    before) looked like one sent twice after the deadline. Each now shows its own time."""
    await sandbox.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？")
    await sandbox.person_says("u-admin", "分派 1 大气处")  # Monday 09:30: claim due 14:00
    typed += ["/快进 2d"]
    await terminal(sandbox)
    out = capsys.readouterr().out
    lines = out.splitlines()
    reminders = [i for i, line in enumerate(lines) if "[单聊→孙内勤] 【督办提醒】#1" in line]
    escalation = next(i for i, line in enumerate(lines) if "【超时督办】#1" in line)
    stamps = [line.strip() for line in lines if line.startswith("  11-")]
    assert len(reminders) == 2 and reminders[1] < escalation
    # each reminder under its own time, both before the deadline; the escalation at it
    heads = [
        next(lines[j].strip() for j in range(i, -1, -1) if lines[j].startswith("  11-"))
        for i in [*reminders, escalation]
    ]
    assert heads[0] < heads[1] < "11-16 14:00" <= heads[2]
    assert stamps == sorted(stamps)


async def test_the_terminal_numbers_links_and_taps_one(
    sandbox: Sandbox, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10: a message's links are numbered under it; /点 taps one as the current person."""
    await sandbox.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？")
    typed += ["/身份 王敏", "分派 1 大气处", "/身份 孙内勤", "/点 9", "/点 x", "待办", "/点 1"]
    await terminal(sandbox)
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert "[1] 认领 #1" in out  # the 待办 entry's links
    assert "做不到：没有第9个选项" in out and "用法：/点 1" in out
    assert item_events(sandbox, 1)[-1] == "claimed"  # the link's 认领 1, sent as 孙内勤
    assert out.rstrip().splitlines()[-1].count("已认领") == 1
