"""Edge cases of the supervision registry (督办事项), found by review against the design
and the source document (三(二), 三(六), attachments 1 and 6). Each test states the expected
behaviour and where it comes from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.registry_xlsx import import_registry
from handlers.workcal import WorkCalendar
from storage.models import Filing, Matter
from tests.conftest import TZ, World
from tests.test_matters import add, rows, sweep_at
from tests.test_registry_xlsx import row, write


def do_import(world: World, path: Path) -> None:
    with world.db.transaction() as session:
        import_registry(session, world.roster, world.cal, path, world.now)


def texts_of(out: list) -> str:  # type: ignore[type-arg]
    return "\n".join(m.text for m in out)


# --- 已填报 -----------------------------------------------------------------------------------


def test_filing_twice_does_not_silently_file_next_month(world: World) -> None:
    """`已填报 <事项> [月份]` — "本月（或所写月份）已在平台填报" (the command's own help). A clerk
    who sends 已填报 twice (or two clerks each send it) must be told it is already recorded;
    today the second message marks December's filing done on 19 November, so December is
    never reminded nor escalated. Where: handlers/filings/done.py monthly_row (earliest undone
    row, even a future month's)."""
    world.at(2026, 11, 19, 10, 0)
    add(world)
    world.must("air_clerk", "已填报 督1")
    outcome, _ = world.run("air_clerk", "已填报 督1")
    december = rows(world, Filing, period="2026-12")[0]
    assert december.done_at is None, outcome.reply
    assert not outcome.ok


# --- edits that change the schedule -----------------------------------------------------------


def test_changing_the_platform_reschedules_the_open_filing(world: World) -> None:
    """三(二): matters not on the three platforms are due at the office 1 working day
    before the node. After `修改事项 督1 平台 无` the open November row keeps due_at 20 Nov 17:00
    while moments_of() recomputes the schedule for 19 Nov, so at 09:00 on the 20th the bot
    records 超限 and tells the head and the office the deadline "20日17:00" has passed — hours
    before it. Whatever the fix (reschedule the row, or keep the old schedule), a 超限 may only
    be recorded after the row's own deadline. Where: edit_matter leaves Filing rows alone;
    moments_of() vs Filing.due_at."""
    world.at(2026, 11, 2, 10, 0)
    add(world)
    world.must("office_admin", "修改事项 督1 平台 无")
    out = sweep_at(world, 2026, 11, 20, 9, 0)
    assert "已过时限11月20日(周五) 17:00" not in texts_of(out)
    for filing in rows(world, Filing):
        if filing.overdue:
            assert filing.due_at < world.now


def test_changing_to_a_category_without_a_node_stops_the_reminders(world: World) -> None:
    """Attachment 6 / config.filings: a category with no node has no monthly filing. After
    `修改事项 督1 类别 市委市政府重点工作` on 2 November (before any reminder) the bot still
    reminds on 17, 19, 20 November and records 超限 on the 23rd: moments_of() falls back to the
    row's due_at when schedule() is None. Where: edit_matter (unfinished future rows should
    go, as close() does) and moments_of()."""
    world.at(2026, 11, 2, 10, 0)
    add(world)
    world.must("office_admin", "修改事项 督1 类别 市委市政府重点工作")
    sent = []
    for day in (17, 19, 20, 23):
        sent += sweep_at(world, 2026, 11, day, 9, 0)
    assert sent == []
    assert not any(f.overdue for f in rows(world, Filing))


def test_a_node_gained_after_it_passed_is_not_an_immediate_overdue(world: World) -> None:
    """A matter registered as 市委市政府重点工作 (no node) on 2 November is changed to
    区委区政府重点工作 on 24 November, after the 20 November node. The next sweep makes the
    November row (its eligibility and step are judged from Matter.created_at, not from when
    the node applied) and at once escalates a 超限 — which also counts toward the 约谈 ladder
    (三(六): 超限报告二次). It never had a November node to miss. Same cause when import
    reopens a closed matter. Where: ensure_filings (compare with now / the change time)."""
    world.at(2026, 11, 2, 10, 0)
    add(world, "市委市政府重点工作 大气处 孙内勤 市重点项目")
    world.at(2026, 11, 24, 10, 0)
    world.must("office_admin", "修改事项 督1 类别 区委区政府重点工作")
    out = sweep_at(world, 2026, 11, 24, 10, 5)
    assert "超限" not in texts_of(out)
    assert [f.period for f in rows(world, Filing) if f.overdue] == []


# --- 领导批示件 ------------------------------------------------------------------------------


def test_instruction_registered_on_the_october_node_owes_no_same_day_tracking(
    world: World,
) -> None:
    """Attachment 1: tracking reports start the month after registration ("在下月…前"). The
    6 October 2026 node moves to 30 September (National Day). A 批示件 registered on 30 Sept
    at 10:00 gets a "2026年10月" tracking row due that afternoon, with no reminder at all, and
    on 8 October at 09:00 — before its own 签收 deadline (8 Oct 10:00) — the head and the
    office are told it is 超限. The first tracking node must lie after registration's month
    (here 6 November). Where: ensure_filings compares periods, not the (moved) node date."""
    world.at(2026, 9, 30, 10, 0)
    world.must("office_admin", "批示件 大气处 2026-11-30 关于秸秆禁烧的批示")
    sweep_at(world, 2026, 9, 30, 10, 5)
    out = sweep_at(world, 2026, 10, 8, 9, 5)
    assert "2026年10月填报" not in texts_of(out)
    monthly = [f for f in rows(world, Filing) if f.kind == "monthly"]
    assert not any(f.overdue for f in monthly)
    assert all(f.due_at > dt.datetime(2026, 9, 30, 17, 0, tzinfo=TZ) for f in monthly)


def test_instruction_tracking_reminder_asks_for_the_report(world: World) -> None:
    """Attachment 1: the monthly tracking report follows the template (目前进展 ≤500,
    难点问题 ≤300, 下一步打算 ≤200) and `进展` checks it; the registration notice says so
    ("进展 编号 报告"). But the tracking reminder tells the clerk to send 「已填报 督1」, which
    closes the row with no report and no length check. Where: texts.filing_reminder_line
    (monthly rows of a 领导批示件)."""
    world.at(2026, 11, 16, 10, 0)
    world.must("office_admin", "批示件 大气处 2027-03-30 关于秸秆禁烧的批示")
    world.must("air_clerk", "签收 督1")
    out = sweep_at(world, 2026, 12, 1, 9, 0)  # 3 working days before the 4 December node
    group = [m.text for m in out if m.target == "cid-air"]
    assert group and "进展 督1" in group[0]
    assert "已填报 督1" not in group[0]


def test_a_huge_notice_deadline_is_refused_not_a_crash(world: World) -> None:
    """Free chat text must never crash (a malformed command gets its usage line). `批示件
    大气处 9999-12-31 X` raises ValueError("year 10000 is out of range") after ~4 s of CPU,
    and it leaves the calendar's window half-extended (_hours extended, _cum not rebuilt), so
    later computations past the old window raise IndexError until a restart. Fix: refuse a
    deadline more than a few years ahead in register_instruction (and make
    WorkCalendar._extend_to exception-safe). A fresh calendar keeps the damage in this test."""
    world.cal = WorkCalendar()
    world.at(2026, 11, 16, 10, 0)
    outcome, out = world.run("office_admin", "批示件 大气处 9999-12-31 关于X的批示")
    assert not outcome.ok and out == []


def test_an_imported_instruction_can_be_signed(world: World, tmp_path: Path) -> None:
    """The registry import creates a 领导批示件 with its 反馈期限
    but no sign_due/feedback_due and no 签收/反馈 rows; `签收 督1` by its clerk then dies on
    `assert row is not None` in _deadline_row (the user gets the apology), as does `已反馈`.
    Expected: the import sets up the 批示件 clocks as `批示件` does (or the commands cope).
    Where: bot/registry_xlsx.py _create/_update; handlers/instructions/commands.py _deadline_row."""
    world.at(2026, 11, 16, 10, 0)
    path = write(
        tmp_path / "registry.xlsx",
        [
            row(
                事项名称="关于秸秆禁烧的批示",
                类别="领导批示件",
                责任处室="大气处",
                具体负责人="孙内勤",
                批示件反馈期限="2026-12-10",
            )
        ],
    )
    do_import(world, path)
    outcome, _ = world.run("air_clerk", "签收 督1")
    assert outcome.ok, outcome.reply


def test_an_imported_notice_deadline_moves_the_feedback_deadline(
    world: World, tmp_path: Path
) -> None:
    """Attachment 1: feedback is due 1 working day before the notice's deadline. When the
    office corrects 批示件反馈期限 in the sheet (10 → 24 December), Matter.notice_due changes but
    feedback_due and the 反馈 row stay on 9 December: the bot reminds and escalates for the
    old date while 查看 shows the new one. Where: bot/registry_xlsx.py _update."""
    world.at(2026, 11, 16, 10, 0)
    world.must("office_admin", "批示件 大气处 2026-12-10 关于秸秆禁烧的批示")
    path = write(
        tmp_path / "registry.xlsx",
        [
            row(
                编号="督1",
                事项名称="关于秸秆禁烧的批示",
                类别="领导批示件",
                责任处室="大气处",
                具体负责人="孙内勤",
                批示件反馈期限="2026-12-24",
            )
        ],
    )
    do_import(world, path)
    feedback = rows(world, Filing, kind="feedback")[0]
    assert feedback.due_at == dt.datetime(2026, 12, 23, 17, 0, tzinfo=TZ)
    assert rows(world, Matter)[0].feedback_due == feedback.due_at


# --- the registry import ----------------------------------------------------------------------


def test_an_item_closed_by_import_owes_no_more_filings(world: World, tmp_path: Path) -> None:
    """`办结事项` (close()) deletes filings not yet due ("停止填报提醒"). Closing by import
    (状态 已办结) only flips the status: November's and December's rows stay, and once their
    deadlines pass the statistics (§5: late filings per department) count them as 超限 for an
    matter closed on 10 November. Where: bot/registry_xlsx.py _update should call
    matters.close() (and reopening should go through the same path)."""
    world.at(2026, 11, 2, 10, 0)
    add(world)
    world.at(2026, 11, 10, 10, 0)
    path = write(
        tmp_path / "registry.xlsx",
        [
            row(
                编号="督1",
                事项名称="臭氧污染防治攻坚",
                类别="区委区政府重点工作",
                责任处室="大气处",
                具体负责人="孙内勤",
                状态="已办结",
            )
        ],
    )
    do_import(world, path)
    world.at(2026, 12, 21, 10, 0)
    for month in ("11月", "12月"):
        outcome, _ = world.run("director", f"统计 {month}")
        assert "超限" not in outcome.reply, outcome.reply


def test_history_of_a_reopened_item_reads_in_chinese(world: World, tmp_path: Path) -> None:
    """Every user text natural Chinese: the import logs action "reopened" (状态 已办结 → 进行中)
    but texts.MATTER_EVENTS has no entry for it, so 查看 prints "系统 reopened 状态：…".
    Where: texts.MATTER_EVENTS (add "reopened": "重新开启")."""
    world.at(2026, 11, 2, 10, 0)
    add(world)
    world.must("office_admin", "办结事项 督1")
    path = write(
        tmp_path / "registry.xlsx",
        [
            row(
                编号="督1",
                事项名称="臭氧污染防治攻坚",
                类别="区委区政府重点工作",
                责任处室="大气处",
                具体负责人="孙内勤",
                状态="进行中",
            )
        ],
    )
    do_import(world, path)
    outcome, _ = world.run("office_admin", "查看 督1")
    assert "reopened" not in outcome.reply, outcome.reply


# --- ladder and statistics --------------------------------------------------------------------


def test_one_interview_counts_once_in_the_statistics(world: World) -> None:
    """三(六): one interview notice per firing tier. Lights 9月黄 10月红 11月红 meet
    two tier-2 conditions at once (连续三次黄含红, 连续二次红); the bot sends one notice — one
    interview — but stores two open Interview rows, so `统计` says 约谈2 and 查看 lists two
    待约谈 entries for the one interview. Where: check_ladder (one row per notice, the
    other condition absorbed) or stats.department_stats (count distinct notices)."""
    world.at(2026, 11, 2, 10, 0)
    add(world)
    world.must("office_admin", "亮灯 督1 黄 9月")
    world.must("office_admin", "亮灯 督1 红 10月")
    out = world.must("office_admin", "亮灯 督1 红 11月")
    assert len([m for m in out if m.target == "cid-office"]) == 1  # one proposal
    outcome, _ = world.run("director", "统计 11月")
    # the tier-1 proposal of October and the tier-2 one of November wait for the office
    assert "约谈建议待决定2" in outcome.reply and "约谈1" not in outcome.reply, outcome.reply
    out = world.must("office_admin", "启动约谈 督1 二级")  # supersedes the tier-1 proposal
    assert len([m for m in out if m.target == "cid-air"]) == 1  # one notice
    outcome, _ = world.run("director", "统计 11月")
    assert "约谈1" in outcome.reply, outcome.reply


# --- odd input --------------------------------------------------------------------------------


def test_a_huge_item_number_is_not_found_not_a_crash(world: World) -> None:
    """The parser takes arbitrary chat text; `查看 督99999999999999999999` reaches
    session.get(Matter, 10**20) and raises OverflowError on SQLite (out-of-range on
    PostgreSQL). Expected: 没有找到督办事项. Where: find_matter (bound the number, as the @件
    parser's 1–9 digits do)."""
    world.at(2026, 11, 2, 10, 0)
    add(world)
    outcome, _ = world.run("office_admin", "查看 督99999999999999999999")
    assert not outcome.ok and "没有找到督办事项" in outcome.reply


def test_statistics_for_an_absurd_month_is_refused_not_a_crash(world: World) -> None:
    """`统计 9999-12` passes parse_month (years 2000–9999) and stats.month_window builds
    datetime(10000, 1, 1): ValueError. Expected: the bad-month reply. Where: month_of /
    parse_month (bound the year) or month_window."""
    world.at(2026, 11, 2, 10, 0)
    outcome, _ = world.run("director", "统计 9999-12")
    assert not outcome.ok and "月份" in outcome.reply


def test_an_overlong_name_is_refused_in_chat(world: World) -> None:
    """Matter.name is String(200) and the import refuses names over 200 characters, but
    `新增事项` (and `修改事项 名称`, `批示件`) accept any length: stored as is on SQLite,
    a DataError crash on PostgreSQL. Expected: a polite refusal, nothing written."""
    world.at(2026, 11, 2, 10, 0)
    outcome, _ = world.run("office_admin", "新增事项 攻坚 大气处 孙内勤 " + "长" * 201)
    assert not outcome.ok
    assert rows(world, Matter) == []
