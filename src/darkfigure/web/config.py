"""Settings of the web application: where the session secret comes from, cookie and paging choices."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from darkfigure.errors import InputError

SESSION_SECRET_ENV = "DARKFIGURE_SESSION_SECRET"
_SESSION_LABEL = b"darkfigure web session cookie v1"


@dataclass(frozen=True)
class WebConfig:
    """How the web application signs sessions and pages lists.

    ``secure_cookies`` None marks the session cookie ``Secure`` exactly when the request came over https
    (uvicorn's ``--proxy-headers`` tells it so behind a proxy); True or False forces it.

    >>> WebConfig(session_secret="x" * 32).per_page
    50
    """

    session_secret: str
    secure_cookies: bool | None = None
    same_site: str = "lax"
    session_max_age: int = 8 * 60 * 60
    per_page: int = 50
    max_upload_bytes: int = 50 * 1024 * 1024

    def __post_init__(self) -> None:
        if len(self.session_secret) < 32:
            raise InputError(
                f"the session secret must have at least 32 characters; got {len(self.session_secret)}. "
                f"Use a key file or set {SESSION_SECRET_ENV} to a long random string."
            )
        if self.same_site not in ("lax", "strict"):
            raise InputError(f"same_site must be 'lax' or 'strict'; got {self.same_site!r}")


def session_secret(key_file: Path | None = None) -> str:
    """The secret that signs session cookies: ``$DARKFIGURE_SESSION_SECRET``, else derived from the key file.

    Derived with HMAC-SHA256 under a fixed label, so the cookie key is never the data-encryption key itself.

    >>> import tempfile, pathlib
    >>> key = pathlib.Path(tempfile.mkdtemp()) / "k"; _ = key.write_bytes(b"0" * 32)
    >>> len(session_secret(key)) if not os.environ.get(SESSION_SECRET_ENV) else 64
    64
    """
    from_env = os.environ.get(SESSION_SECRET_ENV)
    if from_env:
        return from_env
    material = _key_material(key_file)
    if len(material.strip()) < 16:
        raise InputError(f"the key file {key_file} holds fewer than 16 bytes; it should hold a random key")
    return hmac.new(material, _SESSION_LABEL, hashlib.sha256).hexdigest()


def _key_material(key_file: Path | None) -> bytes:
    """The bytes of the case store's key: the key file, else $DARKFIGURE_CASE_KEY_FILE or $DARKFIGURE_CASE_KEY."""
    key_file = key_file or os.environ.get("DARKFIGURE_CASE_KEY_FILE") or None
    if key_file is None:
        if os.environ.get("DARKFIGURE_CASE_KEY"):
            return os.environ["DARKFIGURE_CASE_KEY"].encode()
        raise InputError(f"no session secret: give --key-file or set {SESSION_SECRET_ENV}")
    try:
        return Path(key_file).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the key file {key_file}: {exc.strerror}") from None
