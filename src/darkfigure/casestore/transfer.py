"""Importing cases from CSV or XLSX in HTCDS columns: every row checked first, then one transaction.

Columns are HTCDS field names (:data:`IMPORT_COLUMNS`); consent per purpose in ``con_CaseWork``,
``con_Referral``, ``con_Statistics``, ``con_Linkage`` (``con_Consent``, HTCDS's single consent box, is
taken as consent for case work); and optionally one historic trafficking event per row in ``hte_``
columns. Any problem anywhere rejects the whole file with a list of every bad row and column.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from darkfigure.casestore import audit, records
from darkfigure.casestore.fields import FIELDS, OUTGOING_REFERRAL, parse_bool
from darkfigure.casestore.listing import exploitation_rows, touch_cases
from darkfigure.casestore.models import case_exploitation, cases, consents, events, name_tokens
from darkfigure.casestore.types import CaseInput, EventInput, ImportRejected, Problem
from darkfigure.errors import InputError

CONSENT_COLUMNS = {
    "con_CaseWork": "case_work",
    "con_Referral": "referral",
    "con_Statistics": "statistics",
    "con_Linkage": "linkage",
    "con_Consent": "case_work",
}
EVENT_COLUMNS = {
    "hte_Type": "type",
    "hte_Date": "date",
    "hte_Country": "country",
    "hte_State": "state",
    "hte_City": "city",
    "hte_Street": "street",
    "hte_PostalCode": "postal_code",
    "hte_Latitude": "latitude",
    "hte_Longitude": "longitude",
    "hte_Description": "description",
}
IMPORT_COLUMNS = (*FIELDS, *CONSENT_COLUMNS, *EVENT_COLUMNS)
MAX_BYTES = 200 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 2 * len(IMPORT_COLUMNS)  # an XLSX row is read this far at most
MAX_UNPACKED = 1024 * 1024 * 1024


def template_text() -> str:
    """The import template: one header line naming every column the import accepts.

    >>> template_text().startswith("prs_")
    True
    """
    return ",".join(IMPORT_COLUMNS) + "\n"


def write_template(path: str | Path, force: bool = False) -> None:
    """Write :func:`template_text` to ``path`` (an existing file only with ``force``)."""
    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"{path} exists already; give --force to replace it, or another file name")
    try:
        path.write_text(template_text(), encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot write the template ({err.strerror or err}); check the folder") from None


def read_cases(path: str | Path, format: str | None = None) -> list[CaseInput]:
    """Every row of the file as a :class:`CaseInput`, or :class:`ImportRejected` listing all problems.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = p.write_text("prs_FirstName,prs_Gender,con_Statistics\\nMina,Feminine,yes\\n")
    >>> read_cases(p)[0].consents
    {'statistics': True}
    """
    path = Path(path)
    format = (format or path.suffix.lstrip(".")).lower()
    if format not in ("csv", "xlsx"):
        raise InputError(f"expected a .csv or .xlsx file, got {format!r}; give --format csv or xlsx", source=str(path))
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"the file is over {MAX_BYTES // 2**20} MB; split it", source=str(path))
        header, rows = _read_csv(path) if format == "csv" else _read_xlsx(path)
    except OSError as err:
        raise InputError(f"cannot read the file ({err.strerror or err}); check the path", source=str(path)) from None
    problems = _check_header(header)
    inputs = []
    for number, raw in enumerate(rows, start=2):
        if number - 1 > MAX_ROWS:
            raise ImportRejected(
                [Problem(number, None, f"more than {MAX_ROWS} rows; split the file")], source=str(path)
            )
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
            continue
        if len(raw) > len(header) or (format == "csv" and len(raw) < len(header)):
            problems.append(Problem(number, None, _cell_count_message(len(raw), len(header))))
            continue
        case, row_problems = _row_case(dict(zip(header, raw, strict=False)), number)
        problems += row_problems
        inputs.append(case)
    if problems:
        raise ImportRejected(problems, source=str(path))
    if not inputs:
        raise InputError(
            "the file holds no cases; expected a header row of HTCDS columns and data rows", source=str(path)
        )
    return inputs


def _cell_count_message(cells: int, columns: int) -> str:
    """Why a row whose cell count differs from the header's is refused, and how to fix it.

    >>> _cell_count_message(3, 2)
    'the row has 3 cells but the header has 2; put quotes around cells that hold a comma, or name every column'
    """
    fix = (
        "put quotes around cells that hold a comma, or name every column"
        if cells > columns
        else "put quotes around cells that hold a line break, and give every row all the header's columns"
    )
    return f"the row has {cells} cells but the header has {columns}; {fix}"


def _read_csv(path: Path) -> tuple[list[str], Iterator[list[Any]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            f"the file is not UTF-8 text (byte {err.start}); save it as CSV UTF-8", source=str(path)
        ) from None
    if "\x00" in text:
        raise InputError("the file holds NUL characters; is it really a CSV file?", source=str(path))
    table: list[list[str]] = []
    try:  # strict: a quote never closed, or text after a closing quote, is an error, not a cell
        table.extend(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as err:
        # the row being read when it failed, numbered as a spreadsheet shows it (header = row 1)
        raise ImportRejected([Problem(len(table) + 1, None, _csv_error_message(err))], source=str(path)) from None
    if not table:
        raise InputError("the file is empty; expected a header row of HTCDS columns", source=str(path))
    return [h.strip() for h in table[0]], iter(table[1:])


def _csv_error_message(err: csv.Error) -> str:
    """What a CSV reading error means, and how to fix it (never repeating a cell's text).

    >>> _csv_error_message(csv.Error("unexpected end of data"))[:40]
    'a quote opened in this row is never clos'
    """
    text = str(err)
    if "end of data" in text:
        return (
            "a quote opened in this row is never closed (the rest of the file would become one cell); "
            "close the quote, or double a quote that is part of the text"
        )
    if "expected after" in text:
        return (
            "a closing quote is followed by other characters in the same cell; put the whole cell in quotes "
            "and double each quote inside it"
        )
    if "field larger" in text:
        return (
            f"a cell is longer than {csv.field_size_limit()} characters, or a quote opened in this row "
            "is never closed; shorten the cell or close the quote"
        )
    return f"the CSV cannot be read from this row ({text}); save the file again as CSV UTF-8"


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[list[Any]]]:
    import openpyxl

    try:
        _check_zip(path)
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        table = []
        for cells in sheet.iter_rows(values_only=True):
            table.append(list(cells[:MAX_COLUMNS]))
            if len(table) > MAX_ROWS + 1:  # enough to say the file is too long, without reading it all
                break
        book.close()
    except InputError:
        raise
    except (
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        OSError,
        EOFError,
        LookupError,
    ) as err:
        raise InputError(
            f"the file is not a readable XLSX workbook ({err.__class__.__name__}); save it from a spreadsheet as .xlsx",
            source=str(path),
        ) from None
    except Exception as err:  # noqa: BLE001 - a broken workbook can raise anything from the XML layers
        raise InputError(
            f"the file is not a readable XLSX workbook ({err.__class__.__name__})", source=str(path)
        ) from None
    if not table:
        raise InputError("the first sheet is empty; expected a header row of HTCDS columns", source=str(path))
    header = ["" if h is None else str(h).strip() for h in table[0]]
    return header, iter(table[1:])


def _check_zip(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than :data:`MAX_UNPACKED` bytes (a zip bomb)."""
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED:
        raise InputError(
            f"the workbook unpacks to over {MAX_UNPACKED // 2**20} MB; save the sheet as CSV or split it",
            source=str(path),
        )


def _check_header(header: list[str]) -> list[Problem]:
    problems, seen = [], set()
    for position, name in enumerate(header, start=1):
        # a header cell is named only when it looks like a column name: a file without a header row
        # would otherwise put the first person's name and birth date into the error message
        label = name if re.fullmatch(r"[A-Za-z]{1,12}_[A-Za-z0-9_]{1,48}", name) else f"#{position}"
        if name and name in seen:
            problems.append(Problem(1, label, "the column appears twice; keep one"))
        elif name and name not in IMPORT_COLUMNS:
            problems.append(
                Problem(
                    1,
                    label,
                    "unknown column; expected HTCDS names such as prs_FirstName, "
                    "vic_TypeOfExploitation, con_Statistics, hte_City (is the first row the header?)",
                )
            )
        seen.add(name)
    if not any(h in FIELDS for h in header):
        problems.append(Problem(1, None, "no HTCDS case column found; the first row must name the columns"))
    return problems


def _row_case(row: dict[str, Any], number: int) -> tuple[CaseInput, list[Problem]]:
    problems = []
    # an empty cell is a field not given, as on the intake form: defaults (the registration date) still apply
    fields, errors = records.check_fields({k: v for k, v in row.items() if k in FIELDS})
    fields = {name: value for name, value in fields.items() if value is not None}
    problems += [Problem(number, e.column, e.message) for e in errors]
    consents = {}
    for column, purpose in CONSENT_COLUMNS.items():
        value = row.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            consents[purpose] = parse_bool(value)
        except InputError as err:
            problems.append(Problem(number, column, err.message))
    referral = [n for n in OUTGOING_REFERRAL if fields.get(n) is not None]
    if referral and consents.get("referral") is not True:
        problems.append(Problem(number, referral[0], "an outgoing referral needs con_Referral = yes"))
    event = {EVENT_COLUMNS[k]: v for k, v in row.items() if k in EVENT_COLUMNS and v not in (None, "")}
    events = []
    if event:
        try:
            events.append(EventInput(**{"type": None, **event}))
            records.event_row(_CHECK_RING, 0, "", events[0])
        except InputError as err:
            problems.append(Problem(number, err.column or "hte_Type", err.message))
    return CaseInput(fields, consents, events), problems


class _NoSeal:
    """Stands in for a key ring while rows are only checked (nothing is encrypted then)."""

    def encrypt(self, value: str, associated: str) -> bytes:
        return b""


_CHECK_RING: Any = _NoSeal()


def _check_owner(store, conn: Connection, actor, owner: str) -> None:
    """The case owner must be a user of the organisation, as on the intake form (once per owner named)."""
    try:
        store._check_owner(conn, actor.organisation_id, {"cas_CaseOwner": owner})
    except InputError as err:
        raise InputError(f"{owner!r}: {err.message}", column=err.column) from None


def insert_cases(
    store,
    conn: Connection,
    actor,
    inputs: list[CaseInput],
    progress: Callable[[int, int], Any] | None = None,
    chunk: int = 500,
) -> list[str]:
    """Write checked cases in the caller's transaction, in batches, one audit entry each; return their codes."""
    codes: list[str] = []
    for start in range(0, len(inputs), chunk):
        batch = inputs[start : start + chunk]
        try:  # the fields were checked when the file was read (read_cases); owners and referrals here
            for owner in sorted({case.fields.get("cas_CaseOwner") for case in batch} - {None}):
                _check_owner(store, conn, actor, owner)
            rows = [store._case_values(actor, case, dict(case.fields), "") for case in batch]
        except InputError as err:
            raise ImportRejected([Problem(None, err.column, err.message)]) from None
        for row, code in zip(rows, _free_codes(conn, len(rows)), strict=True):
            row["code"] = code
        conn.execute(insert(cases), _without_empty_columns(rows))
        uids = [r["uid"] for r in rows]
        ids = dict(conn.execute(select(cases.c.uid, cases.c.id).where(cases.c.uid.in_(uids))).all())
        _insert_related(
            store, conn, actor, [(ids[r["uid"]], r["uid"], case) for r, case in zip(rows, batch, strict=True)]
        )
        audit.append_many(
            conn,
            store.ring.audit_key,
            actor.username,
            actor.organisation_id,
            "import",
            [(r["code"], records.changed_identifying(case)) for r, case in zip(rows, batch, strict=True)],
        )
        codes += [r["code"] for r in rows]
        touch_cases(conn, actor.organisation_id)
        if progress is not None:
            progress(len(codes), len(inputs))
    return codes


def _without_empty_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without the columns that are None in every row (fewer parameters per row to bind).

    >>> _without_empty_columns([{"a": 1, "b": None}, {"a": None, "b": None}])
    [{'a': 1}, {'a': None}]
    """
    kept = [name for name in rows[0] if any(row[name] is not None for row in rows)]
    return [{name: row[name] for name in kept} for row in rows]


def _free_codes(conn: Connection, n: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < n:
        fresh = {records.new_code() for _ in range(n - len(codes))} - codes
        taken = set(conn.execute(select(cases.c.code).where(cases.c.code.in_(fresh))).scalars())
        codes |= fresh - taken
    return sorted(codes)


def _insert_related(store, conn: Connection, actor, cases_: list[tuple[int, str, CaseInput]]) -> None:
    from darkfigure.casestore.service import _consent_rows

    org = actor.organisation_id
    tokens = [{"case_id": i, "token": t} for i, _, case in cases_ for t in store._name_tokens(org, case.fields)]
    given = [row for i, _, case in cases_ for row in _consent_rows(actor, i, case.consents)]
    found = [records.event_row(store.ring, i, uid, e) for i, uid, case in cases_ for e in case.events]
    chosen = [
        row for i, _, case in cases_ for row in exploitation_rows(org, i, case.fields.get("vic_TypeOfExploitation"))
    ]
    for table, rows in ((name_tokens, tokens), (consents, given), (events, found), (case_exploitation, chosen)):
        if rows:
            conn.execute(insert(table), rows)
