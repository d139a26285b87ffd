"""Erasure of a whole case: every row of it gone in one transaction, the audit chain intact and holding
the erasure, the ciphertext gone from the SQLite file and its WAL, non-administrators refused, the CLI."""

from __future__ import annotations

import sqlite3
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, delete, func, insert, select
from typer.testing import CliRunner

from darkfigure.casestore import (
    FAST_TEST_HASHER,
    CaseInput,
    CaseNotFound,
    EventInput,
    KeyRing,
    PerpetratorInput,
    SupportPlanInput,
    erasure,
    open_store,
)
from darkfigure.casestore.erasure import checkpoint, child_tables, finish_checkpoint, reason_probes
from darkfigure.casestore.models import ENCRYPTED_COLUMNS, TABLES, cases
from darkfigure.casestore.storage import BUSY_SECONDS, make_engine
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


ZEPHYRINE = ("Zephyrine", "Okonkwo")
MINA = ("미나", "김")  # given name, family name: the index holds 미나, 미, 나, 김 and their pairs
THAI = ("ประยุทธ์", "Chan-ocha")


@pytest.mark.parametrize(
    ("names", "reason"),
    [
        (ZEPHYRINE, ""),
        (ZEPHYRINE, "   "),
        (ZEPHYRINE, None),
        (ZEPHYRINE, "x" * 301),
        (ZEPHYRINE, "Zephyrine asked for it"),
        (ZEPHYRINE, "request of OKONKWO"),
        (ZEPHYRINE, "Zephyrine's request"),
        (MINA, "미나 요청"),
        (MINA, "김미나 본인 요청"),  # the full name as one word, as Korean writes it
        (MINA, "김 미나 본인 요청"),
        (MINA, "미나가 삭제를 요청함"),  # a particle after the given name
        (MINA, "김미나씨의 요청"),
        (THAI, "ประยุทธ์ ขอลบข้อมูล"),  # the vowel marks are no separators
        (THAI, "คุณ ประยุทธ์"),
    ],
)
def test_a_reason_is_needed_and_must_not_name_the_person(store, people, names, reason):
    code = store.create_case(people["kim"], _case(*names))
    before = _snapshot(store)
    with pytest.raises(InputError) as err:
        store.erase_case(people["admin"], code, reason)
    assert err.value.column == "reason" and not any(n in str(err.value) for n in names)
    if reason and reason.strip() and len(reason) <= 300:
        assert "consent withdrawn" in str(err.value)  # says what to write instead
    assert _snapshot(store) == before  # nothing written: no audit entry, the case still there
    assert store.get_case(people["admin"], code).fields["prs_FirstName"] == names[0]


@pytest.mark.parametrize(
    "reason",
    [
        "call back on 010-1234-5678",
        "phone +82 10 123 456",  # 7 or more digits in groups
        "ID 900101",
        "registered in 2024",  # a run of 4 digits is refused, whatever it is
        "asked by ops@shelter.example",
        "asked by ops＠shelter.example",  # a full-width at sign (NFKC)
        "withdrew\x00asked for erasure",  # NUL: a PostgreSQL text column refuses it (DataError)
        "withdrew\x07",
        "withdrew\x1bE",
        "withdrew\x1fasked",
        "withdrew\x85asked",
    ],
)
def test_a_reason_with_a_number_an_address_or_a_control_character_is_refused(store, people, reason):
    code = store.create_case(people["kim"], _case(*ZEPHYRINE))
    before = _snapshot(store)
    with pytest.raises(InputError) as err:
        store.erase_case(people["admin"], code, reason)
    assert err.value.column == "reason" and "010" not in str(err.value) and "ops" not in str(err.value)
    assert _snapshot(store) == before
    assert store.get_case(people["admin"], code).code == code


@pytest.mark.parametrize(
    ("names", "reason", "kept"),
    [
        (MINA, "본인 요청으로 삭제", "본인 요청으로 삭제"),
        (MINA, "중복 등록, 입력 오류", "중복 등록; 입력 오류"),
        (("Somchai", "Jaidee"), "ขอลบข้อมูล ตามคำขอ", "ขอลบข้อมูล ตามคำขอ"),  # Thai, another person's case
        (THAI, "consent withdrawn\r\nduplicate of 2 cases\t(see policy 7)", "consent withdrawn duplicate of 2 "
         "cases (see policy 7)"),
    ],
)
def test_an_ordinary_reason_is_kept_as_written(store, people, names, reason, kept):
    code = store.create_case(people["kim"], _case(*names))
    assert store.erase_case(people["admin"], code, reason).rows["cases"] == 1
    assert store.audit_log(people["admin"], limit=1)[0].fields == (f"reason:{kept}",)
    assert store.verify_audit().ok


def test_the_probes_of_a_reason_follow_the_name_index():
    # worked by hand from crypto.name_tokens and listing.index_tokens (pairs joined by \x1f, sorted)
    assert reason_probes("김미나 본인") == {
        "김미나", "김\x1f미나", "미나", "김미",  # the word, family + given, given, a 2-syllable prefix
        "본인", "본\x1f인",  # a 2-syllable word: its pair, but never 본 or 인 alone
    }
    assert reason_probes("ประยุทธ์") == {"ประยทธ"}  # the marks dropped as the index drops them


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


def _old_reader(folder):
    """A reader holding a snapshot from before the erasure: no checkpoint can reset the WAL under it."""
    reader = sqlite3.connect(folder / "cases.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM cases").fetchone()
    return reader


def test_a_reader_on_an_old_snapshot_delays_the_wal_clearing(tmp_path, monkeypatch):
    monkeypatch.setattr("darkfigure.casestore.erasure.CHECKPOINT_SECONDS", 0.2)  # the checkpoint waits 0.2 s
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


def test_the_next_erasure_finishes_a_checkpoint_a_reader_held_up(tmp_path, monkeypatch):
    monkeypatch.setattr("darkfigure.casestore.erasure.CHECKPOINT_SECONDS", 0.2)
    store, admin = _sqlite_store(tmp_path)
    first, second = (store.create_case(admin, _case(*names)) for names in (ZEPHYRINE, ("Ari", "Song")))
    secrets = _ciphertexts(store, first)
    reader = _old_reader(tmp_path)
    assert store.erase_case(admin, first, REASON).wal_cleared is False and store._wal_dirty is True
    reader.execute("COMMIT")
    reader.close()
    assert any(s in _file_bytes(tmp_path) for s in secrets)
    assert store.erase_case(admin, second, REASON).wal_cleared is True and store._wal_dirty is False
    assert (tmp_path / "cases.db-wal").stat().st_size == 0
    assert not any(s in _file_bytes(tmp_path) for s in secrets)
    store.close()


def test_closing_the_store_finishes_a_checkpoint_a_reader_held_up(tmp_path, monkeypatch):
    monkeypatch.setattr("darkfigure.casestore.erasure.CHECKPOINT_SECONDS", 0.2)
    store, admin = _sqlite_store(tmp_path)
    code = store.create_case(admin, _case(*ZEPHYRINE))
    secrets = _ciphertexts(store, code)
    reader = _old_reader(tmp_path)
    assert store.erase_case(admin, code, REASON).wal_cleared is False
    finish_checkpoint(store)  # the reader still reads: it fails again, quietly, and the flag stays
    assert store._wal_dirty is True and any(s in _file_bytes(tmp_path) for s in secrets)
    reader.execute("COMMIT")
    with store.engine.connect():  # a connection of the store stays open: only the retry can clear the WAL
        finish_checkpoint(store)
        assert store._wal_dirty is False and (tmp_path / "cases.db-wal").stat().st_size == 0
        assert not any(s in _file_bytes(tmp_path) for s in secrets)
    reader.close()
    store.close()


def test_close_retries_the_checkpoint_and_a_reader_still_there_is_no_error(tmp_path, monkeypatch):
    monkeypatch.setattr("darkfigure.casestore.erasure.CHECKPOINT_SECONDS", 0.2)
    store, admin = _sqlite_store(tmp_path)
    code = store.create_case(admin, _case(*ZEPHYRINE))
    secrets = _ciphertexts(store, code)
    reader = _old_reader(tmp_path)
    store.erase_case(admin, code, REASON)
    store.close()  # the retry fails (the reader): no error, the flag stays
    assert store._wal_dirty is True
    reader.execute("COMMIT")
    reader.close()  # the last connection: SQLite checkpoints and removes the WAL
    assert not any(s in _file_bytes(tmp_path) for s in secrets)
    again = open_store(tmp_path / "cases.db", store.ring, password_hasher=FAST_TEST_HASHER)
    assert again.list_cases(admin).total == 0
    again.close()
    assert again._wal_dirty is False


def test_the_checkpoint_waits_briefly_and_gives_back_the_busy_timeout(tmp_path):
    store, _ = _sqlite_store(tmp_path)
    store.close()
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    assert checkpoint(engine, 0.05) is True
    raw = engine.raw_connection()  # the pool's one connection, the checkpoint's
    assert raw.cursor().execute("PRAGMA busy_timeout").fetchone() == (BUSY_SECONDS * 1000,)
    raw.close()
    engine.dispose()


def test_a_child_table_is_emptied_by_its_own_key_column(store, people, monkeypatch):
    """A table added later whose key to ``cases`` is not called ``case_id``."""
    extra = Table(
        "case_notes_test", MetaData(), Column("id", Integer, primary_key=True),
        Column("about_case", Integer, ForeignKey(cases.c.id), nullable=False),
    )
    extra.create(store.engine)
    tables = SimpleNamespace(sorted_tables=[*erasure.metadata.sorted_tables, extra])
    monkeypatch.setattr(erasure, "metadata", tables)
    assert [t.name for t in child_tables()] == sorted([*CHILDREN, "case_notes_test"])
    code, kept = (store.create_case(people["kim"], _case(*names)) for names in (ZEPHYRINE, ("Ari", "Song")))
    ids = [_case_id(store, c) for c in (code, code, kept)]
    with store.engine.begin() as conn:
        conn.execute(insert(extra), [{"about_case": i} for i in ids])
    report = store.erase_case(people["admin"], code, REASON)
    assert report.rows["case_notes_test"] == 2 and report.rows["cases"] == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(extra.c.about_case)).scalars().all() == [ids[2]]
    extra.drop(store.engine)


# -- a child added while the case is erased -------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "item"),
    [
        ("add_event", EventInput("Transit", "2020-01-01", "CN")),
        ("add_perpetrator", PerpetratorInput("Grimwald", None, ["SoldIndividual"])),
        ("add_support_plan", SupportPlanInput("SocialCare")),
    ],
)
def test_a_child_added_to_a_case_erased_meanwhile_is_case_not_found(
    store, people, monkeypatch, erase_on_next_read, method, item
):
    code = store.create_case(people["kim"], _case(*ZEPHYRINE))
    before = _snapshot(store)
    erase_on_next_read(store)  # tests/conftest.py
    with pytest.raises(CaseNotFound):
        getattr(store, method)(people["kim"], code, item)
    monkeypatch.undo()
    assert _snapshot(store) == before  # rolled back: nothing added, nothing audited


@pytest.mark.postgres
@pytest.mark.parametrize(
    "change",
    [
        lambda store, actor, code: store.add_event(actor, code, EventInput("Transit", "2020-01-01", "CN")),
        lambda store, actor, code: store.record_consent(actor, code, "statistics", False),
        lambda store, actor, code: store.update_case(actor, code, CaseInput({"cas_Status": "Closed"})),
    ],
    ids=["add_event", "record_consent", "update_case"],
)
def test_on_postgres_a_change_racing_an_erasure_is_case_not_found(backend, ring, change):
    """Two real transactions: the erasure holds the case (deleted, not yet committed) while a change is
    made; the change waits for it, then finds the case gone."""
    if not backend.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite writers take turns")
    store = open_store(backend, ring, password_hasher=FAST_TEST_HASHER)
    org = store.create_organisation("Shelter")
    admin = store.create_user(org, "admin", "admin password 1", "administrator")
    code = store.create_case(admin, _case(*ZEPHYRINE))
    outcome = []
    with store.engine.connect() as eraser:
        eraser.begin()
        eraser.execute(delete(cases).where(cases.c.code == code))

        def add():
            try:
                outcome.append(change(store, admin, code))
            except Exception as err:  # noqa: BLE001 - the test reports what it got
                outcome.append(err)

        worker = threading.Thread(target=add)
        worker.start()
        worker.join(0.5)  # it waits for the eraser's row lock (or has already found the case gone)
        eraser.commit()
    worker.join(10)
    store.close()
    assert len(outcome) == 1 and isinstance(outcome[0], CaseNotFound), outcome


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
