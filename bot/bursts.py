"""Group chats under DingTalk's rate limit (20 messages a minute, DINGTALK.md §5.6): the burst
digests a group chat holding more due messages than its window lets out gets (the sender
writes and sends them). The window itself, the send times per group of every instance, is in
the database (``storage.outbox.reserve_group_send``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from handlers import texts
from storage.outbox import PendingRow

# A burst digest holds at most this many lines and characters a message (DingTalk's text
# messages take a few thousand characters; a phone screen far fewer)
DIGEST_MAX_LINES: Final = 40
DIGEST_MAX_CHARS: Final = 3000


@dataclass(frozen=True)
class Merge:
    """Rows of one group chat sent as one digest: ``rows[0]`` becomes it."""

    rows: tuple[PendingRow, ...]
    text: str
    digest: tuple[tuple[str, str], ...]


def plan_merges(chats: Sequence[list[PendingRow]], free: Mapping[str, int]) -> list[Merge]:
    """For each group chat holding more due messages than it may have now (``free``, by
    group), its messages that read as digest lines, as few digests as the length limits
    allow; every row is in exactly one of them."""
    merges: list[Merge] = []
    for rows in chats:
        if rows[0].channel != "group" or len(rows) <= free.get(rows[0].target, 0):
            continue
        digestible = [r for r in rows if r.digest]
        chunks = _chunks(digestible)
        if len(chunks) >= len(digestible):
            continue  # merging would not save a message
        totals: dict[str, int] = {}
        for row in digestible:
            for title, _ in row.digest:
                totals[title] = totals.get(title, 0) + 1
        done: dict[str, int] = {}
        for chunk in chunks:
            pairs = tuple(pair for row in chunk for pair in row.digest)
            by_title: dict[str, list[str]] = {}
            for title, line in pairs:
                by_title.setdefault(title, []).append(line)
            sections = []
            for title, lines in by_title.items():
                sections.append((title, lines, done.get(title, 0) + 1, totals[title]))
                done[title] = done.get(title, 0) + len(lines)
            if len(chunk) > 1:
                merges.append(Merge(tuple(chunk), texts.burst_digest(sections), pairs))
    return merges


def _chunks(rows: list[PendingRow]) -> list[list[PendingRow]]:
    """Consecutive rows in digests of at most DIGEST_MAX_LINES lines and about
    DIGEST_MAX_CHARS characters; a row is never split (a longer one goes alone)."""
    chunks: list[list[PendingRow]] = []
    lines = chars = 0
    for row in rows:
        size = sum(len(line) + 4 for _, line in row.digest)
        if chunks and (
            lines + len(row.digest) > DIGEST_MAX_LINES or chars + size > DIGEST_MAX_CHARS
        ):
            chunks.append([])
            lines = chars = 0
        if not chunks:
            chunks.append([])
        chunks[-1].append(row)
        lines += len(row.digest)
        chars += size
    return chunks
