"""Database engines (SQLite file by default, PostgreSQL by URL) and Alembic migrations run from code."""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # fcntl is Unix only: elsewhere SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

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
        database = parsed.database
        _WRITE_LOCKS[engine] = WriterTurn(f"{database}-writer" if database and database != ":memory:" else None)
    return engine


class WriterTurn:
    """The writers of one SQLite database take turns here: the threads of a process on a lock, the
    processes (uvicorn workers) on an exclusive ``flock`` of ``<database>-writer``, polled every 0.2 ms
    for 2 ms, then every 2 ms. Without it a second process meets the write lock in
    SQLite's busy handler, which sleeps 1, 2, 5, 10, 15 ... ms between tries: under concurrent writes
    (each name search writes an audit entry) that was the tail of the latency. Past
    :data:`BUSY_SECONDS` the writer goes on to SQLite's own busy timeout, which stays the arbiter (a
    process without this lock is still safe).

    >>> turn = WriterTurn(None)
    >>> with turn.taken():
    ...     turn.lock.locked()
    True
    """

    def __init__(self, path: str | None) -> None:
        self.lock, self.path = threading.Lock(), path
        self._file: tuple[int, object] | None = None  # (process id, open file): a fork reopens it

    @contextmanager
    def taken(self) -> Iterator[None]:
        if not self.lock.acquire(timeout=BUSY_SECONDS):
            yield
            return
        try:
            handle = self._locked_file()
            try:
                yield
            finally:
                if handle is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            self.lock.release()

    def _locked_file(self):
        """The lock file, locked (None when there is none or it stayed taken past the busy time)."""
        if self.path is None or fcntl is None:
            return None
        try:
            if self._file is None or self._file[0] != os.getpid():
                self._file = (os.getpid(), open(self.path, "a+b"))  # noqa: SIM115 - held for the engine's life
            handle = self._file[1]
        except OSError:  # a read-only folder: SQLite's busy handler alone
            self.path = None
            return None
        deadline, tries = time.monotonic() + BUSY_SECONDS, 0
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return None
                # every 0.2 ms for the first 2 ms (a write takes about 1 ms), then every 2 ms: a long
                # wait polled at 0.2 ms woke 5,000 times a second, each wake taking the GIL from the
                # worker's event loop
                tries += 1
                time.sleep(0.0002 if tries <= 10 else 0.002)


CACHE_KIB = 32 * 1024  # SQLite's page cache per connection (a maximum, filled as pages are read)
MMAP_BYTES = 256 * 2**20  # the database file mapped into memory, shared by every connection of a process


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
            # reads from memory: the default 2 MiB page cache held a tenth of a 100,000-case store, and a
            # name search's few hundred row lookups each went to the file (2.5 ms; 0.5 ms with these)
            f"cache_size=-{CACHE_KIB}",
            f"mmap_size={MMAP_BYTES}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # a writer takes the write lock at once (a deferred one could fail to upgrade its read snapshot)
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes. On SQLite the writers take turns first (:class:`WriterTurn`: threads on
    a lock, processes on a lock file), so they queue here rather than sleep and retry in SQLite's busy
    handler.

    >>> engine = make_engine("sqlite://")
    >>> with writing(engine) as conn:
    ...     conn.exec_driver_sql("SELECT 1").scalar_one()
    1
    """
    turn = _WRITE_LOCKS.get(engine)
    if turn is None:
        with engine.begin() as connection:
            yield connection
        return
    with turn.taken(), engine.begin() as connection:  # past BUSY_SECONDS, SQLite's own busy timeout decides
        yield connection


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


class Prepared:
    """A Core statement run straight on the driver's connection, inside the caller's transaction: compiled
    once per dialect, with no result processing (plain tuples). For the few statements of every request
    (a name search's audit entry and its ids), where SQLAlchemy's execution machinery cost more than the
    database's work. Only for values that need no type conversion (numbers and text); no expanding
    parameters.

    >>> from sqlalchemy import bindparam, literal, select
    >>> engine = make_engine("sqlite://")
    >>> with reading(engine) as conn:
    ...     Prepared(select(literal(2) + bindparam("x"))).run(conn, {"x": 3}).fetchall()
    [(5,)]
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._forms: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def run(self, conn: Connection, values: dict[str, Any] | None = None) -> Any:
        """Execute with ``values`` (by parameter name; literals keep their own); the driver's cursor."""
        sql, order, fixed = self._form(conn)
        values = {**fixed, **values} if values else fixed
        arguments = tuple(values[name] for name in order) if order is not None else values
        return conn.connection.driver_connection.execute(sql, arguments)

    def run_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Execute once per row of values."""
        sql, order, fixed = self._form(conn)
        merged = [{**fixed, **row} for row in rows]
        arguments = [tuple(row[name] for name in order) for row in merged] if order is not None else merged
        conn.connection.driver_connection.cursor().executemany(sql, arguments)

    def _form(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        dialect = conn.dialect
        form = self._forms.get(dialect.name)
        if form is None:
            compiled = self.statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup) if dialect.positional else None
            fixed = {k: v for k, v in compiled.params.items() if v is not None}
            form = self._forms[dialect.name] = (compiled.string, order, fixed)
        return form
