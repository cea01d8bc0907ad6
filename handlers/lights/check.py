"""The 约谈问询 ladder run on a 督办事项 whenever its evidence changes (a light, a named
criticism, 推进进度严重滞后, a 超限 filing): the interview it calls for, proposed to the office
("酌情", the default) or started at once (the roster's ``[interviews] start = "auto"``)."""

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

S = InterviewState


def people(roster: Roster, matter: Matter) -> dict[str, str]:
    """Who holds each role of the ladder (handlers.lights.ladder.TIER_ROLES) for the matter."""
    dept = roster.department(matter.department)
    return {
        "owner": matter.owner,
        "dept_head": dept.head if dept else "",
        "deputy": matter.deputy,
        "director": roster.director,
    }


def pair(roster: Roster, matter: Matter, tier: int) -> tuple[str, str]:
    """(interviewer, interviewee) of a tier, as userIds."""
    who = people(roster, matter)
    interviewer, interviewee = ladder.TIER_ROLES[tier]
    return who[interviewer], who[interviewee]


def interviews(session: Session, matter: Matter) -> list[Interview]:
    return list(
        session.scalars(
            select(Interview).where(Interview.matter_id == matter.id).order_by(Interview.id)
        )
    )


def check_ladder(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> list[Outgoing]:
    """Propose (or start) the interview a newly met condition calls for (★ matters only).
    Conditions already met (proposed, declined, started or absorbed) never fire again."""
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
        ladder.Criticism(c.id, c.level, c.at.astimezone(cal.tz).date(), c.note, c.kind)  # type: ignore[arg-type]
        for c in session.scalars(select(Criticism).where(Criticism.matter_id == matter.id))
    ]
    existing = interviews(session, matter)
    new = ladder.evaluate(lights, late, crit, {i.condition for i in existing})
    if not new:
        return []
    started = {i.tier for i in existing if i.state == S.OPEN}
    auto = roster.interviews.start == "auto"
    decision = ladder.decide(new, started) if auto else ladder.propose(new, started)
    # one interview (or proposal) naming all its rules; the other conditions are kept
    # (absorbed) so that they never fire again
    rows = [(f, S.ABSORBED, f.rule, f.evidence) for f in decision.absorbed]
    if decision.open:
        head, *rest = decision.open
        rule = "；".join(f.rule for f in decision.open)
        evidence = "；".join(f.evidence for f in decision.open)
        rows += [(head, S.OPEN if auto else S.PROPOSED, rule, evidence)]
        rows += [(f, S.ABSORBED, f.rule, f.evidence) for f in rest]
    for firing, state, rule, evidence in rows:
        interviewer, interviewee = pair(roster, matter, firing.tier)
        session.add(
            Interview(
                matter_id=matter.id,
                tier=firing.tier,
                condition=firing.condition,
                rule=rule,
                evidence=evidence,
                interviewer=interviewer,
                interviewee=interviewee,
                state=state.value,
                opened_at=now,
                note="",
                decided_at=now if state == S.OPEN else None,
                decided_by="bot" if state == S.OPEN else None,
            )
        )
    if not decision.open:
        return []
    tier = decision.open[0].tier
    conditions = [(f.rule, f.evidence) for f in decision.open]
    if auto:
        supersede(existing, tier, now, "bot")
        return start_notice(session, roster, now, matter, tier, conditions, "bot")
    # a proposal already waiting at this tier: the new conditions join it, and the office
    # is shown the whole of it again
    waiting = [(r.rule, r.evidence) for r in existing if r.state == S.PROPOSED and r.tier == tier]
    return proposal_notice(session, roster, now, matter, tier, waiting + conditions)


def supersede(rows: list[Interview], tier: int, now: dt.datetime, actor: str) -> None:
    """An interview started at ``tier`` supersedes the started ones and proposals below it."""
    live = [r for r in rows if r.state in (S.OPEN, S.PROPOSED)]
    lower = set(ladder.superseded_by(tier, {r.tier for r in live}))
    for row in live:
        if row.tier in lower:
            row.state = close_interview(row.state, S.SUPERSEDED)
            row.closed_at, row.closed_by = now, actor


def start_notice(
    session: Session,
    roster: Roster,
    now: dt.datetime,
    matter: Matter,
    tier: int,
    conditions: list[tuple[str, str]],
    actor: str,
) -> list[Outgoing]:
    """The started interview's notice: 1:1 to both people and to the department group."""
    interviewer, interviewee = pair(roster, matter, tier)
    text = texts.interview_notice(
        label(matter),
        texts.LADDER_TIER_NAMES[tier],
        roster.name(interviewer),
        roster.name(interviewee),
        conditions,
    )
    detail = f"{texts.LADDER_TIER_NAMES[tier]}：" + "；".join(rule for rule, _ in conditions)
    log(session, matter, now, actor, "interview", detail)
    out = [
        to_user(u, text, texts.INTERVIEW_TITLE, (taps.view(f"督{matter.id}"),))
        for u in dict.fromkeys([interviewer, interviewee])
        if u
    ]
    dept = roster.department(matter.department)
    if dept is not None:
        out.append(to_group(dept.group, text, texts.INTERVIEW_TITLE))
    return out


def proposal_taps(matter: Matter, tier: int) -> taps.Taps:
    ref, word = f"督{matter.id}", texts.TIER_WORDS[tier]
    return (
        taps.matter("启动约谈", f"{ref} {word}"),
        taps.matter("不约谈", f"{ref} {word}"),
        taps.view(ref),
    )


def proposal_notice(
    session: Session,
    roster: Roster,
    now: dt.datetime,
    matter: Matter,
    tier: int,
    conditions: list[tuple[str, str]],
) -> list[Outgoing]:
    """ "酌情": the proposal goes to the office only (its admins 1:1, with the decisions as
    taps, and its group); the interviewer and interviewee hear of it once it is started."""
    interviewer, interviewee = pair(roster, matter, tier)
    text = texts.interview_proposal(
        label(matter),
        texts.LADDER_TIER_NAMES[tier],
        texts.TIER_WORDS[tier],
        roster.name(interviewer),
        roster.name(interviewee),
        conditions,
    )
    detail = f"{texts.LADDER_TIER_NAMES[tier]}：" + "；".join(rule for rule, _ in conditions)
    log(session, matter, now, "bot", "proposed", detail)
    acts = proposal_taps(matter, tier)
    out = [to_user(u, text, texts.PROPOSAL_TITLE, acts) for u in roster.office.admins]
    out.append(to_group(roster.office.group, text, texts.PROPOSAL_TITLE))
    return out
