"""``darkfigure cases list``: the codes of an organisation's cases, one a line, never a name; a name
search through it goes in the audit log like any other."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from darkfigure.casestore import CaseInput, KeyRing, open_store
from darkfigure.cli import app

runner = CliRunner()


@pytest.fixture
def shelter(tmp_path):
    """A store with two organisations: Shelter has Ari Song (Active, registered 2023) and Bo Tran (Closed,
    registered 2024); Police has Cy Park."""
    db, key = str(tmp_path / "cases.db"), str(tmp_path / "cases.key")
    KeyRing.generate().write(key)
    store = open_store(db, key)
    store.create_organisation("Shelter")
    store.create_organisation("Police")
    me, police = store.system_actor("Shelter"), store.system_actor("Police")
    codes = {
        "ari": store.create_case(me, CaseInput({"prs_FirstName": "Ari", "prs_SecondName": "Song",
                                                "cas_Status": "Active", "cas_RegistrationDate": "2023-02-01"})),
        "bo": store.create_case(me, CaseInput({"prs_FirstName": "Bo", "prs_SecondName": "Tran",
                                               "cas_Status": "Closed", "cas_RegistrationDate": "2024-11-30"})),
        "cy": store.create_case(police, CaseInput({"prs_FirstName": "Cy", "prs_SecondName": "Park"})),
    }
    store.close()
    return db, key, codes


def _list(db, key, *args):
    return runner.invoke(app, ["cases", "list", "--db", db, "--key", key, *args])


def _name_searches(db, key):
    store = open_store(db, key)
    try:
        return sum(e.action == "search_name" for e in store.audit_log(store.system_actor("Shelter")))
    finally:
        store.close()


def test_every_case_of_the_organisation_one_a_line_without_names(shelter):
    db, key, codes = shelter
    result = _list(db, key, "--org", "Shelter")
    assert result.exit_code == 0, result.output
    today = dt.datetime.now(dt.UTC).date().isoformat()  # the cases were written just now (updated date, UTC)
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines == [[codes["bo"], "Closed", "2024", today], [codes["ari"], "Active", "2023", today]]  # newest first
    for name in ("Ari", "Song", "Bo", "Tran", "Cy", "Park"):
        assert name not in result.output
    assert codes["cy"] not in result.output  # another organisation's case


def test_a_name_search_finds_the_code_and_is_audited(shelter):
    db, key, codes = shelter
    before = _name_searches(db, key)
    found = _list(db, key, "--org", "Shelter", "--search", "song")
    assert found.exit_code == 0, found.output
    assert found.stdout.split("\t")[0] == codes["ari"] and len(found.stdout.splitlines()) == 1
    assert _name_searches(db, key) == before + 1  # one search_name entry, as the store writes for any search
    by_code = _list(db, key, "--org", "Shelter", "--search", codes["bo"][:4])
    assert by_code.stdout.split("\t")[0] == codes["bo"]
    elsewhere = _list(db, key, "--org", "Shelter", "--search", "Park")
    assert elsewhere.exit_code == 0 and elsewhere.stdout == "" and "no case matches" in elsewhere.stderr
    store = open_store(db, key)
    assert store.verify_audit().ok
    store.close()


def test_status_and_limit_narrow_the_list(shelter):
    db, key, codes = shelter
    closed = _list(db, key, "--org", "Shelter", "--status", "closed")  # the label or name, any case
    assert closed.exit_code == 0 and closed.stdout.split("\t")[0] == codes["bo"]
    assert len(closed.stdout.splitlines()) == 1
    one = _list(db, key, "--org", "Shelter", "--limit", "1")
    assert one.stdout.splitlines() == [f"{codes['bo']}\tClosed\t2024\t{one.stdout.split()[-1]}"]
    assert "1 of 2 cases shown" in one.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--org", "Nobody"), "no organisation 'Nobody'"),
        (("--org", "Shelter", "--status", "Sleeping"), "option --status"),
        (("--org", "Shelter", "--limit", "0"), "option --limit"),
    ],
)
def test_a_wrong_option_exits_2_with_one_line(shelter, args, message):
    db, key, _ = shelter
    result = _list(db, key, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
