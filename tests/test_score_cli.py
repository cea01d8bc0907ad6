"""``python -m bot score <年份> --out DIR``: the draft as the data say now, the frozen result
once approved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bot.cli import main
from storage.models import ScoreSheet
from tests.test_e2e import EXAMPLE, start_at


def test_the_cli_writes_the_draft_then_the_frozen_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    clock = tmp_path / "clock"
    clock.write_text(start_at("2027-01-05 09:00").isoformat())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOT_ORG_FILE", str(EXAMPLE))
    monkeypatch.setenv("BOT_CLOCK_FILE", str(clock))
    out = tmp_path / "out"
    assert main(["score", "2026", "--out", str(out)]) == 0
    written = capsys.readouterr().out.split()
    assert [Path(p).name for p in written] == [
        "2026年度重点工作考核评议.docx",
        "2026年度重点工作考核评议明细.xlsx",
    ]
    draft = docx.Document(written[0])
    assert draft.paragraphs[0].text == "2026年度重点工作考核评议"
    assert "草稿" in draft.paragraphs[1].text
    rows = list(openpyxl.load_workbook(written[1]).worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in rows] == ["处室", "大气环境处", "水生态环境处"]

    frozen = {
        "year": 2026,
        "title": "2026年度重点工作考核评议",
        "taken_at": "x",
        "state": "approved",
        "opinion": "冻结的意见",
        "approved": {"by": "张局", "at": "12月30日"},
        "departments": [],
        "notes": ["冻结的说明"],
    }
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        session.add(
            ScoreSheet(
                year=2026,
                state="approved",
                opinion="后来改的意见",
                created_at=dt.datetime.now(dt.UTC),
                created_by="u-admin",
                snapshot=frozen,
            )
        )
    engine.dispose()
    assert main(["score", "2026", "--out", str(out)]) == 0
    written = capsys.readouterr().out.split()
    text = [p.text for p in docx.Document(written[0]).paragraphs]
    assert "冻结的意见" in text and "1. 冻结的说明" in text and "后来改的意见" not in text
    assert "已审定（张局，12月30日），以下为冻结结果。" in text

    assert main(["score", "2030", "--out", str(out)]) == 2
    assert "year 2030" in capsys.readouterr().err
