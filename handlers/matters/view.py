"""查看 督N: a 督办事项 in full (its deadlines, lights, criticisms, interviews, record)."""

from __future__ import annotations

from sqlalchemy import select

from handlers import texts
from handlers.annual.view import annual_lines
from handlers.context import Ctx
from handlers.matters.base import (
    CLOSURE_STEPS,
    INSTRUCTION,
    describe,
    label,
    row_label,
)
from handlers.matters.states import InterviewState
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
        lines.append(texts.criticism_entry(c.at.astimezone(tz).date(), c.level, c.note))
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
            )
        )
    for i in ctx.session.scalars(
        select(Interview).where(Interview.matter_id == matter.id).order_by(Interview.id)
    ):
        if i.state != InterviewState.ABSORBED:
            lines.append(texts.interview_entry(i.tier, i.state, i.rule, ctx.when(i.opened_at)))
    events = ctx.session.scalars(
        select(MatterEvent)
        .where(MatterEvent.matter_id == matter.id)
        .order_by(MatterEvent.id.desc())
        .limit(8)
    ).all()
    if events:
        lines.append("记录：")
        for e in reversed(events):
            who = "系统" if e.actor in ("bot", "import") else ctx.roster.name(e.actor)
            detail = f" {texts.excerpt(e.detail, 40)}" if e.detail else ""
            lines.append(
                f"{ctx.when(e.at)} {who} {texts.MATTER_EVENTS.get(e.action, e.action)}{detail}"
            )
    return "\n".join(lines)
