"""Interface text: Korean covers every English text, templates only use texts that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from darkfigure.casestore import FIELDS, PICKLISTS
from darkfigure.web.i18n import catalogue, choose_language, translator

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "darkfigure" / "web" / "templates"
ROUTES = TEMPLATES.parent


def test_korean_has_every_english_text():
    assert set(catalogue("en")) <= set(catalogue("ko"))


def test_every_text_key_used_exists():
    used = set()
    for path in [*TEMPLATES.rglob("*.j2"), *ROUTES.rglob("*.py")]:
        used |= set(re.findall(r"""\bt\(['"]([a-z_]+\.[a-z_0-9]+)['"]""", path.read_text()))
        used |= set(re.findall(r"""flash\(request, "[a-z]+", "([a-z_]+\.[a-z_0-9]+)\"""", path.read_text()))
    missing = sorted(used - set(catalogue("en")))
    assert not missing and len(used) > 100


def test_korean_labels_of_every_field_and_main_picklists():
    korean = catalogue("ko")
    assert all(f"fieldname.{name}" in korean for name in FIELDS)
    for picklist in ("prs_Gender", "vic_TypeOfExploitation", "cas_Status", "hte_Type", "vic_TraffickingStatus"):
        assert all(f"pick.{picklist}.{value}" in korean for value in PICKLISTS[picklist].options)
    assert korean["pick.vic_TypeOfExploitation.ForcedLabour"] == "강제 노동"


@pytest.mark.parametrize(
    ("query", "remembered", "header", "expected"),
    [
        (None, None, None, "en"),
        ("ko", None, "en", "ko"),
        ("xx", "ko", "en", "ko"),
        (None, None, "en-GB,en;q=0.8,ko;q=0.9", "en"),
        (None, None, "fr;q=1.0, ko;q=0.7, en;q=0.6", "ko"),
        (None, None, "ko;q=bad, en;q=0.2", "en"),
    ],
)
def test_language_choice(query, remembered, header, expected):
    assert choose_language(query, remembered, header) == expected


def test_text_with_fields_and_fallbacks():
    assert translator("ko")("cases.total", total="1,234") == "사례 1,234건"
    assert translator("ko")("no.such_key") == "no.such_key"
