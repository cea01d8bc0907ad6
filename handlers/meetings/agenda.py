"""The 双月例会's agenda draft: what lags behind (handlers.stats.lagging), per department, as
a Word document and a short markdown summary to the office group, once, N working days
before the meeting (the ``agenda`` deadline row)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import documents, texts
from handlers.context import Ctx
from handlers.digest import deliverable
from handlers.effects import Outgoing, to_group
from handlers.matters.base import label, row_label
from handlers.meetings import records, schedule
from handlers.stats.lagging import Lagging, lagging
from handlers.taskbook import progress
from handlers.taskbook.facts import evidence
from handlers.workcal import WorkCalendar
from storage import repo
from storage.models import Deadline, Item, Meeting

SUMMARY_LIMIT = 1500  # characters of the markdown summary (DingTalk allows more; a phone less)
ITEM_DUES = {"triage": "triage_due", "claim": "claim_due", "reply": "reply_due"}
ITEM_DUES["placeholder"] = "placeholder_due"


@dataclass(frozen=True)
class Entry:
    kind: str  # a key of texts.LAGGING_KINDS
    text: str


@dataclass
class Agenda:
    meeting: Meeting
    since: dt.datetime
    lag: Lagging
    departments: list[tuple[str, list[Entry]]]  # the roster's order, the office first
    previous: list[records.DecisionView]  # the last meeting's decisions

    def counts(self, entries: list[Entry]) -> list[tuple[str, int]]:
        return [
            (name, n)
            for key, name in texts.LAGGING_KINDS.items()
            if (n := sum(e.kind == key for e in entries))
        ]


def _item_late(ctx: Ctx, item: Item, clocks: list[str]) -> str:
    dues = [getattr(item, ITEM_DUES[c]) for c in clocks]
    return ctx.late(min(d for d in dues if d is not None))


def build(ctx: Ctx, meeting: Meeting) -> Agenda:
    """The agenda of ``meeting`` as of ``ctx.now``: 超限 counted since the previous meeting."""
    session, roster = ctx.session, ctx.roster
    before = schedule.previous_meeting_period(roster.meetings, meeting.period)
    since = schedule.held_at(session, ctx.cal, roster.meetings, before)
    lag = lagging(session, since, ctx.now, roster, ctx.cal)
    by_dept: dict[str, list[Entry]] = {}

    def add(dept: str | None, kind: str, text: str) -> None:
        found = roster.department(dept) if dept else None
        key = found.name if found else (dept or texts.STATS_OFFICE)
        by_dept.setdefault(key, []).append(Entry(kind, text))

    for matter, light in lag.lights:
        add(matter.department, "lights", texts.lag_light(label(matter), light.period, light.color))
    for row, matter in lag.filings:
        add(
            matter.department,
            "filings",
            texts.lag_filing(label(matter), row_label(row), ctx.when(row.due_at)),
        )
    for item, clocks in lag.items:
        names = [texts.CLOCK_LABELS[c] for c in clocks]
        line = texts.lag_item(
            texts.item_ref(item.id), item.town, names, _item_late(ctx, item, clocks)
        )
        add(item.department, "items", line)
    for matter in lag.instructions:
        add(
            matter.department,
            "instructions",
            texts.lag_instruction(label(matter), ctx.when(matter.feedback_due)),
        )
    for interview, matter in lag.interviews:
        tier = texts.LADDER_TIER_NAMES[interview.tier]
        who = roster.name(interview.interviewer), roster.name(interview.interviewee)
        add(matter.department, "interviews", texts.lag_interview(label(matter), tier, *who))
    for found in lag.tasks:
        text = texts.lag_task(progress.task_label(found.task), evidence(found, ctx.cal))
        add(found.task.department, "tasks", text)
    order = [texts.STATS_OFFICE, *(d.name for d in roster.data.departments)]
    order += sorted(k for k in by_dept if k not in order)
    departments = [(name, by_dept[name]) for name in order if name in by_dept]
    last = session.scalars(select(Meeting).where(Meeting.period == before)).first()
    previous = records.decisions(session, last, ctx.now) if last is not None else []
    return Agenda(meeting, since, lag, departments, previous)


def summary(ctx: Ctx, agenda: Agenda, file_name: str) -> str:
    """The markdown for the phone: the meeting and the total first, a line per department."""
    meeting = agenda.meeting
    lines = [
        texts.agenda_heading(
            texts.meeting_label(meeting.period), ctx.when(meeting.at), agenda.lag.total
        ),
        "",
        texts.agenda_since(ctx.when(agenda.since)),
        "",
    ]
    for name, entries in agenda.departments:
        lines.append(texts.agenda_dept_line(name, agenda.counts(entries)))
    tail = "\n\n" + texts.agenda_more(file_name)
    text = "\n".join(lines)
    if len(text) + len(tail) > SUMMARY_LIMIT:
        text = text[: SUMMARY_LIMIT - len(tail) - 1] + "…"
    return text + tail


def fire_agenda(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, row: Deadline
) -> list[Outgoing]:
    """The agenda row is due: send the draft to the office group once, in working time; a
    meeting already begun (after an outage) gets none."""
    meeting = session.scalars(select(Meeting).where(Meeting.agenda_deadline_id == row.id)).first()
    if meeting is None or meeting.agenda_sent_at is not None or meeting.at <= now:
        repo.claim_deadline(session, row, now)  # moot
        return []
    if not deliverable(cal, row.fire_at, now):
        return []
    if not repo.claim_deadline(session, row, now):
        return []  # another sweeper had it
    from handlers.meetings.document import render  # python-docx, loaded when needed

    ctx = Ctx(session, roster, cal, now, actor="bot")
    agenda = build(ctx, meeting)
    name = texts.agenda_file_name(meeting.period)
    kept = documents.keep(ctx, name, render(ctx, agenda), subject=f"例会{meeting.period}")
    meeting.agenda_sent_at, meeting.agenda_document_id = now, kept.id
    group = roster.office.group
    ctx.send(to_group(group, summary(ctx, agenda, name), title=texts.AGENDA_TITLE))
    documents.send(ctx, "group", group, kept)
    return ctx.out
