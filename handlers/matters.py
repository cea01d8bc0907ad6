"""督办事项: the registry, monthly filings, 领导批示件, lights, named criticism and the
约谈问询 ladder (DESIGN.md §2, §3, §5; the document's 三(二), 三(六), attachments 1 and 6).

Deadlines a department owes the office are ``Filing`` rows (a month's filing, a 批示件's
签收 and 反馈); the sweeper reminds and escalates them. The ladder runs whenever its evidence
changes: a light, a named criticism, a 超限.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config import categories
from config.roster import Roster
from handlers import filings, ladder, reports, stats, texts
from handlers.commands import Command, Registry
from handlers.context import CommandError, Ctx
from handlers.digest import Digest, deliverable, late_grace_passed
from handlers.effects import Markdown, Outgoing, to_group, to_user
from handlers.workcal import WorkCalendar
from storage.models import Criticism, Filing, Interview, Light, Matter, MatterEvent

router = Registry()

OFFICE = ["office_admin"]
LEADERS = ["office_admin", "office_head", "dept_head", "deputy", "director"]
DEPT = ["clerk", "dept_head"]
INSTRUCTION = "领导批示件"
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
    "分管领导": "district_deputy",
    "区主要领导": "district_principal",
    "主要领导": "district_principal",
}
CLOSURE_STEPS = {  # attachment 1, 形成专报: the step and who records it
    "报区主要领导": "dept",
    "传阅办公室": "dept",
    "抄报区委督查室": "office",
}
FIELDS = ("名称", "类别", "绩效考核", "平台", "处室", "负责人", "分管领导", "备注")


# --- helpers -------------------------------------------------------------------------------


def label(matter: Matter) -> str:
    return texts.matter_ref(matter.id, matter.name)


def log(
    session: Session, matter: Matter, at: dt.datetime, actor: str, action: str, detail: str = ""
) -> None:
    session.add(
        MatterEvent(matter_id=matter.id, at=at, actor=actor or "bot", action=action, detail=detail)
    )


def find_matter(ctx: Ctx, ref: str) -> Matter:
    """督3, #3, 3, or the name (exact, else the one open item whose name contains it)."""
    key = ref.strip()
    number = key.removeprefix("督").removeprefix("#").strip()
    if number.isdigit():
        if len(number) > 9:  # no such item (and no integer overflow in the database)
            raise CommandError(texts.no_matter(key))
        matter = ctx.session.get(Matter, int(number))
        if matter is None:
            raise CommandError(texts.no_matter(key))
        return matter
    exact = ctx.session.scalars(select(Matter).where(Matter.name == key)).all()
    if len(exact) == 1:
        return exact[0]
    found = [
        m
        for m in ctx.session.scalars(
            select(Matter).where(Matter.status == "open").order_by(Matter.id)
        )
        if key and key in m.name
    ]
    if len(found) == 1:
        return found[0]
    if found:
        raise CommandError(texts.ambiguous_matter(key, [label(m) for m in found[:5]]))
    raise CommandError(texts.no_matter(key))


def _open(ctx: Ctx, matter: Matter) -> None:
    if matter.status != "open":
        raise CommandError(texts.matter_closed(label(matter)))


def find_person(roster: Roster, word: str) -> str | None:
    """A userId from a userId or a roster name; None when unknown or ambiguous."""
    if word in roster.people:
        return word
    ids = [p.id for p in roster.people.values() if p.name == word]
    return ids[0] if len(ids) == 1 else None


def _person(ctx: Ctx, word: str) -> str:
    user = find_person(ctx.roster, word)
    if user is None:
        raise CommandError(texts.unknown_person(word))
    return user


def _owner(ctx: Ctx, word: str, dept: str) -> str:
    """The 具体负责人: a person of the department, or of none (never of another one)."""
    user = _person(ctx, word)
    theirs = ctx.roster.owner_elsewhere(user, dept)
    if theirs:
        raise CommandError(texts.owner_elsewhere(ctx.roster.name(user), theirs, dept))
    return user


def _category(word: str) -> categories.Category:
    found = categories.category(word)
    if found is None:
        raise CommandError(texts.unknown_category(word, [c.name for c in categories.CATEGORIES]))
    return found


def _require_dept(ctx: Ctx, matter: Matter) -> None:
    roles = ctx.roles
    if matter.department in roles.clerk_of or matter.department in roles.head_of:
        return
    raise CommandError(texts.not_matter_department(label(matter), matter.department))


def _period(ctx: Ctx, word: str) -> str:
    today = ctx.now.astimezone(ctx.cal.tz).date()
    if not word:
        return filings.period_of(today, ctx.cal.tz)
    period = filings.parse_month(word, today)
    if period is None:
        raise CommandError(texts.bad_month(word))
    return period


def _notify(ctx: Ctx, people: Iterable[str], text: str) -> None:
    for user in dict.fromkeys(people):
        if user and user != ctx.actor:
            ctx.send(to_user(user, text))


# --- the registry --------------------------------------------------------------------------


@router.command(
    "新增事项",
    ["word", "dept", "word", "text"],
    "新增事项 <类别> <处室> <负责人> <名称>",
    "登记督办事项（类别如 区委区政府重点工作、实事项目、攻坚）",
    OFFICE,
)
def add_matter(ctx: Ctx, cmd: Command) -> str:
    cat = _category(cmd.words[0])
    department = ctx.department(cmd.dept or "")
    dept = department.name
    owner = _owner(ctx, cmd.words[1], dept)
    name = cmd.text.strip()
    _unique_name(ctx, name, None)
    matter = Matter(
        name=name,
        category=cat.name,
        star=cat.star,
        platform=cat.platform,
        department=dept,
        owner=owner,
        deputy=department.deputy,
        status="open",
        note="",
        created_at=ctx.now,
    )
    ctx.session.add(matter)
    ctx.session.flush()
    log(ctx.session, matter, ctx.now, ctx.actor, "created", f"{cat.name}·{dept}")
    ensure_filings(ctx.session, ctx.roster, ctx.cal, ctx.now, [matter])
    return texts.matter_added(label(matter), describe(ctx.roster, matter))


NAME_LIMIT = 200  # Matter.name


def _unique_name(ctx: Ctx, name: str, number: int | None) -> None:
    if len(name) > NAME_LIMIT:
        raise CommandError(texts.name_too_long(len(name), NAME_LIMIT))
    clash = ctx.session.scalars(
        select(Matter).where(Matter.name == name, Matter.id != (number or 0))
    ).first()
    if clash is not None:
        raise CommandError(texts.duplicate_matter(name, label(clash)))


def describe(roster: Roster, matter: Matter) -> str:
    star = "★" if matter.star else ""
    return texts.matter_line(
        star + matter.category,
        matter.platform,
        matter.department,
        roster.name(matter.owner),
        roster.name(matter.deputy),
    )


@router.command(
    "修改事项",
    ["ref", "word", "text"],
    "修改事项 <事项> <名称/类别/绩效考核/平台/处室/负责人/分管领导/备注> <新值>",
    "修改督办事项的一项内容",
    OFFICE,
)
def edit_matter(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    field, value = cmd.words[0], cmd.text.strip()
    extra = ""
    if field not in FIELDS:
        raise CommandError(texts.usage(cmd.spec.usage))
    old: str
    if field == "名称":
        _unique_name(ctx, value, matter.id)
        old, matter.name = matter.name, value
    elif field == "类别":
        cat = _category(value)
        if INSTRUCTION in (cat.name, matter.category) and cat.name != matter.category:
            raise CommandError(texts.instruction_category_fixed())
        old, matter.category = matter.category, cat.name
        matter.star, matter.platform = cat.star, cat.platform
        value = cat.name
        extra = texts.category_defaults("是" if cat.star else "否", cat.platform)
    elif field == "绩效考核":
        if value not in ("是", "否", "★", "无"):
            raise CommandError(texts.yes_no(field))
        old = "是" if matter.star else "否"
        matter.star = value in ("是", "★")
        value = "是" if matter.star else "否"
    elif field == "平台":
        found = categories.platform(value)
        if found is None:
            raise CommandError(texts.unknown_platform(value, list(categories.PLATFORMS)))
        old, matter.platform, value = matter.platform, found, found
    elif field == "处室":
        department = ctx.department(value)
        old, matter.department, value = matter.department, department.name, department.name
        if old != value:
            matter.deputy = department.deputy
            extra = texts.deputy_follows(ctx.roster.name(department.deputy))
            theirs = ctx.roster.owner_elsewhere(matter.owner, value)
            if theirs:
                extra += texts.owner_check_after_move(ctx.roster.name(matter.owner), theirs)
    elif field in ("负责人", "分管领导"):
        user = _owner(ctx, value, matter.department) if field == "负责人" else _person(ctx, value)
        if field == "负责人":
            old, matter.owner = ctx.roster.name(matter.owner), user
        else:
            old, matter.deputy = ctx.roster.name(matter.deputy), user
        value = ctx.roster.name(user)
    else:
        old, matter.note = matter.note, value
    if old == value:
        return texts.matter_unchanged(label(matter), field)
    log(ctx.session, matter, ctx.now, ctx.actor, "edited", f"{field}：{old} → {value}")
    if field in ("类别", "平台"):
        reschedule(ctx.session, ctx.roster, ctx.cal, ctx.now, matter)
    return texts.matter_edited(label(matter), field, old, value) + extra


@router.command(
    "办结事项", ["ref", "text?"], "办结事项 <事项> [说明]", "督办事项办结，停止填报提醒", OFFICE
)
def close_matter(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    _open(ctx, matter)
    close(ctx.session, matter, ctx.now, ctx.actor, cmd.text)
    return texts.matter_closed_reply(label(matter))


def close(session: Session, matter: Matter, now: dt.datetime, actor: str, note: str = "") -> None:
    matter.status, matter.closed_at = "closed", now
    _settle_filings(session, matter, now)
    log(session, matter, now, actor, "closed", note)


def _settle_filings(session: Session, matter: Matter, now: dt.datetime) -> None:
    """A closed item: what is not yet due is no longer owed; what is due and not done is on
    the record as 超限."""
    for row in session.scalars(
        select(Filing).where(Filing.matter_id == matter.id, Filing.done_at.is_(None))
    ):
        if row.due_at > now:
            session.delete(row)
        else:
            row.next_at, row.overdue = None, True
    session.flush()


def sync_matter(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> None:
    """Deadlines made to match an item changed from outside the commands (an import)."""
    if matter.status != "open":
        _settle_filings(session, matter, now)
        return
    if matter.category == INSTRUCTION:
        setup_instruction(session, roster, cal, now, matter)
    reschedule(session, roster, cal, now, matter)


@router.command("事项列表", ["opt"], "事项列表 [处室/类别/已办结]", "督办事项清单", LEADERS)
def list_matters(ctx: Ctx, cmd: Command) -> str:
    word = cmd.words[0] if cmd.words else ""
    query = select(Matter).order_by(Matter.id)
    title = "督办事项"
    if word in ("已办结", "办结"):
        query = query.where(Matter.status == "closed")
        title = "已办结督办事项"
    else:
        query = query.where(Matter.status == "open")
        if word:
            dept = ctx.roster.department(word)
            cat = categories.category(word)
            if dept is not None:
                query, title = query.where(Matter.department == dept.name), dept.name
            elif cat is not None:
                query, title = query.where(Matter.category == cat.name), cat.name
            else:
                raise CommandError(texts.usage(cmd.spec.usage))
    rows = ctx.session.scalars(query).all()
    if not rows:
        return texts.no_matters(title)
    lines = [f"{label(m)}｜{'★' if m.star else ''}{m.category}｜{m.department}" for m in rows[:50]]
    more = f"\n……共{len(rows)}项" if len(rows) > 50 else ""
    return f"{title}（{len(rows)}项）：\n" + "\n".join(lines) + more


def show_matter(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    tz = ctx.cal.tz
    lines = [
        f"{label(matter)}｜{texts.MATTER_STATUS[matter.status]}",
        describe(ctx.roster, matter),
    ]
    if matter.note:
        lines.append(f"备注：{matter.note}")
    if matter.category == INSTRUCTION and matter.notice_due:
        lines.append(
            texts.instruction_status(
                ctx.when(matter.sign_due),
                ctx.when(matter.signed_at) if matter.signed_at else None,
                ctx.when(matter.feedback_due),
                ctx.when(matter.feedback_at) if matter.feedback_at else None,
                matter.notice_due,
                [step for step in CLOSURE_STEPS if step in (matter.checklist or {})],
            )
        )
    lights = ctx.session.scalars(
        select(Light).where(Light.matter_id == matter.id).order_by(Light.period)
    ).all()
    if lights:
        lines.append("亮灯：" + "、".join(texts.light_entry(x.period, x.color) for x in lights))
    for c in ctx.session.scalars(
        select(Criticism).where(Criticism.matter_id == matter.id).order_by(Criticism.id)
    ):
        lines.append(texts.criticism_entry(c.at.astimezone(tz).date(), c.level, c.note))
    rows = ctx.session.scalars(
        select(Filing).where(Filing.matter_id == matter.id).order_by(Filing.due_at.desc())
    ).all()
    for row in rows[:6]:
        lines.append(
            texts.filing_entry(
                row.kind,
                _row_label(row),
                ctx.when(row.due_at, row.provisional),
                ctx.when(row.done_at) if row.done_at else None,
                row.overdue,
            )
        )
    for i in ctx.session.scalars(
        select(Interview).where(Interview.matter_id == matter.id).order_by(Interview.id)
    ):
        if i.state != "absorbed":
            lines.append(texts.interview_entry(i.tier, i.state, i.rule, ctx.when(i.opened_at)))
    events = ctx.session.scalars(
        select(MatterEvent)
        .where(MatterEvent.matter_id == matter.id)
        .order_by(MatterEvent.id.desc())
        .limit(8)
    ).all()
    if events:
        lines.append("记录：")
        for e in reversed(events):
            who = "系统" if e.actor in ("bot", "import") else ctx.roster.name(e.actor)
            detail = f" {texts.excerpt(e.detail, 40)}" if e.detail else ""
            lines.append(
                f"{ctx.when(e.at)} {who} {texts.MATTER_EVENTS.get(e.action, e.action)}{detail}"
            )
    return "\n".join(lines)


# --- monthly filings -----------------------------------------------------------------------


def ensure_filings(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    matters: Sequence[Matter] | None = None,
) -> int:
    """Make this month's and next month's filing rows of every open item with a node.

    A row is owed only when the item was tracked before its deadline: a row made late (an
    item added, or given a node, on the node day) starts at its next reminder, or with one
    reminder at once when only the deadline is left; never with an instant 超限. A 批示件
    reports its progress from the month after it arrived (attachment 1: 下月). Returns how
    many rows were made."""
    rules = roster.filings
    if matters is None:
        matters = session.scalars(
            select(Matter).where(Matter.status == "open", Matter.category.in_(list(rules.nodes)))
        ).all()
    this = filings.period_of(now, cal.tz)
    periods = [this, filings.next_period(this)]
    have = {
        (f.matter_id, f.period)
        for f in session.scalars(
            select(Filing).where(
                Filing.period.in_(periods), Filing.matter_id.in_([m.id for m in matters])
            )
        )
    }
    made = 0
    for matter in matters:
        if matter.status != "open":
            continue
        start = max(matter.created_at, now)
        for period in periods:
            if (matter.id, period) in have:
                continue
            year, month = int(period[:4]), int(period[5:])
            sch = filings.schedule(cal, rules, matter.category, matter.platform, year, month)
            if sch is None or sch.due_at <= start:
                continue
            if matter.category == INSTRUCTION and (
                period <= filings.period_of(matter.created_at, cal.tz)
                or sch.node <= matter.created_at.astimezone(cal.tz).date()
            ):
                continue
            row = Filing(
                matter_id=matter.id,
                kind="monthly",
                period=period,
                node=sch.node,
                due_at=sch.due_at,
                provisional=sch.provisional,
            )
            _start_row(cal, roster, row, matter, start)
            session.add(row)
            made += 1
    session.flush()
    return made


def _start_row(
    cal: WorkCalendar, roster: Roster, row: Filing, matter: Matter, start: dt.datetime
) -> None:
    """The first step still ahead at ``start``; when only the escalation is, one reminder now."""
    moments = moments_of(cal, roster, row, matter)
    step = next((i for i, m in enumerate(moments) if m >= start), len(moments) - 1)
    if step == len(moments) - 1 and step > 0 and row.due_at > start:
        row.step, row.next_at = step - 1, start
    else:
        row.step, row.next_at = step, moments[step]


def reschedule(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> None:
    """After a change of category or platform (or a reopening): the monthly rows not yet due
    are made again from the new schedule; what is due already stays on the record."""
    for row in session.scalars(
        select(Filing).where(
            Filing.matter_id == matter.id,
            Filing.kind == "monthly",
            Filing.done_at.is_(None),
            Filing.due_at > now,
        )
    ):
        session.delete(row)
    session.flush()
    ensure_filings(session, roster, cal, now, [matter])


def moments_of(cal: WorkCalendar, roster: Roster, row: Filing, matter: Matter) -> list[dt.datetime]:
    """The reminders, then the escalation, of one deadline row, from its own deadline."""
    rules = roster.filings
    escalate = cal.next_working_moment(row.due_at + dt.timedelta(microseconds=1))
    if row.kind == "sign":
        half = cal.add(matter.created_at, rules.instruction_sign_workdays / 2).at
        return [min(half, row.due_at), escalate]
    due_day = row.due_at.astimezone(cal.tz).date()
    reminders = sorted(
        filings.start_of_day(cal, filings.workday_before(cal, due_day, n))
        for n in rules.remind_workdays_before
    )
    return [*reminders, escalate]


@router.command(
    "已填报", ["ref", "opt"], "已填报 <事项> [月份]", "本月（或所写月份）已在平台填报", DEPT
)
def filed(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    _require_dept(ctx, matter)
    if matter.category == INSTRUCTION:  # its tracking report has a template to check
        raise CommandError(texts.instruction_files_by_report(label(matter)))
    row = _monthly_row(ctx, matter, cmd.words[0] if cmd.words else "")
    if row is None:
        raise CommandError(texts.nothing_to_file(label(matter)))
    return _mark_done(ctx, matter, row)


def _monthly_row(ctx: Ctx, matter: Matter, word: str) -> Filing | None:
    """The month named, or the filing owed now: the earliest one not done of this month or
    before, or next month's when its node moved into this month (October's 6th is 30
    September). A month already done answers so, rather than filing next month's."""
    query = select(Filing).where(Filing.matter_id == matter.id, Filing.kind == "monthly")
    if word:
        period = _period(ctx, word)
        row = ctx.session.scalars(query.where(Filing.period == period)).first()
        if row is None:
            raise CommandError(texts.no_filing(label(matter), texts.period_label(period)))
        return row
    today = ctx.now.astimezone(ctx.cal.tz).date()
    this = filings.period_of(today, ctx.cal.tz)
    current = [
        r
        for r in ctx.session.scalars(query.order_by(Filing.due_at))
        if r.period <= this or (r.node.year, r.node.month) == (today.year, today.month)
    ]
    open_rows = [r for r in current if r.done_at is None]
    if open_rows:
        return open_rows[0]
    return current[-1] if current else None


def _mark_done(ctx: Ctx, matter: Matter, row: Filing, report: str | None = None) -> str:
    if row.done_at is not None:
        raise CommandError(
            texts.already_filed(label(matter), _row_label(row), ctx.when(row.done_at))
        )
    row.done_at, row.done_by, row.next_at = ctx.now, ctx.actor, None
    if report is not None:
        row.report = report
    late = ctx.now > row.due_at
    if late and not row.overdue:
        row.overdue = True  # filed after the deadline, before the sweeper noticed
        ctx.out.extend(check_ladder(ctx.session, ctx.roster, ctx.cal, ctx.now, matter))
    log(
        ctx.session,
        matter,
        ctx.now,
        ctx.actor,
        "filed",
        _row_label(row) + ("（超限）" if row.overdue else ""),
    )
    return texts.filed_reply(label(matter), _row_label(row), row.overdue)


def _row_label(row: Filing) -> str:
    return (
        texts.FILING_KINDS[row.kind]
        if row.kind != "monthly"
        else texts.period_label(row.period) + "填报"
    )


# --- 领导批示件 (attachment 1) -------------------------------------------------------------


@router.command(
    "批示件",
    ["dept", "word", "text"],
    "批示件 <处室> <反馈期限如2026-12-10> <名称>",
    "登记领导批示件：签收、反馈和每月跟踪",
    OFFICE,
)
def register_instruction(ctx: Ctx, cmd: Command) -> str:
    dept = ctx.department(cmd.dept or "")
    dept_name = dept.name
    notice_due = _date(cmd.words[0])
    if notice_due is None:
        raise CommandError(texts.bad_date(cmd.words[0]))
    today = ctx.now.astimezone(ctx.cal.tz).date()
    if notice_due < today:
        raise CommandError(texts.date_in_past(cmd.words[0]))
    if notice_due > today + dt.timedelta(days=3 * 366):
        raise CommandError(texts.date_too_far(cmd.words[0]))
    feedback_due = filings.instruction_feedback_due(ctx.cal, ctx.roster.filings, notice_due)
    if feedback_due <= ctx.now:
        raise CommandError(texts.feedback_already_due(cmd.words[0], ctx.when(feedback_due)))
    name = cmd.text.strip()
    _unique_name(ctx, name, None)
    matter = Matter(
        name=name,
        category=INSTRUCTION,
        star=False,
        platform="区网上督查室",
        department=dept_name,
        owner=dept.clerks[0],
        deputy=dept.deputy,
        status="open",
        note="",
        created_at=ctx.now,
        notice_due=notice_due,
        checklist={},
    )
    ctx.session.add(matter)
    ctx.session.flush()
    log(ctx.session, matter, ctx.now, ctx.actor, "created", f"{INSTRUCTION}·{dept_name}")
    setup_instruction(ctx.session, ctx.roster, ctx.cal, ctx.now, matter)
    ensure_filings(ctx.session, ctx.roster, ctx.cal, ctx.now, [matter])  # next month's report
    assert matter.sign_due is not None and matter.feedback_due is not None
    sign_due, feedback_due = matter.sign_due, matter.feedback_due
    text = texts.instruction_new(
        label(matter), ctx.when(sign_due), ctx.when(feedback_due), notice_due
    )
    ctx.send(to_group(dept.group, text))
    _notify(ctx, dept.clerks, text)
    return texts.instruction_registered(
        label(matter), dept_name, ctx.when(sign_due), ctx.when(feedback_due)
    )


def setup_instruction(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> None:
    """A 批示件's 签收 and 反馈 deadlines and their rows, made or moved to match the item (by
    the 批示件 command, or by an import that adds one or corrects its notice's deadline)."""
    rules = roster.filings
    if matter.sign_due is None:
        matter.sign_due = filings.instruction_sign_due(cal, rules, matter.created_at)
    matter.feedback_due = (
        filings.instruction_feedback_due(cal, rules, matter.notice_due)
        if matter.notice_due
        else None
    )
    rows = {
        r.kind: r
        for r in session.scalars(
            select(Filing).where(Filing.matter_id == matter.id, Filing.kind != "monthly")
        )
    }
    wanted = [("sign", matter.sign_due, matter.sign_due.astimezone(cal.tz).date())]
    if matter.feedback_due is not None and matter.notice_due is not None:
        wanted.append(("feedback", matter.feedback_due, matter.notice_due))
    elif "feedback" in rows and rows["feedback"].done_at is None:
        session.delete(rows.pop("feedback"))
    for kind, due_at, node in wanted:
        row = rows.get(kind)
        if row is not None and (row.done_at is not None or row.due_at == due_at):
            continue
        if row is None:
            row = Filing(matter_id=matter.id, kind=kind, period=kind, overdue=False)
            session.add(row)
        row.node, row.due_at = node, due_at
        if row.overdue or due_at <= now:
            continue  # already on the record as late, or late now: the sweeper tells
        _start_row(cal, roster, row, matter, now)
    session.flush()


def _date(word: str) -> dt.date | None:
    text = (
        word.strip()
        .replace("/", "-")
        .replace(".", "-")
        .replace("年", "-")
        .replace("月", "-")
        .rstrip("日")
    )
    try:
        return dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
    except ValueError:
        return None


def _instruction(ctx: Ctx, cmd: Command) -> Matter:
    matter = find_matter(ctx, cmd.ref or "")
    if matter.category != INSTRUCTION:
        raise CommandError(texts.not_instruction(label(matter)))
    _open(ctx, matter)
    return matter


def _deadline_row(ctx: Ctx, matter: Matter, kind: str) -> Filing:
    row = ctx.session.scalars(
        select(Filing).where(Filing.matter_id == matter.id, Filing.kind == kind)
    ).first()
    if row is None:  # an imported 批示件 without the notice's deadline
        raise CommandError(texts.no_deadline(label(matter), texts.FILING_KINDS[kind]))
    return row


@router.command("签收", ["ref"], "签收 <事项>", "批示件已在区网上督查室签收", DEPT)
def sign(ctx: Ctx, cmd: Command) -> str:
    matter = _instruction(ctx, cmd)
    _require_dept(ctx, matter)
    matter.signed_at, matter.signed_by = ctx.now, ctx.actor
    return _mark_done(ctx, matter, _deadline_row(ctx, matter, "sign"))


@router.command(
    "已反馈", ["ref"], "已反馈 <事项>", "批示件反馈材料已录入平台（经分管局领导同意）", DEPT
)
def feedback(ctx: Ctx, cmd: Command) -> str:
    matter = _instruction(ctx, cmd)
    _require_dept(ctx, matter)
    matter.feedback_at = ctx.now
    return _mark_done(ctx, matter, _deadline_row(ctx, matter, "feedback"))


@router.command(
    "进展",
    ["ref", "text"],
    "进展 <事项> <1、目前进展… 2、难点问题… 3、下一步打算…>",
    "批示件每月跟踪办理情况（按模板，检查字数）",
    DEPT,
)
def progress(ctx: Ctx, cmd: Command) -> str:
    matter = _instruction(ctx, cmd)
    _require_dept(ctx, matter)
    check = reports.check_report(cmd.text, ctx.roster.filings.report_limits)
    if check.problems:
        raise CommandError(texts.report_refused(label(matter), check.problems))
    row = _monthly_row(ctx, matter, "")
    if row is None or row.done_at is not None:
        log(ctx.session, matter, ctx.now, ctx.actor, "report", texts.excerpt(cmd.text, 60))
        return texts.report_kept(label(matter))
    return _mark_done(ctx, matter, row, report=cmd.text)


@router.command(
    "闭环",
    ["ref", "word"],
    "闭环 <事项> <报区主要领导/传阅办公室/抄报区委督查室>",
    "批示件办结闭环的一步；三步齐全即办结",
    ["clerk", "dept_head", "office_admin"],
)
def closure(ctx: Ctx, cmd: Command) -> str:
    matter = _instruction(ctx, cmd)
    step = cmd.words[0]
    if step not in CLOSURE_STEPS:
        raise CommandError(texts.usage(cmd.spec.usage))
    if CLOSURE_STEPS[step] == "office":
        if not ctx.roles.has("office_admin"):
            raise CommandError(texts.closure_by_office(step))
    else:
        _require_dept(ctx, matter)
    checklist = dict(matter.checklist or {})
    if step in checklist:
        raise CommandError(texts.closure_done_already(label(matter), step))
    checklist[step] = ctx.now.isoformat()
    matter.checklist = checklist
    log(ctx.session, matter, ctx.now, ctx.actor, "closure", step)
    missing = [s for s in CLOSURE_STEPS if s not in checklist]
    if missing:
        return texts.closure_progress(label(matter), step, missing)
    close(ctx.session, matter, ctx.now, ctx.actor, "闭环")
    office = ctx.roster.office
    ctx.send(to_group(office.group, texts.instruction_closed(label(matter))))
    return texts.instruction_closed(label(matter))


# --- lights, named criticism, the ladder ---------------------------------------------------


@router.command(
    "亮灯", ["ref", "word", "opt"], "亮灯 <事项> <绿/黄/红> [月份]", "记录区督查平台亮灯", OFFICE
)
def record_light(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    color = COLORS.get(cmd.words[0])
    if color is None:
        raise CommandError(texts.usage(cmd.spec.usage))
    period = _period(ctx, cmd.words[1] if len(cmd.words) > 1 else "")
    if period > filings.period_of(ctx.now, ctx.cal.tz):
        raise CommandError(texts.light_in_future(texts.period_label(period)))
    # Lights of the months before the item was registered may be entered (items are often
    # registered while already running), back to January of that year; never earlier.
    registered = filings.period_of(matter.created_at, ctx.cal.tz)
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
    ["ref", "word", "text?"],
    "点名 <事项> <区分管领导/区主要领导> [说明]",
    "记录在全区性会议上被点名批评",
    OFFICE,
)
def record_criticism(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    level = LEVELS.get(cmd.words[0])
    if level is None:
        raise CommandError(texts.usage(cmd.spec.usage))
    ctx.session.add(
        Criticism(matter_id=matter.id, level=level, at=ctx.now, by=ctx.actor, note=cmd.text)
    )
    log(
        ctx.session,
        matter,
        ctx.now,
        ctx.actor,
        "criticism",
        texts.CRITICISM_LEVELS[level] + (f" {cmd.text}" if cmd.text else ""),
    )
    ctx.session.flush()
    ctx.out.extend(check_ladder(ctx.session, ctx.roster, ctx.cal, ctx.now, matter))
    return texts.criticism_recorded(label(matter), texts.CRITICISM_LEVELS[level], matter.star)


@router.command("约谈完成", ["ref", "text?"], "约谈完成 <事项> [说明]", "约谈问询已开展", OFFICE)
def interview_held(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    rows = ctx.session.scalars(
        select(Interview).where(Interview.matter_id == matter.id, Interview.state == "open")
    ).all()
    if not rows:
        raise CommandError(texts.no_open_interview(label(matter)))
    for row in rows:
        row.state, row.closed_at, row.closed_by, row.note = "held", ctx.now, ctx.actor, cmd.text
    tier = max(r.tier for r in rows)
    log(
        ctx.session,
        matter,
        ctx.now,
        ctx.actor,
        "interview_held",
        texts.LADDER_TIER_NAMES[tier] + (f" {cmd.text}" if cmd.text else ""),
    )
    return texts.interview_held(label(matter), texts.LADDER_TIER_NAMES[tier])


def check_ladder(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> list[Outgoing]:
    """Open the interview a newly met condition calls for (★ items only); the notice goes to
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
    decision = ladder.decide(new, {i.tier for i in existing if i.state == "open"})
    for row in existing:
        if row.state == "open" and row.tier in decision.supersede:
            row.state, row.closed_at, row.closed_by = "superseded", now, "bot"
    dept = roster.department(matter.department)
    people = {
        "owner": matter.owner,
        "dept_head": dept.head if dept else "",
        "deputy": matter.deputy,
        "director": roster.director,
    }
    # one notice, one open interview naming all its rules; the other conditions are kept
    # (absorbed) so that they never fire again
    rows = [(f, "absorbed", f.rule, f.evidence) for f in decision.absorbed]
    if decision.open:
        head, *rest = decision.open
        rule = "；".join(f.rule for f in decision.open)
        evidence = "；".join(f.evidence for f in decision.open)
        rows += [(head, "open", rule, evidence)]
        rows += [(f, "absorbed", f.rule, f.evidence) for f in rest]
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
                state=state,
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
        to_user(u, text, texts.INTERVIEW_TITLE)
        for u in dict.fromkeys([interviewer, interviewee])
        if u
    ]
    if dept is not None:
        out.append(to_group(dept.group, text, texts.INTERVIEW_TITLE))
    return out


# --- the sweeper's part --------------------------------------------------------------------


def sweep_matters(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, digest: Digest
) -> list[Outgoing]:
    """Send every due reminder and escalation once (the rows are made by ensure_filings: once
    a day, and by the commands that change a matter). Returns the ladder notices that 超限
    records opened (not digested: each names one item)."""
    out: list[Outgoing] = []
    due = session.scalars(
        select(Filing)
        .where(Filing.done_at.is_(None), Filing.next_at.is_not(None), Filing.next_at <= now)
        .order_by(Filing.next_at)
    ).all()
    for row in due:
        assert row.next_at is not None
        if not deliverable(cal, row.next_at, now):
            continue
        matter = session.get(Matter, row.matter_id)
        if matter is None or matter.status != "open":
            continue
        moments = moments_of(cal, roster, row, matter)
        # the latest moment already due (an outage sends one message, not a burst)
        step = max(
            [i for i, m in enumerate(moments) if m <= now and i >= row.step], default=row.step
        )
        nxt = moments[step + 1] if step + 1 < len(moments) else None
        claimed = session.execute(
            update(Filing)
            .where(Filing.id == row.id, Filing.step == row.step, Filing.done_at.is_(None))
            .values(step=step + 1, next_at=nxt)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            continue  # another sweeper had it, or it was filed meanwhile
        session.refresh(row)
        planned = moments[step]
        suffix = (
            texts.late_suffix(texts.when(planned, cal.tz))
            if late_grace_passed(planned, now)
            else ""
        )
        what = _row_label(row)
        due_text = texts.when(row.due_at, cal.tz, row.provisional)
        dept = roster.department(matter.department)
        if step < len(moments) - 1:
            line = (
                texts.filing_reminder_line(
                    label(matter),
                    "report"
                    if row.kind == "monthly" and matter.category == INSTRUCTION
                    else row.kind,
                    what,
                    due_text,
                    matter.platform,
                )
                + suffix
            )
            digest.add("group", [dept.group if dept else ""], texts.FILING_REMINDER, line)
            digest.add(
                "oto", roster.people_for("clerk", matter.department), texts.FILING_REMINDER, line
            )
            log(session, matter, now, "bot", "nagged", what)
            continue
        row.overdue = True
        clerks = "、".join(roster.name(p) for p in roster.people_for("clerk", matter.department))
        line = texts.filing_overdue_line(label(matter), what, due_text, clerks) + suffix
        targets = roster.filings.escalate
        people = [
            p
            for role in targets
            if role != "office"
            for p in roster.people_for(role, matter.department)
        ]
        digest.add("oto", people, texts.FILING_ESCALATION, line)
        if "office" in targets:
            digest.add("group", [roster.office.group], texts.FILING_ESCALATION, line)
        row.escalated_at = now
        log(session, matter, now, "bot", "overdue", what)
        if row.kind == "monthly":
            out.extend(check_ladder(session, roster, cal, now, matter))
    return out


# --- statistics ----------------------------------------------------------------------------


@router.command("统计", ["opt"], "统计 [月份]", "各处室@件按时率、填报、亮灯、约谈", LEADERS)
def statistics(ctx: Ctx, cmd: Command) -> str:
    period = _period(ctx, cmd.words[0] if cmd.words else "")
    start, end = stats.month_window(period, ctx.cal.tz)
    figures = stats.department_stats(ctx.session, ctx.roster, start, end, ctx.now, tz=ctx.cal.tz)
    title = texts.stats_title(period)
    return Markdown(stats.render_summary(figures, title), title)


TODO_HORIZON_WORKDAYS = 5  # filings shown in 待办 this far ahead, and every overdue one


def todo_lines(ctx: Ctx) -> list[str]:
    """The person's registry work for 待办: their departments' (or their own items') filings and
    批示件 steps due soon or overdue, and the open interviews they hold, sit or must record."""
    roles, session = ctx.roles, ctx.session
    depts = roles.clerk_of | roles.head_of
    horizon = ctx.cal.add(ctx.now, TODO_HORIZON_WORKDAYS).at
    lines: list[str] = []
    rows = session.execute(
        select(Filing, Matter)
        .join(Matter, Filing.matter_id == Matter.id)
        .where(
            Matter.status == "open",
            Filing.done_at.is_(None),
            Filing.due_at <= horizon,
            (Matter.department.in_(sorted(depts)) | (Matter.owner == ctx.actor)),
        )
        .order_by(Filing.due_at, Filing.id)
    ).all()
    for row, matter in rows:
        what = texts.filing_label(row.kind, row.period, matter.category == INSTRUCTION)
        due = ctx.when(row.due_at, row.provisional)
        lines.append(texts.todo_filing(label(matter), what, due, ctx.late(row.due_at)))
    mine = Interview.interviewer == ctx.actor
    mine |= Interview.interviewee == ctx.actor
    query = select(Interview, Matter).join(Matter, Interview.matter_id == Matter.id)
    query = query.where(Interview.state == "open").order_by(Interview.id)
    if not roles.has("office_admin"):
        query = query.where(mine)
    for interview, matter in session.execute(query).all():
        text = texts.todo_interview(
            label(matter),
            texts.LADDER_TIER_NAMES[interview.tier],
            ctx.roster.name(interview.interviewer),
            ctx.roster.name(interview.interviewee),
        )
        lines.append(text)
    return lines
