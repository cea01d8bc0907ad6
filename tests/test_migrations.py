"""Alembic migrations on SQLite and PostgreSQL: the revisions build exactly the models' schema
(so a model change without a revision fails here), and migrate() adopts, repeats and rolls
back as it should."""

from __future__ import annotations

import datetime as dt
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import POSTGRES_URL, postgres_unreachable
from sqlalchemy import Column, Engine, Integer, MetaData, String, event, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.cli import main
from storage import migrate
from storage.db import Database, make_engine
from storage.migrate import MigrationError, alembic_config, migrating
from storage.models import Base, Event, Flag, Item

T = dt.datetime(2026, 11, 16, 1, 30, tzinfo=dt.UTC)
HEAD = migrate.head()
TEST_REVISION = "9000_widen_town"  # a revision a developer adds after the head


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database. On PostgreSQL, a schema of its own (first on the search path), so the
    ``db`` fixture's tables in ``public`` are neither seen nor touched."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path}/m.db")
        try:
            yield database
        finally:
            database.dispose()
        return
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        database = Database(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
        try:
            with database.engine.connect() as connection:
                assert inspect(connection).default_schema_name == schema
            yield database
        finally:
            database.dispose()
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


def differences(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def versions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text("SELECT version_num FROM alembic_version")))


def add_item(db: Database) -> int:
    with db.transaction() as session:
        item = Item(town="川沙新镇", category="政策咨询", text="问", state="new", received_at=T)
        session.add(item)
        session.flush()
        session.add(Event(item_id=item.id, at=T, actor="bot", action="receive"))
        return item.id


def test_upgrade_from_empty_builds_exactly_the_models(empty: Database) -> None:
    assert empty.current_revision() is None
    assert empty.migrate() == HEAD
    assert empty.current_revision() == HEAD
    assert tables(empty.engine) == {*Base.metadata.tables, "alembic_version"}
    # The guard: a model changed without a revision makes this list non-empty ...
    assert differences(empty.engine) == []
    # ... as it does for a column the revisions lack.
    extended = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(extended)
    extended.tables["items"].append_column(Column("extra", Integer))
    diff = differences(empty.engine, extended)
    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "items", "extra")]


def test_migrate_twice_is_a_noop(empty: Database) -> None:
    empty.migrate()
    number = add_item(empty)
    statements: list[str] = []

    @event.listens_for(empty.engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    assert empty.migrate() == HEAD
    assert statements  # the listener saw the second run's queries
    writes = {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}
    assert [s for s in statements if s in writes] == []
    assert versions(empty.engine) == [HEAD]
    with empty.sessions() as session:
        assert session.get(Item, number) is not None


def test_create_all_database_is_stamped_then_upgraded(empty: Database) -> None:
    # as start-up did before migrations: create_all of the models of then (the baseline)
    migrate.upgrade(empty.engine, migrate.BASELINE)
    with empty.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text("INSERT INTO flags (key, at) VALUES ('calendar-warning-2027', :at)"),
            {"at": T.replace(tzinfo=None)},
        )
    assert empty.current_revision() is None
    assert empty.migrate() == HEAD
    assert versions(empty.engine) == [HEAD]
    assert differences(empty.engine) == []
    with empty.sessions() as session:
        assert session.scalar(select(Flag.key)) == "calendar-warning-2027"


def test_unversioned_database_with_other_tables_is_refused(empty: Database) -> None:
    empty.create_schema()
    with empty.engine.begin() as connection:
        connection.execute(text("DROP TABLE lights"))
        connection.execute(text("ALTER TABLE flags ADD COLUMN stray INTEGER"))
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    with pytest.raises(MigrationError) as raised:
        empty.migrate()
    message = str(raised.value)
    assert "not those of revision 0001" in message
    assert "missing table lights" in message
    assert "unexpected table notes" in message
    assert "unexpected column flags.stray" in message
    assert "alembic_version" not in tables(empty.engine)  # nothing stamped, nothing created
    assert "lights" not in tables(empty.engine)


def test_downgrade_to_base_and_up_again(empty: Database) -> None:
    empty.migrate()
    assert migrate.downgrade(empty.engine, "base") is None
    assert tables(empty.engine) <= {"alembic_version"}
    assert empty.migrate() == HEAD
    assert differences(empty.engine) == []
    add_item(empty)


# --- a later revision, as a developer would add one --------------------------------------


def write_revision(directory: Path, body: str) -> Path:
    path = directory / f"{TEST_REVISION}.py"
    path.write_text(
        textwrap.dedent(
            '''\
            """Widen items.town (test revision)."""
            import sqlalchemy as sa
            from alembic import op

            revision = "{revision}"
            down_revision = "{head}"
            branch_labels = None
            depends_on = None


            def upgrade() -> None:
            '''
        ).format(revision=TEST_REVISION, head=HEAD)
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "\n\ndef downgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )
    path.write_text(
        path.read_text(encoding="utf-8").replace('"HEAD"', repr(HEAD)), encoding="utf-8"
    )
    return directory


def upgrade_with(db: Database, directory: Path) -> None:
    with migrating(db.engine) as connection:
        command.upgrade(alembic_config(connection, version_locations=(directory,)), "head")


WIDEN = """\
with op.batch_alter_table("items") as batch:  # SQLite copies the table; PostgreSQL ALTERs
    batch.alter_column(
        "town", type_=sa.String(80), existing_type=sa.String(64), existing_nullable=False
    )
"""


def town_length(db: Database) -> int:
    with db.engine.connect() as connection:
        column = next(c for c in inspect(connection).get_columns("items") if c["name"] == "town")
    assert isinstance(column["type"], String)
    assert column["type"].length is not None
    return column["type"].length


def test_batch_alter_of_a_referenced_table_keeps_rows(empty: Database, tmp_path: Path) -> None:
    empty.migrate()
    number = add_item(empty)
    upgrade_with(empty, write_revision(tmp_path, WIDEN))
    assert empty.current_revision() == TEST_REVISION
    assert town_length(empty) == 80
    with empty.sessions() as session:
        assert session.scalar(select(Event.item_id)) == number
    # Foreign keys are enforced again afterwards (SQLite turns them off while migrating).
    with pytest.raises(IntegrityError), empty.transaction() as session:
        session.add(Event(item_id=number + 100, at=T, actor="bot", action="x"))


def test_failed_revision_leaves_nothing_behind(empty: Database, tmp_path: Path) -> None:
    empty.migrate()
    write_revision(tmp_path, WIDEN + 'raise RuntimeError("half way")\n')
    with pytest.raises(RuntimeError, match="half way"):
        upgrade_with(empty, tmp_path)
    assert empty.current_revision() == HEAD
    assert town_length(empty) == 64  # the DDL was rolled back too, SQLite's included


def test_revision_breaking_foreign_keys_is_rolled_back(empty: Database, tmp_path: Path) -> None:
    empty.migrate()
    number = add_item(empty)
    write_revision(tmp_path, 'op.execute("DELETE FROM items")\n')
    # SQLite: foreign keys are off while migrating, so the check before the commit catches it.
    expected = MigrationError if empty.engine.dialect.name == "sqlite" else IntegrityError
    with pytest.raises(expected):
        upgrade_with(empty, tmp_path)
    assert empty.current_revision() == HEAD
    with empty.sessions() as session:
        assert session.get(Item, number) is not None


def test_autogenerated_revision(tmp_path: Path) -> None:
    unchanged = migrate.revision("nothing", version_path=tmp_path / "a")
    following = f"{int(HEAD[:4]) + 1:04d}"  # revisions are numbered «0002_topic»
    assert unchanged.name == f"{following}_nothing.py"
    source = unchanged.read_text(encoding="utf-8")
    assert f'down_revision: str | Sequence[str] | None = "{HEAD}"' in source
    upgrade_body = source.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    assert "pass" in upgrade_body and "op." not in upgrade_body

    extended = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(extended)
    extended.tables["flags"].append_column(Column("note", String(32)))
    added = migrate.revision("flag note", version_path=tmp_path / "b", target_metadata=extended)
    source = added.read_text(encoding="utf-8")
    assert 'with op.batch_alter_table("flags"' in source
    assert 'batch_op.add_column(sa.Column("note", sa.String(length=32), nullable=True))' in source
    assert "storage.models" not in source

    db = Database(f"sqlite:///{tmp_path}/g.db")
    try:
        db.migrate()
        upgrade_with(db, added.parent)
        assert db.current_revision() == following
        assert differences(db.engine, extended) == []
    finally:
        db.dispose()


# --- python -m bot db ... ----------------------------------------------------------------


def test_cli_upgrade_and_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's tree
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out.strip(), err.strip()

    assert run("db", "current") == (0, f"- (head is {HEAD})", "")
    assert run("db", "upgrade") == (0, f"- -> {HEAD}", "")
    assert run("db", "upgrade") == (0, f"{HEAD} (up to date)", "")
    assert run("db", "current") == (0, f"{HEAD} (head)", "")

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/other.db")
    other = make_engine(f"sqlite:///{tmp_path}/other.db")
    with other.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    other.dispose()
    code, out, err = run("db", "upgrade")
    assert (code, out) == (2, "")
    assert err.startswith("error: the database has tables but no alembic_version")


# --- 0006: one deadline table -----------------------------------------------------------------


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


def stored(values: dict[str, Any]) -> dict[str, Any]:
    """Values for raw SQL: datetimes as the database stores them (naive UTC)."""
    return {
        k: v.astimezone(dt.UTC).replace(tzinfo=None) if isinstance(v, dt.datetime) else v
        for k, v in values.items()
    }


TIMERS_0005 = [
    # (item, clock, kind, step, due_at, fire_at, state, fired_at)
    (1, "triage", "nag", 0, utc(2026, 11, 16, 3), utc(2026, 11, 16, 2), "pending", None),
    (1, "triage", "escalate", 0, utc(2026, 11, 16, 3), utc(2026, 11, 16, 3), "pending", None),
    (1, "triage", "nag", 1, utc(2026, 11, 16, 3), utc(2026, 11, 16, 1), "fired", T),
    (2, "claim", "nag", 0, utc(2026, 11, 17, 3), utc(2026, 11, 17, 2), "cancelled", None),
]
# (matter, kind, period, node, due_at, step, next_at, done_at, overdue, report)
FILINGS_0005 = [
    (
        1,
        "monthly",
        "2026-11",
        "2026-11-20",
        utc(2026, 11, 20, 9),
        1,
        utc(2026, 11, 19, 1),
        None,
        0,
        None,
    ),
    (1, "monthly", "2026-10", "2026-10-20", utc(2026, 10, 20, 9), 4, None, T, 1, None),
    (1, "monthly", "2026-09", "2026-09-18", utc(2026, 9, 18, 9), 4, None, None, 1, None),
    (
        2,
        "monthly",
        "2026-12",
        "2026-12-04",
        utc(2026, 12, 4, 9),
        0,
        utc(2026, 12, 1, 1),
        None,
        0,
        None,
    ),
    (
        2,
        "monthly",
        "2026-11",
        "2026-11-06",
        utc(2026, 11, 6, 9),
        4,
        None,
        T,
        0,
        "1、目前进展：开会。",
    ),
    (
        2,
        "sign",
        "sign",
        "2026-11-17",
        utc(2026, 11, 17, 2),
        0,
        utc(2026, 11, 16, 5, 30),
        None,
        0,
        None,
    ),
]


def fill_0005(db: Database) -> None:
    """A database made by revision 0005: two @件 with timers, two matters (one a 批示件)
    with open, done and 超限 filing rows."""
    migrate.upgrade(db.engine, "0005")
    with db.engine.begin() as connection:
        for number, state in ((1, "new"), (2, "closed")):
            connection.execute(
                text(
                    "INSERT INTO items (id, town, category, asker_nick, conversation_type, "
                    "text, state, hard, provisional, received_at) VALUES (:id, '川沙新镇', "
                    "'政策咨询', '', '2', '问', :state, false, false, :at)"
                ),
                stored({"id": number, "state": state, "at": utc(2026, 11, 16, 1)}),
            )
        for number, category in ((1, "局重点工作"), (2, "领导批示件")):
            connection.execute(
                text(
                    "INSERT INTO matters (id, name, category, star, platform, department, "
                    "owner, deputy, status, note, created_at, checklist) VALUES (:id, :name, "
                    "'" + category + "', false, '区网上督查室', '大气环境处', 'u-air-clerk', "
                    "'u-deputy-1', 'open', '', :at, '{}')"
                ),
                stored({"id": number, "name": f"事项{number}", "at": utc(2026, 11, 2, 2)}),
            )
        for row in TIMERS_0005:
            connection.execute(
                text(
                    "INSERT INTO timers (item_id, clock, kind, step, due_at, fire_at, state, "
                    "fired_at) VALUES (:i, :c, :k, :s, :d, :f, :st, :fa)"
                ),
                stored(dict(zip(("i", "c", "k", "s", "d", "f", "st", "fa"), row, strict=True))),
            )
        for row in FILINGS_0005:
            values = dict(
                zip(("m", "k", "p", "n", "d", "s", "x", "done", "o", "r"), row, strict=True)
            )
            values["n"] = dt.date.fromisoformat(str(values["n"]))
            values["o"] = bool(values["o"])
            connection.execute(
                text(
                    "INSERT INTO filings (matter_id, kind, period, node, due_at, provisional, "
                    "step, next_at, done_at, done_by, overdue, escalated_at, report) VALUES "
                    "(:m, :k, :p, :n, :d, false, :s, :x, :done, NULL, :o, NULL, :r)"
                ),
                stored(values),
            )


def test_0006_moves_timers_and_filing_schedules_into_deadlines(
    empty: Database, roster: Any, cal: Any
) -> None:
    from handlers.sweep import next_due, sweep
    from storage.models import Deadline, Filing

    fill_0005(empty)
    assert empty.migrate() == HEAD
    assert differences(empty.engine) == []
    assert "timers" not in tables(empty.engine)

    with empty.sessions() as session:
        kept = session.scalars(select(Item).order_by(Item.id)).all()
        assert [(i.id, i.state) for i in kept] == [(1, "new"), (2, "closed")]  # every item kept
        rows = session.scalars(select(Deadline).order_by(Deadline.id)).all()
        items = [r for r in rows if r.item_id is not None]
        assert [
            (r.item_id, r.clock, r.kind, r.step, r.due_at, r.fire_at, r.state, r.fired_at)
            for r in items
        ] == TIMERS_0005
        assert all(r.filing_id is None for r in items)
        filings = {f.id: f for f in session.scalars(select(Filing))}
        assert len(filings) == len(FILINGS_0005)  # every filing kept, with its record
        by_key = {(f.matter_id, f.period): f for f in filings.values()}
        assert by_key[(1, "2026-10")].done_at == T and by_key[(1, "2026-10")].overdue
        assert by_key[(1, "2026-09")].overdue and by_key[(1, "2026-09")].done_at is None
        assert by_key[(2, "2026-11")].report == "1、目前进展：开会。"
        # one pending step per open filing row that had a next moment, at that moment
        steps = {
            (filings[r.filing_id].matter_id, filings[r.filing_id].period): (
                r.clock,
                r.kind,
                r.step,
                r.due_at,
                r.fire_at,
                r.state,
            )
            for r in rows
            if r.filing_id is not None
        }
        assert steps == {
            (1, "2026-11"): (
                "monthly",
                "step",
                1,
                (utc(2026, 11, 20, 9)),
                (utc(2026, 11, 19, 1)),
                "pending",
            ),
            (2, "2026-12"): (
                "report",
                "step",
                0,
                (utc(2026, 12, 4, 9)),
                (utc(2026, 12, 1, 1)),
                "pending",
            ),
            (2, "sign"): (
                "sign",
                "step",
                0,
                (utc(2026, 11, 17, 2)),
                (utc(2026, 11, 16, 5, 30)),
                "pending",
            ),
        }
        # the scheduler's next wake-up reads the one table
        assert next_due(session, cal, T) == utc(2026, 11, 16, 2)

    # the sweeper fires the migrated rows: the November filing's reminder of 11-19 09:00
    now = dt.datetime(2026, 11, 19, 1, 0, tzinfo=dt.UTC)
    with empty.transaction() as session:
        out = sweep(session, roster, cal, now)
    assert any(
        (m.channel, m.target) == ("group", "cid-air") and "督1" in m.text and "11月20日" in m.text
        for m in out
    )
    with empty.sessions() as session:
        nxt = session.scalars(
            select(Deadline).where(Deadline.clock == "monthly", Deadline.state == "pending")
        ).one()
        assert nxt.step == 2

    # and back: the timers and the filings' schedule return
    migrate.downgrade(empty.engine, "0005")
    with empty.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM timers")) == len(TIMERS_0005)
        back = connection.execute(
            text(
                "SELECT period, step, next_at FROM filings "
                "WHERE matter_id = 1 AND period = '2026-11'"
            )
        ).one()
        assert (back[0], back[1]) == ("2026-11", 2)
