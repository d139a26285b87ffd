"""The case store's service API: the one door the command line and the web application go through.

Every method that touches cases takes the :class:`Actor` (the logged-in user) first; the store checks
role and organisation (:class:`darkfigure.errors.AccessDenied` otherwise), encrypts identifying fields
before they reach the database, writes the audit log, and enforces consent per purpose.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, delete, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from darkfigure.casestore import audit, erasure, records
from darkfigure.casestore.accounts import Accounts, now, require, same_org
from darkfigure.casestore.crypto import KeyRing, name_tokens
from darkfigure.casestore.erasure import ErasureReport
from darkfigure.casestore.fields import FIELDS, NAME_FIELDS, OUTGOING_REFERRAL
from darkfigure.casestore.listing import IDENTITY_ROLES, Listing, exploitation_rows, index_tokens, touch_cases
from darkfigure.casestore.models import case_exploitation, cases, consents, events, users
from darkfigure.casestore.models import name_tokens as name_tokens_table
from darkfigure.casestore.models import perpetrators as perpetrators_table
from darkfigure.casestore.models import support_plans as support_plans_table
from darkfigure.casestore.oversight import Oversight
from darkfigure.casestore.storage import database_url, make_engine, migrate, reading, writing
from darkfigure.casestore.types import (
    PURPOSES,
    ROLES,
    Actor,
    CaseInput,
    CaseNotFound,
    CaseSummary,
    CaseView,
    ConsentWithdrawn,
    EventInput,
    ImportReport,
    PerpetratorInput,
    SupportPlanInput,
)
from darkfigure.errors import AccessDenied, InputError

_EDIT_ROLES = ("administrator", "caseworker")


class CaseStore(Accounts, Listing, Oversight):
    """A case database (SQLite file or PostgreSQL) with its key ring. Build with :func:`open_store`.

    >>> import tempfile, pathlib
    >>> from darkfigure.casestore.crypto import FAST_TEST_HASHER
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> store = open_store(d / "c.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    >>> org = store.create_organisation("Shelter")
    >>> kim = store.create_user(org, "kim", "correct horse 1", "caseworker")
    >>> code = store.create_case(kim, CaseInput({"prs_FirstName": "Mina"}, {"statistics": True}))
    >>> store.get_case(kim, code).fields["prs_FirstName"]
    'Mina'
    >>> store.close()
    """

    def __init__(self, engine, ring: KeyRing, hasher: PasswordHasher) -> None:
        self.engine = engine
        self.ring = ring
        self.hasher = hasher
        self._dummy_hash: str | None = None  # made on the first unknown user name
        self._totals, self._totals_lock = {}, threading.Lock()
        self._wal_dirty = False  # an erasure's checkpoint could not finish: tried again (erasure.finish_checkpoint)

    # -- cases ---------------------------------------------------------------------------------------
    def create_case(self, actor: Actor, data: CaseInput) -> str:
        """Create a case in the actor's organisation; return its random pseudonymous case code."""
        require(actor, *_EDIT_ROLES)
        with writing(self.engine) as conn:
            code = self._insert_case(conn, actor, data)
            audit.append(
                conn,
                self.ring.audit_key,
                actor.username,
                actor.organisation_id,
                "create",
                code,
                records.changed_identifying(data),
            )
        return code

    def _insert_case(self, conn: Connection, actor: Actor, data: CaseInput) -> str:
        checked = self._checked(data)
        self._check_owner(conn, actor.organisation_id, checked)
        values = self._case_values(actor, data, checked, self._free_code(conn))
        case_id = conn.execute(insert(cases).values(**values)).inserted_primary_key[0]
        self._write_tokens(conn, actor.organisation_id, case_id, checked)
        self._write_exploitation(conn, actor.organisation_id, case_id, checked)
        self._write_consents(conn, actor, case_id, data.consents)
        self._write_children(conn, case_id, values["uid"], data)
        touch_cases(conn, actor.organisation_id)
        return values["code"]

    def _case_values(self, actor: Actor, data: CaseInput, checked: dict[str, Any], code: str) -> dict[str, Any]:
        """Every column of a new case row (identifying values sealed); checks consent for referral."""
        if checked.get("cas_RegistrationDate") is None:  # absent or empty: registered today
            checked["cas_RegistrationDate"] = now().date()
        self._check_referral(checked, data.consents.get("referral"))
        uid, stamp = records.new_uid(), now()
        values = dict.fromkeys(c.name for c in cases.columns if c.name != "id")
        values.update(records.case_columns(self.ring, uid, checked))
        values.update(
            uid=uid,
            code=code,
            organisation_id=actor.organisation_id,
            created_at=stamp,
            updated_at=stamp,
            created_by=actor.username,
            **_derived(checked),
        )
        values.update({f"consent_{p}": bool(g) for p, g in data.consents.items()})
        return values

    def _name_tokens(self, organisation_id: int, names: dict[str, Any]) -> list[str]:
        return index_tokens(self.ring, organisation_id, [t for n in NAME_FIELDS for t in name_tokens(names.get(n))])

    def _checked(self, data: CaseInput) -> dict[str, Any]:
        checked, errors = records.check_fields(data.fields)
        for purpose, given in data.consents.items():
            if purpose not in PURPOSES or not isinstance(given, bool):
                errors.append(
                    InputError(
                        f"consent is a purpose of {', '.join(PURPOSES)} with True or False", column=f"consent:{purpose}"
                    )
                )
        if errors:
            raise (
                errors[0]
                if len(errors) == 1
                else InputError("; ".join(f"column {e.column}: {e.message}" for e in errors), column=errors[0].column)
            )
        return checked

    def _free_code(self, conn: Connection) -> str:
        while True:
            code = records.new_code()
            if conn.execute(select(cases.c.id).where(cases.c.code == code)).first() is None:
                return code

    def _write_tokens(self, conn: Connection, organisation_id: int, case_id: int, names: dict[str, Any]) -> None:
        tokens = self._name_tokens(organisation_id, names)
        conn.execute(delete(name_tokens_table).where(name_tokens_table.c.case_id == case_id))
        if tokens:
            conn.execute(insert(name_tokens_table), [{"case_id": case_id, "token": t} for t in tokens])

    @staticmethod
    def _write_exploitation(conn: Connection, organisation_id: int, case_id: int, checked: dict[str, Any]) -> None:
        """Replace the case's rows of the exploitation filter (when ``checked`` holds the field)."""
        if "vic_TypeOfExploitation" not in checked:
            return
        conn.execute(delete(case_exploitation).where(case_exploitation.c.case_id == case_id))
        rows = exploitation_rows(organisation_id, case_id, checked["vic_TypeOfExploitation"])
        if rows:
            conn.execute(insert(case_exploitation), rows)

    def _write_consents(self, conn: Connection, actor: Actor, case_id: int, given: dict[str, bool]) -> None:
        if given:
            conn.execute(insert(consents), _consent_rows(actor, case_id, given))

    @staticmethod
    def _check_referral(checked: dict[str, Any], referral: bool | None) -> None:
        touched = [n for n in OUTGOING_REFERRAL if checked.get(n) is not None]
        if touched and referral is not True:
            raise InputError(
                "an outgoing referral needs the person's consent for referral; record it first", column=touched[0]
            )

    def _write_children(self, conn: Connection, case_id: int, case_uid: str, data: CaseInput) -> None:
        for table, rows, build in (
            (events, data.events, records.event_row),
            (perpetrators_table, data.perpetrators, records.perpetrator_row),
            (support_plans_table, data.support_plans, records.support_plan_row),
        ):
            if rows:
                conn.execute(insert(table), [build(self.ring, case_id, case_uid, r) for r in rows])

    def update_case(self, actor: Actor, code: str, data: CaseInput) -> None:
        """Change the fields present in ``data`` (None clears), record its consents, add its events.

        Only values that differ from the stored ones count as changes (identifying ones compared in
        clear): they alone are written, checked (case owner, referral consent, dates) and named in the
        audit entry (names only, never values). A submission that changes nothing writes nothing.
        Once consent for case work was withdrawn, identifying fields cannot be changed (an administrator
        may empty them) and nothing can be added (:class:`ConsentWithdrawn`); other fields, such as the
        status, still can."""
        require(actor, *_EDIT_ROLES)
        checked = self._checked(data)
        with writing(self.engine) as conn:
            row = self._case_row(conn, actor, code, lock=True)
            current = records.case_fields(self.ring, row, hide=False)
            changed = records.changed_fields(current, checked)
            if row.consent_case_work is False:
                _refuse_when_withdrawn(actor, row.code, changed, data)
            self._check_referral(changed, data.consents.get("referral", row.consent_referral))
            self._check_owner(conn, row.organisation_id, changed)
            dates = {"prs_Birthdate", "cas_RegistrationDate"} & set(changed)
            if dates:
                column = "prs_Birthdate" if "prs_Birthdate" in dates else "cas_RegistrationDate"
                records.check_dates(current | changed, column=column)
            if not (changed or data.consents or records.added_children(data)):
                return
            values = records.case_columns(self.ring, row.uid, changed)
            if dates:
                values.update(_derived(current | changed))
            values.update({f"consent_{p}": bool(g) for p, g in data.consents.items()}, updated_at=now())
            conn.execute(update(cases).where(cases.c.id == row.id).values(**values))
            self._write_exploitation(conn, row.organisation_id, row.id, changed)
            touch_cases(conn, row.organisation_id)
            if set(NAME_FIELDS) & set(changed):
                self._write_tokens(conn, row.organisation_id, row.id, current | changed)
            self._write_consents(conn, actor, row.id, data.consents)
            self._write_children(conn, row.id, row.uid, data)
            audit.append(
                conn,
                self.ring.audit_key,
                actor.username,
                actor.organisation_id,
                "update",
                row.code,
                list(changed) + records.added_children(data) + [f"consent:{p}" for p in data.consents],
            )

    def _check_owner(self, conn: Connection, organisation_id: int, fields: dict[str, Any]) -> None:
        """InputError naming ``cas_CaseOwner`` unless it is empty or names an active administrator or
        caseworker of the organisation (HTCDS: a lookup to the user who manages the case)."""
        owner = fields.get("cas_CaseOwner")
        if owner is None:
            return
        found = conn.execute(
            select(users).where(
                users.c.username == owner,
                users.c.organisation_id == organisation_id,
                users.c.active == true(),
                users.c.role.in_(_EDIT_ROLES),
            )
        ).first()
        if found is None or not self._sealed(found):
            raise InputError(
                "expected the user name of an active administrator or caseworker of your organisation "
                "(the user who manages the case); no such user; check the spelling or leave it empty",
                column="cas_CaseOwner",
            )

    def _case_row(self, conn: Connection, actor: Actor, code: str, lock: bool = False) -> Any:
        """The case row by code, checked for the actor; ``lock`` (a change): on PostgreSQL the row is
        locked, so a change and an erasure of the same case take turns and a change that comes second
        finds no case (CaseNotFound) rather than failing on a foreign key. SQLite's writers take turns
        anyway."""
        query = select(cases).where(cases.c.code == str(code).strip().upper())
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise CaseNotFound(f"no case with code {code!r}; check the code")
        same_org(actor, row.organisation_id)
        if actor.role == "analyst" and row.consent_statistics is not True:
            raise AccessDenied(f"case {code} is not consented for statistics; analysts cannot see it")
        return row

    def get_case(self, actor: Actor, code: str) -> CaseView:
        """One case; analysts get identifying fields as ``HIDDEN`` (and caseworkers too once consent for
        case work was withdrawn); every view that shows identifying fields is audited (the view is
        returned only once its audit entry is committed). :class:`CaseNotFound` for an unknown code."""
        require(actor, *ROLES)
        with reading(self.engine) as conn:
            row = self._case_row(conn, actor, code)
            hide = actor.role not in IDENTITY_ROLES or (
                row.consent_case_work is False and actor.role != "administrator"
            )
            view = self._view(conn, row, hide)
        if not hide:
            shown = [n for n, v in view.fields.items() if FIELDS[n].identifying and v is not None]
            with writing(self.engine) as conn:
                audit.append(
                    conn,
                    self.ring.audit_key,
                    actor.username,
                    actor.organisation_id,
                    "view",
                    row.code,
                    shown + (["hte_*"] if view.events else []) + (["per_*"] if view.perpetrators else []),
                )
        return view

    def _view(self, conn: Connection, row: Any, hide: bool) -> CaseView:
        def children(table):
            return conn.execute(select(table).where(table.c.case_id == row.id).order_by(table.c.id)).all()

        return CaseView(
            row.code,
            row.organisation_id,
            row.created_at,
            row.updated_at,
            records.case_fields(self.ring, row, hide),
            {p: getattr(row, f"consent_{p}") for p in PURPOSES},
            tuple(records.event_view(self.ring, r, hide, row.uid) for r in children(events)),
            tuple(records.perpetrator_view(self.ring, r, hide, row.uid) for r in children(perpetrators_table)),
            tuple(records.support_plan_view(self.ring, r, hide, row.uid) for r in children(support_plans_table)),
            hide,
        )

    def add_event(self, actor: Actor, code: str, event: EventInput) -> str:
        """Add a historic trafficking event to a case; return the event id."""
        return self._add_child(actor, code, events, records.event_row, event, "hte_*")

    def add_perpetrator(self, actor: Actor, code: str, perpetrator: PerpetratorInput) -> str:
        """Add a perpetrator to a case; return its id."""
        return self._add_child(actor, code, perpetrators_table, records.perpetrator_row, perpetrator, "per_*")

    def add_support_plan(self, actor: Actor, code: str, plan: SupportPlanInput) -> str:
        """Add a support plan to a case; return its id."""
        return self._add_child(actor, code, support_plans_table, records.support_plan_row, plan, "spl_*")

    def _add_child(self, actor: Actor, code: str, table, build, item, label: str) -> str:
        require(actor, *_EDIT_ROLES)
        with writing(self.engine) as conn:
            row = self._case_row(conn, actor, code)
            if row.consent_case_work is False:
                raise ConsentWithdrawn(f"case {row.code}: consent for case work was withdrawn; nothing can be added")
            values = build(self.ring, row.id, row.uid, item)
            try:
                conn.execute(insert(table).values(**values))
            except IntegrityError as err:  # PostgreSQL: the case was erased since it was read
                if not _missing_parent(err):
                    raise
                raise CaseNotFound(f"no case with code {code!r}; it was erased just now") from None
            conn.execute(update(cases).where(cases.c.id == row.id).values(updated_at=now()))
            audit.append(conn, self.ring.audit_key, actor.username, actor.organisation_id, "update", row.code, (label,))
        return values["uid"]

    def record_consent(self, actor: Actor, code: str, purpose: str, given: bool) -> None:
        """Record consent (or its withdrawal) for one purpose of :data:`PURPOSES`; history is kept."""
        require(actor, *_EDIT_ROLES)
        if purpose not in PURPOSES or not isinstance(given, bool):
            raise InputError(f"consent is a purpose of {', '.join(PURPOSES)} with True or False", column="purpose")
        with writing(self.engine) as conn:
            row = self._case_row(conn, actor, code, lock=True)
            conn.execute(
                update(cases).where(cases.c.id == row.id).values({f"consent_{purpose}": given, "updated_at": now()})
            )
            self._write_consents(conn, actor, row.id, {purpose: given})
            touch_cases(conn, row.organisation_id)
            audit.append(
                conn,
                self.ring.audit_key,
                actor.username,
                actor.organisation_id,
                "consent",
                row.code,
                (f"consent:{purpose}={'yes' if given else 'no'}",),
            )

    def erase_case(self, actor: Actor, code: str, reason: str) -> ErasureReport:
        """Erase a case and every row of it in one transaction (administrators of its organisation only);
        the audit log keeps ``erase_case`` with the code, the actor and ``reason`` (which must not name
        the person). See :mod:`darkfigure.casestore.erasure` for what SQLite and PostgreSQL keep of the
        deleted bytes."""
        return erasure.erase_case(self, actor, code, reason)

    def erasure_summary(self, actor: Actor, code: str) -> CaseSummary:
        """The summary of a case the actor may erase (no identifying field, nothing audited), for a
        confirmation page; refused as :meth:`erase_case` is."""
        return erasure.erasable(self, actor, code)

    # -- import and export ---------------------------------------------------------------------------
    def import_file(self, actor: Actor, path: str | Path, format: str | None = None, progress=None) -> ImportReport:
        """Import cases from CSV or XLSX in HTCDS columns, all or nothing (one transaction).

        Raises :class:`ImportRejected` (an InputError) listing every bad row and column; then nothing
        is written. ``progress(done, total)`` is called now and then while rows are written.
        """
        from darkfigure.casestore import transfer

        require(actor, *_EDIT_ROLES)
        inputs = transfer.read_cases(path, format)
        with writing(self.engine) as conn:
            codes = transfer.insert_cases(self, conn, actor, inputs, progress)
        return ImportReport(str(path), len(inputs), tuple(codes))

    def export_ctdc(self, actor: Actor, path: str | Path) -> int:
        """Write a CTDC-shaped CSV without identifiers, statistics-consented cases only; return rows."""
        from darkfigure.casestore import export

        require(actor, *ROLES)
        with writing(self.engine) as conn:
            rows = export.write_ctdc(self, conn, actor, Path(path))
            audit.append(conn, self.ring.audit_key, actor.username, actor.organisation_id, "export_ctdc", None, ())
        return rows

    def export_list(self, actor: Actor, path: str | Path, list_name: str | None = None) -> Path:
        """Write the organisation's list for ``darkfigure encode``/``link`` (linkage-consented cases
        only; administrators only) and a ``mapping.toml`` beside it; return the mapping's path."""
        from darkfigure.casestore import export

        require(actor, "administrator")
        shown = ("prs_FirstName", "prs_MiddleName", "prs_SecondName", "prs_Birthdate")
        with writing(self.engine) as conn:
            mapping, codes = export.write_list(self, conn, actor, Path(path), list_name)
            # one entry per case, so the log answers "who has seen this person's identity"
            audit.append_many(
                conn,
                self.ring.audit_key,
                actor.username,
                actor.organisation_id,
                "export_list",
                [(code, shown) for code in codes] or [(None, shown)],
            )
        return mapping

    def close(self) -> None:
        """Release the database connections (on SQLite first finishing the WAL checkpoint of an erasure
        that a reader kept from finishing, when it can now)."""
        erasure.finish_checkpoint(self)
        self.engine.dispose()


def _consent_rows(actor: Actor, case_id: int, given: dict[str, bool]) -> list[dict[str, Any]]:
    stamp = now()
    return [
        dict(case_id=case_id, purpose=p, given=bool(g), recorded_at=stamp, recorded_by=actor.username)
        for p, g in given.items()
    ]


def _missing_parent(err: IntegrityError) -> bool:
    """Whether an insert failed on its foreign key (PostgreSQL SQLSTATE 23503; SQLite's message)."""
    return getattr(err.orig, "sqlstate", None) == "23503" or "FOREIGN KEY constraint failed" in str(err.orig)


def _derived(checked: dict[str, Any]) -> dict[str, Any]:
    registered = checked.get("cas_RegistrationDate")
    return {
        "registration_year": registered.year if registered else None,
        "age_broad": records.age_broad(checked.get("prs_Birthdate"), registered),
    }


def _refuse_when_withdrawn(actor: Actor, code: str, changed: dict[str, Any], data: CaseInput) -> None:
    """:class:`ConsentWithdrawn` for a change to a case whose consent for case work was withdrawn,
    unless it changes only fields that are not identifying, or (administrators) empties identifying ones."""
    if records.added_children(data):
        raise ConsentWithdrawn(f"case {code}: consent for case work was withdrawn; nothing can be added to the case")
    identifying = [n for n in changed if FIELDS[n].identifying]
    filled = identifying if actor.role != "administrator" else [n for n in identifying if changed[n] is not None]
    if filled:
        raise ConsentWithdrawn(
            f"case {code}: consent for case work was withdrawn; identifying fields stay as they are "
            "(an administrator may only empty them)",
            column=filled[0],
        )


def open_store(
    url: str | os.PathLike | None = None,
    key: KeyRing | str | os.PathLike | None = None,
    *,
    password_hasher: PasswordHasher | None = None,
    migrate_schema: bool = True,
    create: bool = True,
) -> CaseStore:
    """Open (creating and migrating to the newest schema) a case store.

    ``url``: a SQLAlchemy URL or a file path (SQLite); None -> ``$DARKFIGURE_CASE_DB`` or ``cases.db``.
    ``key``: a :class:`KeyRing`, a key-file path, or None -> ``$DARKFIGURE_CASE_KEY`` (key-ring JSON or
    base64 of 32 bytes) or ``$DARKFIGURE_CASE_KEY_FILE``. ``password_hasher``: an argon2
    ``PasswordHasher`` (tests pass a cheap one; the default is argon2-cffi's RFC 9106 low-memory profile).
    ``create`` False refuses a database that does not exist yet (the command line and ``serve`` open so;
    only ``darkfigure cases init`` creates one). A key ring that belongs to another store is refused
    before anything is read or written (:mod:`darkfigure.casestore.keycheck`).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> open_store(d / "c.db", KeyRing.generate()).has_users()
    False
    """
    from darkfigure.casestore import keycheck
    from darkfigure.casestore.accounts import seal_users
    from darkfigure.casestore.name_index import upgrade_name_index

    ring = key if isinstance(key, KeyRing) else KeyRing.read(key) if key is not None else KeyRing.from_env()
    if ring is None:
        raise InputError(
            "no case key: give a key file, or set DARKFIGURE_CASE_KEY or DARKFIGURE_CASE_KEY_FILE "
            "(darkfigure cases init makes one)"
        )
    target = database_url(url)
    if create:
        _private_sqlite_file(target)
    else:
        _require_sqlite_file(target)
    engine = make_engine(target)
    try:
        if not create:
            _require_schema(engine, target)
        checked = keycheck.verify_key(engine, ring)
        if migrate_schema:
            migrate(engine)
        if migrate_schema and not checked:
            keycheck.record_check(engine, ring)
        if migrate_schema:
            upgrade_name_index(engine, ring)
            seal_users(engine, ring)
    except BaseException:
        engine.dispose()
        raise
    return CaseStore(engine, ring, password_hasher or PasswordHasher())


def _missing(target: str) -> InputError:
    shown = target.removeprefix("sqlite:///") if target.startswith("sqlite:///") else make_url_safe(target)
    return InputError(f"no case database at {shown} (create one with darkfigure cases init)")


def make_url_safe(target: str) -> str:
    """A database URL with its password masked, for messages.

    >>> make_url_safe("postgresql+psycopg://u:secret@h/db")
    'postgresql+psycopg://u:***@h/db'
    """
    from sqlalchemy.engine import make_url

    try:
        return make_url(target).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL that does not parse is reported by make_engine
        return "the database URL given"


def _require_sqlite_file(target: str) -> None:
    if target.startswith("sqlite:///") and not target.startswith("sqlite:///:memory:"):
        path = Path(target.removeprefix("sqlite:///").split("?")[0])
        if not path.is_file():
            raise _missing(target)


def _require_schema(engine, target: str) -> None:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with reading(engine) as conn:
            found = inspect(conn).has_table("alembic_version")
    except SQLAlchemyError as err:
        raise InputError(f"cannot open the case database ({err.__class__.__name__}); check the URL") from None
    if not found:
        raise _missing(target)


def init_store(url: str | os.PathLike | None, key_file: str | os.PathLike, *, password_hasher=None) -> CaseStore:
    """Create the key file (0600; an existing one is used, never overwritten) and the database (a SQLite
    file is made 0600). Both folders must exist. A new key file is removed again when the database
    refuses it (a database made with another key), so a refused init leaves nothing behind.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> init_store(d / "c.db", d / "case.key").close()
    >>> oct((d / "case.key").stat().st_mode & 0o777)
    '0o600'
    """
    from darkfigure._atomic import check_parent_folders

    key_file, target = Path(key_file), database_url(url)
    check_parent_folders(key_file, must_exist=True)  # before anything is made: name the folder given
    if target.startswith("sqlite:///") and target != "sqlite:///:memory:":
        check_parent_folders(Path(target.removeprefix("sqlite:///").split("?")[0]), must_exist=True)
    if key_file.exists():
        return open_store(target, KeyRing.read(key_file), password_hasher=password_hasher)
    ring = KeyRing.generate()
    ring.write(key_file)
    try:
        return open_store(target, ring, password_hasher=password_hasher)
    except BaseException:
        key_file.unlink(missing_ok=True)  # a new key for a database it does not open is no use to anyone
        raise


def _private_sqlite_file(target: str) -> None:
    """Create a new SQLite database file readable by its owner only (SQLite gives its WAL the same mode)."""
    if not target.startswith("sqlite:///") or target.startswith("sqlite:///:memory:"):
        return
    path = Path(target.removeprefix("sqlite:///").split("?")[0])
    if path.parent.is_dir() and not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
