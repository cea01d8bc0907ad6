"""Command line: ``python -m bot ...``. Output formats here are fixed; scripts rely on them."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from bot import taskbook_cli
from bot.logs import install as install_log_filters
from config.calendar_file import add_year, format_entry
from config.hours import CalendarError, format_hours
from config.notice import NoticeError, parse_notice
from config.roster import Roster, RosterError, load_roster
from config.settings import Settings, SettingsError, load_settings
from handlers.workcal import DayInfo, WorkCalendar, load_calendar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EXAMPLE_ROSTER = Path(__file__).resolve().parent.parent / "config" / "examples" / "org.toml"


class UsageError(Exception):
    pass


def _day_line(info: DayInfo, cal: WorkCalendar) -> str:
    hours = "" if info.hours in ((), cal.standard_day) else " " + format_hours(info.hours)
    kind = info.kind or ("班" if info.hours else "休")
    return f"{info.date.isoformat()} {kind}{hours} {info.note}".rstrip()


def _coverage_line(cal: WorkCalendar, year: int) -> str:
    if cal.is_covered(year):
        return f"{year} 已覆盖：节假日和调休上班日已知"
    return (
        f"{year} 未覆盖：只按周末计算，截止时间均为临时；"
        f"国务院通知发布后用 calendar import-notice 通知文件 --write 补上"
    )


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    cal = load_calendar(settings)
    for info in cal.differing_days(args.year):
        print(_day_line(info, cal))
    print(_coverage_line(cal, args.year))
    return 0


def cmd_import_notice(settings: Settings, args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from None
    try:
        notice = parse_notice(text)
    except NoticeError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    entries = notice.differing(settings.week_template)
    for date, rule in entries:
        print(format_entry(date, rule))
    if args.write:
        add_year(settings.bot_calendar_file, notice.year, entries, notice.title)
        print(f"{notice.year} 已写入 {settings.bot_calendar_file}")
    else:
        print(f"{notice.year} 未写入：核对无误后加 --write 写入日历文件")
    return 0


def _parse_moment(text: str, settings: Settings) -> dt.datetime:
    try:
        naive = dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")  # noqa: DTZ007
    except ValueError:
        raise UsageError(f"{text!r} is not a moment as YYYY-MM-DD HH:MM") from None
    return naive.replace(tzinfo=settings.tz)


def _parse_workdays(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"{text!r} is not a number of working days") from None
    if value < 0:
        raise UsageError("the number of working days cannot be negative")
    return value


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    start = _parse_moment(args.start, settings)
    deadline = load_calendar(settings).add(start, _parse_workdays(args.workdays))
    local = deadline.at.astimezone(settings.tz)
    when = f"{local.year:04d}-{local:%m-%d %H:%M}"  # %Y drops the zeros of year 1
    print(when + (" provisional" if deadline.provisional else ""))
    return 0


def cmd_node(settings: Settings, args: argparse.Namespace) -> int:
    try:
        year, month = (int(p) for p in args.month.split("-"))
    except ValueError:
        raise UsageError(f"{args.month!r} is not a month as YYYY-MM") from None
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise UsageError(f"year {year} is out of range ({dt.MINYEAR} to {dt.MAXYEAR})")
    if not 1 <= month <= 12:
        raise UsageError(f"{args.month!r} is not a month as YYYY-MM")
    if not 1 <= args.day <= 31:
        raise UsageError("the day of the month is 1 to 31")
    date, provisional = load_calendar(settings).month_node(
        year, month, args.day, "after" if args.after else "before"
    )
    print(date.isoformat() + (" provisional" if provisional else ""))
    return 0


def _parse_day(text: str | None, option: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date as YYYY-MM-DD") from None


def cmd_stats_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.stats_xlsx import export_with_settings
    from handlers import texts
    from storage.migrate import MigrationError

    first, last = _parse_day(args.start, "--from"), _parse_day(args.end, "--to")
    try:
        first, last = export_with_settings(settings, args.file, first, last)
    except (ValueError, MigrationError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.file}: {exc}") from None
    print(texts.stats_exported(args.file, first, last))
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    """Write a report's Word document and workbook into --out (made as in the chat)."""
    from bot.startup import settings_clock
    from handlers.office_reports import periods
    from handlers.office_reports.make import make

    roster = load_roster(settings.bot_org_file)
    cal = load_calendar(settings)
    now = settings_clock(settings.bot_clock_file)()
    rules = roster.data.reports
    if args.period:
        period = periods.parse(rules, args.period)
        if period is None or period.kind != args.kind:
            raise UsageError(f"--period {args.period!r} is not a {args.kind} period (see README)")
    else:
        period = periods.latest(rules, args.kind, now.astimezone(cal.tz).date())

    def files(session: Session) -> list[tuple[str, bytes]]:
        made = make(session, roster, cal, period, now)
        return [(made.word_name, made.word), (made.workbook_name, made.workbook)]

    return _write_files(settings, Path(args.out), files)


def cmd_score(settings: Settings, args: argparse.Namespace) -> int:
    """Write a year's score sheet (Word and Excel) into --out: the version sent or approved
    (frozen), else the draft as the data say now."""
    from sqlalchemy import select

    from bot.startup import settings_clock
    from handlers.score import export, sheet
    from storage.models import ScoreSheet

    roster = load_roster(settings.bot_org_file)
    cal = load_calendar(settings)
    now = settings_clock(settings.bot_clock_file)()
    if not 2000 <= args.year <= now.astimezone(cal.tz).year:
        raise UsageError(f"year {args.year}: give a year from 2000 to this year")

    def files(session: Session) -> list[tuple[str, bytes]]:
        row = session.scalars(select(ScoreSheet).where(ScoreSheet.year == args.year)).first()
        if row is not None and row.snapshot is not None:
            data = dict(row.snapshot)
        else:
            data = sheet.build(session, roster, cal, args.year, now, row)
        word_name, book_name = export.names(data)
        return [(word_name, export.word(data)), (book_name, export.excel(data))]

    return _write_files(settings, Path(args.out), files)


def _write_files(
    settings: Settings, out: Path, make: Callable[[Session], list[tuple[str, bytes]]]
) -> int:
    """Migrate the database, make (name, content) files in one session and write them into
    ``out`` (made if missing), printing each path; what goes wrong is a UsageError."""
    from bot.startup import open_database
    from storage.migrate import MigrationError

    db = open_database(settings.database_url)
    try:
        db.migrate()
        with db.sessions() as session:
            files = make(session)
        out.mkdir(parents=True, exist_ok=True)
        for name, content in files:
            (out / name).write_bytes(content)
            print(out / name)
    except MigrationError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write into {out}: {exc}") from None
    finally:
        db.dispose()
    return 0


def _quiet_sdk_logs() -> None:
    for name in ("dingtalk_stream", "dingtalk_stream.client", "darabonba", "apscheduler"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _example_world(settings: Settings) -> tuple[Roster, WorkCalendar]:
    """The roster of BOT_ORG_FILE when it exists, else the example roster."""
    path = settings.bot_org_file if settings.bot_org_file.exists() else EXAMPLE_ROSTER
    return load_roster(path), load_calendar(settings)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import play

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_filters()
    _quiet_sdk_logs()
    roster = load_roster(EXAMPLE_ROSTER)
    print("督办助手演示：本地钉钉沙盒里的一天（示例名单 config/examples/org.toml）\n")
    for line in asyncio.run(play(roster, load_calendar(settings))):
        print(line)
    return 0


def cmd_sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox import LAST_YEAR, Sandbox, terminal
    from bot.startup import open_database

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_filters()
    _quiet_sdk_logs()
    roster, cal = _example_world(settings)
    start = _parse_moment(args.start, settings) if args.start else dt.datetime.now(settings.tz)
    if not 1900 <= start.year < LAST_YEAR:
        raise UsageError(f"--start: a year from 1900 to {LAST_YEAR - 1}")
    db_url = f"sqlite:///{args.db}"
    open_database(db_url, "--db").dispose()

    async def main() -> None:
        cards = "local-sandbox-card" if args.cards else ""
        async with Sandbox(
            roster, cal, db_url=db_url, start=start, card_template_id=cards
        ) as sandbox:
            await terminal(sandbox)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # Ctrl-C: leave as /退出 does
        print()
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if not (settings.dingtalk_client_id and settings.dingtalk_client_secret):
        print(
            "未设置 DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET，先演示本地沙盒。"
            "连接钉钉的方法见 README。\n"
        )
        return cmd_demo(settings, args)
    from bot.main import run_bot

    return int(run_bot(settings))


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from alembic.util import CommandError

    from bot.startup import open_database
    from storage.migrate import MigrationError

    db = open_database(settings.database_url)
    try:
        before = db.current_revision()
        after = db.migrate()
    except (MigrationError, CommandError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.dispose()
    print(f"{after} (up to date)" if before == after else f"{before or '-'} -> {after}")
    return 0


def cmd_db_current(settings: Settings, args: argparse.Namespace) -> int:
    from bot.startup import open_database
    from storage.migrate import head

    db = open_database(settings.database_url)
    try:
        current = db.current_revision()
    finally:
        db.dispose()
    latest = head()
    print(f"{current or '-'} " + ("(head)" if current == latest else f"(head is {latest})"))
    return 0


def cmd_db_backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    try:
        print(backup(settings.database_url, Path(args.dir)))
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_db_restore(settings: Settings, args: argparse.Namespace) -> int:
    from bot.backup import BackupError, restore

    try:
        done = restore(settings.database_url, Path(args.file), settings.bot_pid_file)
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    print(f"restored {args.file} (revision {done.revision}) into {done.target}")
    if done.migrated_to:
        print(f"migrated {done.revision} -> {done.migrated_to}")
    if done.kept:
        print(f"the database as it was: {done.kept}")
    return 0


def cmd_reload(settings: Settings, args: argparse.Namespace) -> int:
    from bot.control import NotRunning, ReloadError, signal_reload

    try:
        pid = signal_reload(settings)
    except (ReloadError, NotRunning) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{settings.bot_org_file} and {settings.bot_calendar_file} are valid; "
        f"asked the bot (pid {pid}) to reload them (its log says when done)"
    )
    return 0


def cmd_db_revision(settings: Settings, args: argparse.Namespace) -> int:
    from alembic.util import CommandError

    from storage.migrate import revision

    try:
        print(revision(args.message))
    except CommandError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_registry_export(settings: Settings, args: argparse.Namespace) -> int:
    from alembic.util import CommandError

    from bot.registry_xlsx import export_registry
    from bot.startup import open_database
    from storage.migrate import MigrationError

    roster = load_roster(settings.bot_org_file)
    db = open_database(settings.database_url)
    try:
        db.migrate()
        with db.transaction() as session:
            count = export_registry(session, roster, Path(args.file))
    except (MigrationError, CommandError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.file}: {exc}") from None
    finally:
        db.dispose()
    print(f"导出{count}项到{args.file}")
    return 0


def cmd_registry_import(settings: Settings, args: argparse.Namespace) -> int:
    from alembic.util import CommandError

    from bot.registry_xlsx import RegistryImportError, import_registry
    from bot.startup import open_database, settings_clock
    from storage.migrate import MigrationError

    roster = load_roster(settings.bot_org_file)
    now = settings_clock(settings.bot_clock_file)()
    db = open_database(settings.database_url)
    try:
        db.migrate()
        with db.transaction() as session:
            result = import_registry(session, roster, load_calendar(settings), Path(args.file), now)
    except (MigrationError, CommandError) as exc:
        raise UsageError(str(exc)) from None
    except RegistryImportError as exc:
        print(f"未导入，数据库没有改动。{args.file}有{len(exc.problems)}处问题：", file=sys.stderr)
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(f"导入完成：新增{result.created}项，更新{result.updated}项，未变{result.unchanged}项")
    return 0


def cmd_filings_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.filings_xlsx import FilingsError, export_with_settings

    try:
        paths = export_with_settings(settings, args.category, args.period, Path(args.out))
    except FilingsError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write into {args.out}: {exc}") from None
    for path in paths:
        print(path)
    return 0


def cmd_filings_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.filings_xlsx import FilingImportError, FilingsError, import_with_settings
    from handlers import texts

    try:
        result = import_with_settings(settings, args.category, Path(args.file), args.period)
    except FilingsError as exc:
        raise UsageError(str(exc)) from None
    except FilingImportError as exc:
        print(texts.sheet_refused(args.file, len(exc.problems)), file=sys.stderr)
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    print(texts.sheet_imported(result.filed, result.unchanged))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="督办助手")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (the demo when no credentials are set)")
    run.set_defaults(func=cmd_run)
    reload = commands.add_parser(
        "reload", help="check the roster and calendar files, then have the running bot reload them"
    )
    reload.set_defaults(func=cmd_reload)
    demo = commands.add_parser("demo", help="play a scripted day in the local sandbox")
    demo.set_defaults(func=cmd_demo)
    sandbox = commands.add_parser("sandbox", help="a terminal on the local DingTalk sandbox")
    sandbox.add_argument("--start", help='sandbox clock start, "YYYY-MM-DD HH:MM"')
    sandbox.add_argument("--db", default="data/sandbox.db", help="sandbox database file")
    sandbox.add_argument(
        "--cards", action="store_true", help="messages with actions as interactive cards"
    )
    sandbox.set_defaults(func=cmd_sandbox)

    calendar = commands.add_parser("calendar", help="the working calendar")
    cal = calendar.add_subparsers(dest="calendar_command", required=True)
    check = cal.add_parser("check", help="days of YEAR that differ from a plain week")
    check.add_argument("year", type=int)
    check.set_defaults(func=cmd_check)
    imp = cal.add_parser("import-notice", help="read the State Council's holiday notice")
    imp.add_argument("file")
    imp.add_argument("--write", action="store_true", help="add the days to the calendar file")
    imp.set_defaults(func=cmd_import_notice)
    add = cal.add_parser("add", help="the deadline WORKDAYS working days after a moment")
    add.add_argument("start", help='"YYYY-MM-DD HH:MM"')
    add.add_argument("workdays", help="e.g. 0.5 or 2.5")
    add.set_defaults(func=cmd_add)
    node = cal.add_parser("node", help="the month node: last working day on or before DAY")
    node.add_argument("month", help="YYYY-MM")
    node.add_argument("day", type=int)
    node.add_argument("--after", action="store_true", help="first working day on or after")
    node.set_defaults(func=cmd_node)

    stats = commands.add_parser("stats", help="statistics per department")
    stc = stats.add_subparsers(dest="stats_command", required=True)
    export = stc.add_parser("export", help="write the statistics workbook for the office")
    export.add_argument("file", help="FILE.xlsx")
    export.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="default: month's 1st")
    export.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="inclusive (default: end)")
    export.set_defaults(func=cmd_stats_export)

    report = commands.add_parser("report", help="write a report's Word document and workbook")
    report.add_argument("kind", choices=("quarter", "half", "year"))
    report.add_argument("--period", help="2026Q3, 2026H1, 2026 (default: the latest)")
    report.add_argument("--out", required=True, metavar="DIR", help="the folder to write into")
    report.set_defaults(func=cmd_report)

    score = commands.add_parser("score", help="write a year's 考核评议 score sheet (Word, Excel)")
    score.add_argument("year", type=int, help="the year, e.g. 2026")
    score.add_argument("--out", required=True, metavar="DIR", help="the folder to write into")
    score.set_defaults(func=cmd_score)

    database = commands.add_parser("db", help="the database schema (DATABASE_URL)")
    dbc = database.add_subparsers(dest="db_command", required=True)
    upgrade = dbc.add_parser("upgrade", help="migrate to the latest revision (start-up does too)")
    upgrade.set_defaults(func=cmd_db_upgrade)
    current = dbc.add_parser("current", help="the database's revision")
    current.set_defaults(func=cmd_db_current)
    db_backup = dbc.add_parser("backup", help="back up the database into DIR (while it runs)")
    db_backup.add_argument("dir", metavar="DIR")
    db_backup.set_defaults(func=cmd_db_backup)
    db_restore = dbc.add_parser("restore", help="replace the database by a backup (bot stopped)")
    db_restore.add_argument("file", metavar="FILE")
    db_restore.set_defaults(func=cmd_db_restore)
    revision = dbc.add_parser("revision", help="autogenerate a revision from the models")
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(func=cmd_db_revision)

    registry = commands.add_parser("registry", help="the registry of 督办事项 as an xlsx workbook")
    reg = registry.add_subparsers(dest="registry_command", required=True)
    reg_import = reg.add_parser("import", help="check every row, then apply the sheet")
    reg_import.add_argument("file", help="FILE.xlsx (its first sheet)")
    reg_import.set_defaults(func=cmd_registry_import)
    reg_export = reg.add_parser("export", help="write every matter to FILE.xlsx")
    reg_export.add_argument("file", help="FILE.xlsx")
    reg_export.set_defaults(func=cmd_registry_export)

    filings = commands.add_parser("filings", help="a node's filings by template (月报表, 简报)")
    fil = filings.add_subparsers(dest="filings_command", required=True)
    fil_export = fil.add_parser("export", help="write the node's compiled Word and Excel files")
    fil_export.add_argument("category", help="e.g. 实事项目, 民心工程, 领导批示件")
    fil_export.add_argument("--period", metavar="YYYY-MM", help="default: this month")
    fil_export.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    fil_export.set_defaults(func=cmd_filings_export)
    fil_import = fil.add_parser("import", help="check every row, then record the filings")
    fil_import.add_argument("category", help="e.g. 实事项目")
    fil_import.add_argument("file", help="FILE.xlsx (its first sheet)")
    fil_import.add_argument("--period", metavar="YYYY-MM", help="default: this month")
    fil_import.set_defaults(func=cmd_filings_import)
    taskbook_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import DBAPIError

    args = build_parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = load_settings()
        return int(args.func(settings, args))
    except (UsageError, SettingsError, CalendarError, RosterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:  # the database went away after start-up's check
        from bot.startup import database_problem

        url = settings.database_url if settings is not None else ""
        print(f"error: {database_problem(url, exc)}", file=sys.stderr)
        return 2
