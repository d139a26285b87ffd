"""Review findings about the import (web review 2026-11-29, items 3, 4 and 9): an empty registration date gets
the intake form's default; a broken CSV (unclosed quote, a row with more or fewer cells than the header) is
refused whole, naming the row, with nothing saved."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from darkfigure.casestore import CaseInput, ImportRejected
from darkfigure.casestore.models import TABLES
from darkfigure.cli import app as cli_app
from darkfigure.web import WebConfig, create_app

EMPTY_DATE = "prs_FirstName,prs_Gender,cas_RegistrationDate,con_Statistics\nAna,Feminine,,yes\nBo,Masculine,,yes\n"
# each a broken file and the spreadsheet row (header = row 1) that the refusal must name
BROKEN = {
    "unclosed quote": ('prs_FirstName,prs_Gender\n"Ana,Feminine\n', 2, "quote"),
    "unclosed quote after good rows": (
        'prs_FirstName,prs_Gender\nMi,Feminine\n"Ana,Feminine\nBo,Masculine\n',
        3,
        "quote",
    ),
    "text after a closing quote": ('prs_FirstName,prs_Gender\nMi,Feminine\n"Ana"x,Feminine\n', 3, "quote"),
    "more cells": (
        "prs_FirstName,prs_Gender\nMi,Feminine\nAna,Feminine,extra\n",
        3,
        "the row has 3 cells but the header has 2",
    ),
    "fewer cells": ("prs_FirstName,prs_Gender\nMi,Feminine\nAna\n", 3, "the row has 1 cells but the header has 2"),
    # a line break in an unquoted cell splits one case into two short rows
    "line break unquoted": (
        "prs_FirstName,prs_SecondName,prs_Gender\nAna\nMaria,Song,Feminine\n",
        2,
        "the row has 1 cells but the header has 3",
    ),
}


def _counts(store):
    with store.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in TABLES.items()}


def _today(store, actor):
    """The registration date the intake (create_case without one) gives."""
    return store.get_case(actor, store.create_case(actor, CaseInput({"prs_Gender": "Feminine"}))).fields[
        "cas_RegistrationDate"
    ]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_empty_registration_date_gets_the_intake_default(store, people, tmp_path, suffix):
    kim = people["kim"]
    today = _today(store, kim)
    assert today is not None
    path = tmp_path / f"cases.{suffix}"
    if suffix == "csv":
        path.write_text(EMPTY_DATE, encoding="utf-8")
    else:
        import openpyxl

        book = openpyxl.Workbook()
        for row in csv.reader(io.StringIO(EMPTY_DATE)):
            book.active.append([v or None for v in row])
        book.save(path)
    report = store.import_file(kim, path)
    for code in report.codes:
        assert store.get_case(kim, code).fields["cas_RegistrationDate"] == today
    out = tmp_path / "ctdc.csv"
    assert store.export_ctdc(kim, out) == 2  # the intake case above has no statistics consent
    with out.open(encoding="utf-8") as handle:
        assert [r["yearOfRegistration"] for r in csv.DictReader(handle)] == [str(today.year)] * 2
    assert store.counts(kim).by_year == {today.year: 2}


def test_a_given_registration_date_is_kept(store, people, tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("prs_FirstName,cas_RegistrationDate\nAna,2019-03-04\n", encoding="utf-8")
    code = store.import_file(people["kim"], path).codes[0]
    assert str(store.get_case(people["kim"], code).fields["cas_RegistrationDate"]) == "2019-03-04"


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_csv_is_refused_whole_naming_the_row(store, people, tmp_path, name):
    text, row, words = BROKEN[name]
    path = tmp_path / "broken.csv"
    path.write_text(text, encoding="utf-8")
    before = _counts(store)
    with pytest.raises(ImportRejected) as caught:
        store.import_file(people["kim"], path)
    assert [p.row for p in caught.value.problems] == [row]
    assert words in caught.value.message and f"row {row}" in caught.value.message
    assert "Ana" not in caught.value.message  # cell values are never repeated
    assert _counts(store) == before


def test_quoted_commas_and_line_breaks_still_import(store, people, tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text(
        'prs_FirstName,prs_SecondName,prs_Gender\r\n"Ana, Maria","Song\nLee",Feminine\r\n"Bo ""B""",,Masculine\r\n',
        encoding="utf-8",
    )
    codes = store.import_file(people["kim"], path).codes
    first, second = (store.get_case(people["kim"], c).fields for c in codes)
    assert (first["prs_FirstName"], first["prs_SecondName"]) == ("Ana, Maria", "Song\nLee")
    assert second["prs_FirstName"] == 'Bo "B"'


def test_command_line_import(tmp_path):
    runner = CliRunner()
    env = {"DARKFIGURE_ADMIN_PASSWORD": "a long admin password"}
    common = ["--db", str(tmp_path / "cases.db"), "--key", str(tmp_path / "case.key")]
    assert runner.invoke(cli_app, ["cases", "init", *common], env=env).exit_code == 0
    made = runner.invoke(cli_app, ["cases", "create-admin", "--org", "Shelter", "--username", "boss", *common], env=env)
    assert made.exit_code == 0, made.output
    broken = tmp_path / "broken.csv"
    broken.write_text(BROKEN["unclosed quote"][0], encoding="utf-8")
    result = runner.invoke(cli_app, ["cases", "import", str(broken), "--org", "Shelter", *common], env=env)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("darkfigure: error:") and "row 2" in lines[0]
    assert "quote" in lines[0] and "Traceback" not in result.output
    good = tmp_path / "good.csv"
    good.write_text(EMPTY_DATE, encoding="utf-8")
    result = runner.invoke(cli_app, ["cases", "import", str(good), "--org", "Shelter", *common], env=env)
    assert result.exit_code == 0 and "imported 2 cases" in result.stdout, result.output
    ctdc = tmp_path / "ctdc.csv"
    result = runner.invoke(
        cli_app, ["cases", "export", str(ctdc), "--org", "Shelter", "--format", "ctdc", *common], env=env
    )
    assert result.exit_code == 0, result.output
    with ctdc.open(encoding="utf-8") as handle:
        years = [r["yearOfRegistration"] for r in csv.DictReader(handle)]
    assert len(years) == 2 and "-99" not in years and all(re.fullmatch(r"20\d\d", y) for y in years)


PASSWORD = "kim password 12"


def _web_upload(store, text: str):
    web = create_app(store, WebConfig(session_secret="test-session-secret-" + "x" * 20))
    client = TestClient(web, raise_server_exceptions=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "kim", "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/import").text).group(1)
    files = {"file": ("cases.csv", text.encode(), "text/csv")}
    return client, client.post("/import", data={"csrf_token": token}, files=files, follow_redirects=False)


def test_web_refuses_an_unclosed_quote_and_dates_an_import(store, people):
    before = _counts(store)
    _, refused = _web_upload(store, BROKEN["unclosed quote"][0])
    assert refused.status_code == 422
    table = refused.text.split('id="import-problems"')[1]
    assert "<td>2</td>" in table and "quote" in table and "Ana" not in table
    assert _counts(store) == before
    _, many = _web_upload(store, BROKEN["more cells"][0])
    assert many.status_code == 422 and "the row has 3 cells but the header has 2" in many.text
    assert _counts(store) == before
    client, done = _web_upload(store, EMPTY_DATE)
    assert done.status_code == 303
    codes = [c.code for c in store.list_cases(people["kim"]).items]
    assert len(codes) == 2
    today = store.get_case(people["kim"], codes[0]).fields["cas_RegistrationDate"]
    assert today == _today(store, people["kim"])
    assert today.isoformat() in client.get(f"/cases/{codes[0]}").text
    assert f"<tr><td>{today.year}</td><td>2</td></tr>" in client.get("/dashboard").text


def test_a_failure_while_writing_leaves_nothing(store, people, tmp_path, monkeypatch):
    from darkfigure.casestore import transfer

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(transfer, "_insert_related", broken)  # after the cases rows of the batch are inserted
    path = tmp_path / "cases.csv"
    path.write_text(EMPTY_DATE, encoding="utf-8")
    before = _counts(store)
    with pytest.raises(OSError, match="disk full"):
        store.import_file(people["kim"], path)
    assert _counts(store) == before


def test_create_case_with_an_empty_registration_date_gets_today(store, people):
    # the store's default applies to an explicit None too, not only to a missing field
    kim = people["kim"]
    code = store.create_case(kim, CaseInput({"prs_Gender": "Feminine", "cas_RegistrationDate": None}))
    assert store.get_case(kim, code).fields["cas_RegistrationDate"] == _today(store, kim)


def test_an_import_checks_the_case_owner_as_the_intake_form_does(store, people, tmp_path):
    kim = people["kim"]
    before = _counts(store)
    path = tmp_path / "owners.csv"
    path.write_text("prs_FirstName,cas_CaseOwner\nAna,kim\nBo,nosuchuser\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as refused:
        store.import_file(kim, path)
    problem = refused.value.problems[0]
    assert problem.column == "cas_CaseOwner" and "'nosuchuser'" in problem.message
    assert _counts(store) == before  # nothing saved
    path.write_text("prs_FirstName,cas_CaseOwner\nAna,kim\n", encoding="utf-8")
    (code,) = store.import_file(kim, path).codes
    assert store.get_case(kim, code).fields["cas_CaseOwner"] == "kim"
