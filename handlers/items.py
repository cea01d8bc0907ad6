"""街镇直通车 @件: intake, triage, claim, reply review, hard cases (attachment 3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from handlers import clocks, delivery, intake, matters, texts
from handlers.commands import Command, Registry
from handlers.context import CommandError, Ctx
from handlers.effects import Fallback, Outgoing, to_group, to_user
from storage import repo
from storage.models import Item

router = Registry()

LEVELS = ("dept_head", "deputy", "director")
CLOSED = ("answered", "rejected", "offline")


# --- helpers -------------------------------------------------------------------------------


def _item(ctx: Ctx, cmd: Command, states: Iterable[str] | None = None) -> Item:
    assert cmd.item is not None
    item = repo.get_item(ctx.session, cmd.item)
    if item is None:
        raise CommandError(texts.no_item(cmd.item))
    if states is not None and item.state not in states:
        raise CommandError(texts.wrong_state(item.id, item.state, cmd.name))
    return item


def _require_department(
    ctx: Ctx,
    item: Item,
    *,
    clerk: bool = False,
    head: bool = False,
    deputy: bool = False,
    director: bool = False,
) -> None:
    roles = ctx.roles
    dept = item.department or ""
    if (
        (clerk and dept in roles.clerk_of)
        or (head and dept in roles.head_of)
        or (deputy and dept in roles.deputy_of)
        or (director and roles.has("director"))
    ):
        return
    raise CommandError(texts.not_your_department(item.id, item.department))


def _level(ctx: Ctx, item: Item) -> int:
    """The highest review level the actor holds for the item's department (-1: none)."""
    roles, dept = ctx.roles, item.department or ""
    if roles.has("director"):
        return 2
    if dept in roles.deputy_of:
        return 1
    if dept in roles.head_of:
        return 0
    return -1


def _plan(ctx: Ctx, item: Item, clock: str, start: dt.datetime, due: dt.datetime) -> None:
    plans = clocks.plan(ctx.cal, ctx.roster.rules, clock, start, due)
    # a late claim starts its windows in the past: reminders already due are moot
    plans = [p for p in plans if p.kind != "nag" or p.fire_at > ctx.now]
    repo.add_timers(
        ctx.session, item, ((p.clock, p.kind, p.step, p.due_at, p.fire_at) for p in plans)
    )


def _log(ctx: Ctx, item: Item, action: str, detail: str = "") -> None:
    repo.log(ctx.session, item, ctx.now, ctx.actor or "bot", action, detail, ctx.msg_id)


def to_town(
    item: Item, text: str, mention: bool = False, fallback_text: str | None = None
) -> Outgoing:
    """A message in the town's conversation: the session webhook while it lives (it can
    @-mention the asker: the sender writes the mention), then the group (Open API group
    messages cannot @ anyone) with ``fallback_text`` when given."""
    at = (item.asker_id,) if mention and item.asker_id else ()
    target = item.conversation_id or ""
    fallback: Fallback = "oto" if item.conversation_type == "1" else "group"
    fallback_target = (item.asker_id or "") if fallback == "oto" else target
    if item.session_webhook:
        return Outgoing(
            "session",
            target,
            text,
            at_user_ids=at,
            webhook=item.session_webhook,
            webhook_expires=item.session_webhook_expires,
            fallback_channel=fallback,
            fallback_target=fallback_target,
            fallback_text=fallback_text if fallback_text != text else None,
        )
    return Outgoing(fallback, fallback_target, fallback_text or text)


def answer_town(ctx: Ctx, item: Item, kind: str, body: str) -> Outgoing:
    """An answer to the town (``kind``: reply, reject, placeholder), under a line that places
    it. The asker is @-mentioned while the session webhook lives, and named after that."""
    asked = ctx.when(item.received_at)

    def text(asker: str) -> str:
        return texts.town_answer(kind, item.id, asked, item.text, body, asker)

    mention = bool(item.asker_id and item.session_webhook)
    named = text(item.asker_nick or "")
    return to_town(item, text("") if mention else named, mention=mention, fallback_text=named)


def _notify_people(ctx: Ctx, user_ids: Iterable[str], text: str) -> None:
    for user_id in dict.fromkeys(user_ids):
        ctx.send(to_user(user_id, text))


# --- intake --------------------------------------------------------------------------------


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
    group. Pictures and files (``attached``) are recorded to be fetched (handlers.intake)."""
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
            state="new",
            received_at=ctx.now,
            triage_due=due.at,
            provisional=due.provisional,
        ),
    )
    if ctx.actor:
        _log(ctx, item, "registered", text)
    else:
        repo.log(ctx.session, item, ctx.now, "town", "received", text, ctx.msg_id)
    _plan(ctx, item, "triage", ctx.now, due.at)
    intake.record(ctx, item, attached)
    if receipt:
        ctx.send(to_town(item, texts.town_received(item.id)))
    due_text = ctx.when(due.at, due.provisional)
    line = texts.new_item_line(item.id, town, item.category, text, due_text)
    ctx.send(
        to_group(
            ctx.roster.office.group,
            texts.office_new_item(
                item.id,
                town,
                item.category,
                text,
                due_text,
                intake.line_for(attached),
            ),
            digest=((texts.NEW_ITEMS, line),),
        )
    )
    return item


def detect_category(text: str) -> str:
    return "问题沟通" if "问题沟通" in text or "问题反映" in text else "政策咨询"


# --- office --------------------------------------------------------------------------------


@router.command(
    "分派", ["item", "dept"], "分派 <编号> <处室>", "甄别后分派给处室", ["office_admin"]
)
def assign(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["new"])
    dept = ctx.department(cmd.dept or "").name
    due = ctx.cal.add(ctx.now, ctx.roster.rules.claim_workdays)
    item.state, item.department = "assigned", dept
    item.triaged_at = item.assigned_at = ctx.now
    item.claim_due, item.provisional = due.at, item.provisional or due.provisional
    repo.cancel_timers(ctx.session, item, ["triage"])
    _plan(ctx, item, "claim", ctx.now, due.at)
    _log(ctx, item, "assigned", dept)
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
    ctx.send(to_group(dept.group, text, digest=((texts.NEW_FOR_DEPARTMENT, line),)))
    _notify_people(ctx, dept.clerks, text)
    intake.forward(ctx, item, dept.group)


@router.command(
    "退回",
    ["item", "text?"],
    "退回 <编号> [说明]",
    "非本机关职责范围，自动答复街镇",
    ["office_admin"],
)
def reject(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["new", "assigned"])
    item.state, item.note = "rejected", cmd.text or None
    item.triaged_at = item.triaged_at or ctx.now
    item.closed_at = item.replied_at = ctx.now
    repo.cancel_timers(ctx.session, item, ["triage", "claim"])
    _log(ctx, item, "rejected", cmd.text)
    dept = ctx.roster.department(item.department or "")
    if dept is not None:
        ctx.send(to_group(dept.group, texts.rejected_away(item.id)))
    message = answer_town(ctx, item, "reject", texts.reject_to_town(cmd.text or None))
    ctx.send(delivery.tracked(message, item, "reject", ctx.actor))
    return texts.rejected_reply(item.id)


@router.command("改派", ["item", "dept"], "改派 <编号> <处室>", "改派给另一处室", ["office_admin"])
def reassign(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["assigned", "claimed", "review"])
    if item.hard:  # a hard case stays with the department that judged it
        raise CommandError(texts.wrong_state(item.id, "hard", cmd.name))
    dept = ctx.department(cmd.dept or "").name
    old = item.department or ""
    if dept == old:
        raise CommandError(texts.same_department(item.id, dept))
    due = ctx.cal.add(ctx.now, ctx.roster.rules.claim_workdays)
    item.state, item.department, item.assigned_at = "assigned", dept, ctx.now
    item.claim_due, item.claimed_at, item.accepted_at = due.at, None, None
    item.reply_due = item.placeholder_due = None
    item.draft = item.draft_by = item.review_level = None
    repo.cancel_timers(ctx.session, item, ["claim", "reply", "placeholder"])
    _plan(ctx, item, "claim", ctx.now, due.at)
    _log(ctx, item, "reassigned", f"{old} → {dept}")
    old_dept = ctx.roster.department(old)
    if old_dept:
        ctx.send(to_group(old_dept.group, texts.reassigned_away(item.id, dept)))
    _announce_to_department(ctx, item, ctx.when(due.at, due.provisional))
    return texts.reassigned_reply(item.id, old, dept, ctx.when(due.at, due.provisional))


@router.command(
    "登记",
    ["town", "category", "text"],
    "登记 <街镇> <政策咨询/问题沟通> <内容>",
    "登记其他渠道收到的@件",
    ["office_admin"],
)
def register(ctx: Ctx, cmd: Command) -> str:
    town = ctx.roster.town(cmd.town or "")
    if town is None:
        raise CommandError(
            texts.unknown_town(cmd.town or "", [t.name for t in ctx.roster.data.towns])
        )
    item = receive(
        ctx,
        town=town.name,
        text=cmd.text,
        category=cmd.category,
        conversation_id=town.conversations[0],
        receipt=False,  # it did not come from the town's chat
    )
    return texts.registered_reply(item.id, ctx.when(item.triage_due, item.provisional))


# --- department ----------------------------------------------------------------------------


@router.command("认领", ["item"], "认领 <编号>", "处室认领@件", ["clerk"])
def claim(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["assigned"])
    _require_department(ctx, item, clerk=True)
    rules = ctx.roster.rules
    assert item.claim_due is not None
    # 接件: the claim, but a late claim buys no extra time
    basis = rules.accept_basis
    accepted = item.received_at if basis == "receipt" else min(ctx.now, item.claim_due)
    reply = ctx.cal.add(accepted, rules.reply_workdays)
    placeholder = ctx.cal.add(accepted, rules.placeholder_workdays)
    item.state, item.claimed_at, item.accepted_at = "claimed", ctx.now, accepted
    item.reply_due, item.placeholder_due = reply.at, placeholder.at
    item.provisional = item.provisional or reply.provisional
    repo.cancel_timers(ctx.session, item, ["claim"])
    _plan(ctx, item, "reply", accepted, reply.at)
    _plan(ctx, item, "placeholder", accepted, placeholder.at)
    _log(ctx, item, "claimed", "late" if ctx.now > item.claim_due else "")
    return texts.claimed_reply(
        item.id,
        ctx.when(reply.at, reply.provisional),
        ctx.when(placeholder.at, placeholder.provisional),
    )


@router.command(
    "答复", ["item", "text"], "答复 <编号> <内容>", "提交答复稿，送处室负责人审核", ["clerk"]
)
def draft(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["claimed", "hard"])
    _require_department(ctx, item, clerk=True)
    item.state, item.draft, item.draft_by = "review", cmd.text, ctx.actor
    item.drafted_at, item.review_level = ctx.now, "dept_head"
    _log(ctx, item, "drafted", cmd.text)
    _ask_review(ctx, item)
    return texts.draft_reply(item.id, texts.LEVEL_LABELS["dept_head"])


def _ask_review(ctx: Ctx, item: Item) -> None:
    level = item.review_level or "dept_head"
    text = texts.review_request(
        item.id, item.town, item.draft or "", ctx.when(item.reply_due, item.provisional)
    )
    _notify_people(ctx, ctx.roster.people_for(level, item.department), text)


@router.command(
    "同意", ["item"], "同意 <编号>", "同意答复稿，发送给街镇", ["dept_head", "deputy", "director"]
)
def approve(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["review"])
    _require_review_level(ctx, item)
    if item.draft_by and item.draft_by == ctx.actor:
        raise CommandError(texts.own_draft(item.id))
    item.state, item.reply, item.replied_at = "answered", item.draft, ctx.now
    item.closed_at, item.review_level = ctx.now, None
    repo.cancel_timers(ctx.session, item, ["reply", "placeholder", "followup"])
    _log(ctx, item, "approved", item.draft or "")
    # "replied" is the sender's to record, once DingTalk took it (handlers.delivery)
    message = answer_town(ctx, item, "reply", item.reply or "")
    ctx.send(delivery.tracked(message, item, "reply", ctx.actor))
    return texts.approved_reply(item.id)


def _require_review_level(ctx: Ctx, item: Item) -> None:
    level = _level(ctx, item)
    if level < 0:
        raise CommandError(texts.not_your_department(item.id, item.department))
    needed = LEVELS.index(item.review_level or "dept_head")
    if level < needed:
        raise CommandError(texts.not_your_level(item.id, item.review_level or "dept_head"))


@router.command(
    "退改",
    ["item", "text"],
    "退改 <编号> <意见>",
    "退回答复稿修改",
    ["dept_head", "deputy", "director"],
)
def send_back(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["review"])
    _require_review_level(ctx, item)
    item.state, item.review_level = ("hard" if item.hard else "claimed"), None
    _log(ctx, item, "sent_back", cmd.text)
    clerks = [item.draft_by] if item.draft_by else ctx.roster.people_for("clerk", item.department)
    _notify_people(
        ctx, clerks, texts.returned_notice(item.id, ctx.roster.name(ctx.actor), cmd.text)
    )
    return texts.returned_reply(item.id)


@router.command("报分管", ["item"], "报分管 <编号>", "答复稿报分管局领导审核", ["dept_head"])
def to_deputy(ctx: Ctx, cmd: Command) -> str:
    return _pass_up(ctx, cmd, "deputy", "dept_head", head=True)


@router.command("集体研判", ["item"], "集体研判 <编号>", "报局主要领导集体研判", ["deputy"])
def to_director(ctx: Ctx, cmd: Command) -> str:
    return _pass_up(ctx, cmd, "director", "deputy", deputy=True)


def _pass_up(ctx: Ctx, cmd: Command, level: str, lowest: str, **who: bool) -> str:
    item = _item(ctx, cmd, ["review"])
    _require_department(ctx, item, **who)
    if LEVELS.index(item.review_level or "dept_head") > LEVELS.index(lowest):
        raise CommandError(texts.not_your_level(item.id, item.review_level or "dept_head"))
    item.review_level = level
    _log(ctx, item, "passed_up", level)
    _ask_review(ctx, item)
    return texts.passed_up_reply(item.id, texts.LEVEL_LABELS[level])


@router.command(
    "疑难",
    ["item", "text?"],
    "疑难 <编号> [原因]",
    "标记疑难件，自动先行回复街镇",
    ["dept_head", "deputy"],
)
def mark_hard(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["claimed", "review"])
    _require_department(ctx, item, head=True, deputy=True)
    if item.hard:
        raise CommandError(texts.already_hard(item.id))
    late = item.placeholder_due is not None and ctx.now > item.placeholder_due
    item.state, item.hard, item.hard_reason = "hard", True, cmd.text or None
    item.placeholder_at, item.review_level = ctx.now, None
    repo.cancel_timers(ctx.session, item, ["reply", "placeholder"])
    plan = clocks.followup(ctx.cal, ctx.roster.rules, ctx.now, 0)
    repo.add_timers(
        ctx.session, item, [(plan.clock, plan.kind, plan.step, plan.due_at, plan.fire_at)]
    )
    _log(ctx, item, "hard", cmd.text)
    message = answer_town(ctx, item, "placeholder", ctx.roster.rules.placeholder_text)
    ctx.send(delivery.tracked(message, item, "placeholder", ctx.actor))
    return texts.hard_reply(item.id, late)


@router.command(
    "已线下答复",
    ["item", "text?"],
    "已线下答复 <编号> [摘要]",
    "疑难件线下答复后办结",
    ["clerk", "dept_head"],
)
def offline(ctx: Ctx, cmd: Command) -> str:
    item = _item(ctx, cmd, ["hard"])
    _require_department(ctx, item, clerk=True, head=True)
    item.state, item.closed_at, item.replied_at = "offline", ctx.now, ctx.now
    item.reply = cmd.text or None
    repo.cancel_timers(ctx.session, item, ["followup"])
    _log(ctx, item, "offline_answered", cmd.text)
    return texts.offline_reply(item.id)


# --- everyone ------------------------------------------------------------------------------


@router.command("待办", [], "待办", "我需要办理的@件、填报、批示件和约谈，及时限")
def todo(ctx: Ctx, cmd: Command) -> str:
    roles = ctx.roles
    lines: list[str] = []
    session = ctx.session

    def add(item: Item, action: str, due: dt.datetime | None) -> None:
        lines.append(
            f"{texts.item_ref(item.id)} {item.town}·{action}，"
            f"时限{ctx.deadline(due, item.provisional)}"
        )

    if roles.has("office_admin"):
        for item in repo.open_items(session, ["new"]):
            add(item, "待甄别", item.triage_due)
    for dept in sorted(roles.clerk_of):
        for item in repo.open_items(session, ["assigned", "claimed", "hard"], dept):
            if item.state == "assigned":
                add(item, "待认领", item.claim_due)
            elif item.state == "claimed":
                add(item, "待答复", item.reply_due)
            else:
                lines.append(f"{texts.item_ref(item.id)} {item.town}·疑难件待线下答复")
    for item in repo.open_items(session, ["review"]):
        level = LEVELS.index(item.review_level or "dept_head")
        if _level(ctx, item) == level:
            add(item, "待审核", item.reply_due)
    lines += matters.todo_lines(ctx)
    if not lines:
        return texts.nothing_to_do()
    return "待办：\n" + "\n".join(lines)


def current_due(item: Item) -> tuple[str, dt.datetime | None]:
    """The clock an open item is on now, and its deadline (none for a hard case)."""
    if item.state == "new":
        return "triage", item.triage_due
    if item.state == "assigned":
        return "claim", item.claim_due
    if item.state in ("claimed", "review"):
        return "reply", item.reply_due
    return "", None


@router.command("查看", ["view"], "查看 <编号>", "查看@件或督办事项（督3）的详情和记录")
def show(ctx: Ctx, cmd: Command) -> str:
    if cmd.ref is not None:
        return matters.show_matter(ctx, cmd)
    item = _item(ctx, cmd)
    r = ctx.roster
    sending = delivery.status(ctx, item)
    lines = [
        f"{texts.item_ref(item.id)} {item.town}·{item.category}｜{texts.STATE_LABELS[item.state]}"
        + (f"｜{item.department}" if item.department else "")
        + (f"｜{sending}" if sending else ""),
        texts.excerpt(item.text, 200),
    ]
    if attached := intake.describe(ctx, item):
        lines.append(attached)
    clock, _ = current_due(item)
    for name, label, due in (
        ("triage", "甄别", item.triage_due),
        ("claim", "认领", item.claim_due),
        ("reply", "答复", item.reply_due),
    ):
        if due and item.state not in CLOSED:
            late = ctx.late(due) if name == clock else ""
            lines.append(
                f"{label}时限：{ctx.when(due, item.provisional)}" + (f"（{late}）" if late else "")
            )
    if item.draft and item.state == "review":
        level = texts.LEVEL_LABELS[item.review_level or "dept_head"]
        lines.append(f"答复稿（待{level}审核）：{texts.excerpt(item.draft, 200)}")
    if item.reply:
        lines.append(f"答复：{texts.excerpt(item.reply, 200)}")
    lines.append("记录：")
    for event in repo.events(ctx.session, item):
        who = event.actor
        who = "街镇" if who == "town" else ("系统" if who == "bot" else r.name(who))
        detail = (
            f" {texts.excerpt(event.detail, 40)}"
            if event.detail and event.action not in ("received", "drafted", "approved")
            else ""
        )
        lines.append(
            f"{ctx.when(event.at)} {who} {EVENT_LABELS.get(event.action, event.action)}{detail}"
        )
    return "\n".join(lines)


EVENT_LABELS = {
    "received": "@件收到",
    "registered": "登记",
    "assigned": "分派",
    "rejected": "退回",
    "reassigned": "改派",
    "claimed": "认领",
    "drafted": "提交答复稿",
    "passed_up": "报上级审核",
    "approved": "同意",
    "replied": "答复已发送",
    "reply_failed": "答复未送达",
    "reject_sent": "退回答复已发送",
    "reject_failed": "退回答复未送达",
    "resent": "重发",
    "sent_back": "退改",
    "hard": "标记疑难",
    "placeholder_sent": "先行回复已发送",
    "placeholder_failed": "先行回复未送达",
    "offline_answered": "已线下答复",
    "nagged": "提醒",
    "escalated": "超时督办",
}

LIST_ROLES = ["office_admin", "office_head", "dept_head", "deputy", "director"]


@router.command("列表", ["state?"], "列表 [状态]", "未办结的@件", LIST_ROLES)
def list_items(ctx: Ctx, cmd: Command) -> str:
    wanted = None
    if cmd.text:
        wanted = next(
            (s for s in texts.OPEN_STATES if cmd.text in (s, texts.STATE_LABELS[s])), None
        )
        if wanted is None:
            raise CommandError(
                texts.usage(f"列表 [{'/'.join(texts.STATE_LABELS[s] for s in texts.OPEN_STATES)}]")
            )
    items = repo.open_items(ctx.session, [wanted] if wanted else texts.OPEN_STATES)
    if not items:
        return texts.no_open_items(wanted)
    lines = []
    for i in items[:50]:
        late = ctx.late(current_due(i)[1])
        lines.append(
            f"{texts.item_ref(i.id)} {i.town}·{texts.STATE_LABELS[i.state]}"
            + (f"·{i.department}" if i.department else "")
            + (f"·{late}" if late else "")
        )
    more = f"\n……共{len(items)}件" if len(items) > 50 else ""
    return f"未办结@件（{len(items)}件）：\n" + "\n".join(lines) + more
