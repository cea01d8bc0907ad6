"""SQLAlchemy models. Times are stored as UTC and read back as aware UTC datetimes."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Item(Base):
    """An @件: a town's question or problem, and everything that happened to it."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the item number users type
    town: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))  # 政策咨询 | 问题沟通
    asker_id: Mapped[str | None] = mapped_column(
        String(64)
    )  # senderStaffId, when DingTalk gives it
    asker_nick: Mapped[str] = mapped_column(String(64), default="")
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    conversation_type: Mapped[str] = mapped_column(String(2), default="2")
    source_msg_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    session_webhook: Mapped[str | None] = mapped_column(Text)
    session_webhook_expires: Mapped[dt.datetime | None]
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    review_level: Mapped[str | None] = mapped_column(String(16))  # who must approve the draft
    draft: Mapped[str | None] = mapped_column(Text)
    draft_by: Mapped[str | None] = mapped_column(String(64))
    reply: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # the office's note when rejecting
    hard: Mapped[bool] = mapped_column(Boolean, default=False)
    hard_reason: Mapped[str | None] = mapped_column(Text)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)

    received_at: Mapped[dt.datetime]
    triaged_at: Mapped[dt.datetime | None]
    assigned_at: Mapped[dt.datetime | None]
    claimed_at: Mapped[dt.datetime | None]
    accepted_at: Mapped[
        dt.datetime | None
    ]  # 接件: claimed, but never later than the claim deadline
    drafted_at: Mapped[dt.datetime | None]
    placeholder_at: Mapped[dt.datetime | None]
    replied_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    triage_due: Mapped[dt.datetime | None]
    claim_due: Mapped[dt.datetime | None]
    reply_due: Mapped[dt.datetime | None]
    placeholder_due: Mapped[dt.datetime | None]

    events: Mapped[list[Event]] = relationship(
        back_populates="item", order_by="Event.id", cascade="all, delete-orphan"
    )


class Event(Base):
    """The append-only log: who did what to which item, when, from which message."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))  # a userId, "town:<name>" or "bot"
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    msg_id: Mapped[str | None] = mapped_column(String(128))

    item: Mapped[Item] = relationship(back_populates="events")


class Deadline(Base):
    """One moment of an obligation with a deadline: a reminder or an escalation of an @件's
    clock, or the next step of a 督办事项's deadline row (a filing, a 批示件's 签收 or 反馈).
    ``clock`` names its declaration (handlers.deadlines); fired once, by whoever claims it
    first (pending → fired). The sweeper reads the due ones by ``ix_deadlines_due``."""

    __tablename__ = "deadlines"
    __table_args__ = (Index("ix_deadlines_due", "state", "fire_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clock: Mapped[str] = mapped_column(String(16))  # a declaration's name
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    filing_id: Mapped[int | None] = mapped_column(ForeignKey("filings.id"), index=True)
    # nag | escalate | followup (@件); step (a deadline row: its step-th moment)
    kind: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[dt.datetime]  # the deadline the moment is about
    fire_at: Mapped[dt.datetime]  # when to act (working time only for reminders)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | fired | cancelled
    fired_at: Mapped[dt.datetime | None]


class InboxMessage(Base):
    """Every incoming DingTalk message, stored before it is acknowledged (dedup by msgId)."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(128), unique=True)
    received_at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]]
    processed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message to send, written in the transaction that causes it; sent after the commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime]
    channel: Mapped[str] = mapped_column(String(8))  # session | group | oto
    target: Mapped[str] = mapped_column(String(128))  # openConversationId or userId
    webhook: Mapped[str | None] = mapped_column(Text)  # session channel only
    webhook_expires: Mapped[dt.datetime | None]
    # where a session message goes once its webhook has expired: group | oto, and the target
    fallback_channel: Mapped[str | None] = mapped_column(String(8))
    fallback_target: Mapped[str | None] = mapped_column(String(128))
    # the fallback's own text (it names whom the session reply would have @-mentioned)
    fallback_text: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(128))  # markdown when set, else text
    text: Mapped[str] = mapped_column(Text)
    at_user_ids: Mapped[list[str]] = mapped_column(default=list)
    # text | picture | file; a picture or file is sent from media_path (under BOT_FILES_DIR)
    kind: Mapped[str] = mapped_column(String(8), default="text", server_default="text")
    media_path: Mapped[str | None] = mapped_column(String(255))
    # pending | sent | failed; merged: sent inside the digest row ``merged_into``;
    # resent: failed, then sent again as a new row (重发)
    state: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # A message whose outcome an item records (its reply, rejection or placeholder to the
    # town): the item, what the message is (reply | reject | placeholder), and who caused it
    item_id: Mapped[int | None] = mapped_column(Integer, index=True)
    purpose: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(64))
    # [[title, line], ...]: how the message reads as lines of a digest, when the chat's queue
    # is longer than its rate limit lets out (None: never merged)
    digest: Mapped[list[list[str]] | None] = mapped_column(JSON)
    merged_into: Mapped[int | None] = mapped_column(Integer)
    # [[label, command, needs_text], ...]: the taps a 1:1 message offers (None: none)
    actions: Mapped[list[list[Any]] | None] = mapped_column(JSON)


class GroupSend(Base):
    """A message to a group counted against DingTalk's rate limit, shared by every instance
    (storage.instances.reserve_group_send): written before the send, kept if it fails."""

    __tablename__ = "group_sends"
    __table_args__ = (Index("ix_group_sends_group_at", "group_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128))  # openConversationId
    at: Mapped[dt.datetime]


class Attachment(Base):
    """A picture or file a town sent with an @件. Recorded with the item, fetched from
    DingTalk by its downloadCode (retried until ``state`` leaves pending), kept under
    BOT_FILES_DIR at ``path``, then forwarded to the office and the department.

    Or a file a department sent the bot for a 督办事项's 销项 (``item_id`` None): ``matter_id``
    (None until the sender names the matter), ``purpose`` (解决方案 | 意见征询表, None until
    known) and ``sent_by``. An attachment belongs to an item or to a matter, never both."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # its place in the message, from 1
    kind: Mapped[str] = mapped_column(String(8))  # picture | file
    download_code: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(255), default="")  # as the town named it
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending | stored | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]  # None: at once; real time (the sender's)
    last_error: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(String(255))  # relative to BOT_FILES_DIR
    size: Mapped[int | None] = mapped_column(Integer)
    stored_at: Mapped[dt.datetime | None]
    # a 督办事项's file (issue 11): the matter, what it is, who sent it, when
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id"), index=True)
    purpose: Mapped[str | None] = mapped_column(String(16))
    sent_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime | None]


class PendingInput(Base):
    """A person asked to write the rest of a command (``答复 12`` → the answer): their next
    message in that chat completes ``command``, until ``expires_at``."""

    __tablename__ = "pending_inputs"
    __table_args__ = (UniqueConstraint("user_id", "conversation_id", name="uq_pending_inputs"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(128))
    command: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class CardInstance(Base):
    """An interactive card sent for an outbox row (bot.dingtalk.cards): ``subject`` is the
    number its actions act on, so a tap can update every other copy; ``closed_at``: acted on."""

    __tablename__ = "card_instances"

    out_track_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(32), index=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))  # group | oto
    target: Mapped[str] = mapped_column(String(128))
    actions: Mapped[list[list[Any]]] = mapped_column(JSON)  # [[label, command, needs_text]]
    created_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]


class Document(Base):
    """A file the bot made for its readers (a compiled filing sheet, a closure report, a
    report): kept in the database with the change that made it, so that sending it needs no
    disk shared between instances. An outbox row of kind ``file`` names it by
    ``documents/<id>`` (handlers.documents)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))  # the file name its reader sees
    subject: Mapped[str] = mapped_column(String(64), default="", index=True)  # e.g. 督12
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(64), default="bot")


class Flag(Base):
    """A one-off fact, such as «the 2027 calendar warning of 2026-12-01 was sent»."""

    __tablename__ = "flags"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[dt.datetime]


# --- the supervision registry (督办事项) -------------------------------------------------------


class Matter(Base):
    """A 督办事项 in the registry. A 领导批示件 also carries its notice's dates and checklist."""

    __tablename__ = "matters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 督<number>
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)  # config.categories
    star: Mapped[bool] = mapped_column(Boolean, default=False)  # counts in the assessment
    platform: Mapped[str] = mapped_column(String(16))  # 区网上督查室 | 大调研 | 街镇直通车 | 无
    department: Mapped[str] = mapped_column(String(64), index=True)  # canonical name
    owner: Mapped[str] = mapped_column(String(64))  # userId: 项目具体负责人
    deputy: Mapped[str] = mapped_column(String(64))  # userId: 分管局领导
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)  # open | closed
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]

    # 领导批示件 only (attachment 1)
    notice_due: Mapped[dt.date | None] = mapped_column(Date)  # the notice's feedback deadline
    sign_due: Mapped[dt.datetime | None]
    signed_at: Mapped[dt.datetime | None]
    signed_by: Mapped[str | None] = mapped_column(String(64))
    feedback_due: Mapped[dt.datetime | None]
    feedback_at: Mapped[dt.datetime | None]
    # closure checklist: step name -> when (报区主要领导, 传阅办公室, 抄报区委督查室)
    checklist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # 年度: the year of the plan a 实事项目 was declared for; nothing is owed before its January
    plan_year: Mapped[int | None] = mapped_column(Integer)


class MatterEvent(Base):
    """The append-only log of a 督办事项: registry edits, filings, lights, interviews."""

    __tablename__ = "matter_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))  # a userId or "bot"
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class PlanChange(Base):
    """A 实事项目 plan change (attachment 2): the department's request, the 区政府分管领导's
    consent (recorded by the office: who, on which day) and the office's filing with 重大办;
    complete once filed. One open per matter at a time (``state``)."""

    __tablename__ = "plan_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[dt.datetime]
    requested_by: Mapped[str] = mapped_column(String(64))
    consent_leader: Mapped[str | None] = mapped_column(String(64))  # the district leader's name
    consent_on: Mapped[dt.date | None] = mapped_column(Date)
    consent_at: Mapped[dt.datetime | None]  # when the office recorded it
    consent_by: Mapped[str | None] = mapped_column(String(64))
    filed_at: Mapped[dt.datetime | None]  # reported to 重大办 for the record (备案)
    filed_by: Mapped[str | None] = mapped_column(String(64))
    filed_note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | done | withdrawn


class Filing(Base):
    """Something a department owes the office by a deadline: a monthly filing at its node, or a
    批示件's 签收 and 反馈: the record (done, 超限, the report). Its reminders and escalation
    are ``Deadline`` rows, one pending at a time. ``overdue`` is the 超限 record, set when the
    deadline passed with nothing done."""

    __tablename__ = "filings"
    __table_args__ = (UniqueConstraint("matter_id", "period", name="uq_filings_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    # monthly | sign | feedback | half | year (实事项目's half-year and year reports)
    kind: Mapped[str] = mapped_column(String(8), default="monthly")
    # YYYY-MM; "sign" | "feedback" for 批示件; YYYY-H1 | YYYY-Y for half | year
    period: Mapped[str] = mapped_column(String(16))
    node: Mapped[dt.date] = mapped_column(Date)  # the platform's node, moved to a working day
    due_at: Mapped[dt.datetime]  # end of the day the department must have filed
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    done_by: Mapped[str | None] = mapped_column(String(64))
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)  # 超限
    escalated_at: Mapped[dt.datetime | None]
    report: Mapped[str | None] = mapped_column(Text)  # a 批示件 progress report
    # Approval by the matter's 分管局领导 ([filings] approval): the text submitted is
    # ``report``; done_at is the approval's moment. submitted_at is cleared by a 退改.
    submitted_at: Mapped[dt.datetime | None]
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    returned_at: Mapped[dt.datetime | None]
    returned_by: Mapped[str | None] = mapped_column(String(64))
    return_note: Mapped[str | None] = mapped_column(Text)
    # The template's parts (config.filings.Template) by name; while not done: those collected
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Light(Base):
    """The district platform's light for a ★ matter in a month (the office records it)."""

    __tablename__ = "lights"
    __table_args__ = (UniqueConstraint("matter_id", "period", name="uq_lights_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    color: Mapped[str] = mapped_column(String(8))  # green | yellow | red
    at: Mapped[dt.datetime]
    by: Mapped[str] = mapped_column(String(64))


class Criticism(Base):
    """A district leader's event the office records: a named criticism at a district meeting
    (点名批评, ``kind`` named) or 推进进度严重滞后 (``kind`` lagging); ``note`` says what."""

    __tablename__ = "criticisms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    level: Mapped[str] = mapped_column(String(24))  # district_deputy | district_principal
    at: Mapped[dt.datetime]
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(12), default="named", server_default="named")


class Interview(Base):
    """A 约谈问询 the ladder proposed or opened; ``condition`` is unique per matter: never
    fires twice. A proposal (state proposed) is decided by the office: started (open, with
    ``decided_at``/``decided_by``) or declined (with ``reason``)."""

    __tablename__ = "interviews"
    __table_args__ = (UniqueConstraint("matter_id", "condition", name="uq_interviews_condition"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(Text)  # the rule's words
    evidence: Mapped[str] = mapped_column(Text)
    interviewer: Mapped[str] = mapped_column(String(64))
    interviewee: Mapped[str] = mapped_column(String(64))
    # proposed | declined | open | superseded | held | absorbed (handlers.matters.states)
    state: Mapped[str] = mapped_column(String(12), default="open")
    opened_at: Mapped[dt.datetime]  # when the ladder proposed or opened it
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    # the office's decision on a proposal: when, who ("bot": started automatically), why not
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


class ClosureReport(Base):
    """A 攻坚 matter's 销项 report (attachment 4): asked for by 办结事项, written by the
    department (问题描述, 解决情况); with its two files (attachments of the matter) it closes
    the matter, and ``document_id`` is the Word report sent to the office."""

    __tablename__ = "closure_reports"

    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), primary_key=True)
    asked_at: Mapped[dt.datetime | None]
    asked_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[str | None] = mapped_column(Text)  # 问题描述
    solution: Mapped[str | None] = mapped_column(Text)  # 解决情况
    written_by: Mapped[str | None] = mapped_column(String(64))
    written_at: Mapped[dt.datetime | None]
    document_id: Mapped[int | None] = mapped_column(Integer)


class Review(Base):
    """A 调查复核 (document 三(五)): 实地核查, 回头看 or 再督查 of a matter, who, when, found."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # field | lookback | recheck
    finding: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]
    by: Mapped[str] = mapped_column(String(64))


# --- the office's reports (督查情况报告, 半年/年度报告) -----------------------------------------


class OfficeReport(Base):
    """A report of a period (``2026Q3``, ``2026H1``, ``2026``): when its draft went to the
    office on schedule (once), and who marked it 已呈报 and when."""

    __tablename__ = "office_reports"

    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # quarter | half | year
    drafted_at: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime | None]
    submitted_by: Mapped[str | None] = mapped_column(String(64))


# --- the 双月例会 (document 三(三)) ----------------------------------------------------------


class Meeting(Base):
    """A 双月例会 of one month: when it is held, its agenda draft (sent once by the deadline
    row ``agenda_deadline_id``), its minutes."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), unique=True)  # YYYY-MM, the meeting's month
    at: Mapped[dt.datetime]  # when it is held
    set_by: Mapped[str | None] = mapped_column(String(64))  # None: the roster's default day
    agenda_deadline_id: Mapped[int | None] = mapped_column(Integer)
    agenda_sent_at: Mapped[dt.datetime | None]
    agenda_document_id: Mapped[int | None] = mapped_column(Integer)
    minutes: Mapped[str | None] = mapped_column(Text)
    minutes_by: Mapped[str | None] = mapped_column(String(64))
    minutes_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class MeetingDecision(Base):
    """A decision of a meeting that assigns work (例会议定): the 督办事项 it became."""

    __tablename__ = "meeting_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), unique=True)
    at: Mapped[dt.datetime]
    by: Mapped[str] = mapped_column(String(64))


# --- the year-end 考核评议 (document 三(七), attachment 5) ---------------------------------


class ScoreSheet(Base):
    """The score sheet of a year: its state (draft → sent → approved | returned), the office's
    overall opinion, and while sent or approved the version the director reads and approves
    (``snapshot``: every line and its evidence; frozen once approved). Its history is
    ``ScoreEvent`` rows."""

    __tablename__ = "score_sheets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(8), default="draft")  # draft|sent|approved|returned
    opinion: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ScoreEvent(Base):
    """A step of a score sheet: drafted, opinion, sent, approved, returned (``detail``: the
    comment), reopened (``detail``: the reason; ``snapshot``: the result it re-opened)."""

    __tablename__ = "score_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheets.id"), index=True)
    at: Mapped[dt.datetime]
    by: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ScoreAdjustment(Base):
    """The office's adjustment of a department's line (config: handlers.score.rules.ADJUSTABLE)."""

    __tablename__ = "score_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheets.id"), index=True)
    department: Mapped[str] = mapped_column(String(64))  # canonical name
    item: Mapped[str] = mapped_column(String(8))
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]


# --- the year's task book (document 三(一), 任务分解制度) -------------------------------------


class TaskBook(Base):
    """One department's 年度工作任务书 of one year and its life: draft → submitted →
    compiled (by the office) → approved (局长办公会) → issued; each step who and when."""

    __tablename__ = "taskbooks"
    __table_args__ = (UniqueConstraint("year", "department", name="uq_taskbooks_year_dept"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    department: Mapped[str] = mapped_column(String(64))  # canonical name
    state: Mapped[str] = mapped_column(String(12), default="draft")
    submitted_at: Mapped[dt.datetime | None]
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    compiled_at: Mapped[dt.datetime | None]
    compiled_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_meeting: Mapped[str | None] = mapped_column(String(200))  # 局长办公会 / its date
    issued_at: Mapped[dt.datetime | None]
    issued_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class Task(Base):
    """A task of a task book (任<id>): 预期目标, 具体举措, 责任人, its category and platform,
    optionally the 督办事项 it is followed as; its 时间节点 are ``TaskMilestone`` rows."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taskbook_id: Mapped[int] = mapped_column(ForeignKey("taskbooks.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(Text, default="")  # 预期目标
    measures: Mapped[str] = mapped_column(Text, default="")  # 具体举措
    owner: Mapped[str] = mapped_column(String(64), default="")  # 责任人: userId or a name
    category: Mapped[str] = mapped_column(String(32))  # config.categories
    platform: Mapped[str] = mapped_column(String(16))  # config.categories.PLATFORMS
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id"))
    # marked 滞后 by the office
    behind_note: Mapped[str | None] = mapped_column(Text)
    behind_by: Mapped[str | None] = mapped_column(String(64))
    behind_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class TaskMilestone(Base):
    """A task's 时间节点: what is due by a day; met (who, when, a note) or not. Its reminders
    and escalation are ``Deadline`` rows of the clock ``milestone``, one pending at a time
    (``deadline_id``)."""

    __tablename__ = "task_milestones"
    __table_args__ = (UniqueConstraint("task_id", "seq", name="uq_task_milestones_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in date order
    due: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime]  # the end of the due day's working hours
    what: Mapped[str] = mapped_column(Text, default="")
    met_at: Mapped[dt.datetime | None]
    met_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline_id: Mapped[int | None] = mapped_column(Integer, index=True)


class TaskAmendment(Base):
    """A change of a task after its task book was approved: what changed, why, who, when."""

    __tablename__ = "task_amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
