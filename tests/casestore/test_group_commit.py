"""Audit entries written by many threads at once through GroupCommit: every one in the chain, in one line."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from darkfigure.casestore import audit
from darkfigure.casestore.models import audit_log
from darkfigure.casestore.storage import make_engine, migrate

KEY = b"k" * 32


def test_forty_threads_each_find_their_entry_committed_and_the_chain_verifies(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    migrate(engine)
    log = audit.GroupCommit(engine, KEY)
    seen: dict[str, bool] = {}

    def search(i: int) -> None:
        for j in range(5):
            log.append(f"user{i}", 1, "search_name", None, ("name",))
            with engine.connect() as conn:  # committed before append returned
                seen[f"{i}/{j}"] = conn.execute(
                    select(func.count()).select_from(audit_log).where(audit_log.c.actor == f"user{i}")
                ).scalar_one() >= j + 1

    threads = [threading.Thread(target=search, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 200 and all(seen.values())
    with engine.connect() as conn:
        verdict = audit.verify(conn, KEY)
        batches = conn.execute(select(func.count(func.distinct(audit_log.c.at)))).scalar_one()
    assert verdict.ok and verdict.entries == 200
    assert batches < 200  # some entries shared a transaction (one time stamp per transaction)


def test_a_failed_transaction_reaches_its_caller_and_the_next_batch_still_writes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    log = audit.GroupCommit(engine, KEY)
    try:  # no tables yet: the insert fails
        log.append("mina", 1, "search_name", None, ("name",))
    except Exception as err:  # noqa: BLE001 - whatever the database raised must reach the caller
        assert "audit" in str(err)
    else:
        raise AssertionError("the failure did not reach the caller")
    migrate(engine)
    log.append("mina", 1, "search_name", None, ("name",))
    with engine.connect() as conn:
        assert audit.verify(conn, KEY).entries == 1
