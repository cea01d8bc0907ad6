"""The composition root for ``python -m bot run`` against DingTalk."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from bot.app import App, Clock
from bot.dingtalk.client import DingTalkTransport
from bot.files import prepare_files_dir
from bot.health import HealthServer
from bot.logs import FORMAT, REDACTOR, install
from bot.startup import FileClock, migrate, open_database, settings_clock
from bot.stream import StreamRunner
from config.roster import Roster, load_roster
from config.settings import Settings
from handlers.workcal import WorkCalendar, load_calendar
from storage.db import Database
from storage.leader import Leadership, lock_sqlite, migration_lock

__all__ = ["FileClock", "run_bot"]  # FileClock lives in bot.startup

logger = logging.getLogger("bot")


def run_bot(settings: Settings) -> int:
    logging.basicConfig(level=settings.bot_log_level.upper(), format=FORMAT)
    REDACTOR.add_secret(settings.dingtalk_client_secret)
    install()  # context fields and no secrets on every line (bot.logs)
    logging.getLogger("darabonba").setLevel(logging.WARNING)
    roster = load_roster(settings.bot_org_file)
    cal = load_calendar(settings)
    prepare_files_dir(settings.bot_files_dir)
    clock: Clock = settings_clock(settings.bot_clock_file)
    db = open_database(settings.database_url)
    try:
        if db.engine.dialect.name == "sqlite":  # one process per file: held until exit
            _lock = lock_sqlite(Path(db.engine.url.database or "").resolve())
            migrate(db, settings.database_url)
        else:  # instances starting together migrate one at a time
            with migration_lock(settings.database_url):
                migrate(db, settings.database_url)
    except BaseException:
        db.dispose()
        raise
    asyncio.run(_serve(settings, roster, cal, clock, db))
    return 0


async def _serve(
    settings: Settings, roster: Roster, cal: WorkCalendar, clock: Clock, db: Database
) -> None:
    transport = DingTalkTransport(
        settings.dingtalk_client_id,
        settings.dingtalk_client_secret,
        settings.dingtalk_robot_code or settings.dingtalk_client_id,
        settings.dingtalk_openapi_endpoint,
        oapi_endpoint=settings.dingtalk_oapi_endpoint,
    )
    REDACTOR.add_source(transport.current_token)
    app = App(
        roster,
        cal,
        db,
        transport,
        clock=clock,
        sweep_every=settings.bot_sweep_seconds,
        files_dir=settings.bot_files_dir,
        card_template_id=settings.dingtalk_card_template_id.strip(),
        sender_options={
            "lease": settings.bot_outbox_lease_seconds,
            "group_rate": (settings.bot_group_messages_per_minute, 60.0),
        },
        leadership=Leadership(settings.database_url)
        if db.engine.dialect.name == "postgresql"
        else None,
        leader_poll=settings.bot_leader_poll_seconds,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    failures: list[Exception] = []

    def fail(exc: Exception) -> None:  # wrong credentials: stop, then say so
        failures.append(exc)
        stop.set()

    stream = StreamRunner(
        settings.dingtalk_client_id,
        settings.dingtalk_client_secret,
        settings.dingtalk_openapi_endpoint,
        app.ingest,
        loop,
        on_failure=fail,
        on_card=app.tap,
        silence=settings.bot_stream_silence_seconds,
    )
    stream.start()
    health: HealthServer | None = None
    if (address := settings.http_address) is not None:
        health = HealthServer(
            app,
            stream,
            *address,
            silence=settings.bot_stream_silence_seconds,
            outbox_age=settings.bot_health_outbox_age_seconds,
        )
    for year in (clock().year, clock().year + 1):
        if not cal.is_covered(year):
            logger.warning("calendar: %d has no official holidays; deadlines are provisional", year)
    logger.info(
        "督办助手 running: %d people, %d departments",
        len(roster.people),
        len(roster.data.departments),
    )
    try:
        if health is not None:
            await health.start()  # SettingsError when BOT_HTTP cannot be listened on
        await stop.wait()
    finally:
        logger.info("stopping")
        if health is not None:
            await health.stop()
        await asyncio.to_thread(stream.stop)
        await app.stop()
        await transport.aclose()
        db.dispose()
    if failures:
        raise failures[0]
