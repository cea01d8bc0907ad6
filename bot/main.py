"""The composition root for ``python -m bot run`` against DingTalk."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from bot.app import App, Clock
from bot.backup import DailyBackup
from bot.control import ReloadError, load_world, remove_pid_file, sd_notify, write_pid_file
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
    write_pid_file(settings.bot_pid_file)
    try:
        asyncio.run(_serve(settings, roster, cal, clock, db))
    finally:
        remove_pid_file(settings.bot_pid_file)
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
        backup=DailyBackup.from_settings(settings),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[bool]] = set()

    def hup() -> None:  # SIGHUP, `python -m bot reload`: the roster and calendar again
        if stop.is_set():
            return
        task = asyncio.create_task(reload(settings, app), name="reload")
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, hup)
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
        sd_notify("READY=1")  # systemd Type=notify: started
        await stop.wait()
    finally:
        # no new frames; the message in hand is finished, the outbox left for the next start
        logger.info("stopping")
        sd_notify("STOPPING=1")
        if health is not None:
            await health.stop()
        await asyncio.gather(*reloads, return_exceptions=True)
        await asyncio.to_thread(stream.stop)
        await app.stop()  # releases the lease (several instances)
        await transport.aclose()
        db.dispose()
        logger.info("stopped")
    if failures:
        raise failures[0]


async def reload(settings: Settings, app: App) -> bool:
    """Read the roster and the calendar file again and hand them to ``app``; a file that is
    wrong keeps the running ones, and one ERROR line says why."""
    try:
        roster, cal = await asyncio.to_thread(load_world, settings)
    except ReloadError as exc:
        logger.error("reload refused, keeping the running roster and calendar: %s", exc)
        return False
    await app.reload(roster, cal)
    logger.info(
        "reload: %d people, %d departments (%s), calendar %s",
        len(roster.people),
        len(roster.data.departments),
        settings.bot_org_file,
        settings.bot_calendar_file,
    )
    return True
