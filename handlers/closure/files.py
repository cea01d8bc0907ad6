"""Files a department sends the bot for a 攻坚 matter's 销项: the 解决方案 and the stamped
意见征询表 (attachment 4).

In a 1:1 chat a roster person sends ``附件 督3`` then the file, or the file and then the matter
(``督3``) in the next message. A file is recorded at once (an attachment of no item; of the
matter once it is named) and fetched from DingTalk by bot/files.py, which calls
:func:`settled`. What a file is comes from the command (``附件 督3 解决方案``), else its name
(方案 / 征询), else it is the one of the two still missing; else the bot asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select

from handlers import texts
from handlers.closure.flow import PURPOSES, files_of, missing, needs_report, try_finish
from handlers.context import CommandError, Ctx
from handlers.effects import to_user
from handlers.matters.base import ensure_open, label, log, require_dept
from handlers.pending import TTL, Turn, expect, pop
from storage.models import Attachment, Matter

SENDERS = frozenset({"clerk", "dept_head", "office_admin"})  # who may send 销项 files
COMMAND = "附件"
_HINTS = (("征询", "意见征询表"), ("盖章", "意见征询表"), ("方案", "解决方案"))


class Received(Protocol):
    """A picture or file in an incoming message (bot.incoming's Attached)."""

    @property
    def kind(self) -> str: ...
    @property
    def download_code(self) -> str: ...
    @property
    def file_name(self) -> str: ...


def guess(file_name: str) -> str | None:
    return next((purpose for hint, purpose in _HINTS if hint in file_name), None)


def receive(ctx: Ctx, chat: str, attached: Sequence[Received]) -> Turn:
    """Files ``ctx.actor`` sent in their 1:1 chat ``chat``: recorded, then placed by the
    waiting ``附件 督N`` (the command to run), or the bot asks which matter."""
    waiting = pop(ctx, chat)
    if not ctx.roles.roles & SENDERS:
        return Turn(reply=texts.FILES_NOT_TAKEN)
    for seq, one in enumerate(attached, 1):
        ctx.session.add(
            Attachment(
                item_id=None,
                matter_id=None,
                seq=seq,
                kind=one.kind,
                download_code=one.download_code,
                file_name=one.file_name[:255],
                state="pending",
                attempts=0,
                next_attempt_at=None,
                sent_by=ctx.actor,
                sent_at=ctx.now,
            )
        )
    ctx.session.flush()
    if waiting is not None and waiting.command.startswith(COMMAND + " "):
        return Turn(command=waiting.command)
    ctx.chat = chat
    expect(ctx, COMMAND)
    names = [one.file_name or texts.PICTURE_WORD for one in attached]
    return Turn(reply=texts.attach_which_matter(names))


def _unplaced(ctx: Ctx) -> list[Attachment]:
    """The actor's files of no matter yet, sent within the wait, locked (see settled)."""
    return list(
        ctx.session.scalars(
            select(Attachment)
            .where(
                Attachment.item_id.is_(None),
                Attachment.matter_id.is_(None),
                Attachment.sent_by == ctx.actor,
                Attachment.sent_at >= ctx.now - TTL,
                Attachment.state != "failed",
            )
            .order_by(Attachment.id)
            .with_for_update()
        )
    )


def attach(ctx: Ctx, matter: Matter, purpose: str | None) -> str:
    """附件 督N [解决方案/意见征询表]: place the files just sent, say what a file is, or wait
    for the file."""
    if not needs_report(matter):
        raise CommandError(texts.closure_only_tackle(label(matter)))
    ensure_open(ctx, matter)
    if not ctx.roles.has("office_admin"):
        require_dept(ctx, matter)
    before = {f.id: f.purpose for f in files_of(ctx, matter)}
    unplaced = _unplaced(ctx)
    if unplaced:
        ctx.session.refresh(matter, with_for_update=True)  # files first, then the matter
        for one in unplaced:
            one.matter_id = matter.id
            if purpose and len(unplaced) == 1:
                one.purpose = purpose
            name = one.file_name or texts.PICTURE_WORD
            log(ctx.session, matter, ctx.now, ctx.actor, "closure_file", name)
        ctx.session.flush()
        return _resolve(ctx, matter, before)
    unknown = [f for f in files_of(ctx, matter) if f.purpose is None]
    if purpose and unknown:
        unknown[0].purpose = purpose
        ctx.session.flush()
        return _resolve(ctx, matter, before)
    command = f"{COMMAND} 督{matter.id}" + (f" {purpose}" if purpose else "")
    if not expect(ctx, command):
        return texts.attach_in_chat(command)
    return texts.attach_send_file(label(matter), purpose)


def _resolve(ctx: Ctx, matter: Matter, before: dict[int, str | None]) -> str:
    """Name what each of the matter's files is when the command, its name or what is missing
    tells; ask about the first one that stays unclear; close the matter when all is there."""
    files = files_of(ctx, matter)
    for one in files:
        if one.purpose is None:
            one.purpose = guess(one.file_name)
    unknown = [f for f in files if f.purpose is None]
    absent = [p for p in PURPOSES if not any(f.purpose == p for f in files)]
    if len(unknown) == 1 and len(absent) == 1:
        unknown[0].purpose, unknown = absent[0], []
    for one in files:
        if one.purpose is not None and before.get(one.id) != one.purpose:
            name = one.file_name or texts.PICTURE_WORD
            log(ctx.session, matter, ctx.now, ctx.actor, "closure_file", f"{name}：{one.purpose}")
    ctx.session.flush()
    if unknown:
        expect(ctx, f"{COMMAND} 督{matter.id}")
        return texts.attach_which_purpose(label(matter), unknown[0].file_name, bool(ctx.chat))
    if try_finish(ctx, matter):
        return texts.closure_closed(label(matter))
    return texts.attach_kept(
        label(matter), [(f.purpose or "", f.file_name) for f in files], missing(ctx, matter)
    )


def settled(ctx: Ctx, attachment: Attachment) -> None:
    """A matter's file was stored or given up (the caller holds its row): a given-up file is
    told to its sender; a stored one may complete the report."""
    name = attachment.file_name or texts.PICTURE_WORD
    if attachment.state == "failed":
        if attachment.sent_by:
            ctx.send(to_user(attachment.sent_by, texts.attach_failed(name)))
        return
    if attachment.matter_id is None:
        return
    matter = ctx.session.get(Matter, attachment.matter_id, with_for_update=True)
    if matter is not None and try_finish(ctx, matter) and attachment.sent_by:
        ctx.send(to_user(attachment.sent_by, texts.closure_closed(label(matter))))
