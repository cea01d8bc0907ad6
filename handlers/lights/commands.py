"""Lights, named criticism, 严重滞后 and 约谈: 亮灯, 点名, 严重滞后, 启动约谈, 不约谈, 约谈完成;
the interviews (and, for the office, the proposals) in 待办."""

from __future__ import annotations

from sqlalchemy import select

from handlers import taps, texts
from handlers.args import ChoiceArg, MatterArg, MonthArg, TextArg, TierArg
from handlers.commands import Registry
from handlers.context import CommandError, Ctx
from handlers.filings import schedule
from handlers.lights import decisions
from handlers.lights.check import check_ladder
from handlers.matters.base import OFFICE, label, log
from handlers.matters.states import InterviewState, close_interview
from handlers.taps import Taps
from storage.models import Criticism, Interview, Light, Matter

router = Registry()

COLORS = {
    "绿": "green",
    "绿灯": "green",
    "黄": "yellow",
    "黄灯": "yellow",
    "红": "red",
    "红灯": "red",
}
LEVELS = {
    "区分管领导": "district_deputy",
    "区分管": "district_deputy",
    "分管领导": "district_deputy",
    "区主要领导": "district_principal",
    "区主要": "district_principal",
    "主要领导": "district_principal",
}


@router.command(
    "亮灯",
    [MatterArg(), ChoiceArg("color", COLORS, "绿/黄/红"), MonthArg()],
    "记录区督查平台亮灯",
    OFFICE,
)
def record_light(ctx: Ctx, matter: Matter, color: str, month: str) -> str:
    period = month
    if period > schedule.period_of(ctx.now, ctx.cal.tz):
        raise CommandError(texts.light_in_future(texts.period_label(period)))
    # Lights of the months before the matter was registered may be entered (matters are often
    # registered while already running), back to January of that year; never earlier.
    registered = schedule.period_of(matter.created_at, ctx.cal.tz)
    if period < registered[:4] + "-01":
        raise CommandError(
            texts.light_before_matter(
                label(matter), texts.period_label(registered), texts.period_label(period)
            )
        )
    row = ctx.session.scalars(
        select(Light).where(Light.matter_id == matter.id, Light.period == period)
    ).first()
    if row is not None and row.color == color:
        return texts.light_unchanged(label(matter), texts.light_entry(period, color))
    detail = texts.light_entry(period, color)
    if row is None:
        ctx.session.add(
            Light(matter_id=matter.id, period=period, color=color, at=ctx.now, by=ctx.actor)
        )
    else:
        detail = f"{texts.light_entry(period, row.color)} → {texts.LIGHT_LABELS[color]}"
        row.color, row.at, row.by = color, ctx.now, ctx.actor
    log(ctx.session, matter, ctx.now, ctx.actor, "light", detail)
    ctx.session.flush()
    ctx.out.extend(check_ladder(ctx.session, ctx.roster, ctx.cal, ctx.now, matter))
    return texts.light_recorded(label(matter), detail, matter.star)


@router.command(
    "点名",
    [
        MatterArg(),
        ChoiceArg("level", LEVELS, "区分管领导/区主要领导"),
        TextArg("note", "会议及批评内容"),
    ],
    "记录在全区性会议上被点名批评（写明会议和批评内容）",
    OFFICE,
)
def record_criticism(ctx: Ctx, matter: Matter, level: str, note: str) -> str:
    return _record_event(ctx, matter, "named", level, note)


@router.command(
    "严重滞后",
    [MatterArg(), ChoiceArg("level", LEVELS, "区分管/区主要"), TextArg("note", "说明")],
    "记录推进进度严重滞后（区分管领导：第二层级；区主要领导：第三层级）",
    OFFICE,
)
def record_lagging(ctx: Ctx, matter: Matter, level: str, note: str) -> str:
    return _record_event(ctx, matter, "lagging", level, note)


def _record_event(ctx: Ctx, matter: Matter, kind: str, level: str, note: str) -> str:
    """点名批评 or 推进进度严重滞后, then the ladder."""
    ctx.session.add(
        Criticism(matter_id=matter.id, kind=kind, level=level, at=ctx.now, by=ctx.actor, note=note)
    )
    what = texts.criticism_label(kind, level)
    action = "criticism" if kind == "named" else "lagging"
    log(ctx.session, matter, ctx.now, ctx.actor, action, f"{what} {note}")
    ctx.session.flush()
    ctx.out.extend(check_ladder(ctx.session, ctx.roster, ctx.cal, ctx.now, matter))
    return texts.criticism_recorded(label(matter), what, matter.star)


@router.command("启动约谈", [MatterArg(), TierArg()], "启动建议的约谈问询（通知约谈双方）", OFFICE)
def start_interview(ctx: Ctx, matter: Matter, tier: int | None) -> str:
    return decisions.start(ctx, matter, tier)


@router.command(
    "不约谈", [MatterArg(), TierArg(), TextArg("reason", "理由")], "不启动建议的约谈问询", OFFICE
)
def decline_interview(ctx: Ctx, matter: Matter, tier: int | None, reason: str) -> str:
    return decisions.decline(ctx, matter, tier, reason)


@router.command(
    "约谈完成", [MatterArg(), TextArg("note", "说明", optional=True)], "约谈问询已开展", OFFICE
)
def interview_held(ctx: Ctx, matter: Matter, note: str) -> str:
    rows = ctx.session.scalars(
        select(Interview).where(
            Interview.matter_id == matter.id, Interview.state == InterviewState.OPEN
        )
    ).all()
    if not rows:
        raise CommandError(texts.no_open_interview(label(matter)))
    for row in rows:
        row.state = close_interview(row.state, InterviewState.HELD)
        row.closed_at, row.closed_by, row.note = ctx.now, ctx.actor, note
    tier = max(r.tier for r in rows)
    log(
        ctx.session,
        matter,
        ctx.now,
        ctx.actor,
        "interview_held",
        texts.LADDER_TIER_NAMES[tier] + (f" {note}" if note else ""),
    )
    return texts.interview_held(label(matter), texts.LADDER_TIER_NAMES[tier])


def todo_lines(ctx: Ctx) -> list[tuple[str, Taps]]:
    """The open interviews the person holds or sits for 待办 (the office: every open one, and
    the proposals awaiting its decision)."""
    lines: list[tuple[str, Taps]] = decisions.todo_proposals(ctx)
    mine = Interview.interviewer == ctx.actor
    mine |= Interview.interviewee == ctx.actor
    query = select(Interview, Matter).join(Matter, Interview.matter_id == Matter.id)
    query = query.where(Interview.state == InterviewState.OPEN).order_by(Interview.id)
    if not ctx.roles.has("office_admin"):
        query = query.where(mine)
    for interview, matter in ctx.session.execute(query).all():
        text = texts.todo_interview(
            label(matter),
            texts.LADDER_TIER_NAMES[interview.tier],
            ctx.roster.name(interview.interviewer),
            ctx.roster.name(interview.interviewee),
        )
        lines.append((text, (taps.view(f"督{matter.id}"),)))
    return lines
