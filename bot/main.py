"""The composition root for ``python -m bot run`` against DingTalk."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from pathlib import Path

from bot.app import App, Clock
from bot.files import prepare_files_dir
from bot.sender import DingTalkTransport, utc_now
from bot.stream import StreamRunner
from config.roster import Roster, load_roster
from config.settings import Settings
from handlers.workcal import WorkCalendar
from storage.db import Database

logger = logging.getLogger("bot")


class FileClock:
    """The time written in a file (ISO 8601, aware), for rehearsals and the durability tests;
    real time while the file is absent or empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[int, dt.datetime] | None = None

    def __call__(self) -> dt.datetime:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return utc_now()
        if self._cache is None or self._cache[0] != stat.st_mtime_ns:
            text = self.path.read_text(encoding="utf-8").strip()
            if not text:
                return utc_now()
            moment = dt.datetime.fromisoformat(text)
            if moment.utcoffset() is None:
                raise ValueError(f"{self.path}: the time needs its UTC offset")
            self._cache = (stat.st_mtime_ns, moment)
        return self._cache[1]


def run_bot(settings: Settings) -> int:
    logging.basicConfig(
        level=settings.bot_log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("darabonba").setLevel(logging.WARNING)
    roster = load_roster(settings.bot_org_file)
    cal = settings.calendar()
    prepare_files_dir(settings.bot_files_dir)
    clock: Clock = FileClock(settings.bot_clock_file) if settings.bot_clock_file else utc_now
    asyncio.run(_serve(settings, roster, cal, clock))
    return 0


async def _serve(settings: Settings, roster: Roster, cal: WorkCalendar, clock: Clock) -> None:
    db = Database(settings.database_url)
    db.migrate()
    transport = DingTalkTransport(
        settings.dingtalk_client_id,
        settings.dingtalk_client_secret,
        settings.dingtalk_robot_code or settings.dingtalk_client_id,
        settings.dingtalk_openapi_endpoint,
        oapi_endpoint=settings.dingtalk_oapi_endpoint,
    )
    app = App(
        roster,
        cal,
        db,
        transport,
        clock=clock,
        sweep_every=settings.bot_sweep_seconds,
        files_dir=settings.bot_files_dir,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    stream = StreamRunner(
        settings.dingtalk_client_id,
        settings.dingtalk_client_secret,
        settings.dingtalk_openapi_endpoint,
        app.ingest,
        loop,
    )
    stream.start()
    for year in (clock().year, clock().year + 1):
        if not cal.is_covered(year):
            logger.warning("calendar: %d has no official holidays; deadlines are provisional", year)
    logger.info(
        "督办助手 running: %d people, %d departments",
        len(roster.people),
        len(roster.data.departments),
    )
    try:
        await stop.wait()
    finally:
        logger.info("stopping")
        await asyncio.to_thread(stream.stop)
        await app.stop()
        await transport.aclose()
        db.dispose()
