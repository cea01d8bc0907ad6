from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from bot.cli import main
from bot.registry_xlsx import (
    COLUMNS,
    ImportResult,
    RegistryImportError,
    export_registry,
    import_registry,
)
from config.roster import Roster
from storage.db import Database
from storage.models import Base, Matter, MatterEvent
from tests.conftest import AIR, CAL, EXAMPLE_ROSTER, TZ, WATER

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=TZ)
NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=TZ)
HEADERS = [c.header for c in COLUMNS]


def seed(db: Database) -> None:
    """Four matters numbered 1..4 that use every column, defaults and overrides alike."""
    with db.transaction() as session:
        session.add_all(
            [
                Matter(
                    name="扬尘污染综合治理",
                    category="区委区政府重点工作",
                    star=True,
                    platform="区网上督查室",
                    department=AIR,
                    owner="u-air-clerk",
                    deputy="u-deputy-1",
                    status="open",
                    note="",
                    created_at=T0,
                ),
                Matter(  # a ★ category not counted, a deputy other than the department's
                    name="河道水质提升",
                    category="实事项目",
                    star=False,
                    platform="无",
                    department=WATER,
                    owner="u-water-head",
                    deputy="u-director",
                    status="closed",
                    note="第一行\n第二行",
                    created_at=T0,
                    closed_at=T0,
                ),
                Matter(
                    name="关于臭气投诉的批示",
                    category="领导批示件",
                    star=False,
                    platform="区网上督查室",
                    department=AIR,
                    owner="u-air-head",
                    deputy="u-deputy-1",
                    status="open",
                    note="",
                    created_at=T0,
                    notice_due=dt.date(2026, 12, 4),
                ),
                Matter(  # counted although its category is not, on another platform
                    name="VOCs企业排查",
                    category="局重点工作",
                    star=True,
                    platform="街镇直通车",
                    department=WATER,
                    owner="u-water-clerk",
                    deputy="u-deputy-1",
                    status="open",
                    note="月底前完成",
                    created_at=T0,
                ),
            ]
        )


EXCEL_DEC_4 = dt.datetime(2026, 12, 4)  # noqa: DTZ001 (openpyxl reads date cells back naive)
EXPORTED = [
    tuple(HEADERS),
    (
        *("督1", "扬尘污染综合治理", "区委区政府重点工作", "★", "区网上督查室", AIR),
        *("孙内勤", "陈副局", "进行中", None, None, None),
    ),
    (
        *("督2", "河道水质提升", "实事项目", "否", "无", WATER),
        *("周处", "张局", "已办结", None, "第一行\n第二行", None),
    ),
    (
        *("督3", "关于臭气投诉的批示", "领导批示件", None, "区网上督查室", AIR),
        *("赵处", "陈副局", "进行中", EXCEL_DEC_4, None, None),
    ),
    (
        *("督4", "VOCs企业排查", "局重点工作", "★", "街镇直通车", WATER),
        *("吴内勤", "陈副局", "进行中", None, "月底前完成", None),
    ),
]


def cells(path: Path) -> list[tuple[Any, ...]]:
    workbook = load_workbook(path)
    try:
        return [tuple(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def write(path: Path, rows: list[list[Any]], headers: list[Any] | None = None) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS if headers is None else headers)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def row(**values: Any) -> list[Any]:
    """A sheet row in HEADERS order from keyword values by header."""
    assert set(values) <= set(HEADERS), set(values) - set(HEADERS)
    return [values.get(h) for h in HEADERS]


def exported(number: int, **changes: Any) -> list[Any]:
    """The exported row of 督<number>, with some cells changed (by header)."""
    assert set(changes) <= set(HEADERS)
    return [changes.get(h, v) for h, v in zip(HEADERS, EXPORTED[number], strict=True)]


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.sessions() as session:
        return {
            "matters": [
                tuple(r) for r in session.execute(select(Matter.__table__).order_by(Matter.id))
            ],
            "events": [
                tuple(r)
                for r in session.execute(select(MatterEvent.__table__).order_by(MatterEvent.id))
            ],
        }


def do_import(db: Database, roster: Roster, path: Path, now: dt.datetime = NOW) -> ImportResult:
    with db.transaction() as session:
        return import_registry(session, roster, CAL, path, now)


def do_export(db: Database, roster: Roster, path: Path) -> int:
    with db.transaction() as session:
        return export_registry(session, roster, path)


def matters(db: Database) -> list[Matter]:
    with db.sessions() as session:
        return list(session.scalars(select(Matter).order_by(Matter.id)))


def events(db: Database) -> list[tuple[int, str, str, str]]:
    with db.sessions() as session:
        rows = session.scalars(select(MatterEvent).order_by(MatterEvent.id))
        return [(e.matter_id, e.actor, e.action, e.detail) for e in rows]


def refused(db: Database, roster: Roster, path: Path) -> list[str]:
    before = snapshot(db)
    with pytest.raises(RegistryImportError) as info:
        do_import(db, roster, path)
    assert isinstance(info.value, ValueError)
    assert snapshot(db) == before
    return info.value.problems


# --- export --------------------------------------------------------------------------------


def test_export_writes_every_matter_with_names_and_real_dates(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    seed(db)
    path = tmp_path / "registry.xlsx"
    assert do_export(db, roster, path) == 4
    assert cells(path) == EXPORTED
    sheet = load_workbook(path).worksheets[0]
    assert sheet.title == "督办事项"
    assert all(c.font.bold for c in sheet[1]) and not sheet["A2"].font.bold
    assert sheet.freeze_panes == "A2"
    assert sheet["J4"].is_date and sheet["J4"].number_format == "yyyy-mm-dd"
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDEFGHIJK"}
    assert widths["B"] >= len("关于臭气投诉的批示") * 2  # CJK characters are two wide
    assert widths["A"] < widths["B"] and all(8 <= w <= 62 for w in widths.values())


def test_export_of_an_empty_registry_is_the_header(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    assert do_export(db, roster, tmp_path / "r.xlsx") == 0
    assert cells(tmp_path / "r.xlsx") == [tuple(HEADERS)]


# --- round trips ---------------------------------------------------------------------------


def test_export_then_import_into_the_same_database_changes_nothing(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    seed(db)
    path = tmp_path / "registry.xlsx"
    do_export(db, roster, path)
    before = snapshot(db)
    assert do_import(db, roster, path) == ImportResult(0, 0, 4)
    assert snapshot(db) == before


def test_export_import_into_an_empty_database_export_gives_the_same_cells(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    seed(db)
    first = tmp_path / "first.xlsx"
    do_export(db, roster, first)
    Base.metadata.drop_all(db.engine)
    db.create_schema()
    # Numbers are the bot's: in an empty database every row is new, so the sheet has none.
    workbook = load_workbook(first)
    for (number,) in workbook.worksheets[0].iter_rows(min_row=2, max_col=1):
        number.value = None
    workbook.save(tmp_path / "unnumbered.xlsx")
    assert do_import(db, roster, tmp_path / "unnumbered.xlsx") == ImportResult(4, 0, 0)
    second = tmp_path / "second.xlsx"
    do_export(db, roster, second)
    assert cells(second) == cells(first) == EXPORTED
    closed = matters(db)[1]
    assert closed.status == "closed" and closed.closed_at == NOW


# --- import --------------------------------------------------------------------------------


def test_import_creates_updates_and_leaves_the_rest(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    seed(db)
    untouched = snapshot(db)["matters"][2:]
    path = write(
        tmp_path / "r.xlsx",
        [
            exported(1, 责任处室="水处", 具体负责人="u-water-clerk"),
            exported(2, 状态="进行中"),
            row(事项名称="新增：大气专项", 类别="区重点工作", 责任处室="大气处", 具体负责人="赵处"),
            row(
                事项名称="新增：批示件",
                类别="批示件",
                责任处室=WATER,
                具体负责人="u-water-head",
                分管局领导="张局",
                状态="已办结",
                批示件反馈期限="2026年12月1日",
                备注="已报送",
            ),
        ],
    )
    assert do_import(db, roster, path) == ImportResult(2, 2, 0)
    one, two, _, _, five, six = matters(db)
    assert (one.department, one.owner, one.deputy) == (WATER, "u-water-clerk", "u-deputy-1")
    assert (two.status, two.closed_at) == ("open", None)
    assert snapshot(db)["matters"][2:4] == untouched  # not in the sheet: left alone
    assert (five.id, five.name, five.category, five.star, five.platform) == (
        5,
        "新增：大气专项",
        "区委区政府重点工作",
        True,
        "区网上督查室",
    )
    assert (five.department, five.owner, five.deputy, five.status) == (
        AIR,
        "u-air-head",
        "u-deputy-1",
        "open",
    )
    assert (five.created_at, five.closed_at, five.notice_due, five.note) == (NOW, None, None, "")
    assert (six.category, six.star, six.platform, six.deputy) == (
        "领导批示件",
        False,
        "区网上督查室",
        "u-director",
    )
    assert (six.status, six.closed_at, six.notice_due) == ("closed", NOW, dt.date(2026, 12, 1))
    assert events(db) == [
        (1, "import", "edited", "责任处室：大气环境处 → 水生态环境处"),
        (1, "import", "edited", "具体负责人：孙内勤 → 吴内勤"),
        (2, "import", "reopened", "状态：已办结 → 进行中"),
        (5, "import", "created", "区委区政府重点工作·大气环境处（表格导入）"),
        (6, "import", "created", "领导批示件·水生态环境处（表格导入）"),
    ]


# --- refused sheets ------------------------------------------------------------------------

NEW = {"事项名称": "新增专项", "类别": "局重点工作", "责任处室": "大气处", "具体负责人": "孙内勤"}

# (the new row's cells changed, the column named, what the problem says)
BAD_ROWS: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown department": ({"责任处室": "土壤处"}, "责任处室", "「土壤处」不在名单中"),
    "unknown owner": ({"具体负责人": "王五"}, "具体负责人", "「王五」不在名单中"),
    "owner of another department": (
        {"具体负责人": "吴内勤"},
        "具体负责人",
        "「吴内勤」是水生态环境处的人员，不属于大气环境处",
    ),
    "unknown deputy": ({"分管局领导": "u-nobody"}, "分管局领导", "「u-nobody」不在名单中"),
    "unknown category": ({"类别": "环保督察"}, "类别", "没有「环保督察」这个类别"),
    "unknown platform": ({"填报平台": "市平台"}, "填报平台", "没有「市平台」这个平台"),
    "bad star": ({"绩效考核": "也许"}, "绩效考核", "「也许」应填★、是或否"),
    "bad status": ({"状态": "暂停"}, "状态", "「暂停」应填进行中或已办结"),
    "missing name": ({"事项名称": None}, "事项名称", "未填写"),
    "blank name": ({"事项名称": "\u3000 "}, "事项名称", "未填写"),
    "name too long": ({"事项名称": "长" * 201}, "事项名称", "超过200字"),
    "missing category": ({"类别": None}, "类别", "未填写"),
    "missing department": ({"责任处室": ""}, "责任处室", "未填写"),
    "missing owner": ({"具体负责人": None}, "具体负责人", "未填写"),
    "bad date": (
        {"类别": "领导批示件", "批示件反馈期限": "下月底"},
        "批示件反馈期限",
        "「下月底」不是日期",
    ),
    "impossible date": (
        {"类别": "领导批示件", "批示件反馈期限": "2026-02-30"},
        "批示件反馈期限",
        "「2026-02-30」不是日期",
    ),
    "date of another category": (
        {"批示件反馈期限": dt.date(2026, 12, 1)},
        "批示件反馈期限",
        "只有领导批示件填写反馈期限",
    ),
    "bad number": ({"编号": "三"}, "编号", "「三」不是编号"),
    "unknown number": ({"编号": "督99"}, "编号", "督99不存在"),
    "number twice": ({"编号": 1}, "编号", "督1与第2行重复"),
    "name twice in the sheet": ({"事项名称": "扬尘污染综合治理"}, "事项名称", "与第2行重名"),
    "name of a matter not in the sheet": (
        {"事项名称": "河道水质提升"},
        "事项名称",
        "「河道水质提升」与督2重名",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_is_refused_naming_row_and_column(
    db: Database, roster: Roster, tmp_path: Path, case: str
) -> None:
    changes, column, what = BAD_ROWS[case]
    seed(db)
    path = write(tmp_path / "r.xlsx", [exported(1, 状态="已办结"), row(**(NEW | changes))])
    [problem] = refused(db, roster, path)
    assert problem.startswith(f"第3行「{column}」：")
    assert what in problem


def test_every_problem_is_reported_in_row_order(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    seed(db)
    path = write(
        tmp_path / "r.xlsx",
        [
            row(**(NEW | {"具体负责人": "王五", "类别": "环保督察"})),
            exported(4),
            row(**(NEW | {"编号": "督4", "责任处室": "土壤处"})),
        ],
    )
    assert refused(db, roster, path) == [
        "第2行「类别」：没有「环保督察」这个类别",
        "第2行「具体负责人」：「王五」不在名单中",
        "第4行「编号」：督4与第3行重复",
        "第4行「事项名称」：「新增专项」与第2行重名",
        "第4行「责任处室」：「土壤处」不在名单中",
    ]


def test_a_missing_or_doubled_header_is_named(db: Database, roster: Roster, tmp_path: Path) -> None:
    headers = [h for h in HEADERS if h not in ("具体负责人", "类别")] + ["责任部门"]
    path = write(tmp_path / "r.xlsx", [], headers)
    assert refused(db, roster, path) == [
        "第1行「责任处室」：表头重复（E列和K列）",
        "第1行（表头）：缺少「类别」列",
        "第1行（表头）：缺少「具体负责人」列",
    ]


def test_a_file_that_is_not_a_workbook_is_refused(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    path = tmp_path / "r.xlsx"
    path.write_text("编号,事项名称\n", encoding="utf-8")
    [problem] = refused(db, roster, path)
    assert "无法读取" in problem
    [problem] = refused(db, roster, tmp_path / "none.xlsx")
    assert "文件不存在" in problem


def test_now_must_be_aware(db: Database, roster: Roster, tmp_path: Path) -> None:
    path = write(tmp_path / "r.xlsx", [row(**NEW)])
    with pytest.raises(ValueError, match="aware"):
        do_import(db, roster, path, NOW.replace(tzinfo=None))
    assert matters(db) == []


# --- tolerant reading ----------------------------------------------------------------------


def test_headers_in_another_order_full_width_with_a_title_and_extra_columns(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    seed(db)
    headers = [
        "序号",
        "\u3000具体负责人 ",
        "＊事项名称",
        "备注",
        "编　号",
        "联系电话",
        "类别：",
        " 责任处室",
    ]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["浦东新区生态环境局督办事项台账"])  # a title row above the header
    sheet.append(headers)
    sheet.append([1, "周处", "河道水质提升", "改为月报", "督２", "5888", "实事项目", "水处"])
    sheet.append([2, "孙内勤", "新增：土壤专项", None, None, "5999", "局重点工作", "大气处"])
    workbook.save(tmp_path / "r.xlsx")
    result = do_import(db, roster, tmp_path / "r.xlsx")
    assert result == ImportResult(1, 1, 0, ignored_columns=("序号", "联系电话"))
    two, new = matters(db)[1], matters(db)[4]
    # absent columns leave 督2 as it was (closed, its own deputy and ★); only the note changed
    assert (two.note, two.status, two.deputy, two.star) == (
        "改为月报",
        "closed",
        "u-director",
        False,
    )
    assert (new.name, new.department, new.owner, new.deputy) == (
        "新增：土壤专项",
        AIR,
        "u-air-clerk",
        "u-deputy-1",
    )
    assert (new.star, new.platform, new.status) == (False, "无", "open")
    assert events(db)[0] == (2, "import", "edited", "备注：第一行\n第二行 → 改为月报")


def test_blank_rows_are_skipped_and_rows_keep_their_excel_numbers(
    db: Database, roster: Roster, tmp_path: Path
) -> None:
    seed(db)
    headers = ["序号", *HEADERS]
    rows = [
        ["1", *exported(1)],
        [],
        ["2", *[None] * len(HEADERS)],  # a numbered template row with nothing in it
        ["3", *row(**(NEW | {"事项名称": "  "}))],
        [None, " ", "\u3000"],
    ]
    path = write(tmp_path / "r.xlsx", rows, headers)
    assert refused(db, roster, path) == ["第5行「事项名称」：未填写"]
    rows[3] = ["3", *row(**NEW)]
    assert do_import(db, roster, write(path, rows, headers)) == ImportResult(
        1, 0, 1, ignored_columns=("序号",)
    )
    assert [m.name for m in matters(db)][-1] == "新增专项"


def test_cell_forms_office_staff_type(db: Database, roster: Roster, tmp_path: Path) -> None:
    seed(db)
    path = write(
        tmp_path / "r.xlsx",
        [
            exported(3, 编号=3, 批示件反馈期限="2026/12/4", 绩效考核="否"),
            exported(4, 编号="督 ４", 绩效考核="是", 填报平台="直通车", 状态="进行中"),
            row(**(NEW | {"类别": "★大调研", "绩效考核": "√", "批示件反馈期限": None})),
            row(
                **(
                    NEW
                    | {
                        "事项名称": "批示件二",
                        "类别": "批示件",
                        "批示件反馈期限": 46357,  # a date cell that lost its format
                        "状态": "办结",
                    }
                )
            ),
        ],
    )
    assert do_import(db, roster, path) == ImportResult(2, 0, 2)
    five, six = matters(db)[4:]
    assert (five.category, five.star, five.platform) == ("大调研工作", True, "大调研")
    assert (six.notice_due, six.status) == (dt.date(2026, 12, 1), "closed")


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clock = tmp_path / "clock.txt"
    clock.write_text(NOW.isoformat(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no .env from the developer's tree
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/bot.db")
    monkeypatch.setenv("BOT_ORG_FILE", str(EXAMPLE_ROSTER))
    monkeypatch.setenv("BOT_CLOCK_FILE", str(clock))
    monkeypatch.setenv("BOT_CALENDAR_FILE", str(tmp_path / "calendar.txt"))
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_cli_import_and_export(
    cli_env: Path, roster: Roster, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write(
        cli_env / "in.xlsx",
        [
            row(**NEW),
            row(**(NEW | {"事项名称": "已办结的专项", "状态": "已办结"})),
        ],
    )
    assert cli(capsys, "registry", "import", str(sheet)) == (
        0,
        ["导入完成：新增2项，更新0项，未变0项"],
        [],
    )
    assert cli(capsys, "registry", "export", "out.xlsx") == (0, ["导出2项到out.xlsx"], [])
    rows = cells(cli_env / "out.xlsx")
    assert [r[:2] for r in rows[1:]] == [("督1", "新增专项"), ("督2", "已办结的专项")]
    assert rows[2][8] == "已办结"
    assert cli(capsys, "registry", "import", "out.xlsx")[1] == [
        "导入完成：新增0项，更新0项，未变2项"
    ]
    database = Database(f"sqlite:///{cli_env}/bot.db")
    try:
        assert matters(database)[1].closed_at == NOW  # the bot's clock, not the wall clock
        before = snapshot(database)
        bad = write(
            cli_env / "bad.xlsx",
            [
                exported_row(rows[1], 责任处室="土壤处"),
                row(**(NEW | {"事项名称": "第三项"})),
                row(**(NEW | {"事项名称": "第四项", "具体负责人": "王五"})),
            ],
        )
        code, out, err = cli(capsys, "registry", "import", str(bad))
        assert (code, out) == (2, [])
        assert err[1:] == [
            "第2行「责任处室」：「土壤处」不在名单中",
            "第4行「具体负责人」：「王五」不在名单中",
        ]
        assert "2处问题" in err[0] and "没有改动" in err[0]
        assert snapshot(database) == before
    finally:
        database.dispose()


def test_cli_refuses_a_missing_file_and_a_missing_header(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "registry", "import", "none.xlsx")
    assert code == 2 and not out and "none.xlsx：文件不存在" in err[-1]
    write(cli_env / "h.xlsx", [], [h for h in HEADERS if h != "编号"])
    code, out, err = cli(capsys, "registry", "import", "h.xlsx")
    assert (code, out, err[1:]) == (2, [], ["第1行（表头）：缺少「编号」列"])
    code, out, err = cli(capsys, "registry", "export", str(cli_env / "no" / "dir" / "x.xlsx"))
    assert code == 2 and not out and err[0].startswith("error: cannot write")


def exported_row(values: tuple[Any, ...], **changes: Any) -> list[Any]:
    return [changes.get(h, v) for h, v in zip(HEADERS, values, strict=True)]
