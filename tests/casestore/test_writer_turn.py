"""The writers of one SQLite file take turns across engines (as across uvicorn workers) on the lock file."""

import threading
import time

from darkfigure.casestore.storage import _WRITE_LOCKS, make_engine, writing


def test_a_second_engine_waits_for_the_first_writers_turn(tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    first, second = make_engine(url), make_engine(url)  # two open lock files, as two processes hold
    order = []
    with _WRITE_LOCKS[first].taken():
        waiter = threading.Thread(target=lambda: _write(second, order))
        waiter.start()
        time.sleep(0.2)
        order.append("first done")
    waiter.join(10)
    assert order == ["first done", "second wrote"]
    assert (tmp_path / "cases.db-writer").exists()


def _write(engine, order):
    with writing(engine) as conn:
        conn.exec_driver_sql("SELECT 1")
        order.append("second wrote")
