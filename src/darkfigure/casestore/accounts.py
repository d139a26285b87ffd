"""Organisations, users and roles: argon2id passwords, administrators managing their own organisation."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, true, update

from darkfigure.casestore import audit
from darkfigure.casestore.models import organisations, users
from darkfigure.casestore.storage import reading, writing
from darkfigure.casestore.types import ROLES, Actor, Organisation
from darkfigure.errors import AccessDenied, InputError

MIN_PASSWORD, MAX_PASSWORD = 10, 1000  # characters (argon2 hashes any length; a bound keeps it cheap)


class Accounts:
    """The organisation and user methods of :class:`darkfigure.casestore.service.CaseStore`."""

    engine: Any
    ring: Any
    hasher: Any
    _dummy_hash: str | None

    # -- organisations and users -------------------------------------------------------------------
    def create_organisation(self, name: str, type: str | None = None) -> Organisation:
        """Add an organisation (``type`` from the HTCDS ``org_Type`` pick-list); names are unique."""
        from darkfigure.casestore.fields import check_choice

        name = _organisation_name(name)
        kind = check_choice("org_Type", type, "org_Type") if type else None
        with writing(self.engine) as conn:
            if conn.execute(select(organisations.c.id).where(organisations.c.name == name)).first():
                raise InputError(f"an organisation named {name!r} exists already; choose another name")
            new_id = conn.execute(
                insert(organisations).values(name=name, type=kind, created_at=now())
            ).inserted_primary_key[0]
        return Organisation(new_id, name, kind)

    def organisations(self) -> list[Organisation]:
        """Every organisation, by name."""
        with reading(self.engine) as conn:
            rows = conn.execute(select(organisations).order_by(organisations.c.name)).all()
        return [Organisation(r.id, r.name, r.type) for r in rows]

    def organisation(self, name_or_id: str | int | Organisation) -> Organisation:
        """One organisation by name or id (InputError if there is none)."""
        if isinstance(name_or_id, Organisation):
            return name_or_id
        column = organisations.c.id if isinstance(name_or_id, int) else organisations.c.name
        with reading(self.engine) as conn:
            row = conn.execute(select(organisations).where(column == name_or_id)).first()
        if row is None:
            raise InputError(f"no organisation {name_or_id!r}; create it first (darkfigure cases create-admin --org)")
        return Organisation(row.id, row.name, row.type)

    def has_users(self) -> bool:
        """Whether any user exists (the web app offers to create the first administrator when not)."""
        with reading(self.engine) as conn:
            return conn.execute(select(users.c.id).limit(1)).first() is not None

    def create_user(
        self, org: Organisation | int | str, username: str, password: str, role: str, *, actor: Actor | None = None
    ) -> Actor:
        """Add a user with an argon2id password hash. ``actor`` must be an administrator of ``org``;
        None is allowed for the command line (the web's first user goes through
        :meth:`create_first_administrator`)."""
        org = self.organisation(org)
        if actor is not None:
            require(actor, "administrator")
            same_org(actor, org.id)
        _check_user(username, password, role)
        with writing(self.engine) as conn:
            return self._insert_user(conn, org.id, username, password, role, actor.username if actor else "cli")

    def create_first_administrator(self, organisation: str, username: str, password: str) -> tuple[Organisation, Actor]:
        """The organisation (made if new) and its administrator, in one transaction that is refused
        (AccessDenied) once any user exists: two people racing through a fresh web setup get one winner.

        >>> import tempfile, pathlib
        >>> from darkfigure.casestore import FAST_TEST_HASHER, KeyRing, open_store
        >>> store = open_store(pathlib.Path(tempfile.mkdtemp()) / "c.db", KeyRing.generate(),
        ...                    password_hasher=FAST_TEST_HASHER)
        >>> store.create_first_administrator("Shelter", "ada", "correct horse 1")[1].role
        'administrator'
        """
        name = _organisation_name(organisation)
        _check_user(username, password, "administrator")
        with writing(self.engine) as conn:
            if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already excludes other writers
                conn.exec_driver_sql("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            if conn.execute(select(users.c.id).limit(1)).first() is not None:
                raise AccessDenied("the first administrator exists already; log in")
            org_id = conn.execute(select(organisations.c.id).where(organisations.c.name == name)).scalar()
            if org_id is None:
                org_id = conn.execute(
                    insert(organisations).values(name=name, created_at=now())
                ).inserted_primary_key[0]
            actor = self._insert_user(conn, org_id, username, password, "administrator", "setup")
        return Organisation(org_id, name, None), actor

    def _insert_user(self, conn, org_id: int, username: str, password: str, role: str, by: str) -> Actor:
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise InputError(f"the username {username!r} is taken; choose another", column="username")
        values = dict(
            organisation_id=org_id,
            username=username,
            password_hash=self.hasher.hash(password),
            role=role,
            active=True,
            created_at=now(),
        )
        new_id = conn.execute(insert(users).values(**values)).inserted_primary_key[0]
        reseal(conn, self.ring, new_id)
        audit.append(conn, self.ring.audit_key, by, org_id, "create_user", None, (f"user:{username}", f"role:{role}"))
        return Actor(new_id, username, org_id, role)

    def users(self, actor: Actor, active: bool = True) -> list[Actor]:
        """The users of the actor's organisation (administrators only), by name; ``active=False``: those
        switched off instead (their names stay taken).

        >>> import tempfile, pathlib
        >>> from darkfigure.casestore import FAST_TEST_HASHER, KeyRing, open_store
        >>> store = open_store(pathlib.Path(tempfile.mkdtemp()) / "c.db", KeyRing.generate(),
        ...                    password_hasher=FAST_TEST_HASHER)
        >>> ada = store.create_first_administrator("Shelter", "ada", "correct horse 1")[1]
        >>> _ = store.create_user(ada.organisation_id, "bo", "purple stapler 22", "analyst", actor=ada)
        >>> store.deactivate_user(ada, "bo")
        >>> [u.username for u in store.users(ada)], [u.username for u in store.users(ada, active=False)]
        (['ada'], ['bo'])
        """
        require(actor, "administrator")
        with reading(self.engine) as conn:
            rows = conn.execute(
                select(users)
                .where(users.c.organisation_id == actor.organisation_id, users.c.active == bool(active))
                .order_by(users.c.username)
            ).all()
        return [_actor(r) for r in rows if self._sealed(r)]

    def set_password(self, actor: Actor, username: str, password: str) -> int:
        """Change a password: one's own, or (administrator) any user's in the same organisation. The
        user's session epoch goes up, which ends their web sessions; the new epoch is returned."""
        check_password(password, username)
        with writing(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
            if row is None or not self._sealed(row) or (
                username != actor.username
                and (actor.role != "administrator" or row.organisation_id != actor.organisation_id)
            ):
                raise AccessDenied(f"you may not change the password of {username!r}")
            epoch = _raise_epoch(conn, self.ring, row.id, password_hash=self.hasher.hash(password))
            audit.append(
                conn,
                self.ring.audit_key,
                actor.username,
                actor.organisation_id,
                "set_password",
                None,
                (f"user:{username}",),
            )
        return epoch

    def change_own_password(self, actor: Actor, current: str, new: str) -> int:
        """Change the actor's own password, once the current one is proven (InputError naming
        ``current_password`` otherwise, and nothing changes); audited as ``set_password``. Returns the
        new session epoch (the session making the change keeps it; the user's other sessions end).

        >>> import tempfile, pathlib
        >>> from darkfigure.casestore import FAST_TEST_HASHER, KeyRing, open_store
        >>> store = open_store(pathlib.Path(tempfile.mkdtemp()) / "c.db", KeyRing.generate(),
        ...                    password_hasher=FAST_TEST_HASHER)
        >>> ada = store.create_first_administrator("Shelter", "ada", "correct horse 1")[1]
        >>> store.change_own_password(ada, "correct horse 1", "purple stapler 22")
        1
        >>> store.authenticate("ada", "purple stapler 22").username
        'ada'
        """
        try:
            check_password(new, actor.username)
        except InputError as err:
            raise InputError(err.message, column="new_password") from None
        proven = self.authenticate(actor.username, current)
        if proven is None or proven.id != actor.id:
            raise InputError("the current password is not right; type the password you log in with",
                             column="current_password")
        if new == current:
            raise InputError("the new password is the current one; choose another", column="new_password")
        return self.set_password(actor, actor.username, new)

    def authenticate(self, username: str, password: str) -> Actor | None:
        """The user if the password is right (and the user active), else None; same work either way."""
        if self._dummy_hash is None:  # made on the first attempt, whoever it names, so both cost the same
            self._dummy_hash = self.hasher.hash("darkfigure timing equaliser")
        if not isinstance(username, str) or not isinstance(password, str):
            username, password = "", ""
        with reading(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.username == username, users.c.active == true())).first()
        if row is not None and not self._sealed(row):
            row = None  # altered without the key: as if there were no such user (the same work either way)
        try:
            self.hasher.verify(row.password_hash if row else self._dummy_hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(row.password_hash):
            with writing(self.engine) as conn:
                conn.execute(update(users).where(users.c.id == row.id).values(password_hash=self.hasher.hash(password)))
                reseal(conn, self.ring, row.id)
        return _actor(row)

    def user(self, user_id: int) -> Actor | None:
        """The active user with this id (e.g. from a session cookie), with their session epoch, else None."""
        with reading(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.id == user_id, users.c.active == true())).first()
        return _actor(row) if row is not None and self._sealed(row) else None

    def deactivate_user(self, actor: Actor, username: str) -> None:
        """Switch a user off (administrators, own organisation); the record stays for the audit trail."""
        self._switch_user(actor, username, False)

    def reactivate_user(self, actor: Actor, username: str) -> None:
        """Switch a user on again (administrators, own organisation), with the password they had; audited
        as ``reactivate_user``. Their sessions from before stay ended (the session epoch goes up).

        >>> import tempfile, pathlib
        >>> from darkfigure.casestore import FAST_TEST_HASHER, KeyRing, open_store
        >>> store = open_store(pathlib.Path(tempfile.mkdtemp()) / "c.db", KeyRing.generate(),
        ...                    password_hasher=FAST_TEST_HASHER)
        >>> ada = store.create_first_administrator("Shelter", "ada", "correct horse 1")[1]
        >>> _ = store.create_user(ada.organisation_id, "bo", "purple stapler 22", "analyst", actor=ada)
        >>> store.deactivate_user(ada, "bo"); store.reactivate_user(ada, "bo")
        >>> store.authenticate("bo", "purple stapler 22").username
        'bo'
        """
        self._switch_user(actor, username, True)

    def _switch_user(self, actor: Actor, username: str, active: bool) -> None:
        require(actor, "administrator")
        with writing(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
            if row is None or not self._sealed(row) or row.organisation_id != actor.organisation_id:
                raise AccessDenied(f"you may not change the user {username!r}")
            _raise_epoch(conn, self.ring, row.id, active=active)
            audit.append(
                conn,
                self.ring.audit_key,
                actor.username,
                actor.organisation_id,
                "reactivate_user" if active else "deactivate_user",
                None,
                (f"user:{username}",),
            )

    def system_actor(self, org: Organisation | int | str) -> Actor:
        """An administrator actor named ``cli`` for the command line, acting within ``org``."""
        return Actor(0, "cli", self.organisation(org).id, "administrator")

    def _sealed(self, row: Any) -> bool:
        """Whether a user row carries the seal of what it holds (a row changed without the key does not)."""
        return row.seal is not None and hmac.compare_digest(user_seal(self.ring, row), row.seal)


def user_seal(ring: Any, row: Any) -> str:
    """The seal of a user row: HMAC-SHA256 under the ring's user key of what decides who the user is and
    what they may do (id, organisation, name, password hash, role, active, session epoch).

    >>> from types import SimpleNamespace
    >>> from darkfigure.casestore.crypto import KeyRing
    >>> row = SimpleNamespace(id=1, organisation_id=1, username="ada", password_hash="h", role="caseworker",
    ...                       active=True, session_epoch=0)
    >>> ring = KeyRing.generate()
    >>> user_seal(ring, row) == user_seal(ring, SimpleNamespace(**{**vars(row), "role": "administrator"}))
    False
    """
    held = [row.id, row.organisation_id, row.username, row.password_hash, row.role, bool(row.active), row.session_epoch]
    message = json.dumps(["user", *held], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hmac.new(ring.user_key, message, hashlib.sha256).hexdigest()


def reseal(conn, ring: Any, user_id: int) -> None:
    """Seal a user's row as it now is (in the transaction that changed it)."""
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    conn.execute(update(users).where(users.c.id == user_id).values(seal=user_seal(ring, row)))


def seal_users(engine: Any, ring: Any) -> int:
    """Seal every user row once, when a store made before seals (migration 0008) first opens with its key;
    the number sealed (0 when done already). Audited, so that a second sealing (someone who cleared the
    mark to have altered rows sealed) shows in the audit log.

    >>> from darkfigure.casestore import open_store
    >>> from darkfigure.casestore.crypto import KeyRing
    >>> store = open_store("sqlite://", KeyRing.generate())
    >>> seal_users(store.engine, store.ring)
    0
    """
    from darkfigure.casestore.models import store_check

    with writing(engine) as conn:
        if conn.execute(select(store_check.c.users_sealed).where(store_check.c.id == 1)).scalar() != 0:
            return 0  # sealed already, or no check row yet
        ids = conn.execute(select(users.c.id)).scalars().all()
        for user_id in ids:
            reseal(conn, ring, user_id)
        conn.execute(update(store_check).where(store_check.c.id == 1).values(users_sealed=1))
        if ids:
            audit.append(conn, ring.audit_key, "system", None, "seal_users", None, (f"users:{len(ids)}",))
    return len(ids)


def _actor(row: Any) -> Actor:
    return Actor(row.id, row.username, row.organisation_id, row.role, row.session_epoch)


def _raise_epoch(conn, ring: Any, user_id: int, **values: Any) -> int:
    """Update the user's row with ``values`` and one more session epoch, sealed again; the new epoch."""
    raised = update(users).where(users.c.id == user_id).values(session_epoch=users.c.session_epoch + 1, **values)
    epoch = conn.execute(raised.returning(users.c.session_epoch)).scalar_one()
    reseal(conn, ring, user_id)
    return epoch


def _organisation_name(name: str) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        raise InputError("an organisation needs a name of 1 to 200 characters", column="org_Name")
    return name


def _check_user(username: str, password: str, role: str) -> None:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}", column="role")
    if not isinstance(username, str) or not re.fullmatch(r"[\w.@+-]{1,100}", username):
        raise InputError("a username is 1-100 letters, digits or . @ + - _", column="username")
    check_password(password, username)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def require(actor: Actor, *roles: str) -> None:
    if not isinstance(actor, Actor) or actor.role not in roles:
        raise AccessDenied(f"this needs the role {' or '.join(roles)}")


def same_org(actor: Actor, organisation_id: int) -> None:
    if actor.organisation_id != organisation_id:
        raise AccessDenied("this record belongs to another organisation")


def check_password(password: str, username: str | None = None) -> None:
    """At least :data:`MIN_PASSWORD` characters (at most :data:`MAX_PASSWORD`) besides the user name, at
    least 3 different ones.

    >>> check_password("correct horse 1")
    >>> check_password("x y z " * 200)
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: column password: a password may have at most 1000 characters; got 1200
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters (a short sentence is good)",
                         column="password")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"a password may have at most {MAX_PASSWORD} characters; got {len(password)}",
                         column="password")
    if len(set(password.strip())) < 3:
        raise InputError("a password needs at least 3 different characters", column="password")
    if username and len(password.casefold().replace(username.casefold(), "").strip()) < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters besides the user name",
                         column="password")
