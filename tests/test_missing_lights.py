"""The monthly reminder of missing lights (issue 11, item 7, "连续"): the district platform
lights every ★ matter every month, and a month with no recorded light breaks a run, so the
office is reminded, once a month on a working day, of the ★ matters with no light for the
month before."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox import Sandbox
from config.interviews import InterviewRules
from config.roster import Roster
from handlers import texts
from handlers.effects import Outgoing
from handlers.lights.reminder import missing_lights_reminder, reminder_moment
from handlers.sweep import office_moment
from storage.models import Flag, Light
from tests.conftest import World
from tests.test_e2e import CAL, FAST_RETRY, start_at

OFFICE = {("oto", "u-admin"), ("group", "cid-office")}


def notices(world: World) -> list[Outgoing]:
    with world.db.transaction() as session:
        return missing_lights_reminder(session, world.roster, world.cal, world.now)


def moment(world: World) -> object:
    with world.db.sessions() as session:
        return reminder_moment(session, world.roster, world.cal, world.now)


def registry(world: World) -> None:
    """督1 ★ with a light for last month, 督2 ★ without, 督3 not ★, 督4 ★ closed, all
    registered in September; 督5 ★ registered this month."""
    world.must("office_admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    world.must("office_admin", "新增事项 实事项目 水处 吴内勤 黑臭河道整治")
    world.must("office_admin", "新增事项 局重点工作 大气处 孙内勤 局内项目")
    world.must("office_admin", "新增事项 区委区政府重点工作 水处 吴内勤 已办结项目")
    world.must("office_admin", "办结事项 督4")


def test_the_reminder_comes_once_on_the_third_working_day_to_the_office_only(
    world: World,
) -> None:
    """ "连续四次亮黄灯(含红灯)…": a missing month breaks a run, so the office is reminded of
    the ★ matters without last month's light: in October 2026 the third working day after
    the National Day holiday (8th, 9th, then the make-up Saturday the 10th), once."""
    world.at(2026, 9, 15, 10, 0)
    registry(world)
    world.must("office_admin", "亮灯 督1 绿 9月")
    world.at(2026, 10, 5, 10, 0)  # a holiday
    world.must("office_admin", "新增事项 区委区政府重点工作 大气处 孙内勤 十月新项目")
    assert notices(world) == []
    assert moment(world) == start_at("2026-10-10 09:00")
    world.at(2026, 10, 9, 16, 0)  # the second working day
    assert notices(world) == []
    world.at(2026, 10, 10, 9, 0)
    out = notices(world)
    assert {(m.channel, m.target) for m in out} == OFFICE
    text = out[0].text
    assert text.startswith("【亮灯补录提醒】2026年9月尚未记录亮灯的绩效考核（★）事项1项")
    assert "· 督2 黑臭河道整治" in text
    for other in ("督1", "督3", "督4", "督5"):
        assert other not in text.replace("亮灯 督2", "")
    assert "亮灯 督2 黄 9月" in text
    (admin,) = [m for m in out if m.channel == "oto"]
    assert [(a.command, a.needs_text) for a in admin.actions] == [("亮灯 督2", True)]
    world.at(2026, 10, 10, 9, 30)
    assert notices(world) == [] and moment(world) is None
    world.at(2026, 10, 12, 9, 0)
    assert notices(world) == []
    world.at(2026, 11, 4, 9, 0)  # November's, for October: every ★ matter lacks it
    assert len(notices(world)) == 2


@pytest.mark.parametrize(("workday", "due"), [(1, "2026-12-01 09:00"), (5, "2026-12-07 09:00")])
def test_the_day_is_a_setting(world: World, workday: int, due: str) -> None:
    """``[interviews] lights_reminder_workday``: the working day of the month (default 3)."""
    rules = InterviewRules(lights_reminder_workday=workday)
    data = world.roster.data.model_copy(update={"interviews": rules})
    world.roster = dataclasses.replace(world.roster, data=data)
    world.at(2026, 11, 2, 10, 0)
    registry(world)
    world.at(2026, 12, 1, 0, 30)
    assert moment(world) == start_at(due)


def test_none_when_switched_off_or_nothing_missing(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    world.must("office_admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    world.must("office_admin", "亮灯 督1 黄 11月")
    world.at(2026, 12, 3, 10, 0)
    assert notices(world) == []  # every ★ matter has November's light
    with world.db.sessions() as session:  # checked: not again this month
        assert session.get(Flag, "missing-lights:2026-12") is not None
    data = world.roster.data.model_copy(
        update={"interviews": InterviewRules(lights_reminder_workday=0)}
    )
    world.roster = dataclasses.replace(world.roster, data=data)
    world.at(2027, 1, 6, 10, 0)
    assert notices(world) == [] and moment(world) is None


def test_a_reminder_missed_while_down_goes_at_the_next_working_moment(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    registry(world)
    world.at(2026, 12, 8, 20, 0)  # after the 3rd working day, out of office hours
    assert notices(world) == []
    assert moment(world) == start_at("2026-12-09 09:00")
    with world.db.sessions() as session:  # the app's wake-up: the earliest office notice
        earliest = office_moment(session, world.roster, world.cal, world.now)
    assert earliest == start_at("2026-12-09 09:00")
    world.at(2026, 12, 9, 9, 0)
    assert {(m.channel, m.target) for m in notices(world)} == OFFICE


@pytest.fixture
async def box(roster: Roster, tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(
        roster,
        CAL,
        db_url=f"sqlite:///{tmp_path}/lights.db",
        start=start_at("2026-11-30 16:00"),
        sender_options=FAST_RETRY,
    ) as sandbox:
        yield sandbox


async def test_through_the_app_once_and_not_again_after_a_restart(
    box: Sandbox, roster: Roster, tmp_path: Path
) -> None:
    """The real app's sweeper sends it at 09:00 of 3 December 2026 (a Thursday, the third
    working day), to the office; a restart the same day (or a week later) sends nothing."""
    await box.person_says("u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    out = await box.advance(start_at("2026-12-03 08:55") - box.clock.now)
    assert [m for m in out if "亮灯补录提醒" in m.text] == []
    out = await box.advance(start_at("2026-12-03 09:30") - box.clock.now)
    sent = [m for m in out if "亮灯补录提醒" in m.text]
    assert {(m.channel, m.target) for m in sent} == {
        ("oto", ("u-admin",)),
        ("group", "cid-office"),
    }
    # at the sandbox's first sweep after 09:00 (it steps 15 minutes at a time)
    assert start_at("2026-12-03 09:00") <= box.sent_at[sent[0].seq] <= start_at("2026-12-03 09:15")
    now = box.clock.now
    async with Sandbox(
        roster, CAL, db_url=f"sqlite:///{tmp_path}/lights.db", start=now, sender_options=FAST_RETRY
    ) as again:
        out = await again.advance(start_at("2026-12-10 10:00") - now)
        assert [m for m in out if "亮灯补录提醒" in m.text] == []
        with again.db.sessions() as session:
            flags = session.scalars(select(Flag.key).where(Flag.key.like("missing-lights:%")))
            # November's was checked at the first start (30 November: nothing to say)
            assert list(flags) == ["missing-lights:2026-11", "missing-lights:2026-12"]


def test_the_reminders_tap_asks_for_the_colour_and_month(world: World) -> None:
    """The 亮灯 tap sends the stem (亮灯 督1); the admin's next message completes it."""
    from tests.test_conversation import says

    world.at(2026, 11, 24, 10, 0)
    world.must("office_admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    out = says(world, "u-admin", "亮灯 督1")
    assert [m.text for m in out] == [texts.ask_for_text("亮灯 督1", "颜色和月份（如 黄 11月）")]
    says(world, "u-admin", "黄 10月")
    with world.db.sessions() as session:
        assert [(x.period, x.color) for x in session.scalars(select(Light))] == [
            ("2026-10", "yellow")
        ]
