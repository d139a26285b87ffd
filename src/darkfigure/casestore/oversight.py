"""Audit log reading and checking, dashboard figures, and key rotation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, func, select, true, update

from darkfigure.casestore import audit, records
from darkfigure.casestore.accounts import require
from darkfigure.casestore.crypto import KeyRing
from darkfigure.casestore.fields import decode_multi
from darkfigure.casestore.models import ENCRYPTED_COLUMNS, TABLES, cases, events
from darkfigure.casestore.storage import reading, writing
from darkfigure.casestore.types import ROLES, Actor, AuditEntry, AuditVerdict, Counts
from darkfigure.errors import InputError


class Oversight:
    """The audit, figures and key methods of :class:`darkfigure.casestore.service.CaseStore`."""

    engine: Any
    ring: KeyRing

    # -- audit, figures, keys ------------------------------------------------------------------------
    def audit_log(
        self, actor: Actor, case_code: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[AuditEntry]:
        """Audit entries of the actor's organisation, newest first (administrators only)."""
        require(actor, "administrator")
        log = TABLES["audit_log"]
        query = select(log).where(log.c.organisation_id == actor.organisation_id)
        if case_code:
            query = query.where(log.c.case_code == case_code.strip().upper())
        with reading(self.engine) as conn:
            page = query.order_by(log.c.id.desc()).offset(max(0, int(offset))).limit(min(max(1, int(limit)), 1000))
            rows = conn.execute(page).all()
        return [audit.to_entry(r) for r in rows]

    def verify_audit(self) -> AuditVerdict:
        """Check the whole hash chain; name the first entry whose hash or link does not hold."""
        with reading(self.engine) as conn:
            return audit.verify(conn, self.ring.audit_key)

    def counts(self, actor: Actor) -> Counts:
        """Dashboard figures for the actor's organisation (breakdowns by exploitation and year: cases
        consented for statistics only; for analysts every figure covers those cases only)."""
        require(actor, *ROLES)
        org = cases.c.organisation_id == actor.organisation_id
        stats = and_(org, cases.c.consent_statistics == true())
        if actor.role == "analyst":  # an analyst sees nothing of cases not consented for statistics
            org = stats
        with reading(self.engine) as conn:

            def count(*where) -> int:
                return conn.execute(select(func.count()).select_from(cases).where(*where)).scalar_one()

            by_status = dict(
                conn.execute(select(cases.c.cas_status, func.count()).where(org).group_by(cases.c.cas_status)).all()
            )
            by_year = dict(
                conn.execute(
                    select(cases.c.registration_year, func.count()).where(stats).group_by(cases.c.registration_year)
                ).all()
            )
            by_exploitation: dict[str, int] = {}
            for types, n in conn.execute(
                select(cases.c.vic_typeofexploitation, func.count())
                .where(stats)
                .group_by(cases.c.vic_typeofexploitation)
            ):
                for t in decode_multi(types):
                    by_exploitation[t] = by_exploitation.get(t, 0) + n
            n_events = conn.execute(select(func.count()).select_from(events.join(cases)).where(org)).scalar_one()
            return Counts(
                count(org),
                {(None if k is None else str(k)): v for k, v in by_status.items()},  # None: no status recorded
                count(stats),
                count(org, cases.c.consent_linkage == true()),
                by_exploitation,
                {k: v for k, v in by_year.items() if k is not None},
                n_events,
            )

    def rotate_key(self, key_file: str | Path, retire_old: bool = False) -> int:
        """Add a new data key to the key file, re-encrypt every ciphertext with it in one transaction;
        return how many values were re-encrypted. ``retire_old`` then drops the old keys from the file."""
        old = KeyRing.read(key_file)
        if old.mac_key != self.ring.mac_key:
            raise InputError("the key file is not the one this store was opened with; give the store's key file")
        new = old.with_new_key()
        new.write(key_file)  # old keys stay in the file until the database no longer needs them
        done = 0
        with writing(self.engine) as conn:
            for name, columns in ENCRYPTED_COLUMNS.items():
                done += _reencrypt(conn, TABLES[name], columns, old, new)
            audit.append(conn, self.ring.audit_key, "cli", None, "rotate_key", None, (f"key:{new.active}",))
        self.ring = new
        if retire_old:
            self.retire_keys(key_file)
        return done

    def retire_keys(self, key_file: str | Path) -> list[str]:
        """Drop from the key file the old data keys that no stored value uses any more (after
        :meth:`rotate_key`); return their ids. Makes no new key; a key still in use stays."""
        ring = KeyRing.read(key_file)
        if ring.mac_key != self.ring.mac_key:
            raise InputError("the key file is not the one this store was opened with; give the store's key file")
        with reading(self.engine) as conn:
            used = _used_key_ids(conn, ring)
        keep = {k: v for k, v in ring.keys.items() if k == ring.active or k in used}
        retired = sorted(set(ring.keys) - set(keep))
        if retired:
            KeyRing(keep, ring.active, ring.mac_key).write(key_file)
            with writing(self.engine) as conn:
                audit.append(conn, self.ring.audit_key, "cli", None, "retire_keys", None, [f"key:{k}" for k in retired])
        self.ring = KeyRing(keep, ring.active, ring.mac_key)
        return retired


def _used_key_ids(conn: Connection, ring: KeyRing) -> set[str]:
    used: set[str] = set()
    for name, columns in ENCRYPTED_COLUMNS.items():
        table = TABLES[name]
        for row in conn.execute(select(*(table.c[c] for c in columns))).yield_per(2000):
            used.update(ring.key_id(blob) for blob in row if blob is not None)
    return used


def _reencrypt(conn: Connection, table, columns: tuple[str, ...], old: KeyRing, new: KeyRing) -> int:
    done = 0
    blobs = [table.c[c] for c in columns]
    if table is cases:
        query = select(table.c.id, table.c.uid, cases.c.uid.label("case_uid"), *blobs)
    else:  # child rows are bound to their case too
        query = select(table.c.id, table.c.uid, cases.c.uid.label("case_uid"), *blobs).join(
            cases, cases.c.id == table.c.case_id
        )
    for row in conn.execute(query).all():
        bound = row.uid if table is cases else records.child_uid(row.case_uid, row.uid)
        values = {}
        for column in columns:
            blob = getattr(row, column)
            if blob is not None:
                associated = f"{table.name}/{bound}/{column}"
                values[column] = new.encrypt(old.decrypt(blob, associated), associated)
        if values:
            conn.execute(update(table).where(table.c.id == row.id).values(**values))
            done += len(values)
    return done
