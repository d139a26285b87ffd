"""Protection at rest: no plaintext identity in the database file, ciphertexts bound to their place,
key rotation, key files, and a tamper-evident audit chain."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import select, update

from darkfigure.casestore import FAST_TEST_HASHER, CaseInput, EventInput, KeyRing, PerpetratorInput, open_store
from darkfigure.casestore.models import audit_log, cases
from darkfigure.errors import InputError

# distinctive values a person might type: names (Latin, Hangul, accented), birth dates, places
SECRETS = {
    "prs_FirstName": "Zephyrine",
    "prs_SecondName": "Okonkwo-Vasquez",
    "prs_MiddleName": "서윤아",
    "prs_Birthdate": "1987-11-23",
    "prs_MailingCity": "Gwangmyeong-Bluehill",
    "prs_MailingStreet": "Marigold Lane 77",
    "prs_MobilePhone": "+821098765432",
    "prs_IdentityNumber": "ID-QX778812",
}
IMPORT_SECRETS = {
    "prs_FirstName": "Thaddeusz",
    "prs_SecondName": "Brankovičová",
    "prs_Birthdate": "1979-02-28",
    "prs_MailingCity": "Kirrawee-Southmoor",
    "hte_City": "Ulsan-Mipo-Dockyard",
    "hte_Street": "Wharf Road 9",
}
EVENT_SECRETS = {"city": "Ansan-Wongok", "street": "Hollyhock Alley 4", "date": "2018-06-09"}
PERPETRATOR = ("Grimwald", "Sneddick")


def _database_bytes(folder):
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("cases.db"))


def test_database_file_holds_no_plaintext_identity(tmp_path):
    store = open_store(tmp_path / "cases.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    org = store.create_organisation("Shelter")
    kim = store.create_user(org, "kim", "kim password 12", "caseworker")
    event = EventInput(
        "Exploitation", EVENT_SECRETS["date"], "KR", city=EVENT_SECRETS["city"], street=EVENT_SECRETS["street"]
    )
    code = store.create_case(
        kim,
        CaseInput(dict(SECRETS), {"statistics": True}, [event], [PerpetratorInput(*PERPETRATOR, ["SoldIndividual"])]),
    )
    store.update_case(kim, code, CaseInput({"prs_MailingState": "Gyeonggi-Northwold"}))
    csv_path = tmp_path / "in.csv"
    csv_path.write_text(
        ",".join(IMPORT_SECRETS)
        + ",hte_Type,con_Statistics\n"
        + ",".join(IMPORT_SECRETS.values())
        + ",Recruitment,yes\n",
        encoding="utf-8",
    )
    store.import_file(kim, csv_path)
    assert store.list_cases(kim, search="zephyrine").total == 1
    assert store.get_case(kim, code).fields["prs_MiddleName"] == "서윤아"
    # the file and its WAL/shm while the store is open, then again after closing (checkpointed)
    files = [p.name for p in tmp_path.iterdir() if p.name.startswith("cases.db")]
    assert "cases.db-wal" in files
    values = [
        *SECRETS.values(),
        *IMPORT_SECRETS.values(),
        *EVENT_SECRETS.values(),
        *PERPETRATOR,
        "Gyeonggi-Northwold",
        "19871123",
        "23/11/1987",
    ]
    for snapshot in (_database_bytes(tmp_path), (store.close(), _database_bytes(tmp_path))[1]):
        assert len(snapshot) > 10_000
        haystack = snapshot.lower()
        for value in values:
            assert value.lower().encode("utf-8") not in haystack, value
        assert b"shelter" in haystack and b"zmtrtwnl" not in haystack  # the search sees clear text where it is


def test_ciphertext_is_bound_to_its_record_and_field(store, people):
    kim = people["kim"]
    a = store.create_case(kim, CaseInput({"prs_FirstName": "Aster"}))
    b = store.create_case(kim, CaseInput({"prs_FirstName": "Bram"}))
    with store.engine.begin() as conn:
        blob = conn.execute(select(cases.c.prs_firstname).where(cases.c.code == a)).scalar_one()
        conn.execute(update(cases).where(cases.c.code == b).values(prs_firstname=blob, prs_secondname=blob))
    with pytest.raises(InputError, match="integrity"):
        store.get_case(kim, b)


def test_key_rotation_reencrypts_everything_in_one_go(tmp_path):
    key_file = tmp_path / "case.key"
    KeyRing.generate().write(key_file)
    store = open_store(tmp_path / "cases.db", key_file, password_hasher=FAST_TEST_HASHER)
    org = store.create_organisation("Shelter")
    kim = store.create_user(org, "kim", "kim password 12", "caseworker")
    codes = [
        store.create_case(
            kim,
            CaseInput(
                {"prs_FirstName": name, "prs_Birthdate": "1990-01-01"}, events=[EventInput("Transit", city="Paju")]
            ),
        )
        for name in ("Oa", "Ob", "Oc")  # no digit (a case code) and an O, which no case code holds: only names match
    ]
    # 3 cases x (first name + birth date) + 3 events x city
    assert store.rotate_key(key_file, retire_old=True) == 9
    ring = KeyRing.read(key_file)
    assert list(ring.keys) == ["k2"] and ring.active == "k2"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    store.close()
    reopened = open_store(tmp_path / "cases.db", key_file, password_hasher=FAST_TEST_HASHER)
    assert reopened.get_case(kim, codes[1]).fields["prs_FirstName"] == "Ob"
    assert reopened.list_cases(kim, search="oc").total == 1  # the name index survives rotation
    with reopened.engine.connect() as conn:
        blobs = conn.execute(select(cases.c.prs_firstname)).scalars().all()
    assert {ring.key_id(b) for b in blobs} == {"k2"}
    assert reopened.verify_audit().ok
    reopened.close()


def test_wrong_key_is_a_clean_error(tmp_path):
    store = open_store(tmp_path / "cases.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    kim = store.create_user(store.create_organisation("S"), "kim", "kim password 12", "caseworker")
    code = store.create_case(kim, CaseInput({"prs_FirstName": "Aster"}))
    store.close()
    with pytest.raises(InputError, match="does not belong to this database"):  # refused before any read
        open_store(tmp_path / "cases.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    again = open_store(tmp_path / "cases.db", store.ring, password_hasher=FAST_TEST_HASHER)
    assert again.get_case(kim, code).fields["prs_FirstName"] == "Aster"
    again.close()


def test_key_from_environment(tmp_path, monkeypatch):
    import base64
    import secrets as pysecrets

    monkeypatch.setenv("DARKFIGURE_CASE_KEY", base64.b64encode(pysecrets.token_bytes(32)).decode())
    store = open_store(tmp_path / "cases.db", password_hasher=FAST_TEST_HASHER)
    kim = store.create_user(store.create_organisation("S"), "kim", "kim password 12", "caseworker")
    code = store.create_case(kim, CaseInput({"prs_FirstName": "Aster"}))
    store.close()
    again = open_store(tmp_path / "cases.db", password_hasher=FAST_TEST_HASHER)
    assert again.get_case(kim, code).fields["prs_FirstName"] == "Aster"
    again.close()
    monkeypatch.setenv("DARKFIGURE_CASE_KEY", "not base64 of 32 bytes")
    with pytest.raises(InputError, match="32 bytes"):
        open_store(tmp_path / "cases.db")


def _audited_store(store, people):
    kim = people["kim"]
    code = store.create_case(kim, CaseInput({"prs_FirstName": "Aster"}))
    for _ in range(3):
        store.get_case(kim, code)
    return code


def test_audit_verify_names_the_first_altered_entry(store, people):
    _audited_store(store, people)
    verdict = store.verify_audit()
    n = verdict.entries
    assert verdict.ok and n >= 8  # 4 users + create + 3 views
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == n - 1).values(actor="mallory"))
    verdict = store.verify_audit()
    assert (verdict.ok, verdict.first_broken) == (False, n - 1)


def test_audit_verify_finds_a_deleted_or_truncated_entry(store, people):
    _audited_store(store, people)
    n = store.verify_audit().entries
    with store.engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.id == n))
    verdict = store.verify_audit()
    assert (verdict.ok, verdict.first_broken) == (False, n)
    with store.engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.id == 3))
    assert store.verify_audit().first_broken == 4


def test_audit_cannot_be_rebuilt_without_the_key(store, people):
    """Recomputing an altered entry's hash with plain SHA-256 (no key) does not fool the check."""
    import hashlib

    _audited_store(store, people)
    with store.engine.begin() as conn:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.id == 2)
            .values(action="forged", hash=hashlib.sha256(b"forged").hexdigest())
        )
    assert store.verify_audit().first_broken == 2


def test_a_store_made_before_the_key_check_gets_it_from_the_audit_seal(tmp_path):
    # walkthrough item 1: a database of schema 0002 has no check row; its audit head's seal decides
    from sqlalchemy import select

    from darkfigure.casestore.models import store_check

    ring = KeyRing.generate()
    store = open_store(tmp_path / "cases.db", ring, password_hasher=FAST_TEST_HASHER)
    kim = store.create_user(store.create_organisation("S"), "kim", "kim password 12", "caseworker")
    code = store.create_case(kim, CaseInput({"prs_FirstName": "Aster"}))
    with store.engine.begin() as conn:  # back to how 0002 left it
        conn.exec_driver_sql("DROP TABLE store_check")
        conn.exec_driver_sql("ALTER TABLE users DROP COLUMN seal")  # 0008's (and the check table's mark)
        conn.exec_driver_sql("ALTER TABLE users DROP COLUMN session_epoch")  # 0005's
        conn.exec_driver_sql("DROP INDEX ix_cases_org_case_work_id")  # 0007's
        conn.exec_driver_sql("DROP INDEX ix_cases_org_id_case_work")  # 0006's, and its index before
        conn.exec_driver_sql("CREATE INDEX ix_cases_org_id ON cases (organisation_id, id)")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")
    store.close()
    with pytest.raises(InputError, match="does not belong to this database"):
        open_store(tmp_path / "cases.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    again = open_store(tmp_path / "cases.db", ring, password_hasher=FAST_TEST_HASHER)
    with again.engine.connect() as conn:
        assert conn.execute(select(store_check)).first() is not None
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0008"
    assert again.get_case(kim, code).fields["prs_FirstName"] == "Aster"
    again.close()
    with pytest.raises(InputError, match="does not belong to this database"):
        open_store(tmp_path / "cases.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
