"""Record-level Bloom filters (CLKs) from identity fields, keyed by a shared secret, and their files.

Each organisation encodes its own list on its own machine: every token of a record's identity fields
(bigrams of the coarse-folded family and given names, the birth year and its neighbours, month and
day, sex, place of origin, every extra identity field such as an address or an id number) sets bit
positions chosen by keyed BLAKE2b of (field, token), independent positions per bit (no double
hashing); the positions of each distinct value are computed once per list. A field a record lacks
sets nothing. The filter is then hardened (see :mod:`darkfigure.pprl.hardening`); by default it is
*diffused*: the 512-bit Bloom filter becomes 2,048 bits, each the XOR of 3 keyed-random bits of it.

The encoded file (``<list>.clk.jsonl``, UTF-8 JSON lines) holds a header line::

    {"format": "darkfigure-encoded", "version": 1, "list": "shelter", "schema_id": "...",
     "secret_check": "3f0c...", "filter_bits": 1024, "block_columns": ["block_birth_year"], "n_records": 1060}

and then one line per record: ``{"record_id": "SH-00001", "encoding": "<base64>", "block_birth_year":
"9f3a21"}`` where the encoding is the base64 of the little-endian bytes of the filter's uint64 words.
Nothing else: no identity value, nothing of the secret. ``secret_check`` (:func:`secret_check`) is a
key check value: 8 bytes of an HMAC under a key derived from the secret, so that lists encoded with
different secrets are refused instead of linked; it tells nothing usable about the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkfigure.errors import InputError
from darkfigure.pprl import hardening
from darkfigure.pprl.schema import (  # noqa: F401  (default_schema: examples)
    EXTRA_PREFIX,
    EXTRAS,
    FIELD_COLUMNS,
    EncodingSchema,
    FieldSpec,
    default_schema,
    extra_columns,
)

SECRET_BYTES = 32
FORMAT = "darkfigure-encoded"
FORMAT_VERSION = 1
_CHUNK = 8192  # records per block of bit setting (bounds the boolean matrix to a few MB)
_CHECK_LABEL = b"darkfigure-pprl key check value"
_CHECK_BYTES = 8


@dataclass(frozen=True, eq=False)
class EncodedList:
    """One organisation's encoded list: record ids, one Bloom filter per record, keyed blocking keys.

    ``filters`` is uint64 (records x ``filter_bits // 64``); bit ``i`` of a filter is bit ``i % 64``
    of word ``i // 64``. ``blocks`` has one text column per blocking key (``block_<field>``), already
    keyed and truncated; it may have no columns. ``segments`` is the segment layout of a segmented
    schema (``(name, bits)`` one after another in the filter; empty: one unsegmented filter).
    ``secret_check`` is the secret's key check value (:func:`secret_check`; None when read from a
    file written before it was recorded).

    >>> e = encode_list(pd.DataFrame({"family_name": ["Kim", "Ri"]}), default_schema(), b"k" * 32, "A")
    >>> e.filters.shape, e.n_records, e.record_ids.tolist()
    ((2, 32), 2, ['1', '2'])
    """

    name: str
    record_ids: np.ndarray
    filters: np.ndarray
    blocks: pd.DataFrame
    schema_id: str
    filter_bits: int
    segments: tuple[tuple[str, int], ...] = ()
    secret_check: str | None = None

    @property
    def n_records(self) -> int:
        """Number of records in the list."""
        return len(self.record_ids)

    def bits(self) -> np.ndarray:
        """The filters as a boolean matrix (records x ``filter_bits``)."""
        return unpack_filters(self.filters, self.filter_bits)


def read_secret(path: str | Path) -> bytes:
    """The shared secret (raw bytes of the file); refuses a missing file or one under 32 bytes.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "secret"
    >>> new_secret(p) == read_secret(p)
    True
    """
    path = Path(path)
    try:
        secret = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read the secret file ({err.strerror}); create one with "
                         "`darkfigure encode --new-secret FILE` and share it only with the other "
                         "organisations", source=str(path)) from err  # fmt: skip
    if len(secret) < SECRET_BYTES:
        raise InputError(
            f"the secret is too short: expected at least {SECRET_BYTES} bytes, got {len(secret)}; "
            "create one with `darkfigure encode --new-secret FILE`",
            source=str(path),
        )
    return secret


def secret_check(secret: bytes) -> str:
    """The secret's key check value: hex of the first 8 bytes of an HMAC-SHA256 of a fixed label,
    under a key derived from the secret for this purpose only. Equal secrets give equal checks;
    the check tells nothing usable about a 32-byte secret (finding one that fits is a 2^64 search,
    and it says nothing of the keys the filters use).

    >>> secret_check(b"k" * 32) == secret_check(b"k" * 32), secret_check(b"k" * 32) == secret_check(b"j" * 32)
    (True, False)
    >>> len(secret_check(b"k" * 32))
    16
    """
    key = hardening.subkey(secret, "secret check")
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).digest()[:_CHECK_BYTES].hex()


def new_secret(path: str | Path) -> bytes:
    """Write a new random 32-byte secret readable only by its owner (mode 0600); refuses to overwrite.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "secret"
    >>> len(new_secret(p)), oct(p.stat().st_mode & 0o777)
    (32, '0o600')
    """
    path = Path(path)
    secret = secrets.token_bytes(SECRET_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as err:
        raise InputError(
            "a file of that name exists; the secret is not overwritten. Choose another name", source=str(path)
        ) from err
    except OSError as err:
        raise InputError(f"cannot create the secret file ({err.strerror})", source=str(path)) from err
    with os.fdopen(fd, "wb") as out:
        out.write(secret)
    return secret


def encode_list(
    identities: pd.DataFrame,
    schema: EncodingSchema,
    secret: bytes,
    name: str,
    record_ids: Any = None,
) -> EncodedList:
    """Encode one list: a hardened Bloom filter per record, from its identity fields.

    ``identities`` is what :func:`darkfigure.linkage.identity_frame` gives (``family_key``,
    ``birth_year``, ...), or a frame with standard field columns (``family_name``, ``birth_date``,
    ...), which is passed through ``identity_frame`` first. Record ids come from ``record_ids``, a
    ``record_id`` column, or are numbered from 1.

    >>> frame = pd.DataFrame({"family_name": ["Kim", "Gim", "Pak"], "birth_year": ["1990"] * 3})
    >>> e = encode_list(frame, default_schema(), b"k" * 32, "A")
    >>> bool((e.filters[0] == e.filters[1]).all()), bool((e.filters[0] == e.filters[2]).all())
    (True, False)
    """
    if len(secret) < SECRET_BYTES:
        raise InputError(f"the secret must have at least {SECRET_BYTES} bytes, got {len(secret)}")
    frame = _identity_columns(identities, name)
    ids = _record_ids(frame, record_ids, name)
    if schema.segments:
        return _encode_segmented(frame, ids, schema, secret, name)
    hasher = _TokenHasher(hardening.subkey(secret, "bloom"), schema.base_bits)
    filters = np.concatenate(
        [_encode_chunk(frame.iloc[s], ids[s], schema, secret, name, hasher) for s in _chunks(len(frame))]
    )
    blocks = block_keys(frame, schema, secret)
    return EncodedList(name, ids, np.ascontiguousarray(filters), blocks, schema.schema_id, schema.filter_bits,
                       secret_check=secret_check(secret))


def _encode_segmented(
    frame: pd.DataFrame, ids: np.ndarray, schema: EncodingSchema, secret: bytes, name: str
) -> EncodedList:
    """Each segment encoded as its own unsegmented filter (its fields, lengths and a key of its own
    derived from the secret), the segments side by side."""
    parts = [encode_list(frame, schema.segment_schema(g), hardening.subkey(secret, f"segment/{g.name}"), name, ids)
             for g in schema.segments]
    filters = np.ascontiguousarray(np.concatenate([p.filters for p in parts], axis=1))
    return EncodedList(name, ids, filters, block_keys(frame, schema, secret), schema.schema_id, schema.filter_bits,
                       schema.segment_layout, secret_check(secret))


def _chunks(n: int) -> Iterator[slice]:
    return (slice(i, min(i + _CHUNK, n)) for i in range(0, max(n, 1), _CHUNK))


def _identity_columns(identities: pd.DataFrame, name: str) -> pd.DataFrame:
    """Identity-frame columns; a frame of standard fields goes through identity_frame first."""
    from darkfigure.linkage import STANDARD_FIELDS, ColumnMapping, identity_frame

    mapped = {f: f for f in STANDARD_FIELDS if f in identities.columns}
    keyed = {"family_key", "given_key", "place_key", "birth_month"} & set(identities.columns)
    if keyed or (not mapped and "birth_year" in identities.columns):
        return identities.reset_index(drop=True)
    if not mapped:
        raise InputError(
            f"list {name!r}: no identity field to encode; expected columns such as "
            f"{', '.join(STANDARD_FIELDS)}, got {', '.join(map(str, identities.columns))}"
        )
    if "record_id" in identities.columns:
        mapped["record_id"] = "record_id"
    text = identities.astype(object).where(identities.notna(), None)
    text = text.apply(lambda col: col.map(lambda v: v if v is None else str(v)))
    return identity_frame({name: text}, ColumnMapping.from_dict({name: mapped}))


def _record_ids(frame: pd.DataFrame, record_ids: Any, name: str) -> np.ndarray:
    if record_ids is None:
        if "record_id" not in frame.columns:
            return np.arange(1, len(frame) + 1).astype(str).astype(object)
        ids = frame["record_id"].astype(str).to_numpy(dtype=object)
    else:
        ids = np.asarray(record_ids).astype(str).astype(object)
    if len(ids) != len(frame):
        raise InputError(f"expected one record id per record ({len(frame)}), got {len(ids)}")
    repeated = pd.Series(ids).duplicated()
    if repeated.any():
        row = int(np.argmax(repeated.to_numpy()))
        raise InputError(f"list {name!r}, record {row + 1}: record id repeated ({ids[row]!r}); record ids must be "
                         "unique: give each record its own id")
    return ids


def _encode_chunk(
    frame: pd.DataFrame, ids: np.ndarray, schema: EncodingSchema, secret: bytes, name: str, hasher: _TokenHasher
) -> np.ndarray:
    words = _base_filters(frame, ids, schema, hasher, name)
    h = schema.hardening
    if h.flip_probability > 0 or h.xor_fold or h.rule90 or h.balance:
        words = pack_filters(_bitwise_hardening(unpack_filters(words, schema.base_bits), ids, schema, secret))
    if h.diffusion:
        words = hardening.diffuse(words, hardening.diffusion_taps(
            hardening.subkey(secret, "diffusion"), schema.base_bits, schema.filter_bits, h.diffusion))  # fmt: skip
    return words


def _bitwise_hardening(bits: np.ndarray, ids: np.ndarray, schema: EncodingSchema, secret: bytes) -> np.ndarray:
    h = schema.hardening
    if h.flip_probability > 0:
        bits = hardening.flip_bits(
            bits, hardening.record_keys(ids, hardening.subkey(secret, "flip")), h.flip_probability
        )
    if h.xor_fold:
        bits = hardening.xor_fold(bits)
    if h.rule90:
        bits = hardening.rule90(bits)
    if h.balance:
        bits = hardening.balance(
            bits, hardening.keyed_permutation(hardening.subkey(secret, "permutation"), 2 * bits.shape[1])
        )
    return bits


def _base_filters(
    frame: pd.DataFrame, ids: np.ndarray, schema: EncodingSchema, hasher: _TokenHasher, name: str
) -> np.ndarray:
    """Each record's Bloom filter as uint64 words: every present field sets its value's positions
    (looked up once per distinct value); a missing field sets nothing."""
    words = np.zeros((len(frame), -(-schema.base_bits // 64)), dtype=np.uint64)
    salts = _salts(frame, ids, schema, name) if schema.hardening.salt else None
    for spec in _field_specs(frame, schema):
        values = _field_values(frame, spec)
        keys = (salts if spec.salted and salts is not None else "") + "\x1f" + values
        codes, uniques = pd.factorize(keys.where(values != "", None))
        if len(uniques):
            hardening.set_positions(words, hasher.table(spec, list(uniques)), codes.astype(np.int64))
    return words


def _field_specs(frame: pd.DataFrame, schema: EncodingSchema) -> list[FieldSpec]:
    """The schema's fields, the ``extras`` field expanded to one field per extra column present."""
    specs = [s for s in schema.fields if s.name != EXTRAS]
    template = next((s for s in schema.fields if s.name == EXTRAS), None)
    if template is not None:
        specs += [replace(template, name=f"{EXTRA_PREFIX}{c[2:]}") for c in extra_columns(frame.columns, schema)]
    return specs


class _TokenHasher:
    """Bit positions of (field, salt, token): a keyed BLAKE2b (64 bits) of the token seeds a
    SplitMix64 stream, one independent-looking position per draw (no arithmetic progression as in
    double hashing). Each token is hashed once per list: names and years repeat a lot. The padding
    position ``n_bits`` marks no bit."""

    def __init__(self, key: bytes, n_bits: int) -> None:
        self.key, self.n_bits = key, n_bits
        self.seeds: dict[tuple[str, str], int] = {}

    def table(self, spec: FieldSpec, salted_values: list[str]) -> np.ndarray:
        """One row of positions per value (padded with ``n_bits``). The tokens of all values are put in
        one array and numbered at once (a Python loop per token cost most of a list's encoding)."""
        token_lists = []
        for salted in salted_values:
            salt, value = salted.split("\x1f", 1)
            prefix = f"{salt}\x1f"
            token_lists.append([prefix + t for t in tokens(spec, value)])
        counts = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        codes, unique = pd.factorize(np.fromiter(itertools.chain.from_iterable(token_lists), dtype=object))
        length = spec.bits or spec.hashes
        stream = self._stream_table(spec, list(unique), length)
        width = spec.bits or length * int(counts.max(initial=0))
        out = np.full((len(token_lists), max(width, 1)), self.n_bits, dtype=np.int64)
        starts = np.cumsum(counts) - counts
        for n in np.unique(counts[counts > 0]):
            rows = np.flatnonzero(counts == n)
            ids = codes[starts[rows][:, None] + np.arange(n)]
            out[rows, : n * length if not spec.bits else width] = self._spread(stream[ids], int(n), spec.bits)
        return out

    @staticmethod
    def _spread(streams: np.ndarray, n: int, bits: int) -> np.ndarray:
        """Per value: every token's stream (``bits`` > 0: round-robin, ``ceil(bits / n)`` each)."""
        if not bits:
            return streams.reshape(len(streams), -1)
        per = -(-bits // n)
        return streams[:, :, :per].transpose(0, 2, 1).reshape(len(streams), per * n)[:, :bits]

    def _stream_table(self, spec: FieldSpec, unique: list[str], length: int) -> np.ndarray:
        new = [t for t in unique if (spec.name, t) not in self.seeds]
        digests = b"".join(
            hashlib.blake2b(f"{spec.name}\x1f{t}".encode(), key=self.key, digest_size=8).digest() for t in new
        )
        self.seeds.update(zip(((spec.name, t) for t in new), np.frombuffer(digests, dtype="<u8").tolist(), strict=True))
        seeds = np.array([self.seeds[(spec.name, t)] for t in unique], dtype=np.uint64)
        return hardening.expand(seeds, length, self.n_bits)


def tokens(spec: FieldSpec, value: str) -> list[str]:
    """The tokens of one field value: padded n-grams (text), the value (exact), date parts (date,
    monthday), or the years within the window (year).

    >>> tokens(FieldSpec("family_name", ngram=2), "kim")
    [' k', 'ki', 'im', 'm ']
    >>> tokens(FieldSpec("birth_date", kind="date"), "y1990|m5")
    ['y1990', 'm5']
    >>> tokens(FieldSpec("birth_year", kind="year", window=1), "1990")
    ['y1989', 'y1990', 'y1991']
    >>> tokens(FieldSpec("birth_date", kind="monthday"), "m5|d4")
    ['m5', 'd4', 'p4-5']
    """
    if spec.kind == "exact":
        return [value]
    if spec.kind == "year":
        year = int(value)
        return [f"y{y}" for y in range(year - spec.window, year + spec.window + 1)]
    if spec.kind in ("date", "monthday"):
        parts = value.split("|")
        if spec.kind == "monthday" and len(parts) == 2:
            parts.append("p{}-{}".format(*sorted((int(parts[0][1:]), int(parts[1][1:])))))
        return parts
    padded = f"{' ' * (spec.ngram - 1)}{value}{' ' * (spec.ngram - 1)}"
    return [padded[i : i + spec.ngram] for i in range(len(padded) - spec.ngram + 1)]


def _field_values(frame: pd.DataFrame, spec: FieldSpec) -> pd.Series:
    """The field's text per record ("" when missing); a date as "y1990|m5|d4" of its known parts
    (monthday: "m5|d4"); a coarse name key derived from the key when the frame lacks it."""
    if spec.kind not in ("date", "monthday"):
        if spec.coarse and spec.columns[0] not in frame.columns:
            return _coarse(_text(frame, FIELD_COLUMNS[spec.name][0]), spec.name == "family_name")
        return _text(frame, spec.columns[0])
    columns = spec.columns if spec.kind == "date" else spec.columns[1:]
    parts = [
        _text(frame, c).map(lambda v, p=p: f"{p}{v}" if v else "")
        for c, p in zip(columns, "ymd" if spec.kind == "date" else "md", strict=True)
    ]
    joined = parts[0].str.cat(parts[1:], sep="|")
    return joined.str.replace(r"\|+", "|", regex=True).str.strip("|")


def _coarse(keys: pd.Series, family: bool) -> pd.Series:
    from darkfigure.linkage.names import coarse_name_key

    folded = {k: coarse_name_key(k, family=family) for k in keys.unique() if k}
    return keys.map(lambda k: folded.get(k, "")).astype(object)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    values = frame[column]
    return values.astype(object).where(values.notna(), "").map(str).astype(object)


def _salts(frame: pd.DataFrame, ids: np.ndarray, schema: EncodingSchema, name: str) -> pd.Series:
    """Each record's salt: its salt fields' values; a record missing one gets a salt of its own
    (its salted fields then match nothing, but neither do they join a group an attacker can count)."""
    salt = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    missing = np.zeros(len(frame), dtype=bool)
    for field_name in schema.hardening.salt:
        values = _text(frame, FIELD_COLUMNS[field_name][0])
        missing |= (values == "").to_numpy()
        salt = salt + "|" + values
    own = pd.Series([f"#{name}\x1e{r}" for r in ids], index=frame.index, dtype=object)
    return salt.where(~missing, own)


def block_keys(frame: pd.DataFrame, schema: EncodingSchema, secret: bytes) -> pd.DataFrame:
    """Keyed blocking keys: HMAC of each blocking field's value, truncated to ``block_bytes`` (hex).

    >>> f = pd.DataFrame({"birth_year": [1990, 1990, None]})
    >>> s = default_schema()
    >>> from dataclasses import replace
    >>> b = block_keys(f, replace(s, blocking=("birth_year",)), b"k" * 32)
    >>> b.columns.tolist(), b.iloc[0, 0] == b.iloc[1, 0], b.iloc[2, 0]
    (['block_birth_year'], True, '')
    """
    key = hardening.subkey(secret, "block")
    out = {}
    for name in schema.blocking:
        values = _text(frame, FIELD_COLUMNS[name][0])
        digest = {v: hashlib.blake2b(f"{name}\x1f{v}".encode(), key=key, digest_size=schema.block_bytes).hexdigest()
                  for v in values.unique() if v}  # fmt: skip
        out[f"block_{name}"] = values.map(lambda v, d=digest: d.get(v, "")).to_numpy(dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def pack_filters(bits: np.ndarray) -> np.ndarray:
    """Boolean filters (records x bits, bits a multiple of 64) as uint64 words, bit i in word i // 64.

    >>> pack_filters(np.eye(1, 64, 3, dtype=bool)).tolist()
    [[8]]
    """
    packed = np.packbits(bits, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack_filters(filters: np.ndarray, n_bits: int) -> np.ndarray:
    """uint64 words back to a boolean matrix (records x ``n_bits``).

    >>> unpack_filters(np.array([[8]], dtype=np.uint64), 64)[0, :5].astype(int).tolist()
    [0, 0, 0, 1, 0]
    """
    raw = np.ascontiguousarray(filters.astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(raw, axis=1, bitorder="little", count=n_bits).astype(bool)


def write_encoded(encoded: EncodedList, path: str | Path) -> Path:
    """Write an encoded list as UTF-8 JSON lines: a header line, then one line per record.

    >>> import tempfile, pathlib
    >>> e = encode_list(pd.DataFrame({"family_name": ["Kim"]}), default_schema(), b"k" * 32, "A")
    >>> p = write_encoded(e, pathlib.Path(tempfile.mkdtemp()) / "A.clk.jsonl")
    >>> bool((read_encoded(p).filters == e.filters).all())
    True
    """
    path = Path(path)
    header: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION, "list": encoded.name,
                              "schema_id": encoded.schema_id}
    if encoded.secret_check is not None:
        header["secret_check"] = encoded.secret_check
    header |= {"filter_bits": encoded.filter_bits, "block_columns": list(encoded.blocks.columns),
               "n_records": encoded.n_records}
    if encoded.segments:
        header["segments"] = [[g, bits] for g, bits in encoded.segments]
    raw = np.ascontiguousarray(encoded.filters.astype("<u8", copy=False)).view(np.uint8)
    blocks = encoded.blocks.to_dict(orient="records") if len(encoded.blocks.columns) else [{}] * encoded.n_records
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(json.dumps(header, ensure_ascii=False) + "\n")
        for rid, row, block in zip(encoded.record_ids, raw, blocks, strict=True):
            line = {"record_id": str(rid), "encoding": base64.b64encode(row.tobytes()).decode("ascii"), **block}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def read_encoded(path: str | Path) -> EncodedList:
    """Read a file written by :func:`write_encoded` (errors name the file and the line).

    >>> import tempfile, pathlib
    >>> e = encode_list(pd.DataFrame({"family_name": ["Kim", "Ri"]}), default_schema(), b"k" * 32, "A")
    >>> r = read_encoded(write_encoded(e, pathlib.Path(tempfile.mkdtemp()) / "A.clk.jsonl"))
    >>> r.name, r.record_ids.tolist(), r.schema_id == e.schema_id
    ('A', ['1', '2'], True)
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the encoded list ({err}); check the path", source=str(path)) from err
    header = _header(lines, path)
    _check_count(header, len(lines) - 1, path)
    words = header["filter_bits"] // 64
    ids, raw, blocks = [], bytearray(), {c: [] for c in header["block_columns"]}
    first_row: dict[str, int] = {}
    for row, line in enumerate(lines[1:], start=2):
        record = _record(line, row, path, words * 8, blocks)
        _check_unique(record["record_id"], row, first_row, header["list"], path)
        ids.append(record["record_id"])
        raw += record["bytes"]
    filters = np.frombuffer(bytes(raw), dtype="<u8").astype(np.uint64).reshape(len(ids), words)
    frame = pd.DataFrame({c: np.array(v, dtype=object) for c, v in blocks.items()}, index=pd.RangeIndex(len(ids)))
    segments = tuple((str(g), int(bits)) for g, bits in header.get("segments", []))
    return EncodedList(
        header["list"], np.array(ids, dtype=object), filters, frame, header["schema_id"], header["filter_bits"],
        segments, header.get("secret_check"),
    )


def _check_count(header: dict[str, Any], n_lines: int, path: Path) -> None:
    """The header's ``n_records`` must be the number of record lines (a short file was cut off)."""
    expected = header.get("n_records")
    if expected is not None and expected != n_lines:
        raise InputError(f"the header says n_records = {expected} but the file has {n_lines} record lines; the "
                         "file is truncated or damaged: copy it again, or encode the list again", source=str(path))


def _check_unique(rid: str, row: int, first_row: dict[str, int], name: str, path: Path) -> None:
    """A record id may appear once per list (worded as plaintext linkage words it)."""
    if rid in first_row:
        raise InputError(f"list {name!r}: record id repeated ({rid!r}, first on row {first_row[rid]}); record "
                         "ids must be unique: give each record its own id and encode the list again",
                         source=str(path), row=row, column="record_id")
    first_row[rid] = row


def _header(lines: list[str], path: Path) -> dict[str, Any]:
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        header = None
    ok = isinstance(header, dict) and header.get("format") == FORMAT and header.get("version") == FORMAT_VERSION
    if not ok or not isinstance(header.get("filter_bits"), int) or header["filter_bits"] % 64:
        raise InputError(
            f"not an encoded list: the first line must be the {FORMAT} header (version "
            f"{FORMAT_VERSION}) that `darkfigure encode` writes",
            source=str(path),
            row=1,
        )
    segments = header.get("segments", [])
    ok = isinstance(segments, list) and all(isinstance(g, list) and len(g) == 2 and isinstance(g[1], int)
                                            and g[1] > 0 and g[1] % 64 == 0 for g in segments)
    if not ok or (segments and sum(g[1] for g in segments) != header["filter_bits"]):
        raise InputError("the header's segments must be [name, bits] pairs, bits multiples of 64 adding up to "
                         "filter_bits; the file may be damaged", source=str(path), row=1)
    check = header.get("secret_check")
    if check is not None and not (isinstance(check, str) and re.fullmatch(f"[0-9a-f]{{{2 * _CHECK_BYTES}}}", check)):
        raise InputError(f"the header's secret_check must be {2 * _CHECK_BYTES} hex digits, got {check!r}; the file "
                         "may be damaged: encode the list again", source=str(path), row=1)
    count = header.get("n_records")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise InputError(f"the header's n_records must be a whole number of records, got {count!r}; the file may "
                         "be damaged: encode the list again", source=str(path), row=1)
    return header


def _record(line: str, row: int, path: Path, n_bytes: int, blocks: dict[str, list[str]]) -> dict[str, Any]:
    try:
        record = json.loads(line)
        data = base64.b64decode(record["encoding"], validate=True)
        rid = str(record["record_id"])
        for column, values in blocks.items():
            values.append(str(record.get(column, "")))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise InputError(
            f"not a valid encoded record ({err}); the file may be damaged", source=str(path), row=row
        ) from err
    if len(data) != n_bytes:
        raise InputError(f"the encoding has {len(data)} bytes, expected {n_bytes}", source=str(path), row=row)
    return {"record_id": rid, "bytes": data}
