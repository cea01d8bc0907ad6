"""A report's file that DingTalk would not take (the upload or the file message failed for
good): the office is told the command that writes the file on the server."""

from __future__ import annotations

from handlers import texts
from handlers.context import Ctx
from handlers.effects import to_group, to_user
from handlers.office_reports.make import PURPOSE, cli_command
from storage.models import Document
from storage.outbox import document_id


def file_outcome(
    ctx: Ctx, media_path: str | None, purpose: str, actor: str | None, error: str | None
) -> None:
    """The sender's outcome for a tracked file message: nothing to do when it went."""
    if error is None or purpose != PURPOSE or not media_path:
        return
    number = document_id(media_path)
    document = ctx.session.get(Document, number) if number is not None else None
    command = cli_command(document.subject) if document is not None else None
    if document is None or command is None:
        return
    reason, _ = texts.send_failure(error)
    text = texts.report_file_failed(document.name, reason, command)
    ctx.send(to_group(ctx.roster.office.group, text))
    if actor and actor in ctx.roster.people:
        ctx.send(to_user(actor, text))
