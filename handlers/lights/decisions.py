"""The office's decision on a proposed 约谈问询 ("酌情启动约谈问询"): 启动约谈 starts it and
notifies the interviewer and interviewee; 不约谈 declines it with a reason, and the declined
conditions are never proposed again. Both are recorded (who, when, the reason), and the office
group, which saw the proposal, is told of the decision.

When proposals of several tiers wait on one matter, the command names the tier (启动约谈 督3
二级); with one waiting, the tier may be left out."""

from __future__ import annotations

from sqlalchemy import select

from handlers import texts
from handlers.context import CommandError, Ctx
from handlers.effects import to_group
from handlers.lights.check import S, interviews, pair, proposal_taps, start_notice, supersede
from handlers.matters.base import label, log
from handlers.matters.states import close_interview
from handlers.taps import Taps
from storage.models import Interview, Matter


def _proposals(ctx: Ctx, matter: Matter, tier: int | None, verb: str) -> list[Interview]:
    """The waiting proposal rows of the tier named (or of the only tier waiting)."""
    waiting = [r for r in interviews(ctx.session, matter) if r.state == S.PROPOSED]
    tiers = sorted({r.tier for r in waiting})
    if not tiers:
        raise CommandError(texts.no_proposal(label(matter)))
    if tier is None:
        if len(tiers) > 1:
            ref = f"督{matter.id}"
            raise CommandError(texts.which_tier(label(matter), verb, ref, tiers))
        tier = tiers[0]
    if tier not in tiers:
        raise CommandError(texts.no_proposal_at(label(matter), texts.LADDER_TIER_NAMES[tier]))
    return [r for r in waiting if r.tier == tier]


def start(ctx: Ctx, matter: Matter, tier: int | None) -> str:
    rows = _proposals(ctx, matter, tier, "启动约谈")
    head, *rest = rows
    conditions = [(r.rule, r.evidence) for r in rows]
    interviewer, interviewee = pair(ctx.roster, matter, head.tier)
    head.state = close_interview(head.state, S.OPEN)
    head.rule = "；".join(rule for rule, _ in conditions)
    head.evidence = "；".join(evidence for _, evidence in conditions)
    head.interviewer, head.interviewee = interviewer, interviewee
    for row in rows:
        row.decided_at, row.decided_by = ctx.now, ctx.actor
    for row in rest:  # a condition met later at the same tier: one interview names both
        row.state = close_interview(row.state, S.ABSORBED)
    supersede(interviews(ctx.session, matter), head.tier, ctx.now, ctx.actor)
    notices = start_notice(
        ctx.session, ctx.roster, ctx.now, matter, head.tier, conditions, ctx.actor
    )
    ctx.out.extend(notices)
    name = texts.LADDER_TIER_NAMES[head.tier]
    decided = texts.proposal_started(label(matter), name, ctx.roster.name(ctx.actor))
    ctx.out.append(to_group(ctx.roster.office.group, decided, texts.PROPOSAL_TITLE))
    return texts.interview_started(
        label(matter), name, ctx.roster.name(interviewer), ctx.roster.name(interviewee)
    )


def decline(ctx: Ctx, matter: Matter, tier: int | None, reason: str) -> str:
    rows = _proposals(ctx, matter, tier, "不约谈")
    for row in rows:
        row.state = close_interview(row.state, S.DECLINED)
        row.decided_at, row.decided_by, row.reason = ctx.now, ctx.actor, reason
        row.closed_at, row.closed_by = ctx.now, ctx.actor
    name = texts.LADDER_TIER_NAMES[rows[0].tier]
    log(ctx.session, matter, ctx.now, ctx.actor, "declined", f"{name}：{reason}")
    decided = texts.proposal_declined(label(matter), name, ctx.roster.name(ctx.actor), reason)
    ctx.out.append(to_group(ctx.roster.office.group, decided, texts.PROPOSAL_TITLE))
    return texts.interview_declined(label(matter), name, reason)


def todo_proposals(ctx: Ctx) -> list[tuple[str, Taps]]:
    """For the office admins: the proposals awaiting their decision, with the decisions."""
    if not ctx.roles.has("office_admin"):
        return []
    query = select(Interview, Matter).join(Matter, Interview.matter_id == Matter.id)
    query = query.where(Interview.state == S.PROPOSED).order_by(Interview.id)
    seen: set[tuple[int, int]] = set()
    lines: list[tuple[str, Taps]] = []
    for row, matter in ctx.session.execute(query).all():
        if (matter.id, row.tier) in seen:
            continue
        seen.add((matter.id, row.tier))
        interviewer, interviewee = pair(ctx.roster, matter, row.tier)
        text = texts.todo_proposal(
            label(matter),
            texts.LADDER_TIER_NAMES[row.tier],
            ctx.roster.name(interviewer),
            ctx.roster.name(interviewee),
            ctx.when(row.opened_at),
        )
        lines.append((text, proposal_taps(matter, row.tier)))
    return lines
