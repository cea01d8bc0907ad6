"""What every 督办事项 family shares: who may act, finding a matter, its label and log, closing.

The 督办事项 families (the registry, monthly filings, 领导批示件, lights and 约谈) build on
these; none of them imports another family's commands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import texts
from handlers.context import CommandError, Ctx
from handlers.effects import Action, to_user
from handlers.filings import schedule
from handlers.matters.states import MatterStatus
from storage import repo
from storage.models import Filing, Matter, MatterEvent

OFFICE = ["office_admin"]
DEPT = ["clerk", "dept_head"]
INSTRUCTION = "领导批示件"  # the category of a 领导批示件
CLOSURE_STEPS = {  # attachment 1, 形成专报: the step and who records it
    "报区主要领导": "dept",
    "传阅办公室": "dept",
    "抄报区委督查室": "office",
}
NAME_LIMIT = 200  # Matter.name


def label(matter: Matter) -> str:
    return texts.matter_ref(matter.id, matter.name)


def log(
    session: Session, matter: Matter, at: dt.datetime, actor: str, action: str, detail: str = ""
) -> None:
    session.add(
        MatterEvent(matter_id=matter.id, at=at, actor=actor or "bot", action=action, detail=detail)
    )


def find_matter(ctx: Ctx, ref: str) -> Matter:
    """督3, #3, 3, or the name (exact, else the one open matter whose name contains it)."""
    key = ref.strip()
    number = key.removeprefix("督").removeprefix("#").strip()
    if number.isdigit():
        if len(number) > 9:  # no such matter (and no integer overflow in the database)
            raise CommandError(texts.no_matter(key))
        matter = ctx.session.get(Matter, int(number))
        if matter is None:
            raise CommandError(texts.no_matter(key))
        return matter
    exact = ctx.session.scalars(select(Matter).where(Matter.name == key)).all()
    if len(exact) == 1:
        return exact[0]
    found = [
        m
        for m in ctx.session.scalars(
            select(Matter).where(Matter.status == MatterStatus.OPEN).order_by(Matter.id)
        )
        if key and key in m.name
    ]
    if len(found) == 1:
        return found[0]
    if found:
        raise CommandError(texts.ambiguous_matter(key, [label(m) for m in found[:5]]))
    raise CommandError(texts.no_matter(key))


def ensure_open(ctx: Ctx, matter: Matter) -> None:
    if matter.status != MatterStatus.OPEN:
        raise CommandError(texts.matter_closed(label(matter)))


def require_dept(ctx: Ctx, matter: Matter) -> None:
    roles = ctx.roles
    if matter.department in roles.clerk_of or matter.department in roles.head_of:
        return
    raise CommandError(texts.not_matter_department(label(matter), matter.department))


def month_of(ctx: Ctx, word: str) -> str:
    today = ctx.now.astimezone(ctx.cal.tz).date()
    if not word:
        return schedule.period_of(today, ctx.cal.tz)
    period = schedule.parse_month(word, today)
    if period is None:
        raise CommandError(texts.bad_month(word))
    return period


def notify(ctx: Ctx, people: Iterable[str], text: str, actions: tuple[Action, ...] = ()) -> None:
    for user in dict.fromkeys(people):
        if user and user != ctx.actor:
            ctx.send(to_user(user, text, actions=actions))


def describe(roster: Roster, matter: Matter) -> str:
    star = "★" if matter.star else ""
    return texts.matter_line(
        star + matter.category,
        matter.platform,
        matter.department,
        roster.name(matter.owner),
        roster.name(matter.deputy),
    )


def close(session: Session, matter: Matter, now: dt.datetime, actor: str, note: str = "") -> None:
    matter.status, matter.closed_at = MatterStatus.CLOSED.value, now
    settle_filings(session, matter, now)
    log(session, matter, now, actor, "closed", note)


def settle_filings(session: Session, matter: Matter, now: dt.datetime) -> None:
    """A closed matter: what is not yet due is no longer owed; what is due and not done is on
    the record as 超限."""
    for row in session.scalars(
        select(Filing).where(Filing.matter_id == matter.id, Filing.done_at.is_(None))
    ):
        if row.due_at > now:
            repo.drop_row_steps(session, [row.id])
            session.delete(row)
        else:
            repo.cancel_row_steps(session, [row.id])
            row.overdue = True
    session.flush()


def row_label(row: Filing) -> str:
    if row.kind in texts.PROGRESS_WORDS:
        return texts.progress_label(row.period)
    return (
        texts.FILING_KINDS[row.kind]
        if row.kind != "monthly"
        else texts.period_label(row.period) + "填报"
    )
