"""What a picture or file row of the outbox sends: a file the bot made, from the database; a
town's picture or file, from BOT_FILES_DIR."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath
from typing import Literal

from sqlalchemy import Connection

from bot.dingtalk.errors import PermanentSendError
from bot.dingtalk.transport import Media
from storage import outbox
from storage.outbox import PendingRow


def media_of(
    row: PendingRow,
    files_dir: Path | None,
    connect: Callable[[], AbstractContextManager[Connection]],
) -> Media:
    """The row's media (blocking: a database read for a Document). A file is shown under the
    row's text; a picture under its file name."""
    kind: Literal["picture", "file"] = "picture" if row.kind == "picture" else "file"
    name = row.text if kind == "file" else PurePosixPath(row.media_path or "").name
    if row.media_path and outbox.document_id(row.media_path) is not None:
        with connect() as connection:
            content = outbox.document_content(connection, row.media_path)
        if content is None:
            raise PermanentSendError(f"{row.media_path}: no such document")
        return Media(kind, None, name, content)
    if files_dir is None or not row.media_path:
        raise PermanentSendError(f"{row.kind} {row.media_path!r}: no files directory set")
    return Media(kind, files_dir / row.media_path, name)
