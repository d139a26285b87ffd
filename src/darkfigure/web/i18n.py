"""Interface text in English and Korean, from ``locales/<language>.toml``.

The language is ``?lang=`` when given (and remembered in the session), else the session's, else the best
match of the Accept-Language header, else English.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
_LOCALES = Path(__file__).parent / "locales"


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """Every text of one language, keyed by dotted names such as ``nav.cases``.

    >>> catalogue("ko")["nav.cases"]
    '사례'
    """
    with open(_LOCALES / f"{language}.toml", "rb") as handle:
        return dict(_flatten(tomllib.load(handle)))


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Any:
    for key, value in table.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", str(value)


def translator(language: str) -> Callable[..., str]:
    """A function from a text key (and format fields) to the text in ``language``, falling back to English.

    >>> translator("en")("cases.total", total=3)
    '3 cases'
    """
    own, fallback = catalogue(language), catalogue(DEFAULT_LANGUAGE)

    def text(key: str, **fields: Any) -> str:
        found = own.get(key) or fallback.get(key) or key
        return found.format(**fields) if fields else found

    return text


def choose_language(query: str | None, remembered: str | None, accept_language: str | None) -> str:
    """The interface language of one request.

    >>> choose_language(None, None, "ko-KR,ko;q=0.9,en;q=0.8")
    'ko'
    >>> choose_language("en", "ko", "ko")
    'en'
    """
    for candidate in (query, remembered):
        if candidate in LANGUAGES:
            return candidate
    return _from_header(accept_language or "")


def _from_header(header: str) -> str:
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower().split("-")[0]))
    for _, _, language in sorted(ranked):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE
