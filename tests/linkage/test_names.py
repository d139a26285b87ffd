"""Romanisation-aware name keys, on spellings worked by hand from the RR and MR tables."""

import pytest

from darkfigure.linkage.names import (
    clean_name,
    coarse_name_key,
    name_key,
    place_key,
    romanise_hangul,
    split_full_name,
    split_hangul_name,
)


@pytest.mark.parametrize(
    "variants",
    [
        ["Kim", "Gim", "KIM", "김"],
        ["Lee", "Yi", "Rhee", "Ri", "I", "이"],
        ["Park", "Pak", "Bak", "박"],
        ["Choi", "Choe", "Ch'oe", "최"],
        ["Jung", "Jeong", "Chung", "Chŏng", "정"],
        ["Kang", "Gang", "강"],
        ["Lim", "Im", "Rim", "임"],
        ["Shin", "Sin", "신"],
        ["Ahn", "An", "안"],
        ["Han", "한"],
    ],
)
def test_family_name_variants_share_one_key(variants):
    assert len({name_key(v, family=True) for v in variants}) == 1, [name_key(v, family=True) for v in variants]


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["Min-Jung", "Min Jung", "minjung", "MINJUNG"], "minjung"),  # hyphens and spaces
        (["Seo-yeon", "Sŏ-yŏn", "Soyon", "서연"], "soyon"),  # eo / ŏ -> o
        (["Eun-ji", "Ŭn-chi", "Unji", "은지"], "unji"),  # eu / ŭ -> u, ch -> j
        (["Young-hee", "Yeong-hui", "Yŏng-hŭi", "영희"], "yonghi"),  # young / yeong, hee / hui
        (["Soo-kyung", "Su-kyung"], "sukyung"),  # oo -> u
        (["Ji-ah", "Jia"], "jia"),  # silent h after a vowel
        (["Kyung-ja", "Gyung-ja"], "kyungja"),  # g / k
        (["Bo-ra", "Po-ra"], "pola"),  # b / p, r / l
    ],
)
def test_given_name_spellings_share_one_key(spellings, key):
    assert [name_key(s) for s in spellings] == [key] * len(spellings)


def test_coarse_key_merges_passport_and_rr_vowels():
    # 정 is "Jung" on passports, "Jeong" in RR, "Chŏng" in MR; the fine key keeps jung apart from jong
    assert name_key("Jung") != name_key("Jeong")
    assert coarse_name_key("Jung") == coarse_name_key("Jeong") == coarse_name_key("Chŏng") == "jong"
    assert coarse_name_key("Hyun") == coarse_name_key("Hyeon") == coarse_name_key("Hyŏn")


def test_different_names_keep_different_keys():
    assert name_key("Min-ji") != name_key("Min-jae")
    assert name_key("Kim", family=True) != name_key("Kang", family=True)
    assert name_key("Anna") == "ana" and name_key("Hannah") == "hana"  # doubled letters, silent h


def test_revised_romanisation_of_hangul_by_hand():
    # 김 = ㄱ(g) + ㅣ(i) + ㅁ(m); 민 = ㅁ+ㅣ+ㄴ; 정 = ㅈ(j) + ㅓ(eo) + ㅇ(ng)
    # 희 = ㅎ(h) + ㅢ(ui); 혁 = ㅎ + ㅕ(yeo) + ㄱ(k)
    assert romanise_hangul("김민정") == "gimminjeong"
    assert romanise_hangul("희") == "hui" and romanise_hangul("혁") == "hyeok"
    assert romanise_hangul("꽃") == "kkot"  # ㄲ(kk) + ㅗ(o) + ㅊ final (t)
    assert romanise_hangul("A김") == "Agim"


def test_clean_name_drops_marks_and_separators():
    assert clean_name("  Ch'oe  Sŏng-hŭi ") == "choesonghui"
    assert clean_name(None) == "" and clean_name(float("nan")) == ""


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Kim Min-ji", ("Kim", "Min-ji")),
        ("Min-ji Kim", ("Kim", "Min-ji")),
        ("Ri Yong Hui", ("Ri", "Yong Hui")),
        ("Anna Smith", ("Smith", "Anna")),
        ("Smith, Anna", ("Smith", "Anna")),
        ("김민지", ("김", "민지")),
        ("남궁 민수", ("남궁", "민수")),
        ("Madonna", ("Madonna", "")),
        (None, ("", "")),
    ],
)
def test_split_full_name(full, parts):
    assert split_full_name(full) == parts


def test_split_hangul_compound_family_name():
    assert split_hangul_name("제갈공명") == ("제갈", "공명")
    assert split_hangul_name("이순신") == ("이", "순신")


def test_place_key_reads_provinces_alike():
    assert place_key("North Hamgyong") == place_key("Hamgyeongbuk-do") == place_key("Hamgyŏng-pukto")
    assert place_key("South Pyongan") == place_key("P'yŏngan-namdo") == place_key("Pyeongannam-do")
    assert place_key("Ryanggang") == place_key("Yanggang-do")
    assert place_key("North Hamgyong") != place_key("South Hamgyong")
