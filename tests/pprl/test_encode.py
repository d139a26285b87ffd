"""Encoding: keyed Bloom filters, hardening, the file format, and what the files must not contain."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from darkfigure.errors import InputError
from darkfigure.linkage import ColumnMapping, identity_frame, read_lists, read_mapping
from darkfigure.pprl import (
    EncodingSchema,
    FieldSpec,
    Hardening,
    default_schema,
    encode_list,
    read_encoded,
    read_schema,
    read_secret,
    write_encoded,
)
from darkfigure.pprl.cli import encode_command
from darkfigure.simulate import load_scenario, simulate_coalition

SECRET = bytes(range(32))
PLAIN = Hardening(diffusion=0)


def _splitmix64(z: int) -> int:
    """SplitMix64's output function (Steele, Lea & Flood 2014), in plain Python integers."""
    mask = (1 << 64) - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_unhardened_bits_are_the_keyed_blake2b_positions_computed_independently():
    # Hand-worked: one exact token, no salt, no balancing; positions recomputed here from hashlib:
    # seed = BLAKE2b-64 keyed with HMAC-SHA256(secret, label), draw i = SplitMix64(seed + i * golden gamma)
    schema = EncodingSchema("t", (FieldSpec("sex", kind="exact", hashes=5),), filter_bits=256, hardening=PLAIN)
    e = encode_list(pd.DataFrame({"sex": ["f"]}), schema, SECRET, "A")
    key = hmac.new(SECRET, b"darkfigure-pprl/bloom", hashlib.sha256).digest()
    seed = int.from_bytes(hashlib.blake2b(b"sex\x1f\x1ff", key=key, digest_size=8).digest(), "little")
    gamma = 0x9E3779B97F4A7C15
    expected = sorted({_splitmix64((seed + i * gamma) % 2**64) % 256 for i in range(1, 6)})
    assert np.flatnonzero(e.bits()[0]).tolist() == expected


def test_same_input_and_secret_give_the_same_filters_and_another_secret_others():
    frame = pd.DataFrame({"family_name": ["Kim", "Pak"], "birth_year": ["1990", "1985"]})
    a = encode_list(frame, default_schema(), SECRET, "A")
    assert (a.filters == encode_list(frame, default_schema(), SECRET, "A").filters).all()
    other = encode_list(frame, default_schema(), bytes(range(1, 33)), "A")
    assert not (a.filters == other.filters).all(axis=1).any()


def test_romanisation_variants_and_hangul_encode_alike():
    frame = pd.DataFrame({"full_name": ["Kim Min-ji", "Gim Minji", "김민지", "Pak Min-ji"], "birth_year": ["1990"] * 4})
    f = encode_list(frame, default_schema(), SECRET, "A").filters
    assert (f[0] == f[1]).all() and (f[0] == f[2]).all() and not (f[0] == f[3]).all()


def test_default_filters_are_2048_bits_diffused_from_512():
    frame = pd.DataFrame({"full_name": ["Kim Min-ji", "Ri Yong-hui", "O Sun"], "birth_date": ["1990-01-02"] * 3})
    e = encode_list(frame, default_schema(), SECRET, "A")
    assert e.filters.shape == (3, 2048 // 64) and e.filters.dtype == np.uint64 and e.filters.flags.c_contiguous
    assert default_schema().base_bits == 512 and default_schema().hardening.diffusion == 3


def test_balanced_filters_have_exactly_half_their_bits_set():
    frame = pd.DataFrame({"full_name": ["Kim Min-ji", "Ri Yong-hui", "O Sun"], "birth_date": ["1990-01-02"] * 3})
    schema = replace(default_schema(), filter_bits=1024).with_hardening(diffusion=0, balance=True)
    e = encode_list(frame, schema, SECRET, "A")
    assert e.bits().sum(axis=1).tolist() == [512, 512, 512]


def test_diffusion_bits_are_xors_of_the_bloom_filter_bits():
    # Hand-worked from the unhardened filter: written bit j = XOR of the input bits at taps[j]
    from darkfigure.pprl.hardening import diffusion_taps, subkey

    frame = pd.DataFrame(
        {"family_name": ["Kim", "Pak"], "given_name": ["Min-ji", "Sun"], "birth_year": ["1990", "1985"]}
    )
    base = replace(default_schema(), filter_bits=512).with_hardening(diffusion=0)
    plain = encode_list(frame, base, SECRET, "A").bits()
    diffused = encode_list(frame, default_schema(), SECRET, "A").bits()
    taps = diffusion_taps(subkey(SECRET, "diffusion"), 512, 2048, 3)
    expected = np.logical_xor.reduce(plain[:, taps], axis=2)
    assert (diffused == expected).all() and taps.shape == (2048, 3)


def test_missing_fields_set_no_bits_and_extra_fields_are_encoded():
    schema = replace(default_schema(), filter_bits=512).with_hardening(diffusion=0)
    full = pd.DataFrame({"family_name": ["Kim"], "given_name": ["Minji"], "extra": ["2000"]})
    keyed = identity_frame(
        {"A": full},
        ColumnMapping.from_dict({"A": {"family_name": "family_name", "given_name": "given_name", "extra": ["extra"]}}),
    )
    with_extra = encode_list(keyed, schema, SECRET, "A").bits()[0]
    without = encode_list(keyed.drop(columns=["x_extra"]), schema, SECRET, "A").bits()[0]
    # the extra field adds bits; without it nothing else changes (a missing field sets nothing)
    assert with_extra.sum() > without.sum() and (with_extra | without == with_extra).all()
    case = keyed.rename(columns={"x_extra": "x_event_date"})  # case fields are not identity: not encoded
    assert (encode_list(case, schema, SECRET, "A").bits()[0] == without).all()


def test_field_bits_hide_the_length_of_a_name():
    schema = EncodingSchema("t", (FieldSpec("family_name", bits=40),), filter_bits=1024, hardening=PLAIN)
    e = encode_list(pd.DataFrame({"family_name": ["O", "Namgung"]}), schema, SECRET, "A")
    # 40 positions each (a few may coincide): the count no longer grows with the number of bigrams
    assert all(35 <= n <= 40 for n in e.bits().sum(axis=1))


def test_salt_separates_years_and_a_missing_salt_matches_nothing():
    frame = pd.DataFrame({"family_name": ["Kim"] * 4, "birth_year": ["1990", "1990", "1991", None]})
    salted = replace(default_schema(), fields=e_fields()).with_hardening(salt=("birth_year",))
    e = encode_list(frame, salted, SECRET, "A")
    f = e.filters
    assert (f[0] == f[1]).all() and not (f[0] == f[2]).all() and not (f[0] == f[3]).all()
    again = encode_list(frame.iloc[[3, 3]], salted, SECRET, "A", ["x", "y"])
    assert not (again.filters[0] == again.filters[1]).all()  # same name, no year: no countable group


def e_fields():
    return (FieldSpec("family_name", bits=60, salted=True),)


def test_bit_flipping_is_reproducible_and_flips_about_the_share_asked():
    frame = pd.DataFrame({"family_name": ["Kim"] * 200, "birth_year": ["1990"] * 200})
    schema = EncodingSchema("t", e_fields(), filter_bits=512, hardening=Hardening(diffusion=0, flip_probability=0.1))
    a, b = (encode_list(frame, schema, SECRET, "A") for _ in range(2))
    assert (a.filters == b.filters).all()
    base = encode_list(frame, replace(schema, hardening=replace(schema.hardening, flip_probability=0.0)), SECRET, "A")
    flipped = (a.bits() != base.bits()).mean()
    assert abs(flipped - 0.1) < 0.01  # binomial: 102,400 coins, sd 0.001


def test_blocking_keys_are_keyed_and_truncated():
    frame = pd.DataFrame({"family_name": ["Kim", "Ri", "O"], "birth_year": ["1990", "1990", None]})
    e = encode_list(frame, replace(default_schema(), blocking=("birth_year",)), SECRET, "A")
    keys = e.blocks["block_birth_year"].tolist()
    assert keys[0] == keys[1] and len(keys[0]) == 6 and keys[2] == "" and "1990" not in keys[0]


def test_write_and_read_give_back_the_same_list(tmp_path):
    frame = pd.DataFrame({"family_name": ["Kim", "Ri"], "birth_year": ["1990", "1985"]})
    e = encode_list(frame, replace(default_schema(), blocking=("birth_year",)), SECRET, "shelter", ["S-1", "S-2"])
    r = read_encoded(write_encoded(e, tmp_path / "shelter.clk.jsonl"))
    assert (r.name, r.schema_id, r.filter_bits) == (e.name, e.schema_id, 2048)
    assert r.record_ids.tolist() == ["S-1", "S-2"] and (r.filters == e.filters).all()
    assert r.blocks.equals(e.blocks)


def test_reading_a_damaged_file_names_the_file_and_line(tmp_path):
    e = encode_list(pd.DataFrame({"family_name": ["Kim"]}), default_schema(), SECRET, "A")
    path = write_encoded(e, tmp_path / "A.clk.jsonl")
    path.write_text(path.read_text().replace('"encoding": "', '"encoding": "AAAA'))
    with pytest.raises(InputError, match=r"A\.clk\.jsonl, row 2: the encoding has 259 bytes, expected 256"):
        read_encoded(path)
    (tmp_path / "x.jsonl").write_text("record_id,encoding\n")
    with pytest.raises(InputError, match="row 1: not an encoded list"):
        read_encoded(tmp_path / "x.jsonl")


def test_secret_must_exist_and_have_32_bytes(tmp_path):
    with pytest.raises(InputError, match="nope.*cannot read the secret file"):
        read_secret(tmp_path / "nope")
    (tmp_path / "short").write_bytes(b"x" * 31)
    with pytest.raises(InputError, match="short.*at least 32 bytes, got 31"):
        read_secret(tmp_path / "short")


def test_schema_errors_name_the_file_and_the_field(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n[[fields]]\nname = "family_nmae"\n')
    with pytest.raises(InputError, match=r"s\.toml: \[\[fields\]\] name: unknown field 'family_nmae'; did you mean"):
        read_schema(path)
    path.write_text('name = "x"\nfilter_bits = 1000\n[[fields]]\nname = "sex"\n')
    with pytest.raises(InputError, match="multiple of 64"):
        read_schema(path)


def test_default_schema_id_changes_with_any_setting():
    s = default_schema()
    assert s.schema_id.startswith("darkfigure-person-v2:") and len(s.schema_id.split(":")[1]) == 64
    assert s.with_hardening(flip_probability=0.01).schema_id != s.schema_id
    assert s.with_hardening(diffusion=4).schema_id != s.schema_id
    assert s.with_field("family_name", bits=10).schema_id != s.schema_id
    with pytest.raises(InputError, match="has no field 'surname'; it has family_name, given_name"):
        s.with_field("surname", bits=10)


# ------------------------------------------------------------------ no plaintext, no secret in the files
@pytest.fixture(scope="module", params=["person-v2", "person-v3"])
def encoded_simulation(tmp_path_factory, request):
    """The simulated lists encoded with the default schema and with the segmented person-v3 (whose
    file header also names its segments)."""
    folder = tmp_path_factory.mktemp("pprl")
    coalition = simulate_coalition(load_scenario("nk-women-china").with_n(3000), seed=11)
    coalition.write(folder / "sim")
    secret = folder / "secret"
    secret.write_bytes(bytes(range(100, 132)))
    encode_command(folder / "sim" / "mapping.toml", secret, folder / "out", Path(request.param))
    return folder


def _identity_values(sim: Path) -> set[str]:
    """Every name, date and place value of the input lists, and the keys linkage derives from them."""
    mapping = read_mapping(sim / "mapping.toml")
    lists = read_lists(mapping)
    values: set[str] = set()
    for name, entry in mapping.lists.items():
        for field, column in entry.columns.items():
            if field in ("sex",):
                continue
            values |= {str(v) for v in lists[name][column].dropna()}
    keys = identity_frame(lists, mapping)
    for column in ("family_key", "given_key", "family_hangul", "given_hangul", "birth_date", "place_key"):
        values |= {str(v) for v in keys[column].dropna()}
    return {v for v in values if v.strip()}


def _folded(data: bytes) -> bytes:
    return data.decode("utf-8").casefold().encode("utf-8")


def _occurs(value: str, data: bytes) -> bool:
    """Case-insensitive search of the UTF-8 bytes; a short alphanumeric value (such as "Kim" or a
    year) counts as a whole token (not inside a record id such as "CH-00001"), any other anywhere."""
    needle = value.casefold().encode("utf-8")
    if len(value) >= 6 or not value.isascii() or not value.isalnum():
        return needle in data
    return re.search(rb"(?<![0-9a-z])" + re.escape(needle) + rb"(?![0-9a-z])", data) is not None


_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")
_PAYLOAD = re.compile(rb'"encoding": "[A-Za-z0-9+/=]+"')


def test_encoded_files_hold_no_identity_value(encoded_simulation):
    files = sorted((encoded_simulation / "out").iterdir())
    assert [f.name for f in files] == [
        f"{n}.clk.jsonl" for n in ("church", "hotline", "police", "resettlement", "shelter")
    ]
    values = _identity_values(encoded_simulation / "sim")
    assert len(values) > 2000  # names in four spellings and Hangul, dates, places: the search is real
    # The base64 filters (344 characters each) hold any short run of letters by chance (a given
    # 5-letter word about once in 70 files of this size, case-insensitively), so there the search is
    # for every value that base64 cannot hold (spaces, hyphens, Hangul, dates) or of 8 characters or
    # more; everywhere else in the file for every value.
    chance_free = [v for v in values if len(v) >= 8 or not _BASE64.fullmatch(v)]
    for path in files:
        data = _folded(path.read_bytes())
        found = [v for v in chance_free if _occurs(v, data)]
        found += [v for v in values if _occurs(v, _PAYLOAD.sub(b"", data))]
        assert found == [], f"{path.name} holds {found[:5]}"
        encoded = read_encoded(path)  # and the filters are exactly 2048 bits each, nothing more
        assert encoded.filters.shape == (encoded.n_records, 32) and list(encoded.blocks.columns) == []


def test_encoded_files_hold_nothing_of_the_secret(encoded_simulation):
    secret = (encoded_simulation / "secret").read_bytes()
    forms = [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
        base64.b64encode(secret).rstrip(b"="),
    ]
    forms += [f[:16] for f in forms]  # nor a long piece of one
    for path in (encoded_simulation / "out").iterdir():
        data = path.read_bytes()
        assert not [f for f in forms if f in data], path.name


def test_the_search_would_find_a_plaintext_value(encoded_simulation, tmp_path):
    # The check above is only worth something if it fails on a leak: write one name into a copy.
    path = next((encoded_simulation / "out").iterdir())
    leaked = tmp_path / "leak.jsonl"
    leaked.write_bytes(path.read_bytes() + '{"record_id": "x", "note": "김설애 Kim"}\n'.encode())
    data = _folded(leaked.read_bytes())
    assert _occurs("김설애", data) and _occurs("KIM", data)
