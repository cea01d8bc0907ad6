"""Sent means accepted (issue 8, item 3): the reply, the rejection and the placeholder to the
town are "sent" only once DingTalk took them; a refusal is shown on the item, told to whoever
caused it and to the office group, listed by 发送失败 and sent again by 重发.

The real commands, the real App (its outcome hook) and the real Sender, on both databases;
DingTalk is a stub transport here (tests/test_sender.py and tests/test_e2e.py run the same
paths against the local DingTalk)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import pytest
from conftest import DRAFT, PEOPLE, TOWN, TOWN_CID, WEBHOOK, World
from sqlalchemy import select

from bot.app import App, write_outbox
from bot.dingtalk.errors import PermanentSendError, SendError
from bot.dingtalk.transport import OtoResult
from config.roster import ROLE_NAMES
from handlers import texts
from handlers.context import Ctx
from handlers.dispatch import Outcome, run_command
from storage.models import OutboxMessage

PLACEHOLDER = "该政策咨询/问题已收到，经研判需集体讨论，我局将尽快在线下回复贵街道（镇）。"
NOT_IN_GROUP = (
    "OrgGroupSend: HTTP 400 robot.not.in.group: code: 400, robot not in group request id: r1"
)
NO_PERMISSION = (
    "session webhook: HTTP 403 Forbidden.AccessDenied.AccessTokenPermissionDenied: no permission"
)
_IDS = itertools.count(1)


class StubDingTalk:
    """Takes every message, except those for a refused chat (webhook, group or user)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (chat, text)
        self.refuse: dict[str, SendError] = {}

    def _take(self, chat: str, text: str) -> None:
        if chat in self.refuse:
            raise self.refuse[chat]
        self.sent.append((chat, text))

    async def send_session(
        self,
        webhook: str,
        text: str,
        *,
        title: str | None = None,
        at_user_ids: Sequence[str] = (),
        expires_at: dt.datetime | None = None,
    ) -> None:
        self._take(webhook, text)

    async def send_group(
        self, open_conversation_id: str, text: str, *, title: str | None = None
    ) -> None:
        self._take(open_conversation_id, text)

    async def send_oto(
        self, user_ids: Sequence[str], text: str, *, title: str | None = None
    ) -> OtoResult:
        for user in user_ids:
            self._take(user, text)
        return OtoResult()

    def to(self, chat: str) -> list[str]:
        return [text for where, text in self.sent if where == chat]


@pytest.fixture
def dingtalk() -> StubDingTalk:
    return StubDingTalk()


@pytest.fixture
def app(world: World, dingtalk: StubDingTalk) -> App:
    return App(
        world.roster,
        world.cal,
        world.db,
        dingtalk,
        clock=lambda: world.now,
        sender_clock=lambda: world.now,
    )


def say(world: World, who: str, text: str) -> Outcome:
    """A command as the app runs it: its messages go into the outbox."""
    with world.db.transaction() as session:
        ctx = Ctx(
            session,
            world.roster,
            world.cal,
            world.now,
            actor=PEOPLE.get(who, who),
            msg_id=f"delivery-{next(_IDS)}",
        )
        outcome = run_command(ctx, text)
        write_outbox(session, ctx.out, world.now)
    return outcome


def outbox(world: World) -> list[OutboxMessage]:
    with world.db.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def actions(world: World, n: int) -> list[str]:
    return [e.action for e in world.events(n)]


# (command, who, its immediate reply, purpose, the events it logs itself)
CAUSES = {
    "reply": ("review_head", "air_head", "同意 {n}", texts.approved_reply, ["approved"]),
    "reject": (
        "new",
        "office_admin",
        "退回 {n} 请向区建交委咨询",
        texts.rejected_reply,
        ["rejected"],
    ),
    "placeholder": (
        "claimed",
        "air_head",
        "疑难 {n} 涉及多个部门",
        lambda n: texts.hard_reply(n, False),
        ["hard"],
    ),
}
SENT = {"reply": "replied", "reject": "reject_sent", "placeholder": "placeholder_sent"}
FAILED = {"reply": "reply_failed", "reject": "reject_failed", "placeholder": "placeholder_failed"}


@pytest.mark.parametrize("purpose", list(CAUSES))
async def test_sent_only_once_dingtalk_took_it(
    world: World, app: App, dingtalk: StubDingTalk, purpose: str
) -> None:
    state, who, command, reply, logged = CAUSES[purpose]
    n = world.build(state)
    before = len(world.events(n))
    world.later(minutes=5)
    outcome = say(world, who, command.format(n=n))
    assert outcome.reply == reply(n)  # "being sent", not "sent"
    assert "正在发送" in outcome.reply or "正在自动答复" in outcome.reply
    assert actions(world, n)[before:] == logged  # nothing says "sent" yet
    shown = say(world, "office_admin", f"查看 {n}").reply
    assert shown.splitlines()[0].endswith(f"｜{texts.DELIVERY_LABELS[purpose]}发送中")

    await app.sender.send_due()

    assert actions(world, n)[before:] == [*logged, SENT[purpose]]
    actor = PEOPLE[who]
    assert dingtalk.to(actor) == [texts.delivered_notice(purpose, n, TOWN)]
    if purpose == "reply":  # the drafter hears it is done only now
        assert dingtalk.to(PEOPLE["air_clerk"]) == [texts.answered_notice(n, TOWN)]
    assert dingtalk.to("cid-office") == []
    shown = say(world, "office_admin", f"查看 {n}").reply
    assert "发送中" not in shown and "未送达" not in shown
    assert f"系统 {texts.ITEM_EVENTS[SENT[purpose]]}" in shown


@pytest.mark.parametrize(
    ("purpose", "error"),
    [("reply", NOT_IN_GROUP), ("reject", NO_PERMISSION), ("placeholder", NOT_IN_GROUP)],
    ids=["reply-400", "reject-403", "placeholder-400"],
)
async def test_refused_is_shown_told_and_resent(
    world: World, app: App, dingtalk: StubDingTalk, purpose: str, error: str
) -> None:
    state, who, command, _, logged = CAUSES[purpose]
    n = world.build(state)
    before = len(world.events(n))
    dingtalk.refuse[WEBHOOK] = PermanentSendError(error)
    say(world, who, command.format(n=n))
    await app.sender.send_due()

    # the item says what happened
    assert actions(world, n)[before:] == [*logged, FAILED[purpose]]
    label = texts.DELIVERY_LABELS[purpose]
    shown = say(world, "air_clerk", f"查看 {n}").reply
    assert shown.splitlines()[0].endswith(f"｜{label}未送达")
    assert f"系统 {label}未送达" in shown
    # the person who caused it and the office group are told at once, in Chinese, with the way out
    reason, advice = texts.send_failure(error)
    notice = texts.delivery_failed(purpose, n, TOWN, "川沙新镇直通车群", reason, advice)
    assert dingtalk.to(PEOPLE[who]) == [notice]
    assert dingtalk.to("cid-office") == [notice]
    assert f"重发 {n}" in notice
    if error == NOT_IN_GROUP:
        assert "机器人不在该群中" in notice and "加入该群" in notice
        assert "robot.not.in.group" in notice
    else:
        assert "HTTP 403" in notice and "没有发送权限" in notice
    if purpose == "reply":
        assert dingtalk.to(PEOPLE["air_clerk"]) == []  # not "done" for the drafter
    # the office sees it in 发送失败
    listed = say(world, "office_admin", "发送失败").reply.splitlines()
    assert listed[0] == texts.failed_title(1)
    assert f"#{n} {label}" in listed[1] and "川沙新镇直通车群" in listed[1]
    assert listed[1].endswith(f"处理后发送「重发 {n}」")

    # fixed: the office resends, the same message to the same chat
    del dingtalk.refuse[WEBHOOK]
    dingtalk.sent.clear()
    outcome = say(world, "office_admin", f"重发 {n}")
    assert outcome.reply == texts.resending_reply(n, [label])
    rows = [m for m in outbox(world) if m.item_id == n]
    assert [m.state for m in rows] == ["resent", "pending"]
    assert rows[1].text == rows[0].text and rows[1].webhook == WEBHOOK
    await app.sender.send_due()

    assert [text for chat, text in dingtalk.sent if chat == WEBHOOK] == [rows[0].text]
    assert actions(world, n)[-2:] == ["resent", SENT[purpose]]
    assert dingtalk.to(PEOPLE["office_admin"]) == [texts.delivered_notice(purpose, n, TOWN)]
    shown = say(world, "office_admin", f"查看 {n}").reply
    assert "未送达" not in shown.splitlines()[0]
    assert say(world, "office_admin", "发送失败").reply == texts.NO_FAILED
    again = say(world, "office_admin", f"重发 {n}")
    assert (again.ok, again.reply) == (False, texts.nothing_to_resend(n))


async def test_resend_is_for_the_office_only(
    world: World, app: App, dingtalk: StubDingTalk
) -> None:
    n = world.build("review_head")
    dingtalk.refuse[WEBHOOK] = PermanentSendError(NOT_IN_GROUP)
    say(world, "air_head", f"同意 {n}")
    await app.sender.send_due()
    for who in ("air_head", "air_clerk", "director"):
        outcome = say(world, who, f"重发 {n}")
        refusal = texts.not_allowed("重发", ROLE_NAMES["office_admin"])
        assert (outcome.ok, outcome.reply) == (False, refusal)
    outcome = say(world, "air_clerk", "发送失败")
    office = "、".join(ROLE_NAMES[r] for r in ("office_admin", "office_head"))
    assert outcome.reply == texts.not_allowed("发送失败", office)
    assert say(world, "office_head", "发送失败").reply.startswith(texts.failed_title(1))
    assert [m.state for m in outbox(world) if m.item_id == n] == ["failed"]


async def test_failed_messages_to_leaders_and_groups_are_listed(
    world: World, app: App, dingtalk: StubDingTalk
) -> None:
    n = world.build("claimed")
    dingtalk.refuse["u-air-head"] = PermanentSendError("BatchSendOTO: invalid userId u-air-head")
    dingtalk.refuse["cid-air"] = PermanentSendError(NOT_IN_GROUP)
    say(world, "air_clerk", f"答复 {n} {DRAFT}")  # asks the head to review, 1:1
    say(world, "office_admin", f"改派 {n} 水处")  # tells the air group it is gone
    await app.sender.send_due()
    listed = say(world, "office_admin", "发送失败").reply.splitlines()
    assert listed[0] == texts.failed_title(2)
    group, person = listed[1:]  # newest first
    assert "大气环境处群" in group and "机器人不在该群中" in group
    assert "单聊→赵处" in person and "找不到此人" in person
    assert "重发" not in group + person  # not an item's message to the town


async def test_the_outcome_is_recorded_once(world: World, app: App, dingtalk: StubDingTalk) -> None:
    n = world.build("review_head")
    say(world, "air_head", f"同意 {n}")
    await app.sender.send_due()
    await app.sender.send_due()
    assert actions(world, n).count("replied") == 1
    assert dingtalk.to(TOWN_CID) == []  # the webhook took it
    assert len([c for c, _ in dingtalk.sent if c == WEBHOOK]) == 1
