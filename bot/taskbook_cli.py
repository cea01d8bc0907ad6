"""``python -m bot taskbook import|export``: the year's task book as a workbook and a Word
document (bot/cli.py adds the parser)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config.roster import load_roster
from config.settings import Settings
from handlers.workcal import load_calendar
from storage.db import Database


def _open(settings: Settings) -> Database:
    from alembic.util import CommandError

    from bot.cli import UsageError
    from bot.startup import open_database
    from storage.migrate import MigrationError

    db = open_database(settings.database_url)
    try:
        db.migrate()
    except (MigrationError, CommandError) as exc:
        db.dispose()
        raise UsageError(str(exc)) from None
    return db


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.startup import settings_clock
    from bot.taskbook_xlsx import TaskbookImportError, import_taskbook
    from handlers import texts

    roster = load_roster(settings.bot_org_file)
    cal = load_calendar(settings)
    now = settings_clock(settings.bot_clock_file)()
    year = args.year or now.astimezone(cal.tz).year
    db = _open(settings)
    try:
        with db.transaction() as session:
            result = import_taskbook(session, roster, cal, Path(args.file), year, now)
    except TaskbookImportError as exc:
        print(texts.sheet_refused(args.file, len(exc.problems)), file=sys.stderr)
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(texts.taskbook_imported(result.year, result.counts))
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from handlers.taskbook.export import word, workbook

    roster = load_roster(settings.bot_org_file)
    out = Path(args.out)
    db = _open(settings)
    try:
        with db.sessions() as session:
            files = {
                f"{args.year}年度局重点工作任务书.docx": word(session, roster, args.year),
                f"{args.year}年度局重点工作任务书.xlsx": workbook(session, roster, args.year),
            }
    finally:
        db.dispose()
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (out / name).write_bytes(content)
            print(out / name)
    except OSError as exc:
        from bot.cli import UsageError

        raise UsageError(f"cannot write into {args.out}: {exc}") from None
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    taskbook = commands.add_parser("taskbook", help="the year's task book (任务书)")
    tbc = taskbook.add_subparsers(dest="taskbook_command", required=True)
    imp = tbc.add_parser("import", help="check every sheet, then replace the draft task books")
    imp.add_argument("file", help="FILE.xlsx: one sheet per department, or a 处室 column")
    imp.add_argument("--year", type=int, metavar="YYYY", help="default: this year")
    imp.set_defaults(func=cmd_import)
    exp = tbc.add_parser("export", help="write the bureau's task book (Word and Excel)")
    exp.add_argument("--year", type=int, required=True, metavar="YYYY")
    exp.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    exp.set_defaults(func=cmd_export)
