"""The department's work on an @件: 认领, 答复, review (同意, 退改, 报分管, 集体研判), 疑难 and
已线下答复 (attachment 3). 同意 and 退改 are declared in handlers.approvals."""

from __future__ import annotations

from handlers import clocks, taps, texts
from handlers.args import ItemArg, TextArg
from handlers.commands import Registry
from handlers.context import CommandError, Ctx
from handlers.items import delivery
from handlers.items.common import (
    LEVELS,
    answer_town,
    log,
    notify_people,
    plan,
    require_department,
    review_level,
)
from handlers.items.states import ItemState, move
from storage import repo
from storage.models import Item

router = Registry()


@router.command("认领", [ItemArg("claim")], "处室认领@件", ["clerk"])
def claim(ctx: Ctx, item: Item) -> str:
    require_department(ctx, item, clerk=True)
    rules = ctx.roster.rules
    assert item.claim_due is not None
    # 接件: the claim, but a late claim buys no extra time
    basis = rules.accept_basis
    accepted = item.received_at if basis == "receipt" else min(ctx.now, item.claim_due)
    reply = ctx.cal.add(accepted, rules.reply_workdays)
    placeholder = ctx.cal.add(accepted, rules.placeholder_workdays)
    item.state = move(item.state, "claim", ItemState.CLAIMED)
    item.claimed_at, item.accepted_at = ctx.now, accepted
    item.reply_due, item.placeholder_due = reply.at, placeholder.at
    item.provisional = item.provisional or reply.provisional
    repo.cancel_timers(ctx.session, item, ["claim"])
    plan(ctx, item, "reply", accepted, reply.at)
    plan(ctx, item, "placeholder", accepted, placeholder.at)
    log(ctx, item, "claimed", "late" if ctx.now > item.claim_due else "")
    return texts.claimed_reply(
        item.id,
        ctx.when(reply.at, reply.provisional),
        ctx.when(placeholder.at, placeholder.provisional),
    )


@router.command("答复", [ItemArg("draft"), TextArg()], "提交答复稿，送处室负责人审核", ["clerk"])
def draft(ctx: Ctx, item: Item, text: str) -> str:
    require_department(ctx, item, clerk=True)
    item.state = move(item.state, "draft", ItemState.REVIEW)
    item.draft, item.draft_by = text, ctx.actor
    item.drafted_at, item.review_level = ctx.now, "dept_head"
    log(ctx, item, "drafted", text)
    _ask_review(ctx, item)
    return texts.draft_reply(item.id, texts.LEVEL_LABELS["dept_head"])


def _ask_review(ctx: Ctx, item: Item) -> None:
    level = item.review_level or "dept_head"
    text = texts.review_request(
        item.id, item.town, item.draft or "", ctx.when(item.reply_due, item.provisional)
    )
    notify_people(
        ctx, ctx.roster.people_for(level, item.department), text, taps.review(item.id, level)
    )


# 同意 and 退改 are declared with the 督办事项's (handlers.approvals): the argument chooses.
REVIEWERS = ["dept_head", "deputy", "director"]


def approve(ctx: Ctx, item: Item) -> str:
    """同意 N: the draft goes to the town."""
    _require_review_level(ctx, item)
    if item.draft_by and item.draft_by == ctx.actor:
        raise CommandError(texts.own_draft(item.id))
    item.state = move(item.state, "approve", ItemState.ANSWERED)
    item.reply, item.replied_at = item.draft, ctx.now
    item.closed_at, item.review_level = ctx.now, None
    repo.cancel_timers(ctx.session, item, ["reply", "placeholder", "followup"])
    log(ctx, item, "approved", item.draft or "")
    # "replied" is the sender's to record, once DingTalk took it (handlers.items.delivery)
    message = answer_town(ctx, item, "reply", item.reply or "")
    ctx.send(delivery.tracked(message, item, "reply", ctx.actor))
    return texts.approved_reply(item.id)


def _require_review_level(ctx: Ctx, item: Item) -> None:
    level = review_level(ctx, item)
    if level < 0:
        raise CommandError(texts.not_your_department(item.id, item.department))
    needed = LEVELS.index(item.review_level or "dept_head")
    if level < needed:
        raise CommandError(texts.not_your_level(item.id, item.review_level or "dept_head"))


def send_back(ctx: Ctx, item: Item, opinion: str) -> str:
    """退改 N <意见>: the draft goes back to its clerk."""
    _require_review_level(ctx, item)
    back = ItemState.HARD if item.hard else ItemState.CLAIMED
    item.state, item.review_level = move(item.state, "send_back", back), None
    log(ctx, item, "sent_back", opinion)
    clerks = [item.draft_by] if item.draft_by else ctx.roster.people_for("clerk", item.department)
    due = ctx.when(item.reply_due, item.provisional)
    notice = texts.returned_notice(item.id, ctx.roster.name(ctx.actor), opinion, due)
    notify_people(ctx, clerks, notice, taps.reply(item.id))
    return texts.returned_reply(item.id)


@router.command("报分管", [ItemArg("pass_up")], "答复稿报分管局领导审核", ["dept_head"])
def to_deputy(ctx: Ctx, item: Item) -> str:
    return _pass_up(ctx, item, "deputy", "dept_head", head=True)


@router.command("集体研判", [ItemArg("pass_up")], "报局主要领导集体研判", ["deputy"])
def to_director(ctx: Ctx, item: Item) -> str:
    return _pass_up(ctx, item, "director", "deputy", deputy=True)


def _pass_up(ctx: Ctx, item: Item, level: str, lowest: str, **who: bool) -> str:
    require_department(ctx, item, **who)
    if LEVELS.index(item.review_level or "dept_head") > LEVELS.index(lowest):
        raise CommandError(texts.not_your_level(item.id, item.review_level or "dept_head"))
    item.review_level = level
    log(ctx, item, "passed_up", level)
    _ask_review(ctx, item)
    return texts.passed_up_reply(item.id, texts.LEVEL_LABELS[level])


@router.command(
    "疑难",
    [ItemArg("mark_hard"), TextArg("reason", "原因", optional=True)],
    "标记疑难件，自动先行回复街镇",
    ["dept_head", "deputy"],
)
def mark_hard(ctx: Ctx, item: Item, reason: str) -> str:
    require_department(ctx, item, head=True, deputy=True)
    if item.hard:
        raise CommandError(texts.already_hard(item.id))
    late = item.placeholder_due is not None and ctx.now > item.placeholder_due
    item.state = move(item.state, "mark_hard", ItemState.HARD)
    item.hard, item.hard_reason = True, reason or None
    item.placeholder_at, item.review_level = ctx.now, None
    repo.cancel_timers(ctx.session, item, ["reply", "placeholder"])
    plan = clocks.followup(ctx.cal, ctx.roster.rules, ctx.now, 0)
    repo.add_timers(
        ctx.session, item, [(plan.clock, plan.kind, plan.step, plan.due_at, plan.fire_at)]
    )
    log(ctx, item, "hard", reason)
    message = answer_town(ctx, item, "placeholder", ctx.roster.rules.placeholder_text)
    ctx.send(delivery.tracked(message, item, "placeholder", ctx.actor))
    return texts.hard_reply(item.id, late)


@router.command(
    "已线下答复",
    [ItemArg("offline"), TextArg("summary", "摘要", optional=True)],
    "疑难件线下答复后办结",
    ["clerk", "dept_head"],
)
def offline(ctx: Ctx, item: Item, summary: str) -> str:
    require_department(ctx, item, clerk=True, head=True)
    item.state = move(item.state, "offline", ItemState.OFFLINE)
    item.closed_at, item.replied_at = ctx.now, ctx.now
    item.reply = summary or None
    repo.cancel_timers(ctx.session, item, ["followup"])
    log(ctx, item, "offline_answered", summary)
    return texts.offline_reply(item.id)
