"""Name search through word pairs in the blind index, and the upgrade of a store indexed before pairs."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from darkfigure.casestore import FAST_TEST_HASHER, CaseInput, KeyRing, open_store
from darkfigure.casestore.models import name_tokens, store_check

# (given, family, middle): the searches below are worked out by hand from this list
PEOPLE = [
    ("Minji", "Kim", None),
    ("Minji", "Lee", None),
    ("Seoyeon", "Kim", None),
    ("Minji", "Kim", "Ara"),
    ("김민지", None, None),
]
EXPECTED = {  # search -> how many of PEOPLE have every word
    "Minji Kim": 2, "kim minji": 2, "Kim": 3, "Minji": 3, "Minji Kim Ara": 1, "Ara Kim": 1, "Lee Kim": 0,
    "Seoyeon Lee": 0, "김민지": 1, "김 민지": 1, "민지": 1, "Minji Minji": 3,
}


@pytest.fixture()
def store(tmp_path):
    key = tmp_path / "case.key"
    KeyRing.generate().write(key)
    store = open_store(tmp_path / "cases.db", key, password_hasher=FAST_TEST_HASHER)
    org = store.create_organisation("Shelter")
    store.worker = store.create_user(org, "kim", "kim password 12", "caseworker")
    for given, family, middle in PEOPLE:
        fields = {"prs_FirstName": given, "prs_SecondName": family, "prs_MiddleName": middle}
        store.create_case(store.worker, CaseInput({k: v for k, v in fields.items() if v}))
    yield store
    store.close()


@pytest.mark.parametrize(("search", "count"), sorted(EXPECTED.items()))
def test_every_word_must_match(store, search, count):
    assert store.list_cases(store.worker, search=search).total == count


def test_a_store_indexed_before_pairs_gets_them_on_open(store, tmp_path):
    with store.engine.begin() as conn:  # back to version 1: word tokens only (one per word, 4 + 4 + ...)
        pairs = conn.execute(select(func.count()).select_from(name_tokens)).scalar_one()
        conn.execute(delete(name_tokens))
        conn.execute(update(store_check).values(name_index=1))
    assert store.list_cases(store.worker, search="Minji Kim").total == 0
    store.close()
    again = open_store(tmp_path / "cases.db", tmp_path / "case.key", password_hasher=FAST_TEST_HASHER)
    with again.engine.connect() as conn:
        assert conn.execute(select(store_check.c.name_index)).scalar_one() == 2
        # by hand: 2 words + 1 pair, three times; 3 words + 3 pairs; 김민지 gives 3 words + 3 pairs
        assert conn.execute(select(func.count()).select_from(name_tokens)).scalar_one() == pairs == 3 * 3 + 6 + 6
    for search, count in EXPECTED.items():
        assert again.list_cases(store.worker, search=search).total == count, search
    again.close()


def test_a_search_with_a_digit_is_a_case_code(store):
    code = store.list_cases(store.worker).items[0].code
    assert [c.code for c in store.list_cases(store.worker, search=code[:6]).items] == [code]
    assert store.list_cases(store.worker, search="Minji 2").total == 0
