"""Made-up identities and the ways organisations write them down.

Korean family names (weighted by their approximate frequency) and given-name syllables are combined
at random, so no simulated person is a real one. Hangul is romanised syllable by syllable in four
systems: Revised Romanization (``revised``), McCune-Reischauer (``mccune``, with the voicing of a
second syllable), the DPRK's own practice (``dprk``: syllables spaced, no voicing, ``o``/``u`` for
ㅓ/ㅡ), and the irregular spellings people actually use (``common``: Lee, Park, Young, Hee, ...).
North Korean orthography keeps an initial ㄹ (리, 류, 련) where South Korean writes 이, 유, 연.

The functions here take and return numpy arrays, one value per record, so a list of tens of
thousands of records is written without a Python loop per record (typos excepted: only the few
records that get one are edited one by one).
"""

from __future__ import annotations

import numpy as np

SYSTEMS = ("revised", "mccune", "dprk", "common")
NAME_STYLES = ("hyphen", "space", "joined")

_RR_INITIAL = "g kk n d tt r m b pp s ss - j jj ch k t p h".split()
_MR_INITIAL = "k kk n t tt r m p pp s ss - ch tch ch' k' t' p' h".split()
_MR_VOICED = "g kk n d tt r m b pp s ss - j tch ch' k' t' p' h".split()
_DPRK_INITIAL = "k kk n t tt r m p pp s ss - j jj ch kh th ph h".split()
_RR_MEDIAL = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()
_MR_MEDIAL = "a ae ya yae ŏ e yŏ ye o wa wae oe yo u wŏ we wi yu ŭ ŭi i".split()
_DPRK_MEDIAL = "a ae ya yae o e yo ye o wa wae oe yo u wo we wi yu u ui i".split()
_FINAL = "- k k k n n n t l k m l l l p l m p p t t ng t t k t p t".split()
_VOICED_FINALS = {0, 4, 8, 16, 21}  # none, ㄴ, ㄹ, ㅁ, ㅇ: a following plosive is voiced in McCune-Reischauer
# Hangul typing slips: a neighbouring vowel (영/용, 은/운, 희/히)
_MEDIAL_SLIP = {0: 4, 4: 8, 8: 4, 6: 12, 12: 6, 13: 18, 18: 13, 1: 5, 5: 1, 19: 20, 20: 19, 2: 6, 17: 12}
_NORTH_TO_SOUTH = {"리": "이", "류": "유", "림": "임", "로": "노", "라": "나", "량": "양",
                   "련": "연", "룡": "용", "례": "예", "란": "난", "려": "여"}

# hangul (North Korean spelling), weight (% of people), spellings in use, most common first
_FAMILY_TABLE = """
김 21.5 Kim Gim Kimm
리 14.7 Lee Yi Rhee Ri Li I
박 8.4 Park Pak Bak Bark
최 4.7 Choi Choe Choy
정 4.4 Jung Jeong Chung Jong Cheong
강 2.3 Kang Gang
조 2.1 Cho Jo Joe
윤 2.0 Yoon Yun Youn
장 2.0 Jang Chang
림 1.7 Lim Im Rim Yim
한 1.5 Han Hahn
오 1.5 Oh O
서 1.5 Seo Suh So
신 1.4 Shin Sin
권 1.4 Kwon Gwon Kweon
황 1.4 Hwang Whang
안 1.3 Ahn An
송 1.3 Song
전 1.1 Jeon Jun Chun Chon
홍 1.1 Hong
류 1.1 Yoo Yu Ryu You Lyu
고 0.9 Ko Go Koh
문 0.9 Moon Mun
량 0.9 Yang Ryang
손 0.9 Son Sohn
배 0.8 Bae Pae
백 0.7 Baek Paik Paek Back
허 0.6 Heo Huh Hur Ho
남 0.5 Nam
심 0.5 Shim Sim
로 0.4 Noh Roh No Ro
하 0.4 Ha
곽 0.4 Kwak Gwak
차 0.4 Cha
주 0.4 Joo Ju Chu
우 0.4 Woo U
구 0.4 Koo Ku Gu
라 0.3 Na Ra La
방 0.3 Bang Pang
현 0.2 Hyun Hyeon Hyon
"""

# hangul (North Korean spelling), where it is used (F/M: women's/men's names; 1/2: first/second
# syllable), spellings in use, most common first
_SYLLABLE_TABLE = """
미 F1 Mi Mee
영 F1F2M1M2 Young Yong Yeong Yung
희 F2 Hee Hui Hi Heui
순 F1F2 Soon Sun
옥 F1F2 Ok Ock
금 F1 Keum Kum Geum Gum
은 F1F2 Eun Un Eon
정 F1F2M1 Jung Jeong Chung Jong
명 F1M1 Myung Myong Myeong
숙 F2 Sook Suk
화 F2 Hwa
혜 F1 Hye Hae
선 F1F2 Sun Seon Son
향 F1F2 Hyang
경 F1F2 Kyung Kyong Gyeong
성 F1M1 Sung Seong Song
춘 F1 Choon Chun
주 F2 Joo Ju Chu
현 F2M2 Hyun Hyeon Hyon
지 F1 Ji Jee Chi
수 F1M2 Soo Su
진 F2M2 Jin Chin
연 F2 Yeon Yun Yon
련 F1 Ryun Ryon Yeon Lyun
란 F2 Ran Lan
애 F2 Ae
설 F1 Sul Seol Sol
단 F2 Dan Tan
봉 F1M1 Bong Pong
해 F1F2 Hae
아 F2 Ah A
실 F2 Sil Shil
복 F1 Bok Pok
매 F2 Mae
자 F2 Ja Cha
례 F2 Rye Ye Lye
심 F2 Sim Shim
철 M1M2 Chul Cheol Chol
호 M2 Ho
민 M1M2 Min
광 M1 Kwang Gwang
일 M2 Il
준 M1M2 Joon Jun
남 M1 Nam
국 M2 Kook Guk Kuk
혁 M2 Hyuk Hyeok Hyok
룡 M1 Ryong Yong
석 M2 Suk Seok Sok
학 M2 Hak
길 M1 Kil Gil
동 M1 Dong Tong
"""


def _parse_table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def _jamo(syllable: str) -> tuple[int, int, int]:
    code = ord(syllable) - 0xAC00
    return code // 588, (code % 588) // 28, code % 28


def _compose(initial: int, medial: int, final: int) -> str:
    return chr(0xAC00 + (initial * 21 + medial) * 28 + final)


def _romanise_syllable(syllable: str, system: str, voiced: bool = False) -> str:
    if not "가" <= syllable <= "힣":
        return syllable
    initial, medial, final = _jamo(syllable)
    if system == "revised":
        parts = (_RR_INITIAL[initial], _RR_MEDIAL[medial], _FINAL[final])
    elif system == "mccune":
        parts = ((_MR_VOICED if voiced else _MR_INITIAL)[initial], _MR_MEDIAL[medial], _FINAL[final])
    else:
        parts = (_DPRK_INITIAL[initial], _DPRK_MEDIAL[medial], _FINAL[final])
    return "".join(p for p in parts if p != "-")


def _mccune_apostrophe(system: str, previous: str, roman: str) -> str:
    """McCune-Reischauer writes ㄴ+ㄱ as n'g, so that it is not read as ㅇ (ng)."""
    if system == "mccune" and previous and _jamo(previous)[2] == 4 and roman.startswith("g"):
        return "'" + roman
    return roman


def _ends_voiced(syllable: str) -> bool:
    return "가" <= syllable <= "힣" and _jamo(syllable)[2] in _VOICED_FINALS


def romanise(text: str, system: str = "revised") -> str:
    """Romanise Hangul syllable by syllable (no sound changes across syllables, as for names;
    McCune-Reischauer voices a plosive after a vowel, ㄴ, ㄹ, ㅁ or ㅇ). Other characters pass through.

    >>> romanise("미영"), romanise("미영", "mccune"), romanise("순자", "mccune"), romanise("리", "dprk")
    ('miyeong', 'miyŏng', 'sunja', 'ri')
    """
    out, previous = [], ""
    for syllable in text:
        roman = _romanise_syllable(syllable, system, voiced=bool(previous) and _ends_voiced(previous))
        out.append(_mccune_apostrophe(system, previous, roman))
        previous = syllable if "가" <= syllable <= "힣" else ""
    return "".join(out)


def south_spelling(hangul: str, first: bool = True) -> str:
    """The South Korean spelling of a North Korean name syllable (initial ㄹ dropped or made ㄴ);
    only a first syllable changes.

    >>> south_spelling("리"), south_spelling("련"), south_spelling("련", first=False)
    ('이', '연', '련')
    """
    return _NORTH_TO_SOUTH.get(hangul, hangul) if first else hangul


class _NameTable:
    """Hangul in both orthographies, strict romanisations and weighted common spellings."""

    def __init__(self, hangul: list[str], spellings: list[list[str]], first: bool) -> None:
        self.hangul = {"north": np.array(hangul, dtype=object)}
        self.hangul["south"] = np.array([south_spelling(h, first) for h in hangul], dtype=object)
        width = max(len(s) for s in spellings)
        self.common = np.array([[v.lower() for v in s] + [""] * (width - len(s)) for s in spellings], dtype=object)
        weights = np.array([[0.4**k if k < len(s) else 0.0 for k in range(width)] for s in spellings])
        self.cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        self.strict = {
            (system, spelling, voiced): np.array(
                [_romanise_syllable(h, system, voiced) for h in self.hangul[spelling]], dtype=object
            )
            for system in ("revised", "mccune", "dprk")
            for spelling in ("north", "south")
            for voiced in (False, True)
        }
        self.ends_voiced = {k: np.array([_ends_voiced(h) for h in v]) for k, v in self.hangul.items()}
        self.ends_n = {k: np.array([_jamo(h)[2] == 4 for h in v]) for k, v in self.hangul.items()}

    def common_spelling(self, index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(len(index))
        pick = (u[:, None] > self.cumulative[index]).sum(axis=1)
        return self.common[index, np.minimum(pick, self.common.shape[1] - 1)]

    def romanised(self, index, systems, orthography, rng, voiced=None) -> np.ndarray:
        """One romanisation per record: ``systems`` holds indices into SYSTEMS."""
        voiced = np.zeros(len(index), dtype=bool) if voiced is None else voiced
        out = self.common_spelling(index, rng)
        for code, system in enumerate(SYSTEMS[:3]):
            spelling = "north" if system == "dprk" else orthography
            for flag in (False, True):
                rows = (systems == code) & (voiced == flag)
                out[rows] = self.strict[(system, spelling, flag)][index[rows]]
        return out


_FAMILY_ROWS = _parse_table(_FAMILY_TABLE)
_SYLLABLE_ROWS = _parse_table(_SYLLABLE_TABLE)
FAMILY_NAMES = _NameTable([r[0] for r in _FAMILY_ROWS], [r[2:] for r in _FAMILY_ROWS], first=True)
FAMILY_WEIGHTS = np.array([float(r[1]) for r in _FAMILY_ROWS]) / sum(float(r[1]) for r in _FAMILY_ROWS)
FIRST_SYLLABLES = _NameTable([r[0] for r in _SYLLABLE_ROWS], [r[2:] for r in _SYLLABLE_ROWS], first=True)
SECOND_SYLLABLES = _NameTable([r[0] for r in _SYLLABLE_ROWS], [r[2:] for r in _SYLLABLE_ROWS], first=False)


def _pool(sex: str, position: int) -> np.ndarray:
    tag = f"{sex}{position}"
    return np.array([k for k, r in enumerate(_SYLLABLE_ROWS) if tag in r[1]])


def draw_names(male: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random made-up names: a family name index (by frequency) and two given-name syllable indices
    (women's or men's syllables, never the same twice).

    >>> family, first, second = draw_names(np.array([False, True]), np.random.default_rng(1))
    >>> hangul_names(family, first, second, "north").tolist()
    ['최미옥', '남룡학']
    """
    n = len(male)
    family = rng.choice(len(FAMILY_WEIGHTS), size=n, p=FAMILY_WEIGHTS)
    first = np.empty(n, dtype=np.int64)
    second = np.empty(n, dtype=np.int64)
    for sex, rows in (("F", ~male), ("M", male)):
        first[rows] = rng.choice(_pool(sex, 1), size=int(rows.sum()))
        pool = _pool(sex, 2)
        second[rows] = rng.choice(pool, size=int(rows.sum()))
        same = rows & (first == second)
        second[same] = rng.choice(pool[~np.isin(pool, first[same])] if same.any() else pool, size=int(same.sum()))
    return family, first, second


def hangul_names(family: np.ndarray, first: np.ndarray, second: np.ndarray, orthography: str) -> np.ndarray:
    """Full names in Hangul (family name first, no space) in ``north`` or ``south`` orthography.

    >>> hangul_names(np.array([1]), np.array([23]), np.array([2]), "south").tolist()
    ['이연희']
    """
    return (
        FAMILY_NAMES.hangul[orthography][family]
        + FIRST_SYLLABLES.hangul[orthography][first]
        + SECOND_SYLLABLES.hangul[orthography][second]
    )


def family_names(family: np.ndarray, systems: np.ndarray, orthography: str, rng: np.random.Generator) -> np.ndarray:
    """Romanised family names, lower case; ``systems`` indexes SYSTEMS per record.

    >>> family_names(np.array([1, 1, 1]), np.array([0, 1, 2]), "south", np.random.default_rng(0)).tolist()
    ['i', 'i', 'ri']
    """
    return FAMILY_NAMES.romanised(family, systems, orthography, rng)


def given_names(
    first: np.ndarray,
    second: np.ndarray,
    systems: np.ndarray,
    styles: np.ndarray,
    orthography: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """Romanised given names, capitalised: ``styles`` indexes NAME_STYLES per record
    ("Mi-yeong" or "Mi-Yeong", "Mi Yeong", "Miyeong"). The DPRK system always spaces its syllables.

    >>> given_names(np.array([0, 0]), np.array([1, 1]), np.array([0, 1]), np.array([2, 0]), "north",
    ...             np.random.default_rng(0)).tolist()
    ['Miyeong', 'Mi-yŏng']
    """
    one = FIRST_SYLLABLES.romanised(first, systems, orthography, rng)
    voiced = FIRST_SYLLABLES.ends_voiced[orthography][first] & (systems == 1)
    two = SECOND_SYLLABLES.romanised(second, systems, orthography, rng, voiced)
    styles = np.where(systems == 2, 1, styles)
    upper_second = (styles == 1) | ((styles == 0) & (rng.random(len(first)) < 0.5))
    two = np.where(upper_second, _capitalise(two), two)
    ends_n = FIRST_SYLLABLES.ends_n[orthography][first]
    n_g = ends_n & (systems == 1) & (styles == 2) & np.char.startswith(two.astype(str), "g")
    separator = np.array(["-", " ", ""], dtype=object)[styles]
    return _capitalise(one) + np.where(n_g, "'", separator) + two  # McCune-Reischauer n'g


def _capitalise(values: np.ndarray) -> np.ndarray:
    return np.array([v[:1].upper() + v[1:] for v in values], dtype=object)


_STRIP = str.maketrans({"ŏ": "o", "ŭ": "u", "Ŏ": "O", "Ŭ": "U", "'": None, "’": None})


def strip_diacritics(values: np.ndarray) -> np.ndarray:
    """McCune-Reischauer as most databases store it: no breves, no apostrophes.

    >>> strip_diacritics(np.array(["Ch'ŏng-ŭn"], dtype=object)).tolist()
    ['Chong-un']
    """
    return np.array([v.translate(_STRIP) for v in values], dtype=object)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def add_typos(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """One character edit (a letter dropped, doubled, replaced, or two swapped; in Hangul a
    neighbouring vowel) in a share ``rate`` of the non-empty values.

    >>> add_typos(np.array(["Kim", "Park"], dtype=object), 1.0, np.random.default_rng(3)).tolist()
    ['Ki', 'Prak']
    """
    out = values.copy()
    hit = np.flatnonzero((rng.random(len(values)) < rate) & (np.array([len(v) for v in values]) > 1))
    kinds, places, letters = rng.integers(0, 4, len(hit)), rng.random(len(hit)), rng.integers(0, 26, len(hit))
    for row, kind, place, letter in zip(hit, kinds, places, letters, strict=True):
        out[row] = _edit(values[row], int(kind), place, _LETTERS[letter])
    return out


def _edit(text: str, kind: int, place: float, letter: str) -> str:
    if "가" <= text[0] <= "힣":
        return _hangul_slip(text, int(place * len(text)))
    at = 1 + int(place * (len(text) - 1))  # the first letter is rarely mistyped
    if kind == 0:
        return text[:at] + text[at + 1 :]
    if kind == 1:
        return text[:at] + text[at] + text[at:]
    if kind == 2:
        return text[:at] + (letter.upper() if text[at].isupper() else letter) + text[at + 1 :]
    at = min(at, len(text) - 2) if len(text) > 2 else 0
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]


def _hangul_slip(text: str, at: int) -> str:
    if not "가" <= text[at] <= "힣":
        return text
    initial, medial, final = _jamo(text[at])
    return text[:at] + _compose(initial, _MEDIAL_SLIP.get(medial, 20), final) + text[at + 1 :]


# Places: canonical (English) name -> spelling in each style an organisation may use
_PLACE_TABLE = """
North Hamgyong | Hamgyeongbuk-do | Hamgyŏng-pukto | 함경북도 | 咸镜北道
South Hamgyong | Hamgyeongnam-do | Hamgyŏng-namdo | 함경남도 | 咸镜南道
Ryanggang | Yanggang-do | Ryanggang-do | 량강도 | 两江道
Chagang | Jagang-do | Chagang-do | 자강도 | 慈江道
North Pyongan | Pyeonganbuk-do | P'yŏngan-pukto | 평안북도 | 平安北道
South Pyongan | Pyeongannam-do | P'yŏngan-namdo | 평안남도 | 平安南道
Pyongyang | Pyeongyang | P'yŏngyang | 평양 | 平壤
North Hwanghae | Hwanghaebuk-do | Hwanghae-pukto | 황해북도 | 黄海北道
South Hwanghae | Hwanghaenam-do | Hwanghae-namdo | 황해남도 | 黄海南道
Kangwon | Gangwon-do | Kangwŏn-do | 강원도 | 江原道
Rason | Raseon | Rasŏn | 라선 | 罗先
Nampo | Nampo | Namp'o | 남포 | 南浦
Jilin | Jilin | Jilin | 길림성 | 吉林省
Liaoning | Liaoning | Liaoning | 료녕성 | 辽宁省
Heilongjiang | Heilongjiang | Heilongjiang | 흑룡강성 | 黑龙江省
Shandong | Shandong | Shandong | 산동성 | 山东省
Hebei | Hebei | Hebei | 하북성 | 河北省
Inner Mongolia | Inner Mongolia | Inner Mongolia | 내몽골 | 内蒙古
Beijing | Beijing | Beijing | 북경 | 北京
Tianjin | Tianjin | Tianjin | 천진 | 天津
Guangdong | Guangdong | Guangdong | 광동성 | 广东省
"""
PLACE_STYLES = ("english", "revised", "mccune", "hangul", "chinese")
_PLACES = {row[0]: dict(zip(PLACE_STYLES, row, strict=True)) for row in
           ([c.strip() for c in line.split("|")] for line in _PLACE_TABLE.strip().splitlines())}


def place_spelling(place: str, style: str) -> str:
    """How an organisation writing in ``style`` spells a place (unknown places stay as they are).

    >>> place_spelling("North Hamgyong", "hangul"), place_spelling("Jilin", "chinese"), place_spelling("X", "hangul")
    ('함경북도', '吉林省', 'X')
    """
    return _PLACES.get(place, {}).get(style, place)


def spell_places(places: np.ndarray, styles: np.ndarray) -> np.ndarray:
    """Spell each record's place in its style (``styles`` indexes PLACE_STYLES).

    >>> spell_places(np.array(["Jilin", "Jilin"], dtype=object), np.array([0, 3])).tolist()
    ['Jilin', '길림성']
    """
    unique, which = np.unique(places.astype(str), return_inverse=True)
    spellings = np.array([[place_spelling(p, style) for style in PLACE_STYLES] for p in unique], dtype=object)
    return spellings.reshape(len(unique), len(PLACE_STYLES))[which, styles]


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y.%m.%d", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d")


def format_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray, date_format: str) -> np.ndarray:
    """Dates written as an organisation writes them (one of DATE_FORMATS).

    >>> format_dates(np.array([1990]), np.array([3]), np.array([7]), "%d/%m/%Y").tolist()
    ['07/03/1990']
    """
    parts = {
        "%Y": np.char.zfill(year.astype(str), 4),
        "%m": np.char.zfill(month.astype(str), 2),
        "%d": np.char.zfill(day.astype(str), 2),
    }
    out = np.full(len(year), "", dtype=object)
    rest = date_format
    while rest:
        token = rest[:2] if rest[:2] in parts else rest[0]
        out = out + (parts[token].astype(object) if token in parts else token)
        rest = rest[len(token) :]
    return out


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Number of days in each month (leap years included).

    >>> days_in_month(np.array([2000, 1900, 2023]), np.array([2, 2, 4])).tolist()
    [29, 28, 30]
    """
    start = (year - 1970) * 12 + month - 1
    return (
        np.asarray(start + 1, dtype="datetime64[M]").astype("datetime64[D]")
        - np.asarray(start, dtype="datetime64[M]").astype("datetime64[D]")
    ).astype(np.int64)
