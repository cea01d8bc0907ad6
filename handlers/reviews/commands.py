"""复核: a 调查复核 (实地核查, 回头看, 再督查) recorded against a 督办事项."""

from __future__ import annotations

from handlers import texts
from handlers.args import ChoiceArg, MatterArg, TextArg
from handlers.commands import Registry
from handlers.context import CommandError, Ctx
from handlers.effects import to_group
from handlers.matters.base import label, log
from handlers.reviews.rules import FINDING_LIMIT, KINDS, LABELS, may_record, who_may
from storage.models import Matter, Review

router = Registry()


@router.command(
    "复核",
    [MatterArg(), ChoiceArg("kind", KINDS, strict=True), TextArg("finding", "发现")],
    "记录调查复核：实地核查（局办公室、处室负责人）、回头看或再督查（分管局领导）",
    ["office_admin", "office_head", "dept_head", "deputy"],
)
def review(ctx: Ctx, matter: Matter, kind: str, finding: str) -> str:
    word = LABELS[kind]
    if not may_record(ctx, matter, kind):
        raise CommandError(texts.review_not_allowed(word, who_may(kind), label(matter)))
    finding = finding.strip()
    if len("".join(finding.split())) > FINDING_LIMIT:
        raise CommandError(texts.review_too_long(FINDING_LIMIT))
    ctx.session.add(
        Review(matter_id=matter.id, kind=kind, finding=finding, at=ctx.now, by=ctx.actor)
    )
    log(ctx.session, matter, ctx.now, ctx.actor, "review", f"{word}：{finding}")
    who = ctx.roster.name(ctx.actor)
    dept = ctx.roster.department(matter.department)
    if dept is not None and dept.group != ctx.group:  # the department reads what was found
        ctx.send(to_group(dept.group, texts.review_told(label(matter), word, who, finding)))
    return texts.review_recorded(label(matter), word)
