"""Does this key ring belong to this database? Checked when a store opens, before anything is read or written.

A store keeps one row in ``store_check``: a random store id and ``HMAC-SHA256(MAC key, label | store id)``.
Only the right key ring reproduces the value, and the value tells nothing about the key. A database made
before the check existed gets its row on the first open whose key verifies the audit head's seal (the
seal is an HMAC under the audit key, itself derived from the MAC key) or, lacking a head, that decrypts
a stored value; an empty database gets it at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from darkfigure.casestore import audit
from darkfigure.casestore.crypto import KeyRing
from darkfigure.casestore.models import ENCRYPTED_COLUMNS, audit_head, audit_log, cases, store_check
from darkfigure.casestore.storage import reading, writing
from darkfigure.errors import InputError

_LABEL = b"darkfigure store check v1\x00"
WRONG_KEY = (
    "this key file does not belong to this database (it was made for another case store); "
    "give the key file that `darkfigure cases init` wrote beside this database"
)


def check_value(ring: KeyRing, store_id: str) -> str:
    """The keyed check value of a store id under the ring's MAC key.

    >>> ring = KeyRing.generate()
    >>> check_value(ring, "abc") == check_value(ring, "abc") != check_value(KeyRing.generate(), "abc")
    True
    """
    return hmac.new(ring.mac_key, _LABEL + store_id.encode("ascii"), hashlib.sha256).hexdigest()


def verify_key(engine: Engine, ring: KeyRing) -> bool:
    """Raise InputError when the ring is not this database's; True when the check row is there already.

    Reads only, so a foreign key is refused before migrations or writes."""
    with reading(engine) as conn:
        tables = set(inspect(conn).get_table_names())
        if "store_check" in tables:
            row = conn.execute(select(store_check).where(store_check.c.id == 1)).first()
            if row is not None:
                if not hmac.compare_digest(check_value(ring, row.store_id), row.check_value):
                    raise InputError(WRONG_KEY)
                return True
        if "audit_head" in tables and not _head_sealed_by(conn, ring):
            raise InputError(WRONG_KEY)
    return False


def _head_sealed_by(conn, ring: KeyRing) -> bool:
    """Whether the audit head's seal was made with this ring; without a head, whether one stored name
    (if any) decrypts with it."""
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
    if head is None or head.last_id == 0:
        return _opens_a_value(conn, ring)
    last = conn.execute(select(audit_log.c.hash).where(audit_log.c.id == head.last_id)).scalar() or audit.GENESIS
    return hmac.compare_digest(audit.head_seal(ring.audit_key, head.last_id, last), head.last_hash)


def _opens_a_value(conn, ring: KeyRing) -> bool:
    for column in ENCRYPTED_COLUMNS["cases"]:
        row = conn.execute(select(cases.c.uid, cases.c[column]).where(cases.c[column].is_not(None)).limit(1)).first()
        if row is not None:
            try:
                ring.decrypt(row[1], f"cases/{row.uid}/{column}")
            except InputError:
                return False
            return True
    return True


def record_check(engine: Engine, ring: KeyRing) -> None:
    """Write the check row (a fresh store id) unless one is there; verify the one there otherwise."""
    store_id = secrets.token_hex(16)
    try:
        with writing(engine) as conn:
            row = conn.execute(select(store_check).where(store_check.c.id == 1)).first()
            if row is None:
                value = check_value(ring, store_id)
                conn.execute(insert(store_check).values(id=1, store_id=store_id, check_value=value))
                return
    except IntegrityError:  # another process wrote it first
        pass
    verify_key(engine, ring)
