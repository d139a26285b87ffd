"""Stratum values from the lists, through the linkage mapping.

The mapping file is the one ``darkfigure link`` reads (:func:`darkfigure.linkage.read_mapping`), in
either layout: the flat one, or the one ``darkfigure simulate`` writes with a ``fields`` table and,
per coded field, a ``codes`` table from the values in the file to canonical values::

    [lists.police]
    file = "police.csv"
    [lists.police.fields]
    family_name = "SURNAME"
    place_of_exploitation = "PROVINCE"
    [lists.police.codes.place_of_exploitation]
    "黑龙江省" = "Heilongjiang"

Any mapped field (identity or extra) can define strata; ``<x>_year`` is read from ``<x>_date`` when
only the date is mapped. A stratum value is canonicalised through the list's ``codes``.

Encoded runs (``[linkage] encoded``) read the encoded lists instead of plaintext ones
(:func:`read_encoded_lists`); strata then come, when asked for, from a mapping whose lists point at
files with the record id and the stratum columns only, joined to the encoded records by record id
(:func:`aligned_to_encoded`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from darkfigure.errors import InputError
from darkfigure.linkage import ColumnMapping, ListMapping
from darkfigure.linkage.fields import mapped_column

_YEAR = r"((?:18|19|20)\d\d)"


def mapped_fields(entry: ListMapping) -> dict[str, str]:
    """Every field one list maps (identity and extra fields) and its column.

    >>> m = ColumnMapping.from_dict({"A": {"given_name": "g", "extra": {"event_date": "seen"}}})
    >>> mapped_fields(m.lists["A"])
    {'given_name': 'g', 'event_date': 'seen'}
    """
    return {**entry.columns, **entry.extras}


def stratum_fields(mapping: ColumnMapping) -> set[str]:
    """Fields a stratum can name: every mapped field, and ``<x>_year`` for each ``<x>_date``.

    >>> sorted(stratum_fields(ColumnMapping.from_dict({"A": {"given_name": "g", "extra": {"event_date": "d"}}})))
    ['event_date', 'event_year', 'given_name']
    """
    names = {f for entry in mapping.lists.values() for f in mapped_fields(entry)}
    return names | {f[:-5] + "_year" for f in names if f.endswith("_date")}


def stratum_values(frame: pd.DataFrame, entry: ListMapping, field: str) -> pd.Series:
    """One list's values of a stratum field, one per record, canonicalised through the list's codes
    (missing values are ``<NA>``; a list that does not map the field has them all missing).

    >>> m = ColumnMapping.from_dict({"A": {"given_name": "g", "extra": {"exploitation_form": "form"}}})
    >>> entry = ListMapping("A", {"given_name": "g"}, {"exploitation_form": "form"},
    ...                     codes={"exploitation_form": {"fm": "ForcedMarriage"}})
    >>> frame = pd.DataFrame({"g": ["a", "b", "c"], "form": ["fm", None, "other"]})
    >>> stratum_values(frame, entry, "exploitation_form").tolist()
    ['ForcedMarriage', <NA>, 'other']
    """
    fields = mapped_fields(entry)
    if field not in fields and field.endswith("_year") and field[:-5] + "_date" in fields:
        dates = _column(frame, entry, field[:-5] + "_date")
        return dates.str.extract(_YEAR, expand=False).astype("string")
    if field not in fields:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    values = _column(frame, entry, field).str.strip()
    values = values.mask(values == "")
    codes = entry.codes.get(field, {})
    return values.map(lambda v: codes.get(v, v) if isinstance(v, str) else v).astype("string")


def _column(frame: pd.DataFrame, entry: ListMapping, field: str) -> pd.Series:
    return mapped_column(frame, entry, field, mapped_fields(entry)[field]).astype("string")


# ------------------------------------------------------------------ encoded lists
def read_encoded_lists(paths: Sequence[Path]) -> dict[str, Any]:
    """Encoded lists by list name, read with :func:`darkfigure.pprl.read_encoded` (names must differ).

    >>> read_encoded_lists([])
    {}
    """
    from darkfigure.pprl import read_encoded

    out: dict[str, Any] = {}
    for path in paths:
        encoded = read_encoded(path)
        if encoded.name in out:
            raise InputError(f"two encoded files hold the list {encoded.name!r}; give each list once",
                             source=str(path))
        out[encoded.name] = encoded
    return out


def check_encoded_names(encoded: Sequence[str], mapping: ColumnMapping, paths: Sequence[Path]) -> None:
    """The encoded lists must be the lists the mapping names, no fewer and no more (the error names
    the missing and the extra lists and the folder of the encoded files).

    >>> m = ColumnMapping.from_dict({"A": {"given_name": "g"}, "B": {"given_name": "g"}}, source="m.toml")
    >>> check_encoded_names(["B", "A"], m, [Path("enc/A.clk.jsonl"), Path("enc/B.clk.jsonl")])
    >>> check_encoded_names(["A", "C"], m, [Path("enc/A.clk.jsonl"), Path("enc/C.clk.jsonl")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: m.toml: the encoded lists in enc differ ...: no encoded file for ['B'] ...; ['C'] ...
    """
    missing = [name for name in mapping.lists if name not in encoded]
    extra = [name for name in encoded if name not in mapping.lists]
    if not missing and not extra:
        return
    folder = ", ".join(dict.fromkeys(str(p.parent) for p in paths))
    problems = []
    if missing:
        problems.append(f"no encoded file for {missing} (encode it with `darkfigure encode` into {folder})")
    if extra:
        problems.append(f"{extra} not in the mapping (remove its file from {folder} or add the list to the mapping)")
    raise InputError(f"the encoded lists in {folder} differ from the lists the mapping names: {'; '.join(problems)}",
                     source=mapping.source)


def aligned_to_encoded(frame: pd.DataFrame, entry: ListMapping, record_ids: Sequence[str]) -> pd.DataFrame:
    """A list's plaintext rows (say a strata file: record id and stratum columns only) in the order
    of the encoded list's records, matched by record id; records without a row get missing values.

    >>> entry = ListMapping("A", {}, {"place": "p"}, record_id="id")
    >>> aligned_to_encoded(pd.DataFrame({"id": ["2", "1"], "p": ["x", "y"]}), entry, ["1", "3", "2"])["p"].tolist()
    ['y', nan, 'x']
    """
    if entry.record_id is None or entry.record_id not in frame.columns:
        raise InputError(f"list {entry.name!r}: to join strata to encoded records the mapping must name the "
                         "record_id column, and the file must have it", source=entry.where)
    keyed = frame.drop_duplicates(entry.record_id).set_index(frame[entry.record_id].drop_duplicates().astype(str))
    return keyed.reindex([str(r) for r in record_ids]).reset_index(drop=True)
