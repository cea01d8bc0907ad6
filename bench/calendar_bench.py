"""Median cost of one deadline computation, by span. Target: under 20 µs at every span.

python bench/calendar_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import Figure, write_figures

from handlers.workcal import WorkCalendar

SPANS = (0.5, 1, 2, 2.5, 5, 10, 20, 30)
TARGET_US = 20.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20_000)
    parser.add_argument("--json", help="append the figures to this JSON file (run_all.py)")
    args = parser.parse_args()
    tz = ZoneInfo("Asia/Shanghai")
    cal = WorkCalendar(tz=tz)
    rng = random.Random(7)
    base = dt.datetime(2024, 1, 1, tzinfo=tz)
    starts = [
        base + dt.timedelta(minutes=rng.randrange(3 * 365 * 1440)) for _ in range(args.repeat)
    ]
    worst = 0.0
    print(f"{'span (working days)':>20}  {'median µs':>10}  {'p99 µs':>8}")
    for span in SPANS:
        samples = []
        for start in starts:
            t0 = time.perf_counter_ns()
            cal.add(start, span)
            samples.append((time.perf_counter_ns() - t0) / 1000)
        samples.sort()
        median = statistics.median(samples)
        worst = max(worst, median)
        print(f"{span:>20g}  {median:>10.2f}  {samples[int(len(samples) * 0.99)]:>8.2f}")
    write_figures(
        args.json,
        [
            Figure(
                "calendar",
                "deadline computation, worst median over spans",
                worst,
                "µs",
                TARGET_US,
                detail=f"spans {SPANS[0]:g}-{SPANS[-1]:g} working days",
            )
        ],
    )
    verdict = "meets" if worst < TARGET_US else "MISSES"
    print(f"worst median {worst:.2f} µs: {verdict} the {TARGET_US:.0f} µs target")
    return 0 if worst < TARGET_US else 1


if __name__ == "__main__":
    raise SystemExit(main())
