"""The sandbox: a local DingTalk, the real SDK and the bot in one process, on a clock you
move. ``python -m bot sandbox`` is its terminal; ``python -m bot demo`` plays a scripted day;
the end-to-end tests drive the same class."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bot.app import App
from bot.local_dingtalk import LocalDingTalk, OutboundMessage
from bot.sender import DingTalkTransport
from bot.stream import StreamRunner
from config.roster import Roster
from handlers.workcal import WorkCalendar
from storage.db import Database

CLIENT_ID = "dinglocalsandbox"
CLIENT_SECRET = "local-sandbox-secret"


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
    ) -> None:
        """``files_dir``: where pictures and files from towns are kept; None: a temporary
        directory, removed on exit."""
        self.roster, self.cal = roster, cal
        self._own_files = files_dir is None
        self.files_dir = files_dir or Path(tempfile.mkdtemp(prefix="dubanbot-sandbox-files-"))
        self.fetcher_options = fetcher_options
        self.clock = FakeClock(start)
        self.db = Database(db_url)
        self.db.create_schema()
        self.dingtalk = LocalDingTalk(CLIENT_ID, CLIENT_SECRET, clock=self.clock)
        self.sweep_every = sweep_every
        self.sender_options = sender_options
        self.app: App | None = None
        self.stream: StreamRunner | None = None
        self.transport: DingTalkTransport | None = None
        self.seen = 0
        self.chat: str | None = None  # the group a roster person speaks in; None: 1:1

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
        self.app = App(
            self.roster,
            self.cal,
            self.db,
            self.transport,
            clock=self.clock,
            sweep_every=self.sweep_every,
            sender_options=dict(self.sender_options or {}),
            files_dir=self.files_dir,
            fetcher_options=dict(self.fetcher_options or {}),
        )
        await self.app.start()
        self.stream = StreamRunner(
            CLIENT_ID,
            CLIENT_SECRET,
            self.dingtalk.endpoint,
            self.app.ingest,
            asyncio.get_running_loop(),
            sdk_log_level=logging.WARNING,
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
        self, user_id: str, text: str, *, group: str | None = None, msg_id: str | None = None
    ) -> list[OutboundMessage]:
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
        )
        return await self._settle(message_id)

    async def advance(self, delta: dt.timedelta) -> list[OutboundMessage]:
        """Move the clock, sweeping at every working-time step on the way."""
        assert self.app is not None
        end = self.clock.now + delta
        while self.clock.now < end:
            self.clock.advance(min(dt.timedelta(minutes=15), end - self.clock.now))
            await self.app.sweep_now()
        await self.app.flush()
        return self.new_messages()

    async def _settle(self, message_id: str) -> list[OutboundMessage]:
        assert self.app is not None
        await self.dingtalk.wait_ack(message_id, timeout=10)
        await self.app.flush()
        return self.new_messages()

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

    def render(self, message: OutboundMessage) -> str:
        body = message.text.replace("\n", "\n    ")
        if message.media is not None:  # a picture or file the bot uploaded and sent
            kind = "图片" if message.media.type == "image" else f"文件 {message.media.file_name}"
            body = f"[{kind}，{len(message.media.content)}字节]"
        return f"  [{self.where(message)}] {body}"


# --- the terminal ----------------------------------------------------------------------

HELP = """督办助手沙盒。直接输入文字即以当前身份发给机器人。
  /街镇 <街镇名>      以街镇身份在其直通车群@机器人
  /身份 <姓名或userId> 以名单中的人身份与机器人单聊
  /群 <群名>          当前身份改在某个群里@机器人（局办公室群、处室群）；/群 单聊 回到单聊
  /快进 <时长>        时钟前进，如 /快进 4h、/快进 30m、/快进 2d（到点的提醒和督办会发出）
  /时间               当前沙盒时间
  /名单               名单中的人
  /帮助  /退出"""

DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|分钟|h|小时|d|天)$")


def parse_duration(text: str) -> dt.timedelta | None:
    match = DURATION.match(text.strip())
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    minutes = (
        value * {"m": 1, "min": 1, "分钟": 1, "h": 60, "小时": 60, "d": 1440, "天": 1440}[unit]
    )
    return dt.timedelta(minutes=minutes)


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
        if command == "/快进":
            delta = parse_duration(arg)
            if delta is None:
                print("  时长如 30m、4h、2d")
                continue
            out = await sandbox.advance(delta)
        elif line.startswith("/"):
            print("  未知的沙盒命令，/帮助 查看")
            continue
        elif speaker[0] == "town":
            out = await sandbox.town_says(speaker[1], line)
        else:
            out = await sandbox.person_says(speaker[1], line)
        for message in out:
            print(sandbox.render(message))
        sys.stdout.flush()
