"""Commands are declared once: typed arguments whose labels make the usage line and the help,
handlers that receive the values by name, and the middleware chain every command runs in."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from conftest import AIR, World
from sqlalchemy import select

from handlers import texts
from handlers.args import ItemArg, TextArg
from handlers.commands import Registry, Spec
from handlers.context import CommandError, Ctx
from handlers.dispatch import REGISTRY, run_command
from handlers.effects import to_user
from handlers.matters.fields import BadValue, to_date, to_department, to_owner, to_star
from handlers.middleware import CHAIN, Call, Next, Outcome, chain, normalise, parse, role_gate
from handlers.middleware import savepoint as savepoint_middleware
from storage.models import Item

SPECS = sorted(REGISTRY.specs.values(), key=lambda s: s.name)


def filled(spec: Spec, with_optional: bool) -> str:
    """The usage line with every label replaced by a sample value."""
    line = spec.usage
    for arg in spec.args:
        sample = arg.sample() or ("x" if with_optional else "")
        if arg.optional and not with_optional:
            sample = ""
        line = line.replace(arg.usage, sample, 1)
    return " ".join(line.split())


def test_the_usage_line_is_not_written_anywhere() -> None:
    """Before: each declaration carried a usage string beside its argument list."""
    assert "usage" not in {f.name for f in dataclasses.fields(Spec)}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_usage_is_derived_from_the_declaration(spec: Spec) -> None:
    labels = [(f"[{a.label}]" if a.optional else f"<{a.label}>") for a in spec.args]
    assert spec.usage == " ".join([spec.name, *labels])
    assert spec.help == f"{spec.usage}\n{spec.summary}\n可用：{spec.who}"
    # the handler takes the declared arguments by name, after the context
    assert list(spec.handler.__code__.co_varnames[1 : 1 + len(spec.args)]) == [
        a.name for a in spec.args
    ]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("with_optional", [True, False], ids=["all", "required"])
def test_the_usage_line_filled_with_samples_parses(spec: Spec, with_optional: bool) -> None:
    text = filled(spec, with_optional)
    cmd = REGISTRY.parse(text)
    assert cmd.spec is spec, text
    assert set(cmd.raw) == {a.name for a in spec.args}, text


def test_list_usage_names_the_states() -> None:
    """Before: 「列表 [状态]」 in 帮助, another line when refused."""
    assert REGISTRY.specs["列表"].usage == "列表 [待甄别/待认领/办理中/待审核/疑难件办理中]"


def test_a_handler_that_does_not_take_its_declared_arguments_fails_at_start_up() -> None:
    router = Registry()
    with pytest.raises(ValueError, match="handler takes"):

        @router.command("试", [ItemArg(), TextArg()], "测试")
        def wrong(ctx: Ctx, item: Item) -> str:
            return ""


# --- resolution: the same replies, in the same order ----------------------------------------


def test_a_hard_case_is_refused_before_its_new_department(world: World) -> None:
    n = world.build("hard_review")
    before = world.snapshot()
    outcome, out = world.run("office_admin", f"改派 {n} 土壤处")
    assert outcome.reply == texts.wrong_state(n, "hard", "改派")
    assert (outcome.ok, out, world.snapshot()) == (False, [], before)


def test_the_item_comes_before_the_department(world: World) -> None:
    n = world.build("answered")
    outcome, _ = world.run("office_admin", f"分派 {n} 土壤处")
    assert outcome.reply == texts.wrong_state(n, "answered", "分派")
    outcome, _ = world.run("office_admin", "分派 99 土壤处")
    assert outcome.reply == texts.no_item(99)


def test_the_role_gate_comes_before_resolving(world: World) -> None:
    outcome, _ = world.run("air_clerk", "分派 99 土壤处")
    assert outcome.reply == texts.not_allowed("分派", "局办公室督办岗")


def test_a_wrong_choice_after_the_matter_gets_the_usage_line(world: World) -> None:
    world.must("office_admin", "新增事项 局重点工作 大气处 u-air-clerk 扬尘治理")
    outcome, _ = world.run("office_admin", "亮灯 督1 紫")
    assert outcome.reply == texts.usage("亮灯 <事项> <绿/黄/红> [月份]")
    outcome, _ = world.run("office_admin", "亮灯 督9 紫")  # the matter first
    assert outcome.reply == texts.no_matter("督9")
    outcome, _ = world.run("office_admin", "闭环 督1 别的")  # not a 批示件 first
    assert outcome.reply == texts.not_instruction("督1 扬尘治理")


# --- the registry's fields: one check for the chat and the sheet ----------------------------


def test_field_checks_answer_the_chat_and_the_sheet(world: World) -> None:
    roster = world.roster
    with pytest.raises(BadValue) as caught:
        to_department(roster, "土壤处")
    assert caught.value.text == texts.unknown_department("土壤处", [AIR, "水生态环境处"])
    assert caught.value.cell == "「土壤处」不在名单中"
    with pytest.raises(BadValue) as caught:
        to_owner(roster, "u-water-clerk", AIR)
    assert caught.value.cell.startswith("「u-water-clerk」是水生态环境处的人员")
    assert to_owner(roster, "u-water-clerk", AIR, current="u-water-clerk") == "u-water-clerk"
    assert (to_star("★"), to_star("否"), to_star("无")) == (True, False, False)
    assert to_date("2026年12月1日").isoformat() == "2026-12-01"
    with pytest.raises(BadValue):
        to_date("2026-02-30")


# --- the middleware chain ------------------------------------------------------------------


def test_the_chain_order() -> None:
    assert (normalise, parse, role_gate, savepoint_middleware) == CHAIN


def _demo_registry() -> Registry:
    router = Registry()

    @router.command("演示", [ItemArg(), TextArg("note", "说明", optional=True)], "演示", ["clerk"])
    def demo(ctx: Ctx, item: Item, note: str) -> str:
        item.note = note
        ctx.send(to_user("u-air-head", f"#{item.id} {note}"))
        if note == "拒绝":
            raise CommandError("不行")
        if note == "出错":
            raise RuntimeError("bug")
        return f"好：#{item.id}"

    return router


def test_a_new_command_gets_the_chain_for_free(world: World) -> None:
    """Normalising, the usage line, the role gate and all-or-nothing, with nothing written
    for it but the declaration."""
    registry = _demo_registry()
    n = world.build("claimed")

    def run(who: str, text: str) -> tuple[Outcome, list[Any], str | None]:
        with world.db.transaction() as session:
            ctx = Ctx(session, world.roster, world.cal, world.now, actor=who)
            try:
                outcome = run_command(ctx, text, registry)
            except RuntimeError:
                outcome = Outcome("raised", False)
            note = session.scalars(select(Item.note).where(Item.id == n)).one()
            return outcome, list(ctx.out), note

    assert run("u-air-clerk", "　")[0] == Outcome(texts.EMPTY_MESSAGE, False)
    assert run("u-air-clerk", "演示")[0] == Outcome(texts.usage("演示 <编号> [说明]"), False)
    refused = run("u-admin", f"演示 {n} 好")
    assert refused == (Outcome(texts.not_allowed("演示", "处室内勤"), False), [], None)
    assert run("u-air-clerk", f"演示 {n} 拒绝") == (Outcome("不行", False), [], None)
    assert run("u-air-clerk", f"演示 {n} 出错") == (Outcome("raised", False), [], None)
    outcome, out, note = run("u-air-clerk", f"演示　＃{n}　好的")
    assert (outcome, note) == (Outcome(f"好：#{n}", True), "好的")
    assert [m.text for m in out] == [f"#{n} 好的"]


def test_a_middleware_is_a_callable_with_next(world: World) -> None:
    seen: list[str] = []

    def spy(call: Call, next: Next) -> Outcome:
        seen.append(call.parsed.name)
        return next(call)

    run = chain([normalise, parse, spy, role_gate, savepoint_middleware])
    with world.db.transaction() as session:
        ctx = Ctx(session, world.roster, world.cal, world.now, actor="u-air-clerk")
        outcome = run(Call(ctx, "帮助 认领", REGISTRY))
    assert seen == ["帮助"]
    assert outcome == Outcome(REGISTRY.specs["认领"].help, True)


def test_a_filing_is_checked_before_its_month(world: World) -> None:
    """已填报 on a 批示件 says to use 进展, whatever month is written (as before the
    arguments were typed: the month was read last)."""
    world.must("office_admin", "批示件 大气处 2027-03-10 落实区长批示")
    outcome, _ = world.run("air_clerk", "已填报 督1 十三月")
    assert outcome.reply == texts.instruction_files_by_report("督1 落实区长批示")
    outcome, _ = world.run("water_clerk", "已填报 督1 十三月")  # the department first
    assert outcome.reply == texts.not_matter_department("督1 落实区长批示", AIR)
