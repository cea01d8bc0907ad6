"""The HTTP stack under our own calls: CPU per session-webhook send through
``DingTalkTransport`` with httpx over aiohttp (``AiohttpTransport``, what the bot uses) and
with httpx's own transport, against the local DingTalk in a process of its own.

    python bench/http_stack.py [-n 3000]

Session webhooks are the busiest outbound path (every receipt to a town). The bot keeps
httpx as the API (respx mocks it in tests) and aiohttp under it while this shows a need.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import multiprocessing.connection
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from harness import Figure, write_figures

from bot.dingtalk.client import DingTalkTransport
from bot.dingtalk.http import AiohttpTransport
from bot.local_dingtalk import LocalDingTalk

CONNECT, READ = 5.0, 10.0
WARM_UP = 200


def dingtalk_process(conn: multiprocessing.connection.Connection) -> None:
    """The local DingTalk on a clock that stands still, so that one session stays open;
    sends its webhook URL."""
    now = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)

    async def main() -> None:
        async with LocalDingTalk(clock=lambda: now) as dingtalk:
            session = dingtalk.webhooks.open_session("cid-bench", None, now)
            conn.send(dingtalk.webhooks.url(session))
            await asyncio.to_thread(conn.recv)

    asyncio.run(main())


async def measure(url: str, stack: str, n: int, concurrency: int) -> tuple[float, float]:
    """(CPU µs a send in this process, sends a second)."""
    timeout = httpx.Timeout(READ, connect=CONNECT)
    if stack == "aiohttp":
        http = httpx.AsyncClient(timeout=timeout, transport=AiohttpTransport(CONNECT, READ))
    else:
        limits = httpx.Limits(max_connections=concurrency)
        http = httpx.AsyncClient(timeout=timeout, limits=limits)
    transport = DingTalkTransport("id", "secret", "id", "http://127.0.0.1:9", http=http)
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await transport.send_session(url, "已收到，编号#1。我们会尽快答复。")

    await asyncio.gather(*(one() for _ in range(WARM_UP)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await http.aclose()
    return cpu / n * 1e6, n / wall


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--json", help="append the figures to this JSON file (run_all.py)")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=dingtalk_process, args=(theirs,), daemon=True)
    child.start()
    figures: list[Figure] = []
    try:
        url = ours.recv()
        print("in flight | stack              | CPU a send | sends/s")
        for concurrency in (1, 50):
            for stack in ("aiohttp", "httpx"):
                cpu, rate = asyncio.run(measure(url, stack, args.n, concurrency))
                name = "httpx over aiohttp" if stack == "aiohttp" else "httpx alone"
                print(f"{concurrency:9d} | {name:18s} | {cpu:7.0f} µs | {rate:7.0f}")
                figures.append(
                    Figure(
                        "http_stack",
                        f"CPU a session-webhook send, {name}, {concurrency} in flight",
                        cpu,
                        "µs",
                        detail=f"{rate:.0f} sends/s",
                    )
                )
        ours.send(None)
        write_figures(args.json, figures)
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
