"""Filings the matter's 分管局领导 approves before they count (attachment 1: 情况反馈 and
跟踪反馈 "经分管局领导审核同意后"; other categories by the roster's ``[filings] approval``).

The department submits (``mark_done`` routes here): the text waits on the row (``report``,
``submitted_at``), the leader gets it 1:1 and answers ``同意 督N`` or ``退改 督N <意见>``
(handlers.filings.verdict). The deadline is met at the approval: the row's reminders go on
meanwhile, to the leader (handlers.filings.sweep)."""

from __future__ import annotations

from typing import Literal

from config.roster import Roster
from handlers import taps, texts
from handlers.context import Ctx
from handlers.matters.base import INSTRUCTION, label, log, notify, row_label
from storage.models import Filing, Matter

State = Literal["", "pending", "returned", "approved"]


def required(roster: Roster, matter: Matter, row: Filing) -> bool:
    """Whether the row counts only once approved: a monthly filing (a 批示件's: its tracking
    report) or a 批示件's feedback, of a category the roster names; never a 签收."""
    return row.kind in ("monthly", "feedback") and matter.category in roster.filings.approval


def approver(roster: Roster, matter: Matter) -> str:
    """The matter's 分管局领导, else its department's."""
    if matter.deputy:
        return matter.deputy
    found = roster.people_for("deputy", matter.department)
    return found[0] if found else ""


def state(row: Filing) -> State:
    if row.approved_at is not None:
        return "approved"
    if row.done_at is not None:
        return ""
    if row.submitted_at is not None:
        return "pending"
    return "returned" if row.returned_at is not None else ""


def kind_of(row: Filing, matter: Matter) -> str:
    """The row's kind as its texts know it: a 批示件's monthly row is its ``report``."""
    return "report" if row.kind == "monthly" and matter.category == INSTRUCTION else row.kind


def review_taps(ref: str) -> taps.Taps:
    return (taps.matter("同意", ref), taps.matter("退改", ref), taps.view(ref))


def submit(ctx: Ctx, matter: Matter, row: Filing, report: str | None) -> str:
    """The department's submission: kept on the row (a new one replaces a text still
    waiting) and sent to the leader; the row stays owed until the leader approves."""
    again = row.submitted_at is not None
    if report is not None:
        row.report = report
    row.submitted_at, row.submitted_by = ctx.now, ctx.actor
    what = row_label(row)
    leader = approver(ctx.roster, matter)
    detail = what + ("（重新提交）" if again or row.returned_at else "")
    log(ctx.session, matter, ctx.now, ctx.actor, "submitted", detail)
    due = ctx.when(row.due_at, row.provisional)
    ref = f"督{matter.id}"
    text = texts.approval_request(
        label(matter), what, ctx.roster.name(ctx.actor), due, row.report if report else None
    )
    notify(ctx, [leader], text, review_taps(ref))
    return texts.submitted_reply(label(matter), what, ctx.roster.name(leader), due)
