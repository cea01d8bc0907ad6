"""A filing's parts checked against its category's template (config.filings.Template): each
part present, a text within its limit, a percentage 0..100 and not below the matter's last
filing unless the template's note part explains. The headings are read by the 批示件 report
parser (handlers.instructions.reports.split_parts): numbered or not, full- or half-width.

A filing may come in several messages: the parts already kept (the draft) are merged with
the new ones; a part that is wrong is named and not kept."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from config.filings import Template
from handlers import texts
from handlers.instructions.reports import count_chars, split_parts

_PERCENT = re.compile(r"^(?:累计)?(?:完成)?(\d{1,3}(?:\.\d{1,2})?)\s*(?:%|％|percent)?[。.;；]?$")


@dataclass(frozen=True)
class TemplateCheck:
    headings: bool  # any part's heading was found (or the text stood for the one missing part)
    found: dict[str, str]  # every part read from the text, as written
    good: dict[str, str]  # the draft's parts and the new good ones, in the template's order
    problems: list[str] = field(default_factory=list)  # in the template's order, missing too
    missing: list[str] = field(default_factory=list)  # required parts not written at all
    wrong: list[str] = field(default_factory=list)  # the problems other than missing parts

    @property
    def complete(self) -> bool:
        return not self.problems


def parse_percentage(text: str) -> Decimal | None:
    """「60」「60%」「６０％」「62.5 %」 as a number; None when it is not one."""
    key = "".join(unicodedata.normalize("NFKC", text).split())
    match = _PERCENT.match(key)
    if match is None:
        return None
    try:
        return Decimal(match[1])
    except InvalidOperation:
        return None


def show_percentage(value: Decimal) -> str:
    return format(value.normalize(), "f")


def percentage_of(template: Template, content: dict[str, str] | None) -> Decimal | None:
    """The filing's percentage (its first percentage part), if any."""
    part = next((p for p in template.parts if p.kind == "percentage"), None)
    if part is None or not content or part.name not in content:
        return None
    return parse_percentage(content[part.name])


def check_template(
    text: str,
    template: Template,
    *,
    draft: dict[str, str] | None = None,
    previous: Decimal | None = None,
) -> TemplateCheck:
    """Read ``text``'s parts, merged over ``draft``; ``previous``: the matter's last filed
    percentage. With a draft (``{}`` for none yet), an empty text checks the draft alone and
    a text without headings is the one part still missing."""
    names = [p.name for p in template.parts]
    pieces = split_parts(text, names) if text.strip() else ({} if draft is not None else None)
    good = dict(draft or {})
    if pieces is None:
        still = [p.name for p in template.parts if p.required and p.name not in good]
        if draft is not None and len(still) == 1:
            pieces = {still[0]: [text.strip()]}
        else:
            return TemplateCheck(False, {}, good, [texts.template_help(template)], still)
    by_name = {p.name: p for p in template.parts}
    issues: dict[str, list[str]] = {}
    found: dict[str, str] = {}
    for name, written in pieces.items():
        part = by_name[name]
        value = "\n".join(p for p in written if p)
        found[name] = value
        mine = issues.setdefault(name, [])
        if len(written) > 1:
            mine.append(texts.report_repeated(name))
        if part.kind == "percentage":
            number = parse_percentage(value)
            if number is None:
                mine.append(texts.percentage_unreadable(name, value))
            elif not 0 <= number <= 100:
                mine.append(texts.percentage_out_of_range(name, value))
            else:
                value = show_percentage(number)
        else:
            count = count_chars(value)
            if count == 0 and part.required:
                continue  # an empty part: still missing
            if part.limit is not None and count > part.limit:
                mine.append(texts.report_too_long(name, count, part.limit))
        if not mine:
            good[name] = value
    falling = _falling(template, good, previous)
    if falling:
        issues.setdefault(falling[0], []).append(falling[1])
    problems: list[str] = []
    wrong: list[str] = []
    missing: list[str] = []
    for part in template.parts:
        if part.required and part.name not in good and not issues.get(part.name):
            missing.append(part.name)
            problems.append(texts.report_missing(part.name))
        if part.name in good and part.kind == "text" and not good[part.name].strip():
            good.pop(part.name)  # an optional part left empty
        for problem in issues.get(part.name, []):
            problems.append(problem)
            wrong.append(problem)
    ordered = {n: good[n] for n in names if n in good}
    found = {n: found[n] for n in names if n in found}
    return TemplateCheck(True, found, ordered, problems, missing, wrong)


def _falling(
    template: Template, good: dict[str, str], previous: Decimal | None
) -> tuple[str, str] | None:
    """(part, problem) when the percentage is below ``previous`` and the note is empty."""
    part = next((p for p in template.parts if p.kind == "percentage"), None)
    if part is None or previous is None or part.name not in good:
        return None
    now = parse_percentage(good[part.name])
    if now is None or now >= previous:
        return None
    if template.note and good.get(template.note, "").strip():
        return None
    return part.name, texts.percentage_falling(
        part.name, show_percentage(now), show_percentage(previous), template.note
    )
