"""Group chats under DingTalk's rate limit (20 messages a minute, DINGTALK.md §5.6): a sliding
window of send times per group, and the burst digests a group chat holding more due messages
than the window lets out gets (the sender writes and sends them)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bot.dingtalk.transport import SESSION_MARGIN
from handlers import texts
from storage.outbox import PendingRow

# A burst digest holds at most this many lines and characters a message (DingTalk's text
# messages take a few thousand characters; a phone screen far fewer)
DIGEST_MAX_LINES: Final = 40
DIGEST_MAX_CHARS: Final = 3000
# A row sent: channel, target, fallback_channel, fallback_target, webhook_expires, sent_at
Sent = tuple[str, str, str | None, str | None, datetime | None, datetime | None]


class GroupWindow:
    """Send times per group within the last ``period``; at most ``limit`` of them."""

    def __init__(self, limit: int, period: timedelta) -> None:
        self.limit = limit
        self.period = period
        self._times: dict[str, deque[datetime]] = {}

    def note(self, group: str, at: datetime) -> None:
        """A message went to ``group`` at ``at``."""
        self._times.setdefault(group, deque()).append(at)

    def seed(self, sent: Iterable[Sent]) -> None:
        """Note what went to groups, oldest first (``storage.outbox.sent_to_groups_since``)."""
        for channel, target, fallback_channel, fallback_target, expires, sent_at in sent:
            if sent_at is None:
                continue
            if channel == "group":
                group = target
            elif (
                fallback_channel == "group"
                and fallback_target
                and expires is not None
                and sent_at >= expires - SESSION_MARGIN
            ):
                group = fallback_target  # a session reply sent after its webhook expired
            else:
                continue
            self.note(group, sent_at)

    def slot(self, group: str, now: datetime) -> datetime | None:
        """None if a message may go to ``group`` now, else when the next one may."""
        times = self._times.get(group)
        if not times:
            return None
        while times and times[0] <= now - self.period:
            times.popleft()
        if len(times) < self.limit:
            return None
        return times[-self.limit] + self.period

    def free(self, group: str, now: datetime) -> int:
        """How many messages may go to ``group`` now."""
        times = self._times.get(group)
        if not times:
            return self.limit
        while times and times[0] <= now - self.period:
            times.popleft()
        return max(0, self.limit - len(times))


@dataclass(frozen=True)
class Merge:
    """Rows of one group chat sent as one digest: ``rows[0]`` becomes it."""

    rows: tuple[PendingRow, ...]
    text: str
    digest: tuple[tuple[str, str], ...]


def plan_merges(
    chats: Sequence[list[PendingRow]], window: GroupWindow, now: datetime
) -> list[Merge]:
    """For each group chat holding more due messages than ``window`` lets out now, its
    messages that read as digest lines, as few digests as the length limits allow; every row
    is in exactly one of them."""
    merges: list[Merge] = []
    for rows in chats:
        if rows[0].channel != "group" or len(rows) <= window.free(rows[0].target, now):
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
