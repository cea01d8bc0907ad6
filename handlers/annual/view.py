"""查看 督N's lines for 实事项目's year: the 年度 and every plan change with its three steps."""

from __future__ import annotations

from sqlalchemy import select

from handlers import texts
from handlers.context import Ctx
from storage.models import Matter, PlanChange


def annual_lines(ctx: Ctx, matter: Matter) -> list[str]:
    lines = [texts.plan_year_entry(matter.plan_year)] if matter.plan_year else []
    changes = ctx.session.scalars(
        select(PlanChange).where(PlanChange.matter_id == matter.id).order_by(PlanChange.id)
    ).all()
    for number, change in enumerate(changes, start=1):
        consent = None
        if change.consent_on is not None and change.consent_leader is not None:
            who = ctx.roster.name(change.consent_by or "")
            consent = texts.consent_shown(change.consent_leader, change.consent_on, who)
        filed = None
        if change.filed_at is not None:
            filed = f"{ctx.when(change.filed_at)} {ctx.roster.name(change.filed_by or '')}"
        lines.append(
            texts.change_entry(
                number,
                change.content,
                ctx.when(change.requested_at),
                ctx.roster.name(change.requested_by),
                consent,
                filed,
                change.state,
            )
        )
    return lines
