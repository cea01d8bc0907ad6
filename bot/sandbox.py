"""The sandbox: a local DingTalk, the real SDK and the bot in one process, on a clock you
move. ``python -m bot sandbox`` is its terminal; ``python -m bot demo`` plays a scripted day;
the end-to-end tests drive the same class.

Everything runs on the sandbox clock, the sender's retries and DingTalk's group limit (20 a
minute) included: a message they hold back moves the clock to when it may go (:meth:`settle`),
so nothing waits in real time for a clock that only moves when told to."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

from sqlalchemy import func, select

from bot.app import App
from bot.dingtalk.client import DingTalkTransport
from bot.local_dingtalk import LocalDingTalk, OutboundMessage
from bot.logs import REDACTOR
from bot.stream import SILENCE, StreamRunner
from config.hours import CalendarError
from config.roster import Roster
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Attachment, InboxMessage, OutboxMessage

CLIENT_ID = "dinglocalsandbox"
CLIENT_SECRET = "local-sandbox-secret"
STEP = dt.timedelta(minutes=15)  # the sweeper's beat while the clock is moved
MAX_ADVANCE = dt.timedelta(days=366)  # one /快进 at most
LAST_YEAR = dt.MAXYEAR - 1  # the bot reads the calendar a year ahead of its clock
# A row being sent is leased until now + LEASE; one held back (rate limit, retry back-off)
# waits at most HOLD. The clock only moves when told, so the lease never runs out by itself.
LEASE = dt.timedelta(days=3650)
HOLD = dt.timedelta(days=1)


LINK = re.compile(r"\[([^\]]+)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)\s]*)\)")


@dataclass(frozen=True)
class Choice:
    """A link or a card's button in a message shown: ``/点 N`` taps the N-th."""

    label: str
    command: str
    card: str | None = None  # the card's outTrackId; None: a dtmd link
    reader: str | None = None  # who received the message (a 1:1 chat)


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        if start.utcoffset() is None:
            raise ValueError("the clock needs an aware start")
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


class Sandbox:
    def __init__(
        self,
        roster: Roster,
        cal: WorkCalendar,
        *,
        db_url: str,
        start: dt.datetime,
        sweep_every: float = 3600.0,
        sender_options: dict[str, object] | None = None,
        files_dir: Path | None = None,
        fetcher_options: dict[str, object] | None = None,
        local_dingtalk: type[LocalDingTalk] = LocalDingTalk,
        card_template_id: str = "",
        stream_silence: float = SILENCE,
    ) -> None:
        """``files_dir``: where pictures and files from towns are kept; None: a temporary
        directory, removed on exit. ``local_dingtalk``: the local DingTalk's class (tests
        pass one that injects faults). ``stream_silence``: the stream watchdog's
        BOT_STREAM_SILENCE_SECONDS."""
        self.roster, self.cal = roster, cal
        self._own_files = files_dir is None
        self.files_dir = files_dir or Path(tempfile.mkdtemp(prefix="dubanbot-sandbox-files-"))
        self.fetcher_options = fetcher_options
        self.card_template_id = card_template_id  # messages with actions go as cards
        self.clock = FakeClock(start)
        self.db = Database(db_url)
        self.db.create_schema()
        self.dingtalk = local_dingtalk(CLIENT_ID, CLIENT_SECRET, clock=self.clock)
        self.sweep_every = sweep_every
        self.sender_options = sender_options
        self.stream_silence = stream_silence
        self.app: App | None = None
        self.stream: StreamRunner | None = None
        self.transport: DingTalkTransport | None = None
        self.seen = 0
        self.chat: str | None = None  # the group a roster person speaks in; None: 1:1
        # (from, to) of every time settle() moved the clock for a held-back message
        self.waits: list[tuple[dt.datetime, dt.datetime]] = []
        self.sent_at: dict[int, dt.datetime] = {}  # a fast-forward: when each message went
        self.choices: list[Choice] = []  # the links and buttons of the messages shown last

    async def __aenter__(self) -> Self:
        await self.dingtalk.start()
        # The local DingTalk runs on the sandbox clock: so do webhook and token expiries.
        self.transport = DingTalkTransport(
            CLIENT_ID,
            CLIENT_SECRET,
            CLIENT_ID,
            self.dingtalk.endpoint,
            oapi_endpoint=self.dingtalk.endpoint,
            clock=self.clock,
        )
        REDACTOR.add_secret(CLIENT_SECRET)
        REDACTOR.add_source(self.transport.current_token)
        self.app = App(
            self.roster,
            self.cal,
            self.db,
            self.transport,
            clock=self.clock,
            sender_clock=self.clock,
            sweep_every=self.sweep_every,
            timed=False,  # the clock moves when told: advance() sweeps on the way
            sender_options={"lease": LEASE.total_seconds(), **(self.sender_options or {})},
            files_dir=self.files_dir,
            fetcher_options={"lease": LEASE.total_seconds(), **(self.fetcher_options or {})},
            card_template_id=self.card_template_id,
        )
        await self.app.start()
        self.stream = StreamRunner(
            CLIENT_ID,
            CLIENT_SECRET,
            self.dingtalk.endpoint,
            self.app.ingest,
            asyncio.get_running_loop(),
            sdk_log_level=logging.WARNING,
            on_card=self.app.tap,
            silence=self.stream_silence,
        )
        self.stream.start()
        await self.dingtalk.wait_connected(timeout=10)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.stream is not None:
            await asyncio.to_thread(self.stream.stop)
        if self.app is not None:
            await self.app.stop()
        if self.transport is not None:
            await self.transport.aclose()
        await self.dingtalk.stop()
        self.db.dispose()
        if self._own_files:
            shutil.rmtree(self.files_dir, ignore_errors=True)

    # -- speaking --

    async def town_says(
        self,
        town: str,
        text: str,
        *,
        nick: str = "",
        staff_id: str | None = None,
        msg_id: str | None = None,
        msgtype: str = "text",
        content: Mapping[str, Any] | None = None,
    ) -> list[OutboundMessage]:
        """A town's @ in its 直通车 group: ``text``, or a picture, file, rich text, audio or
        video by ``msgtype`` and ``content`` (see LocalDingTalk.push_bot_message)."""
        found = self.roster.town(town)
        if found is None:
            raise ValueError(f"no town {town!r} in the roster")
        message_id = await self.dingtalk.push_bot_message(
            text,
            sender_staff_id=staff_id,
            sender_nick=nick or f"{found.name}联络员",
            conversation_type="2",
            conversation_id=found.conversations[0],
            conversation_title=f"{found.name}街镇直通车",
            msg_id=msg_id,
            msgtype=msgtype,
            content=content,
        )
        return await self._settle(message_id)

    async def person_says(
        self,
        user_id: str,
        text: str,
        *,
        group: str | None = None,
        msg_id: str | None = None,
        msgtype: str = "text",
        content: Mapping[str, Any] | None = None,
    ) -> list[OutboundMessage]:
        """A roster person's message to the robot (1:1, or ``group``): ``text``, or a picture
        or file by ``msgtype`` and ``content`` (see LocalDingTalk.push_bot_message)."""
        person = self.roster.people.get(user_id)
        if person is None:
            raise ValueError(f"no person {user_id!r} in the roster")
        group = group or self.chat
        message_id = await self.dingtalk.push_bot_message(
            text,
            sender_staff_id=user_id,
            sender_nick=person.name,
            conversation_type="2" if group else "1",
            conversation_id=group,
            msg_id=msg_id,
            msgtype=msgtype,
            content=content,
        )
        return await self._settle(message_id)

    async def advance(self, delta: dt.timedelta) -> list[OutboundMessage]:
        """Move the clock, sweeping every 15 minutes of working time on the way (reminders
        only go in working time: the rest is crossed in one step). At most MAX_ADVANCE;
        ValueError when the clock would leave the calendar."""
        assert self.app is not None
        if delta > MAX_ADVANCE:
            raise ValueError(f"at most {MAX_ADVANCE.days} days at a time")
        try:
            end = self.clock.now + delta
            self.cal.next_working_moment(end)  # the calendar reaches that far
        except (OverflowError, CalendarError):
            end = dt.datetime.max.replace(tzinfo=dt.UTC)
        if end.astimezone(self.cal.tz).year > LAST_YEAR:  # the bot looks a year ahead
            raise ValueError(f"the clock would leave the calendar (the end of {LAST_YEAR})")
        out: list[OutboundMessage] = []
        while self.clock.now < end:
            now = self.clock.now
            step = now + STEP
            if not self.cal.is_working_time(now):
                step = max(step, self.cal.next_working_moment(now))
            self.clock.now = min(step, end)
            if await self.app.sweep_now():
                await self.settle()
                out += self._stamped(self.new_messages())  # step by step, in time order
        await self.settle()
        return out + self._stamped(self.new_messages())

    def _stamped(self, messages: list[OutboundMessage]) -> list[OutboundMessage]:
        """In order, each noted with the sandbox time it went out at (see ``sent_at``)."""
        for message in messages:
            self.sent_at[message.seq] = self.clock.now
        return self.in_order(messages)

    async def _settle(self, message_id: str) -> list[OutboundMessage]:
        await self.dingtalk.wait_ack(message_id, timeout=10)
        await self.settle()
        return self.in_order(self.new_messages())

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every incoming message is handled and every outgoing one has gone. When
        all that is left waits on the clock (DingTalk's group limit, a retry), the clock moves
        to when the first may go, and the move is kept in ``waits``."""
        assert self.app is not None
        async with asyncio.timeout(timeout):
            while True:
                inbox, heads = await asyncio.to_thread(self._pending)
                if not inbox and not heads:
                    return
                now = self.clock.now
                if not inbox and all(now < at <= now + HOLD for at in heads):
                    self.waits.append((now, min(heads)))
                    self.clock.now = min(heads)
                self.app.wake()
                await asyncio.sleep(0.005)

    def _pending(self) -> tuple[int, list[dt.datetime]]:
        """Unhandled incoming messages, and when each chat's first unsent message, and each
        picture or file still to fetch, is due (a fetch under way: far ahead, its lease)."""
        heads = (
            select(func.min(OutboxMessage.id))
            .where(OutboxMessage.state == "pending")
            .group_by(OutboxMessage.channel, OutboxMessage.target)
        )
        with self.db.sessions() as session:
            inbox = session.scalar(
                select(func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.processed_at.is_(None))
            )
            due = session.scalars(
                select(OutboxMessage.next_attempt_at).where(OutboxMessage.id.in_(heads))
            ).all()
            fetching = session.scalars(
                select(Attachment.next_attempt_at).where(Attachment.state == "pending")
            ).all()
        now = self.clock.now
        return inbox or 0, [*due, *(at or now for at in fetching)]

    def new_messages(self) -> list[OutboundMessage]:
        sent = self.dingtalk.sent
        fresh, self.seen = sent[self.seen :], len(sent)
        return list(fresh)

    # -- showing --

    def group_by_name(self, name: str) -> str | None:
        if name in ("局办公室群", "办公室群", "办公室"):
            return self.roster.office.group
        dept = self.roster.department(name.removesuffix("群"))
        return dept.group if dept else None

    def where_group(self, cid: str) -> str:
        if cid == self.roster.office.group:
            return "局办公室群"
        dept = next((d for d in self.roster.data.departments if d.group == cid), None)
        return f"{dept.name}群" if dept else cid

    def where(self, message: OutboundMessage) -> str:
        target = message.target
        if message.channel == "oto":
            users = target if isinstance(target, tuple) else (target,)
            return "单聊→" + "、".join(self.roster.name(u) for u in users)
        cid = target if isinstance(target, str) else ""
        town = self.roster.towns_by_conversation.get(cid)
        if town:
            return f"{town.name}直通车群"
        if cid == self.roster.office.group:
            return "局办公室群"
        for dept in self.roster.data.departments:
            if cid == dept.group:
                return f"{dept.name}群"
        if cid.startswith("cidlocal1to1"):
            return "单聊→" + self.roster.name(cid.removeprefix("cidlocal1to1").removesuffix("=="))
        return cid

    def render(self, message: OutboundMessage, links: bool = True) -> str:
        """A message as the transcript shows it: a link as its label in 〔〕 (or left out, when
        the terminal numbers the links below it), no blank markdown paragraphs."""
        text = LINK.sub(lambda m: f"〔{m.group(1)}〕" if links else "", message.text)
        body = "\n".join(line.rstrip() for line in text.splitlines() if line.strip())
        body = body.replace("\n", "\n    ")
        if message.media is not None:  # a picture or file the bot uploaded and sent
            kind = "图片" if message.media.type == "image" else f"文件 {message.media.file_name}"
            body = f"[{kind}，{len(message.media.content)}字节]"
        return f"  [{self.where(message)}] {body}"

    def actions_of(self, message: OutboundMessage) -> list[Choice]:
        """A message's links, or its card's buttons as its reader sees them now."""
        reader = None
        if message.channel == "oto" and isinstance(message.target, tuple) and message.target:
            reader = message.target[0]
        if message.msg_key == "interactiveCard":
            track = str(message.payload.get("outTrackId") or "")
            card = self.dingtalk.card(track)
            if card is None:
                return []
            try:
                buttons = json.loads(card.view(reader).get("actions") or "[]")
            except ValueError:
                return []
            return [
                Choice(str(b.get("label", "")), str(b.get("command", "")), track, reader)
                for b in buttons
                if isinstance(b, dict)
            ]
        return [
            Choice(label, unquote(content), None, reader)
            for label, content in LINK.findall(message.text)
        ]

    def show(self, messages: list[OutboundMessage]) -> list[str]:
        """The messages as the terminal prints them, each with its links and buttons numbered
        (``[1] 认领 #12  [2] 查看 #12``), numbered on from the choices already shown; they
        are added to the choices of ``/点``."""
        lines = []
        for message in messages:
            lines.append(self.render(message, links=False))
            numbered = []
            for choice in self.actions_of(message):
                self.choices.append(choice)
                numbered.append(f"[{len(self.choices)}] {choice.label}")
            if message.msg_key == "interactiveCard":
                card = self.dingtalk.card(str(message.payload.get("outTrackId") or ""))
                status = card.view(self.actions_reader(message)).get("status") if card else ""
                if status:
                    lines.append(f"    （{status}）")
            if numbered:
                lines.append("    " + "  ".join(numbered))
        return lines

    @staticmethod
    def actions_reader(message: OutboundMessage) -> str | None:
        target = message.target
        return target[0] if message.channel == "oto" and isinstance(target, tuple) else None

    async def tap(self, number: int, user_id: str) -> list[OutboundMessage]:
        """``user_id`` taps choice ``number`` (from 1): a link sends its text into the chat as
        them, a card's button calls back. ValueError when there is no such choice."""
        if not 1 <= number <= len(self.choices):
            raise ValueError(f"没有第{number}个选项")
        choice = self.choices[number - 1]
        if choice.card is None:  # links are in 1:1 messages: the tap speaks in the 1:1 chat
            chat, self.chat = self.chat, None
            try:
                return await self.person_says(user_id, choice.command)
            finally:
                self.chat = chat
        message_id = self.dingtalk.gateway.new_message_id()
        await self.dingtalk.push_card_callback(
            choice.card, user_id, {"command": choice.command}, message_id=message_id
        )
        await self.settle()
        return self.in_order(self.new_messages())

    def in_order(self, messages: list[OutboundMessage]) -> list[OutboundMessage]:
        """The same messages in an order that does not depend on which chat's sending
        finished first: the answer in the chat spoken in, then towns' groups, the office
        group, departments' groups and 1:1 chats in roster order; each chat in its own order."""
        groups = [self.roster.office.group] + [d.group for d in self.roster.data.departments]
        people = [p.id for p in self.roster.data.people]

        def rank(message: OutboundMessage) -> tuple[int, int, str]:
            target = message.target
            if message.channel == "session":
                return (0, 0, "")
            if message.channel == "oto":
                user = target[0] if isinstance(target, tuple) and target else str(target)
                return (3, people.index(user) if user in people else len(people), user)
            cid = str(target)
            if cid in self.roster.towns_by_conversation:
                return (1, 0, cid)
            return (2, groups.index(cid) if cid in groups else len(groups), cid)

        return sorted(messages, key=rank)  # stable: a chat keeps its own order


# --- the terminal ----------------------------------------------------------------------

HELP = """督办助手沙盒。直接输入文字即以当前身份发给机器人。
  /街镇 <街镇名>      以街镇身份在其直通车群@机器人
  /身份 <姓名或userId> 以名单中的人身份与机器人单聊
  /群 <群名>          当前身份改在某个群里@机器人（局办公室群、处室群）；/群 单聊 回到单聊
  /点 <编号>          点消息下方的链接或卡片按钮，如 /点 1
  /快进 <时长>        时钟前进，如 /快进 4h、/快进 30m、/快进 2d（到点的提醒和督办会发出）
  /时间               当前沙盒时间
  /名单               名单中的人
  /帮助  /退出"""

DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|分钟|h|小时|d|天)$")
TOO_LONG = f"  一次最多快进{MAX_ADVANCE.days}天，可以分几次快进"


def parse_duration(text: str) -> dt.timedelta | None:
    """``30m``, ``4h``, ``2d`` as a duration; None when not one. Longer than MAX_ADVANCE
    comes back as MAX_ADVANCE plus a minute (the caller refuses it)."""
    match = DURATION.match(text.strip())
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    minutes = (
        value * {"m": 1, "min": 1, "分钟": 1, "h": 60, "小时": 60, "d": 1440, "天": 1440}[unit]
    )
    limit = MAX_ADVANCE.total_seconds() / 60
    return dt.timedelta(minutes=min(minutes, limit + 1))


async def terminal(sandbox: Sandbox) -> None:
    roster = sandbox.roster
    speaker: tuple[str, str] = (
        ("town", roster.data.towns[0].name)
        if roster.data.towns
        else ("person", roster.office.admins[0])
    )
    print(HELP)

    def label() -> str:
        kind, who = speaker
        place = (
            "" if kind == "town" or not sandbox.chat else f"@{sandbox.where_group(sandbox.chat)}"
        )
        return (f"{who}" if kind == "town" else roster.name(who)) + place

    while True:
        now = sandbox.clock.now.astimezone(sandbox.cal.tz)
        try:
            line = await asyncio.to_thread(input, f"[{now:%m-%d %H:%M} {label()}]> ")
        except EOFError:
            return
        line = line.strip()
        if not line:
            continue
        out: list[OutboundMessage] = []
        if line in ("/退出", "/quit", "/exit"):
            return
        if line in ("/帮助", "/help"):
            print(HELP)
            continue
        if line == "/时间":
            working = "工作时间" if sandbox.cal.is_working_time(now) else "非工作时间"
            print(f"  {now:%Y-%m-%d %H:%M} ({working})")
            continue
        if line == "/名单":
            for person in roster.data.people:
                roles = "、".join(sorted(roster.roles_of(person.id).roles))
                print(f"  {person.name} ({person.id}) {roles}")
            continue
        command, _, arg = line.partition(" ")
        arg = arg.strip()
        if command == "/街镇":
            if roster.town(arg) is None:
                print(f"  没有街镇「{arg}」：" + "、".join(t.name for t in roster.data.towns))
            else:
                speaker = ("town", roster.town(arg).name)  # type: ignore[union-attr]
            continue
        if command == "/身份":
            found = next((p.id for p in roster.data.people if arg in (p.id, p.name)), None)
            if found is None:
                print("  名单中没有此人，/名单 查看")
            else:
                speaker, sandbox.chat = ("person", found), None
            continue
        if command == "/群":
            sandbox.chat = None if arg in ("单聊", "") else sandbox.group_by_name(arg)
            if arg not in ("单聊", "") and sandbox.chat is None:
                print("  没有这个群：局办公室群，或处室名")
            continue
        waits = len(sandbox.waits)
        try:
            if command == "/快进":
                delta = parse_duration(arg)
                if delta is None:
                    print("  时长如 30m、4h、2d")
                    continue
                if delta > MAX_ADVANCE:
                    print(TOO_LONG)
                    continue
                if delta > dt.timedelta(days=30):
                    print("  快进中（每个月约一秒）…")
                    sys.stdout.flush()
                out = await sandbox.advance(delta)
            elif command == "/点":
                if speaker[0] != "person":
                    print("  先用 /身份 换成名单中的人")
                    continue
                if not arg.isdigit():
                    print("  用法：/点 1")
                    continue
                out = await sandbox.tap(int(arg), speaker[1])
                tapped = sandbox.choices[int(arg) - 1]
                if tapped.card is not None:
                    card = sandbox.dingtalk.card(tapped.card)
                    status = card.view(speaker[1]).get("status") if card else ""
                    print(f"  （卡片：{status or '没有变化'}）")
            elif line.startswith("/"):
                print("  未知的沙盒命令，/帮助 查看")
                continue
            elif speaker[0] == "town":
                out = await sandbox.town_says(speaker[1], line)
            else:
                out = await sandbox.person_says(speaker[1], line)
        except ValueError as exc:
            if str(LAST_YEAR) in str(exc):
                print(f"  沙盒时钟不能超过{LAST_YEAR}年底")
            else:
                print(f"  做不到：{exc}")
            continue
        except TimeoutError:
            out = sandbox.new_messages()
            print("  （还有消息10秒内没有发出，之后会补上；可以继续输入）")
        except Exception as exc:  # the terminal stays up whatever happens
            logging.getLogger(__name__).debug("sandbox", exc_info=True)
            print(f"  沙盒出错（{type(exc).__name__}: {exc}），可以继续输入")
            continue
        shown: dt.datetime | None = None
        if out:
            sandbox.choices = []
        for message in out:
            at = sandbox.sent_at.get(message.seq) if line.startswith("/快进") else None
            if at is not None and at != shown:  # a fast-forward: when each message went
                print(f"  {at.astimezone(sandbox.cal.tz):%m-%d %H:%M}")
                shown = at
            for text in sandbox.show([message]):
                print(text)
        for _, until in sandbox.waits[waits:]:
            local = until.astimezone(sandbox.cal.tz)
            print(f"  （钉钉限流或重试：沙盒时钟走到{local:%m-%d %H:%M:%S}才发出）")
        sys.stdout.flush()
