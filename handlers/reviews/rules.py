"""调查复核 (document 三(五)) and who may record which kind.

  局办公室……视情开展联合实地调查复核。对市、区两级重点督查事项，责任部门的主要负责人要视时
  进行实地调查复核。局分管领导视情开展"回头看"、"再督查"。

So 实地核查 is recorded by the office (its admins and its head) or by the head of the matter's
department; 回头看 and 再督查 by the matter's 分管局领导. A review may be recorded on a closed
matter too (回头看 looks back at finished work).
"""

from __future__ import annotations

from sqlalchemy import select

from handlers import texts
from handlers.context import Ctx
from storage.models import Matter, Review

LABELS = texts.REVIEW_KIND_LABELS  # stored -> word
KINDS = {word: stored for stored, word in LABELS.items()}  # what 复核 takes
OFFICE_ROLES = frozenset({"office_admin", "office_head"})
FINDING_LIMIT = 2000  # characters


def may_record(ctx: Ctx, matter: Matter, kind: str) -> bool:
    if kind == "field":
        return bool(ctx.roles.roles & OFFICE_ROLES) or matter.department in ctx.roles.head_of
    return ctx.actor == matter.deputy and ctx.roles.has("deputy")


def who_may(kind: str) -> str:
    return texts.REVIEW_WHO[kind]


def reviews_of(ctx: Ctx, matter: Matter) -> list[Review]:
    return list(
        ctx.session.scalars(
            select(Review).where(Review.matter_id == matter.id).order_by(Review.at, Review.id)
        )
    )


def view_lines(ctx: Ctx, matter: Matter) -> list[str]:
    """For 查看 督N: each review, oldest first."""
    return [
        texts.review_entry(ctx.when(r.at), LABELS[r.kind], ctx.roster.name(r.by), r.finding)
        for r in reviews_of(ctx, matter)
    ]
