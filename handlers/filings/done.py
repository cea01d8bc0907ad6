"""A deadline row met: which monthly filing a command means, and recording it done (late:
超限, which the 约谈 ladder hears of)."""

from __future__ import annotations

from sqlalchemy import select

from handlers import texts
from handlers.context import CommandError, Ctx
from handlers.filings import approval, schedule
from handlers.lights.check import check_ladder
from handlers.matters.base import label, log, row_label
from storage import repo
from storage.models import Filing, Matter


def monthly_row(ctx: Ctx, matter: Matter, period: str | None) -> Filing | None:
    """The month named, or the filing owed now: the earliest one not done of this month or
    before, or next month's when its node moved into this month (October's 6th is 30
    September). A month already done answers so, rather than filing next month's."""
    query = select(Filing).where(Filing.matter_id == matter.id, Filing.kind == "monthly")
    if period:
        row = ctx.session.scalars(query.where(Filing.period == period)).first()
        if row is None:
            raise CommandError(texts.no_filing(label(matter), texts.period_label(period)))
        return row
    today = ctx.now.astimezone(ctx.cal.tz).date()
    this = schedule.period_of(today, ctx.cal.tz)
    current = [
        r
        for r in ctx.session.scalars(query.order_by(Filing.due_at))
        if r.period <= this or (r.node.year, r.node.month) == (today.year, today.month)
    ]
    open_rows = [r for r in current if r.done_at is None]
    if open_rows:
        return open_rows[0]
    return current[-1] if current else None


def owed_row(ctx: Ctx, matter: Matter, period: str | None) -> Filing | None:
    """已填报's row: a half-year or year report when named ("2026-H1", "2026-Y"), else the
    month's (monthly_row); with no month and no monthly row owed, the report owed, if any."""
    if period is not None and schedule.parse_progress(period) is not None:
        row = ctx.session.scalars(
            select(Filing).where(Filing.matter_id == matter.id, Filing.period == period)
        ).first()
        if row is None:
            raise CommandError(texts.no_filing(label(matter), texts.progress_label(period)))
        return row
    row = monthly_row(ctx, matter, period)
    if row is not None or period is not None:
        return row
    return ctx.session.scalars(
        select(Filing)
        .where(
            Filing.matter_id == matter.id,
            Filing.kind.in_(schedule.PROGRESS_KINDS),
            Filing.done_at.is_(None),
        )
        .order_by(Filing.due_at)
    ).first()


def mark_done(
    ctx: Ctx,
    matter: Matter,
    row: Filing,
    report: str | None = None,
    *,
    content: dict[str, str] | None = None,
) -> str:
    """The department has submitted this filing (``report``: a 批示件's text; ``content``: the
    template's parts, handlers.filings.template): done now, or, where the roster asks for the
    分管局领导's approval (handlers.filings.approval), sent for it; done once approved."""
    if row.done_at is not None:
        raise CommandError(
            texts.already_filed(label(matter), row_label(row), ctx.when(row.done_at))
        )
    if content is not None:
        row.content = content
    if approval.required(ctx.roster, matter, row):
        if report is None and content:
            report = "\n".join(f"{name}：{text}" for name, text in content.items() if text)
        return approval.submit(ctx, matter, row, report)
    if report is not None:
        row.report = report
    record_done(ctx, matter, row, ctx.actor)
    return texts.filed_reply(label(matter), row_label(row), row.overdue)


def record_done(ctx: Ctx, matter: Matter, row: Filing, by: str) -> None:
    """The row met now (``by``: who filed it): late is 超限, which the 约谈 ladder hears of."""
    row.done_at, row.done_by = ctx.now, by
    if row.kind == "feedback":
        matter.feedback_at = ctx.now
    repo.cancel_row_steps(ctx.session, [row.id])
    late = ctx.now > row.due_at
    if late and not row.overdue:
        row.overdue = True  # filed after the deadline, before the sweeper noticed
        ctx.out.extend(check_ladder(ctx.session, ctx.roster, ctx.cal, ctx.now, matter))
    log(
        ctx.session,
        matter,
        ctx.now,
        by,
        "filed",
        row_label(row) + ("（超限）" if row.overdue else ""),
    )
