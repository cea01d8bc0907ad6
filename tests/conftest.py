from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster, load_roster
from handlers.context import Ctx
from handlers.dispatch import Outcome, run_command
from handlers.effects import Outgoing
from handlers.items import office
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Base, Deadline, Event, Item

# Tests never read the developer's .env nor reach a proxy.
for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(var, None)

settings.register_profile(
    "default", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", deadline=None, max_examples=300, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# --- databases, roster, calendar -----------------------------------------------------------

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
EXAMPLE_ROSTER = Path(__file__).parent.parent / "config" / "examples" / "org.toml"
CAL = WorkCalendar()  # built once (~50 ms); the calendar is read-only for the tests


@functools.cache
def postgres_unreachable() -> str | None:
    """Why the PostgreSQL server cannot be used (None: it can); probed once per session."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=2):
            return None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {first}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the schema, made once by ``Database.create_schema``: each test gets
    a copy (~1 ms) rather than running ``create_all`` again (~13 ms)."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    database = Database(f"sqlite:///{path}")
    try:
        database.create_schema()
    finally:
        database.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A schema of this test run's own on the PostgreSQL server, so that runs at the same
    time (CI jobs, developers) never share tables; dropped at the end."""
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"test_{os.getpid()}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database with the schema, on SQLite and on PostgreSQL (fresh tables per test)."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg")
        return
    shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "t.db")
    database = Database(f"sqlite:///{tmp_path}/t.db")
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    """An empty database with the schema on PostgreSQL only (fresh tables per test)."""
    database = Database(postgres_url)
    try:
        Base.metadata.drop_all(database.engine)
        database.create_schema()
        yield database
    finally:
        database.dispose()


@pytest.fixture
def fake_bot() -> Iterator[int]:
    """A live process whose command line looks like the bot's (``... bot``)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "bot"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def roster() -> Roster:
    return load_roster(EXAMPLE_ROSTER)


@pytest.fixture
def cal() -> WorkCalendar:
    return CAL


# --- a small world of @件 driven through the real commands ----------------------------------

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 16, 9, 30, tzinfo=TZ)  # a Monday, in office hours

TOWN = "川沙新镇"
TOWN_CID = "cid-town-chuansha"
ASKER = "u-town-asker"
ASKER_NICK = "川沙小王"
WEBHOOK = "https://oapi.dingtalk.com/robot/sendBySession?session=test"
QUESTION = "请问工地扬尘管控有哪些新要求？"
DRAFT = "依据《扬尘污染防治管理办法》，请督促工地落实六个百分百。"
AIR = "大气环境处"
WATER = "水生态环境处"

# Who is who in config/examples/org.toml, by the part they play in the tests.
PEOPLE = {
    "office_admin": "u-admin",
    "office_head": "u-office-head",
    "air_clerk": "u-air-clerk",
    "water_clerk": "u-water-clerk",
    "air_head": "u-air-head",
    "water_head": "u-water-head",
    "deputy": "u-deputy-1",
    "director": "u-director",
}

# How to bring a fresh item (received at the clock's time) into each state, by real commands.
_ASSIGNED = [("office_admin", "分派 {n} 大气环境处")]
_CLAIMED = [*_ASSIGNED, ("air_clerk", "认领 {n}")]
_REVIEW = [*_CLAIMED, ("air_clerk", "答复 {n} " + DRAFT)]
_HARD = [*_CLAIMED, ("air_head", "疑难 {n} 涉及多个部门")]
PATHS: dict[str, list[tuple[str, str]]] = {
    "new": [],
    "assigned": _ASSIGNED,
    "claimed": _CLAIMED,
    "review_head": _REVIEW,
    "review_deputy": [*_REVIEW, ("air_head", "报分管 {n}")],
    "review_director": [*_REVIEW, ("air_head", "报分管 {n}"), ("deputy", "集体研判 {n}")],
    "hard": _HARD,
    "hard_review": [*_HARD, ("air_clerk", "答复 {n} " + DRAFT)],  # a hard case's draft
    "answered": [*_REVIEW, ("air_head", "同意 {n}")],
    "rejected": [("office_admin", "退回 {n} 请向区建设交通委咨询")],
    "offline": [*_HARD, ("air_clerk", "已线下答复 {n} 已电话答复")],
}
STATES = tuple(PATHS)


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the @件 tables, raw from the driver (cheap), to compare before and after a
    refused command."""
    cursor = session.connection().connection.cursor()
    try:
        out = {}
        for name in (Item.__tablename__, Event.__tablename__, Deadline.__tablename__):
            cursor.execute(f"SELECT * FROM {name} ORDER BY id")
            out[name] = [tuple(row) for row in cursor.fetchall()]
        return out
    finally:
        cursor.close()


_MSG_IDS = itertools.count(1)  # message ids unique over the session (items' are unique keys)


class BuildCache:
    """SQLite files holding items brought into a state by the real commands, once per session:
    a test that needs the same items again gets a copy of the file (on PostgreSQL the commands
    run every time)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.built: dict[tuple[Any, ...], tuple[Path, list[int]]] = {}


class World:
    """One database, the roster, the calendar and a clock that the test moves."""

    def __init__(
        self,
        db: Database,
        roster: Roster,
        cal: WorkCalendar,
        now: dt.datetime = T0,
        cache: BuildCache | None = None,
    ) -> None:
        self.db, self.roster, self.cal, self.now = db, roster, cal, now
        self.cache = cache
        self._fresh = True  # nothing written through this world yet
        self.base: dict[str, list[tuple[Any, ...]]] = {}

    def _msg_id(self) -> str:
        self._fresh = False
        return f"msg-{next(_MSG_IDS)}"

    def later(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def at(self, *args: int) -> None:
        self.now = dt.datetime(*args, tzinfo=TZ)  # type: ignore[misc]

    def receive(
        self,
        text: str = QUESTION,
        *,
        asker_id: str | None = ASKER,
        asker_nick: str = ASKER_NICK,
        webhook: str | None = WEBHOOK,
    ) -> int:
        """A town's @ in its 直通车 group, as the router hands it over."""
        with self.db.transaction() as session:
            ctx = Ctx(session, self.roster, self.cal, self.now, msg_id=self._msg_id())
            item = office.receive(
                ctx,
                town=TOWN,
                text=text,
                asker_id=asker_id,
                asker_nick=asker_nick,
                conversation_id=TOWN_CID,
                webhook=webhook,
                webhook_expires=self.now + dt.timedelta(minutes=90) if webhook else None,
            )
            return item.id

    def run(self, who: str, text: str) -> tuple[Outcome, list[Outgoing]]:
        """One command in its own transaction, as the app runs it; ``who`` is a PEOPLE key
        or a userId."""
        actor = PEOPLE.get(who, who)
        with self.db.transaction() as session:
            ctx = Ctx(session, self.roster, self.cal, self.now, actor=actor, msg_id=self._msg_id())
            outcome = run_command(ctx, text)
            return outcome, list(ctx.out)

    def must(self, who: str, text: str) -> list[Outgoing]:
        outcome, out = self.run(who, text)
        assert outcome.ok, f"{who}: {text!r} -> {outcome.reply}"
        return out

    def build(self, state: str, **receive: Any) -> int:
        """A new item, brought into ``state`` by the commands of PATHS."""
        return self.build_many([state], **receive)[0]

    def build_many(self, states: list[str], **receive: Any) -> list[int]:
        url = self.db.engine.url
        if self.cache is None or not self._fresh or url.get_backend_name() != "sqlite":
            return [self._build(state, **receive) for state in states]
        key = (tuple(states), self.now, self.roster.data.model_dump_json(), repr(receive))
        if key not in self.cache.built:
            path = self.cache.directory / f"{len(self.cache.built)}.db"
            self.db.engine.dispose()
            assert url.database
            shutil.copyfile(url.database, path)  # the empty schema
            scratch = Database(f"sqlite:///{path}")
            try:
                builder = World(scratch, self.roster, self.cal, self.now)
                numbers = [builder._build(state, **receive) for state in states]
            finally:
                scratch.dispose()  # checkpoints the WAL: the file is complete
            assert not Path(f"{path}-wal").exists()
            self.cache.built[key] = (path, numbers)
        path, numbers = self.cache.built[key]
        self.db.engine.dispose()
        assert url.database
        shutil.copyfile(path, url.database)
        self._fresh = False
        return numbers

    def _build(self, state: str, **receive: Any) -> int:
        number = self.receive(**receive)
        for who, template in PATHS[state]:
            self.must(who, template.format(n=number))
        return number

    def item(self, number: int) -> Item:
        with self.db.sessions() as session:
            item = session.get(Item, number)
            assert item is not None
            return item

    def events(self, number: int) -> list[Event]:
        with self.db.sessions() as session:
            query = select(Event).where(Event.item_id == number).order_by(Event.id)
            return list(session.scalars(query))

    def timers(self, number: int) -> list[Deadline]:
        """The item's deadline rows (its timers)."""
        with self.db.sessions() as session:
            query = select(Deadline).where(Deadline.item_id == number).order_by(Deadline.id)
            return list(session.scalars(query))

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.db.sessions() as session:
            return snapshot(session)


@pytest.fixture(scope="session")
def build_cache(tmp_path_factory: pytest.TempPathFactory) -> BuildCache:
    return BuildCache(tmp_path_factory.mktemp("built"))


@pytest.fixture
def world(db: Database, roster: Roster, cal: WorkCalendar, build_cache: BuildCache) -> World:
    return World(db, roster, cal, cache=build_cache)
