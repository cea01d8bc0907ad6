"""查看 督N: a 督办事项 in full (its deadlines, lights, criticisms, interviews, record)."""

from __future__ import annotations

from sqlalchemy import select

from handlers import texts
from handlers.annual.view import annual_lines
from handlers.closure.flow import missing, needs_report, report_of
from handlers.context import Ctx
from handlers.filings import approval
from handlers.matters.base import (
    CLOSURE_STEPS,
    INSTRUCTION,
    describe,
    label,
    row_label,
)
from handlers.matters.states import InterviewState
from handlers.reviews.rules import view_lines
from storage.models import Criticism, Filing, Interview, Light, Matter, MatterEvent


def show_matter(ctx: Ctx, matter: Matter) -> str:
    tz = ctx.cal.tz
    lines = [
        f"{label(matter)}｜{texts.MATTER_STATUS[matter.status]}",
        describe(ctx.roster, matter),
    ]
    if matter.note:
        lines.append(f"备注：{matter.note}")
    lines += annual_lines(ctx, matter)
    if matter.category == INSTRUCTION and matter.notice_due:
        lines.append(
            texts.instruction_status(
                ctx.when(matter.sign_due),
                ctx.when(matter.signed_at) if matter.signed_at else None,
                ctx.when(matter.feedback_due),
                ctx.when(matter.feedback_at) if matter.feedback_at else None,
                matter.notice_due,
                [step for step in CLOSURE_STEPS if step in (matter.checklist or {})],
            )
        )
    lights = ctx.session.scalars(
        select(Light).where(Light.matter_id == matter.id).order_by(Light.period)
    ).all()
    if lights:
        lines.append("亮灯：" + "、".join(texts.light_entry(x.period, x.color) for x in lights))
    for c in ctx.session.scalars(
        select(Criticism).where(Criticism.matter_id == matter.id).order_by(Criticism.id)
    ):
        lines.append(texts.criticism_entry(c.at.astimezone(tz).date(), c.level, c.note, c.kind))
    rows = ctx.session.scalars(
        select(Filing).where(Filing.matter_id == matter.id).order_by(Filing.due_at.desc())
    ).all()
    for row in rows[:6]:
        lines.append(
            texts.filing_entry(
                row.kind,
                row_label(row),
                ctx.when(row.due_at, row.provisional),
                ctx.when(row.done_at) if row.done_at else None,
                row.overdue,
                _approval(ctx, row),
            )
        )
    for i in ctx.session.scalars(
        select(Interview).where(Interview.matter_id == matter.id).order_by(Interview.id)
    ):
        if i.state == InterviewState.ABSORBED:
            continue
        line = texts.interview_entry(i.tier, i.state, i.rule, ctx.when(i.opened_at))
        if i.decided_by and i.decided_at and i.decided_by != "bot":
            who = ctx.roster.name(i.decided_by)
            line += texts.interview_decision(i.state, who, ctx.when(i.decided_at), i.reason)
        lines.append(line)
    if needs_report(matter) and report_of(ctx, matter) is not None:
        lacking = missing(ctx, matter)
        lines.append(texts.closure_status(lacking) if lacking else texts.CLOSURE_COMPLETE)
    reviews = view_lines(ctx, matter)
    if reviews:
        lines.append(texts.VIEW_REVIEWS)
        lines += reviews
    events = ctx.session.scalars(
        select(MatterEvent)
        .where(MatterEvent.matter_id == matter.id)
        .order_by(MatterEvent.id.desc())
        .limit(8)
    ).all()
    if events:
        lines.append(texts.VIEW_LOG)
        for e in reversed(events):
            who = "系统" if e.actor in ("bot", "import") else ctx.roster.name(e.actor)
            detail = f" {texts.excerpt(e.detail, 40)}" if e.detail else ""
            lines.append(
                f"{ctx.when(e.at)} {who} {texts.MATTER_EVENTS.get(e.action, e.action)}{detail}"
            )
    return "\n".join(lines)


def _approval(ctx: Ctx, row: Filing) -> str:
    """Where the row's approval by the 分管局领导 stands: who did the last step, when."""
    state = approval.state(row)
    if not state:
        return ""
    who, at = {
        "pending": (row.submitted_by, row.submitted_at),
        "returned": (row.returned_by, row.returned_at),
        "approved": (row.approved_by, row.approved_at),
    }[state]
    entry = texts.approval_entry(state, ctx.roster.name(who or ""), ctx.when(at))
    if state == "returned" and row.return_note:
        entry += f"：{texts.excerpt(row.return_note, 40)}"
    return entry
