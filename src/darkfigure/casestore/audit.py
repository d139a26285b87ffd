"""The tamper-evident audit log: every view and change of identifying data, chained by keyed hash.

Entry ``n`` stores the hash of entry ``n-1`` and its own hash ``HMAC-SHA256(audit key, canonical JSON of
id, time, actor, organisation, action, case code, fields, previous hash)``. The audit key comes from the
key ring (outside the database), so someone who can write the database cannot forge a consistent
chain. A one-row ``audit_head`` holds the last id and a seal of it (``last_hash`` = HMAC of the last id
and the last entry's hash, under the same key): it is locked while appending (entries stay in one line
under concurrent writers) and shows when entries were cut off the end, even when the head is rewound
to an earlier entry (the seal of an earlier head cannot be made without the key). A store that has
users or cases but no audit entry at all has lost its log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, insert, select, update

from darkfigure.casestore.models import audit_head, audit_log, cases, users
from darkfigure.casestore.storage import Prepared
from darkfigure.casestore.types import AuditEntry, AuditVerdict

GENESIS = "0" * 64
# made once and run on the driver (an entry for every name search: SQLAlchemy's execution of these four
# cost more than the database's work); the head row is locked while appending
_HEAD = Prepared(
    select(audit_head.c.last_id, audit_log.c.hash)
    .select_from(audit_head.outerjoin(audit_log, audit_log.c.id == audit_head.c.last_id))
    .where(audit_head.c.id == 1)
    .with_for_update(of=audit_head)
)
_INSERT = Prepared(insert(audit_log))
_MOVE_HEAD = Prepared(
    update(audit_head).where(audit_head.c.id == 1).values(last_id=bindparam("to_id"), last_hash=bindparam("to_seal"))
)
_NEW_HEAD = Prepared(insert(audit_head).values(id=1, last_id=bindparam("to_id"), last_hash=bindparam("to_seal")))


def entry_hash(key: bytes, entry: dict) -> str:
    """The keyed hash of one entry (all columns but ``hash``).

    >>> e = dict(id=1, at="t", actor="a", organisation_id=1, action="view", case_code="C", fields="x",
    ...          previous_hash=GENESIS)
    >>> len(entry_hash(b"k" * 32, e))
    64
    """
    keys = ("id", "at", "actor", "organisation_id", "action", "case_code", "fields", "previous_hash")
    canonical = json.dumps([entry[k] for k in keys], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def head_seal(key: bytes, last_id: int, last_hash: str) -> str:
    """The keyed seal the head stores for its last entry (id and hash), so a rewound head is found.

    >>> len(head_seal(b"k" * 32, 1, GENESIS))
    64
    """
    message = json.dumps(["audit head", last_id, last_hash], separators=(",", ":"))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def append(
    conn: Connection,
    key: bytes,
    actor: str,
    organisation_id: int | None,
    action: str,
    case_code: str | None = None,
    fields: Sequence[str] = (),
) -> None:
    """Append one entry inside the caller's transaction (it commits or rolls back with the change)."""
    append_many(conn, key, actor, organisation_id, action, [(case_code, fields)])


def append_many(
    conn: Connection,
    key: bytes,
    actor: str,
    organisation_id: int | None,
    action: str,
    entries: Sequence[tuple[str | None, Sequence[str]]],
) -> None:
    """Append one entry per (case code, fields) pair, chained, in the caller's transaction."""
    head = _HEAD.run(conn).fetchone()
    last_id, last_hash = 0, GENESIS
    if head is not None and head[0] > 0:
        last_id, last_hash = head[0], head[1] or GENESIS
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    rows = []
    for case_code, fields in entries:
        entry = dict(
            id=last_id + 1,
            at=at,
            actor=actor,
            organisation_id=organisation_id,
            action=action,
            case_code=case_code,
            fields=",".join(fields),
            previous_hash=last_hash,
        )
        entry["hash"] = last_hash = entry_hash(key, entry)
        last_id = entry["id"]
        rows.append(entry)
    if not rows:
        return
    _INSERT.run_many(conn, rows)
    (_MOVE_HEAD if head else _NEW_HEAD).run(conn, {"to_id": last_id, "to_seal": head_seal(key, last_id, last_hash)})


def to_entry(row) -> AuditEntry:
    """An :class:`AuditEntry` from a database row."""
    fields = tuple(f for f in row.fields.split(",") if f)
    return AuditEntry(
        row.id, row.at, row.actor, row.organisation_id, row.action, row.case_code, fields, row.previous_hash, row.hash
    )


def verify(conn: Connection, key: bytes) -> AuditVerdict:
    """Walk the chain in id order; the first entry whose number, link or hash fails is named."""
    previous, expected_id, count = GENESIS, 1, 0
    for row in conn.execute(select(audit_log).order_by(audit_log.c.id)).yield_per(2000):
        count += 1
        entry = row._asdict()
        if row.id != expected_id:
            return AuditVerdict(False, count, row.id, f"entry {expected_id} is missing (next is {row.id})")
        if row.previous_hash != previous:
            return AuditVerdict(False, count, row.id, f"entry {row.id} does not link to entry {row.id - 1}")
        if not hmac.compare_digest(entry_hash(key, entry), row.hash):
            return AuditVerdict(False, count, row.id, f"entry {row.id} was altered (its hash does not match)")
        previous, expected_id = row.hash, expected_id + 1
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
    sealed = head is not None and hmac.compare_digest(head_seal(key, head.last_id, previous), head.last_hash)
    if head and (head.last_id != expected_id - 1 or not sealed):
        return AuditVerdict(False, count, expected_id, f"entries after {expected_id - 1} were removed")
    if head is None and count:
        return AuditVerdict(False, count, 1, "the audit head is missing")
    if not count and _has_records(conn):
        return AuditVerdict(False, 0, 1, "the store holds users or cases but its audit log is empty (removed)")
    return AuditVerdict(True, count, None, "")


def _has_records(conn: Connection) -> bool:
    return any(conn.execute(select(table.c.id).limit(1)).first() is not None for table in (users, cases))

