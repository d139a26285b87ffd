"""Privacy-preserving record linkage: lists encoded as hardened Bloom filters with a shared secret.

Each organisation encodes its own list on its own machine (:func:`encode_list`, ``darkfigure
encode``); whoever links the lists (:func:`link_encoded`) only sees record ids and bit patterns.
:func:`audit_encoding`, :func:`audit_pattern_mining` and :func:`audit_spectral` run attacks on your own
encodings. See docs/pprl.md.

>>> import pandas as pd
>>> from darkfigure.pprl import default_schema, encode_list
>>> e = encode_list(pd.DataFrame({"family_name": ["Kim", "Ri"]}), default_schema(), b"k" * 32, "A")
>>> e.filters.shape
(2, 32)
"""

from darkfigure.pprl.attack import (
    AttackAudit,
    AttackResult,
    audit_encoding,
    audit_pattern_mining,
    audit_spectral,
    frequency_attack,
    pattern_mining_attack,
    spectral_attack,
)
from darkfigure.pprl.encode import (
    SECRET_BYTES,
    EncodedList,
    encode_list,
    new_secret,
    read_encoded,
    read_secret,
    write_encoded,
)
from darkfigure.pprl.schema import (
    EncodingSchema,
    FieldSpec,
    Hardening,
    Segment,
    default_schema,
    read_schema,
    read_schema_named,
)

# The matching side loads Splink's linkage result classes: imported on first use, so that
# `darkfigure --help` and encoding stay light.
_LAZY = {"dice_pairs": "darkfigure.pprl.dice", "link_encoded": "darkfigure.pprl.match"}

__all__ = [
    "SECRET_BYTES",
    "AttackAudit",
    "AttackResult",
    "EncodedList",
    "EncodingSchema",
    "FieldSpec",
    "Hardening",
    "Segment",
    "audit_encoding",
    "audit_pattern_mining",
    "audit_spectral",
    "default_schema",
    "dice_pairs",
    "encode_list",
    "frequency_attack",
    "link_encoded",
    "new_secret",
    "pattern_mining_attack",
    "read_encoded",
    "read_schema",
    "read_schema_named",
    "read_secret",
    "spectral_attack",
    "write_encoded",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'darkfigure.pprl' has no attribute {name!r}")
