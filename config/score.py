"""The year-end 考核评议 (document 三(七) and attachment 5): the ``[score]`` table of the
roster. Where the document is silent, the reading is a setting; the score sheet prints every
one of them under 评分说明.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictInt, field_validator


class ScoreRules(BaseModel):
    """How the score reads the year's data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # 及时度: "三次报送滞后的，扣分": the late report numbered ``late_threshold`` and each
    # one after it deducts ``deduction_per_late`` points (never below 0).
    late_threshold: StrictInt = 3
    deduction_per_late: StrictInt = 1
    # 完成度: "区督查平台年底是否亮灯": the December light of the year ("december") or the
    # matter's last light recorded in the year ("last").
    year_end_light: Literal["december", "last"] = "december"
    # A veto zeroes 完成度 ("completion") or the whole score ("total").
    veto: Literal["completion", "total"] = "completion"
    # 目标清晰度 with no task book for the year: full marks with a note ("full") or 0 ("zero").
    no_taskbook: Literal["full", "zero"] = "full"

    @field_validator("late_threshold")
    @classmethod
    def _threshold(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError(f"{value}: the late report that starts the deduction, 1 to 100")
        return value

    @field_validator("deduction_per_late")
    @classmethod
    def _deduction(cls, value: int) -> int:
        if not 0 <= value <= 5:
            raise ValueError(f"{value}: points per late report, 0 to 5 (及时度 is 5 points)")
        return value
