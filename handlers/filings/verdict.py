"""The 分管局领导's answer to a submitted filing: ``同意 督N`` (the filing is done, now) or
``退改 督N <意见>`` (back to the department, with the comment). The commands are declared
with the @件's 同意/退改 (handlers.approvals): the argument's form chooses."""

from __future__ import annotations

from sqlalchemy import select

from handlers import taps, texts
from handlers.context import CommandError, Ctx
from handlers.filings import approval
from handlers.filings.done import record_done
from handlers.matters.base import ensure_open, label, log, notify, row_label
from storage.models import Filing, Matter


def waiting_rows(ctx: Ctx, matter: Matter) -> list[Filing]:
    """The matter's submissions waiting for approval, the earliest due first."""
    return list(
        ctx.session.scalars(
            select(Filing)
            .where(
                Filing.matter_id == matter.id,
                Filing.submitted_at.is_not(None),
                Filing.done_at.is_(None),
            )
            .order_by(Filing.due_at, Filing.id)
        )
    )


def _row_to_review(ctx: Ctx, matter: Matter) -> Filing:
    ensure_open(ctx, matter)
    leader = approval.approver(ctx.roster, matter)
    if ctx.actor != leader and not ctx.roles.has("director"):
        raise CommandError(texts.not_approver(label(matter), ctx.roster.name(leader)))
    rows = waiting_rows(ctx, matter)
    if not rows:
        raise CommandError(texts.nothing_to_approve(label(matter)))
    if rows[0].submitted_by == ctx.actor:
        raise CommandError(texts.own_submission(label(matter)))
    return rows[0]


def _department(ctx: Ctx, matter: Matter, row: Filing) -> list[str]:
    """Who hears the answer: the department's clerks and the submitter."""
    return [*ctx.roster.people_for("clerk", matter.department), row.submitted_by or ""]


def approve(ctx: Ctx, matter: Matter) -> str:
    """同意 督N: the earliest submission waiting is approved; the filing is done now (late:
    超限)."""
    row = _row_to_review(ctx, matter)
    row.approved_at, row.approved_by = ctx.now, ctx.actor
    what = row_label(row)
    log(ctx.session, matter, ctx.now, ctx.actor, "approved", what)
    record_done(ctx, matter, row, row.submitted_by or ctx.actor)
    notice = texts.matter_approved_notice(
        label(matter),
        what,
        ctx.roster.name(ctx.actor),
        row.kind == "feedback",
        row.overdue,
    )
    notify(ctx, _department(ctx, matter, row), notice, (taps.view(f"督{matter.id}"),))
    return texts.matter_approved_reply(label(matter), what, row.overdue)


def send_back(ctx: Ctx, matter: Matter, opinion: str) -> str:
    """退改 督N <意见>: the earliest submission waiting goes back to the department."""
    row = _row_to_review(ctx, matter)
    people = _department(ctx, matter, row)
    row.returned_at, row.returned_by, row.return_note = ctx.now, ctx.actor, opinion
    row.submitted_at = None
    what = row_label(row)
    log(ctx.session, matter, ctx.now, ctx.actor, "returned", f"{what}：{opinion}")
    ref = f"督{matter.id}"
    kind = approval.kind_of(row, matter)
    notice = texts.matter_returned_notice(
        label(matter),
        what,
        ctx.roster.name(ctx.actor),
        opinion,
        ctx.when(row.due_at, row.provisional),
        texts.resubmit_command(kind, ref),
    )
    notify(ctx, people, notice, taps.filing(row.kind, ref, kind == "report"))
    return texts.matter_returned_reply(label(matter), what)
