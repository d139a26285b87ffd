"""User rows are sealed (migration 0008): a row changed without the key is refused; the store's own
changes reseal; a store made before seals gets them when it first opens with its key."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from darkfigure.casestore import FAST_TEST_HASHER, KeyRing, open_store
from darkfigure.casestore.models import audit_log, store_check, users
from darkfigure.errors import AccessDenied


def _alter(store, username, **values):
    with store.engine.begin() as conn:  # someone who can write the database, without the key
        conn.execute(update(users).where(users.c.username == username).values(**values))


@pytest.mark.parametrize("change", [{"role": "administrator"}, {"organisation_id": 2}, {"seal": None},
                                    {"password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA"}])
def test_a_user_row_altered_without_the_key_is_refused(store, people, change):
    kim, admin = people["kim"], people["admin"]
    assert store.authenticate("kim", "kim password 12").role == "caseworker"
    _alter(store, "kim", **change)
    assert store.authenticate("kim", "kim password 12") is None
    assert store.user(kim.id) is None  # a session of kim's ends at its next check
    assert "kim" not in [u.username for u in store.users(admin)]
    with pytest.raises(AccessDenied):
        store.set_password(admin, "kim", "a new password 99")
    with pytest.raises(AccessDenied):
        store.deactivate_user(admin, "kim")
    assert store.authenticate("admin", "admin password 1").role == "administrator"  # others unaffected


def test_the_stores_own_changes_keep_rows_sealed(store, people):
    admin, kim = people["admin"], people["kim"]
    store.set_password(admin, "kim", "a new password 99")
    assert store.authenticate("kim", "a new password 99").id == kim.id
    store.change_own_password(store.authenticate("kim", "a new password 99"), "a new password 99", "another one 123")
    assert store.user(kim.id).username == "kim"
    store.deactivate_user(admin, "kim")
    assert store.user(kim.id) is None and store.authenticate("kim", "another one 123") is None


def test_a_store_made_before_seals_is_sealed_on_first_open(tmp_path):
    ring = KeyRing.generate()
    store = open_store(tmp_path / "cases.db", ring, password_hasher=FAST_TEST_HASHER)
    store.create_user(store.create_organisation("S"), "kim", "kim password 12", "caseworker")
    with store.engine.begin() as conn:  # as migration 0008 leaves a store of 0007
        conn.execute(update(users).values(seal=None))
        conn.execute(update(store_check).values(users_sealed=0))
    store.close()
    again = open_store(tmp_path / "cases.db", ring, password_hasher=FAST_TEST_HASHER)
    assert again.authenticate("kim", "kim password 12").username == "kim"
    with again.engine.connect() as conn:
        assert conn.execute(select(store_check.c.users_sealed)).scalar() == 1
        assert conn.execute(select(audit_log.c.fields).where(audit_log.c.action == "seal_users")).scalar() == "users:1"
    again.close()
