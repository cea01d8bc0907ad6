"""The 批示件 progress report check (attachment 1's template).

The template: 1、目前进展（500字） 2、难点问题（300字） 3、下一步打算（200字）. Users paste the
report into a chat message. A heading is a part's name:

- at the start of a line, numbered (1、 1. （1） 一、 ①) or carrying a limit in brackets
  (（500字）), then anything; or unnumbered and followed by ：/: or the end of the line;
- within a line only when followed by ：/: and numbered or set off by a space or a
  punctuation mark ("…推进。2、难点问题：…", "…推进；难点问题：…"), or numbered and set off
  ("…推进 2、难点问题资金缺口", the one-line form the command's usage line shows).

A percentage part's heading may carry its unit: 累计完成进度（%）：60.

Parts may come in any order; text before the first heading (a title) is ignored. A part's
length is counted in characters without whitespace. The configured limits win over the ones
written in the headings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from config.filings import instruction_template
from handlers import texts

_CN = "一二三四五六七八九十"
_NUMBER = (
    rf"(?:[0-9０-９]{{1,2}}[ \t]*[、.．]"
    rf"|[（(][ \t]*(?:[0-9０-９]{{1,2}}|[{_CN}]{{1,3}})[ \t]*[）)]"
    rf"|[{_CN}]{{1,3}}[ \t]*[、.．]"
    r"|[①②③④⑤⑥⑦⑧⑨⑩])"
)
_LIMIT = r"[（(【\[][ \t]*(?:不超过|限)?[ \t]*[0-9０-９]+[ \t]*字(?:以内)?[ \t]*[）)】\]]"
_UNIT = r"[（(][ \t]*[%％][ \t]*[）)]"  # 累计完成进度（%）
_SPACE = "[ \t\u3000]*"
_BREAKS = "。；;！!？?，,"


@dataclass(frozen=True)
class ReportCheck:
    parts: dict[str, str]  # part name -> its text, in the template's order
    problems: list[str]  # Chinese, one line each; empty = the report is good

    @property
    def ok(self) -> bool:
        return not self.problems


def count_chars(text: str) -> int:
    """Characters without whitespace."""
    return len("".join(text.split()))


def split_parts(text: str, names: Iterable[str]) -> dict[str, list[str]] | None:
    """The text under each heading found, by part name (a part written twice has two
    pieces); None when no heading is found."""
    ordered = sorted(names, key=len, reverse=True)
    heading = re.compile(
        rf"(?:(?P<num>{_NUMBER}){_SPACE})?(?P<name>{'|'.join(map(re.escape, ordered))})"
        rf"{_SPACE}(?P<limit>{_LIMIT}|{_UNIT})?{_SPACE}(?P<colon>[:：])?"
    )
    found: list[tuple[str, int, int]] = []  # (name, heading start, text start)
    for match in heading.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        at_line_start = not text[line_start : match.start()].strip()
        line_end = text.find("\n", match.end())
        rest_of_line = text[match.end() : None if line_end < 0 else line_end]
        marked = bool(match["num"] or match["limit"] or match["colon"])
        set_off = match.start() > 0 and (
            text[match.start() - 1].isspace() or text[match.start() - 1] in _BREAKS
        )
        if (at_line_start and (marked or not rest_of_line.strip())) or (
            (match["num"] and (match["colon"] or set_off)) or (match["colon"] and set_off)
        ):
            found.append((match["name"], match.start(), match.end()))
    if not found:
        return None
    pieces: dict[str, list[str]] = {}
    for i, (name, _, begin) in enumerate(found):
        end = found[i + 1][1] if i + 1 < len(found) else len(text)
        pieces.setdefault(name, []).append(text[begin:end].strip())
    return pieces


def check_report(text: str, limits: Mapping[str, int]) -> ReportCheck:
    """Split a progress report into its parts and say what is missing or too long: the
    filing template check (handlers.filings.template) with attachment 1's template."""
    from handlers.filings.template import check_template  # it reads headings with split_parts

    check = check_template(text, instruction_template(dict(limits)))
    if not check.headings:
        return ReportCheck({}, [texts.report_template(dict(limits))])
    return ReportCheck(check.found, check.problems)
