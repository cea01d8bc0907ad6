"""实事项目's year (issue 11, item 6), from attachment 2: "局办公室牵头各处室每年10月申报下一年度
实施项目计划 ... 向重大办报告月度、半年度、年度实事项目的进展情况。因特殊原因需要调整计划的，由相关
处室提出调整申请，经区政府分管领导同意后，由局办公室报新区重大办备案。" """

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from conftest import CAL, EXAMPLE_ROSTER
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from bot.registry_xlsx import RegistryImportError, export_registry, import_registry
from config.filings import AnnualRules, FilingRules
from config.roster import RosterError, build_roster
from handlers import texts
from handlers.annual.declare import flag_key
from handlers.context import Ctx
from handlers.conversation import take
from handlers.effects import Outgoing
from handlers.filings.schedule import parse_progress, progress_period, progress_schedule
from handlers.sweep import daily, sweep
from storage.models import Deadline, Filing, Flag, Matter, MatterEvent, PlanChange
from tests.conftest import TZ, World

D = dt.date
RULES = FilingRules()
OFFICE_GROUP, AIR_GROUP, WATER_GROUP = "cid-office", "cid-air", "cid-water"
ADMIN, AIR_CLERK, AIR_HEAD = "u-admin", "u-air-clerk", "u-air-head"


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def add(world: World, text: str) -> int:
    world.must("office_admin", f"新增事项 {text}")
    with world.db.sessions() as s:
        return max(s.scalars(select(Matter.id)).all())


def rows(world: World, model: type, **where: object) -> list:  # type: ignore[type-arg]
    with world.db.sessions() as s:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(s.scalars(query.order_by(model.id)).all())


# --- the rules ------------------------------------------------------------------------------


def test_defaults() -> None:
    annual = RULES.annual
    assert annual.categories == ["实事项目"]
    assert (annual.declare_month, annual.declare_day) == (10, 1)  # "每年10月申报"
    assert (annual.half_year_due_day, annual.year_due_day) == (10, 10)


def test_example_roster_states_the_defaults() -> None:
    raw = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
    assert AnnualRules.model_validate(raw["filings"]["annual"]) == AnnualRules()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        pytest.param({"categories": ["环保工作"]}, "'环保工作' is not a category", id="category"),
        pytest.param({"categories": ["实事", "实事项目"]}, "listed twice", id="twice"),
        pytest.param({"declare_month": 13}, "13 is not a month", id="month"),
        pytest.param({"declare_day": 0}, "0 is not a day", id="day"),
        pytest.param({"half_year_due_day": 32}, "32 is not a day", id="half-day"),
        pytest.param({"year_due_day": "10日"}, "valid integer", id="year-day-text"),
        pytest.param({"due": 1}, "Extra inputs", id="unknown-key"),
    ],
)
def test_wrong_settings_are_named(value: dict[str, object], says: str) -> None:
    raw = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
    raw["filings"]["annual"] = value
    with pytest.raises(RosterError) as info:
        build_roster(raw)
    assert "filings.annual" in str(info.value) and says in str(info.value)


@pytest.mark.parametrize(
    ("category", "kind", "year", "node", "due", "provisional"),
    [
        # 实事项目 (platform 无): the office's one-day lead applies
        pytest.param("实事项目", "half", 2026, D(2026, 7, 10), D(2026, 7, 9), False, id="half"),
        # 2026-01-10 is a Saturday: the node moves to Friday the 9th, due Thursday
        pytest.param("实事项目", "year", 2025, D(2026, 1, 9), D(2026, 1, 8), False, id="year"),
        # 2027 has no official data yet: computed on weekends only, marked provisional
        pytest.param("实事", "year", 2026, D(2027, 1, 8), D(2027, 1, 7), True, id="year-2027"),
    ],
)
def test_progress_report_schedule(
    category: str, kind: str, year: int, node: dt.date, due: dt.date, provisional: bool
) -> None:
    s = progress_schedule(CAL, RULES, category, "无", kind, year)
    assert s is not None
    assert (s.node, s.due_date, s.provisional) == (node, due, provisional)
    assert s.period == progress_period(kind, year)
    assert parse_progress(s.period) == (kind, year)


def test_progress_reports_only_for_categories_with_a_yearly_plan() -> None:
    assert progress_schedule(CAL, RULES, "局重点工作", "无", "half", 2026) is None
    rules = FilingRules.model_validate(
        {"annual": {"categories": ["实事项目", "民心工程"], "half_year_due_day": 15}}
    )
    s = progress_schedule(CAL, rules, "民心工程", "区网上督查室", "half", 2026)
    assert s is not None and s.due_date == D(2026, 7, 15)  # on a platform: no lead


# --- 年度 -------------------------------------------------------------------------------------


def test_a_project_declared_for_next_year_is_filed_from_its_january(world: World) -> None:
    world.at(2026, 10, 20, 10, 0)
    now_project = add(world, "实事项目 大气处 孙内勤 社区噪声地图")
    next_project = add(world, "实事项目 大气处 孙内勤 2027年度 新建空气监测站")
    assert rows(world, Matter)[1].plan_year == 2027
    assert [r.period for r in rows(world, Filing, matter_id=now_project)] == [
        "2026-10",
        "2026-11",
    ]
    assert rows(world, Filing, matter_id=next_project) == []  # nothing owed this year
    world.at(2026, 12, 1, 0, 1)
    with world.db.transaction() as session:
        daily(session, world.roster, world.cal, world.now)
    # December: January's filing, not 2026's year report (declared for 2027)
    assert [r.period for r in rows(world, Filing, matter_id=next_project)] == ["2027-01"]
    assert {r.period for r in rows(world, Filing, matter_id=now_project)} == {
        "2026-10",
        "2026-11",
        "2026-12",
        "2027-01",
        "2026-Y",
    }


def test_year_by_edit_reschedules(world: World) -> None:
    world.at(2026, 10, 20, 10, 0)
    number = add(world, "实事项目 大气处 孙内勤 新建空气监测站")
    assert len(rows(world, Filing, matter_id=number)) == 2
    outcome, _ = world.run("office_admin", f"修改事项 督{number} 年度 2027年度")
    assert outcome.ok and "「（无）」改为「2027」" in outcome.reply
    assert rows(world, Filing, matter_id=number) == []
    outcome, _ = world.run("air_clerk", f"查看 督{number}")
    assert "年度：2027" in outcome.reply
    outcome, _ = world.run("office_admin", f"修改事项 督{number} 年度 无")
    assert outcome.ok and "「2027」改为「（无）」" in outcome.reply
    assert len(rows(world, Filing, matter_id=number)) == 2  # owed again from now


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("修改事项 督1 年度 2028", "最晚2027年度", id="too-far"),
        pytest.param("修改事项 督1 年度 明年", "不是年度", id="not-a-year"),
        pytest.param("修改事项 督2 年度 2027", "局重点工作不按年度申报", id="not-annual"),
        pytest.param("新增事项 局重点工作 大气处 孙内勤 2027年度 X", "不按年度申报", id="add"),
    ],
)
def test_wrong_years_are_refused(world: World, text: str, says: str) -> None:
    world.at(2026, 10, 20, 10, 0)
    add(world, "实事项目 大气处 孙内勤 新建空气监测站")
    add(world, "局重点工作 大气处 孙内勤 扬尘治理")
    outcome, _ = world.run("office_admin", text)
    assert not outcome.ok and says in outcome.reply


def test_a_name_starting_with_a_year_keeps_it(world: World) -> None:
    world.at(2026, 10, 20, 10, 0)
    add(world, "实事项目 大气处 孙内勤 2026年 社区噪声地图")
    (matter,) = rows(world, Matter)
    assert (matter.name, matter.plan_year) == ("2026年 社区噪声地图", None)


def _sheet(path: Path, rows_: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "事项名称", "类别", "责任处室", "具体负责人", "年度"])
    for row in rows_:
        sheet.append([None, *row])
    book.save(path)
    return path


def test_the_declaration_sheet_takes_a_year(world: World, tmp_path: Path) -> None:
    now = at(2026, 10, 20, 10, 0)
    path = _sheet(tmp_path / "d.xlsx", [["新建空气监测站", "实事项目", "大气处", "孙内勤", 2027]])
    with world.db.transaction() as session:
        import_registry(session, world.roster, world.cal, path, now)
    (matter,) = rows(world, Matter)
    assert matter.plan_year == 2027
    assert rows(world, Filing) == []
    with world.db.transaction() as session:
        export_registry(session, world.roster, tmp_path / "out.xlsx")
    book = load_workbook(tmp_path / "out.xlsx")
    header, row = list(book.worksheets[0].iter_rows(values_only=True))
    assert dict(zip(header, row, strict=True))["年度"] == 2027
    bad = _sheet(
        tmp_path / "e.xlsx",
        [
            ["扬尘治理", "局重点工作", "大气处", "孙内勤", "2027"],
            ["X", "实事", "大气处", "孙内勤", "后年"],
        ],
    )
    with world.db.transaction() as session, pytest.raises(RegistryImportError) as info:
        import_registry(session, world.roster, world.cal, bad, now)
    assert info.value.problems == [
        "第2行「年度」：只有实事项目填写年度",
        "第3行「年度」：「后年」不是年度（如2027，最晚2027）",
    ]


# --- 已填报 半年 / 年度 ------------------------------------------------------------------------


def test_filing_the_half_year_report(world: World) -> None:
    world.at(2026, 6, 1, 10, 0)
    number = add(world, "实事项目 大气处 孙内勤 社区噪声地图")
    (half,) = rows(world, Filing, matter_id=number, kind="half")
    assert (half.period, half.due_at) == ("2026-H1", at(2026, 7, 9, 17, 0))
    outcome, _ = world.run("air_clerk", f"已填报 督{number} 年度")
    assert not outcome.ok and "没有2025年度进展报告" in outcome.reply
    outcome, _ = world.run("water_clerk", f"已填报 督{number} 半年")
    assert not outcome.ok  # not their department
    world.at(2026, 7, 6, 10, 0)
    outcome, _ = world.run("air_clerk", "待办")
    assert f"督{number} 社区噪声地图·2026年上半年进展报告，时限7月9日(周四) 17:00" in outcome.reply
    taps = [a.command for a in getattr(outcome.reply, "actions", ())]
    assert f"已填报 督{number} 半年" in taps
    outcome, _ = world.run("air_clerk", f"已填报 督{number} 2026年上半年")
    assert outcome.ok and "2026年上半年进展报告按时完成" in outcome.reply
    outcome, _ = world.run("air_clerk", f"已填报 督{number} 半年")
    assert not outcome.ok and "无需重复" in outcome.reply
    outcome, _ = world.run("air_clerk", "待办")
    assert "上半年" not in outcome.reply
    outcome, _ = world.run("air_clerk", f"查看 督{number}")
    assert "2026年上半年进展报告" in outcome.reply


# --- plan changes -------------------------------------------------------------------------


def chats(out: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(m.channel, m.target) for m in out}


def test_a_plan_change_in_three_steps(world: World) -> None:
    world.at(2026, 11, 16, 10, 0)
    number = add(world, "实事项目 大气处 孙内勤 新建空气监测站")
    ref = f"督{number}"
    outcome, out = world.run("office_admin", f"调整同意 {ref} 王副区长")
    assert not outcome.ok and "没有未完成的调整申请" in outcome.reply

    outcome, out = world.run("air_clerk", f"调整申请 {ref} 完工时间由10月调整为12月")
    assert outcome.ok and "第1次" in outcome.reply
    assert chats(out) == {("group", OFFICE_GROUP), ("oto", ADMIN)}  # the office is told
    assert "完工时间由10月调整为12月" in out[0].text
    # the admin's message offers 调整同意, which asks for the leader's name in the 1:1 chat
    (tap,) = [a for m in out if m.channel == "oto" for a in m.actions if "调整同意" in a.label]
    assert (tap.command, tap.needs_text) == (f"调整同意 {ref}", True)
    outcome, _ = world.run("air_clerk", f"调整申请 {ref} 再调整")
    assert not outcome.ok and "未完成" in outcome.reply
    outcome, _ = world.run("office_admin", f"调整备案 {ref}")
    assert not outcome.ok and "尚未记录区政府分管领导同意" in outcome.reply
    outcome, _ = world.run("office_admin", "待办")
    assert f"{ref}" in outcome.reply and "待区政府分管领导同意" in outcome.reply

    world.at(2026, 11, 20, 15, 0)
    outcome, out = world.run("office_admin", f"调整同意 {ref} 王副区长 11月19日")
    assert outcome.ok and "王副区长于11月19日同意" in outcome.reply
    assert chats(out) == {("group", OFFICE_GROUP), ("group", AIR_GROUP)}
    outcome, _ = world.run("office_admin", "待办")
    assert "待报重大办备案" in outcome.reply

    outcome, out = world.run("office_admin", f"调整备案 {ref} 已报重大办")
    assert outcome.ok and "调整完成" in outcome.reply
    assert chats(out) == {("group", OFFICE_GROUP), ("group", AIR_GROUP)}

    (change,) = rows(world, PlanChange)
    assert (change.state, change.consent_leader, change.consent_on) == (
        "done",
        "王副区长",
        D(2026, 11, 19),
    )
    assert (change.requested_by, change.consent_by, change.filed_by) == (AIR_CLERK, ADMIN, ADMIN)
    actions = [e.action for e in rows(world, MatterEvent, matter_id=number)]
    assert actions[-3:] == ["change_requested", "change_consented", "change_filed"]
    outcome, _ = world.run("air_clerk", f"查看 {ref}")
    assert "计划调整1（已完成）" in outcome.reply
    assert "区政府分管领导同意：王副区长 11月19日（王敏记录）" in outcome.reply
    assert "报重大办备案：11月20日(周五) 15:00 王敏" in outcome.reply
    # the next change may start now
    outcome, _ = world.run("air_clerk", f"调整申请 {ref} 增加一处监测点")
    assert outcome.ok and "第2次" in outcome.reply
    outcome, out = world.run("air_clerk", f"调整撤回 {ref}")
    assert outcome.ok and chats(out) == {("group", OFFICE_GROUP), ("group", AIR_GROUP)}


@pytest.mark.parametrize(
    ("who", "text", "says"),
    [
        pytest.param("water_clerk", "调整申请 督1 改期", "大气环境处", id="other-department"),
        pytest.param("office_admin", "调整申请 督1 改期", "只有处室内勤", id="office-may-not"),
        pytest.param("air_clerk", "调整申请 督2 改期", "没有年度计划可调整", id="not-annual"),
        pytest.param("air_clerk", "调整同意 督1 王副区长", "局办公室督办岗", id="dept-may-not"),
    ],
)
def test_plan_change_refusals(world: World, who: str, text: str, says: str) -> None:
    world.at(2026, 11, 16, 10, 0)
    add(world, "实事项目 大气处 孙内勤 新建空气监测站")
    add(world, "局重点工作 大气处 孙内勤 扬尘治理")
    outcome, out = world.run(who, text)
    assert not outcome.ok and says in outcome.reply and out == []
    assert rows(world, PlanChange) == []


@pytest.mark.parametrize(
    ("word", "day"),
    [
        pytest.param("", D(2026, 11, 16), id="today"),
        pytest.param("昨天", D(2026, 11, 15), id="yesterday"),
        pytest.param("2026-11-02", D(2026, 11, 2), id="iso"),
        pytest.param("１１月３日", D(2026, 11, 3), id="full-width"),
        pytest.param("12月30日", D(2025, 12, 30), id="last-december"),
    ],
)
def test_the_consent_day(world: World, word: str, day: dt.date) -> None:
    world.at(2026, 11, 16, 10, 0)
    add(world, "实事项目 大气处 孙内勤 新建空气监测站")
    world.must("air_clerk", "调整申请 督1 改期")
    world.must("office_admin", f"调整同意 督1 王副区长 {word}".strip())
    assert rows(world, PlanChange)[0].consent_on == day


def test_a_consent_day_to_come_is_refused(world: World) -> None:
    world.at(2026, 11, 16, 10, 0)
    add(world, "实事项目 大气处 孙内勤 新建空气监测站")
    world.must("air_clerk", "调整申请 督1 改期")
    outcome, _ = world.run("office_admin", "调整同意 督1 王副区长 2026-11-17")
    assert not outcome.ok and "不晚于今天" in outcome.reply


# --- the sweeper: October's declaration reminder, the half-year report ----------------------


def day_work(world: World) -> None:
    with world.db.transaction() as session:
        daily(session, world.roster, world.cal, world.now)


def swept(world: World) -> list[Outgoing]:
    with world.db.transaction() as session:
        return sweep(session, world.roster, world.cal, world.now)


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def test_the_october_reminder_goes_once_on_a_working_day(world: World) -> None:
    world.at(2026, 9, 1, 10, 0)
    add(world, "实事项目 大气处 孙内勤 社区噪声地图")
    add(world, "局重点工作 水处 吴内勤 水质提升")  # no 实事项目: the water department is not told
    sent: dict[dt.datetime, list[Outgoing]] = {}
    for day in days(D(2026, 9, 28), D(2026, 11, 3)):
        world.at(day.year, day.month, day.day, 0, 0, 30)  # the day's work, just after midnight
        day_work(world)
        for hour in (9, 13, 17):
            world.at(day.year, day.month, day.day, hour, 0)
            if day == D(2026, 10, 8) and hour == 13:
                day_work(world)  # a restart runs the day's work again
            found = [m for m in swept(world) if texts.DECLARE_TITLE in m.text]
            if found:
                sent[world.now] = found
    # 10-01..10-07 are 国庆: the first working day of October is Thursday 10-08
    assert list(sent) == [at(2026, 10, 8, 9, 0)]
    (messages,) = sent.values()
    assert {(m.channel, m.target) for m in messages} == {
        ("group", OFFICE_GROUP),
        ("oto", ADMIN),
        ("group", AIR_GROUP),
        ("oto", AIR_CLERK),
    }
    office = next(m for m in messages if m.target == OFFICE_GROUP).text
    assert "牵头各处室于10月30日(周五) 17:00前申报2027年度实事项目" in office
    assert "大气环境处" in office
    assert "水生态环境处" not in office
    assert "2027年度实事项目" in next(m for m in messages if m.target == AIR_GROUP).text
    assert len(rows(world, Deadline, clock="declare")) == 1
    with world.db.sessions() as session:
        assert session.get(Flag, flag_key(2027)) is not None


def test_the_october_reminder_survives_a_restart_before_it_fires(world: World) -> None:
    world.at(2026, 10, 9, 0, 0, 30)  # the bot started after the reminder's day: it goes at once
    day_work(world)
    world.at(2026, 10, 9, 8, 0)
    day_work(world)  # restarted before office hours
    assert len(rows(world, Deadline, clock="declare")) == 1
    assert [m for m in swept(world) if texts.DECLARE_TITLE in m.text] == []  # not working time
    world.at(2026, 10, 9, 9, 0)
    out = [m for m in swept(world) if texts.DECLARE_TITLE in m.text]
    assert {(m.channel, m.target) for m in out} == {("group", OFFICE_GROUP), ("oto", ADMIN)}
    world.at(2026, 10, 12, 9, 0)
    day_work(world)
    assert [m for m in swept(world) if texts.DECLARE_TITLE in m.text] == []


@pytest.mark.parametrize("filed_on", [None, D(2026, 7, 7)], ids=["late", "filed"])
def test_the_half_year_report_reminds_then_escalates(
    world: World, filed_on: dt.date | None
) -> None:
    world.at(2026, 5, 20, 10, 0)
    number = add(world, "实事项目 大气处 孙内勤 社区噪声地图")
    sent: dict[dt.datetime, list[Outgoing]] = {}
    for day in days(D(2026, 6, 1), D(2026, 7, 14)):
        world.at(day.year, day.month, day.day, 0, 0, 30)
        day_work(world)
        world.at(day.year, day.month, day.day, 9, 0)
        found = [m for m in swept(world) if "上半年进展报告" in m.text]
        if found:
            sent[world.now] = found
        if day == filed_on:
            world.at(day.year, day.month, day.day, 10, 0)
            world.must("air_clerk", f"已填报 督{number} 半年")
    # due Thursday 7-09 (the 10th less the office's day): reminders 3 and 1 working days
    # before and on the day, then the escalation the next morning
    reminders = [at(2026, 7, 6, 9, 0), at(2026, 7, 8, 9, 0), at(2026, 7, 9, 9, 0)]
    if filed_on is not None:
        assert list(sent) == reminders[:1]
        (row,) = rows(world, Filing, kind="half")
        assert (row.overdue, row.done_by) == (False, AIR_CLERK)
        return
    assert list(sent) == [*reminders, at(2026, 7, 10, 9, 0)]
    for moment in reminders:
        assert {(m.channel, m.target) for m in sent[moment]} == {
            ("group", AIR_GROUP),
            ("oto", AIR_CLERK),
        }
        assert f"已填报 督{number} 半年" in sent[moment][0].text
    escalation = sent[at(2026, 7, 10, 9, 0)]
    assert {(m.channel, m.target) for m in escalation} == {
        ("group", OFFICE_GROUP),
        ("oto", AIR_HEAD),
    }
    assert "2026年上半年进展报告已过时限" in escalation[0].text
    (row,) = rows(world, Filing, kind="half")
    assert row.overdue


def test_the_consent_stem_asks_for_the_leader_in_the_chat(world: World) -> None:
    world.at(2026, 11, 20, 10, 0)
    add(world, "实事项目 大气处 孙内勤 新建空气监测站")
    world.must("air_clerk", "调整申请 督1 改期")
    turns = []
    for text, is_command in (("调整同意 督1", True), ("王副区长 11月19日", False)):
        with world.db.transaction() as session:
            ctx = Ctx(session, world.roster, world.cal, world.now, actor=ADMIN)
            turns.append(take(ctx, "oto:u-admin", text, is_command))
    assert turns[0].reply is not None and "区政府分管领导姓名" in turns[0].reply
    assert turns[1].command == "调整同意 督1 王副区长 11月19日"
    world.must("office_admin", turns[1].command)
    assert rows(world, PlanChange)[0].consent_on == D(2026, 11, 19)
