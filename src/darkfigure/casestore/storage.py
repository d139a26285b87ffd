"""Database engines (SQLite file by default, PostgreSQL by URL) and Alembic migrations run from code."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from darkfigure.errors import InputError

DB_ENV = "DARKFIGURE_CASE_DB"
DEFAULT_DB = "cases.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(url: str | os.PathLike | None) -> str:
    """A SQLAlchemy URL from a URL, a file path (SQLite) or None (``$DARKFIGURE_CASE_DB`` or ``cases.db``).

    >>> database_url("data/cases.db")
    'sqlite:///data/cases.db'
    """
    url = str(url) if url is not None else os.environ.get(DB_ENV) or DEFAULT_DB
    return url if "://" in url else f"sqlite:///{url}"


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` transactions."""
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
    return engine


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "busy_timeout=15000",
            "synchronous=NORMAL",
            "secure_delete=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (creating it in an empty database)."""
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
