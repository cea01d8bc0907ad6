"""Every benchmark, one after another, and bench/RESULTS.md with what they measured.

    python bench/run_all.py [--quick] [--only NAME ...] [--out bench/RESULTS.md]

Each benchmark runs as a process of its own (``--json`` hands its figures back); the results
file gives the machine, the date, each figure beside its target with PASS or MISS, and for a
miss by how much and the benchmark's explanation, then each benchmark's own output. The full
run takes 5-8 minutes on a 2-core machine (12 when it is shared); ``--quick`` runs small
sizes in 2-3 minutes (a smoke test of the whole chain, not the targets' sizes).
PostgreSQL: 127.0.0.1:5432
(``TEST_POSTGRES_URL`` overrides); the benchmarks that need it say so and skip it when it
does not answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import POSTGRES_URL, ROOT, Figure, read_figures

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    what: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()


BENCHES = (
    Bench(
        "instances",
        "instances.py",
        "intake through real `python -m bot run` processes: SQLite x1, PostgreSQL x1 and x3",
        ("-n", "2000"),
        ("-n", "200"),
    ),
    Bench(
        "armed",
        "armed.py",
        "process start to armed (stream connected, first sweep done) with 100,000 open @件",
        (),
        ("--items", "5000", "--matters", "100", "--runs", "1"),
    ),
    Bench(
        "sweep",
        "sweep.py",
        "idle sweep with 100,000 open @件, reminder lateness on a real clock",
        (),
        ("--items", "5000", "--matters", "100", "--timers", "40", "--span", "4"),
    ),
    Bench(
        "intake",
        "intake.py",
        "intake latency and throughput of the in-process App on SQLite beside a bare SDK echo",
        ("-n", "2000", "--concurrency", "100"),
        ("-n", "200", "--concurrency", "50"),
    ),
    Bench(
        "report",
        "report_bench.py",
        "the year report made whole (5,000 @件 a year)",
        (),
        ("--items", "500", "--matters", "30", "--runs", "1"),
    ),
    Bench("calendar", "calendar_bench.py", "one deadline computation", (), ("--repeat", "2000")),
    Bench(
        "http_stack",
        "http_stack.py",
        "CPU a session-webhook send, httpx over aiohttp against httpx alone",
        (),
        ("-n", "300"),
    ),
)


@dataclass
class Outcome:
    bench: Bench
    argv: list[str]
    seconds: float
    code: int | None  # None: timed out
    output: str
    figures: list[Figure] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Ended without figures (an error, not a missed target)."""
        return not self.figures


def run_one(bench: Bench, quick: bool, timeout: float) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        args = list(bench.quick if quick else bench.full)
        argv = [sys.executable, str(HERE / bench.script), *args, "--json", str(out)]
        shown = ["python", f"bench/{bench.script}", *args]
        t0 = time.perf_counter()
        try:
            done = subprocess.run(
                argv,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            code: int | None = done.returncode
            output = done.stdout + (f"\n{done.stderr}" if done.returncode not in (0, 1) else "")
        except subprocess.TimeoutExpired as exc:
            code = None
            output = f"{exc.stdout or ''}\n(timed out after {timeout:.0f} s)"
        return Outcome(bench, shown, time.perf_counter() - t0, code, output, read_figures(out))


# The machine ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres_version(),
        "commit": git_commit(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=2) as conn:
            row = conn.execute("show server_version").fetchone()
            return str(row[0]) if row else "unknown"
    except Exception as exc:
        return f"not reachable ({type(exc).__name__})"


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return done.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# The results file -------------------------------------------------------------------------------


def number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def target_text(f: Figure) -> str:
    if f.target is None:
        return "—"
    return f"{'<' if f.lower else '≥'} {number(f.target)} {f.unit}"


def verdict(f: Figure) -> str:
    return "—" if f.ok is None else ("PASS" if f.ok else "**MISS**")


def shortfall(f: Figure) -> str:
    """By how much a missed figure misses its target."""
    assert f.target is not None
    if f.lower:
        over = f.value - f.target
        return f"{number(over)} {f.unit} over ({f.value / f.target:.2f}x the target)"
    short = f.target - f.value
    return f"{number(short)} {f.unit} short ({f.value / f.target:.0%} of the target)"


def render(
    facts: dict[str, str],
    outcomes: list[Outcome],
    *,
    quick: bool,
    when: dt.datetime,
    seconds: float,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `python bench/run_all.py"
        + (" --quick" if quick else "")
        + "` (see README, Benchmarks); rerun it to refresh this file.",
        "",
    ]
    if quick:
        lines += ["**Quick run: small sizes, not the sizes the targets are set for.**", ""]
    lines += [
        f"Date: {when.strftime('%Y-%m-%d %H:%M UTC')}; the whole run took {seconds / 60:.1f} min.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in facts.items()),
        "",
        "## Figures",
        "",
        "| benchmark | figure | measured | target | result | notes |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        if o.failed:
            ended = "timed out" if o.code is None else f"exit code {o.code}"
            lines.append(
                f"| {o.bench.name} | (no figures: {ended}) | — | — | **ERROR** | see below |"
            )
        for f in o.figures:
            cells = [
                f.bench,
                f.name,
                f"{number(f.value)} {f.unit}",
                target_text(f),
                verdict(f),
                f.detail.replace("|", "/"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    missed = [f for o in outcomes for f in o.figures if f.ok is False]
    errors = [o for o in outcomes if o.failed]
    lines += ["", "## Missed targets", ""]
    if not missed and not errors:
        lines.append("None: every figure meets its target.")
    elif "load average at start" in facts:
        lines += [
            f"Load average at start {facts['load average at start']}, at end "
            f"{facts.get('load average at end', '?')} on {facts.get('cores', '?')} cores: "
            "other work on the machine stretches every wall-clock figure; the CPU figures "
            "in the notes do not depend on it.",
            "",
        ]
    for f in missed:
        why = f.why or "the benchmark gives no explanation."
        lines.append(f"- **{f.bench}: {f.name}**: {shortfall(f)}. Why: {why}")
    for o in errors:
        lines.append(f"- **{o.bench.name}** gave no figures; its output is below.")
    lines += ["", "## What ran", ""]
    for o in outcomes:
        ended = "timed out" if o.code is None else f"exit {o.code}"
        lines += [
            f"### {o.bench.name}: {o.bench.what}",
            "",
            f"`{' '.join(o.argv)}` ({o.seconds:.0f} s, {ended})",
            "",
            "```",
            o.output.strip() or "(no output)",
            "```",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument(
        "--only", nargs="+", choices=[b.name for b in BENCHES], help="these benchmarks only"
    )
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per benchmark")
    args = parser.parse_args()
    facts = machine()
    when = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    outcomes = []
    for bench in BENCHES:
        if args.only and bench.name not in args.only:
            continue
        print(f"{bench.name}: {bench.what} ...", flush=True)
        outcome = run_one(bench, args.quick, args.timeout)
        outcomes.append(outcome)
        for f in outcome.figures:
            print(f"  {f.name}: {number(f.value)} {f.unit} {target_text(f)} {verdict(f)}")
        if outcome.failed:
            print(f"  ERROR, no figures:\n{outcome.output[-2000:]}")
    facts["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = render(facts, outcomes, quick=args.quick, when=when, seconds=time.perf_counter() - t0)
    args.out.write_text(text, encoding="utf-8")
    print(f"written: {args.out}")
    return 1 if any(o.failed for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
