from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).parent.parent
NOTICE_2026 = Path(__file__).parent / "data" / "notices" / "2026.txt"


@pytest.fixture
def calendar_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calendar.txt"
    monkeypatch.setenv("BOT_CALENDAR_FILE", str(path))
    monkeypatch.chdir(tmp_path)  # no .env from the developer's tree
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_check_2026(calendar_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "calendar", "check", "2026")
    assert code == 0
    work = [line.split()[0][5:] for line in lines if " 班 " in line]
    assert work == ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"]
    assert lines[0] == "2026-01-01 休 元旦"
    assert "2026-10-08 休" not in "\n".join(lines)
    assert lines == [*sorted(lines[:-1]), lines[-1]]
    assert lines[-1].startswith("2026 已覆盖")
    assert len(lines) == 26


def test_add_and_node(calendar_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "calendar", "add", "2026-09-30 16:00", "0.5")[1] == ["2026-10-08 11:30"]
    assert run(capsys, "calendar", "node", "2026-10", "6")[1] == ["2026-09-30"]
    assert run(capsys, "calendar", "node", "2026-10", "6", "--after")[1] == ["2026-10-08"]
    code, lines, _ = run(capsys, "calendar", "add", "2026-12-30 10:00", "2.5")
    assert code == 0 and lines[0].endswith(" provisional")


def test_import_notice_then_not_provisional(
    calendar_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The 2026 notice with its year moved on, as the office would paste 2027's.
    notice = tmp_path / "2027.txt"
    notice.write_text(
        "国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：1月1日（周五）至3日（周日）放假，共3天。\n",
        encoding="utf-8",
    )
    code, lines, _ = run(capsys, "calendar", "import-notice", str(notice))
    assert code == 0 and lines == ["2027-01-01 休 元旦", lines[-1]]
    assert not calendar_file.exists()
    code, lines, _ = run(capsys, "calendar", "import-notice", str(notice), "--write")
    assert code == 0 and calendar_file.exists()
    code, lines, _ = run(capsys, "calendar", "add", "2026-12-30 10:00", "2.5")
    assert lines == ["2027-01-04 14:30"]
    assert run(capsys, "calendar", "check", "2027")[1][-1].startswith("2027 已覆盖")
    code, _, err = run(capsys, "calendar", "import-notice", str(notice), "--write")
    assert code == 2 and "already in the file" in err


def test_errors_are_one_line_and_exit_2(
    calendar_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, message in [
        (["calendar", "add", "2026-09-31 16:00", "1"], "is not a moment"),
        (["calendar", "add", "2026-09-30 16:00", "x"], "not a number"),
        (["calendar", "add", "2026-09-30 16:00", "-1"], "negative"),
        (["calendar", "node", "2026-13", "6"], "not a month"),
        (["calendar", "node", "2026-10", "40"], "1 to 31"),
        (["calendar", "import-notice", str(tmp_path / "none.txt")], "cannot read"),
    ]:
        code, out, err = run(capsys, *argv)
        assert code == 2 and not out and message in err and err.count("\n") == 1
    calendar_file.write_text("2027-02-30 休\n", encoding="utf-8")
    code, _, err = run(capsys, "calendar", "check", "2027")
    assert code == 2 and "calendar.txt:1:" in err


def test_bad_settings_name_the_variable(
    calendar_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_OFFICE_HOURS", "mon-fri 9-5")
    code, _, err = run(capsys, "calendar", "check", "2026")
    assert code == 2 and "BOT_OFFICE_HOURS" in err


def test_python_dash_m_bot(tmp_path: Path) -> None:
    shutil.copy(NOTICE_2026, tmp_path / "n.txt")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DINGTALK_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "calendar", "import-notice", "n.txt"],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2026-10-10 班 国庆节调休" in done.stdout.splitlines()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["calendar", "check", "0"], "year 0 is out of range"),
        (["calendar", "check", "99999"], "year 99999 is out of range"),
        (["calendar", "check", "-5"], "year -5 is out of range"),
        (["calendar", "node", "0-01", "5"], "year 0 is out of range"),
        (["calendar", "node", "99999-01", "5"], "year 99999 is out of range"),
        (["calendar", "add", "2026-01-01 09:00", "1e9"], "after 9999-12-31"),
        (["calendar", "add", "2026-01-01 09:00", "1e400"], "after 9999-12-31"),
        (["calendar", "add", "9999-12-31 09:00", "5"], "after 9999-12-31"),
        (["calendar", "add", "0000-01-01 09:00", "1"], "is not a moment"),
        (["stats", "export", "s.xlsx", "--to", "9999-12-31"], "out of range"),
        (["stats", "export", "s.xlsx", "--from", "0001-01-01"], "out of range"),
        (["sandbox", "--start", "9999-12-30 09:00"], "--start: a year from 1900 to 9997"),
    ],
)
def test_years_out_of_range_are_one_line_and_exit_2(
    calendar_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("BOT_ORG_FILE", str(ROOT / "config" / "examples" / "org.toml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{calendar_file.parent}/bot.db")
    code, out, err = run(capsys, *argv)
    assert code == 2 and not out and message in err and err.count("\n") == 1, err


def test_the_calendar_reaches_its_ends(
    calendar_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "calendar", "node", "9999-12", "31", "--after")[1] == [
        "9999-12-31 provisional"
    ]
    assert run(capsys, "calendar", "add", "0001-01-01 09:00", "1")[1] == [
        "0001-01-01 17:00 provisional"
    ]
    code, lines, _ = run(capsys, "calendar", "check", "9999")
    assert code == 0 and lines[-1].startswith("9999 未覆盖")
