"""The roster the office edits (TOML): people, the office, leaders, departments, towns, rules.

A wrong roster stops start-up with every problem listed by its key, e.g.
``departments[2].clerks[0]: 'u-x' is not in [[people]]``.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.filings import FilingRules
from config.interviews import InterviewRules
from config.meetings import MeetingRules
from config.reports import ReportRules
from config.score import ScoreRules
from config.taskbook import TaskbookRules

DEFAULT_PLACEHOLDER = "该政策咨询/问题已收到，经研判需集体讨论，我局将尽快在线下回复贵街道（镇）。"

Role = Literal["office_admin", "office_head", "clerk", "dept_head", "deputy", "director"]
ROLE_NAMES: dict[str, str] = {
    "office_admin": "局办公室督办岗",
    "office_head": "办公室负责人",
    "clerk": "处室内勤",
    "dept_head": "处室负责人",
    "deputy": "分管局领导",
    "director": "局主要领导",
}
LADDER_ROLES = ("office_head", "office_admin", "dept_head", "deputy", "director")


class RosterError(ValueError):
    """The roster is wrong; the message lists each problem with its key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    mobile: str = ""


class Office(_Strict):
    group: str = Field(min_length=1)
    admins: list[str] = Field(min_length=1)
    head: str = Field(min_length=1)


class Leaders(_Strict):
    director: str = Field(min_length=1)


class Department(_Strict):
    name: str = Field(min_length=1)
    aliases: list[str] = []
    group: str = Field(min_length=1)
    head: str = Field(min_length=1)
    clerks: list[str] = Field(min_length=1)
    deputy: str = Field(min_length=1)


class Town(_Strict):
    name: str = Field(min_length=1)
    conversations: list[str] = Field(min_length=1)


class Rules(_Strict):
    """Clock lengths (working days), reminders and escalation ladders."""

    triage_workdays: Fraction = Fraction(1, 2)
    claim_workdays: Fraction = Fraction(1, 2)
    reply_workdays: Fraction = Fraction(5, 2)
    placeholder_workdays: Fraction = Fraction(2)
    accept_basis: Literal["claim", "receipt"] = "claim"
    # Reminders before each deadline: "half" (half-way through the window) or working hours.
    nag_before: list[str] = ["half", "1h"]
    # Who is alerted when a clock runs out; each next step follows after escalate_every.
    escalate_triage: list[list[str]] = [["office_head"]]
    escalate_claim: list[list[str]] = [["dept_head"], ["deputy"]]
    escalate_reply: list[list[str]] = [["dept_head", "deputy"], ["director"]]
    escalate_every_workdays: Fraction = Fraction(1, 2)
    followup_workdays: Fraction = Fraction(2)  # reminders while a hard case is open
    placeholder_text: str = Field(default=DEFAULT_PLACEHOLDER, min_length=1)

    @field_validator(
        "triage_workdays",
        "claim_workdays",
        "reply_workdays",
        "placeholder_workdays",
        "escalate_every_workdays",
        "followup_workdays",
        mode="before",
    )
    @classmethod
    def _fraction(cls, value: object) -> Fraction:
        try:
            result = Fraction(str(value))
        except (ValueError, ZeroDivisionError):
            raise ValueError("a number of working days, e.g. 0.5") from None
        if result <= 0:
            raise ValueError("must be more than 0")
        return result

    @field_validator("nag_before")
    @classmethod
    def _nags(cls, value: list[str]) -> list[str]:
        for item in value:
            if item != "half" and parse_hours_before(item) is None:
                raise ValueError(f"{item!r}: write 'half' or working hours like '1h' or '0.5h'")
        return value

    @field_validator("escalate_triage", "escalate_claim", "escalate_reply")
    @classmethod
    def _ladder(cls, value: list[list[str]]) -> list[list[str]]:
        for step in value:
            for role in step:
                if role not in LADDER_ROLES:
                    raise ValueError(f"{role!r}: roles are {', '.join(LADDER_ROLES)}")
        return value


def parse_hours_before(text: str) -> Fraction | None:
    if not text.endswith("h"):
        return None
    try:
        hours = Fraction(text[:-1])
    except (ValueError, ZeroDivisionError):
        return None
    return hours if hours > 0 else None


class RosterFile(_Strict):
    office: Office
    leaders: Leaders
    people: list[Person] = Field(min_length=1)
    departments: list[Department] = Field(min_length=1)
    towns: list[Town] = []
    rules: Rules = Rules()
    filings: FilingRules = FilingRules()
    reports: ReportRules = ReportRules()
    interviews: InterviewRules = InterviewRules()
    meetings: MeetingRules = MeetingRules()
    score: ScoreRules = ScoreRules()
    taskbook: TaskbookRules = TaskbookRules()


def normalize_name(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


@dataclass(frozen=True)
class Roles:
    """What one person may do: their roles and the departments they act for."""

    roles: frozenset[str]
    clerk_of: frozenset[str] = frozenset()
    head_of: frozenset[str] = frozenset()
    deputy_of: frozenset[str] = frozenset()

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass
class Roster:
    data: RosterFile
    people: dict[str, Person] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)  # name and aliases
    towns_by_conversation: dict[str, Town] = field(default_factory=dict)
    towns: dict[str, Town] = field(default_factory=dict)

    @property
    def rules(self) -> Rules:
        return self.data.rules

    @property
    def filings(self) -> FilingRules:
        return self.data.filings

    @property
    def interviews(self) -> InterviewRules:
        return self.data.interviews

    @property
    def meetings(self) -> MeetingRules:
        return self.data.meetings

    @property
    def score(self) -> ScoreRules:
        return self.data.score

    @property
    def taskbook(self) -> TaskbookRules:
        return self.data.taskbook

    @property
    def office(self) -> Office:
        return self.data.office

    @property
    def director(self) -> str:
        return self.data.leaders.director

    def name(self, user_id: str | None) -> str:
        person = self.people.get(user_id or "")
        return person.name if person else (user_id or "")

    def department(self, name: str) -> Department | None:
        return self.departments.get(normalize_name(name))

    @property
    def bureau_groups(self) -> frozenset[str]:
        """The bureau's own groups (the office's and the departments'), where bureau business
        may be discussed; every other group may have towns or outsiders in it."""
        return frozenset([self.office.group, *(d.group for d in self.data.departments)])

    def town(self, name: str) -> Town | None:
        return self.towns.get(normalize_name(name))

    def roles_of(self, user_id: str | None) -> Roles:
        if not user_id or user_id not in self.people:
            return Roles(frozenset())
        roles: set[str] = set()
        office = self.office
        if user_id in office.admins:
            roles.add("office_admin")
        if user_id == office.head:
            roles.add("office_head")
        if user_id == self.director:
            roles.add("director")
        clerk, head, deputy = set(), set(), set()
        for dept in self.data.departments:
            if user_id in dept.clerks:
                clerk.add(dept.name)
            if user_id == dept.head:
                head.add(dept.name)
            if user_id == dept.deputy:
                deputy.add(dept.name)
        roles |= {r for r, s in (("clerk", clerk), ("dept_head", head), ("deputy", deputy)) if s}
        return Roles(frozenset(roles), frozenset(clerk), frozenset(head), frozenset(deputy))

    def works_in(self, user_id: str) -> list[str]:
        """The departments whose head or clerk the person is."""
        return [d.name for d in self.data.departments if user_id == d.head or user_id in d.clerks]

    def owner_elsewhere(self, user_id: str, department: str) -> list[str]:
        """The other departments of someone who works in departments but not in this one
        (empty when they may own its matters: its own people and those of no department)."""
        mine = self.works_in(user_id)
        return [] if department in mine else mine

    def people_for(self, role: str, department: str | None) -> list[str]:
        """The userIds holding ``role`` (for the department, where it has one)."""
        dept = self.department(department) if department else None
        if role == "office_admin":
            return list(self.office.admins)
        if role == "office_head":
            return [self.office.head]
        if role == "director":
            return [self.director]
        if dept is None:
            return []
        return {"clerk": list(dept.clerks), "dept_head": [dept.head], "deputy": [dept.deputy]}.get(
            role, []
        )


def _loc(parts: tuple[str | int, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def build_roster(raw: object, source: str = "roster") -> Roster:
    try:
        data = RosterFile.model_validate(raw)
    except ValidationError as exc:
        found = [f"{_loc(tuple(e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise RosterError(f"{source}: " + "\n  ".join(["invalid roster:", *found])) from None
    problems: list[str] = []
    roster = Roster(data)
    for i, person in enumerate(data.people):
        if person.id in roster.people:
            problems.append(f"people[{i}].id: {person.id!r} is listed twice")
        roster.people[person.id] = person

    def known(key: str, user_id: str) -> None:
        if user_id not in roster.people:
            problems.append(f"{key}: {user_id!r} is not in [[people]]")

    for i, admin in enumerate(data.office.admins):
        known(f"office.admins[{i}]", admin)
    known("office.head", data.office.head)
    known("leaders.director", data.leaders.director)
    groups: dict[str, str] = {data.office.group: "office.group"}
    for i, dept in enumerate(data.departments):
        key = f"departments[{i}]"
        known(f"{key}.head", dept.head)
        known(f"{key}.deputy", dept.deputy)
        for j, clerk in enumerate(dept.clerks):
            known(f"{key}.clerks[{j}]", clerk)
            if clerk == dept.head:
                problems.append(
                    f"{key}.clerks[{j}]: {clerk!r} is also {key}.head"
                    " (a head approves the clerks' drafts, never their own)"
                )
        for j, name in enumerate([dept.name, *dept.aliases]):
            label = f"{key}.name" if j == 0 else f"{key}.aliases[{j - 1}]"
            norm = normalize_name(name)
            if norm in roster.departments:
                problems.append(f"{label}: {name!r} is already a department name or alias")
            roster.departments[norm] = dept
        if dept.group in groups:
            problems.append(f"{key}.group: {dept.group!r} is already used by {groups[dept.group]}")
        groups[dept.group] = f"{key}.group"
    for i, town in enumerate(data.towns):
        norm = normalize_name(town.name)
        if norm in roster.towns:
            problems.append(f"towns[{i}].name: {town.name!r} is listed twice")
        roster.towns[norm] = town
        for j, cid in enumerate(town.conversations):
            if cid in roster.towns_by_conversation or cid in groups:
                problems.append(f"towns[{i}].conversations[{j}]: {cid!r} is used twice")
            roster.towns_by_conversation[cid] = town
    if problems:
        raise RosterError(f"{source}: " + "\n  ".join(["invalid roster:", *problems]))
    return roster


def load_roster(path: Path) -> Roster:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RosterError(f"{path}: the roster file does not exist (BOT_ORG_FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot read the roster: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RosterError(f"{path}: not valid TOML: {exc}") from None
    return build_roster(raw, str(path))
