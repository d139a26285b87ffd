"""Keys outside the database: AES-256-GCM for identifying fields, HMAC keys for the name index and audit.

A key ring holds data keys by id (one active; older ones kept until retired, so rotation never strands a
value) and one MAC key, from which the blind-index and audit keys are derived (HKDF-SHA256). The MAC key
is not rotated: rotating it would re-key the audit chain and so defeat its tamper evidence.

A ciphertext is ``0x01 | len(key id) | key id | 12-byte nonce | AES-GCM(value) with tag``; its associated
data names the table, record and field, so a value copied to another record or field does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from darkfigure.errors import InputError

KEY_ENV = "DARKFIGURE_CASE_KEY"
KEY_FILE_ENV = "DARKFIGURE_CASE_KEY_FILE"
FAST_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # tests only, never default
_VERSION = b"\x01"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        data = b""
    if len(data) != 32:
        raise InputError(f"the {what} must be base64 of 32 bytes; regenerate the key file with `darkfigure cases init`")
    return data


@dataclass
class KeyRing:
    """Data keys by id (``active`` encrypts), and the MAC key for the name index and audit log.

    >>> ring = KeyRing.generate()
    >>> ring.decrypt(ring.encrypt("Mina", "cases/1/prs_FirstName"), "cases/1/prs_FirstName")
    'Mina'
    """

    keys: dict[str, bytes] = field(repr=False)
    active: str
    mac_key: bytes = field(repr=False)
    _aead: dict[Any, Any] = field(default_factory=dict, repr=False)  # ciphers and derived keys, by id

    def __repr__(self) -> str:  # key material never reaches a log, traceback or error page
        return f"KeyRing(key ids {sorted(self.keys)}, active {self.active!r})"

    @classmethod
    def generate(cls) -> KeyRing:
        """A new key ring with one random data key ``k1`` and a random MAC key."""
        return cls({"k1": secrets.token_bytes(32)}, "k1", secrets.token_bytes(32))

    @classmethod
    def from_json(cls, text: str, source: str = "key ring") -> KeyRing:
        """Read the JSON form written by :meth:`to_json`."""
        try:
            spec = json.loads(text)
            keys = {str(k): _unb64(v, "data key") for k, v in spec["keys"].items()}
            ring = cls(keys, str(spec["active"]), _unb64(spec["mac_key"], "MAC key"))
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise InputError(
                f"the {source} is not a darkfigure key ring ({err}); check the file", source=None
            ) from None
        if ring.active not in ring.keys:
            raise InputError(f"the {source} names active key {ring.active!r} but does not hold it")
        if not all(re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", k) for k in ring.keys):
            raise InputError(f"the {source} has a key id that is not 1-32 letters, digits or _ . -; check the file")
        return ring

    def to_json(self) -> str:
        """JSON text: version, active key id, data keys and MAC key in base64."""
        keys = {k: _b64(v) for k, v in self.keys.items()}
        return json.dumps({"version": 1, "active": self.active, "keys": keys, "mac_key": _b64(self.mac_key)}, indent=1)

    @classmethod
    def read(cls, path: str | Path) -> KeyRing:
        """Read a key file (JSON key ring); refused when group or others may access it (chmod 600 it)."""
        try:
            mode = os.stat(path).st_mode
            if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
                raise InputError(
                    f"the key file is readable or writable by others (mode {stat.S_IMODE(mode):o}); "
                    f"make it private with `chmod 600 {path}`",
                    source=str(path),
                )
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(
                f"cannot read the key file ({err}); check the path or run `darkfigure cases init`", source=str(path)
            ) from None
        return cls.from_json(text, f"key file {path}")

    @classmethod
    def from_env(cls) -> KeyRing | None:
        """From ``$DARKFIGURE_CASE_KEY`` (key-ring JSON, or base64 of one 32-byte master key) or
        ``$DARKFIGURE_CASE_KEY_FILE``; None when neither is set."""
        text = os.environ.get(KEY_ENV, "").strip()
        if text.startswith("{"):
            return cls.from_json(text, f"${KEY_ENV}")
        if text:
            master = _unb64(text, f"${KEY_ENV} key")
            return cls({"env": _derive(master, b"darkfigure data key")}, "env", _derive(master, b"darkfigure mac key"))
        path = os.environ.get(KEY_FILE_ENV, "").strip()
        return cls.read(path) if path else None

    def write(self, path: str | Path) -> None:
        """Write the key file readable by its owner only (0600), replacing it atomically."""
        path = Path(path)
        staging = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, path)

    def with_new_key(self) -> KeyRing:
        """A copy with a fresh data key made active (old keys kept for decryption)."""
        number = 1 + max((int(k[1:]) for k in self.keys if re.fullmatch(r"k\d+", k)), default=0)
        new_id = f"k{number}"
        return KeyRing({**self.keys, new_id: secrets.token_bytes(32)}, new_id, self.mac_key)

    def retired(self) -> KeyRing:
        """A copy holding only the active data key."""
        return KeyRing({self.active: self.keys[self.active]}, self.active, self.mac_key)

    def _cipher(self, key_id: str) -> AESGCM:
        if ("aes", key_id) not in self._aead:
            self._aead["aes", key_id] = AESGCM(self.keys[key_id])
        return self._aead["aes", key_id]

    def encrypt(self, value: str, associated: str) -> bytes:
        """AES-256-GCM ciphertext of ``value`` under the active key, bound to ``associated``."""
        kid = self.active.encode()
        nonce = secrets.token_bytes(12)
        body = self._cipher(self.active).encrypt(nonce, value.encode("utf-8"), associated.encode("utf-8"))
        return _VERSION + bytes([len(kid)]) + kid + nonce + body

    def key_id(self, blob: bytes) -> str:
        """The id of the key a ciphertext was made with."""
        return bytes(blob[2 : 2 + blob[1]]).decode()

    def decrypt(self, blob: bytes, associated: str) -> str:
        """The plaintext, or InputError if the key is missing or the value was altered or moved."""
        blob = bytes(blob)
        if blob[:1] != _VERSION or len(blob) < 2 or len(blob) < 2 + blob[1] + 12 + 16:
            raise InputError(f"a stored value of {associated} is not a darkfigure ciphertext")
        try:
            kid = self.key_id(blob)
        except UnicodeDecodeError:
            raise InputError(f"a stored value of {associated} is not a darkfigure ciphertext") from None
        if kid not in self.keys:
            raise InputError(
                f"{associated} is encrypted with key {kid!r}, which this key ring lacks; use the right key file"
            )
        start = 2 + blob[1]
        try:
            plain = self._cipher(kid).decrypt(blob[start : start + 12], blob[start + 12 :], associated.encode("utf-8"))
        except InvalidTag:
            raise InputError(f"the stored value of {associated} fails its integrity check (altered or moved)") from None
        return plain.decode("utf-8")

    @property
    def index_key(self) -> bytes:
        """The blind-index HMAC key (derived from the MAC key)."""
        if ("mac", "index") not in self._aead:
            self._aead["mac", "index"] = _derive(self.mac_key, b"darkfigure name index")
        return self._aead["mac", "index"]

    @property
    def user_key(self) -> bytes:
        """The HMAC key of the users' row seals (derived from the MAC key)."""
        if ("mac", "users") not in self._aead:
            self._aead["mac", "users"] = _derive(self.mac_key, b"darkfigure user rows")
        return self._aead["mac", "users"]

    @property
    def audit_key(self) -> bytes:
        """The audit-chain HMAC key (derived from the MAC key)."""
        if ("mac", "audit") not in self._aead:
            self._aead["mac", "audit"] = _derive(self.mac_key, b"darkfigure audit chain")
        return self._aead["mac", "audit"]


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def name_tokens(text: str | None, split_hangul: bool = True) -> list[str]:
    """The normalised words of a name: NFKC, case-folded, accents removed, split at non-letters; a
    Hangul word of 2-4 syllables also gives its first syllable and the rest (family and given name),
    unless ``split_hangul`` is False (a search: 민지 must find 김민지, not ask for 민 and 지 too).

    >>> name_tokens("  José-María  O'Brien")
    ['jose', 'maria', 'o', 'brien']
    >>> name_tokens("김민지"), name_tokens("민지", split_hangul=False)
    (['김민지', '김', '민지'], ['민지'])
    """
    if not text:
        return []
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    plain = unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))
    tokens = []
    for word in re.split(r"[\W_]+", plain):
        if word:
            tokens.append(word)
            if split_hangul and 2 <= len(word) <= 4 and all("\uac00" <= c <= "\ud7a3" for c in word):
                tokens += [word[0], word[1:]]
    return list(dict.fromkeys(tokens))


def blind_index(ring: KeyRing, token: str) -> str:
    """The keyed blind index of one name token: HMAC-SHA256 with the index key, first 128 bits, hex.

    >>> len(blind_index(KeyRing.generate(), "mina"))
    32
    """
    return hmac.new(ring.index_key, b"name\x00" + token.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
