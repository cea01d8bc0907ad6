"""领导批示件 (attachment 1): 批示件, 签收, 已反馈, 进展, 闭环."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from config.roster import Department
from handlers import taps, texts
from handlers.args import ChoiceArg, DeptArg, MatterArg, NameArg, NoticeDueArg, TextArg
from handlers.closure.special import send_special_report
from handlers.commands import Registry
from handlers.context import CommandError, Ctx
from handlers.effects import to_group
from handlers.filings.done import mark_done, monthly_row
from handlers.filings.rows import ensure_filings, setup_instruction
from handlers.instructions import reports
from handlers.matters.base import (
    CLOSURE_STEPS,
    DEPT,
    INSTRUCTION,
    OFFICE,
    close,
    label,
    log,
    notify,
    require_dept,
)
from handlers.matters.fields import create_matter
from handlers.matters.states import MatterStatus
from storage.models import Filing, Matter

router = Registry()


@router.command(
    "批示件",
    [DeptArg("dept"), NoticeDueArg(), NameArg()],
    "登记领导批示件：签收、反馈和每月跟踪",
    OFFICE,
)
def register_instruction(ctx: Ctx, dept: Department, notice_due: dt.date, name: str) -> str:
    dept_name = dept.name
    matter = create_matter(
        ctx.session,
        ctx.now,
        ctx.actor,
        f"{INSTRUCTION}·{dept_name}",
        name=name,
        category=INSTRUCTION,
        star=False,
        platform="区网上督查室",
        department=dept_name,
        owner=dept.clerks[0],
        deputy=dept.deputy,
        status=MatterStatus.OPEN.value,
        note="",
        notice_due=notice_due,
        checklist={},
    )
    setup_instruction(ctx.session, ctx.roster, ctx.cal, ctx.now, matter)
    ensure_filings(ctx.session, ctx.roster, ctx.cal, ctx.now, [matter])  # next month's report
    assert matter.sign_due is not None and matter.feedback_due is not None
    sign_due, feedback_due = matter.sign_due, matter.feedback_due
    text = texts.instruction_new(
        label(matter), ctx.when(sign_due), ctx.when(feedback_due), notice_due
    )
    ctx.send(to_group(dept.group, text + "\n" + texts.ACTIONS_IN_CHAT))
    ref = f"督{matter.id}"
    notify(ctx, dept.clerks, text, (taps.matter("签收", ref), taps.matter("已反馈", ref)))
    return texts.instruction_registered(
        label(matter), dept_name, ctx.when(sign_due), ctx.when(feedback_due)
    )


def _deadline_row(ctx: Ctx, matter: Matter, kind: str) -> Filing:
    row = ctx.session.scalars(
        select(Filing).where(Filing.matter_id == matter.id, Filing.kind == kind)
    ).first()
    if row is None:  # an imported 批示件 without the notice's deadline
        raise CommandError(texts.no_deadline(label(matter), texts.FILING_KINDS[kind]))
    return row


@router.command(
    "签收", [MatterArg(instruction=True, department=True)], "批示件已在区网上督查室签收", DEPT
)
def sign(ctx: Ctx, matter: Matter) -> str:
    matter.signed_at, matter.signed_by = ctx.now, ctx.actor
    return mark_done(ctx, matter, _deadline_row(ctx, matter, "sign"))


@router.command(
    "已反馈",
    [MatterArg(instruction=True, department=True), TextArg("text", "反馈材料或摘要")],
    "批示件情况反馈：报分管局领导审核，同意后录入平台",
    DEPT,
)
def feedback(ctx: Ctx, matter: Matter, text: str) -> str:
    length = reports.count_chars(text)
    if length > texts.FEEDBACK_LIMIT:
        raise CommandError(texts.feedback_too_long(length, texts.FEEDBACK_LIMIT))
    return mark_done(ctx, matter, _deadline_row(ctx, matter, "feedback"), report=text)


@router.command(
    "进展",
    [
        MatterArg(instruction=True, department=True),
        TextArg("report", "1、目前进展… 2、难点问题… 3、下一步打算…"),
    ],
    "批示件每月跟踪办理情况（按模板，检查字数）",
    DEPT,
)
def progress(ctx: Ctx, matter: Matter, report: str) -> str:
    check = reports.check_report(report, ctx.roster.filings.report_limits)
    if check.problems:
        raise CommandError(texts.report_refused(label(matter), check.problems))
    row = monthly_row(ctx, matter, None)
    if row is None or row.done_at is not None:
        log(ctx.session, matter, ctx.now, ctx.actor, "report", texts.excerpt(report, 60))
        return texts.report_kept(label(matter))
    return mark_done(ctx, matter, row, report=report, content=check.parts)


@router.command(
    "闭环",
    [MatterArg(instruction=True), ChoiceArg("step", {s: s for s in CLOSURE_STEPS})],
    "批示件办结闭环的一步；三步齐全即办结",
    ["clerk", "dept_head", "office_admin"],
)
def closure(ctx: Ctx, matter: Matter, step: str) -> str:
    if CLOSURE_STEPS[step] == "office":
        if not ctx.roles.has("office_admin"):
            raise CommandError(texts.closure_by_office(step))
    else:
        require_dept(ctx, matter)
    checklist = dict(matter.checklist or {})
    if step in checklist:
        raise CommandError(texts.closure_done_already(label(matter), step))
    checklist[step] = ctx.now.isoformat()
    matter.checklist = checklist
    log(ctx.session, matter, ctx.now, ctx.actor, "closure", step)
    missing = [s for s in CLOSURE_STEPS if s not in checklist]
    if missing:
        return texts.closure_progress(label(matter), step, missing)
    close(ctx.session, matter, ctx.now, ctx.actor, "闭环")
    office = ctx.roster.office
    ctx.send(to_group(office.group, texts.instruction_closed(label(matter))))
    send_special_report(ctx, matter)  # 形成专报
    return texts.instruction_closed(label(matter))
