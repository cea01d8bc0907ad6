"""The 双月例会's commands: 例会 (its date), 例会纪要, 例会议定, 议定完成, 例会情况."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from config.roster import Department
from handlers import taps, texts
from handlers.args import DeptArg, MatterArg, PersonArg, TextArg
from handlers.commands import LEADERS, Arg, Malformed, Registry, Rest
from handlers.context import CommandError, Ctx
from handlers.effects import Markdown, to_group
from handlers.filings import schedule as filing_schedule
from handlers.filings.done import mark_done
from handlers.filings.rows import ensure_filings, start_row
from handlers.matters.base import DEPT, OFFICE, ensure_open, label, log, notify
from handlers.matters.fields import create_matter, parse_date, to_category, unique_name
from handlers.matters.states import MatterStatus
from handlers.meetings import records, schedule
from storage.models import Filing, Matter, MeetingDecision

router = Registry()

_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日?")
RECENT = dt.timedelta(days=61)  # a month-day this long past means next year's
FAR = dt.timedelta(days=3 * 366)  # no date further ahead than this
_TIME = re.compile(r"(\d{1,2})[:点时](\d{2})?分?")


def parse_day(word: str, today: dt.date) -> dt.date | None:
    """2026-12-18, 2026年12月18日, 20261218, or 12月18日: this year's, or next year's when this
    year's is more than two months past (in December, 1月15日 is next January; in October,
    10月1日 is a date in the past, which the caller refuses)."""
    found = parse_date(word)
    if found is not None:
        return found
    match = _MONTH_DAY.fullmatch(unicodedata.normalize("NFKC", word).strip())
    if match is None:
        return None
    month, number = int(match[1]), int(match[2])
    try:
        day = dt.date(today.year, month, number)
        if day < today - RECENT:
            day = dt.date(today.year + 1, month, number)
    except ValueError:
        return None
    return day


class DayArg(Arg[dt.date]):
    """A day to come: 2026-12-18, 2026年12月18日 or 12月18日."""

    def resolve(self, ctx: Ctx, raw: Any, got: Any) -> dt.date:
        today = ctx.now.astimezone(ctx.cal.tz).date()
        day = parse_day(raw, today)
        if day is None:
            raise CommandError(texts.meeting_bad_date(raw))
        if day > today + FAR:
            raise CommandError(texts.meeting_date_too_far(raw))
        return day

    def sample(self) -> str:
        return "2026-12-18"


class TimeArg(Arg[dt.time | None]):
    """A time of day, 14:30 (or 14点30); None when absent."""

    def resolve(self, ctx: Ctx, raw: Any, got: Any) -> dt.time | None:
        if not raw:
            return None
        match = _TIME.fullmatch(raw)
        if match is None or int(match[1]) > 23 or int(match[2] or 0) > 59:
            raise CommandError(texts.meeting_bad_time(raw))
        return dt.time(int(match[1]), int(match[2] or 0))

    def sample(self) -> str:
        return ""


_DAY_SHAPE = re.compile(r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{8}|\d{1,2}月\d{1,2}日?")


class DecisionArg(Arg[str]):
    """What was decided: the rest of the text but a last word shaped like a date (the
    期限 that follows); a new matter's name."""

    def take(self, rest: Rest) -> str:
        body = rest.text
        cut = body.rfind(" ")
        end = len(rest.body)
        if cut > 0 and _DAY_SHAPE.fullmatch(body[cut + 1 :]):
            end = rest.pos + cut
        text = rest.source[rest.origin[rest.pos] : rest.origin[end]].strip()
        if not text:
            raise Malformed
        rest.pos = end
        return text

    def resolve(self, ctx: Ctx, raw: Any, got: Any) -> str:
        name = str(raw).strip()
        unique_name(ctx, name, None)
        return name

    def sample(self) -> str:
        return "说明文字"


class DueArg(DayArg):
    """A 期限 (optional): None when absent."""

    def resolve(self, ctx: Ctx, raw: Any, got: Any) -> dt.date | None:  # type: ignore[override]
        return super().resolve(ctx, raw, got) if raw else None

    def sample(self) -> str:
        return ""


@router.command(
    "例会",
    [DayArg("day", "日期"), TimeArg("time", "时间", optional=True)],
    "确定双月例会的日期（议程草案在会前几个工作日发送局办公室群）",
    OFFICE,
)
def set_date(ctx: Ctx, day: dt.date, time: dt.time | None) -> str:
    rules = ctx.roster.meetings
    at = dt.datetime.combine(day, time or rules.time, tzinfo=ctx.cal.tz)
    if at <= ctx.now:
        raise CommandError(texts.meeting_in_past(ctx.when(at)))
    period = schedule.meeting_period(rules, day)
    if period is None:
        raise CommandError(texts.meeting_not_in_months(rules.months))
    held = schedule.last_meeting(ctx.session, ctx.now)
    if held is not None and held.period == period:
        raise CommandError(
            texts.meeting_held_already(texts.meeting_label(period), ctx.when(held.at))
        )
    meeting = schedule.set_meeting(ctx.session, ctx.roster, ctx.cal, ctx.now, period, at, ctx.actor)
    name = texts.meeting_label(period)
    if meeting.agenda_sent_at is not None:
        return texts.meeting_set_agenda_sent(name, ctx.when(at), ctx.when(meeting.agenda_sent_at))
    agenda = schedule.agenda_at(ctx.cal, rules, at)
    return texts.meeting_set(name, ctx.when(at), ctx.when(max(agenda, ctx.now)))


def _held(ctx: Ctx) -> Any:
    meeting = schedule.last_meeting(ctx.session, ctx.now)
    if meeting is None:
        raise CommandError(texts.meeting_none_held())
    return meeting


@router.command("例会纪要", [TextArg("text", "要点")], "记录最近一次双月例会的纪要", OFFICE)
def minutes(ctx: Ctx, text: str) -> str:
    meeting = _held(ctx)
    appended = bool(meeting.minutes)
    meeting.minutes = f"{meeting.minutes}\n{text}" if appended else text
    meeting.minutes_by, meeting.minutes_at = ctx.actor, ctx.now
    name = texts.meeting_label(meeting.period)
    return texts.minutes_recorded(name, ctx.when(meeting.at), appended)


@router.command(
    "例会议定",
    [
        DeptArg("dept"),
        PersonArg("owner", "负责人", owner_of="dept"),
        DecisionArg("name", "事项"),
        DueArg("day", "期限", optional=True),
    ],
    "最近一次双月例会议定的工作：登记为督办事项，按期限提醒",
    OFFICE,
)
def decide(ctx: Ctx, dept: Department, owner: str, name: str, day: dt.date | None) -> str:
    meeting = _held(ctx)
    rules, cal = ctx.roster.meetings, ctx.cal
    due_at = None
    if day is not None:
        due_at = filing_schedule.end_of_day(cal, filing_schedule.workday_before(cal, day, 0))
        if due_at <= ctx.now:
            raise CommandError(texts.decision_due_past(ctx.when(due_at)))
    cat = to_category(rules.decision_category)
    meeting_name = texts.meeting_label(meeting.period)
    matter = create_matter(
        ctx.session,
        ctx.now,
        ctx.actor,
        f"{meeting_name}议定·{dept.name}",
        name=name,
        category=cat.name,
        star=cat.star,
        platform=cat.platform,
        department=dept.name,
        owner=owner,
        deputy=dept.deputy,
        status=MatterStatus.OPEN.value,
        note=f"{meeting_name}议定",
    )
    ctx.session.add(
        MeetingDecision(meeting_id=meeting.id, matter_id=matter.id, at=ctx.now, by=ctx.actor)
    )
    if due_at is not None and day is not None:
        row = Filing(
            matter_id=matter.id, kind="decision", period="decision", node=day, due_at=due_at
        )
        ctx.session.add(row)
        start_row(ctx.session, cal, ctx.roster, row, matter, ctx.now)
    ensure_filings(ctx.session, ctx.roster, cal, ctx.now, [matter])
    due = ctx.when(due_at) if due_at else ""
    who = ctx.roster.name(owner)
    notice = texts.decision_notice(label(matter), meeting_name, dept.name, who, due)
    ref = f"督{matter.id}"
    notify(ctx, [owner], notice, (taps.matter("议定完成", ref), taps.view(ref)))
    ctx.send(to_group(dept.group, notice + "\n" + texts.ACTIONS_IN_CHAT))
    return texts.decision_recorded(label(matter), meeting_name, dept.name, who, due)


@router.command(
    "议定完成",
    [MatterArg(department=True), TextArg("note", "说明", optional=True)],
    "双月例会议定的事项已完成（局办公室核实后办结）",
    DEPT,
)
def decision_done(ctx: Ctx, matter: Matter, note: str) -> str:
    if records.decision_of(ctx.session, matter.id) is None:
        raise CommandError(texts.not_a_decision(label(matter)))
    ensure_open(ctx, matter)
    if records.state_of(ctx.session, matter, ctx.now).state == "done":
        raise CommandError(texts.decision_done_already(label(matter)))
    row = records.deadline_row(ctx.session, matter.id)
    late = False
    if row is not None:
        mark_done(ctx, matter, row)
        late = row.overdue
    log(ctx.session, matter, ctx.now, ctx.actor, records.DONE_EVENT, note)
    who = ctx.roster.name(ctx.actor)
    office = texts.decision_done_office(label(matter), matter.department, who, late)
    ctx.send(to_group(ctx.roster.office.group, office))
    return texts.decision_done_reply(label(matter), late)


@router.command("例会情况", [], "下次双月例会、议程草案和议定事项的落实情况", LEADERS)
def view(ctx: Ctx) -> str:
    session = ctx.session
    lines = []
    rules = ctx.roster.meetings
    period, at, upcoming = schedule.next_meeting(session, ctx.cal, rules, ctx.now)
    by = ctx.roster.name(upcoming.set_by) if upcoming and upcoming.set_by else ""
    lines.append(texts.meeting_view_next(texts.meeting_label(period), ctx.when(at), by))
    if upcoming is not None and upcoming.agenda_sent_at is not None:
        state = texts.agenda_state_sent(ctx.when(upcoming.agenda_sent_at))
    else:
        state = texts.agenda_state_planned(
            ctx.when(max(schedule.agenda_at(ctx.cal, rules, at), ctx.now))
        )
    lines.append(texts.meeting_view_agenda(state))
    last = schedule.last_meeting(session, ctx.now)
    if last is not None:
        lines += ["", texts.meeting_view_last(texts.meeting_label(last.period), ctx.when(last.at))]
        lines.append(
            texts.meeting_view_minutes(last.minutes)
            if last.minutes
            else texts.MEETING_VIEW_NO_MINUTES
        )
        views = records.decisions(session, last, ctx.now)
        lines.append(texts.meeting_view_decisions(len(views)))
        for v in views:
            due = ctx.when(v.due_at) if v.due_at else ""
            owner = ctx.roster.name(v.matter.owner)
            state = texts.DECISION_STATES[v.state]
            lines.append(
                texts.meeting_view_decision(label(v.matter), v.matter.department, owner, due, state)
            )
    return Markdown("\n".join(lines), texts.MEETING_VIEW_TITLE)
