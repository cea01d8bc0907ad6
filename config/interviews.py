"""The 约谈问询 settings (main text 三(六)): the ``[interviews]`` table of the roster.

"对纳入区级机关绩效考核的工作，酌情启动约谈问询": by default a met condition is proposed to the
office, who starts or declines the interview (``start = "propose"``); ``"auto"`` starts it at
once, as the bot did before. The district platform lights every ★ matter every month: on the
``lights_reminder_workday``-th working day of each month the office is reminded of the open ★
matters with no light recorded for the month before.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictInt, field_validator


class InterviewRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Literal["propose", "auto"] = "propose"
    # the working day of the month (1 = the first) of the missing-lights reminder; 0: none
    lights_reminder_workday: StrictInt = 3

    @field_validator("lights_reminder_workday")
    @classmethod
    def _workday(cls, value: int) -> int:
        if not 0 <= value <= 15:
            raise ValueError("a working day of the month, 1 to 15 (0: no reminder)")
        return value
