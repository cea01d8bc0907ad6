"""The office's reports (document 三(三), 三(四)): when each is made and what it covers.

The ``[reports]`` table of the roster. A quarterly 督查情况报告 is made in each of
``quarter_months`` and covers the ``quarter_span_months`` full months before that month; the
half-year report (for the 局长办公会) covers January-June or July-December and the year report
the calendar year. Drafts go to the office group on the ``draft_workday``-th working day of the
month a report is made in (the half-year's and the year's: the month after they end).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, field_validator


class ReportRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Months (1-12) the quarterly report is made in; the n-th is report "YYYYQn".
    quarter_months: list[StrictInt] = [2, 5, 8, 11]
    # How many full months before its month a quarterly report covers.
    quarter_span_months: StrictInt = 3
    # The draft goes on this working day of the report month (1: the first).
    draft_workday: StrictInt = 1
    # Send the drafts on schedule at all (the 报告 command works either way).
    schedule: StrictBool = True
    # The half-year and year reports for the 局长办公会, drafted after each half and year.
    half_year: StrictBool = True
    year: StrictBool = True

    @field_validator("quarter_months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if not 1 <= len(value) <= 4:
            raise ValueError("one to four months, e.g. [2, 5, 8, 11]")
        for month in value:
            if not 1 <= month <= 12:
                raise ValueError(f"{month}: a month is 1 to 12")
        if sorted(set(value)) != value:
            raise ValueError("months in order, each once, e.g. [2, 5, 8, 11]")
        return value

    @field_validator("quarter_span_months")
    @classmethod
    def _span(cls, value: int) -> int:
        if not 1 <= value <= 12:
            raise ValueError("1 to 12 months")
        return value

    @field_validator("draft_workday")
    @classmethod
    def _workday(cls, value: int) -> int:
        if not 1 <= value <= 10:
            raise ValueError("the 1st to the 10th working day of the month")
        return value
