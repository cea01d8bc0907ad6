"""The 约谈问询 ladder run on a 督办事项 whenever its evidence changes (a light, a named
criticism, a 超限 filing): the interview it calls for, and its notice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import taps, texts
from handlers.effects import Outgoing, to_group, to_user
from handlers.lights import ladder
from handlers.matters.base import label, log
from handlers.matters.states import InterviewState, close_interview
from handlers.workcal import WorkCalendar
from storage.models import Criticism, Filing, Interview, Light, Matter


def check_ladder(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> list[Outgoing]:
    """Open the interview a newly met condition calls for (★ matters only); the notice goes to
    both people and the department group. Conditions already met never fire again."""
    if not matter.star:
        return []
    session.flush()
    lights = [
        (x.period, x.color)
        for x in session.scalars(select(Light).where(Light.matter_id == matter.id))
    ]
    late = [
        f.period
        for f in session.scalars(
            select(Filing).where(
                Filing.matter_id == matter.id, Filing.overdue.is_(True), Filing.kind == "monthly"
            )
        )
    ]
    crit = [
        ladder.Criticism(c.id, c.level, c.at.astimezone(cal.tz).date(), c.note)  # type: ignore[arg-type]
        for c in session.scalars(select(Criticism).where(Criticism.matter_id == matter.id))
    ]
    existing = session.scalars(select(Interview).where(Interview.matter_id == matter.id)).all()
    new = ladder.evaluate(lights, late, crit, {i.condition for i in existing})
    if not new:
        return []
    decision = ladder.decide(new, {i.tier for i in existing if i.state == InterviewState.OPEN})
    for row in existing:
        if row.state == InterviewState.OPEN and row.tier in decision.supersede:
            row.state = close_interview(row.state, InterviewState.SUPERSEDED)
            row.closed_at, row.closed_by = now, "bot"
    dept = roster.department(matter.department)
    people = {
        "owner": matter.owner,
        "dept_head": dept.head if dept else "",
        "deputy": matter.deputy,
        "director": roster.director,
    }
    # one notice, one open interview naming all its rules; the other conditions are kept
    # (absorbed) so that they never fire again
    rows = [(f, InterviewState.ABSORBED, f.rule, f.evidence) for f in decision.absorbed]
    if decision.open:
        head, *rest = decision.open
        rule = "；".join(f.rule for f in decision.open)
        evidence = "；".join(f.evidence for f in decision.open)
        rows += [(head, InterviewState.OPEN, rule, evidence)]
        rows += [(f, InterviewState.ABSORBED, f.rule, f.evidence) for f in rest]
    for firing, state, rule, evidence in rows:
        interviewer, interviewee = ladder.TIER_ROLES[firing.tier]
        session.add(
            Interview(
                matter_id=matter.id,
                tier=firing.tier,
                condition=firing.condition,
                rule=rule,
                evidence=evidence,
                interviewer=people[interviewer],
                interviewee=people[interviewee],
                state=state.value,
                opened_at=now,
                note="",
            )
        )
    if not decision.open:
        return []
    tier = decision.open[0].tier
    interviewer, interviewee = (people[r] for r in ladder.TIER_ROLES[tier])
    text = texts.interview_notice(
        label(matter),
        texts.LADDER_TIER_NAMES[tier],
        roster.name(interviewer),
        roster.name(interviewee),
        [(f.rule, f.evidence) for f in decision.open],
    )
    log(
        session,
        matter,
        now,
        "bot",
        "interview",
        f"{texts.LADDER_TIER_NAMES[tier]}：" + "；".join(f.rule for f in decision.open),
    )
    out = [
        to_user(u, text, texts.INTERVIEW_TITLE, (taps.view(f"督{matter.id}"),))
        for u in dict.fromkeys([interviewer, interviewee])
        if u
    ]
    if dept is not None:
        out.append(to_group(dept.group, text, texts.INTERVIEW_TITLE))
    return out
