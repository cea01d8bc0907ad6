"""Reloading the roster and the calendar (in process): the files are checked first and a
wrong one is named on one line; App.reload hands the new ones to every part; the pid file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot import cli
from bot.app import App
from bot.control import (
    ReloadError,
    load_world,
    read_pid,
    remove_pid_file,
    running_pid,
    write_pid_file,
)
from bot.main import reload
from config.roster import Roster, load_roster
from config.settings import Settings, load_settings
from handlers.workcal import WorkCalendar
from storage.db import Database
from tests.conftest import EXAMPLE_ROSTER
from tests.test_schedule import Transport

MISSING_NAME = '[[people]]\nid = "u-x"\n'


def settings_for(tmp_path: Path, org: str | None = None, calendar: str = "") -> Settings:
    roster = tmp_path / "org.toml"
    roster.write_text(org if org is not None else EXAMPLE_ROSTER.read_text("utf-8"), "utf-8")
    (tmp_path / "calendar.txt").write_text(calendar, encoding="utf-8")
    return load_settings(
        bot_org_file=roster,
        bot_calendar_file=tmp_path / "calendar.txt",
        bot_pid_file=tmp_path / "bot.pid",
    )


def test_a_roster_that_fails_validation_is_named_on_one_line(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, MISSING_NAME)
    with pytest.raises(ReloadError) as caught:
        load_world(settings)
    message = str(caught.value)
    assert message.startswith(f"BOT_ORG_FILE {tmp_path / 'org.toml'}: ")
    assert "\n" not in message and "name" in message


def test_a_wrong_calendar_line_is_named(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, calendar="2026-13-40 休\n")
    with pytest.raises(ReloadError, match=r"^BOT_CALENDAR_FILE .*calendar.txt:1: .2026-13-40"):
        load_world(settings)


async def test_app_reload_hands_the_new_roster_to_every_part(
    tmp_path: Path, roster: Roster, cal: WorkCalendar, sqlite_template: Path
) -> None:
    db = Database(f"sqlite:///{sqlite_template}")
    app = App(roster, cal, db, Transport(), files_dir=tmp_path / "files", timed=False)
    try:
        other = load_roster(EXAMPLE_ROSTER)
        app._day = object()  # type: ignore[assignment]
        await app.reload(other, cal)
        assert app.world() == (other, cal)
        assert app.roster is other
        assert app.fetcher is not None and app.fetcher._world == (other, cal)
        assert app._day is None  # the day's work again with the new roster
    finally:
        db.dispose()


async def test_a_refused_reload_keeps_the_running_roster_and_logs_one_error(
    tmp_path: Path, roster: Roster, cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, "people = [")
    db = Database(f"sqlite:///{tmp_path}/bot.db")
    app = App(roster, cal, db, Transport(), timed=False)
    try:
        with caplog.at_level(logging.INFO, logger="bot"):
            assert await reload(settings, app) is False
        assert app.roster is roster
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "keeping the running roster" in errors[0].getMessage()
        assert f"BOT_ORG_FILE {tmp_path / 'org.toml'}: not valid TOML" in errors[0].getMessage()
        (tmp_path / "org.toml").write_text(EXAMPLE_ROSTER.read_text("utf-8"), "utf-8")
        assert await reload(settings, app) is True
        assert app.roster is not roster
    finally:
        db.dispose()


def test_the_pid_file_is_this_process_and_only_removed_by_it(tmp_path: Path, fake_bot: int) -> None:
    path = tmp_path / "run" / "bot.pid"
    write_pid_file(path)
    assert read_pid(path) == os.getpid()
    assert running_pid(path) is None  # this process is not "another bot"
    path.write_text("999999999\n", encoding="ascii")  # a stale file from a crash
    assert running_pid(path) is None
    remove_pid_file(path)
    assert path.exists()  # not ours: left alone
    path.write_text(f"{os.getppid()}\n", encoding="ascii")  # alive, but not the bot
    assert running_pid(path) is None
    path.write_text(f"{fake_bot}\n", encoding="ascii")
    assert running_pid(path) == fake_bot
    write_pid_file(path)
    remove_pid_file(path)
    assert not path.exists()


def test_reload_command_checks_the_files_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_for(tmp_path, "people = [")
    monkeypatch.setenv("BOT_ORG_FILE", str(tmp_path / "org.toml"))
    monkeypatch.setenv("BOT_CALENDAR_FILE", str(tmp_path / "calendar.txt"))
    monkeypatch.setenv("BOT_PID_FILE", str(tmp_path / "bot.pid"))
    (tmp_path / "bot.pid").write_text(f"{os.getppid()}\n", encoding="ascii")
    assert cli.main(["reload"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: BOT_ORG_FILE") and "not valid TOML" in err
    (tmp_path / "org.toml").write_text(EXAMPLE_ROSTER.read_text("utf-8"), "utf-8")
    assert cli.main(["reload"]) == 1  # the pid is the shell's: not signalled
    assert "which is not the bot (a stale file)" in capsys.readouterr().err
    (tmp_path / "bot.pid").unlink()
    assert cli.main(["reload"]) == 1
    assert "no running bot: BOT_PID_FILE" in capsys.readouterr().err
