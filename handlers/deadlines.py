"""Every obligation with a deadline, declared as data in one registry (``CLOCKS``).

A declaration says who must act, what meets the obligation, the reminders before the
deadline, the escalation ladder after it, which chats hear the reminders, and the texts (keys
into handlers/texts.py). Every moment of every clock is a row of one table
(``storage.models.Deadline``, its ``clock`` naming the declaration); the sweeper
(handlers/sweep.py) is one loop over the due rows that looks the declaration up, firing an
@件's rows itself, a 督办事项's through handlers/filings/sweep.py and the office's own dated
notices (the October 实事项目 declaration) through handlers/annual/declare.py. The planners
(handlers/clocks.py, handlers/filings/rows.py) read the offsets and ladders from here too;
adding a clock is one declaration below plus its texts.

Settings are named by their path in the roster (``rules.nag_before``,
``filings.remind_workdays_before``), so the office's edits apply. Reminder offsets: ``"half"``
(half-way through the window) or ``"1h"`` (working hours before the deadline), or an int N
(the start of the working day N working days before the due day). A ladder is a list of
steps, each a list of roles; the role ``office`` in a step means the office group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from config.roster import Roster

Subject = Literal["item", "matter", "office", "meeting", "task"]
Group = Literal["office", "department", ""]


@dataclass(frozen=True)
class Clock:
    name: str  # the timer's clock (items) or the row's kind (matters)
    # an @件 (rows with item_id), a 督办事项's deadline row (filing_id), or the office's own
    # dated notice (neither: the 实事项目 declaration reminder)
    subject: Subject
    actors: tuple[str, ...]  # the roles that must act (for the subject's department)
    met_by: tuple[str, ...]  # the commands that meet it (documentation, checked by a test)
    remind_title: str  # texts: the reminder digest's title
    remind_line: str  # texts: the reminder's line
    escalate_title: str = ""  # texts: the escalation digest's title
    escalate_line: str = ""  # texts: the escalation's line
    # items: the states in which the clock still waits; a hard case only (True), never (False)
    waiting: tuple[str, ...] = ()
    hard: bool | None = None
    reviewer_acts: bool = False  # a draft under review: its reviewer acts, not the clerk
    reminders: str | tuple[str | int, ...] = ()  # a setting's path, or the offsets themselves
    repeat: str = ""  # a setting's path: a reminder every N working days, no deadline
    ladder: str = ""  # a setting's path: the escalation steps (a flat list is one step)
    every: str = "rules.escalate_every_workdays"  # between escalation steps
    remind_group: Group = ""  # the group that gets the reminder besides the actors' 1:1
    escalate_office: bool = False  # the office group hears of every escalation
    owner_acts: bool = False  # a 督办事项's 负责人 acts (is reminded 1:1) besides ``actors``


ITEM_WAITS_REPLY = ("claimed", "review")


def _filing(name: str, met_by: str, reminders: str | tuple[str | int, ...] = "") -> Clock:
    """A deadline row the department's clerk meets by a command: reminded before (the
    department's group and the clerks), escalated after by ``[filings] escalate``."""
    return Clock(
        name,
        "matter",
        actors=("clerk",),
        met_by=(met_by,),
        reminders=reminders or "filings.remind_workdays_before",
        ladder="filings.escalate",
        remind_group="department",
        remind_title="FILING_REMINDER",
        remind_line="filing_reminder_line",
        escalate_title="FILING_ESCALATION",
        escalate_line="filing_overdue_line",
    )


CLOCKS: dict[str, Clock] = {
    c.name: c
    for c in (
        # --- @件 (街镇直通车) ---
        Clock(
            "triage",
            "item",
            actors=("office_admin",),
            met_by=("分派", "退回"),
            waiting=("new",),
            reminders="rules.nag_before",
            ladder="rules.escalate_triage",
            remind_group="office",
            escalate_office=True,
            remind_title="REMINDER",
            remind_line="nag_line",
            escalate_title="ESCALATION",
            escalate_line="overdue_line",
        ),
        Clock(
            "claim",
            "item",
            actors=("clerk",),
            met_by=("认领",),
            waiting=("assigned",),
            reminders="rules.nag_before",
            ladder="rules.escalate_claim",
            remind_group="department",
            escalate_office=True,
            remind_title="REMINDER",
            remind_line="nag_line",
            escalate_title="ESCALATION",
            escalate_line="overdue_line",
        ),
        Clock(
            "reply",
            "item",
            actors=("clerk",),
            met_by=("同意", "疑难"),
            waiting=ITEM_WAITS_REPLY,
            reviewer_acts=True,
            reminders="rules.nag_before",
            ladder="rules.escalate_reply",
            remind_group="department",
            escalate_office=True,
            remind_title="REMINDER",
            remind_line="nag_line",
            escalate_title="ESCALATION",
            escalate_line="overdue_line",
        ),
        Clock(
            # only the head can tell a hard case: 1:1 only, never the department's group
            "placeholder",
            "item",
            actors=("dept_head",),
            met_by=("疑难", "同意"),
            waiting=ITEM_WAITS_REPLY,
            hard=False,
            reminders="rules.nag_before",
            remind_title="REMINDER",
            remind_line="nag_line",
        ),
        Clock(
            # a hard case waits for its offline answer (a draft of it may be under review)
            "followup",
            "item",
            actors=("clerk", "dept_head"),
            met_by=("已线下答复",),
            waiting=("hard", "review"),
            hard=True,
            repeat="rules.followup_workdays",
            remind_title="FOLLOWUP",
            remind_line="followup_line",
        ),
        # --- 督办事项 (deadline rows) ---
        _filing("monthly", "已填报"),
        # a 批示件's monthly tracking report
        _filing("report", "进展"),
        _filing("sign", "签收", reminders=("half",)),
        _filing("feedback", "已反馈"),
        # 实事项目's half-year and year progress reports to 重大办 (attachment 2)
        _filing("half", "已填报"),
        _filing("year", "已填报"),
        Clock(
            # October: next year's 实事项目 to declare; once, on a working day, no deadline
            "declare",
            "office",
            actors=("office_admin", "clerk"),
            met_by=("新增事项",),
            reminders=(0,),
            remind_group="office",
            remind_title="DECLARE_TITLE",
            remind_line="declare_line",
        ),
        Clock(
            # a 双月例会 decision's 期限 (例会议定): its 负责人 carries it out
            "decision",
            "matter",
            actors=(),
            owner_acts=True,
            met_by=("议定完成",),
            reminders="filings.remind_workdays_before",
            ladder="filings.escalate",
            remind_group="department",
            remind_title="DECISION_REMINDER",
            remind_line="decision_reminder_line",
            escalate_title="FILING_ESCALATION",
            escalate_line="filing_overdue_line",
        ),
        # --- the 双月例会 ---
        Clock(
            # the agenda draft, once, N working days before the meeting (its deadline), to
            # the office group only (handlers.meetings.agenda)
            "agenda",
            "meeting",
            actors=(),
            met_by=(),
            reminders="meetings.agenda_offsets",
            remind_group="office",
            remind_title="AGENDA_TITLE",
            remind_line="agenda_line",
        ),
        # --- the year's task book ---
        Clock(
            # a task's 时间节点 (三(一) 任务分解制度): its 责任人 (a roster person) and the
            # department's group are reminded; the head and the office hear when it passed
            "milestone",
            "task",
            actors=(),
            owner_acts=True,
            met_by=("已完成",),
            reminders="taskbook.remind_workdays_before",
            ladder="taskbook.escalate",
            remind_group="department",
            remind_title="MILESTONE_REMINDER",
            remind_line="milestone_reminder_line",
            escalate_title="MILESTONE_ESCALATION",
            escalate_line="milestone_overdue_line",
        ),
    )
}


def clock(name: str) -> Clock:
    return CLOCKS[name]


def of_subject(subject: Subject) -> list[Clock]:
    return [c for c in CLOCKS.values() if c.subject == subject]


def setting(roster_rules: Any, path: str) -> Any:
    """A roster setting by its path: ``rules.nag_before`` from the roster's rules, or from
    a ``Rules`` / ``FilingRules`` given alone."""
    head, _, attr = path.partition(".")
    source = getattr(roster_rules, head, roster_rules)
    return getattr(source, attr)


def reminders(rules: Any, decl: Clock) -> list[str | int]:
    """The reminder offsets of a clock (see the module's docstring)."""
    if isinstance(decl.reminders, str):
        return list(setting(rules, decl.reminders)) if decl.reminders else []
    return list(decl.reminders)


def ladder(rules: Any, decl: Clock) -> list[list[str]]:
    """The escalation steps of a clock: each a list of roles (``office``: the office group)."""
    if not decl.ladder:
        return []
    steps = list(setting(rules, decl.ladder))
    if steps and all(isinstance(s, str) for s in steps):
        return [steps]  # one step of several roles
    return [list(s) for s in steps]


def text(key: str) -> Callable[..., str]:
    """A text function of handlers/texts.py by its key."""
    from handlers import texts

    found = getattr(texts, key)
    assert callable(found), key
    return found  # type: ignore[no-any-return]


def title(key: str) -> str:
    from handlers import texts

    found = getattr(texts, key)
    assert isinstance(found, str), key
    return found


# --- who hears of it ------------------------------------------------------------------------


def actors(
    roster: Roster, decl: Clock, department: str | None, reviewer: str | None = None
) -> list[str]:
    """The people who must act; ``reviewer``: the role reviewing the subject's draft now."""
    roles = (reviewer,) if decl.reviewer_acts and reviewer else decl.actors
    return [p for role in roles for p in roster.people_for(role, department)]


def remind_groups(roster: Roster, decl: Clock, department: str | None) -> list[str]:
    if decl.remind_group == "office":
        return [roster.office.group]
    if decl.remind_group == "department":
        dept = roster.department(department or "")
        return [dept.group if dept else ""]
    return []


def escalated(
    roster: Roster, decl: Clock, step: int, department: str | None
) -> tuple[list[str], list[str], list[str]]:
    """(roles, people, groups) told at escalation step ``step`` (past the ladder: nobody)."""
    steps = ladder(roster, decl)
    roles = steps[step] if step < len(steps) else []
    people = [p for role in roles if role != "office" for p in roster.people_for(role, department)]
    groups = [roster.office.group] if decl.escalate_office or "office" in roles else []
    return roles, people, groups
