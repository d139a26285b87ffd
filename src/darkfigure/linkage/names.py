"""Romanisation-aware keys for Korean (and other) person names.

One Korean name reaches different organisations' lists in several spellings: Revised Romanisation
(RR, ``Jeong Min-ji``), McCune-Reischauer (MR, ``Chŏng Min-ji``), common passport spellings
(``Jung Minji``), North Korean usage (``Ri`` for ``Lee``), or Hangul (``정민지``). Linkage compares
names through two keys that absorb these differences:

- :func:`name_key` folds the systematic differences between the systems: diacritics and apostrophes
  go, ``eo``/``ŏ`` become ``o``, ``eu``/``ŭ`` become ``u``, ``oo``/``ou`` become ``u``, ``ee``/``ui``
  become ``i``, unvoiced and voiced consonants (``g/k``, ``d/t``, ``b/p``, ``j/ch``, ``r/l``) become
  one, doubled letters one, and hyphens and spaces in given names disappear. Family names first go
  through a table of the usual variants (Kim/Gim, Lee/Yi/Rhee/Ri/I, Park/Pak/Bak, Choi/Choe,
  Jung/Jeong/Chung, ...).
- :func:`coarse_name_key` also merges the back vowels (``o`` and ``u``), so that the passport
  spelling ``Jung`` meets RR ``Jeong`` and MR ``Chŏng``.

Hangul is romanised (RR, syllable by syllable, as names are) before folding, so a name kept in Hangul
by one organisation meets its romanisation in another's list.

>>> name_key("Jeong"), name_key("Chŏng", family=True), name_key("Jung", family=True)
('jong', 'jung', 'jung')
>>> name_key("Min-Jung") == name_key("min jung") == name_key("Minjung")
True
>>> name_key("김", family=True) == name_key("Gim", family=True) == name_key("KIM", family=True)
True
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

# Revised Romanisation of the jamo of a precomposed Hangul syllable (U+AC00..U+D7A3).
_INITIALS = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_MEDIALS = [
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae",
    "oe", "yo", "u", "wo", "we", "wi", "yu", "eu", "ui", "i",
]  # fmt: skip
_FINALS = [
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l",
    "p", "l", "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "",
]  # fmt: skip
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3

# Korean family names written with two syllables; every other family name is one syllable.
_COMPOUND_FAMILY_NAMES = frozenset({"남궁", "제갈", "선우", "독고", "황보", "사공", "서문", "동방", "황목"})

# The usual spellings of common Korean family names, each mapped to one canonical spelling.
_FAMILY_VARIANTS: dict[str, tuple[str, ...]] = {
    "kim": ("gim", "ghim", "kym"),
    "lee": ("yi", "i", "rhee", "ri", "li", "yee", "rhie", "lie", "reeh"),
    "park": ("pak", "bak", "bahk", "bark", "pakh"),
    "choi": ("choe", "chwe", "choy", "chey"),
    "jung": ("jeong", "chung", "chong", "cheong", "jong", "joung", "jeung"),
    "kang": ("gang", "kahng"),
    "cho": ("jo", "joe", "joh"),
    "yoon": ("yun", "youn", "yune"),
    "jang": ("chang",),
    "lim": ("im", "rim", "yim", "leem", "rhim", "lyim"),
    "oh": ("o", "oe"),
    "seo": ("so", "suh", "sur"),
    "shin": ("sin", "shinn", "synn"),
    "kwon": ("gwon", "kwun", "kweon"),
    "hwang": ("whang",),
    "ahn": ("an", "ahnn"),
    "jeon": ("jun", "chun", "chon", "jon"),
    # 류 (North) and 유 (South) write the same family names (柳, 劉, 兪), so they are one key
    "yoo": ("yu", "you", "ryu", "ryoo", "rhyu", "lyu", "ryou", "yiu"),
    "ko": ("go", "koh", "goh"),
    "moon": ("mun", "moun"),
    "yang": ("ryang",),
    "son": ("sohn",),
    "bae": ("pae", "bai", "bea"),
    "baek": ("paek", "baik", "paik", "baeg", "back", "paeg"),
    "heo": ("hur", "huh", "ho", "hoh"),
    "noh": ("no", "roh", "ro", "rho", "nho"),
    "kwak": ("gwak",),
    "sung": ("seong",),
    "joo": ("ju", "chu", "choo"),
    "woo": ("u", "wu"),
    "koo": ("gu", "ku", "goo"),
    "jin": ("chin",),
    "ji": ("chi",),
    "chae": ("chai", "che"),
    "cheon": ("cheun",),
    "byun": ("byeon", "pyon", "pyun", "byon"),
    "hyun": ("hyeon", "hyon"),
    "ham": ("hahm",),
    "yeom": ("yum", "yom"),
    "yeo": ("yuh", "yeoh"),
    "eom": ("um", "uhm", "om"),
    "gil": ("kil",),
    "namgung": ("namkung", "namgoong"),
    "na": ("ra", "la", "nah"),  # 羅: 나 in the South, 라 in the North
}
# Common family names with one usual spelling (still recognised when a full name is split).
_FAMILY_SINGLE = (
    "han", "song", "hong", "nam", "min", "ha", "cha", "won", "bang", "ma", "do", "gong", "pyo",
    "tak", "kye", "seok", "seol", "wang", "geum", "yuk", "maeng", "mo", "guk", "pyeon", "myung", "gi",
)  # fmt: skip
_FAMILY_CANONICAL = {
    **{name: name for name in _FAMILY_SINGLE},
    **{v: canon for canon, variants in _FAMILY_VARIANTS.items() for v in (canon, *variants)},
}

# Folding rules in order: vowel spellings first (they contain consonants the later rules change).
_VOWEL_RULES = [
    ("young", "yong"), ("eo", "o"), ("eu", "u"), ("oo", "u"), ("ou", "u"),
    ("ee", "i"), ("ui", "i"), ("wu", "u"), ("oi", "oe"),
]  # fmt: skip
_CONSONANT_TABLE = str.maketrans({"g": "k", "d": "t", "b": "p", "r": "l"})
_COMPASS = {"north": "buk", "south": "nam", "northern": "buk", "southern": "nam"}
_SILENT_H = re.compile(r"([aeiouy])h(?![aeiouy])")  # Ahn/An, Oh/O, Ji-ah/Jia
_DOUBLED = re.compile(r"(.)\1+")
_NOT_LETTER = re.compile(r"[^a-z]+")
_NOT_WORD = re.compile(r"[^\w]+")


def has_hangul(text: str) -> bool:
    """True when the text holds at least one Hangul syllable.

    >>> has_hangul("김민지"), has_hangul("Kim Min-ji")
    (True, False)
    """
    return any(_HANGUL_FIRST <= ord(ch) <= _HANGUL_LAST for ch in text)


def romanise_hangul(text: str) -> str:
    """Revised Romanisation of Hangul syllables, one syllable at a time (as names are written).

    Other characters pass through unchanged.

    >>> romanise_hangul("정민지"), romanise_hangul("이영희")
    ('jeongminji', 'iyeonghui')
    """
    out = []
    for ch in unicodedata.normalize("NFC", text):
        code = ord(ch) - _HANGUL_FIRST
        if 0 <= code <= _HANGUL_LAST - _HANGUL_FIRST:
            out.append(_INITIALS[code // 588] + _MEDIALS[(code % 588) // 28] + _FINALS[code % 28])
        else:
            out.append(ch)
    return "".join(out)


def clean_name(text: str | None) -> str:
    """Lower case ASCII letters only: Hangul romanised, accents, apostrophes, hyphens, spaces dropped.

    >>> clean_name("Ch'oe Sŏng-hŭi")
    'choesonghui'
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    text = romanise_hangul(str(text)) if has_hangul(str(text)) else str(text)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _NOT_LETTER.sub("", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def fold_romanisation(letters: str) -> str:
    """Fold the spelling differences between romanisation systems in a string of letters.

    >>> fold_romanisation("kyeonghui"), fold_romanisation("kyunghee"), fold_romanisation("gyeonghui")
    ('kyonghi', 'kyunghi', 'kyonghi')
    >>> fold_romanisation("jiah") == fold_romanisation("jia")
    True
    """
    letters = _SILENT_H.sub(r"\1", letters)
    for old, new in _VOWEL_RULES:
        letters = letters.replace(old, new)
    letters = letters.replace("sh", "s").replace("ch", "j").replace("ck", "k").replace("c", "k").replace("ng", "N")
    letters = letters.translate(_CONSONANT_TABLE).replace("N", "ng")
    return _DOUBLED.sub(r"\1", letters)


def name_key(text: str | None, *, family: bool = False) -> str:
    """The romanisation-folded key of a given name, or of a family name (``family=True``).

    Family names first map through the table of usual variants; ``""`` means no name.

    >>> [name_key(s, family=True) for s in ("Lee", "Yi", "Rhee", "Ri", "I", "이")]
    ['li', 'li', 'li', 'li', 'li', 'li']
    >>> [name_key(s, family=True) for s in ("Park", "Pak", "Bak", "박")]
    ['palk', 'palk', 'palk', 'palk']
    """
    letters = clean_name(text)
    if family:
        letters = _FAMILY_CANONICAL.get(letters, letters)
    return fold_romanisation(letters)


def place_key(text: str | None) -> str:
    """Romanisation-folded key of a place: compass words and province suffixes read alike.

    ``North Hamgyong``, ``Hamgyeongbuk-do`` (RR) and ``Hamgyŏng-pukto`` (MR) meet, as do
    ``Ryanggang`` and ``Yanggang-do``.

    >>> place_key("North Hamgyong") == place_key("Hamgyeongbuk-do") == place_key("Hamgyŏng-pukto")
    True
    >>> place_key("Ryanggang") == place_key("Yanggang-do"), place_key("Kangwon Province")
    (True, 'kangwon')
    """
    words = clean_words(text)
    if len(words) > 1 and words[0] in _COMPASS:
        words = [*words[1:], _COMPASS[words[0]]]
    if words and words[-1] == "province":
        words = words[:-1]
    letters = "".join(words)
    if len(letters) > 4 and letters.endswith(("do", "to")):
        letters = letters[:-2]
    if letters.startswith(("ry", "ny")):
        letters = letters[1:]
    return fold_romanisation(letters)


def clean_words(text: str | None) -> list[str]:
    """The words of a text, each cleaned as :func:`clean_name` (hyphens and spaces split words).

    >>> clean_words("Hamgyŏng-pukto, North")
    ['hamgyong', 'pukto', 'north']
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return []
    return [w for w in (clean_name(part) for part in re.split(r"[\s,\-]+", str(text))) if w]


def coarse_name_key(text: str | None, *, family: bool = False) -> str:
    """:func:`name_key` with the back vowels ``o`` and ``u`` merged, ``ae`` and ``ye`` read as ``e``,
    and an initial ``r``/``l`` read as the South writes it (dropped before ``i`` or ``y``, else ``n``).

    The last two merge the spellings of 혜 (Hye, Hae) and the North's initial ㄹ with the South's
    ㅇ or ㄴ: 련/연 (Ryon, Yeon), 룡/용 (Ryong, Yong), 례/예 (Rye, Ye), 란/난 (Ran, Nan).

    >>> coarse_name_key("Jung") == coarse_name_key("Jeong") == coarse_name_key("Chŏng")
    True
    >>> coarse_name_key("Ryon-hui") == coarse_name_key("Yeonhee"), coarse_name_key("Hye") == coarse_name_key("Hae")
    (True, True)
    """
    key = _INITIAL_RIEUL.sub(_south_initial, name_key(text, family=family))
    return _DOUBLED.sub(r"\1", key.replace("u", "o").replace("ae", "e").replace("ye", "e"))


_INITIAL_RIEUL = re.compile(r"^l([aeiouwy])")


def _south_initial(match: re.Match[str]) -> str:
    vowel = match.group(1)
    return vowel if vowel in "iy" else "n" + vowel


def hangul_name(text: str | None) -> str:
    """The Hangul of a name without spaces or punctuation, or ``""`` when it has no Hangul.

    >>> hangul_name(" 김 민지 "), hangul_name("Kim Min-ji")
    ('김민지', '')
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)) or not has_hangul(str(text)):
        return ""
    return _NOT_WORD.sub("", unicodedata.normalize("NFC", str(text)))


def split_hangul_name(text: str) -> tuple[str, str]:
    """(family name, given name) of a Hangul full name: the first syllable, or two for compounds.

    >>> split_hangul_name("김민지"), split_hangul_name("남궁민수")
    (('김', '민지'), ('남궁', '민수'))
    """
    name = hangul_name(text)
    cut = 2 if name[:2] in _COMPOUND_FAMILY_NAMES else 1
    return name[:cut], name[cut:]


def split_full_name(text: str | None) -> tuple[str, str]:
    """(family name, given name) of a full name in either order.

    Hangul takes its first syllable(s) as the family name. A romanised name takes as family name
    the first word when it is a known Korean family name, else the last word when that is one,
    else the last word (the Western order).

    >>> split_full_name("Kim Min-ji"), split_full_name("Min-ji Kim"), split_full_name("Anna Smith")
    (('Kim', 'Min-ji'), ('Kim', 'Min-ji'), ('Smith', 'Anna'))
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return "", ""
    if has_hangul(str(text)):
        return split_hangul_name(str(text))
    words = [w for w in re.split(r"[\s,]+", str(text).strip()) if w]
    if len(words) < 2:
        return (words[0], "") if words else ("", "")
    if _is_family_name(words[0]) or ("," in str(text) and not _is_family_name(words[-1])):
        return words[0], " ".join(words[1:])
    return words[-1], " ".join(words[:-1])


def _is_family_name(word: str) -> bool:
    return clean_name(word) in _FAMILY_CANONICAL
