"""An import killed midway (SIGKILL) leaves the database exactly as before, and it opens cleanly."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select, text

from darkfigure.casestore import FAST_TEST_HASHER, CaseInput, KeyRing, open_store
from darkfigure.casestore.models import TABLES

CHILD = textwrap.dedent("""
    import pathlib, sys
    from darkfigure.casestore import FAST_TEST_HASHER, open_store
    folder = pathlib.Path(sys.argv[1])
    store = open_store(folder / "cases.db", folder / "case.key", password_hasher=FAST_TEST_HASHER)
    def progress(done, total):
        if done >= 3000:
            (folder / "progress").write_text(f"{done}/{total}")
    store.import_file(store.system_actor("Shelter"), folder / "big.csv", progress=progress)
    (folder / "finished").write_text("import finished")
""")


def _counts(store):
    with store.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in TABLES.items()}


def _big_csv(path, n):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "prs_FirstName",
                "prs_SecondName",
                "prs_Birthdate",
                "prs_Gender",
                "vic_TypeOfExploitation",
                "con_Statistics",
                "hte_Type",
                "hte_City",
            ]
        )
        for i in range(n):
            out.writerow(
                [
                    f"Given{i}",
                    f"Family{i}",
                    f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
                    "Feminine" if i % 2 else "Masculine",
                    "ForcedLabour",
                    "yes",
                    "Exploitation",
                    f"City{i}",
                ]
            )


def test_import_killed_midway_leaves_database_as_before(tmp_path):
    KeyRing.generate().write(tmp_path / "case.key")
    store = open_store(tmp_path / "cases.db", tmp_path / "case.key", password_hasher=FAST_TEST_HASHER)
    kim = store.create_user(store.create_organisation("Shelter"), "kim", "kim password 12", "caseworker")
    store.create_case(kim, CaseInput({"prs_FirstName": "Before"}, {"statistics": True}))
    before = _counts(store)
    store.close()
    _big_csv(tmp_path / "big.csv", 10_000)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (tmp_path / "progress").exists():
        assert child.poll() is None, child.stderr.read().decode()
        assert time.monotonic() < deadline, "the import never reported progress"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not (tmp_path / "finished").exists(), "the import ended before it could be killed"

    store = open_store(tmp_path / "cases.db", tmp_path / "case.key", password_hasher=FAST_TEST_HASHER)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    assert _counts(store) == before
    assert store.verify_audit().ok
    assert store.list_cases(kim).total == 1
    # and the database takes the next import
    _big_csv(tmp_path / "small.csv", 20)
    assert store.import_file(kim, tmp_path / "small.csv").rows == 20
    assert store.list_cases(kim).total == 21 and store.verify_audit().ok
    store.close()


@pytest.mark.slow
def test_kill_at_random_moments(tmp_path):
    """Kill the same import at several moments (slow: ~10 runs)."""
    KeyRing.generate().write(tmp_path / "case.key")
    store = open_store(tmp_path / "cases.db", tmp_path / "case.key", password_hasher=FAST_TEST_HASHER)
    store.create_organisation("Shelter")
    before = _counts(store)
    store.close()
    _big_csv(tmp_path / "big.csv", 10_000)
    for delay in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)])
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        store = open_store(tmp_path / "cases.db", tmp_path / "case.key", password_hasher=FAST_TEST_HASHER)
        counts = _counts(store)
        store.close()
        if (tmp_path / "finished").exists():
            break
        assert counts == before, delay
