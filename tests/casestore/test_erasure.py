"""Erasure of a whole case: every row of it gone in one transaction, the audit chain intact and holding
the erasure, the ciphertext gone from the SQLite file and its WAL, non-administrators refused, the CLI."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from darkfigure.casestore import (
    FAST_TEST_HASHER,
    CaseInput,
    CaseNotFound,
    EventInput,
    KeyRing,
    PerpetratorInput,
    SupportPlanInput,
    open_store,
)
from darkfigure.casestore.erasure import checkpoint, child_tables
from darkfigure.casestore.models import ENCRYPTED_COLUMNS, TABLES, cases
from darkfigure.cli import app
from darkfigure.errors import AccessDenied, InputError

CHILDREN = ("case_exploitation", "consents", "events", "name_tokens", "perpetrators", "support_plans")
REASON = "the person withdrew, asked for erasure"


def _case(first: str, second: str) -> CaseInput:
    """A case with a row in every child table: 2 name words, 2 types of exploitation, 3 consents,
    2 events, 1 perpetrator, 1 support plan."""
    return CaseInput(
        {
            "prs_FirstName": first,
            "prs_SecondName": second,
            "prs_Gender": "Feminine",
            "cas_Status": "Active",
            "vic_TypeOfExploitation": ["SexualExploitation", "ForcedLabour"],
        },
        {"case_work": True, "statistics": True, "linkage": False},
        [
            EventInput("Recruitment", "2019-03-04", "KR", city="Ansan-Wongok-Quillbrook"),
            EventInput("Exploitation", "2020-01-02", "JP", city="Osaka"),
        ],
        [PerpetratorInput("Grimwald", "Sneddick", ["SoldIndividual"])],
        [SupportPlanInput("SocialCare", objectives="a safe room")],
    )


def _rows(store, table: str, case_id: int | None = None) -> int:
    t = TABLES[table]
    where = [] if case_id is None else [(t.c.id if table == "cases" else t.c.case_id) == case_id]
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()


def _case_id(store, code: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(cases.c.id).where(cases.c.code == code)).scalar_one()


def _snapshot(store) -> dict[str, int]:
    return {name: _rows(store, name) for name in TABLES if name not in ("alembic_version",)}


def test_child_tables_are_every_table_with_a_key_to_cases():
    assert [t.name for t in child_tables()] == list(CHILDREN)


def test_erasure_removes_the_case_and_every_row_of_it(store, people):
    admin, kim = people["admin"], people["kim"]
    code = store.create_case(kim, _case("Zephyrine", "Okonkwo"))
    store.record_consent(kim, code, "referral", True)  # a 4th consent row
    other = store.create_case(kim, _case("Ari", "Song"))
    police = store.create_case(people["lee"], _case("Bo", "Tran"))
    case_id = _case_id(store, code)
    tokens = 3  # by hand: 2 name words and their pair (listing.index_tokens)
    assert _rows(store, "name_tokens", case_id) == tokens
    before = _snapshot(store)
    report = store.erase_case(admin, code.lower(), REASON)
    # counted by hand from _case: 2 exploitation types, 3 + 1 consents, 2 events, 1 perpetrator, 1 plan
    assert report.rows == {
        "case_exploitation": 2,
        "consents": 4,
        "events": 2,
        "name_tokens": tokens,
        "perpetrators": 1,
        "support_plans": 1,
        "cases": 1,
    }
    assert report.code == code and report.deleted == 11 + tokens
    after = _snapshot(store)
    for name in (*CHILDREN, "cases"):
        assert _rows(store, name, case_id) == 0
        assert after[name] == before[name] - report.rows[name]
    assert after["audit_log"] == before["audit_log"] + 1
    with pytest.raises(CaseNotFound):
        store.get_case(admin, code)
    assert [c.code for c in store.list_cases(admin).items] == [other]
    assert store.list_cases(people["lee"]).total == 1 and store.get_case(people["lee"], police).code == police
    assert store.counts(admin).total == 1 and store.counts(admin).events == 2
    entry = store.audit_log(admin, limit=1)[0]
    assert (entry.action, entry.actor, entry.case_code) == ("erase_case", "admin", code)
    assert entry.fields == ("reason:the person withdrew; asked for erasure",)
    assert store.verify_audit().ok
    assert store.list_cases(admin, search="zephyrine").total == 0


def test_non_administrators_and_other_organisations_are_refused(store, people):
    code = store.create_case(people["kim"], _case("Zephyrine", "Okonkwo"))
    police_admin = store.create_user("Police", "pat", "pat password 12", "administrator")
    before = _snapshot(store)
    for who in (people["kim"], people["ana"], people["lee"], police_admin):
        with pytest.raises(AccessDenied):
            store.erase_case(who, code, REASON)
    with pytest.raises(CaseNotFound):
        store.erase_case(people["admin"], "ZZZZ-ZZZZ", REASON)
    assert _snapshot(store) == before
    assert store.get_case(people["kim"], code).fields["prs_FirstName"] == "Zephyrine"


@pytest.mark.parametrize(
    "reason", ["", "   ", None, "x" * 301, "Zephyrine asked for it", "request of OKONKWO", "미나 요청"]
)
def test_a_reason_is_needed_and_must_not_name_the_person(store, people, reason):
    code = store.create_case(
        people["kim"], _case("Zephyrine", "Okonkwo") if reason != "미나 요청" else _case("미나", "Pyun")
    )
    before = _snapshot(store)
    with pytest.raises(InputError) as err:
        store.erase_case(people["admin"], code, reason)
    assert err.value.column == "reason" and "Zephyrine" not in str(err.value) and "미나" not in str(err.value)
    assert _snapshot(store) == before


def _ciphertexts(store, code: str) -> list[bytes]:
    """Every stored ciphertext of the case: its identifying fields, its events', perpetrators' and
    support plans' (here 9: two names, two events' dates and cities, two perpetrator names, one plan)."""
    case_id = _case_id(store, code)
    found = []
    with store.engine.connect() as conn:
        for name, columns in ENCRYPTED_COLUMNS.items():
            table = TABLES[name]
            key = table.c.id if name == "cases" else table.c.case_id
            for row in conn.execute(select(*(table.c[c] for c in columns)).where(key == case_id)):
                found += [blob for blob in row if blob is not None]
    return found


def _file_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.name in ("cases.db", "cases.db-wal"))


def _sqlite_store(folder):
    store = open_store(folder / "cases.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    org = store.create_organisation("Shelter")
    admin = store.create_user(org, "admin", "admin password 1", "administrator")
    return store, admin


def test_sqlite_file_and_wal_lose_the_erased_ciphertext(tmp_path):
    store, admin = _sqlite_store(tmp_path)
    code = store.create_case(admin, _case("Zephyrine", "Okonkwo"))
    kept = store.create_case(admin, _case("Ari", "Song"))
    secrets, others = _ciphertexts(store, code), _ciphertexts(store, kept)
    assert len(secrets) == 9 and all(len(s) > 28 for s in secrets)  # key id + nonce + ciphertext + tag
    assert checkpoint(store.engine) is True
    haystack = _file_bytes(tmp_path)
    assert all(s in haystack for s in secrets + others)  # the search finds them before
    store.create_case(admin, _case("Filler", "Case"))  # WAL frames after the checkpoint too
    assert store.erase_case(admin, code, REASON).wal_cleared is True
    assert (tmp_path / "cases.db-wal").stat().st_size == 0
    haystack = _file_bytes(tmp_path)
    assert not any(s in haystack for s in secrets)
    assert all(s in haystack for s in others)
    store.close()
    assert not any(s in _file_bytes(tmp_path) for s in secrets)


def test_without_the_checkpoint_a_secure_delete_leaves_the_old_page_in_wal_mode(tmp_path):
    """Why the erasure checkpoints: SQLite's secure_delete zeroes the new page in the WAL, but the
    database file keeps the old page until a checkpoint copies the new one over it."""
    store, admin = _sqlite_store(tmp_path)
    code = store.create_case(admin, _case("Zephyrine", "Okonkwo"))
    secret = _ciphertexts(store, code)[0]
    store.close()
    raw = sqlite3.connect(tmp_path / "cases.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.execute("PRAGMA secure_delete=ON")
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("DELETE FROM cases WHERE code = ?", (code,))
    assert secret in (tmp_path / "cases.db").read_bytes()  # deleted, zeroed in the WAL, still in the file
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert secret not in _file_bytes(tmp_path)
    raw.close()


def test_a_reader_on_an_old_snapshot_delays_the_wal_clearing(tmp_path, monkeypatch):
    monkeypatch.setattr("darkfigure.casestore.storage.BUSY_SECONDS", 0.2)  # the checkpoint waits 0.2 s
    store, admin = _sqlite_store(tmp_path)
    code = store.create_case(admin, _case("Zephyrine", "Okonkwo"))
    secrets = _ciphertexts(store, code)
    reader = sqlite3.connect(tmp_path / "cases.db", isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM cases").fetchone() == (1,)
    report = store.erase_case(admin, code, REASON)
    assert report.wal_cleared is False and report.rows["cases"] == 1
    assert any(s in _file_bytes(tmp_path) for s in secrets)  # the old frames are still in the WAL
    reader.execute("COMMIT")
    reader.close()
    assert checkpoint(store.engine) is True
    assert not any(s in _file_bytes(tmp_path) for s in secrets)
    store.close()


# -- the command line -------------------------------------------------------------------------------------
runner = CliRunner()


def _cli_store(folder):
    key = folder / "case.key"
    KeyRing.generate().write(key)
    store = open_store(folder / "cases.db", key, password_hasher=FAST_TEST_HASHER)
    boss = store.create_user(store.create_organisation("Shelter"), "boss", "boss password 1", "administrator")
    store.create_user("Shelter", "kim", "kim password 12", "caseworker")
    police = store.create_user(store.create_organisation("Police"), "lee", "lee password 12", "caseworker")
    codes = [
        store.create_case(boss, _case("Zephyrine", "Okonkwo")),
        store.create_case(boss, _case("Ari", "Song")),
        store.create_case(police, _case("Bo", "Tran")),
    ]
    store.close()
    return ["--db", str(folder / "cases.db"), "--key", str(key)], codes


def _erase(*args):
    return runner.invoke(app, ["cases", "erase", *args])


def test_cli_erases_with_yes_and_says_why_it_does_not(tmp_path):
    common, (code, other, police) = _cli_store(tmp_path)
    base = ["--org", "Shelter", "--reason", REASON, *common]
    refusals = {
        "no --yes": _erase(code, *base),
        "missing": _erase("ZZZZ-ZZZZ", *base, "--yes"),
        "caseworker": _erase(code, *base, "--user", "kim", "--yes"),
        "unknown user": _erase(code, *base, "--user", "nobody", "--yes"),
        "other organisation": _erase(police, *base, "--yes"),
        "name in reason": _erase(code, "--org", "Shelter", "--reason", "Zephyrine left", *common, "--yes"),
    }
    for what, result in refusals.items():
        assert result.exit_code == 2, (what, result.output)
        assert len(result.stderr.strip().splitlines()) == 1, (what, result.stderr)
    assert "--yes" in refusals["no --yes"].stderr and "cannot be undone" in refusals["no --yes"].stderr
    assert "Zephyrine" not in refusals["name in reason"].stderr
    result = _erase(code, *base, "--user", "boss", "--yes")
    assert result.exit_code == 0 and f"case {code} erased (" in result.stdout, result.output
    assert _erase(code, *base, "--yes").exit_code == 2  # gone
    result = runner.invoke(app, ["cases", "audit-verify", *common])
    assert result.exit_code == 0 and "audit log intact" in result.stdout
    store = open_store(common[1], common[3])
    boss = store.users(store.system_actor("Shelter"))[0]
    assert [c.code for c in store.list_cases(boss).items] == [other]
    entry = store.audit_log(boss, limit=1)[0]
    assert (entry.action, entry.actor, entry.case_code) == ("erase_case", "boss", code)
    store.close()
