"""Standard identity fields and the mapping from each list's columns to them.

Organisations name their columns differently. A mapping file (TOML) says, for each list, which column
holds which standard field; linkage then compares lists field by field::

    [lists.shelter]
    file = "shelter.csv"          # relative to the mapping file
    record_id = "case_no"         # optional; rows are numbered from 1 otherwise
    given_name = "first_name"
    family_name = "surname"
    birth_date = "dob"
    extra = { phone = "phone_no" }  # free fields, compared as text; or a list of column names

    [lists.police]
    file = "police.csv"
    full_name = "name"            # split into family and given name (either order, or Hangul)
    name_original_script = "name_hangul"
    birth_year = "year_of_birth"

The layout ``darkfigure simulate`` writes is read too: fields in a ``[lists.<name>.fields]`` table
(standard fields are compared; other fields, such as ``place_of_exploitation``, become extras, but a
name that looks like a misspelt standard field, such as ``famly_name``, is refused: declare such an
extra with ``extra``), ``date_format`` for the list's dates, ``label`` and ``kind`` as notes, and
``[lists.<name>.codes.<field>]`` tables that translate a list's own values (place names in Korean or
Chinese, sex as "F") to shared ones before comparison. A value of a coded category (sex, the case
fields, extras) that is neither in its codes table nor one of the shared values is refused, naming the
file, row, column and value; names, dates and places of origin the table lacks pass through as they are.

Errors name the mapping file or the list's file, the list and the field, and say how to fix them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkfigure._toml import read_toml
from darkfigure.errors import InputError
from darkfigure.linkage import names

STANDARD_FIELDS = (
    "given_name",
    "family_name",
    "full_name",
    "name_original_script",
    "birth_date",
    "birth_year",
    "sex",
    "place_of_origin",
)
# Fields that describe the case rather than the person: organisations record them differently (a
# hotline's call date is not the police's detention date, nor the province where one saw her the
# province where another did), so linkage does not compare them unless asked to.
CASE_FIELDS = ("event_date", "place_of_exploitation", "exploitation_form")
_LIST_KEYS = ("file", "record_id", "extra", *STANDARD_FIELDS)
# Identity fields whose values are open (names, dates, places of origin): a value their codes table
# lacks passes through and is compared as it is. Every other coded field (sex, the case fields, extras)
# is a category: an unknown value would become a category of its own, so it is refused.
_OPEN_VALUES = tuple(f for f in STANDARD_FIELDS if f != "sex")
_NOTE_KEYS = ("label", "kind")
_LAYOUT_KEYS = (*_NOTE_KEYS, "fields", "codes", "date_format")
# a name in a fields table this close to a known field is taken as a misspelling of it, not as an extra
_MISSPELT = 0.8
_INTEGER_COLUMNS = ("birth_year", "birth_month", "birth_day")
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%d/%m/%Y", "%d.%m.%Y", "%Y.%m.%d")
_SEX = {
    "f": "f", "female": "f", "feminine": "f", "w": "f", "woman": "f", "girl": "f", "여": "f", "여성": "f", "녀": "f",
    "여자": "f", "m": "m", "male": "m", "masculine": "m", "man": "m", "boy": "m", "남": "m", "남성": "m", "남자": "m",
}  # fmt: skip


@dataclass(frozen=True)
class ListMapping:
    """Which column of one list holds which standard field (and which free extra fields).

    >>> m = ListMapping("shelter", {"given_name": "first", "family_name": "last"})
    >>> m.fields
    ('family_name', 'given_name')
    """

    name: str
    columns: Mapping[str, str]
    extras: Mapping[str, str] = field(default_factory=dict)
    record_id: str | None = None
    file: Path | None = None
    codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    date_format: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The standard fields this list maps, sorted."""
        return tuple(sorted(self.columns))

    @property
    def where(self) -> str:
        """The file (or, without one, the list) that errors about this list name."""
        return str(self.file) if self.file is not None else f"list {self.name!r}"


@dataclass(frozen=True)
class ColumnMapping:
    """The column mapping of every list, by list name.

    >>> cm = ColumnMapping.from_dict({"A": {"given_name": "first"}, "B": {"full_name": "name"}})
    >>> list(cm.lists), cm.lists["B"].columns
    (['A', 'B'], {'full_name': 'name'})
    """

    lists: Mapping[str, ListMapping]
    source: str | None = None

    @classmethod
    def from_dict(
        cls, spec: Mapping[str, Mapping[str, Any]], *, source: str | None = None, base: Path | None = None
    ) -> ColumnMapping:
        """Build from ``{list name: {field or "file"/"record_id"/"extra": column}}``."""
        if not spec:
            raise InputError("the mapping names no lists; add a [lists.<name>] table for each list", source=source)
        return cls({name: _list_mapping(name, entry, source, base) for name, entry in spec.items()}, source)

    def extra_fields(self) -> tuple[str, ...]:
        """Every extra field named by any list, sorted."""
        return tuple(sorted({f for m in self.lists.values() for f in m.extras}))

    def without_extras(self, fields: Iterable[str]) -> ColumnMapping:
        """The mapping without the named extra fields (standard identity fields are kept).

        >>> cm = ColumnMapping.from_dict({"A": {"given_name": "g", "extra": {"event_date": "d", "phone": "p"}}})
        >>> cm.without_extras(CASE_FIELDS).lists["A"].extras
        {'phone': 'p'}
        """
        dropped = set(fields)
        lists = {
            name: replace(entry, extras={f: c for f, c in entry.extras.items() if f not in dropped})
            for name, entry in self.lists.items()
        }
        return ColumnMapping(lists, self.source)


def read_mapping(path: str | Path) -> ColumnMapping:
    """Read a mapping file: ``[lists.<list name>]`` tables with ``file`` and field = column pairs.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "mapping.toml"
    >>> _ = p.write_text('[lists.A]\\nfile = "a.csv"\\ngiven_name = "first"\\n')
    >>> read_mapping(p).lists["A"].file.name
    'a.csv'
    """
    path = Path(path)
    spec = read_toml(path, "the mapping file")
    lists = spec.get("lists")
    if not isinstance(lists, dict):
        raise InputError(
            "expected [lists.<list name>] tables, one per list, each with file = ... and field = column pairs",
            source=str(path),
        )
    return ColumnMapping.from_dict(lists, source=str(path), base=path.parent)


def read_lists(mapping: ColumnMapping) -> dict[str, pd.DataFrame]:
    """Read every list's CSV file named in the mapping, as text, stripped of padding spaces.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("first, dob\\n Ann, 1990\\n")
    >>> cm = ColumnMapping.from_dict({"A": {"file": "a.csv", "given_name": "first"}}, base=d)
    >>> read_lists(cm)["A"].loc[0, "first"]
    'Ann'
    """
    frames = {}
    for name, entry in mapping.lists.items():
        if entry.file is None:
            raise InputError(f'list {name!r} names no file; add file = "<path>"', source=mapping.source)
        frames[name] = _read_list_file(name, entry.file)
        check_codes(frames[name], entry, mapping.source)
    return frames


def check_codes(frame: pd.DataFrame, entry: ListMapping, mapping_source: str | None = None) -> None:
    """Every value of a coded category column (sex, the case fields, extras; not the open identity
    fields such as place of origin) must be in its ``codes`` table or be one of its shared values: an
    unknown value is refused, naming the file, row, column and value, rather than becoming a category
    of its own.

    >>> entry = ListMapping("A", {"sex": "s"}, file=Path("a.csv"), codes={"sex": {"F": "Feminine"}})
    >>> check_codes(pd.DataFrame({"s": ["F", None, "Feminine"]}), entry)
    >>> codes = {"place_of_origin": {"회령": "Hoeryong"}}
    >>> places = ListMapping("A", {"place_of_origin": "p"}, file=Path("a.csv"), codes=codes)
    >>> check_codes(pd.DataFrame({"p": ["회령", "Musan"]}), places)  # an open identity field: Musan passes through
    >>> check_codes(pd.DataFrame({"s": ["F", "W"]}), entry)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: a.csv, row 3, column s: list 'A': sex value 'W' is not in the codes table...
    """
    for field_name, codes in entry.codes.items():
        column = {**entry.columns, **entry.extras}.get(field_name)
        if column is None or field_name in _OPEN_VALUES:
            continue
        values = mapped_column(frame, entry, field_name, column)
        known = {*codes, *codes.values()}
        unknown = values.notna() & ~values.isin(known)
        if unknown.any():
            _refuse_code(entry, field_name, column, values[unknown], sorted(known), mapping_source)


def _refuse_code(
    entry: ListMapping, field_name: str, column: str, unknown: pd.Series, known: list[str], mapping_source: str | None
) -> None:
    value = unknown.iloc[0]
    others = f" ({len(unknown):,} rows hold values outside it)" if len(unknown) > 1 else ""
    shown = ", ".join(map(repr, known[:30])) + (", ..." if len(known) > 30 else "")
    table = f"[lists.{entry.name}.codes.{field_name}]" + (f" in {mapping_source}" if mapping_source else "")
    raise InputError(
        f"list {entry.name!r}: {field_name} value {value!r} is not in the codes table {table}{others}; known "
        f'values: {shown}. Add "{value}" = "<shared value>" to the codes table, or correct the row',
        source=entry.where, row=int(unknown.index[0]) + 2, column=column,
    )  # fmt: skip


def _read_list_file(name: str, path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError as err:
        raise InputError(f"list {name!r} is empty; the file has no header and no records", source=str(path)) from err
    except pd.errors.ParserError as err:
        raise _parse_error(name, path, err) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(
            f"cannot read list {name!r} ({err}); check the path and that it is a CSV file", source=str(path)
        ) from err
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda col: col.str.strip())


def _parse_error(name: str, path: Path, err: pd.errors.ParserError) -> InputError:
    """One line for a CSV pandas cannot read: the row with more fields than the header, when it says which."""
    text = " ".join(str(err).split())
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if found is None:
        return InputError(f"cannot read list {name!r} as CSV ({text}); check that it is a CSV file", source=str(path))
    expected, row, saw = (int(g) for g in found.groups())
    return InputError(
        f"list {name!r}: the row has {saw} fields, more than the {expected} columns of the header (a stray comma, "
        "or a value with a comma that is not in double quotes); remove the extra field or quote the value",
        source=str(path), row=row,
    )  # fmt: skip


def _list_mapping(name: str, entry: Any, source: str | None, base: Path | None) -> ListMapping:
    if not isinstance(entry, Mapping):
        raise InputError(f"list {name!r}: expected a table of field = column pairs, got {entry!r}", source=source)
    entry, codes, date_format = _flatten_simulator_layout(name, entry, source)
    for key, value in entry.items():
        _check_key(name, key, value, source)
    columns = {k: v for k, v in entry.items() if k in STANDARD_FIELDS}
    if not columns:
        raise InputError(
            f"list {name!r} maps no identity field; map at least one of {', '.join(STANDARD_FIELDS)}", source=source
        )
    file = entry.get("file")
    path = None if file is None else (base / file if base is not None else Path(file))
    extras = _extras(name, entry.get("extra", {}), source)
    unmapped = [f for f in codes if f not in columns and f not in extras]
    if unmapped:
        raise InputError(
            f"list {name!r}: a codes table for the field {unmapped[0]!r}, which the list does not map; map it in "
            f"[lists.{name}.fields] or remove [lists.{name}.codes.{unmapped[0]}]", source=source
        )
    return ListMapping(name, columns, extras, entry.get("record_id"), path, codes, date_format)


def _flatten_simulator_layout(
    name: str, entry: Mapping[str, Any], source: str | None
) -> tuple[dict[str, Any], dict[str, dict[str, str]], str | None]:
    """Fold a ``fields`` table into field = column pairs; take ``codes`` and ``date_format`` apart."""
    flat = {k: v for k, v in entry.items() if k not in _LAYOUT_KEYS}
    fields = entry.get("fields", {})
    codes = entry.get("codes", {})
    date_format = entry.get("date_format")
    if (
        not isinstance(fields, Mapping)
        or not isinstance(codes, Mapping)
        or not all(isinstance(c, Mapping) for c in codes.values())
    ):
        raise InputError(f"list {name!r}: fields and codes must be tables", source=source)
    if date_format is not None and not isinstance(date_format, str):
        raise InputError(f'list {name!r}: date_format must be text such as "%d/%m/%Y"', source=source)
    extra = dict(_extras(name, flat.pop("extra", {}), source))
    extra.update({k: c for k, c in _extras(name, fields.get("extra", {}), source).items() if k not in extra})
    for key, column in fields.items():
        if key == "extra":
            continue
        if key in _LIST_KEYS:
            flat.setdefault(key, column)
        else:
            _check_extra_name(name, key, column, source)
            extra.setdefault(key, column)
    if extra:
        flat["extra"] = extra
    return flat, {f: {str(k): str(v) for k, v in c.items()} for f, c in codes.items()}, date_format


def _check_extra_name(name: str, key: str, column: Any, source: str | None) -> None:
    """A name in a ``fields`` table that is no standard field becomes an extra, unless it looks like a
    misspelt one (``famly_name``, ``Sex``): that is refused, as in the flat layout."""
    known = (*_LIST_KEYS, *CASE_FIELDS)
    if key in CASE_FIELDS:
        return
    close = [k for k in known if k.casefold() == key.casefold()] or difflib.get_close_matches(
        key, known, n=1, cutoff=_MISSPELT)
    if close:
        raise InputError(
            f"list {name!r}: unknown field {key!r} in [lists.{name}.fields]; did you mean {close[0]!r}? fields are "
            f"{', '.join(_LIST_KEYS)}. To compare it as a free extra field instead, write "
            f'extra = {{ {key} = "{column}" }} under [lists.{name}]', source=source
        )


def _check_key(name: str, key: str, value: Any, source: str | None) -> None:
    if key not in _LIST_KEYS:
        close = difflib.get_close_matches(key, (*_LIST_KEYS, *_LAYOUT_KEYS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"list {name!r}: unknown field {key!r}; {hint}fields are {', '.join(_LIST_KEYS)}", source=source
        )
    if key != "extra" and not (isinstance(value, str) and value.strip()):
        raise InputError(f"list {name!r}: field {key!r} must name a column as text, got {value!r}", source=source)


def _extras(name: str, extra: Any, source: str | None) -> dict[str, str]:
    if isinstance(extra, list) and all(isinstance(c, str) for c in extra):
        extra = {c: c for c in extra}
    if not isinstance(extra, Mapping) or not all(isinstance(v, str) for v in extra.values()):
        raise InputError(
            f"list {name!r}: extra must be a list of column names or a table of field = column, got {extra!r}",
            source=source,
        )
    return dict(extra)


# ------------------------------------------------------------------ standard identity frame
def identity_frame(lists: Mapping[str, pd.DataFrame], mapping: ColumnMapping) -> pd.DataFrame:
    """One row per record of every list, with the keys linkage compares (internal columns).

    Columns: ``unique_id`` (0, 1, ... over all lists), ``list``, ``record_id`` (text), the name keys
    (``family_key``, ``given_key``, their ``*_coarse`` forms, ``given_prefix``, ``family_hangul``, ``given_hangul``;
    keys come from the Hangul where a list has it), ``birth_date`` (ISO
    text), ``birth_year``/``birth_month``/``birth_day``, ``sex`` (``f``/``m``), ``place_key`` and one
    ``x_<field>`` column per extra field. Missing values are ``None``.

    >>> cm = ColumnMapping.from_dict({"A": {"full_name": "name", "birth_date": "dob"}})
    >>> f = identity_frame({"A": pd.DataFrame({"name": ["Ri Yong-hui"], "dob": ["1990-05-04"]})}, cm)
    >>> f.loc[0, "family_key"], f.loc[0, "given_key"], int(f.loc[0, "birth_year"]), int(f.loc[0, "birth_day"])
    ('li', 'yonghi', 1990, 4)
    """
    _check_lists_match(lists, mapping)
    extras = mapping.extra_fields()
    parts = [_list_identity(name, frame, mapping.lists[name], extras) for name, frame in lists.items()]
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "unique_id", np.arange(len(out), dtype=np.int64))
    # explicit types: a column empty in one list must still reach the database as text or integer
    text = [c for c in out.columns if c not in _INTEGER_COLUMNS and c != "unique_id"]
    return out.astype({**dict.fromkeys(text, "string"), **dict.fromkeys(_INTEGER_COLUMNS, "Int64")})


def _check_lists_match(lists: Mapping[str, pd.DataFrame], mapping: ColumnMapping) -> None:
    unmapped = [n for n in lists if n not in mapping.lists]
    if unmapped:
        raise InputError(
            f"no column mapping for list(s) {', '.join(map(repr, unmapped))}; the mapping has "
            f"{', '.join(map(repr, mapping.lists))}. Add a [lists.<name>] table for each list",
            source=mapping.source,
        )
    if not lists:
        raise InputError("no lists to link; give at least one list", source=mapping.source)


def _list_identity(name: str, frame: pd.DataFrame, entry: ListMapping, extras: tuple[str, ...]) -> pd.DataFrame:
    if len(frame) == 0:
        raise InputError(f"list {name!r} is empty: it has no records; remove it or fill it", source=entry.where)
    cols = {f: _recode(mapped_column(frame, entry, f, c), entry.codes.get(f)) for f, c in entry.columns.items()}
    family, given, family_hangul, given_hangul = _names(cols)
    iso, year, month, day = _birth(cols, entry.date_format)
    out = pd.DataFrame({"list": name, "record_id": _record_ids(frame, entry)})
    out["family_key"] = _keys(family, names.name_key, family=True)
    out["given_key"] = _keys(given, names.name_key)
    out["family_coarse"] = _keys(family, names.coarse_name_key, family=True)
    out["given_coarse"] = _keys(given, names.coarse_name_key)
    out["given_prefix"] = _nullify(out["given_coarse"].str[:3])  # refines blocks when names are few
    out["family_hangul"], out["given_hangul"] = family_hangul, given_hangul
    out["birth_date"], out["birth_year"], out["birth_month"], out["birth_day"] = iso, year, month, day
    out["sex"] = _text(cols.get("sex"), len(frame)).str.casefold().map(_SEX).astype(object)
    out["place_key"] = _keys(_text(cols.get("place_of_origin"), len(frame)), names.place_key)
    for extra in extras:
        column = entry.extras.get(extra)
        values = mapped_column(frame, entry, f"extra {extra}", column) if column is not None else None
        values = _recode(values, entry.codes.get(extra)) if values is not None else None
        out[f"x_{_identifier(extra)}"] = _nullify(_text(values, len(frame)).str.casefold())
    return out


def mapped_column(frame: pd.DataFrame, entry: ListMapping, what: str, column: str) -> pd.Series:
    """The column a field is mapped to; a clear error naming the list, field and column if it is missing."""
    if column not in frame.columns:
        close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(
            f"list {entry.name!r}: field {what!r} is mapped to column {column!r}, which the list does not have"
            f"{hint}; columns found: {', '.join(map(str, frame.columns))}. Fix the mapping or the file",
            source=entry.where,
            column=column,
        )
    return frame[column].reset_index(drop=True)


def _record_ids(frame: pd.DataFrame, entry: ListMapping) -> pd.Series:
    if entry.record_id is None:
        return pd.Series(np.arange(1, len(frame) + 1).astype(str), dtype=object)
    ids = mapped_column(frame, entry, "record_id", entry.record_id).astype(object)
    bad = ids.isna() | ids.duplicated()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        problem = "missing" if pd.isna(ids.iloc[row]) else f"repeated ({ids.iloc[row]!r})"
        raise InputError(
            f"list {entry.name!r}: record id {problem}; record ids must be unique, or leave record_id out",
            source=entry.where, row=row + 2, column=entry.record_id,
        )  # fmt: skip
    return ids.astype(str)


def _text(values: pd.Series | None, n: int | None = None) -> pd.Series:
    if values is None:
        return pd.Series([None] * (n or 0), dtype=object)
    return values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v).strip())


def _nullify(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna() & (values != ""), None)


def _keys(values: pd.Series, key: Callable[..., str], **kwargs: bool) -> pd.Series:
    uniques = {v: key(v, **kwargs) for v in values.dropna().unique()}
    return _nullify(values.map(uniques))


def _names(cols: dict[str, pd.Series]) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Family and given name (romanised text) and their Hangul; Hangul wins where present."""
    n = len(next(iter(cols.values())))
    family, given = _text(cols.get("family_name"), n), _text(cols.get("given_name"), n)
    for source in ("full_name", "name_original_script"):
        if source in cols:
            split = _text(cols[source]).map(names.split_full_name)
            family = family.where(_present(family), split.map(lambda fg: fg[0] or None))
            given = given.where(_present(given), split.map(lambda fg: fg[1] or None))
    hangul_family, hangul_given = family.map(names.hangul_name), given.map(names.hangul_name)
    if "name_original_script" in cols:
        split = _text(cols["name_original_script"]).map(names.split_full_name)
        whole = _text(cols["name_original_script"]).map(names.hangul_name) != ""
        hangul_family = hangul_family.where(~whole, split.map(lambda fg: names.hangul_name(fg[0])))
        hangul_given = hangul_given.where(~whole, split.map(lambda fg: names.hangul_name(fg[1])))
    family = family.where(hangul_family == "", hangul_family)
    given = given.where(hangul_given == "", hangul_given)
    return family, given, _nullify(hangul_family), _nullify(hangul_given)


def _present(values: pd.Series) -> pd.Series:
    return values.notna() & (values.astype(str).str.len() > 0)


def _recode(values: pd.Series, codes: Mapping[str, str] | None) -> pd.Series:
    """A list's own values translated to shared ones (values without a code are kept)."""
    if not codes:
        return values
    return values.map(lambda v: codes.get(v, v) if isinstance(v, str) else v)


def _birth(
    cols: dict[str, pd.Series], date_format: str | None = None
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    n = len(next(iter(cols.values())))
    raw = _text(cols.get("birth_date"), n)
    dates = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    for fmt in ((date_format,) if date_format else ()) + _DATE_FORMATS:
        missing = dates.isna() & raw.notna()
        if not missing.any():
            break
        dates[missing] = pd.to_datetime(raw[missing], format=fmt, errors="coerce")
    year = _year(raw).where(dates.isna(), dates.dt.year)
    if "birth_year" in cols:
        year = year.where(year.notna(), _year(_text(cols["birth_year"])))
    iso = dates.dt.strftime("%Y-%m-%d").astype(object).where(dates.notna(), None)
    return iso, _ints(year), _ints(dates.dt.month), _ints(dates.dt.day)


def _year(raw: pd.Series) -> pd.Series:
    digits = raw.astype(str).str.extract(r"((?:18|19|20)\d\d)", expand=False)
    return pd.to_numeric(digits.where(raw.notna()), errors="coerce")


def _ints(values: pd.Series) -> pd.Series:
    return pd.Series(values, dtype="float64").astype("Int64")


def _identifier(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.casefold())
