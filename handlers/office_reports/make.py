"""A report made whole: its figures, the phone's summary, the Word document and the workbook;
kept as documents and sent as file messages that, when the upload fails for good, tell the
office the command that writes them (handlers.office_reports.delivery)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import documents, texts
from handlers.context import Ctx
from handlers.office_reports import excel, model, prose, word
from handlers.office_reports.periods import Period
from handlers.workcal import WorkCalendar

PURPOSE = "report"  # an outbox row's purpose: a report's file (see delivery.file_outcome)
SUBJECT = "report:{kind}:{label}"


@dataclass(frozen=True)
class Made:
    report: model.Report
    summary: str
    word: bytes
    workbook: bytes

    @property
    def word_name(self) -> str:
        return f"{self.report.title}.docx"

    @property
    def workbook_name(self) -> str:
        return f"{self.report.title}{texts.REPORT_DOC_SUFFIX}.xlsx"


def make(
    session: Session, roster: Roster, cal: WorkCalendar, period: Period, now: dt.datetime
) -> Made:
    report = model.build(session, roster, cal, period, now)
    return Made(report, prose.summary(report), word.build(report), excel.build(report))


def cli_command(subject: str) -> str | None:
    """The command that writes a report's files, from its documents' subject; None: not a
    report's."""
    parts = subject.split(":")
    if len(parts) != 3 or parts[0] != "report":
        return None
    return f"python -m bot report {parts[1]} --period {parts[2]} --out DIR"


def deliver(ctx: Ctx, made: Made, channel: Literal["group", "oto"], target: str) -> None:
    """Keep both files and send them to ``target``, each tracked (purpose "report")."""
    period = made.report.period
    subject = SUBJECT.format(kind=period.kind, label=period.label)
    for name, content in ((made.word_name, made.word), (made.workbook_name, made.workbook)):
        document = documents.keep(ctx, name, content, subject)
        documents.send(ctx, channel, target, document)
        ctx.out[-1] = dataclasses.replace(ctx.out[-1], purpose=PURPOSE, actor=ctx.actor or None)
