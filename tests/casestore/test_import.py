"""Import: CSV and XLSX in HTCDS columns, all or nothing, every problem listed; fuzzed for clean errors."""

from __future__ import annotations

import csv

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError
from sqlalchemy import func, select

from darkfigure.casestore import FAST_TEST_HASHER, IMPORT_COLUMNS, ImportRejected, KeyRing, open_store
from darkfigure.casestore.models import TABLES
from darkfigure.errors import InputError

HEADER = [
    "prs_FirstName",
    "prs_SecondName",
    "prs_Birthdate",
    "prs_Gender",
    "prs_Citizenship",
    "vic_TypeOfExploitation",
    "cas_RegistrationDate",
    "con_Statistics",
    "con_Linkage",
    "hte_Type",
    "hte_Country",
]
GOOD = [
    ["Ari", "Song", "1999-01-02", "Feminine", "KR", "ForcedLabour", "2021-05-01", "yes", "no", "Exploitation", "KR"],
    [
        "Bo",
        "Tran",
        "2004-07-30",
        "Masculine",
        "VN;KH",
        "Forced labour;Sexual exploitation",
        "2022-01-10",
        "1",
        "1",
        "",
        "",
    ],
    ["", "", "", "", "", "", "", "", "", "", ""],  # blank rows are skipped
]


def _write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def _write_xlsx(path, rows, header=HEADER):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(row)
    book.save(path)
    return path


def _counts(store):
    with store.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in TABLES.items()}


@pytest.mark.parametrize("writer", [_write_csv, _write_xlsx])
def test_import_good_file(store, people, tmp_path, writer):
    path = writer(tmp_path / f"cases.{'csv' if writer is _write_csv else 'xlsx'}", GOOD)
    report = store.import_file(people["kim"], path)
    assert report.rows == 2 and len(report.codes) == 2
    second = store.get_case(people["kim"], report.codes[1])
    assert second.fields["prs_Citizenship"] == ("VN", "KH")
    assert second.fields["vic_TypeOfExploitation"] == ("ForcedLabour", "SexualExploitation")
    assert second.consents["linkage"] is True
    first = store.get_case(people["kim"], report.codes[0])
    assert first.events[0].type == "Exploitation" and first.events[0].country == "KR"


def test_every_bad_row_and_column_is_reported_and_nothing_written(store, people, tmp_path):
    bad = [
        GOOD[0],
        ["Cy", "Lim", "1999-02-30", "Femme", "KR", "ForcedLabour", "2021-05-01", "maybe", "no", "", ""],
        ["Di", "Ko", "1990-01-01", "Feminine", "Korea", "ForcedLabour", "2021-05-01", "yes", "no", "Holiday", ""],
    ]
    before = _counts(store)
    with pytest.raises(ImportRejected) as err:
        store.import_file(people["kim"], _write_csv(tmp_path / "bad.csv", bad))
    where = {(p.row, p.column) for p in err.value.problems}
    assert where == {
        (3, "prs_Birthdate"),
        (3, "prs_Gender"),
        (3, "con_Statistics"),
        (4, "prs_Citizenship"),
        (4, "hte_Type"),
    }
    assert _counts(store) == before


def test_unknown_and_duplicate_columns(store, people, tmp_path):
    path = _write_csv(tmp_path / "h.csv", [["a", "b", "c"]], header=["prs_FirstName", "prs_FirstName", "surname"])
    with pytest.raises(ImportRejected) as err:
        store.import_file(people["kim"], path)
    # a header cell that does not look like a column name is named by position, not repeated
    assert {(p.row, p.column) for p in err.value.problems} == {(1, "prs_FirstName"), (1, "#3")}


def test_import_column_list_is_htcds():
    assert "prs_FirstName" in IMPORT_COLUMNS and "hte_City" in IMPORT_COLUMNS and "con_Linkage" in IMPORT_COLUMNS


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    store = open_store(folder / "cases.db", KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    actor = store.create_user(store.create_organisation("S"), "kim", "kim password 12", "caseworker")
    yield store, actor, folder
    store.close()


_cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["yes", "1999-01-02", "Feminine", "KR", "ForcedLabour", "", "Exploitation", "2021-13-01", "1e309", "NaN", "-5"]
    ),
)
_columns = st.lists(
    st.sampled_from([*HEADER, "cas_Status", "vic_AgeWhenTrafficked", "prs_MailingLatitude", "hte_Date", "junk", ""]),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_columns, rows=st.lists(st.lists(_cell, max_size=7), max_size=4))
def test_fuzz_csv_import_gives_only_clean_errors(fuzz_store, header, rows):
    store, actor, folder = fuzz_store
    before = _counts(store)
    path = _write_csv(folder / "f.csv", rows, header)
    try:
        store.import_file(actor, path)
    except InputError:
        assert _counts(store) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_fuzz_raw_bytes_give_only_clean_errors(fuzz_store, data):
    store, actor, folder = fuzz_store
    before = _counts(store)
    for name in ("b.csv", "b.xlsx"):
        (folder / name).write_bytes(data)
        try:
            store.import_file(actor, folder / name)
        except InputError:
            assert _counts(store) == before


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=_columns,
    rows=st.lists(
        st.lists(st.one_of(_cell, st.integers(-10, 10**12), st.floats(), st.booleans(), st.dates()), max_size=6),
        max_size=3,
    ),
)
def test_fuzz_xlsx_import_gives_only_clean_errors(fuzz_store, header, rows):
    store, actor, folder = fuzz_store
    before = _counts(store)
    rows = [[c for c in r] for r in rows]
    try:
        path = _write_xlsx(folder / "f.xlsx", rows, header)
    except (ValueError, TypeError, IllegalCharacterError):  # openpyxl refuses some cells itself
        return
    try:
        store.import_file(actor, path)
    except InputError:
        assert _counts(store) == before


def test_corrupt_xlsx_is_a_clean_error(store, people, tmp_path):
    path = _write_xlsx(tmp_path / "c.xlsx", GOOD)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 50] = b"\x00" * 50
    path.write_bytes(bytes(data))
    with pytest.raises(InputError):
        store.import_file(people["kim"], path)
