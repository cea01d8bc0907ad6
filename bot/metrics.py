"""Prometheus metrics (prometheus-client), one registry per App.

Each App owns a :class:`Metrics` with its own ``CollectorRegistry`` (not the process's
default one): tests run several Apps in one process and each reads its own counts, and
``/metrics`` shows the App it serves. Counters and histograms are updated where things happen
(the inbox, the sender, the sweeper); the outbox and overdue gauges are read from the database
at scrape time (:class:`_DatabaseCollector`), with queries the indexes answer.

Names (all prefixed ``dubanbot_``):

- ``messages_in_total{kind}``: messages received (a redelivery counts again), by msgtype
  (text, picture, file, richText, audio, video, other) and ``card`` for a card button tap.
- ``messages_out_total{kind,channel}``: messages DingTalk accepted; kind text, picture, file or
  card; channel session, group, oto or card (a card's update).
- ``send_failures_total{kind}``: send attempts DingTalk refused (:class:`MeteredTransport`):
  ``transient`` (retried), ``permanent`` (for good), ``expired_webhook`` (a session webhook had
  expired; the fallback is tried).
- ``outbox_depth``, ``outbox_oldest_age_seconds``: pending outbox rows, and the age of the oldest.
- ``overdue_obligations{clock,kind}``: pending deadline rows whose ``fire_at`` has passed.
- ``database_up``: whether the gauges above could be read; ``stream_connected``,
  ``stream_last_frame_age_seconds``: the stream (when /metrics is served).
- ``sweep_duration_seconds``: one sweep of the deadline rows (histogram).
- ``reminder_lateness_seconds``: how long after its ``fire_at`` a deadline row fired.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.dingtalk.errors import PermanentSendError, SendError, WebhookExpired
from bot.dingtalk.transport import Media, OtoResult, Transport
from storage.db import PLAIN_READ, Database
from storage.models import Deadline, OutboxMessage

__all__ = ["CONTENT_TYPE", "MeteredTransport", "Metrics", "OutboxState", "outbox_state"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
IN_KINDS = frozenset({"text", "picture", "file", "richText", "audio", "video", "card"})
Clock = Callable[[], dt.datetime]
T = TypeVar("T")


@dataclass(frozen=True)
class OutboxState:
    depth: int
    oldest_age_seconds: float | None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def outbox_state(db: Database, now: dt.datetime) -> OutboxState:
    """Pending outbox rows and the age of the oldest (one query on ix_outbox_pending)."""
    with db.engine.connect().execution_options(**{PLAIN_READ: True}) as connection:
        depth, oldest = connection.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.state == "pending"
            )
        ).one()
    age = None if oldest is None else max(0.0, (now - _aware(oldest)).total_seconds())
    return OutboxState(int(depth or 0), age)


def overdue(db: Database, now: dt.datetime) -> list[tuple[str, str, int]]:
    """(clock, kind, count) of pending deadline rows past their fire_at (ix_deadlines_due)."""
    query = (
        select(Deadline.clock, Deadline.kind, func.count())
        .where(Deadline.state == "pending", Deadline.fire_at <= now)
        .group_by(Deadline.clock, Deadline.kind)
    )
    with db.engine.connect().execution_options(**{PLAIN_READ: True}) as connection:
        return [(str(c), str(k), int(n)) for c, k, n in connection.execute(query)]


class _DatabaseCollector(Collector):
    """The gauges read from the database at each scrape."""

    def __init__(self, db: Database, clock: Clock, sender_clock: Clock) -> None:
        self.db, self.clock, self.sender_clock = db, clock, sender_clock

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("dubanbot_database_up", "Whether the gauges could be read.")
        try:
            state = outbox_state(self.db, self.sender_clock())  # rows carry the sender's time
            rows = overdue(self.db, self.clock())
        except Exception as exc:
            logger.warning("metrics: reading the database failed: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        depth = GaugeMetricFamily("dubanbot_outbox_depth", "Pending outbox rows.")
        depth.add_metric([], state.depth)
        age = GaugeMetricFamily(
            "dubanbot_outbox_oldest_age_seconds",
            "Age of the oldest pending outbox row (0 when none).",
        )
        age.add_metric([], state.oldest_age_seconds or 0.0)
        late = GaugeMetricFamily(
            "dubanbot_overdue_obligations",
            "Pending deadline rows whose fire_at has passed, by clock and kind.",
            labels=["clock", "kind"],
        )
        for clock, kind, count in rows:
            late.add_metric([clock, kind], count)
        return [up, depth, age, late]

    def describe(self) -> Iterator[Metric]:
        return iter(())  # no collect() at registration: the database may not be ready


class StreamState(Protocol):
    @property
    def connected(self) -> bool: ...

    @property
    def last_frame_at(self) -> float | None: ...


class _StreamCollector(Collector):
    def __init__(self, stream: StreamState) -> None:
        self.stream = stream

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("dubanbot_stream_connected", "Whether the stream is connected.")
        up.add_metric([], 1 if self.stream.connected else 0)
        at = self.stream.last_frame_at
        age = GaugeMetricFamily(
            "dubanbot_stream_last_frame_age_seconds",
            "Seconds since the last frame from DingTalk (absent before the first).",
        )
        if at is not None:
            age.add_metric([], time.monotonic() - at)
        return [up, age]

    def describe(self) -> Iterator[Metric]:
        return iter(())


class Metrics:
    """One App's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_in = Counter(
            "dubanbot_messages_in", "Messages stored in the inbox.", ["kind"], registry=r
        )
        self.messages_out = Counter(
            "dubanbot_messages_out",
            "Messages DingTalk accepted.",
            ["kind", "channel"],
            registry=r,
        )
        self.send_failures = Counter(
            "dubanbot_send_failures", "Failed send attempts.", ["kind"], registry=r
        )
        self.sweep_duration = Histogram(
            "dubanbot_sweep_duration_seconds",
            "Duration of one sweep of the deadline rows.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.reminder_lateness = Histogram(
            "dubanbot_reminder_lateness_seconds",
            "How long after its fire_at a deadline row fired.",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 14400, 86400),
            registry=r,
        )

    def watch_database(self, db: Database, clock: Clock, sender_clock: Clock) -> None:
        """Add the gauges read from ``db`` at scrape time."""
        self.registry.register(_DatabaseCollector(db, clock, sender_clock))

    def watch_stream(self, stream: StreamState) -> None:
        """Add the stream's gauges (connected, age of the last frame)."""
        self.registry.register(_StreamCollector(stream))

    def message_in(self, msgtype: object) -> None:
        kind = msgtype if isinstance(msgtype, str) and msgtype in IN_KINDS else "other"
        self.messages_in.labels(kind).inc()

    def message_out(self, kind: str, channel: str) -> None:
        self.messages_out.labels(kind, channel).inc()

    def send_failure(self, kind: str) -> None:
        self.send_failures.labels(kind).inc()

    def fired(self, lateness: Iterable[float]) -> None:
        for seconds in lateness:
            self.reminder_lateness.observe(max(0.0, seconds))

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value, 0 when absent (tests, /healthz)."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    def exposition(self) -> bytes:
        """The Prometheus text format; reads the database (call it in a thread)."""
        return generate_latest(self.registry)


class MeteredTransport:
    """The sender's transport, counting what DingTalk accepted (messages_out) and refused
    (send_failures: each failed attempt by its error, and a 1:1 message's user listed as
    invalid or filtered (permanent) or flow-controlled (transient)); one line logged per
    message accepted (the sender's log context names the outbox row)."""

    def __init__(self, transport: Transport, metrics: Metrics) -> None:
        self._transport, self._metrics = transport, metrics

    async def _count(self, call: Awaitable[T], kind: str, channel: str) -> T:
        try:
            result = await call
        except SendError as exc:
            if isinstance(exc, WebhookExpired):
                self._metrics.send_failure("expired_webhook")
            else:
                permanent = isinstance(exc, PermanentSendError)
                self._metrics.send_failure("permanent" if permanent else "transient")
            raise
        if isinstance(result, OtoResult) and (result.invalid or result.filtered):
            self._metrics.send_failure("permanent")
        elif isinstance(result, OtoResult) and result.flow_controlled:
            self._metrics.send_failure("transient")
        else:
            self._metrics.message_out(kind, channel)
            logger.info("outbox: DingTalk accepted a %s message (%s)", kind, channel)
        return result

    async def send_session(
        self,
        webhook: str,
        text: str,
        *,
        title: str | None = None,
        at_user_ids: Sequence[str] = (),
        expires_at: dt.datetime | None = None,
    ) -> None:
        call = self._transport.send_session(
            webhook, text, title=title, at_user_ids=at_user_ids, expires_at=expires_at
        )
        await self._count(call, "text", "session")

    async def send_group(
        self, open_conversation_id: str, text: str, *, title: str | None = None
    ) -> None:
        await self._count(
            self._transport.send_group(open_conversation_id, text, title=title), "text", "group"
        )

    async def send_oto(
        self, user_ids: Sequence[str], text: str, *, title: str | None = None
    ) -> OtoResult:
        return await self._count(
            self._transport.send_oto(user_ids, text, title=title), "text", "oto"
        )

    async def send_group_media(self, open_conversation_id: str, media: Media) -> None:
        call = self._transport.send_group_media(open_conversation_id, media)
        await self._count(call, media.kind, "group")

    async def send_oto_media(self, user_ids: Sequence[str], media: Media) -> OtoResult:
        return await self._count(self._transport.send_oto_media(user_ids, media), media.kind, "oto")

    async def download_message_file(self, download_code: str) -> bytes:
        return await self._transport.download_message_file(download_code)

    async def send_card(
        self,
        template_id: str,
        out_track_id: str,
        space: tuple[str, str],
        params: dict[str, str],
    ) -> None:
        call = self._transport.send_card(template_id, out_track_id, space, params)
        await self._count(call, "card", space[0] if space[0] in ("oto", "group") else "card")

    async def update_card(self, out_track_id: str, params: dict[str, str]) -> None:
        await self._count(self._transport.update_card(out_track_id, params), "card", "card")
