"""Import and export through the web pages: all or nothing, every problem listed, downloads."""

from __future__ import annotations

import csv
import io
import zipfile

from .conftest import csrf_of, log_in

HEADER = "prs_FirstName,prs_SecondName,prs_Gender,vic_TypeOfExploitation,cas_Status,con_Statistics,con_Linkage\n"
GOOD = HEADER + (
    "Ara,Choi,Feminine,ForcedLabour,Active,yes,yes\nBora,Han,Feminine,,Closed,no,no\nChul,Lim,Masculine,,,yes,no\n"
)
# spreadsheet rows: header is row 1, so the unknown gender sits in row 3 and the bad consent in row 4
BAD = HEADER + "Ara,Choi,Feminine,,,yes,no\nBora,Han,Femme,,,no,no\nChul,Lim,Masculine,,,perhaps,no\n"


def _upload(client, name: str, text: str):
    token = csrf_of(client.get("/import").text)
    files = {"file": (name, text.encode(), "text/csv")}
    return client.post("/import", data={"csrf_token": token}, files=files, follow_redirects=False)


def test_a_bad_file_is_refused_whole_listing_every_problem(client, world):
    log_in(client, "worker_a")
    before = world.store.list_cases(world.users["worker_a"]).total
    refused = _upload(client, "cases.csv", BAD)
    assert refused.status_code == 422
    table = refused.text.split('id="import-problems"')[1]
    assert '<td>3</td><td class="mono">prs_Gender</td>' in table
    assert '<td>4</td><td class="mono">con_Statistics</td>' in table
    assert world.store.list_cases(world.users["worker_a"]).total == before


def test_a_good_file_adds_every_row(client, world):
    log_in(client, "worker_a")
    before = world.store.list_cases(world.users["worker_a"]).total
    done = _upload(client, "cases.csv", GOOD)
    assert (done.status_code, done.headers["location"]) == (303, "/cases")
    assert world.store.list_cases(world.users["worker_a"]).total == before + 3
    assert "3 cases imported." in client.get("/cases").text


def test_only_csv_and_xlsx_are_taken(client):
    log_in(client, "worker_a")
    page = _upload(client, "cases.txt", GOOD)
    assert page.status_code == 422 and 'id="error-field">file<' in page.text


def test_ctdc_export_holds_the_statistics_consented_cases_only(client, world):
    log_in(client, "analyst_a")
    token = csrf_of(client.get("/export").text)
    download = client.post("/export/ctdc", data={"csrf_token": token})
    assert download.status_code == 200
    assert 'filename="darkfigure-ctdc.csv"' in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    consented = world.store.list_cases(world.users["admin_a"], filters={"consent": "statistics"}).total
    assert len(rows) == consented >= 1
    assert "Mina" not in download.text


def test_list_export_is_a_zip_with_its_mapping(client):
    log_in(client, "admin_a")
    token = csrf_of(client.get("/export").text)
    download = client.post("/export/list", data={"csrf_token": token})
    assert download.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert "list.csv" in names and "mapping.toml" in names
