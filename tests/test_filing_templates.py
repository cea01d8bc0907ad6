"""已填报 with a template's parts (one message, or several kept as a draft), and the office's
compiled document of a node: on demand (汇总) and once after the deadline, to the office group
only, on both databases."""

from __future__ import annotations

import io

import docx
import openpyxl
from sqlalchemy import select

from handlers.effects import Outgoing
from storage.models import Document, Filing, Flag
from storage.outbox import document_id
from tests.conftest import World
from tests.test_matters import add, rows, sweep_at

OFFICE_GROUP = "cid-office"
FULL = (
    "1、证照办理情况：施工许可已取得\n2、本月进展情况：完成管网铺设3公里\n"
    "3、下月主要工作安排：竣工验收\n4、累计完成进度（%）：60\n5、备注：无"
)


def setup(world: World) -> None:
    """督1 and 督2 实事项目 of 大气处 and 水处, 督3 a 民心工程 of 大气处, 督4 a 局重点工作."""
    world.at(2026, 11, 2, 10, 0)
    add(world, "实事项目 大气处 孙内勤 雨污混接改造")
    add(world, "实事项目 水处 吴内勤 河道整治")
    add(world, "民心工程 大气处 孙内勤 加装电梯")
    add(world, "局重点工作 大气处 孙内勤 臭氧防治")


def filing(world: World, matter: int, period: str = "2026-11") -> Filing:
    found = [f for f in rows(world, Filing, matter_id=matter) if f.period == period]
    assert len(found) == 1
    return found[0]


def test_filed_in_one_message(world: World) -> None:
    setup(world)
    outcome, _ = world.run("air_clerk", f"已填报 督1 {FULL}")
    assert outcome.ok and outcome.reply == "已记录：督1 雨污混接改造，2026年11月填报按时完成。"
    row = filing(world, 1)
    assert row.done_at is not None and row.content == {
        "证照办理情况": "施工许可已取得",
        "本月进展情况": "完成管网铺设3公里",
        "下月主要工作安排": "竣工验收",
        "累计完成进度": "60",
        "备注": "无",
    }


def test_parts_missing_are_named_and_the_good_ones_kept(world: World) -> None:
    setup(world)
    outcome, _ = world.run("air_clerk", "已填报 督3 一、进展情况：完成12个小区")
    assert outcome.ok  # not an error: the good part is kept
    assert "尚未记录" in outcome.reply and "已收到：进展情况" in outcome.reply
    assert "还缺：存在问题、下一步工作" in outcome.reply
    row = filing(world, 3)
    assert row.done_at is None and row.content == {"进展情况": "完成12个小区"}
    outcome, _ = world.run("air_clerk", "已填报 督3 存在问题：" + "长" * 600)
    assert "「存在问题」超出100字（600/500字）" in outcome.reply
    assert filing(world, 3).content == {"进展情况": "完成12个小区"}
    outcome, _ = world.run("air_clerk", "已填报 督3 存在问题：资金慢\n下一步工作：年底完工")
    assert outcome.reply.endswith("按时完成。")
    assert filing(world, 3).content == {
        "进展情况": "完成12个小区",
        "存在问题": "资金慢",
        "下一步工作": "年底完工",
    }
    outcome, _ = world.run("air_clerk", "已填报 督3 存在问题：无")
    assert not outcome.ok and "无需重复" in outcome.reply


def test_the_bare_command_shows_the_template(world: World) -> None:
    setup(world)
    outcome, _ = world.run("air_clerk", "已填报 督3")
    assert outcome.ok and "按模板填报" in outcome.reply
    assert "1、进展情况（800字以内）" in outcome.reply
    assert filing(world, 3).done_at is None


def test_a_falling_percentage_needs_a_note(world: World) -> None:
    setup(world)
    world.must("air_clerk", f"已填报 督1 11月 {FULL}")
    text = FULL.replace("60", "50").replace("5、备注：无", "")
    outcome, _ = world.run("air_clerk", f"已填报 督1 12月 {text}")
    assert "「累计完成进度」50%低于上次填报的60%" in outcome.reply
    assert filing(world, 1, "2026-12").done_at is None
    outcome, _ = world.run("air_clerk", "已填报 督1 12月 备注：设计变更，工程量增加")
    assert outcome.reply.endswith("按时完成。")
    assert filing(world, 1, "2026-12").content["累计完成进度"] == "50"  # type: ignore[index]


def test_a_category_without_template_stays_bare(world: World) -> None:
    setup(world)
    outcome, _ = world.run("air_clerk", "已填报 督4 已在平台填报")
    assert not outcome.ok and "没有填报模板" in outcome.reply
    assert filing(world, 4).done_at is None
    world.must("air_clerk", "已填报 督4")
    assert filing(world, 4).done_at is not None and filing(world, 4).content is None


def test_another_department_cannot_file(world: World) -> None:
    setup(world)
    outcome, _ = world.run("water_clerk", f"已填报 督1 {FULL}")
    assert not outcome.ok and filing(world, 1).done_at is None and filing(world, 1).content is None


def files_of(world: World, out: list[Outgoing]) -> dict[str, bytes]:
    found = {}
    with world.db.sessions() as session:
        for m in out:
            if m.kind == "file":
                assert m.media_path is not None
                number = document_id(m.media_path)
                document = session.get(Document, number)
                assert document is not None
                found[document.name] = document.content
    return found


def check_compiled(files: dict[str, bytes]) -> None:
    assert set(files) == {"实事项目2026年11月汇总.docx", "实事项目2026年11月汇总.xlsx"}
    word = docx.Document(io.BytesIO(files["实事项目2026年11月汇总.docx"]))
    assert word.paragraphs[0].text == "浦东新区为民办实事项目建设进度月报表（2026年11月）"
    table = word.tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert header == [
        "序号",
        "责任处室",
        "项目名称",
        "项目完成情况",
        "累计完成进度（%）",
        "备注",
        "填报时间",
        "状态",
    ]
    body = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert [r[1] for r in body] == ["大气环境处", "水生态环境处"]
    assert body[0][3].startswith("1、证照办理情况：施工许可已取得\n2、本月进展情况：")
    assert (body[0][4], body[0][5], body[0][7]) == ("60", "无", "按时报送")
    assert (body[1][3], body[1][4], body[1][7]) == ("（未报送）", "", "未报送（超限）")
    sheet = openpyxl.load_workbook(io.BytesIO(files["实事项目2026年11月汇总.xlsx"])).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert values[0][:5] == ["序号", "责任处室", "事项编号", "项目名称", "项目完成情况"]
    assert values[1][2:4] == ["督1", "雨污混接改造"] and values[1][5] == "60"
    assert values[2][2] == "督2" and values[2][-1] == "未报送（超限）"


def test_compiled_once_after_the_deadline_to_the_office_group_only(world: World) -> None:
    setup(world)
    world.at(2026, 11, 20, 10, 0)
    world.must("air_clerk", f"已填报 督1 {FULL}")
    # 实事项目 is off the platforms: due a working day before the 25th, Tuesday 24th 17:00
    before = sweep_at(world, 2026, 11, 24, 16, 45)
    assert [m for m in before if m.kind == "file"] == []
    out = sweep_at(world, 2026, 11, 25, 9, 0)
    compiled = [m for m in out if m.kind == "file" or m.text.startswith("【汇总】")]
    assert {(m.channel, m.target) for m in compiled} == {("group", OFFICE_GROUP)}
    assert len(compiled) == 3
    summary = next(m.text for m in compiled if m.kind == "text")
    assert summary.startswith("【汇总】实事项目2026年11月：应报2件，按时报送1件，未报送（超限）1件")
    check_compiled(files_of(world, out))
    # once: a later sweep (another run of the bot reads the same flag) sends nothing
    again = sweep_at(world, 2026, 11, 25, 9, 15)
    assert [m for m in again if m.kind == "file" or "【汇总】" in m.text] == []
    with world.db.sessions() as session:
        assert session.get(Flag, "compiled:实事项目:2026-11") is not None
        assert len(session.scalars(select(Document)).all()) == 2


def test_compiled_on_demand_by_the_office(world: World) -> None:
    setup(world)
    world.at(2026, 11, 26, 10, 0)
    world.must("air_clerk", f"已填报 督1 11月 {FULL}")  # after the deadline: 超限
    outcome, out = world.run("office_admin", "汇总 实事 11月")
    assert outcome.ok and outcome.reply == "实事项目2026年11月汇总已发送到局办公室群。"
    assert {(m.channel, m.target) for m in out if m.kind == "file"} == {("group", OFFICE_GROUP)}
    files = files_of(world, out)
    word = docx.Document(io.BytesIO(files["实事项目2026年11月汇总.docx"]))
    assert word.tables[0].rows[1].cells[7].text == "超限报送"
    outcome, _ = world.run("air_clerk", "汇总 实事项目")
    assert not outcome.ok and "局办公室督办岗" in outcome.reply
    outcome, _ = world.run("office_admin", "汇总 局重点工作")
    assert not outcome.ok and "没有填报模板" in outcome.reply
    outcome, _ = world.run("office_admin", "汇总 实事项目 2027年3月")
    assert not outcome.ok and "没有填报记录" in outcome.reply


def test_the_brief_in_sections(world: World) -> None:
    setup(world)
    world.must("air_clerk", "已填报 督3 一、进展情况：完成\n二、存在问题：无\n三、下一步工作：验收")
    outcome, out = world.run("office_admin", "汇总 民心工程")
    assert outcome.ok
    word = docx.Document(io.BytesIO(files_of(world, out)["民心工程2026年11月汇总.docx"]))
    lines = [p.text for p in word.paragraphs]
    assert lines[0] == "新区民心工程简报（2026年11月）"
    assert "1. 督3 加装电梯（大气环境处）" in lines
    start = lines.index("一、进展情况")
    assert lines[start : start + 6] == [
        *("一、进展情况", "完成"),
        *("二、存在问题", "无"),
        *("三、下一步工作", "验收"),
    ]


def test_an_instruction_report_is_compiled_in_its_three_parts(world: World) -> None:
    world.at(2026, 11, 2, 10, 0)
    world.must("office_admin", "批示件 大气处 2026-12-20 关于臭氧污染防治的批示")
    world.at(2026, 12, 1, 10, 0)
    world.must(
        "air_clerk", "进展 督1 1、目前进展：召开专题会 2、难点问题：资金 3、下一步打算：验收"
    )
    row = filing(world, 1, "2026-12")
    assert row.content == {"目前进展": "召开专题会", "难点问题": "资金", "下一步打算": "验收"}
    world.must("deputy", "同意 督1")  # counts once the 分管局领导 approved it (attachment 1)
    outcome, out = world.run("office_admin", "汇总 批示件 12月")
    assert outcome.ok
    word = docx.Document(io.BytesIO(files_of(world, out)["领导批示件2026年12月汇总.docx"]))
    lines = [p.text for p in word.paragraphs]
    assert lines[0] == "领导批示件跟踪办理情况（2026年12月）"
    start = lines.index("一、目前进展")
    assert lines[start : start + 6] == [
        *("一、目前进展", "召开专题会"),
        *("二、难点问题", "资金"),
        *("三、下一步打算", "验收"),
    ]
