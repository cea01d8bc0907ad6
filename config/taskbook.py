"""The year's task book (document 三(一), 任务分解制度): the ``[taskbook]`` table of the roster.

The document asks whether "完成情况与年初计划差距明显" without a measure: a task is read as
clearly behind its plan when a 时间节点 is still unmet this many working days after its day (or
when the office marks it 滞后)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictInt, field_validator

from config.filings import escalation_roles, reminder_days


class TaskbookRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A milestone unmet more than this many working days after its day: the task is behind.
    behind_workdays: StrictInt = 10
    # Reminders at the start of the working day this many working days before a milestone.
    remind_workdays_before: list[StrictInt] = [5, 1]
    # Who hears when a milestone passed unmet (roles; "office": the office group).
    escalate: list[str] = ["dept_head", "office"]

    @field_validator("behind_workdays")
    @classmethod
    def _behind(cls, value: int) -> int:
        if value < 0:
            raise ValueError("behind_workdays must be 0 or more")
        return value

    @field_validator("remind_workdays_before")
    @classmethod
    def _remind(cls, value: list[int]) -> list[int]:
        return reminder_days(value)

    @field_validator("escalate")
    @classmethod
    def _escalate(cls, value: list[str]) -> list[str]:
        return escalation_roles(value)
