"""Erasure of a whole case (the right to erasure): the case row and every row that hangs off it, gone.

One transaction deletes the case and the rows of every table with a foreign key to ``cases`` (events,
perpetrators, support plans, consents, name-index tokens, exploitation rows, and any child table added
later, by that key's own column), and appends an audit entry ``erase_case`` with the case code, the
actor and the reason. The audit log keeps its earlier entries of the case: they hold its code and field
names, never a value, so the chain still verifies. The reason stays in the log in clear, so a reason
that holds the person's name (through the blind index), a run of digits or an e-mail address is refused.

Deleted bytes can outlive a ``DELETE``. On SQLite every connection runs with ``secure_delete`` (the
deleted cells and freed pages are overwritten with zeros), but in WAL mode the zeroed pages go to the
WAL first: until a checkpoint the database file still holds the old pages, and the WAL keeps older
frames with the ciphertext until it is reset. So after the commit the store runs
``PRAGMA wal_checkpoint(TRUNCATE)``, which copies the zeroed pages into the database file and cuts the
WAL to nothing. A reader that holds an older snapshot makes it wait, for :data:`CHECKPOINT_SECONDS`
only (it holds the write lock meanwhile), and past that it reports that it could not finish
(:attr:`ErasureReport.wal_cleared` False); the store then tries again after its next erasure and when
it is closed. On PostgreSQL the deleted tuples stay in the table's pages until ``VACUUM`` (and in its
WAL and backups): see docs/casestore.md, "Erasing a case".
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select

from darkfigure.casestore import audit, records
from darkfigure.casestore.accounts import require
from darkfigure.casestore.crypto import name_tokens
from darkfigure.casestore.listing import _PAIR, org_index, touch_cases
from darkfigure.casestore.models import cases, metadata
from darkfigure.casestore.models import name_tokens as name_tokens_table
from darkfigure.casestore.storage import reading, writing
from darkfigure.casestore.types import Actor, CaseSummary
from darkfigure.errors import InputError

ACTION = "erase_case"
REASON_LIMIT = 300
CHECKPOINT_SECONDS = 2.0  # how long the checkpoint after an erasure waits for readers (holding the write lock)
_GROUNDS = "give the ground instead, e.g. 'consent withdrawn', 'entered in error' or 'duplicate'"
_TYPED_CONTROLS = "\t\n\r"  # the control characters a text box sends; they become spaces
_DIGITS = re.compile(r"\d{4,}|(?:\d[\s./()+-]*){7,}")  # an ID, a phone number (also written in groups)
_STEM_SYLLABLES = 6  # a Hangul word's prefixes up to this long are probed too: 김미나씨, 미나가


@dataclass(frozen=True)
class ErasureReport:
    """What :meth:`CaseStore.erase_case <darkfigure.casestore.CaseStore.erase_case>` removed.

    ``rows``: rows deleted per table (``cases`` 1, ``events``, ``consents``, ...). ``wal_cleared``: on
    SQLite, whether the checkpoint after the erasure copied the zeroed pages into the database file and
    emptied its WAL (False when a long reader kept it from finishing: the old bytes then stay in the
    WAL until the store's next erasure or its closing checkpoints again); None on PostgreSQL.

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
    written as semicolons (the log separates its fields by commas). InputError when it is empty or too
    long, or holds a control character, a run of 4 or more digits (an ID, a phone number) or an ``@``
    (an e-mail address): the log keeps it in clear.

    >>> clean_reason("  withdrew consent,\\n asked for erasure ")
    'withdrew consent; asked for erasure'
    """
    raw = reason if isinstance(reason, str) else ""
    if any(unicodedata.category(c) == "Cc" and c not in _TYPED_CONTROLS for c in raw):
        raise InputError("the reason holds a control character (e.g. NUL); write plain text", column="reason")
    text = " ".join(raw.split())
    if not text:
        raise InputError("an erasure needs a reason (why, e.g. 'the person asked for erasure')", column="reason")
    if len(text) > REASON_LIMIT:
        raise InputError(f"the reason may have at most {REASON_LIMIT} characters; got {len(text)}", column="reason")
    _refuse_identifiers(unicodedata.normalize("NFKC", text))
    return text.replace(",", ";")


def _refuse_identifiers(text: str) -> None:
    """InputError when the reason holds a number of 4 or more digits or an e-mail address (never echoed)."""
    if _DIGITS.search(text):
        raise InputError(
            "the reason holds a number of 4 or more digits (an ID or phone number?), and it stays in the audit "
            f"log in clear; {_GROUNDS}",
            column="reason",
        )
    if "@" in text:
        raise InputError(
            f"the reason holds an e-mail address (@), and it stays in the audit log in clear; {_GROUNDS}",
            column="reason",
        )


def erase_case(store: Any, actor: Actor, code: str, reason: str) -> ErasureReport:
    """Delete one case and everything of it in one transaction, audit it, then clear SQLite's WAL.

    Administrators of the case's organisation only (others: AccessDenied; a code that does not exist:
    CaseNotFound). The reason is refused when it holds a word of the person's name, a run of digits or
    an e-mail address: it stays in the audit log in clear, so it must say why, never who.
    """
    require(actor, "administrator")
    text = clean_reason(reason)
    with writing(store.engine) as conn:
        row = store._case_row(conn, actor, code)
        _refuse_names(conn, store.ring, row, text)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete=ON")  # set on every connection already; made sure
        # PostgreSQL: a row lock first, so that a child added at the same time either is in place
        # before the deletes below read, or waits and then finds the case gone (CaseNotFound)
        conn.execute(select(cases.c.id).where(cases.c.id == row.id).with_for_update())
        rows = _delete_case(conn, row)
        touch_cases(conn, row.organisation_id)
        audit.append(
            conn, store.ring.audit_key, actor.username, actor.organisation_id, ACTION, row.code, (f"reason:{text}",)
        )
    cleared = checkpoint(store.engine)
    store._wal_dirty = cleared is False
    return ErasureReport(row.code, rows, cleared)


def erasable(store: Any, actor: Actor, code: str) -> CaseSummary:
    """The summary (no identifying field; nothing audited) of a case ``actor`` may erase, for a page that
    asks to confirm; AccessDenied and CaseNotFound as :func:`erase_case`."""
    require(actor, "administrator")
    with reading(store.engine) as conn:
        return records.summary(store._case_row(conn, actor, code))


def _delete_case(conn: Connection, row: Any) -> dict[str, int]:
    """Delete the rows of every child table, each by its own foreign key column(s) to ``cases``."""
    rows = {}
    for table in child_tables():
        keys = [fk for fk in table.foreign_keys if fk.references(cases)]
        where = or_(*(fk.parent == getattr(row, fk.column.name) for fk in keys))
        rows[table.name] = conn.execute(delete(table).where(where)).rowcount
    rows["cases"] = conn.execute(delete(cases).where(cases.c.id == row.id)).rowcount
    return rows


def reason_probes(reason: str) -> set[str]:
    """The name-index words (and word pairs) a reason is checked against: its words, normalised as the
    index normalises names; a Hangul word of 2-4 syllables also as family name and given name (the pair
    of its first syllable and the rest) and, from 3 syllables, the given name alone; and so its prefixes
    of 2-6 syllables, which a particle or title may follow (미나가, 김미나씨). No single syllable alone
    (이 is a surname and part of many words).

    >>> sorted(reason_probes("Mina's request"))
    ['mina', 'request', 's']
    >>> {"김미나", "김\x1f미나", "미나"} <= reason_probes("김미나씨 요청")
    True
    """
    words = set(name_tokens(reason, split_hangul=False))
    return words.union(*(_hangul_probes(w) for w in words if _hangul(w)))


def _hangul(word: str) -> bool:
    return all("\uac00" <= c <= "\ud7a3" for c in word)


def _hangul_probes(word: str) -> set[str]:
    probes = set()
    for size in range(2, min(len(word), _STEM_SYLLABLES) + 1):
        stem = word[:size]
        probes.add(stem)
        # split as the index splits a 2-4 syllable word (crypto.name_tokens); a 2-syllable prefix only as
        # a word (이미지 is no 이 + 미)
        if 3 <= size <= 4 or size == len(word) == 2:
            probes.add(_PAIR.join(sorted((stem[0], stem[1:]))))
        if 3 <= size <= 4:
            probes.add(stem[1:])
    return probes


def _refuse_names(conn: Connection, ring: Any, row: Any, reason: str) -> None:
    """InputError when a word of the reason is a word (or pair of words) of the person's name, through
    the blind index (the name is never decrypted)."""
    words = reason_probes(reason)
    if not words:
        return
    probes = sorted({org_index(ring, row.organisation_id, w) for w in words})
    found = conn.execute(
        select(func.count())
        .select_from(name_tokens_table)
        .where(name_tokens_table.c.case_id == row.id, name_tokens_table.c.token.in_(probes))
    ).scalar_one()
    if found:
        raise InputError(
            "the reason holds the person's name, and it stays in the audit log in clear; say why, not who: "
            + _GROUNDS,
            column="reason",
        )


def checkpoint(engine: Any, seconds: float | None = None) -> bool | None:
    """On SQLite, ``PRAGMA wal_checkpoint(TRUNCATE)``: every page into the database file, the WAL emptied;
    True when it finished, False when a reader held an older snapshot past ``seconds`` (default
    :data:`CHECKPOINT_SECONDS`; the connection's own busy timeout is restored after) or the database
    was busy. None elsewhere.

    >>> from darkfigure.casestore.storage import make_engine
    >>> checkpoint(make_engine("sqlite://"))
    True
    """
    if engine.dialect.name != "sqlite":
        return None
    wait = CHECKPOINT_SECONDS if seconds is None else seconds
    raw = engine.raw_connection()  # autocommit (the store issues BEGIN itself): a checkpoint needs no transaction
    try:
        cursor = raw.cursor()
        (before,) = cursor.execute("PRAGMA busy_timeout").fetchone()
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        try:
            busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:  # locked: the erasure is committed all the same
            busy = 1
        finally:
            cursor.execute(f"PRAGMA busy_timeout={int(before)}")
            cursor.close()
    finally:
        raw.close()
    return busy == 0


def finish_checkpoint(store: Any) -> None:
    """When an erasure's checkpoint could not finish, try once more (short wait, failure ignored): the
    store calls this when it is closed.

    >>> from types import SimpleNamespace
    >>> from darkfigure.casestore.storage import make_engine
    >>> store = SimpleNamespace(engine=make_engine("sqlite://"), _wal_dirty=True)
    >>> finish_checkpoint(store)
    >>> store._wal_dirty
    False
    """
    if getattr(store, "_wal_dirty", False):
        store._wal_dirty = checkpoint(store.engine) is False
