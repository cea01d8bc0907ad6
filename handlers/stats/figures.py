"""Statistics per department for a time window: @件 clocks, filings, lights,
interviews. Plain queries on the caller's session; the clock is passed in.

Definitions (``now`` is the moment the statistics are taken):

- An @件 belongs to the window [start, end) when it was received in it (``received_at``). It
  counts for the department it is assigned to now (after a 改派, the new one). Rejected items
  (退回, 非本机关职责范围) count for no department, only in the office's row.
- Each clock of an item has a due time and a done time:

  ====================  ===================  ==========================================
  clock                 due                  done
  ====================  ===================  ==========================================
  甄别 triage (office)  ``triage_due``       ``triaged_at`` (分派 or 退回)
  认领 claim            ``claim_due``        ``claimed_at``
  答复 reply            ``reply_due``        ``replied_at``; for a 疑难件 its 先行回复
                                             ``placeholder_at`` (the first of the two)
  先行回复 (疑难件)     ``placeholder_due``  ``placeholder_at``
  ====================  ===================  ==========================================

  Its outcome: not counted when it has no due time (the clock never started), or when it was
  never done and the item is closed (the clock was cancelled, e.g. by 退回); else *on time*
  when done at or before the due time, *late* when done after it, *open past due* when not done
  and ``now`` is after the due time, *pending* when not done and not yet due. The 先行回复
  clock counts for 疑难件 only: whether an item is one is the head's call.
- On-time rate of a clock = on time / (on time + late + open past due); pending items are not
  in it; None when that denominator is 0.
- A filing belongs to the window when its ``due_at`` is in [start, end). It is *on time* when
  filed at or before ``due_at`` and not marked 超限; *超限* when marked (``overdue``), filed
  after ``due_at``, or not filed and ``now`` is after ``due_at``; *open* (未到期) otherwise. Its
  on-time rate = on time / (on time + 超限).
- Lights count when their period (a calendar month in ``tz``) overlaps the window.
- Interviews count when open (state "open") now, whatever the window; so do the proposals
  awaiting the office's decision (state "proposed"), one per matter and tier.
- Reviews (复核: 实地核查, 回头看, 再督查) count when recorded in [start, end), per kind, for
  the matter's department.
- Departments are the roster's, in its order, under their canonical names; an item or matter
  whose department is not in the roster gets a row of its own after them (never dropped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import texts
from handlers.items.states import CLOSED, ItemState
from handlers.matters.states import InterviewState
from storage.models import Filing, Interview, Item, Light, Matter, Review

Outcome = Literal["on_time", "late", "open_overdue", "pending"]
CLOCKS = ("triage", "claim", "reply", "placeholder")
DEPARTMENT_CLOCKS = ("claim", "reply", "placeholder")
COLORS = ("green", "yellow", "red")
REVIEW_KINDS = ("field", "lookback", "recheck")  # handlers.reviews.rules.KINDS' values


def clock_outcome(
    due: dt.datetime | None, done: dt.datetime | None, now: dt.datetime, closed: bool = False
) -> Outcome | None:
    """One clock's outcome (see the module's docstring); None: not counted."""
    if due is None:
        return None
    if done is not None:
        return "on_time" if done <= due else "late"
    if closed:
        return None
    return "open_overdue" if now > due else "pending"


def item_outcomes(item: Item, now: dt.datetime) -> dict[str, Outcome | None]:
    """The outcome of each clock of an item: triage, claim, reply, placeholder."""
    closed = item.state in CLOSED
    reply_done = item.replied_at
    if item.hard and item.placeholder_at is not None:
        reply_done = min(item.placeholder_at, reply_done or item.placeholder_at)
    return {
        "triage": clock_outcome(item.triage_due, item.triaged_at, now, closed),
        "claim": clock_outcome(item.claim_due, item.claimed_at, now, closed),
        # an approved reply DingTalk refused is no answer: it counts until a resend lands
        "reply": clock_outcome(item.reply_due, reply_done, now, closed and reply_done is not None),
        "placeholder": (
            clock_outcome(item.placeholder_due, item.placeholder_at, now, closed)
            if item.hard
            else None
        ),
    }


FilingOutcome = Literal["on_time", "overdue", "open"]


def filing_outcome(filing: Filing, now: dt.datetime) -> FilingOutcome:
    if filing.overdue:
        return "overdue"
    if filing.done_at is not None:
        return "on_time" if filing.done_at <= filing.due_at else "overdue"
    return "overdue" if now > filing.due_at else "open"


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class ClockStats:
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0
    pending: int = 0

    def add(self, outcome: Outcome | None) -> None:
        if outcome is not None:
            setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def counted(self) -> int:
        """The rate's denominator: on time + late + open past due."""
        return self.on_time + self.late + self.open_overdue

    @property
    def rate(self) -> float | None:
        return _rate(self.on_time, self.counted)


@dataclass
class FilingStats:
    on_time: int = 0
    overdue: int = 0  # 超限
    open: int = 0  # not filed, not yet due

    def add(self, outcome: FilingOutcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def total(self) -> int:
        return self.on_time + self.overdue + self.open

    @property
    def rate(self) -> float | None:
        return _rate(self.on_time, self.on_time + self.overdue)


@dataclass
class DepartmentStats:
    name: str
    items: int = 0
    claim: ClockStats = field(default_factory=ClockStats)
    reply: ClockStats = field(default_factory=ClockStats)
    placeholder: ClockStats = field(default_factory=ClockStats)
    filings: FilingStats = field(default_factory=FilingStats)
    lights: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLORS, 0))
    interviews: int = 0  # open now
    proposals: int = 0  # awaiting the office's decision now
    reviews: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REVIEW_KINDS, 0))

    def clock(self, name: str) -> ClockStats:
        stats: ClockStats = getattr(self, name)
        return stats

    @property
    def empty(self) -> bool:
        return not (
            self.items
            or self.filings.total
            or any(self.lights.values())
            or self.interviews
            or self.proposals
            or any(self.reviews.values())
        )


@dataclass
class OfficeStats:
    """The office's row: every @件 received in the window, its triage clock, rejections."""

    name: str = texts.STATS_OFFICE
    items: int = 0
    triage: ClockStats = field(default_factory=ClockStats)
    rejected: int = 0


@dataclass
class Stats:
    start: dt.datetime
    end: dt.datetime
    now: dt.datetime
    office: OfficeStats
    departments: list[DepartmentStats]


def _check_aware(**moments: dt.datetime) -> None:
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime")


def month_window(period: str, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """[first day 00:00, next month's first day 00:00) of "YYYY-MM" in ``tz``."""
    try:
        year_text, month_text = period.split("-")
        if len(year_text) != 4 or len(month_text) != 2:
            raise ValueError
        start = dt.datetime(int(year_text), int(month_text), 1, tzinfo=tz)
    except ValueError:
        raise ValueError(f"{period!r} is not a month as YYYY-MM") from None
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start, dt.datetime(year, month, 1, tzinfo=tz)


def periods_overlapping(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> list[str]:
    """The "YYYY-MM" months (in ``tz``) that overlap [start, end)."""
    if end <= start:
        return []
    first = start.astimezone(tz)
    last = (end - dt.timedelta(microseconds=1)).astimezone(tz)
    out: list[str] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def items_in_window(session: Session, start: dt.datetime, end: dt.datetime) -> Sequence[Item]:
    return session.scalars(
        select(Item)
        .where(Item.received_at >= start, Item.received_at < end)
        .order_by(Item.received_at, Item.id)
    ).all()


def filings_in_window(
    session: Session, start: dt.datetime, end: dt.datetime
) -> Sequence[tuple[Filing, Matter]]:
    rows = session.execute(
        select(Filing, Matter)
        .join(Matter, Filing.matter_id == Matter.id)
        .where(Filing.due_at >= start, Filing.due_at < end)
        .order_by(Filing.due_at, Matter.id)
    ).all()
    return [(filing, matter) for filing, matter in rows]


def department_stats(
    session: Session,
    roster: Roster,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    *,
    tz: dt.tzinfo | None = None,
) -> Stats:
    """The statistics of [start, end) as of ``now`` (definitions in the module's docstring);
    ``tz`` (default: ``start``'s) decides which months the lights' periods are."""
    _check_aware(start=start, end=end, now=now)
    rows: dict[str, DepartmentStats] = {
        d.name: DepartmentStats(d.name) for d in roster.data.departments
    }

    def row(name: str) -> DepartmentStats:
        dept = roster.department(name)
        key = dept.name if dept else name
        if key not in rows:
            rows[key] = DepartmentStats(key)
        return rows[key]

    office = OfficeStats()
    for item in items_in_window(session, start, end):
        outcomes = item_outcomes(item, now)
        office.items += 1
        office.triage.add(outcomes["triage"])
        if item.state == ItemState.REJECTED:
            office.rejected += 1
            continue
        if not item.department:
            continue
        dept_row = row(item.department)
        dept_row.items += 1
        for clock in DEPARTMENT_CLOCKS:
            dept_row.clock(clock).add(outcomes[clock])

    for filing, matter in filings_in_window(session, start, end):
        row(matter.department).filings.add(filing_outcome(filing, now))

    periods = periods_overlapping(start, end, tz or start.tzinfo or dt.UTC)
    if periods:
        lights = session.execute(
            select(Light.color, Matter.department)
            .join(Matter, Light.matter_id == Matter.id)
            .where(Light.period.in_(periods))
        ).all()
        for color, department in lights:
            counts = row(department).lights
            counts[color] = counts.get(color, 0) + 1

    interviews = session.scalars(
        select(Matter.department)
        .join(Interview, Interview.matter_id == Matter.id)
        .where(Interview.state == InterviewState.OPEN)
    ).all()
    for department in interviews:
        row(department).interviews += 1
    proposals = session.execute(
        select(Matter.department, Interview.matter_id, Interview.tier)
        .join(Interview, Interview.matter_id == Matter.id)
        .where(Interview.state == InterviewState.PROPOSED)
        .distinct()
    ).all()
    for department, _, _ in proposals:
        row(department).proposals += 1

    reviews = session.execute(
        select(Review.kind, Matter.department)
        .join(Matter, Review.matter_id == Matter.id)
        .where(Review.at >= start, Review.at < end)
    ).all()
    for kind, department in reviews:
        counts = row(department).reviews
        counts[kind] = counts.get(kind, 0) + 1

    known = [d.name for d in roster.data.departments]
    extra = sorted(name for name in rows if name not in known)
    return Stats(start, end, now, office, [rows[name] for name in [*known, *extra]])


def _clock_part(name: str, stats: ClockStats) -> str:
    return texts.stats_clock(texts.CLOCK_LABELS[name], stats.on_time, stats.counted)


def render_summary(stats: Stats, title: str) -> str:
    """A short markdown summary for a phone: the office, then each department with something
    to show, one block each."""
    blocks: list[str] = []
    office = stats.office
    if office.items:
        parts = [texts.stats_items(office.items)]
        if office.triage.counted:
            parts.append(_clock_part("triage", office.triage))
        if office.triage.open_overdue:
            parts.append(texts.stats_open_overdue(office.triage.open_overdue))
        segments = [" ".join(parts)]
        if office.rejected:
            segments.append(texts.stats_rejected(office.rejected))
        blocks.append(texts.stats_block(office.name, segments))
    for dept in stats.departments:
        if dept.empty:
            continue
        segments = []
        if dept.items:
            parts = [texts.stats_items(dept.items)]
            parts += [
                _clock_part(name, dept.clock(name))
                for name in DEPARTMENT_CLOCKS
                if dept.clock(name).counted
            ]
            waiting = sum(dept.clock(name).open_overdue for name in DEPARTMENT_CLOCKS)
            if waiting:
                parts.append(texts.stats_open_overdue(waiting))
            segments.append(" ".join(parts))
        if dept.filings.total:
            filings = dept.filings
            segments.append(texts.stats_filings(filings.on_time, filings.overdue, filings.open))
        if any(dept.lights.values()):
            segments.append(texts.stats_lights(dept.lights))
        if dept.interviews:
            segments.append(texts.stats_interviews(dept.interviews))
        if dept.proposals:
            segments.append(texts.stats_proposals(dept.proposals))
        if any(dept.reviews.values()):
            segments.append(texts.stats_reviews(dept.reviews))
        blocks.append(texts.stats_block(dept.name, segments))
    return texts.stats_summary(title, blocks)
