"""Monthly filing rules (attachment 6 and 月度统计制度) and 领导批示件 rules (attachment 1).

The ``[filings]`` table of the roster. Superiors move the nodes, so they are configuration.
``nodes`` replaces the defaults as a whole: a category left out has no monthly node.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictInt, field_validator, model_validator

from config.categories import category

ESCALATE_ROLES = ("dept_head", "deputy", "director", "office")

DEFAULT_NODES: dict[str, int] = {
    "领导批示件": 6,
    "区委区政府重点工作": 20,
    "历史遗留问题攻坚": 20,
    "局重点工作": 20,
    "实事项目": 25,
    "民心工程": 28,
}
# 月度统计制度: matters off the three platforms reach the office 1 working day before the
# district's node; 局重点工作's 20th is the bureau's own node (attachment 6's note), no lead.
LEAD_DEFAULT_KEY = "default"
DEFAULT_OFFICE_LEAD: dict[str, int] = {LEAD_DEFAULT_KEY: 1, "局重点工作": 0}
DEFAULT_REPORT_LIMITS: dict[str, int] = {"目前进展": 500, "难点问题": 300, "下一步打算": 200}
# Categories whose submissions the 分管局领导 approves before they count (attachment 1: 情况反馈
# and 跟踪反馈 "经分管局领导审核同意后"); a 批示件's 签收 never needs it.
DEFAULT_APPROVAL: list[str] = ["领导批示件"]

INSTRUCTION = "领导批示件"


class Part(BaseModel):
    """One part of a filing template: a text (at most ``limit`` characters without
    whitespace) or a percentage (0..100, not below the matter's last filing unless the
    template's ``note`` part explains)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["text", "percentage"] = "text"
    limit: StrictInt | None = None  # text only; None: no limit
    required: bool = True
    column: str = ""  # the compiled table's column; "": the part's own name

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a part needs a name")
        return value.strip()

    @model_validator(mode="after")
    def _limit(self) -> Part:
        if self.kind == "percentage" and self.limit is not None:
            raise ValueError(f"{self.name!r}: a percentage has no limit")
        if self.limit is not None and self.limit <= 0:
            raise ValueError(f"{self.name!r}: the limit must be more than 0 characters")
        return self

    @property
    def heading(self) -> str:
        return self.column or self.name


class Template(BaseModel):
    """What a category's monthly filing says (attachments 1 and 2), and how the office's
    compiled document lays it out: ``table`` (one row per matter, the 月报表) or
    ``sections`` (each matter's parts as headed sections, the 简报)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    layout: Literal["table", "sections"] = "sections"
    parts: list[Part]
    note: str = ""  # the part that explains a falling percentage (备注); "": none

    @model_validator(mode="after")
    def _parts(self) -> Template:
        names = [p.name for p in self.parts]
        if not names:
            raise ValueError("parts: name at least one part")
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"parts: {name!r} is listed twice")
        if not any(p.required for p in self.parts):
            raise ValueError("parts: at least one part must be required")
        if self.note:
            part = next((p for p in self.parts if p.name == self.note), None)
            if part is None or part.kind != "text":
                raise ValueError(f"note: {self.note!r} is not a text part of this template")
        return self


def instruction_template(limits: dict[str, int]) -> Template:
    """Attachment 1's 批示件进展报送模板, from ``report_limits``."""
    return Template(
        title="领导批示件跟踪办理情况",
        parts=[Part(name=name, limit=limit) for name, limit in limits.items()],
    )


# Attachment 2. The document sets no length for these parts: the limits are generous defaults.
DEFAULT_TEMPLATES: dict[str, Template] = {
    "实事项目": Template(
        title="浦东新区为民办实事项目建设进度月报表",
        layout="table",
        note="备注",
        parts=[
            Part(name="证照办理情况", limit=300, column="项目完成情况"),
            Part(name="本月进展情况", limit=500, column="项目完成情况"),
            Part(name="下月主要工作安排", limit=300, column="项目完成情况"),
            Part(name="累计完成进度", kind="percentage", column="累计完成进度（%）"),
            Part(name="备注", limit=200, required=False),
        ],
    ),
    "民心工程": Template(
        title="新区民心工程简报",
        parts=[
            Part(name="进展情况", limit=800),
            Part(name="存在问题", limit=500),
            Part(name="下一步工作", limit=500),
        ],
    ),
}


class AnnualRules(BaseModel):
    """实事项目's year (attachment 2): "局办公室牵头各处室每年10月申报下一年度实施项目计划 ...
    向重大办报告月度、半年度、年度实事项目的进展情况。因特殊原因需要调整计划的，由相关处室提出调整
    申请，经区政府分管领导同意后，由局办公室报新区重大办备案。" The document gives no day for the
    declaration nor for the half-year and year reports: these are the bot's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The categories with a yearly plan: declared each year, half-year and year reports, plan
    # changes. Stored under the canonical names.
    categories: list[str] = ["实事项目"]
    # The declaration reminder: on the first working day on or after this day of this month.
    declare_month: StrictInt = 10
    declare_day: StrictInt = 1
    # The half-year report is due on this day of July, the year report on this day of the
    # next January (moved and led like a monthly node: ``move``, ``office_lead_workdays``).
    half_year_due_day: StrictInt = 10
    year_due_day: StrictInt = 10

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for key in value:
            found = category(key)
            if found is None:
                raise ValueError(f"{key!r} is not a category (e.g. 实事项目)")
            if found.name in out:
                raise ValueError(f"{key!r} is listed twice")
            out.append(found.name)
        return out

    @field_validator("declare_month")
    @classmethod
    def _month(cls, value: int) -> int:
        if not 1 <= value <= 12:
            raise ValueError(f"{value} is not a month (1..12)")
        return value

    @field_validator("declare_day", "half_year_due_day", "year_due_day")
    @classmethod
    def _day(cls, value: int) -> int:
        if not 1 <= value <= 31:
            raise ValueError(f"{value} is not a day of the month (1..31)")
        return value


class FilingRules(BaseModel):
    """When monthly filings are due, who is reminded and told, and the 批示件 clocks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Category (name or alias) -> day of the month; stored under the canonical name.
    nodes: dict[str, StrictInt] = DEFAULT_NODES
    # A node on a non-working day moves to the previous ("before") or next working day.
    move: Literal["before", "after"] = "before"
    # Matters not on the three district platforms (platform "无") are due at the office this
    # many working days earlier, per category ("default": the others). A table replaces the
    # defaults as a whole; the old single number N reads as {default = N, 局重点工作 = 0}.
    office_lead_workdays: dict[str, StrictInt] = DEFAULT_OFFICE_LEAD
    # Reminders this many working days before the due day (0: on the day), sorted descending.
    remind_workdays_before: list[StrictInt] = [3, 1, 0]
    # Who is told once the due day has passed.
    escalate: list[str] = ["dept_head", "office"]
    # 领导批示件: sign within this many working days of registration; feedback this many
    # working days before the notice's deadline; the progress report's parts and limits.
    instruction_sign_workdays: Fraction = Fraction(1)
    instruction_feedback_lead_workdays: StrictInt = 1
    report_limits: dict[str, StrictInt] = DEFAULT_REPORT_LIMITS
    # Categories (names or aliases; stored canonical) whose monthly filings, and a 批示件's
    # feedback, count only once the matter's 分管局领导 approved them ([] : none).
    approval: list[str] = DEFAULT_APPROVAL

    @field_validator("approval")
    @classmethod
    def _approval(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        problems: list[str] = []
        for key in value:
            found = category(key)
            if found is None:
                problems.append(f"{key!r} is not a category (e.g. 领导批示件, 局重点工作)")
            elif found.name in out:
                problems.append(f"{key!r}: the same category is listed twice")
            else:
                out.append(found.name)
        if problems:
            raise ValueError("; ".join(problems))
        return out

    # Category -> its filing template; given ones replace the defaults of their category,
    # an empty ``parts`` list removes a default (a bare 已填报). 领导批示件's comes from
    # report_limits unless given here.
    templates: dict[str, Template] = DEFAULT_TEMPLATES

    def template(self, category_name: str) -> Template | None:
        """The filing template of a category (canonical name), or None: a bare 已填报."""
        if category_name == INSTRUCTION and INSTRUCTION not in self.templates:
            return instruction_template(self.report_limits)
        return self.templates.get(category_name)

    @property
    def templated(self) -> list[str]:
        """The categories with a template and a monthly node."""
        return [c for c in self.nodes if self.template(c) is not None]

    # 实事项目's year: the declaration reminder, half-year and year reports, plan changes.
    annual: AnnualRules = AnnualRules()

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, value: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        given: dict[str, str] = {}
        problems: list[str] = []
        for key, day in value.items():
            found = category(key)
            if found is None:
                problems.append(f"{key!r} is not a category (e.g. 领导批示件, 局重点工作)")
                continue
            if not 1 <= day <= 31:
                problems.append(f"{key!r}: {day} is not a day of the month (1..31)")
            if found.name in given:
                problems.append(f"{key!r}: the same category as {given[found.name]!r}")
            given[found.name] = key
            out[found.name] = day
        if problems:
            raise ValueError("; ".join(problems))
        return out

    @field_validator("templates", mode="before")
    @classmethod
    def _templates(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        out: dict[str, object] = dict(DEFAULT_TEMPLATES)
        given: dict[str, str] = {}
        problems: list[str] = []
        for key, template in value.items():
            found = category(str(key))
            if found is None:
                problems.append(f"{key!r} is not a category (e.g. 实事项目, 民心工程)")
                continue
            if found.name in given:
                problems.append(f"{key!r}: the same category as {given[found.name]!r}")
            given[found.name] = str(key)
            if isinstance(template, dict) and template.get("parts") == []:
                out.pop(found.name, None)  # no template: a bare 已填报
            else:
                out[found.name] = template
        if problems:
            raise ValueError("; ".join(problems))
        return out

    @field_validator("office_lead_workdays", mode="before")
    @classmethod
    def _lead_scalar(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return {**DEFAULT_OFFICE_LEAD, LEAD_DEFAULT_KEY: value}
        return value

    @field_validator("office_lead_workdays")
    @classmethod
    def _leads(cls, value: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {LEAD_DEFAULT_KEY: DEFAULT_OFFICE_LEAD[LEAD_DEFAULT_KEY]}
        problems: list[str] = []
        for key, days in value.items():
            name = key.strip()
            if name != LEAD_DEFAULT_KEY:
                found = category(name)
                if found is None:
                    problems.append(f"{key!r} is not a category (or 'default')")
                    continue
                name = found.name
            if days < 0:
                problems.append(f"{key!r}: {days}: a number of working days, 0 or more")
            out[name] = days
        if problems:
            raise ValueError("; ".join(problems))
        return out

    @model_validator(mode="after")
    def _one_instruction_template(self) -> FilingRules:
        if INSTRUCTION in self.templates and "report_limits" in self.model_fields_set:
            raise ValueError(
                "templates: set the 领导批示件 parts either in report_limits or in "
                "templates.领导批示件, not both"
            )
        return self

    def office_lead(self, category_name: str) -> int:
        """The office's lead, in working days, for a platform-"无" matter of the category."""
        return self.office_lead_workdays.get(
            category_name, self.office_lead_workdays[LEAD_DEFAULT_KEY]
        )

    @field_validator("instruction_feedback_lead_workdays")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("a number of working days, 0 or more")
        return value

    @field_validator("remind_workdays_before")
    @classmethod
    def _reminders(cls, value: list[int]) -> list[int]:
        return reminder_days(value)

    @field_validator("escalate")
    @classmethod
    def _escalate(cls, value: list[str]) -> list[str]:
        return escalation_roles(value)

    @field_validator("instruction_sign_workdays", mode="before")
    @classmethod
    def _fraction(cls, value: object) -> Fraction:
        if isinstance(value, bool):
            raise ValueError("a number of working days, e.g. 1 or 0.5")
        try:
            result = Fraction(str(value))
        except (ValueError, ZeroDivisionError):
            raise ValueError("a number of working days, e.g. 1 or 0.5") from None
        if result <= 0:
            raise ValueError("must be more than 0")
        return result

    @field_validator("report_limits")
    @classmethod
    def _limits(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("name at least one part, e.g. 目前进展 = 500")
        for name, limit in value.items():
            if not name.strip():
                raise ValueError("a part needs a name")
            if limit <= 0:
                raise ValueError(f"{name!r}: the limit must be more than 0 characters")
        return {name.strip(): limit for name, limit in value.items()}


def reminder_days(value: list[int]) -> list[int]:
    """A ``remind_workdays_before`` list (filings, task-book milestones): each day once, 0 or
    more, sorted descending."""
    for days in value:
        if days < 0:
            raise ValueError(f"{days}: working days before the due day, 0 or more")
        if value.count(days) > 1:
            raise ValueError(f"{days} is listed twice")
    return sorted(value, reverse=True)


def escalation_roles(value: list[str]) -> list[str]:
    """An ``escalate`` list (filings, task-book milestones): known roles, each once."""
    for role in value:
        if role not in ESCALATE_ROLES:
            raise ValueError(f"{role!r}: roles are {', '.join(ESCALATE_ROLES)}")
        if value.count(role) > 1:
            raise ValueError(f"{role!r} is listed twice")
    return value
