"""Intake throughput and latency: N town @件 through the local DingTalk and the real SDK.

    python bench/intake.py [-n 2000] [--concurrency 100] [--rate R] [--same-process]

Beside the bot, in the same run, a bare SDK echo bot (ACK at once, nothing stored) on the
same local DingTalk gives the floor. Reported: throughput, and p50/p99 from the frame sent
to its ACK, and to the office group's notification. Targets: p50 ACK within 3x of the
bare echo; at least 200 @件 a second sustained on SQLite.

The local DingTalk runs in a process of its own, as DingTalk is another machine
(``--same-process`` runs it in the bot's process, sharing its GIL). It pushes the frames and
times the ACKs and notices itself; both sides read ``time.perf_counter()`` (CLOCK_MONOTONIC,
one clock for the whole machine). The echo bot and the bot are measured the same way.
By default the frames go out as fast as the ACKs allow; ``--rate`` offers them at a steady
rate instead (a sustained load rather than a burst).

The office notification goes to one group; DingTalk allows 20 messages a minute there, so
the sender's group limit is lifted for this run: it measures the bot, not the throttle.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import multiprocessing
import multiprocessing.connection
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dingtalk_stream
from harness import Figure, write_figures

from bot.app import App
from bot.dingtalk.client import DingTalkTransport
from bot.dingtalk.sdk import point_sdk_at
from bot.local_dingtalk import LocalDingTalk
from bot.sandbox import FakeClock
from bot.stream import StreamRunner
from config.roster import load_roster
from handlers.workcal import WorkCalendar
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID, SECRET = "dingbench", "bench-secret"
TOWN = "cid-town-chuansha"
START = dt.datetime(2026, 11, 16, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))

# (ACK latencies, notice latencies, @件 a second from the first frame to the last notice)
Result = tuple[list[float], list[float], float]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# The DingTalk side: pushes, then times ACKs and notices ------------------------------------


async def push_all(
    dingtalk: LocalDingTalk, n: int, concurrency: int, tag: str, rate: float | None
) -> tuple[dict[str, float], dict[str, str]]:
    """Push n town messages, at most ``concurrency`` awaiting their ACK (and with ``rate``,
    the i-th not before i/rate seconds); return send times."""
    sent_at: dict[str, float] = {}
    texts: dict[str, str] = {}
    gate = asyncio.Semaphore(concurrency)
    start = time.perf_counter()

    async def one(i: int) -> None:
        if rate:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        async with gate:
            text = f"{tag}-{i:06d} 咨询"
            t0 = time.perf_counter()
            message_id = await dingtalk.push_bot_message(
                text, sender_staff_id=None, conversation_id=TOWN, msg_id=f"{tag}-{i}"
            )
            sent_at[message_id], texts[message_id] = t0, text
            await dingtalk.wait_ack(message_id, timeout=60)

    await asyncio.gather(*(one(i) for i in range(n)))
    return sent_at, texts


async def run_load(
    dingtalk: LocalDingTalk,
    n: int,
    concurrency: int,
    rate: float | None,
    tag: str,
    office: str | None,
) -> Result:
    """Push the load; with ``office``, also wait for each message's notice there."""
    await dingtalk.wait_connected(timeout=10)
    t0 = time.perf_counter()
    sent_at, texts = await push_all(dingtalk, n, concurrency, tag, rate)
    acks = [dingtalk.ack_times[m] - t for m, t in sent_at.items()]
    if office is None:
        return acks, [], n / (max(dingtalk.ack_times[m] for m in sent_at) - t0)
    by_text = {text: mid for mid, text in texts.items()}
    notified: dict[str, float] = {}
    deadline = time.monotonic() + 600
    while len(notified) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        notified.clear()
        for message in dingtalk.sent:
            if message.target == office:
                key = message.text.split("\n")[1] if "\n" in message.text else ""
                if key in by_text:
                    notified.setdefault(by_text[key], message.at)
    if len(notified) < n:
        raise RuntimeError(f"{n - len(notified)} notifications missing")
    notes = [notified[m] - t for m, t in sent_at.items()]
    return acks, notes, n / (max(notified.values()) - t0)


def dingtalk_process(conn: multiprocessing.connection.Connection) -> None:
    """The local DingTalk in a process of its own, driven over ``conn``."""

    async def serve() -> None:
        while True:
            command = conn.recv()
            if command is None:
                return
            async with LocalDingTalk(CLIENT_ID, SECRET, clock=FakeClock(START)) as dingtalk:
                conn.send(dingtalk.endpoint)
                conn.send(await run_load(dingtalk, *command))
                conn.recv()  # the bot has stopped

    logging.basicConfig(level=logging.ERROR)
    asyncio.run(serve())


# The bots -----------------------------------------------------------------------------------


class Echo(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    async def process(self, callback: object) -> tuple[int, str]:
        return dingtalk_stream.AckMessage.STATUS_OK, "OK"


def start_echo(endpoint: str) -> Callable[[], None]:
    """A bare SDK bot on its own thread; returns how to stop it."""
    point_sdk_at(endpoint)
    ready, stop = threading.Event(), threading.Event()

    def run() -> None:
        async def main() -> None:
            client = dingtalk_stream.DingTalkStreamClient(
                dingtalk_stream.Credential(CLIENT_ID, SECRET)
            )
            logging.getLogger("dingtalk_stream.client").setLevel(logging.WARNING)
            client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, Echo())
            task = asyncio.create_task(client.start())
            ready.set()
            while not stop.is_set():  # noqa: ASYNC110 (a threading.Event, set across threads)
                await asyncio.sleep(0.05)
            logging.getLogger("dingtalk_stream.client").setLevel(logging.CRITICAL)
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.05)

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()

    def halt() -> None:
        stop.set()
        thread.join(10)

    return halt


class Bot:
    """The whole bot on SQLite, against a local DingTalk at ``endpoint``."""

    def __init__(self, endpoint: str, db_dir: Path) -> None:
        self.roster = load_roster(ROOT / "config" / "examples" / "org.toml")
        clock = FakeClock(START)
        self.db = Database(f"sqlite:///{db_dir}/bench.db")
        self.db.create_schema()
        self.transport = DingTalkTransport(CLIENT_ID, SECRET, CLIENT_ID, endpoint, clock=clock)
        self.app = App(
            self.roster,
            WorkCalendar(),
            self.db,
            self.transport,
            clock=clock,
            sweep_every=3600,
            sender_options={"group_rate": (10**9, 60.0)},
        )
        self.endpoint = endpoint
        self.stream: StreamRunner | None = None

    async def start(self) -> None:
        await self.app.start()
        self.stream = StreamRunner(
            CLIENT_ID,
            SECRET,
            self.endpoint,
            self.app.ingest,
            asyncio.get_running_loop(),
            sdk_log_level=logging.WARNING,
        )
        self.stream.start()

    async def stop(self) -> None:
        await self.app.flush(timeout=600)
        if self.stream is not None:
            await asyncio.to_thread(self.stream.stop)
        await self.app.stop()
        await self.transport.aclose()
        self.db.dispose()


# Driving ------------------------------------------------------------------------------------


async def measure(
    n: int, concurrency: int, rate: float | None, same_process: bool
) -> tuple[list[float], Result]:
    office = load_roster(ROOT / "config" / "examples" / "org.toml").office.group
    if same_process:
        async with LocalDingTalk(CLIENT_ID, SECRET, clock=FakeClock(START)) as dingtalk:
            halt = start_echo(dingtalk.endpoint)
            echoed = await run_load(dingtalk, n, concurrency, rate, "echo", None)
            halt()
        async with LocalDingTalk(CLIENT_ID, SECRET, clock=FakeClock(START)) as dingtalk:
            with tempfile.TemporaryDirectory() as tmp:
                bot = Bot(dingtalk.endpoint, Path(tmp))
                await bot.start()
                done = await run_load(dingtalk, n, concurrency, rate, "bot", office)
                await bot.stop()
        return echoed[0], done

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=dingtalk_process, args=(theirs,), daemon=True)
    child.start()
    try:
        ours.send((n, concurrency, rate, "echo", None))
        halt = start_echo(await asyncio.to_thread(ours.recv))
        echo: Result = await asyncio.to_thread(ours.recv)
        halt()
        ours.send("stopped")

        ours.send((n, concurrency, rate, "bot", office))
        endpoint = await asyncio.to_thread(ours.recv)
        with tempfile.TemporaryDirectory() as tmp:
            bot = Bot(endpoint, Path(tmp))
            await bot.start()
            result: Result = await asyncio.to_thread(ours.recv)
            await bot.stop()
        ours.send("stopped")
        ours.send(None)
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    return echo[0], result


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument(
        "--rate", type=float, default=None, help="offer this many @件 a second (default: flat out)"
    )
    parser.add_argument(
        "--same-process", action="store_true", help="run the local DingTalk in this process"
    )
    parser.add_argument("--json", help="append the figures to this JSON file (run_all.py)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    echo, (acks, notes, rate) = await measure(
        args.n, args.concurrency, args.rate, args.same_process
    )
    where = "in this process" if args.same_process else "in its own process"
    offered = f", offered at {args.rate:.0f}/s" if args.rate else ""
    print(f"{args.n} @件, {args.concurrency} in flight{offered}, local DingTalk {where}")
    print(f"bare SDK echo   ACK p50 {pct(echo, 0.5):7.2f} ms  p99 {pct(echo, 0.99):7.2f} ms")
    print(f"督办助手        ACK p50 {pct(acks, 0.5):7.2f} ms  p99 {pct(acks, 0.99):7.2f} ms")
    print(f"督办助手 office notice p50 {pct(notes, 0.5):7.2f} ms  p99 {pct(notes, 0.99):7.2f} ms")
    print(f"throughput, frame to office notice: {rate:.0f} @件/s")
    ratio = statistics.median(acks) / statistics.median(echo)
    ok = ratio <= 3 and rate >= 200
    load = f"{args.n} @件, {args.concurrency} in flight, App in-process on SQLite"
    write_figures(
        args.json,
        [
            Figure(
                "intake",
                "p50 ACK, bot / bare SDK echo",
                ratio,
                "x",
                3.0,
                detail=f"{load}; bot {pct(acks, 0.5):.1f} ms, echo {pct(echo, 0.5):.1f} ms "
                f"(target: within 3x)",
                why="the echo's own p50 moves between runs (6-16 ms at 100 in flight) and with "
                "it the ratio; a busy machine (other work on the 2 cores) stretches the bot's "
                "ACK more than the echo's",
            ),
            Figure(
                "intake",
                "throughput frame to office notice, SQLite",
                rate,
                "@件/s",
                200.0,
                lower=False,
                detail=f"{load}; notice p50 {pct(notes, 0.5):.0f} ms",
                why=f"CPU-bound: the bot and the local DingTalk share {os.cpu_count()} cores "
                f"with whatever else runs (load average {os.getloadavg()[0]:.1f} at the end)",
            ),
        ],
    )
    print(
        f"p50 ACK ratio {ratio:.2f}x (target <= 3x); throughput target >= 200/s: "
        + ("met" if ok else "NOT MET")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
