"""The score sheet from stored data: late reports per department (the 超限 outcome of
handlers.stats.figures), lights of the year, the office's latest adjustment per item; and the
roster's [score] settings."""

from __future__ import annotations

import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest

from config.roster import Roster, RosterError, build_roster
from config.score import ScoreRules
from handlers.score import sheet
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Filing, Light, Matter, ScoreAdjustment, ScoreSheet
from tests.conftest import EXAMPLE_ROSTER

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2027, 1, 6, 10, 0, tzinfo=TZ)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day + " 17:00").replace(tzinfo=TZ)


def matter(name: str, department: str, category: str = "区委区政府重点工作") -> Matter:
    return Matter(
        name=name,
        category=category,
        star=category != "局重点工作",
        platform="区网上督查室",
        department=department,
        owner="u-air-clerk",
        deputy="u-deputy-1",
        created_at=at("2026-01-05"),
    )


def filing(m: Matter, kind: str, period: str, due: str, **done: object) -> Filing:
    return Filing(
        matter_id=m.id, kind=kind, period=period, node=at(due).date(), due_at=at(due), **done
    )


def test_the_sheet_from_stored_data(db: Database, roster: Roster, cal: WorkCalendar) -> None:
    with db.sessions() as s:
        air = matter("臭氧污染防治", "大气处")  # an alias: counted for 大气环境处
        air2 = matter("扬尘管控", "大气环境处", "大调研工作")
        water = matter("河道整治", "水生态环境处")
        s.add_all([air, air2, water])
        s.flush()
        s.add_all(
            [
                filing(air, "monthly", "2026-03", "2026-03-20", overdue=True),  # 超限
                filing(air, "monthly", "2026-04", "2026-04-20", done_at=at("2026-04-21")),  # late
                filing(air2, "monthly", "2026-05", "2026-05-20"),  # never filed, past due
                filing(air2, "monthly", "2026-06", "2026-06-19", done_at=at("2026-06-18")),
                filing(air, "monthly", "2025-12", "2025-12-19", overdue=True),  # last year
                filing(air, "decision", "decision", "2026-07-01", overdue=True),  # not a report
                filing(water, "monthly", "2026-03", "2026-03-20", overdue=True),
                Light(matter_id=air2.id, period="2026-02", color="red", at=NOW, by="u-admin"),
                Light(matter_id=air2.id, period="2026-09", color="red", at=NOW, by="u-admin"),
                Light(matter_id=air.id, period="2026-12", color="green", at=NOW, by="u-admin"),
                Light(matter_id=water.id, period="2026-12", color="green", at=NOW, by="u-admin"),
            ]
        )
        row = ScoreSheet(year=2026, state="draft", opinion="", created_at=NOW, created_by="u-admin")
        s.add(row)
        s.flush()
        for points, reason in ((-2, "初稿"), (-1, "复核后")):
            s.add(
                ScoreAdjustment(
                    sheet_id=row.id,
                    department="水生态环境处",
                    item="协同情况",
                    points=points,
                    reason=reason,
                    by="u-admin",
                    at=NOW,
                )
            )
        s.flush()
        data = sheet.build(s, roster, cal, 2026, NOW, row)

    by_name = {d["name"]: d for d in data["departments"]}
    assert list(by_name) == ["大气环境处", "水生态环境处"]
    air_lines = {line["item"]: line for line in by_name["大气环境处"]["lines"]}
    water_lines = {line["item"]: line for line in by_name["水生态环境处"]["lines"]}
    # three late reports in 2026: the third deducts one point
    assert air_lines["及时度"]["points"] == 4
    assert air_lines["及时度"]["evidence"][0] == "报送滞后3次，扣1分"
    assert any("督1 臭氧污染防治·2026年3月填报" in e for e in air_lines["及时度"]["evidence"])
    assert water_lines["及时度"]["points"] == 5
    # 督2's two red lights veto 完成度; 督1's December green does not
    assert by_name["大气环境处"]["vetoes"] == [
        "一票否决：督2 扬尘管控过程中两次亮红灯（2026年2月、2026年9月）"
    ]
    assert air_lines["完成度"]["points"] == 0 and by_name["大气环境处"]["total"] == 7
    # the latest adjustment per item counts
    assert water_lines["完成度"]["adjust"] == -1 and water_lines["完成度"]["points"] == 11
    assert "局办公室调整「协同情况」-1分：复核后（王敏）" in water_lines["完成度"]["evidence"]
    assert all(line["evidence"] for d in data["departments"] for line in d["lines"])
    # the @件 platform's figures beside the score, from department_stats
    # (its filing rate counts the 例会议定 deadline too: 1 on time of 5)
    assert by_name["大气环境处"]["figures"]["filings"] == "20%"
    assert any("尚无工作任务书" in n for n in data["notes"])


def test_the_roster_settings() -> None:
    raw = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
    assert build_roster(raw).score == ScoreRules()
    raw["score"] = {"late_threshold": 0, "veto": "all"}
    with pytest.raises(RosterError) as err:
        build_roster(raw, "org.toml")
    assert "score.late_threshold" in str(err.value) and "score.veto" in str(err.value)
