"""The roster: the example loads; each kind of mistake is a ``RosterError`` naming its key."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_ROSTER

from config.roster import DEFAULT_PLACEHOLDER, Roles, RosterError, build_roster, load_roster

RAW = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
AIR, WATER = "大气环境处", "水生态环境处"


def test_example_loads() -> None:
    roster = load_roster(EXAMPLE_ROSTER)
    assert [d.name for d in roster.data.departments] == [AIR, WATER]
    assert roster.office.group == "cid-office"
    assert roster.director == "u-director"
    assert roster.rules.accept_basis == "claim"
    assert roster.rules.placeholder_text == DEFAULT_PLACEHOLDER
    assert roster.department("大气处") is roster.department(AIR) is roster.departments[AIR]
    assert roster.department("水环境处") is roster.department("水处") is roster.departments[WATER]
    assert roster.department(" 大气处 ") is roster.departments[AIR]  # NFKC and trimmed
    assert roster.department("环保处") is None
    assert roster.town("川沙新镇") is roster.towns_by_conversation["cid-town-chuansha"]
    assert roster.name("u-air-head") == "赵处"
    assert roster.people_for("clerk", "大气处") == ["u-air-clerk"]
    assert roster.people_for("deputy", WATER) == ["u-deputy-1"]
    assert roster.people_for("office_head", None) == ["u-office-head"]
    assert roster.people_for("dept_head", None) == []


F = frozenset
ROLES = {
    "u-admin": Roles(F({"office_admin"})),
    "u-office-head": Roles(F({"office_head"})),
    "u-director": Roles(F({"director"})),
    "u-deputy-1": Roles(F({"deputy"}), deputy_of=F({AIR, WATER})),
    "u-air-head": Roles(F({"dept_head"}), head_of=F({AIR})),
    "u-air-clerk": Roles(F({"clerk"}), clerk_of=F({AIR})),
    "u-water-head": Roles(F({"dept_head"}), head_of=F({WATER})),
    "u-water-clerk": Roles(F({"clerk"}), clerk_of=F({WATER})),
    "u-stranger": Roles(F()),
    "": Roles(F()),
}


@pytest.mark.parametrize(("user_id", "roles"), ROLES.items(), ids=[k or "empty" for k in ROLES])
def test_roles_of(user_id: str, roles: Roles) -> None:
    assert load_roster(EXAMPLE_ROSTER).roles_of(user_id) == roles


def test_every_example_person_has_a_role() -> None:
    roster = load_roster(EXAMPLE_ROSTER)
    assert set(roster.people) == {u for u in ROLES if u and u != "u-stranger"}


def test_one_person_in_several_parts() -> None:
    raw = copy.deepcopy(RAW)
    raw["office"]["admins"] = ["u-admin", "u-air-clerk"]
    raw["departments"][1]["clerks"] = ["u-water-clerk", "u-air-clerk"]
    roles = build_roster(raw).roles_of("u-air-clerk")
    assert roles.roles == {"office_admin", "clerk"}
    assert roles.clerk_of == {AIR, WATER}


# --- wrong rosters ---------------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Edit:
    """Set ``a.b[1].c`` in the raw roster."""

    def edit(raw: dict[str, Any]) -> None:
        *parents, last = _parts(path)
        node: Any = raw
        for part in parents:
            node = node[part]
        node[last] = value

    return edit


def _delete(path: str) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        *parents, last = _parts(path)
        node: Any = raw
        for part in parents:
            node = node[part]
        del node[last]

    return edit


def _parts(path: str) -> list[str | int]:
    out: list[str | int] = []
    for chunk in path.replace("]", "").split("."):
        name, *indexes = chunk.split("[")
        out += [name, *map(int, indexes)]
    return out


def _add_person(raw: dict[str, Any]) -> None:
    raw["people"].append({"id": "u-admin", "name": "王敏（重复）"})


WRONG = [  # (id, edit, the key named, what its line says)
    (
        "unknown-clerk",
        _set("departments[0].clerks", ["u-nobody"]),
        "departments[0].clerks[0]",
        "u-nobody",
    ),
    (
        "unknown-head",
        _set("departments[1].head", "u-x"),
        "departments[1].head",
        "not in [[people]]",
    ),
    ("unknown-deputy", _set("departments[0].deputy", "u-x"), "departments[0].deputy", "u-x"),
    ("unknown-admin", _set("office.admins", ["u-admin", "u-x"]), "office.admins[1]", "u-x"),
    ("unknown-office-head", _set("office.head", "u-x"), "office.head", "u-x"),
    ("unknown-director", _set("leaders.director", "u-x"), "leaders.director", "u-x"),
    (
        "alias-twice",
        _set("departments[1].aliases", ["大气处"]),
        "departments[1].aliases[0]",
        "大气处",
    ),
    (
        "alias-is-a-name",
        _set("departments[1].aliases", ["水处", "大气环境处"]),
        "departments[1].aliases[1]",
        "already",
    ),
    (
        "alias-full-width-space",
        _set("departments[1].aliases", ["大气处　"]),
        "departments[1].aliases[0]",
        "already",
    ),
    ("name-twice", _set("departments[1].name", AIR), "departments[1].name", "already"),
    ("no-clerk", _set("departments[0].clerks", []), "departments[0].clerks", "at least 1"),
    ("clerks-missing", _delete("departments[0].clerks"), "departments[0].clerks", "Field required"),
    (
        "unknown-key-department",
        _set("departments[0].chief", "u-x"),
        "departments[0].chief",
        "Extra inputs",
    ),
    ("unknown-key-top", _set("admins", ["u-admin"]), "admins", "Extra inputs"),
    ("unknown-key-rules", _set("rules.nag_every", 2), "rules.nag_every", "Extra inputs"),
    ("missing-office", _delete("office"), "office", "Field required"),
    ("missing-leaders", _delete("leaders"), "leaders", "Field required"),
    ("no-departments", _set("departments", []), "departments", "at least 1"),
    ("person-twice", _add_person, "people[8].id", "'u-admin' is listed twice"),
    ("person-without-name", _delete("people[2].name"), "people[2].name", "Field required"),
    (
        "conversation-twice",
        _set("towns[1].conversations", ["cid-town-chuansha"]),
        "towns[1].conversations[0]",
        "used twice",
    ),
    (
        "conversation-is-a-group",
        _set("towns[0].conversations", ["cid-air"]),
        "towns[0].conversations[0]",
        "used twice",
    ),
    (
        "group-twice",
        _set("departments[1].group", "cid-air"),
        "departments[1].group",
        "departments[0].group",
    ),
    (
        "group-is-the-office",
        _set("departments[0].group", "cid-office"),
        "departments[0].group",
        "office.group",
    ),
    ("town-twice", _set("towns[1].name", "川沙新镇"), "towns[1].name", "listed twice"),
    ("nag-2x", _set("rules.nag_before", ["half", "2x"]), "rules.nag_before", "'2x'"),
    ("nag-0h", _set("rules.nag_before", ["0h"]), "rules.nag_before", "'0h'"),
    ("nag-negative", _set("rules.nag_before", ["-1h"]), "rules.nag_before", "'-1h'"),
    ("workdays-zero", _set("rules.triage_workdays", 0), "rules.triage_workdays", "more than 0"),
    (
        "workdays-negative",
        _set("rules.reply_workdays", -2.5),
        "rules.reply_workdays",
        "more than 0",
    ),
    ("workdays-text", _set("rules.claim_workdays", "半天"), "rules.claim_workdays", "working days"),
    (
        "workdays-nan",
        _set("rules.followup_workdays", float("nan")),
        "rules.followup_workdays",
        "working days",
    ),
    (
        "accept-basis",
        _set("rules.accept_basis", "arrival"),
        "rules.accept_basis",
        "'claim' or 'receipt'",
    ),
    (
        "ladder-role",
        _set("rules.escalate_claim", [["dept_head"], ["boss"]]),
        "rules.escalate_claim",
        "'boss'",
    ),
    ("ladder-clerk", _set("rules.escalate_reply", [["clerk"]]), "rules.escalate_reply", "'clerk'"),
    (
        "ladder-shape",
        _set("rules.escalate_triage", ["office_head"]),
        "rules.escalate_triage[0]",
        "valid list",
    ),
    # a head who is also a clerk of the department would approve their own drafts
    (
        "head-is-clerk",
        _set("departments[0].clerks", ["u-air-clerk", "u-air-head"]),
        "departments[0].clerks[1]",
        "is also departments[0].head",
    ),
    # [interviews]: 约谈问询 proposed or started at once; the missing-lights reminder's day
    ("interviews-start", _set("interviews.start", "manual"), "interviews.start", "'propose'"),
    (
        "interviews-reminder-day",
        _set("interviews.lights_reminder_workday", 20),
        "interviews.lights_reminder_workday",
        "1 to 15",
    ),
    ("interviews-unknown", _set("interviews.auto", True), "interviews.auto", "Extra inputs"),
    # [taskbook] reads its reminder days and roles as [filings] does: each once
    (
        "taskbook-remind-twice",
        _set("taskbook.remind_workdays_before", [5, 1, 5]),
        "taskbook.remind_workdays_before",
        "5 is listed twice",
    ),
    (
        "taskbook-escalate-twice",
        _set("taskbook.escalate", ["office", "office"]),
        "taskbook.escalate",
        "'office' is listed twice",
    ),
    (
        "taskbook-escalate-role",
        _set("taskbook.escalate", ["boss"]),
        "taskbook.escalate",
        "'boss'",
    ),
    # regression: an empty placeholder was accepted, and 疑难 would send the town nothing
    (
        "placeholder-empty",
        _set("rules.placeholder_text", ""),
        "rules.placeholder_text",
        "at least 1",
    ),
]


@pytest.mark.parametrize(("edit", "key", "says"), [pytest.param(*w[1:], id=w[0]) for w in WRONG])
def test_wrong_roster_names_the_key(edit: Edit, key: str, says: str) -> None:
    raw = copy.deepcopy(RAW)
    edit(raw)
    with pytest.raises(RosterError) as info:
        build_roster(raw, "org.toml")
    message = str(info.value)
    assert message.startswith("org.toml: invalid roster:")
    problem = next(
        (line for line in message.splitlines() if line.strip().startswith(key + ":")), ""
    )
    assert problem, f"{key!r} not named in:\n{message}"
    assert says in problem
    error = info.value  # shown without a chained traceback
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_every_problem_is_listed() -> None:
    raw = copy.deepcopy(RAW)
    raw["departments"][0]["clerks"] = ["u-x", "u-y"]
    raw["towns"][1]["conversations"] = ["cid-water"]
    with pytest.raises(RosterError) as info:
        build_roster(raw)
    message = str(info.value)
    for key in (
        "departments[0].clerks[0]",
        "departments[0].clerks[1]",
        "towns[1].conversations[0]",
    ):
        assert f"\n  {key}: " in message


def test_not_a_table() -> None:
    with pytest.raises(RosterError, match=r"\(top\)"):
        build_roster(["office"])


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text('[office]\nadmins = ["u-admin"]\ngroup = cid-office\n', encoding="utf-8")
    with pytest.raises(RosterError) as info:
        load_roster(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not valid TOML:")
    assert "line 3" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_bytes("[office]\ngroup = '办公室'\n".encode("gbk"))
    with pytest.raises(RosterError, match="cannot read the roster"):
        load_roster(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(RosterError, match="does not exist") as info:
        load_roster(path)
    assert str(info.value).startswith(str(path))


def test_wrong_file_on_disk_names_the_path_and_key(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    text = EXAMPLE_ROSTER.read_text(encoding="utf-8")
    path.write_text(text.replace('clerks = ["u-air-clerk"]', "clerks = []"), encoding="utf-8")
    with pytest.raises(RosterError, match=r"departments\[0\]\.clerks: ") as info:
        load_roster(path)
    assert str(info.value).startswith(f"{path}: invalid roster:")


def test_rules_values_parse() -> None:
    raw = copy.deepcopy(RAW)
    raw["rules"].update(
        triage_workdays="1/4",
        reply_workdays=3,
        nag_before=["half", "0.5h", "2h"],
        accept_basis="receipt",
        escalate_reply=[["dept_head", "deputy"], ["director", "office_head"]],
    )
    rules = build_roster(raw).rules
    assert (rules.triage_workdays, rules.reply_workdays) == (0.25, 3)
    assert rules.nag_before == ["half", "0.5h", "2h"]
    assert rules.accept_basis == "receipt"
