"""bench/run_all.py: how it gathers a benchmark's figures and writes RESULTS.md (on fake
figures; the benchmarks themselves take minutes)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_all", ROOT / "bench" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


run_all = load_run_all()
Figure = sys.modules["harness"].Figure


def outcome(name: str, figures: list[object], code: int | None = 0) -> object:
    bench = run_all.Bench(name, f"{name}.py", f"what {name} measures")
    return run_all.Outcome(bench, ["python", f"bench/{name}.py"], 12.0, code, "its output", figures)


def test_results_file_puts_each_figure_beside_its_target() -> None:
    figures = [
        Figure("armed", "start to armed, SQLite", 2.4, "s", 5.0, detail="100,000 open @件"),
        Figure("armed", "peak RSS when armed, SQLite", 450.0, "MB", 300.0, why="a big cache"),
        Figure(
            "instances",
            "3 instances / 1 instance on PostgreSQL",
            1.5,
            "x",
            2.5,
            lower=False,
            why="CPU-bound: 2 cores",
        ),
        Figure("instances", "intake, SQLite x1", 230.0, "@件/s", detail="a | b"),
    ]
    text = run_all.render(
        {"CPU": "Fake CPU", "cores": "2", "PostgreSQL": "15.2"},
        [
            outcome("armed", figures[:2]),
            outcome("instances", figures[2:], 1),
            outcome("gone", [], 2),
        ],
        quick=False,
        when=dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC),
        seconds=300.0,
    )
    assert "Date: 2026-11-30 23:00 UTC; the whole run took 5.0 min." in text
    assert "| CPU | Fake CPU |" in text and "| PostgreSQL | 15.2 |" in text
    assert (
        "| armed | start to armed, SQLite | 2.40 s | < 5.00 s | PASS | 100,000 open @件 |" in text
    )
    assert "| armed | peak RSS when armed, SQLite | 450 MB | < 300 MB | **MISS** |" in text
    assert "| instances | intake, SQLite x1 | 230 @件/s | — | — | a / b |" in text  # no target
    assert "| gone | (no figures: exit code 2) | — | — | **ERROR** | see below |" in text
    missed = text.split("## Missed targets")[1].split("## What ran")[0]
    assert (
        "peak RSS when armed, SQLite**: 150 MB over (1.50x the target). Why: a big cache" in missed
    )
    assert "1.00 x short (60% of the target). Why: CPU-bound: 2 cores" in missed
    assert "**gone** gave no figures" in missed
    assert "start to armed" not in missed
    assert "Quick run" not in text


def test_quick_run_says_so_and_a_clean_run_has_no_misses() -> None:
    text = run_all.render(
        {},
        [outcome("calendar", [Figure("calendar", "one deadline", 8.0, "µs", 20.0)])],
        quick=True,
        when=dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
        seconds=60.0,
    )
    assert "**Quick run: small sizes" in text
    assert "None: every figure meets its target." in text


def test_a_benchmark_hands_its_figures_back_through_json(tmp_path: Path) -> None:
    script = tmp_path / "fake_bench.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            path = sys.argv[sys.argv.index("--json") + 1]
            figure = {"bench": "fake", "name": "speed", "value": 3.0, "unit": "s",
                      "target": 5.0, "lower": True, "detail": sys.argv[1], "why": ""}
            json.dump([figure], open(path, "w"))
            print("measured 3 s")
            sys.exit(0)
            """
        )
    )
    bench = run_all.Bench("fake", str(script), "a fake", ("full",), ("quick",))
    done = run_all.run_one(bench, quick=True, timeout=60)
    assert done.code == 0 and not done.failed
    assert "measured 3 s" in done.output
    [figure] = done.figures
    assert (figure.name, figure.value, figure.detail, figure.ok) == ("speed", 3.0, "quick", True)


def test_every_benchmark_script_exists() -> None:
    for bench in run_all.BENCHES:
        assert (ROOT / "bench" / bench.script).is_file(), bench.script
