"""Approvals the document requires (issue 11, item 3). Attachment 1: 情况反馈 "反馈材料至少经
分管局领导审核同意后 … 录入区网上督查室平台"; 跟踪反馈 "形成批示件的跟踪办理情况汇报，经分管局
领导审核同意后，由责任处室提交录入督查平台". The deadline is met by the approved text: the
approval's moment is the done moment."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib

import pytest
from sqlalchemy import select

from config.roster import build_roster
from handlers import texts
from handlers.dispatch import REGISTRY
from handlers.effects import Outgoing
from handlers.filings import approval
from storage.models import Filing, Matter, MatterEvent
from tests.conftest import EXAMPLE_ROSTER, TZ, World
from tests.test_matters import add, rows, snapshot, sweep_at

DEPUTY, CLERK, HEAD = "u-deputy-1", "u-air-clerk", "u-air-head"
AIR_GROUP, OFFICE_GROUP = "cid-air", "cid-office"
FEEDBACK = "已按批示要求完成专项检查，整改清单见附件。"


def register(world: World) -> None:
    """A 批示件 on Monday 16 November; the notice's deadline Thursday 10 December, so the
    feedback is due Wednesday 9 December 17:00 (reminders 4, 8 and 9 December at 09:00)."""
    world.at(2026, 11, 16, 10, 0)
    world.must("office_admin", "批示件 大气处 2026-12-10 关于秸秆禁烧的批示")
    world.must("air_clerk", "签收 督1")


def feedback_row(world: World) -> Filing:
    (row,) = rows(world, Filing, kind="feedback")
    return row


def who(out: list[Outgoing]) -> set[tuple[str, str]]:
    return {(m.channel, m.target) for m in out}


def about(out: list[Outgoing], words: str) -> list[Outgoing]:
    """The messages with a line about ``words`` (a sweep's digests carry other matters too)."""
    return [m for m in out if words in m.text]


def actions(message: Outgoing) -> list[tuple[str, bool]]:
    return [(a.command, a.needs_text) for a in message.actions]


def test_feedback_written_in_time_but_not_approved_is_overdue(world: World) -> None:
    register(world)
    world.at(2026, 12, 7, 10, 0)  # two days ahead of the deadline
    outcome, out = world.run("air_clerk", f"已反馈 督1 {FEEDBACK}")
    assert outcome.ok and "送分管局领导陈副局审核" in outcome.reply
    assert who(out) == {("oto", DEPUTY)}  # the leader alone, 1:1
    assert out[0].text.startswith("【待您审核】督1")
    assert FEEDBACK in out[0].text and "孙内勤提交" in out[0].text
    assert actions(out[0]) == [("同意 督1", False), ("退改 督1", True), ("查看 督1", False)]
    row = feedback_row(world)
    assert (row.done_at, row.report, row.submitted_by) == (None, FEEDBACK, CLERK)

    # the day before: the leader is reminded, the department told it waits (not nagged)
    out = about(sweep_at(world, 2026, 12, 8, 9, 0), "｜反馈")
    assert who(out) == {("oto", DEPUTY), ("group", AIR_GROUP)}
    deputy = next(m for m in out if m.target == DEPUTY)
    assert "【待您审核】" in deputy.text and "孙内勤已提交，待您审核" in deputy.text
    assert ("同意 督1", False) in actions(deputy)
    group = next(m for m in out if m.target == AIR_GROUP)
    assert group.text.startswith("【待分管局领导审核】") and "已反馈 督1" not in group.text
    assert "材料已提交，待分管局领导陈副局审核同意（同意后才算完成）" in group.text

    # the deadline passes with the text unapproved: 超限, the leader told with the ladder
    out = about(sweep_at(world, 2026, 12, 10, 9, 0), "｜反馈")
    assert who(out) == {("oto", HEAD), ("oto", DEPUTY), ("group", OFFICE_GROUP)}
    assert all("材料已提交但陈副局尚未审核同意，记超限一次" in m.text for m in out)
    assert feedback_row(world).overdue

    world.at(2026, 12, 10, 10, 0)
    outcome, out = world.run("deputy", "同意 督1")
    assert outcome.reply == "已同意：督1 关于秸秆禁烧的批示，反馈已完成（超限）。"
    assert who(out) == {("oto", CLERK)}
    assert "请录入区网上督查室平台（超限）" in out[0].text
    row = feedback_row(world)
    assert row.done_at == dt.datetime(2026, 12, 10, 10, 0, tzinfo=TZ)  # the approval's moment
    assert (row.overdue, row.approved_by, row.done_by) == (True, DEPUTY, CLERK)


def test_feedback_approved_in_time_is_not_overdue(world: World) -> None:
    register(world)
    world.at(2026, 12, 7, 10, 0)
    world.must("air_clerk", f"已反馈 督1 {FEEDBACK}")
    world.at(2026, 12, 9, 16, 30)  # half an hour before the deadline
    outcome, out = world.run("deputy", "同意 督1")
    assert outcome.reply == "已同意：督1 关于秸秆禁烧的批示，反馈按时完成。"
    assert who(out) == {("oto", CLERK)}
    row = feedback_row(world)
    assert row.done_at == dt.datetime(2026, 12, 9, 16, 30, tzinfo=TZ) and not row.overdue
    assert rows(world, Matter)[0].feedback_at == row.done_at
    assert about(sweep_at(world, 2026, 12, 10, 9, 0), "｜反馈") == []  # no 超限
    assert not feedback_row(world).overdue


def test_send_back_resubmit_then_approve(world: World) -> None:
    register(world)
    world.at(2026, 12, 3, 10, 0)
    out = world.must("air_head", f"已反馈 督1 {FEEDBACK}")  # the head submits
    assert who(out) == {("oto", DEPUTY)}

    world.at(2026, 12, 3, 14, 0)
    outcome, out = world.run("deputy", "退改 督1 请补充整改时限")
    assert outcome.reply == "已退改：督1 关于秸秆禁烧的批示，反馈退回处室修改。"
    assert who(out) == {("oto", CLERK), ("oto", HEAD)}  # the clerks and the submitter
    notice = out[0].text
    assert notice.startswith("【退改】督1") and "陈副局意见：请补充整改时限" in notice
    assert "已反馈 督1" in notice and ("已反馈 督1", True) in actions(out[0])
    outcome, _ = world.run("air_clerk", "查看 督1")
    shown = "反馈：时限12月9日(周三) 17:00，未办，已退改（陈副局 12月3日(周四) 14:00）"
    assert f"{shown}：请补充整改时限" in outcome.reply
    outcome, _ = world.run("air_clerk", "待办")
    assert "批示件反馈，时限12月9日(周三) 17:00（已退改）" in outcome.reply

    # returned: the department is reminded to file again, with the comment
    out = about(sweep_at(world, 2026, 12, 4, 9, 0), "｜反馈")
    assert who(out) == {("oto", CLERK), ("group", AIR_GROUP)}
    assert all("已退改：请补充整改时限" in m.text for m in out)

    world.at(2026, 12, 4, 10, 0)
    out = world.must("air_clerk", f"已反馈 督1 {FEEDBACK}整改于12月底前完成。")
    assert who(out) == {("oto", DEPUTY)} and "整改于12月底前完成" in out[0].text
    outcome, _ = world.run("air_clerk", "查看 督1")
    assert "待分管局领导审核（孙内勤 12月4日(周五) 10:00）" in outcome.reply
    outcome, _ = world.run("air_clerk", "待办")
    assert "批示件反馈，时限12月9日(周三) 17:00（待分管局领导审核）" in outcome.reply
    outcome, _ = world.run("deputy", "待办")
    assert "督1 关于秸秆禁烧的批示·批示件反馈待您审核，时限12月9日(周三) 17:00" in outcome.reply

    world.at(2026, 12, 4, 11, 0)
    out = world.must("deputy", "同意 督1")
    assert who(out) == {("oto", CLERK)}  # the clerk is the submitter now
    outcome, _ = world.run("air_clerk", "查看 督1")
    assert "已同意（陈副局 12月4日(周五) 11:00）" in outcome.reply
    outcome, _ = world.run("deputy", "待办")
    assert "待您审核" not in outcome.reply
    with world.db.sessions() as s:
        events = s.scalars(
            select(MatterEvent).where(MatterEvent.action != "nagged").order_by(MatterEvent.id)
        ).all()
        steps = [(e.actor, e.action) for e in events if e.action not in ("created", "filed")]
        filed = [(e.actor, e.at, e.detail) for e in events if e.action == "filed"]
    assert steps[-4:] == [
        (HEAD, "submitted"),
        (DEPUTY, "returned"),
        (CLERK, "submitted"),
        (DEPUTY, "approved"),
    ]
    assert filed[-1] == (CLERK, dt.datetime(2026, 12, 4, 11, 0, tzinfo=TZ), "反馈")


def test_the_monthly_tracking_report_needs_approval_too(world: World) -> None:
    register(world)
    world.at(2026, 12, 1, 10, 0)
    report = "1、目前进展：已召开专题会。2、难点问题：需区里协调。3、下一步打算：12月底完成。"
    out = world.must("air_clerk", f"进展 督1 {report}")
    assert who(out) == {("oto", DEPUTY)} and "2026年12月填报" in out[0].text
    (monthly,) = rows(world, Filing, kind="monthly")
    assert monthly.done_at is None and monthly.report == report
    better = report.replace("12月底完成", "12月20日前完成")  # sent again while it waits
    out = world.must("air_clerk", f"进展 督1 {better}")
    assert who(out) == {("oto", DEPUTY)} and "12月20日前完成" in out[0].text
    world.at(2026, 12, 1, 11, 0)
    out = world.must("deputy", "同意 督1")
    (monthly,) = rows(world, Filing, kind="monthly")
    assert monthly.done_at == dt.datetime(2026, 12, 1, 11, 0, tzinfo=TZ)
    assert monthly.report == better
    assert who(out) == {("oto", CLERK)} and "记为完成" in out[0].text


@pytest.mark.parametrize(
    ("whom", "text", "says"),
    [
        ("air_head", "同意 督1", "由分管局领导陈副局审核"),
        ("air_head", "退改 督1 不行", "由分管局领导陈副局审核"),
        ("office_admin", "同意 督1", "处室负责人、分管局领导、局主要领导"),
        ("air_clerk", "同意 督1", "处室负责人、分管局领导、局主要领导"),
        ("deputy", "退改 督1", "格式：退改 <编号/督N> <意见>"),
        ("deputy", "同意 督2", "没有待审核的材料"),  # nothing submitted
        ("deputy", "同意 督9", "没有找到督办事项「督9」"),
        ("air_clerk", "已反馈 督1", "格式：已反馈 <事项> <反馈材料或摘要>"),
        ("air_clerk", "已反馈 督1 " + "字" * 2001, "反馈内容太长（2001字）"),
    ],
)
def test_refusals_change_nothing(world: World, whom: str, text: str, says: str) -> None:
    register(world)
    world.must("office_admin", "批示件 大气处 2026-12-24 关于扬尘的批示")
    world.must("air_clerk", f"已反馈 督1 {FEEDBACK}")
    before = snapshot(world)
    outcome, out = world.run(whom, text)
    assert not outcome.ok and says in outcome.reply, outcome.reply
    assert out == [] and snapshot(world) == before


def test_an_approved_feedback_is_not_approved_again(world: World) -> None:
    register(world)
    world.must("air_clerk", f"已反馈 督1 {FEEDBACK}")
    world.must("deputy", "同意 督1")
    outcome, out = world.run("deputy", "同意 督1")
    assert not outcome.ok and "没有待审核的材料" in outcome.reply and out == []
    outcome, _ = world.run("air_clerk", f"已反馈 督1 {FEEDBACK}")
    assert not outcome.ok and "无需重复" in outcome.reply


def test_the_director_may_approve_too(world: World) -> None:
    register(world)
    world.must("air_clerk", f"已反馈 督1 {FEEDBACK}")
    out = world.must("director", "同意 督1")
    assert feedback_row(world).approved_by == "u-director"
    assert who(out) == {("oto", CLERK)}


def test_item_approval_still_answers_the_town(world: World) -> None:
    """同意 12 is the @件's draft, 同意 督12 the matter's submission: one command."""
    n = world.build("review_head")
    out = world.must("air_head", f"同意 {n}")
    assert any(m.target == "cid-town-chuansha" for m in out)
    assert world.item(n).state == "answered"


# --- the roster setting -------------------------------------------------------------------


def world_with(world: World, approval_setting: list[str]) -> World:
    raw = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    raw["filings"]["approval"] = approval_setting
    return World(world.db, build_roster(raw), world.cal)


def test_roster_setting_puts_another_categorys_filing_through_approval(world: World) -> None:
    world = world_with(world, ["批示件", "局重点工作"])  # an alias and a name
    assert world.roster.filings.approval == ["领导批示件", "局重点工作"]
    world.at(2026, 11, 2, 10, 0)
    # due Friday 20 November: the bureau's own node, no office lead (attachment 6)
    add(world, "局重点工作 大气处 孙内勤 局重点项目")
    out = about(sweep_at(world, 2026, 11, 17, 9, 0), "督1")  # 3 working days before
    assert who(out) == {("oto", CLERK), ("group", AIR_GROUP)}
    assert all("已填报 督1」" + texts.APPROVAL_NOTE in m.text for m in out)
    world.at(2026, 11, 17, 10, 0)
    outcome, out = world.run("air_clerk", "已填报 督1")
    assert outcome.ok and "送分管局领导陈副局审核" in outcome.reply
    assert who(out) == {("oto", DEPUTY)} and "2026年11月填报" in out[0].text
    assert "处室已填报，未附文字" in out[0].text
    (row,) = rows(world, Filing, period="2026-11")
    assert row.done_at is None and approval.state(row) == "pending"
    out = about(sweep_at(world, 2026, 11, 19, 9, 0), "督1")  # 1 working day before
    assert who(out) == {("oto", DEPUTY), ("group", AIR_GROUP)}
    world.at(2026, 11, 19, 10, 0)
    outcome, out = world.run("deputy", "同意 督1")
    assert outcome.reply == "已同意：督1 局重点项目，2026年11月填报按时完成。"
    (row,) = rows(world, Filing, period="2026-11")
    assert row.done_at == dt.datetime(2026, 11, 19, 10, 0, tzinfo=TZ) and not row.overdue


def test_without_the_setting_a_filing_is_done_at_once(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    add(world, "局重点工作 大气处 孙内勤 局重点项目")
    out = about(sweep_at(world, 2026, 11, 17, 9, 0), "督1")
    assert out and all(texts.APPROVAL_NOTE not in m.text for m in out)
    world.at(2026, 11, 17, 10, 0)
    outcome, out = world.run("air_clerk", "已填报 督1")
    assert outcome.reply == "已记录：督1 局重点项目，2026年11月填报按时完成。" and out == []


def test_an_empty_setting_lets_the_feedback_count_at_once(world: World) -> None:
    world = world_with(world, [])
    register(world)
    outcome, out = world.run("air_clerk", f"已反馈 督1 {FEEDBACK}")
    assert outcome.reply == "已记录：督1 关于秸秆禁烧的批示，反馈按时完成。" and out == []
    row = feedback_row(world)
    assert row.done_at is not None and row.report == FEEDBACK and approval.state(row) == ""


def test_a_texts_reminder_for_feedback_asks_for_the_text() -> None:
    line = texts.filing_reminder_line("督1 X", "feedback", "反馈", "12月9日", "区网上督查室")
    assert "已反馈 督1 反馈材料或摘要" in line and "分管局领导同意" in line


def test_approve_is_chosen_by_the_argument() -> None:
    """同意 ３ is the @件's, 同意 督3 the 督办事项's: one command, as 查看."""
    item, matter = REGISTRY.parse("同意 ３"), REGISTRY.parse("同意 督3")
    assert (item.item, item.ref, matter.item, matter.ref) == (3, None, None, "督3")
    assert item.spec is matter.spec
    returned = REGISTRY.parse("退改 督3 请补充")
    assert (returned.ref, returned.raw["opinion"]) == ("督3", "请补充")


def test_nobody_approves_their_own_submission(world: World) -> None:
    """Whatever the roster says: here the deputy also serves as the air department's clerk."""
    raw = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
    raw["departments"][0]["clerks"].append(DEPUTY)
    world = World(world.db, build_roster(raw), world.cal)
    register(world)
    world.must("deputy", f"已反馈 督1 {FEEDBACK}")
    before = snapshot(world)
    outcome, out = world.run("deputy", "同意 督1")
    assert outcome.reply == texts.own_submission("督1 关于秸秆禁烧的批示")
    assert out == [] and snapshot(world) == before
    world.must("director", "同意 督1")
    assert feedback_row(world).approved_by == "u-director"
