"""Intake throughput and latency: N town @件 through the local DingTalk and the real SDK.

    python bench/intake.py [-n 2000] [--concurrency 100]

Beside the bot, in the same run, a bare SDK echo bot (ACK at once, nothing stored) on the
same local DingTalk gives the floor. Reported: throughput, and p50/p99 from the frame sent
to its ACK, and to the office group's notification. Targets: p50 ACK within 3x of the
bare echo; at least 200 @件 a second sustained on SQLite.

The office notification goes to one group; DingTalk allows 20 messages a minute there, so
the sender's group limit is lifted for this run: it measures the bot, not the throttle.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dingtalk_stream

from bot.app import App
from bot.dingtalk_sdk import point_sdk_at
from bot.local_dingtalk import LocalDingTalk
from bot.sandbox import FakeClock
from bot.sender import DingTalkTransport
from bot.stream import StreamRunner
from config.roster import load_roster
from handlers.workcal import WorkCalendar
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID, SECRET = "dingbench", "bench-secret"
TOWN = "cid-town-chuansha"
START = dt.datetime(2026, 11, 16, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def push_all(
    dingtalk: LocalDingTalk, n: int, concurrency: int, tag: str
) -> tuple[dict[str, float], dict[str, str]]:
    """Push n town messages, at most ``concurrency`` awaiting their ACK; return send times."""
    sent_at: dict[str, float] = {}
    texts: dict[str, str] = {}
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
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


class Echo(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    async def process(self, callback: object) -> tuple[int, str]:
        return dingtalk_stream.AckMessage.STATUS_OK, "OK"


async def bare_echo(n: int, concurrency: int) -> list[float]:
    async with LocalDingTalk(CLIENT_ID, SECRET) as dingtalk:
        point_sdk_at(dingtalk.endpoint)
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
        await dingtalk.wait_connected(timeout=10)
        sent_at, _ = await push_all(dingtalk, n, concurrency, "echo")
        stop.set()
        thread.join(10)
        return [dingtalk.ack_times[m] - t for m, t in sent_at.items()]


async def the_bot(n: int, concurrency: int, db_dir: Path) -> tuple[list[float], list[float], float]:
    roster = load_roster(ROOT / "config" / "examples" / "org.toml")
    clock = FakeClock(START)
    async with LocalDingTalk(CLIENT_ID, SECRET, clock=clock) as dingtalk:
        db = Database(f"sqlite:///{db_dir}/bench.db")
        db.create_schema()
        transport = DingTalkTransport(CLIENT_ID, SECRET, CLIENT_ID, dingtalk.endpoint, clock=clock)
        app = App(
            roster,
            WorkCalendar(),
            db,
            transport,
            clock=clock,
            sweep_every=3600,
            sender_options={"group_rate": (10**9, 60.0)},
        )
        await app.start()
        stream = StreamRunner(
            CLIENT_ID,
            SECRET,
            dingtalk.endpoint,
            app.ingest,
            asyncio.get_running_loop(),
            sdk_log_level=logging.WARNING,
        )
        stream.start()
        await dingtalk.wait_connected(timeout=10)
        t0 = time.perf_counter()
        sent_at, texts = await push_all(dingtalk, n, concurrency, "bot")
        await app.flush(timeout=600)
        notified: dict[str, float] = {}
        by_text = {text: mid for mid, text in texts.items()}
        for message in dingtalk.sent:
            if message.target == roster.office.group:
                key = message.text.split("\n")[1] if "\n" in message.text else ""
                if key in by_text:
                    notified.setdefault(by_text[key], message.at)
        elapsed = max(notified.values()) - t0
        acks = [dingtalk.ack_times[m] - t for m, t in sent_at.items()]
        notes = [notified[m] - t for m, t in sent_at.items()]
        await asyncio.to_thread(stream.stop)
        await app.stop()
        await transport.aclose()
        db.dispose()
        assert len(notified) == n, f"{n - len(notified)} notifications missing"
        return acks, notes, n / elapsed


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    echo = await bare_echo(args.n, args.concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        acks, notes, rate = await the_bot(args.n, args.concurrency, Path(tmp))
    print(f"{args.n} @件, {args.concurrency} in flight")
    print(f"bare SDK echo   ACK p50 {pct(echo, 0.5):7.2f} ms  p99 {pct(echo, 0.99):7.2f} ms")
    print(f"督办助手        ACK p50 {pct(acks, 0.5):7.2f} ms  p99 {pct(acks, 0.99):7.2f} ms")
    print(f"督办助手 office notice p50 {pct(notes, 0.5):7.2f} ms  p99 {pct(notes, 0.99):7.2f} ms")
    print(f"throughput, frame to office notice: {rate:.0f} @件/s")
    ratio = statistics.median(acks) / statistics.median(echo)
    ok = ratio <= 3 and rate >= 200
    print(
        f"p50 ACK ratio {ratio:.2f}x (target <= 3x); throughput target >= 200/s: "
        + ("met" if ok else "NOT MET")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
