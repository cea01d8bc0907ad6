"""@件 intake and the office's triage: a town's @, 分派, 退回, 改派, 登记 (attachment 3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from config.roster import Department, Town
from handlers import taps, texts
from handlers.args import ChoiceArg, DeptArg, ItemArg, TextArg, TownArg
from handlers.commands import Registry
from handlers.context import CommandError, Ctx
from handlers.effects import to_group
from handlers.items import delivery, intake
from handlers.items.common import answer_town, log, notify_people, plan, to_town
from handlers.items.states import ItemState, move
from storage import repo
from storage.models import Item

router = Registry()


def receive(
    ctx: Ctx,
    *,
    town: str,
    text: str,
    category: str | None = None,
    asker_id: str | None = None,
    asker_nick: str = "",
    conversation_id: str | None = None,
    conversation_type: str = "2",
    webhook: str | None = None,
    webhook_expires: dt.datetime | None = None,
    receipt: bool = True,
    attached: Sequence[intake.Attached] = (),
) -> Item:
    """A town's @: a new item, its number to the town (``receipt``), the item to the office
    group. Pictures and files (``attached``) are recorded to be fetched (handlers.items.intake)."""
    rules = ctx.roster.rules
    text = intake.item_text(text, attached) if attached else text
    due = ctx.cal.add(ctx.now, rules.triage_workdays)
    item = repo.add_item(
        ctx.session,
        Item(
            town=town,
            category=category or detect_category(text),
            asker_id=asker_id,
            asker_nick=asker_nick,
            conversation_id=conversation_id,
            conversation_type=conversation_type,
            source_msg_id=ctx.msg_id,
            session_webhook=webhook,
            session_webhook_expires=webhook_expires,
            text=text,
            state=ItemState.NEW.value,
            received_at=ctx.now,
            triage_due=due.at,
            provisional=due.provisional,
        ),
    )
    if ctx.actor:
        log(ctx, item, "registered", text)
    else:
        repo.log(ctx.session, item, ctx.now, "town", "received", text, ctx.msg_id)
    plan(ctx, item, "triage", ctx.now, due.at)
    intake.record(ctx, item, attached)
    if receipt:
        ctx.send(to_town(item, texts.town_received(item.id)))
    due_text = ctx.when(due.at, due.provisional)
    line = texts.new_item_line(item.id, town, item.category, text, due_text)
    notice = texts.office_new_item(
        item.id, town, item.category, text, due_text, intake.line_for(attached)
    )
    group_text = notice + "\n" + texts.ACTIONS_IN_CHAT
    ctx.send(to_group(ctx.roster.office.group, group_text, digest=((texts.NEW_ITEMS, line),)))
    admins = [a for a in ctx.roster.office.admins if a != ctx.actor]  # not who registered it
    notify_people(ctx, admins, notice, taps.triage(item.id))
    return item


def detect_category(text: str) -> str:
    return "问题沟通" if "问题沟通" in text or "问题反映" in text else "政策咨询"


# --- office --------------------------------------------------------------------------------


@router.command(
    "分派", [ItemArg("assign"), DeptArg("department")], "甄别后分派给处室", ["office_admin"]
)
def assign(ctx: Ctx, item: Item, department: Department) -> str:
    dept = department.name
    due = ctx.cal.add(ctx.now, ctx.roster.rules.claim_workdays)
    item.state, item.department = move(item.state, "assign", ItemState.ASSIGNED), dept
    item.triaged_at = item.assigned_at = ctx.now
    item.claim_due, item.provisional = due.at, item.provisional or due.provisional
    repo.cancel_timers(ctx.session, item, ["triage"])
    plan(ctx, item, "claim", ctx.now, due.at)
    log(ctx, item, "assigned", dept)
    _announce_to_department(ctx, item, ctx.when(due.at, due.provisional))
    return texts.assigned_reply(item.id, dept, ctx.when(due.at, due.provisional))


def _announce_to_department(ctx: Ctx, item: Item, due: str) -> None:
    dept = ctx.roster.department(item.department or "")
    assert dept is not None
    attached = intake.of(ctx, item)
    text = texts.dept_new_item(
        item.id, item.town, item.category, item.text, due, intake.line_for(attached)
    )
    line = texts.new_item_line(item.id, item.town, item.category, item.text, due)
    group_text = text + "\n" + texts.ACTIONS_IN_CHAT
    ctx.send(to_group(dept.group, group_text, digest=((texts.NEW_FOR_DEPARTMENT, line),)))
    notify_people(ctx, dept.clerks, text, taps.claim(item.id))
    intake.forward(ctx, item, dept.group)


@router.command(
    "退回",
    [ItemArg("reject"), TextArg("note", "说明", optional=True)],
    "非本机关职责范围，自动答复街镇",
    ["office_admin"],
)
def reject(ctx: Ctx, item: Item, note: str) -> str:
    item.state = move(item.state, "reject", ItemState.REJECTED)
    item.note = note or None
    item.triaged_at = item.triaged_at or ctx.now
    item.closed_at = item.replied_at = ctx.now
    repo.cancel_timers(ctx.session, item, ["triage", "claim"])
    log(ctx, item, "rejected", note)
    dept = ctx.roster.department(item.department or "")
    if dept is not None:
        ctx.send(to_group(dept.group, texts.rejected_away(item.id)))
    message = answer_town(ctx, item, "reject", texts.reject_to_town(note or None))
    ctx.send(delivery.tracked(message, item, "reject", ctx.actor))
    return texts.rejected_reply(item.id)


def _not_hard(item: Item, command: str) -> None:
    if item.hard:  # a hard case stays with the department that judged it
        raise CommandError(texts.wrong_state(item.id, "hard", command))


@router.command(
    "改派",
    [ItemArg("reassign", _not_hard), DeptArg("department")],
    "改派给另一处室",
    ["office_admin"],
)
def reassign(ctx: Ctx, item: Item, department: Department) -> str:
    dept = department.name
    old = item.department or ""
    if dept == old:
        raise CommandError(texts.same_department(item.id, dept))
    due = ctx.cal.add(ctx.now, ctx.roster.rules.claim_workdays)
    item.state = move(item.state, "reassign", ItemState.ASSIGNED)
    item.department, item.assigned_at = dept, ctx.now
    item.claim_due, item.claimed_at, item.accepted_at = due.at, None, None
    item.reply_due = item.placeholder_due = None
    item.draft = item.draft_by = item.review_level = None
    repo.cancel_timers(ctx.session, item, ["claim", "reply", "placeholder"])
    plan(ctx, item, "claim", ctx.now, due.at)
    log(ctx, item, "reassigned", f"{old} → {dept}")
    old_dept = ctx.roster.department(old)
    if old_dept:
        ctx.send(to_group(old_dept.group, texts.reassigned_away(item.id, dept)))
    _announce_to_department(ctx, item, ctx.when(due.at, due.provisional))
    return texts.reassigned_reply(item.id, old, dept, ctx.when(due.at, due.provisional))


ITEM_CATEGORIES = {"政策咨询": "政策咨询", "问题沟通": "问题沟通"}


@router.command(
    "登记",
    [TownArg(), ChoiceArg("category", ITEM_CATEGORIES, strict=True), TextArg()],
    "登记其他渠道收到的@件",
    ["office_admin"],
)
def register(ctx: Ctx, town: Town, category: str, text: str) -> str:
    item = receive(
        ctx,
        town=town.name,
        text=text,
        category=category,
        conversation_id=town.conversations[0],
        receipt=False,  # it did not come from the town's chat
    )
    return texts.registered_reply(item.id, ctx.when(item.triage_due, item.provisional))
