"""Views of @件: the person's @件 for 待办, one @件 in full (查看 N), 列表."""

from __future__ import annotations

import datetime as dt

from handlers import taps, texts
from handlers.args import StateArg
from handlers.commands import LEADERS, Command, Registry
from handlers.context import Ctx
from handlers.items import delivery, intake
from handlers.items.common import LEVELS, find_item, review_level
from handlers.items.states import CLOSED, OPEN, ItemState
from handlers.taps import Taps
from storage import repo
from storage.models import Item

router = Registry()


def todo_lines(ctx: Ctx) -> list[tuple[str, Taps]]:
    """The person's @件 for 待办: to triage, claim, answer, review or answer offline, each
    with its actions."""
    roles = ctx.roles
    lines: list[tuple[str, Taps]] = []
    session = ctx.session

    def add(item: Item, action: str, due: dt.datetime | None, acts: Taps) -> None:
        lines.append(
            (
                f"{texts.item_ref(item.id)} {item.town}·{action}，"
                f"时限{ctx.deadline(due, item.provisional)}",
                acts,
            )
        )

    if roles.has("office_admin"):
        for item in repo.open_items(session, [ItemState.NEW.value]):
            add(item, "待甄别", item.triage_due, taps.triage(item.id))
    for dept in sorted(roles.clerk_of):
        for item in repo.open_items(
            session, [ItemState.ASSIGNED.value, ItemState.CLAIMED.value, ItemState.HARD.value], dept
        ):
            if item.state == ItemState.ASSIGNED:
                add(item, "待认领", item.claim_due, taps.claim(item.id))
            elif item.state == ItemState.CLAIMED:
                add(item, "待答复", item.reply_due, taps.reply(item.id))
            else:
                line = f"{texts.item_ref(item.id)} {item.town}·疑难件待线下答复"
                lines.append((line, taps.offline(item.id)))
    for item in repo.open_items(session, [ItemState.REVIEW.value]):
        level = LEVELS.index(item.review_level or "dept_head")
        if review_level(ctx, item) == level:
            acts = taps.review(item.id, item.review_level or "dept_head")
            add(item, "待审核", item.reply_due, acts)
    return lines


def current_due(item: Item) -> tuple[str, dt.datetime | None]:
    """The clock an open item is on now, and its deadline (none for a hard case)."""
    if item.state == ItemState.NEW:
        return "triage", item.triage_due
    if item.state == ItemState.ASSIGNED:
        return "claim", item.claim_due
    if item.state in (ItemState.CLAIMED, ItemState.REVIEW):
        return "reply", item.reply_due
    return "", None


def show_item(ctx: Ctx, cmd: Command) -> str:
    """查看 N: one @件 in full, with its record."""
    item = find_item(ctx, cmd)
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
    if item.draft and item.state == ItemState.REVIEW:
        level = texts.LEVEL_LABELS[item.review_level or "dept_head"]
        lines.append(f"答复稿（待{level}审核）：{texts.excerpt(item.draft, 200)}")
    if item.reply:
        lines.append(f"答复：{texts.excerpt(item.reply, 200)}")
    lines.append("记录：")
    for event in repo.events(ctx.session, item):
        who = event.actor
        who = "街镇" if who == "town" else ("系统" if who == "bot" else r.name(who))
        shown = texts.event_detail(event.action, event.detail)
        detail = texts.excerpt(shown, 40) if shown else ""
        detail = detail if detail.startswith("（") or not detail else f" {detail}"
        action = texts.ITEM_EVENTS.get(event.action, event.action)
        lines.append(f"{ctx.when(event.at)} {who} {action}{detail}")
    return "\n".join(lines)


@router.command("列表", [StateArg()], "未办结的@件", LEADERS)
def list_items(ctx: Ctx, state: ItemState | None) -> str:
    wanted = state
    items = repo.open_items(ctx.session, [wanted.value] if wanted else [s.value for s in OPEN])
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
