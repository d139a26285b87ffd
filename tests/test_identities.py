"""Made-up identities: romanisation systems worked by hand, spelling variants, typos, dates, places."""

import numpy as np
import pytest

from darkfigure.simulate import identities as ids


@pytest.mark.parametrize(
    ("hangul", "system", "expected"),
    [
        # worked by hand from the Revised Romanization and McCune-Reischauer tables
        ("미영", "revised", "miyeong"),
        ("미영", "mccune", "miyŏng"),
        ("정은", "revised", "jeongeun"),
        ("정은", "mccune", "chŏngŭn"),
        ("순자", "mccune", "sunja"),  # ㅈ after ㄴ is voiced
        ("옥순", "mccune", "oksun"),  # ㅅ is never voiced
        ("영철", "mccune", "yŏngch'ŏl"),  # aspirated ㅊ stays
        ("영철", "revised", "yeongcheol"),
        ("은경", "mccune", "ŭn'gyŏng"),  # an apostrophe keeps n-g apart from ng
        ("희", "revised", "hui"),
        ("희", "mccune", "hŭi"),
        ("최", "mccune", "ch'oe"),
        ("설주", "dprk", "solju"),  # DPRK practice: ㅓ as o, no voicing marks needed for ㅈ
        ("경희", "dprk", "kyonghui"),
        ("리", "dprk", "ri"),
        ("김", "revised", "gim"),
        ("박", "revised", "bak"),
        ("A김", "revised", "Agim"),
    ],
)
def test_romanise_by_hand(hangul, system, expected):
    assert ids.romanise(hangul, system) == expected


def test_north_and_south_spelling():
    assert [ids.south_spelling(h) for h in "리류림로련룡김"] == list("이유임노연용김")
    assert ids.south_spelling("례", first=False) == "례"


def test_common_spellings_of_lee_and_park_all_occur(seed):
    rng = np.random.default_rng(seed)
    lee = int(np.flatnonzero(ids.FAMILY_NAMES.hangul["north"] == "리")[0])
    park = int(np.flatnonzero(ids.FAMILY_NAMES.hangul["north"] == "박")[0])
    common = np.full(4000, 3)
    seen_lee = set(ids.family_names(np.full(4000, lee), common, "south", rng))
    seen_park = set(ids.family_names(np.full(4000, park), common, "south", rng))
    assert {"lee", "yi", "rhee", "ri", "li", "i"} <= seen_lee
    assert {"park", "pak", "bak"} <= seen_park
    values, counts = np.unique(ids.family_names(np.full(4000, lee), common, "south", rng), return_counts=True)
    assert values[np.argmax(counts)] == "lee"  # the most common spelling comes first in the table


def test_strict_systems_follow_the_orthography(seed):
    rng = np.random.default_rng(seed)
    lee = np.array([int(np.flatnonzero(ids.FAMILY_NAMES.hangul["north"] == "리")[0])] * 3)
    systems = np.array([0, 1, 2])
    assert ids.family_names(lee, systems, "north", rng).tolist() == ["ri", "ri", "ri"]
    assert ids.family_names(lee, systems, "south", rng).tolist() == ["i", "i", "ri"]  # DPRK keeps ㄹ


def test_given_name_styles(seed):
    rng = np.random.default_rng(seed)
    mi, young = np.array([0] * 3), np.array([1] * 3)
    revised = np.zeros(3, dtype=int)
    out = ids.given_names(mi, young, revised, np.array([0, 1, 2]), "south", rng).tolist()
    assert out[0] in ("Mi-yeong", "Mi-Yeong") and out[1:] == ["Mi Yeong", "Miyeong"]
    dprk = ids.given_names(mi, young, np.full(3, 2), np.array([0, 1, 2]), "south", rng).tolist()
    assert dprk == ["Mi Yong"] * 3  # the DPRK system always spaces syllables


def test_mccune_voices_second_syllable_after_voiced_ending(seed):
    rng = np.random.default_rng(seed)
    rows = ids._SYLLABLE_ROWS
    sun, ja, ok = (next(k for k, r in enumerate(rows) if r[0] == h) for h in "순자옥")
    names = ids.given_names(np.array([sun, ok]), np.array([ja, ja]), np.array([1, 1]), np.array([2, 2]), "south", rng)
    assert names.tolist() == ["Sunja", "Okcha"]
    eun, kyung = (next(k for k, r in enumerate(rows) if r[0] == h) for h in "은경")
    joined = ids.given_names(np.array([eun]), np.array([kyung]), np.array([1]), np.array([2]), "south", rng)
    assert joined.tolist() == ["Ŭn'gyŏng"]


def test_drawn_names_never_repeat_a_syllable_and_follow_sex(seed):
    rng = np.random.default_rng(seed)
    male = rng.random(5000) < 0.5
    family, first, second = ids.draw_names(male, rng)
    assert (first != second).all()
    tags = np.array([r[1] for r in ids._SYLLABLE_ROWS])
    assert all("M1" in t for t in tags[first[male]]) and all("F1" in t for t in tags[first[~male]])
    assert all("F2" in t for t in tags[second[~male]])
    kim = np.mean(ids.FAMILY_NAMES.hangul["north"][family] == "김")
    assert ids.FAMILY_WEIGHTS[0] > 0.2 and kim == pytest.approx(ids.FAMILY_WEIGHTS[0], abs=0.02)  # Kim: a fifth


def _osa_distance(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment)."""
    d = [[max(i, j) if min(i, j) == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_typos_are_single_edits_at_the_given_rate(seed):
    rng = np.random.default_rng(seed)
    names = np.array(["Kim", "Park", "Mi-yeong", "Choi", "Soon-hee"] * 800, dtype=object)
    typed = ids.add_typos(names, 0.2, rng)
    distances = np.array([_osa_distance(a, b) for a, b in zip(names, typed, strict=True)])
    assert set(distances) <= {0, 1}
    assert distances.mean() == pytest.approx(0.2 * 0.98, abs=0.02)  # a few edits leave the name as it was
    assert (ids.add_typos(names, 0.0, rng) == names).all()
    assert ids.add_typos(np.array(["", "K"], dtype=object), 1.0, rng).tolist() == ["", "K"]


def test_hangul_typo_changes_one_vowel(seed):
    rng = np.random.default_rng(seed)
    typed = ids.add_typos(np.array(["김영희"] * 50, dtype=object), 1.0, rng)
    for value in typed:
        changed = [(a, b) for a, b in zip("김영희", value, strict=True) if a != b]
        assert len(changed) == 1
        assert ids._jamo(changed[0][0])[0] == ids._jamo(changed[0][1])[0]  # same initial consonant


def test_strip_diacritics():
    assert ids.strip_diacritics(np.array(["Ch'ŏl-ŭn", "Hŭi"], dtype=object)).tolist() == ["Chol-un", "Hui"]


@pytest.mark.parametrize(
    ("date_format", "expected"),
    [("%Y-%m-%d", "1987-02-09"), ("%d/%m/%Y", "09/02/1987"), ("%Y.%m.%d", "1987.02.09"), ("%Y%m%d", "19870209")],
)
def test_date_formats(date_format, expected):
    assert ids.format_dates(np.array([1987]), np.array([2]), np.array([9]), date_format).tolist() == [expected]


def test_days_in_month():
    assert ids.days_in_month(np.array([2024, 2023, 2100, 2023]), np.array([2, 2, 2, 12])).tolist() == [29, 28, 28, 31]


def test_place_spellings():
    assert ids.place_spelling("Ryanggang", "hangul") == "량강도"
    assert ids.place_spelling("North Hamgyong", "mccune") == "Hamgyŏng-pukto"
    assert ids.place_spelling("Liaoning", "chinese") == "辽宁省"
    assert ids.place_spelling("Jilin", "revised") == "Jilin"
    assert ids.place_spelling("Capital", "hangul") == "Capital"
    places = np.array(["Jilin", "Capital", "Jilin"], dtype=object)
    assert ids.spell_places(places, np.array([4, 3, 0])).tolist() == ["吉林省", "Capital", "Jilin"]
