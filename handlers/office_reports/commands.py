"""报告 and 报告已呈报: a report of a period on demand (the summary in the chat, the Word
document and the workbook to the asker's 1:1 chat), and the record that it went to the
leaders."""

from __future__ import annotations

from typing import Any

from handlers import texts
from handlers.args import ChoiceArg
from handlers.commands import Arg, Registry, Resolved
from handlers.context import CommandError, Ctx
from handlers.effects import Markdown
from handlers.office_reports import periods
from handlers.office_reports.make import deliver, make
from handlers.office_reports.periods import Kind, Period
from storage.models import OfficeReport

router = Registry()

READERS = ("office_admin", "office_head", "deputy", "director")
OFFICE = ("office_admin", "office_head")


class PeriodArg(Arg[Period]):
    """A report's period (2026Q3, 2026年第三季度, 2026上半年, 2026H1, 2026年): of the kind
    the argument ``kind`` names when there is one; absent (``optional``): the latest of that
    kind whose month has begun."""

    def __init__(self, optional: bool, name: str = "period", label: str = "期间") -> None:
        super().__init__(name, label, optional)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Period:
        rules = ctx.roster.data.reports
        today = ctx.now.astimezone(ctx.cal.tz).date()
        kind: Kind | None = got.get("kind")  # type: ignore[assignment]
        if not raw:
            assert kind is not None
            return periods.latest(rules, kind, today)
        period = periods.parse(rules, str(raw))
        if period is None:
            raise CommandError(texts.report_bad_period(str(raw)))
        if kind is not None and period.kind != kind:
            raise CommandError(texts.report_wrong_kind(str(raw), kind))
        if period.start > today:
            raise CommandError(texts.report_not_begun(title_of(period)))
        return period

    def sample(self) -> str:
        return "" if self.optional else "2026Q3"


def title_of(period: Period) -> str:
    return texts.report_title(period.kind, period.year, period.number, period.made)


@router.command(
    "报告",
    [
        ChoiceArg("kind", texts.REPORT_KIND_WORDS, label="季度/半年/年度"),
        PeriodArg(optional=True),
    ],
    "督查情况报告（季度、半年、年度）：摘要，并把Word报告和Excel附表发到单聊",
    READERS,
)
def report(ctx: Ctx, kind: Kind, period: Period) -> str:
    made = make(ctx.session, ctx.roster, ctx.cal, period, ctx.now)
    deliver(ctx, made, "oto", ctx.actor)
    text = made.summary + "\n\n" + texts.report_sent_files(made.report.title)
    return Markdown(text, made.report.title)


@router.command("报告已呈报", [PeriodArg(optional=False)], "记录报告已呈报局领导", OFFICE)
def submitted(ctx: Ctx, period: Period) -> str:
    record = ctx.session.get(OfficeReport, period.label)
    title = title_of(period)
    if record is not None and record.submitted_at is not None:
        who = ctx.roster.name(record.submitted_by)
        return texts.report_already_submitted(title, who, ctx.when(record.submitted_at))
    if record is None:
        record = OfficeReport(period=period.label, kind=period.kind)
        ctx.session.add(record)
    record.submitted_at, record.submitted_by = ctx.now, ctx.actor
    ctx.session.flush()
    return texts.report_submitted(title, ctx.roster.name(ctx.actor), ctx.when(ctx.now))
