"""The 双月例会 (document 三(三), 双月例会制度): the ``[meetings]`` table of the roster.

"每双月召开" reads as the even months (双月 as opposed to 单月, the odd ones): February, April,
June, August, October and December by default.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, StrictInt, field_validator

from config.categories import category


class MeetingRules(BaseModel):
    """When the meeting is held by default, when its agenda goes out, and what its decisions
    become."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The months of the meeting (1..12).
    months: list[StrictInt] = [2, 4, 6, 8, 10, 12]
    # Without a date set by 例会: this day of the month (moved to the previous working day
    # when it is not one), at this time.
    default_day: StrictInt = 25
    default_time: str = "14:00"
    # The agenda draft goes to the office group at the start of the working day this many
    # working days before the meeting.
    agenda_workdays_before: StrictInt = 3
    # A decision that assigns work (例会议定) becomes a 督办事项 of this category.
    decision_category: str = "局重点工作"

    @field_validator("months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("name at least one month, e.g. [2, 4, 6, 8, 10, 12]")
        for month in value:
            if not 1 <= month <= 12:
                raise ValueError(f"{month} is not a month (1..12)")
            if value.count(month) > 1:
                raise ValueError(f"{month} is listed twice")
        return sorted(value)

    @field_validator("default_day")
    @classmethod
    def _day(cls, value: int) -> int:
        if not 1 <= value <= 31:
            raise ValueError(f"{value} is not a day of the month (1..31)")
        return value

    @field_validator("default_time")
    @classmethod
    def _time(cls, value: str) -> str:
        try:
            dt.time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time such as 14:00") from None
        return value

    @field_validator("agenda_workdays_before")
    @classmethod
    def _lead(cls, value: int) -> int:
        if not 0 <= value <= 20:
            raise ValueError(f"{value}: working days before the meeting, 0 to 20")
        return value

    @field_validator("decision_category")
    @classmethod
    def _category(cls, value: str) -> str:
        found = category(value)
        if found is None:
            raise ValueError(f"{value!r} is not a category (e.g. 局重点工作)")
        if found.name == "领导批示件":
            raise ValueError("a decision cannot be a 领导批示件 (it has its own clocks)")
        return found.name

    @property
    def agenda_offsets(self) -> list[int]:
        """The agenda as the meeting's one reminder (handlers.deadlines offsets)."""
        return [self.agenda_workdays_before]

    @property
    def time(self) -> dt.time:
        return dt.time.fromisoformat(self.default_time)
