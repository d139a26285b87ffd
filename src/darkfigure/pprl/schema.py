"""Encoding schemas: which identity fields go into a record's Bloom filter, and how.

A schema is a versioned TOML file (the default ships as ``schemas/person-v2.toml``)::

    name = "darkfigure-person-v2"
    version = 2
    filter_bits = 2048           # bits of the written filter
    [hardening]
    diffusion = 3                # each written bit = XOR of 3 keyed-random bits of the Bloom filter
    diffusion_input_bits = 512   # the Bloom filter's length
    salt = []                    # fields whose values salt the hashes of fields marked salted
    [[fields]]
    name = "family_name"         # a standard identity field (darkfigure.linkage.STANDARD_FIELDS),
    kind = "text"                # "extras" (every extra field) or "extra:<name>"
    ngram = 2                    # text: n-grams; exact: the whole value; year: the years within
    bits = 60                    # `window`; monthday: month, day and their pair; date: y/m/d tokens
    coarse = true                # bits: positions the field sets in all (its weight); or hashes = k
                                 # per token

Every organisation must use the same schema; :attr:`EncodingSchema.schema_id` (name and a hash of
the settings) is written into each encoded file so that lists encoded differently are refused.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from darkfigure._toml import read_toml
from darkfigure.errors import InputError

DEFAULT_SCHEMA = "person-v2"

# Schema field -> the identity_frame column(s) it reads (names through their romanisation-folded keys).
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "family_name": ("family_key",),
    "given_name": ("given_key",),
    "birth_date": ("birth_year", "birth_month", "birth_day"),
    "birth_year": ("birth_year",),
    "sex": ("sex",),
    "place_of_origin": ("place_key",),
}
_KINDS = ("text", "exact", "date", "year", "monthday")
# kinds bound to one field: year (tokens of the years within ``window``) and monthday (month, day and
# the unordered pair, so a swapped day and month still agree on the pair)
_KIND_FIELD = {"date": "birth_date", "monthday": "birth_date", "year": "birth_year"}
COARSE_COLUMNS = {"family_name": "family_coarse", "given_name": "given_coarse", "place_of_origin": "place_key"}
EXTRAS = "extras"  # the field that stands for every extra field a mapping names (but case fields)
EXTRA_PREFIX = "extra:"  # "extra:phone": one named extra field
_FIELD_KEYS = ("name", "kind", "ngram", "hashes", "bits", "salted", "coarse", "window")
_HARDENING_KEYS = ("balance", "salt", "flip_probability", "xor_fold", "rule90", "diffusion", "diffusion_input_bits")
_TOP_KEYS = ("name", "version", "filter_bits", "hardening", "fields", "blocking", "segments")
_SEGMENT_KEYS = ("name", "fields", "input_bits", "bits")


@dataclass(frozen=True)
class FieldSpec:
    """How one identity field enters the filter.

    Each token sets ``hashes`` bit positions; with ``bits`` > 0 the field instead sets ``bits``
    positions in all, shared round-robin among its tokens, so that a long name sets no more bits
    than a short one (the count of set bits would otherwise tell the attacker the name's length).
    ``coarse`` encodes a name through its coarse key (back vowels merged, as plaintext linkage's
    "same coarse key" level). ``window`` (kind ``year``): a year ``y`` gives the tokens of the years
    ``y - window`` to ``y + window``, so that years one apart still share most tokens.

    >>> FieldSpec("family_name", hashes=20).columns, FieldSpec("given_name", coarse=True).columns
    (('family_key',), ('given_coarse',))
    """

    name: str
    kind: str = "text"
    ngram: int = 2
    hashes: int = 10
    salted: bool = False
    bits: int = 0
    coarse: bool = False
    window: int = 0

    @property
    def columns(self) -> tuple[str, ...]:
        """The identity_frame columns this field reads (``extras``: none by name, see :func:`extra_columns`)."""
        if self.name.startswith(EXTRA_PREFIX):
            return (extra_column(self.name[len(EXTRA_PREFIX) :]),)
        if self.coarse and self.name in COARSE_COLUMNS:
            return (COARSE_COLUMNS[self.name],)
        return FIELD_COLUMNS.get(self.name, ())


@dataclass(frozen=True)
class Hardening:
    """Hardening applied to every filter (defaults: diffusion with t = 3 on, the rest off).

    ``salt`` names the fields whose values salt the hashes of the fields marked ``salted``; () is none.
    ``diffusion`` is t: each written bit is the XOR of t keyed-randomly chosen bits of the Bloom
    filter of ``diffusion_input_bits`` bits (0: as many as the written filter); 0 switches it off.

    >>> Hardening().diffusion, Hardening(diffusion=0).balance
    (3, False)
    """

    balance: bool = False
    salt: tuple[str, ...] = ()
    flip_probability: float = 0.0
    xor_fold: bool = False
    rule90: bool = False
    diffusion: int = 3
    diffusion_input_bits: int = 0


@dataclass(frozen=True)
class Segment:
    """One segment of a segmented record-level filter: the fields whose bits it holds, the length of
    its Bloom filter (``input_bits``) and of its written, diffused bits (``bits``, a multiple of 64).
    Segments follow one another in the written filter, in the schema's order.

    >>> Segment("family", ("family_name",), 128, 384).bits
    384
    """

    name: str
    fields: tuple[str, ...]
    input_bits: int
    bits: int


@dataclass(frozen=True)
class EncodingSchema:
    """A versioned encoding schema: fields, n-grams, weights, filter length, hardening, blocking keys.

    >>> s = EncodingSchema("demo", (FieldSpec("family_name"),), filter_bits=512)
    >>> s.base_bits, s.with_hardening(diffusion=0, balance=True).base_bits, s.schema_id.startswith("demo:")
    (512, 256, True)
    """

    name: str
    fields: tuple[FieldSpec, ...]
    filter_bits: int = 1024
    version: int = 1
    hardening: Hardening = field(default_factory=Hardening)
    blocking: tuple[str, ...] = ()
    block_bytes: int = 3
    segments: tuple[Segment, ...] = ()

    @property
    def segment_layout(self) -> tuple[tuple[str, int], ...]:
        """``(name, bits)`` of each segment in the written filter (empty: one unsegmented filter).

        >>> read_schema_named("person-v3").segment_layout[:2]
        (('family_name', 384), ('given_name', 448))
        """
        return tuple((g.name, g.bits) for g in self.segments)

    def segment_schema(self, segment: Segment) -> EncodingSchema:
        """The unsegmented schema that encodes one segment: its fields, its lengths, the same hardening.

        >>> s = read_schema_named("person-v3")
        >>> sub = s.segment_schema(s.segments[0])
        >>> [f.name for f in sub.fields], sub.filter_bits, sub.base_bits
        (['family_name'], 384, 128)
        """
        fields = tuple(f for f in self.fields if f.name in segment.fields)
        hardening = replace(self.hardening, diffusion_input_bits=segment.input_bits)
        return replace(self, fields=fields, filter_bits=segment.bits, hardening=hardening, segments=(),
                       name=f"{self.name}/{segment.name}")

    @property
    def base_bits(self) -> int:
        """Length of the Bloom filter before hardening (half of ``filter_bits`` when balanced; the
        diffusion's input length when diffused).

        >>> default_schema().base_bits, default_schema().filter_bits
        (512, 2048)
        """
        h = self.hardening
        bits = self.filter_bits // 2 if h.balance else self.filter_bits
        if h.diffusion:
            bits = h.diffusion_input_bits or bits
        return bits * 2 if h.xor_fold else bits

    @property
    def schema_id(self) -> str:
        """``<name>:<sha256 of the settings>``; lists must agree on it to be compared."""
        settings = asdict(self)
        if not self.segments:  # unsegmented schemas keep the ids they had before segments existed
            del settings["segments"]
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        return f"{self.name}:{digest}"

    def with_hardening(self, **changes: Any) -> EncodingSchema:
        """The same schema with some hardening settings changed.

        >>> default_schema().with_hardening(balance=False).hardening.balance
        False
        """
        return replace(self, hardening=replace(self.hardening, **changes))

    def with_field(self, name: str, **changes: Any) -> EncodingSchema:
        """The same schema with some settings of the field ``name`` changed (its weight, say).

        >>> [f.bits for f in default_schema().with_field("family_name", bits=10).fields][:2]
        [10, 80]
        """
        if name not in {f.name for f in self.fields}:
            names = ", ".join(f.name for f in self.fields)
            raise InputError(f"schema {self.name!r} has no field {name!r}; it has {names}")
        return replace(self, fields=tuple(replace(f, **changes) if f.name == name else f for f in self.fields))


def default_schema() -> EncodingSchema:
    """The schema that ships with darkfigure (``person-v2``).

    >>> [f.name for f in default_schema().fields][:2]
    ['family_name', 'given_name']
    """
    text = resources.files("darkfigure.pprl").joinpath("schemas", f"{DEFAULT_SCHEMA}.toml").read_text("utf-8")
    return parse_schema(tomllib.loads(text), source=f"{DEFAULT_SCHEMA}.toml")


def read_schema_named(name: str) -> EncodingSchema:
    """A schema that ships with darkfigure, by name (``person-v2``, ``person-v3``).

    >>> read_schema_named("person-v3").name
    'darkfigure-person-v3'
    """
    folder = resources.files("darkfigure.pprl").joinpath("schemas")
    shipped = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))
    if name not in shipped:
        raise InputError(f"no schema named {name!r} ships with darkfigure; schemas are {', '.join(shipped)}")
    return parse_schema(tomllib.loads(folder.joinpath(f"{name}.toml").read_text("utf-8")), source=f"{name}.toml")


def read_schema(path: str | Path | None = None) -> EncodingSchema:
    """Read a schema TOML file; ``None`` gives the default schema.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
    >>> _ = p.write_text('name = "x"\\nfilter_bits = 512\\n[[fields]]\\nname = "family_name"\\n')
    >>> read_schema(p).filter_bits
    512
    """
    if path is None:
        return default_schema()
    path = Path(path)
    spec = read_toml(path, "the schema file")
    return parse_schema(spec, source=str(path))


def parse_schema(spec: dict[str, Any], source: str | None = None) -> EncodingSchema:
    """Build a schema from its TOML table; errors name the file and the field.

    >>> parse_schema({"name": "x", "fields": [{"name": "sex", "kind": "exact"}]}).fields[0].kind
    'exact'
    """
    _check_keys(spec, _TOP_KEYS, "schema", source)
    fields = spec.get("fields")
    if not isinstance(fields, list) or not fields:
        raise InputError("the schema has no fields; add [[fields]] tables with name = <identity field>", source=source)
    blocking = spec.get("blocking", {})
    _check_keys(blocking, ("fields", "bytes"), "[blocking]", source)
    schema = EncodingSchema(
        name=_text(spec.get("name", "custom"), "name", source),
        fields=tuple(_field(f, source) for f in fields),
        filter_bits=_integer(spec.get("filter_bits", 1024), "filter_bits", source, 64),
        version=_integer(spec.get("version", 1), "version", source, 1),
        hardening=_hardening(spec.get("hardening", {}), source),
        blocking=tuple(_known_field(b, "[blocking] fields", source) for b in blocking.get("fields", [])),
        block_bytes=_integer(blocking.get("bytes", 3), "[blocking] bytes", source, 1),
        segments=tuple(_segment(g, source) for g in spec.get("segments", [])),
    )
    return _checked(schema, source)


def _segment(entry: Any, source: str | None) -> Segment:
    _check_keys(entry, _SEGMENT_KEYS, "[[segments]]", source)
    name = _text(entry.get("name"), "[[segments]] name", source)
    fields = entry.get("fields")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise InputError(f"segment {name!r}: fields must be a list of schema field names", source=source)
    return Segment(name, tuple(fields), _integer(entry.get("input_bits"), f"segment {name!r} input_bits", source, 64),
                   _integer(entry.get("bits"), f"segment {name!r} bits", source, 64))


def _checked_segments(schema: EncodingSchema, source: str | None) -> None:
    h = schema.hardening
    if h.balance or h.xor_fold or h.rule90 or h.flip_probability:
        raise InputError("a segmented schema takes diffusion and salt only: switch balance, xor_fold, rule90 and "
                         "flip_probability off", source=source)
    if sum(g.bits for g in schema.segments) != schema.filter_bits:
        raise InputError(f"the segments' bits add up to {sum(g.bits for g in schema.segments)}, "
                         f"not filter_bits = {schema.filter_bits}", source=source)
    named = [f for g in schema.segments for f in g.fields]
    fields = [f.name for f in schema.fields]
    if sorted(named) != sorted(fields):
        raise InputError(f"every field must be in exactly one segment; fields {fields}, segments hold {named}",
                         source=source)
    for g in schema.segments:
        if g.bits % 64 or g.input_bits % 64:
            raise InputError(f"segment {g.name!r}: bits and input_bits must be multiples of 64, got {g.bits} and "
                             f"{g.input_bits}", source=source)


def _checked(schema: EncodingSchema, source: str | None) -> EncodingSchema:
    if schema.filter_bits % 64:
        raise InputError(f"filter_bits must be a multiple of 64, got {schema.filter_bits}", source=source)
    h = schema.hardening
    if h.diffusion and (h.balance or h.xor_fold or h.rule90):
        raise InputError("diffusion replaces balance, xor_fold and rule90: switch those off", source=source)
    if h.diffusion_input_bits % 64:
        raise InputError(f"diffusion_input_bits must be a multiple of 64, got {h.diffusion_input_bits}", source=source)
    if schema.hardening.balance and schema.filter_bits % 128:
        raise InputError(
            f"a balanced filter needs filter_bits a multiple of 128, got {schema.filter_bits}", source=source
        )
    names = [f.name for f in schema.fields]
    if len(set(names)) != len(names):
        raise InputError(f"a field is named twice in the schema: {names}", source=source)
    if schema.segments:
        _checked_segments(schema, source)
    return schema


def _field(entry: Any, source: str | None) -> FieldSpec:
    if not isinstance(entry, dict):
        raise InputError(f"each [[fields]] entry must be a table, got {entry!r}", source=source)
    _check_keys(entry, _FIELD_KEYS, "[[fields]]", source)
    name = _known_field(entry.get("name"), "[[fields]] name", source, extras=True)
    kind = entry.get("kind", "date" if name == "birth_date" else "text")
    if kind not in _KINDS:
        raise InputError(f"field {name!r}: kind must be one of {', '.join(_KINDS)}, got {kind!r}", source=source)
    if name in (EXTRAS,) or name.startswith(EXTRA_PREFIX):
        kind = entry.get("kind", "text")
        if kind not in ("text", "exact"):
            raise InputError(f"field {name!r}: kind must be text or exact, got {kind!r}", source=source)
    if kind in _KIND_FIELD and name != _KIND_FIELD[kind]:
        raise InputError(f"field {name!r}: kind {kind!r} is only for {_KIND_FIELD[kind]}", source=source)
    return FieldSpec(
        name, kind, _integer(entry.get("ngram", 2), f"field {name!r} ngram", source, 1),
        _integer(entry.get("hashes", 10), f"field {name!r} hashes", source, 1), bool(entry.get("salted", False)),
        _integer(entry.get("bits", 0), f"field {name!r} bits", source, 0), bool(entry.get("coarse", False)),
        _integer(entry.get("window", 0), f"field {name!r} window", source, 0),
    )  # fmt: skip


def _hardening(entry: Any, source: str | None) -> Hardening:
    if not isinstance(entry, dict):
        raise InputError("[hardening] must be a table", source=source)
    _check_keys(entry, _HARDENING_KEYS, "[hardening]", source)
    salt = entry.get("salt", ["birth_year"])
    salt = [salt] if isinstance(salt, str) else salt
    if not isinstance(salt, list):
        raise InputError(f"[hardening] salt must be a field name or a list of them, got {salt!r}", source=source)
    salt = tuple(_known_field(f, "[hardening] salt", source) for f in salt if f)
    flip = entry.get("flip_probability", 0.0)
    if not isinstance(flip, int | float) or not 0 <= flip < 0.5:
        raise InputError(f"[hardening] flip_probability must be a number in [0, 0.5), got {flip!r}", source=source)
    default = Hardening()
    return Hardening(
        bool(entry.get("balance", default.balance)),
        salt,
        float(flip),
        bool(entry.get("xor_fold", False)),
        bool(entry.get("rule90", False)),
        _integer(entry.get("diffusion", default.diffusion), "[hardening] diffusion", source, 0),
        _integer(entry.get("diffusion_input_bits", 0), "[hardening] diffusion_input_bits", source, 0),
    )


def _known_field(name: Any, what: str, source: str | None, extras: bool = False) -> str:
    if extras and isinstance(name, str) and (name == EXTRAS or (name.startswith(EXTRA_PREFIX) and name[6:].strip())):
        return name
    if name not in FIELD_COLUMNS:
        known = [*FIELD_COLUMNS, EXTRAS, f"{EXTRA_PREFIX}<extra field>"] if extras else list(FIELD_COLUMNS)
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(f"{what}: unknown field {name!r}; {hint}fields are {', '.join(known)}", source=source)
    return str(name)


def extra_column(field_name: str) -> str:
    """The identity_frame column of an extra field (``x_`` and the name as an identifier).

    >>> extra_column("soc_sec_id"), extra_column("Phone No")
    ('x_soc_sec_id', 'x_phone_no')
    """
    from darkfigure.linkage.fields import _identifier

    return f"x_{_identifier(field_name)}"


def extra_columns(columns: Any, schema: EncodingSchema) -> tuple[str, ...]:
    """The extra-field columns of an identity frame that the schema's ``extras`` field encodes: every
    ``x_`` column but the case fields (event date, place and form of exploitation: they describe the
    case, not the person) and the extra fields the schema names one by one.

    >>> s = parse_schema({"fields": [{"name": "extras"}, {"name": "extra:phone"}]})
    >>> extra_columns(["family_key", "x_phone", "x_postcode", "x_event_date"], s)
    ('x_postcode',)
    """
    from darkfigure.linkage.fields import CASE_FIELDS

    if not any(f.name == EXTRAS for f in schema.fields):
        return ()
    named = {c for f in schema.fields for c in f.columns} | {extra_column(f) for f in CASE_FIELDS}
    return tuple(str(c) for c in columns if str(c).startswith("x_") and c not in named)


def _check_keys(entry: Any, allowed: tuple[str, ...], what: str, source: str | None) -> None:
    if not isinstance(entry, dict):
        raise InputError(f"{what} must be a table, got {entry!r}", source=source)
    unknown = [k for k in entry if k not in allowed]
    if unknown:
        raise InputError(f"{what}: unknown setting {unknown[0]!r}; settings are {', '.join(allowed)}", source=source)


def _integer(value: Any, what: str, source: str | None, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InputError(f"{what} must be a whole number >= {minimum}, got {value!r}", source=source)
    return value


def _text(value: Any, what: str, source: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{what} must be text, got {value!r}", source=source)
    return value
