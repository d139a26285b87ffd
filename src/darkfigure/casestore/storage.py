"""Database engines (SQLite file by default, PostgreSQL by URL) and Alembic migrations run from code."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from darkfigure.errors import InputError

DB_ENV = "DARKFIGURE_CASE_DB"
DEFAULT_DB = "cases.db"
MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "darkfigure_read_only"
BUSY_SECONDS = 15  # how long a SQLite writer waits for the write lock before "database is locked"
_WRITE_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # SQLite engine -> its writers' turn


def database_url(url: str | os.PathLike | None) -> str:
    """A SQLAlchemy URL from a URL, a file path (SQLite) or None (``$DARKFIGURE_CASE_DB`` or ``cases.db``).

    >>> database_url("data/cases.db")
    'sqlite:///data/cases.db'
    """
    url = str(url) if url is not None else os.environ.get(DB_ENV) or DEFAULT_DB
    return url if "://" in url else f"sqlite:///{url}"


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` transactions
    (except those of :func:`reading`, which begin deferred so that readers run side by side); its
    writers go through :func:`writing`."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise InputError(f"unsupported database {parsed.get_backend_name()!r}; use a SQLite file or PostgreSQL")
        engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() == "postgresql")
    except (ArgumentError, SQLAlchemyError, ImportError) as err:
        raise InputError(
            f"cannot use the database URL ({err}); expected sqlite:///path or postgresql+psycopg://..."
        ) from None
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
        _WRITE_LOCKS[engine] = threading.Lock()
    return engine


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_SECONDS * 1000}",
            "synchronous=NORMAL",
            "secure_delete=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # a writer takes the write lock at once (a deferred one could fail to upgrade its read snapshot)
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes. On SQLite the writers of one process take turns on a lock first, so
    they queue here rather than sleep and retry in SQLite's busy handler (only the writers of other
    processes meet there).

    >>> engine = make_engine("sqlite://")
    >>> with writing(engine) as conn:
    ...     conn.exec_driver_sql("SELECT 1").scalar_one()
    1
    """
    lock = _WRITE_LOCKS.get(engine)
    if lock is None:
        with engine.begin() as connection:
            yield connection
        return
    turn = lock.acquire(timeout=BUSY_SECONDS)  # past that, SQLite's own busy timeout decides
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if turn:
            lock.release()


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: on SQLite a deferred one, so WAL readers do not queue behind each other
    or behind a writer. Write nothing in it (use :func:`writing` for that).

    >>> engine = make_engine("sqlite://")
    >>> with reading(engine) as conn:
    ...     conn.exec_driver_sql("SELECT 1").scalar_one()
    1
    """
    with engine.connect() as connection:
        connection = connection.execution_options(**{READ_ONLY: True})
        with connection.begin():
            yield connection


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (creating it in an empty database)."""
    from alembic import command  # here, not at the top: alembic takes a third of a second to import
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as err:
        raise InputError(
            f"cannot open or migrate the case database ({err.__class__.__name__}: {err}); "
            "check the URL and that the file is a darkfigure case database"
        ) from None
