"""Erasure of a whole case (the right to erasure): the case row and every row that hangs off it, gone.

One transaction deletes the case and the rows of every table with a foreign key to ``cases`` (events,
perpetrators, support plans, consents, name-index tokens, exploitation rows, and any child table added
later), and appends an audit entry ``erase_case`` with the case code, the actor and the reason. The
audit log keeps its earlier entries of the case: they hold its code and field names, never a value,
so the chain still verifies.

Deleted bytes can outlive a ``DELETE``. On SQLite every connection runs with ``secure_delete`` (the
deleted cells and freed pages are overwritten with zeros), but in WAL mode the zeroed pages go to the
WAL first: until a checkpoint the database file still holds the old pages, and the WAL keeps older
frames with the ciphertext until it is reset. So after the commit the store runs
``PRAGMA wal_checkpoint(TRUNCATE)``, which copies the zeroed pages into the database file and cuts the
WAL to nothing; a reader that holds an older snapshot makes it wait (SQLite's busy timeout) and, past
that, report that it could not finish (:attr:`ErasureReport.wal_cleared` False). On PostgreSQL the
deleted tuples stay in the table's pages until ``VACUUM`` (and in its WAL and backups): see
docs/casestore.md, "Erasing a case".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select

from darkfigure.casestore import audit, records
from darkfigure.casestore.accounts import require
from darkfigure.casestore.crypto import name_tokens
from darkfigure.casestore.listing import org_index, touch_cases
from darkfigure.casestore.models import cases, metadata
from darkfigure.casestore.models import name_tokens as name_tokens_table
from darkfigure.casestore.storage import reading, writing
from darkfigure.casestore.types import Actor, CaseSummary
from darkfigure.errors import InputError

ACTION = "erase_case"
REASON_LIMIT = 300


@dataclass(frozen=True)
class ErasureReport:
    """What :meth:`CaseStore.erase_case <darkfigure.casestore.CaseStore.erase_case>` removed.

    ``rows``: rows deleted per table (``cases`` 1, ``events``, ``consents``, ...). ``wal_cleared``: on
    SQLite, whether the checkpoint after the erasure copied the zeroed pages into the database file and
    emptied its WAL (False when a long reader kept it from finishing: the old bytes then stay in the
    WAL until the next full checkpoint); None on PostgreSQL.

    >>> ErasureReport("K7M4-QX9P", {"cases": 1, "events": 2}, True).deleted
    3
    """

    code: str
    rows: dict[str, int]
    wal_cleared: bool | None

    @property
    def deleted(self) -> int:
        """All rows deleted, the case row included."""
        return sum(self.rows.values())


def child_tables() -> list[Any]:
    """The tables whose rows belong to one case (a foreign key to ``cases``), by name.

    >>> [t.name for t in child_tables()][:2]
    ['case_exploitation', 'consents']
    """
    return sorted(
        (t for t in metadata.sorted_tables if any(fk.references(cases) for fk in t.foreign_keys)),
        key=lambda t: t.name,
    )


def clean_reason(reason: Any) -> str:
    """The reason as the audit log keeps it: one line, at most :data:`REASON_LIMIT` characters, commas
    written as semicolons (the log separates its fields by commas); InputError when empty or too long.

    >>> clean_reason("  withdrew consent,\\n asked for erasure ")
    'withdrew consent; asked for erasure'
    """
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        raise InputError("an erasure needs a reason (why, e.g. 'the person asked for erasure')", column="reason")
    if len(text) > REASON_LIMIT:
        raise InputError(f"the reason may have at most {REASON_LIMIT} characters; got {len(text)}", column="reason")
    return text.replace(",", ";")


def erase_case(store: Any, actor: Actor, code: str, reason: str) -> ErasureReport:
    """Delete one case and everything of it in one transaction, audit it, then clear SQLite's WAL.

    Administrators of the case's organisation only (others: AccessDenied; a code that does not exist:
    CaseNotFound). The reason is refused when it holds a word of the person's name: it stays in the
    audit log in clear, so it must say why, never who.
    """
    require(actor, "administrator")
    text = clean_reason(reason)
    with writing(store.engine) as conn:
        row = store._case_row(conn, actor, code)
        _refuse_names(conn, store.ring, row, text)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete=ON")  # set on every connection already; made sure
        rows = _delete_case(conn, row)
        touch_cases(conn, row.organisation_id)
        audit.append(
            conn, store.ring.audit_key, actor.username, actor.organisation_id, ACTION, row.code, (f"reason:{text}",)
        )
    return ErasureReport(row.code, rows, checkpoint(store.engine))


def erasable(store: Any, actor: Actor, code: str) -> CaseSummary:
    """The summary (no identifying field; nothing audited) of a case ``actor`` may erase, for a page that
    asks to confirm; AccessDenied and CaseNotFound as :func:`erase_case`."""
    require(actor, "administrator")
    with reading(store.engine) as conn:
        return records.summary(store._case_row(conn, actor, code))


def _delete_case(conn: Connection, row: Any) -> dict[str, int]:
    rows = {}
    for table in child_tables():
        rows[table.name] = conn.execute(delete(table).where(table.c.case_id == row.id)).rowcount
    rows["cases"] = conn.execute(delete(cases).where(cases.c.id == row.id)).rowcount
    return rows


def _refuse_names(conn: Connection, ring: Any, row: Any, reason: str) -> None:
    """InputError when a word of the reason is a word of the person's name (through the blind index)."""
    words = {w for piece in re.split(r"[\W_]+", unicodedata.normalize("NFKC", reason)) for w in name_tokens(piece)[:1]}
    if not words:
        return
    probes = [org_index(ring, row.organisation_id, w) for w in words]
    found = conn.execute(
        select(func.count())
        .select_from(name_tokens_table)
        .where(name_tokens_table.c.case_id == row.id, name_tokens_table.c.token.in_(probes))
    ).scalar_one()
    if found:
        raise InputError(
            "the reason holds the person's name, and it stays in the audit log in clear; say why, not who",
            column="reason",
        )


def checkpoint(engine: Any) -> bool | None:
    """On SQLite, ``PRAGMA wal_checkpoint(TRUNCATE)``: every page into the database file, the WAL emptied;
    True when it finished (no reader held an older snapshot past the busy timeout). None elsewhere.

    >>> from darkfigure.casestore.storage import make_engine
    >>> checkpoint(make_engine("sqlite://"))
    True
    """
    if engine.dialect.name != "sqlite":
        return None
    raw = engine.raw_connection()  # autocommit (the store issues BEGIN itself): a checkpoint needs no transaction
    try:
        cursor = raw.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        raw.close()
    return busy == 0
