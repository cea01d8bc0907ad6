"""A 批示件's 专报 (attachment 1, 形成专报): when its closure checklist is complete, the office
group gets one Word document with the notice, the feedback, every monthly tracking report
and the closure steps, each with who and when."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from handlers import texts
from handlers.closure import docs
from handlers.context import Ctx
from handlers.documents import keep, send
from handlers.matters.base import CLOSURE_STEPS
from storage.models import Filing, Matter, MatterEvent


def _who_when(ctx: Ctx, who: str | None, when: dt.datetime | None) -> str:
    if when is None:
        return "—"
    return f"{ctx.roster.name(who)} {ctx.when(when)}" if who else ctx.when(when)


def send_special_report(ctx: Ctx, matter: Matter) -> None:
    rows = ctx.session.scalars(
        select(Filing).where(Filing.matter_id == matter.id).order_by(Filing.period)
    ).all()
    sign = next((r for r in rows if r.kind == "sign"), None)
    back = next((r for r in rows if r.kind == "feedback"), None)
    notice = list(
        zip(
            texts.SPECIAL_NOTICE_FIELDS,
            (
                f"督{matter.id}",
                matter.name,
                matter.department,
                ctx.roster.name(matter.deputy),
                ctx.when(matter.created_at),
                texts.notice_date(matter.notice_due) if matter.notice_due else "—",
                _who_when(ctx, sign.done_by if sign else matter.signed_by, matter.signed_at),
            ),
            strict=True,
        )
    )
    feedback = list(
        zip(
            texts.SPECIAL_FEEDBACK_FIELDS,
            (
                ctx.when(matter.feedback_due),
                _who_when(ctx, back.done_by if back else None, matter.feedback_at),
                (back.report if back else None) or texts.SPECIAL_NOT_WRITTEN,
            ),
            strict=True,
        )
    )
    tracking = [
        (
            f"{texts.period_label(r.period)}（{_who_when(ctx, r.done_by, r.done_at)}）",
            r.report,
        )
        for r in rows
        if r.kind == "monthly" and r.report
    ]
    actors = {
        e.detail: e.actor
        for e in ctx.session.scalars(
            select(MatterEvent)
            .where(MatterEvent.matter_id == matter.id, MatterEvent.action == "closure")
            .order_by(MatterEvent.id)
        )
    }
    checklist = matter.checklist or {}
    steps = [
        (
            step,
            _who_when(
                ctx,
                actors.get(step),
                dt.datetime.fromisoformat(checklist[step]) if step in checklist else None,
            ),
        )
        for step in CLOSURE_STEPS
    ]
    content = docs.special_report(
        texts.special_title(matter.name), notice, feedback, tracking, steps
    )
    document = keep(ctx, texts.special_document_name(matter.id), content, f"督{matter.id}")
    send(ctx, "group", ctx.roster.office.group, document)
