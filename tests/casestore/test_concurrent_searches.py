"""Name searches from many threads at once: each search's audit entry is committed before its results
come back, and the chain stays in one line."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from darkfigure.casestore import FAST_TEST_HASHER, CaseInput, KeyRing, open_store
from darkfigure.casestore.audit import verify
from darkfigure.casestore.models import audit_log


def _search_entries(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == "search_name")
        ).scalar_one()


def test_forty_threads_each_find_their_entry_committed_and_the_chain_verifies(tmp_path):
    ring = KeyRing.generate()
    store = open_store(tmp_path / "cases.db", ring, password_hasher=FAST_TEST_HASHER)
    worker = store.create_user(store.create_organisation("Shelter"), "kim", "kim password 12", "caseworker")
    store.create_case(worker, CaseInput({"prs_FirstName": "Mina", "prs_SecondName": "Kim"}))
    seen: dict[str, bool] = {}

    def search(i: int) -> None:
        for j in range(5):
            assert store.list_cases(worker, search="mina kim").total == 1
            seen[f"{i}/{j}"] = _search_entries(store) >= 1  # this search's entry, at least, is in

    threads = [threading.Thread(target=search, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 200 and all(seen.values())
    assert _search_entries(store) == 200  # one entry per search, none lost
    with store.engine.connect() as conn:
        verdict = verify(conn, ring.audit_key)
    assert verdict.ok and verdict.entries >= 200
    store.close()
