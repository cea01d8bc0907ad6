"""What a town's @ carries besides its words: pictures and files.

They are recorded with the item, pending; bot/files.py fetches each from DingTalk and keeps it
under BOT_FILES_DIR, then calls :func:`settled`. Once none of an item's attachments is
pending, they are forwarded, after one line naming the item, to the office group and to the
department the item is assigned to (or, when it is assigned later, with the assignment).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from handlers import texts
from handlers.context import Ctx
from handlers.effects import Outgoing, to_group
from handlers.items.states import ItemState
from storage.models import Attachment, Item

Kind = Literal["picture", "file"]
_MENTION = re.compile(r"@\S+")


@dataclass(frozen=True)
class Attached:
    """A picture or file in an incoming message, as DingTalk describes it."""

    kind: Kind
    download_code: str
    file_name: str = ""


def blank(text: str) -> bool:
    """Nothing written: empty, spaces, or only @-mentions."""
    return not _MENTION.sub("", text).strip()


def item_text(text: str, attached: Sequence[Attached]) -> str:
    """The item's text: the words, or what was sent when there are none."""
    if not blank(text):
        return text
    files = [a.file_name or "文件" for a in attached if a.kind == "file"]
    return texts.file_only(files) if files else texts.PICTURE_ONLY


def line_for(attached: Sequence[Attached | Attachment]) -> str:
    """'附图片2张', '附件: 名称', both, or '' when nothing came with the words."""
    pictures = sum(1 for a in attached if a.kind == "picture")
    files = [a.file_name or "文件" for a in attached if a.kind == "file"]
    return texts.attachments_line(pictures, files)


def record(ctx: Ctx, item: Item, attached: Sequence[Attached]) -> None:
    """The item's attachments, pending: the fetcher takes them at once."""
    for seq, one in enumerate(attached, 1):
        ctx.session.add(
            Attachment(
                item_id=item.id,
                seq=seq,
                kind=one.kind,
                download_code=one.download_code,
                file_name=one.file_name[:255],
                state="pending",
                attempts=0,
                next_attempt_at=None,
            )
        )


def of(ctx: Ctx, item: Item) -> list[Attachment]:
    # A statement of its own: after the caller's changes to the item are flushed, so that on
    # PostgreSQL it waits for a fetcher holding the item's row (see settled) and sees what
    # that fetcher committed.
    ctx.session.flush()
    query = select(Attachment).where(Attachment.item_id == item.id).order_by(Attachment.seq)
    return list(ctx.session.scalars(query))


def describe(ctx: Ctx, item: Item) -> str:
    """For 查看: what came with the item, and what could not be fetched."""
    attached = of(ctx, item)
    line = line_for(attached)
    failed = sum(1 for a in attached if a.state == "failed")
    return line + (f"（{failed}个未能从钉钉取回）" if failed else "")


def forward(ctx: Ctx, item: Item, group: str) -> None:
    """The item's pictures and files to ``group``, once none is pending (else the fetcher
    forwards them when the last one is settled)."""
    attached = of(ctx, item)
    if not attached or any(a.state == "pending" for a in attached):
        return
    stored = [a for a in attached if a.state == "stored" and a.path]
    header = texts.attachments_follow(
        item.id, item.town, line_for(attached), len(attached) - len(stored), len(attached)
    )
    ctx.send(to_group(group, header))
    for one in stored:
        caption = (
            texts.picture_caption(item.id, one.seq)
            if one.kind == "picture"
            else one.file_name or f"文件{one.seq}"
        )
        kind: Kind = "picture" if one.kind == "picture" else "file"
        ctx.send(Outgoing("group", group, caption, kind=kind, media_path=one.path))


def settled(ctx: Ctx, item: Item) -> None:
    """An attachment of ``item`` was stored or given up (the caller holds the item's row):
    when it was the last pending one, everything goes to the office and the department."""
    if any(a.state == "pending" for a in of(ctx, item)):
        return
    forward(ctx, item, ctx.roster.office.group)
    dept = ctx.roster.department(item.department or "")
    if dept is not None and item.state != ItemState.REJECTED:
        forward(ctx, item, dept.group)
