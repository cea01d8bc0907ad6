"""A 实事项目 plan change (attachment 2: "因特殊原因需要调整计划的，由相关处室提出调整申请，经
区政府分管领导同意后，由局办公室报新区重大办备案"): 调整申请 (the department), 调整同意 (the
office records who consented and when), 调整备案 (the office filed it with 重大办: complete),
调整撤回. Each step is on the matter's record and told to the office group (and the
department's group from the consent on)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from sqlalchemy import func, select

from handlers import taps, texts
from handlers.args import MatterArg, TextArg, WordArg
from handlers.commands import Arg, Registry, Resolved
from handlers.context import CommandError, Ctx
from handlers.effects import to_group
from handlers.matters.base import DEPT, OFFICE, ensure_open, label, log, notify, require_dept
from handlers.matters.fields import parse_date
from handlers.taps import Taps
from storage.models import Matter, PlanChange

router = Registry()

LEADER_LIMIT = 20  # a name, with its title (王副区长)
_MONTH_DAY = re.compile(r"([0-9]{1,2})月([0-9]{1,2})[日号]?")
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}


def require_annual(ctx: Ctx, matter: Matter) -> None:
    categories = ctx.roster.filings.annual.categories
    if matter.category not in categories:
        raise CommandError(texts.not_annual(label(matter), categories))


def open_change(ctx: Ctx, matter: Matter) -> tuple[PlanChange, int] | None:
    """The matter's open change and its number (1 for its first change)."""
    changes = ctx.session.scalars(
        select(PlanChange).where(PlanChange.matter_id == matter.id).order_by(PlanChange.id)
    ).all()
    for number, change in enumerate(changes, start=1):
        if change.state == "open":
            return change, number
    return None


def _tell(ctx: Ctx, matter: Matter, text: str, department: bool = True) -> None:
    """The office group, and the department's group, hear of a step."""
    ctx.send(to_group(ctx.roster.office.group, text, texts.PLAN_CHANGE_TITLE))
    dept = ctx.roster.department(matter.department)
    if department and dept is not None and dept.group:
        ctx.send(to_group(dept.group, text, texts.PLAN_CHANGE_TITLE))


def consent_day(word: str, today: dt.date) -> dt.date | None:
    """The day the leader consented: 11月20日, 2026-11-20, 今天, 昨天; not after today."""
    key = unicodedata.normalize("NFKC", word).strip()
    if key in _RELATIVE_DAYS:
        return today - dt.timedelta(days=_RELATIVE_DAYS[key])
    day = parse_date(key)
    if day is None and (match := _MONTH_DAY.fullmatch(key)):
        try:
            day = dt.date(today.year, int(match[1]), int(match[2]))
        except ValueError:
            return None
        if day > today:  # December's consent recorded in January
            day = day.replace(year=today.year - 1)
    if day is None or day > today:
        return None
    return day


class ConsentDayArg(Arg[dt.date]):
    """The day of the consent (optional: today)."""

    def __init__(self) -> None:
        super().__init__("on", "日期", optional=True)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> dt.date:
        today = ctx.now.astimezone(ctx.cal.tz).date()
        if not raw:
            return today
        day = consent_day(str(raw), today)
        if day is None:
            raise CommandError(texts.bad_consent_date(str(raw)))
        return day

    def sample(self) -> str:
        return "今天"


@router.command(
    "调整申请",
    [MatterArg(department=True), TextArg("content", "调整内容")],
    "实事项目计划调整申请：经区政府分管领导同意后由局办公室报重大办备案",
    DEPT,
)
def request_change(ctx: Ctx, matter: Matter, content: str) -> str:
    ensure_open(ctx, matter)
    require_annual(ctx, matter)
    found = open_change(ctx, matter)
    if found is not None:
        raise CommandError(texts.change_open_already(label(matter), found[1]))
    change = PlanChange(
        matter_id=matter.id,
        content=content,
        requested_at=ctx.now,
        requested_by=ctx.actor,
        filed_note="",
        state="open",
    )
    ctx.session.add(change)
    ctx.session.flush()
    number = ctx.session.scalar(
        select(func.count()).select_from(PlanChange).where(PlanChange.matter_id == matter.id)
    )
    log(ctx.session, matter, ctx.now, ctx.actor, "change_requested", content)
    ref = f"督{matter.id}"
    text = texts.change_requested_notice(
        label(matter), matter.department, ctx.roster.name(ctx.actor), content, number or 1
    )
    _tell(ctx, matter, text, department=False)
    acts = (taps.matter("调整同意", ref), taps.view(ref))
    notify(ctx, ctx.roster.office.admins, text, acts)
    return texts.change_requested_reply(label(matter), number or 1)


@router.command(
    "调整同意",
    [MatterArg(), WordArg("leader", "区政府分管领导"), ConsentDayArg()],
    "记录区政府分管领导同意实事项目计划调整（日期默认今天）",
    OFFICE,
)
def consent_change(ctx: Ctx, matter: Matter, leader: str, on: dt.date) -> str:
    found = open_change(ctx, matter)
    if found is None:
        raise CommandError(texts.no_open_change(label(matter)))
    change, _ = found
    if change.consent_on is not None and change.consent_leader is not None:
        raise CommandError(
            texts.change_consented_already(label(matter), change.consent_leader, change.consent_on)
        )
    if len(leader) > LEADER_LIMIT:
        raise CommandError(texts.leader_too_long(len(leader), LEADER_LIMIT))
    change.consent_leader, change.consent_on = leader, on
    change.consent_at, change.consent_by = ctx.now, ctx.actor
    log(ctx.session, matter, ctx.now, ctx.actor, "change_consented", f"{leader} {on.isoformat()}")
    text = texts.change_consented_notice(label(matter), leader, on, ctx.roster.name(ctx.actor))
    _tell(ctx, matter, text)
    return text


@router.command(
    "调整备案",
    [MatterArg(), TextArg("note", "说明", optional=True)],
    "记录实事项目计划调整已报新区重大办备案（调整完成）",
    OFFICE,
)
def file_change(ctx: Ctx, matter: Matter, note: str) -> str:
    found = open_change(ctx, matter)
    if found is None:
        raise CommandError(texts.no_open_change(label(matter)))
    change, _ = found
    if change.consent_on is None:
        raise CommandError(texts.change_needs_consent(label(matter)))
    change.filed_at, change.filed_by, change.filed_note = ctx.now, ctx.actor, note
    change.state = "done"
    log(ctx.session, matter, ctx.now, ctx.actor, "change_filed", note)
    text = texts.change_filed_notice(label(matter), ctx.roster.name(ctx.actor))
    _tell(ctx, matter, text)
    return text


@router.command(
    "调整撤回",
    [MatterArg(), TextArg("note", "说明", optional=True)],
    "撤回未完成的实事项目计划调整申请",
    [*DEPT, *OFFICE],
)
def withdraw_change(ctx: Ctx, matter: Matter, note: str) -> str:
    if not ctx.roles.has("office_admin"):
        require_dept(ctx, matter)
    found = open_change(ctx, matter)
    if found is None:
        raise CommandError(texts.no_open_change(label(matter)))
    change, _ = found
    change.state = "withdrawn"
    log(ctx.session, matter, ctx.now, ctx.actor, "change_withdrawn", note)
    text = texts.change_withdrawn_notice(label(matter), ctx.roster.name(ctx.actor))
    _tell(ctx, matter, text)
    return text


def todo_lines(ctx: Ctx) -> list[tuple[str, Taps]]:
    """The office admins' 待办: each open plan change, with the step it waits for."""
    if ctx.actor not in ctx.roster.office.admins:
        return []
    lines: list[tuple[str, Taps]] = []
    rows = ctx.session.execute(
        select(PlanChange, Matter)
        .join(Matter, PlanChange.matter_id == Matter.id)
        .where(PlanChange.state == "open")
        .order_by(PlanChange.requested_at, PlanChange.id)
    ).all()
    for change, matter in rows:
        ref = f"督{matter.id}"
        if change.consent_on is None:
            step, acts = "consent", (taps.matter("调整同意", ref), taps.view(ref))
        else:
            step, acts = "file", (taps.matter("调整备案", ref), taps.view(ref))
        lines.append((texts.todo_change(label(matter), texts.CHANGE_STEPS[step]), acts))
    return lines
