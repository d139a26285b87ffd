"""Bringing the blind index of names up to date when a store opens (it needs the key, a migration has none).

Version 1 held one token per name word; version 2 adds a token per pair of a case's words (see
:func:`darkfigure.casestore.listing.index_tokens`), so a two-word search reads one short range of the
index. A store of version 1 gets its pairs in one transaction the first time it is opened with its key.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select, update

from darkfigure.casestore import records
from darkfigure.casestore.crypto import KeyRing, name_tokens
from darkfigure.casestore.fields import FIELDS, NAME_FIELDS
from darkfigure.casestore.listing import index_tokens
from darkfigure.casestore.models import cases, store_check
from darkfigure.casestore.models import name_tokens as name_tokens_table
from darkfigure.casestore.storage import reading, writing

NAME_INDEX_VERSION = 2
_BATCH = 2000


def upgrade_name_index(engine: Engine, ring: KeyRing) -> int:
    """Re-index every case's names when the index is older than :data:`NAME_INDEX_VERSION`; the number of
    cases re-indexed (0 when it was current or has no check row yet).

    >>> from darkfigure.casestore import open_store
    >>> store = open_store("sqlite://", KeyRing.generate())
    >>> upgrade_name_index(store.engine, store.ring)
    0
    """
    if _version(engine) in (None, NAME_INDEX_VERSION):
        return 0
    done = 0
    with writing(engine) as conn:
        if conn.execute(select(store_check.c.name_index).where(store_check.c.id == 1)).scalar() != 1:
            return 0  # another process did it first
        columns = [cases.c[FIELDS[name].column] for name in NAME_FIELDS]
        last = 0
        while batch := conn.execute(
            select(cases.c.id, cases.c.uid, cases.c.organisation_id, *columns)
            .where(cases.c.id > last).order_by(cases.c.id).limit(_BATCH)
        ).all():
            _reindex(conn, ring, batch)
            done, last = done + len(batch), batch[-1].id
        conn.execute(update(store_check).where(store_check.c.id == 1).values(name_index=NAME_INDEX_VERSION))
    return done


def _version(engine: Engine) -> int | None:
    with reading(engine) as conn:
        return conn.execute(select(store_check.c.name_index).where(store_check.c.id == 1)).scalar()


def _reindex(conn, ring: KeyRing, batch) -> None:
    rows = []
    for case in batch:
        words = [w for name in NAME_FIELDS for w in name_tokens(_name(ring, case, name))]
        rows += [{"case_id": case.id, "token": t} for t in index_tokens(ring, case.organisation_id, words)]
    conn.execute(delete(name_tokens_table).where(name_tokens_table.c.case_id.in_([c.id for c in batch])))
    if rows:
        conn.execute(insert(name_tokens_table), rows)


def _name(ring: KeyRing, case, name: str) -> str | None:
    column = FIELDS[name].column
    return records.unseal(ring, "cases", case.uid, column, case._mapping[column], FIELDS[name].kind)
