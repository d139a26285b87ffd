"""SIGKILL during an import of 10,000 rows leaves the case database exactly as it was before.

``darkfigure serve`` runs as a subprocess on a SQLite file; the test uploads a 10,000-row CSV, waits
until the server logs that rows are being written (inside the import's one transaction), kills the
server with SIGKILL, reopens the database and checks that every table's row count is unchanged, the
SQLite file passes ``PRAGMA integrity_check`` and the audit hash chain still verifies.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx

from darkfigure.casestore import FAST_TEST_HASHER, CaseInput, KeyRing, open_store

from .conftest import PASSWORD

ROWS = 10_000
TABLES = ("cases", "name_tokens", "consents", "events", "audit_log", "users", "organisations")


def _counts(database) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


def _write_csv(path) -> None:
    lines = ["prs_FirstName,prs_SecondName,prs_Gender,vic_TypeOfExploitation,cas_Status,con_Statistics,hte_Type,"
             "hte_Country"]
    lines += [f"Name{i},Family{i % 97},Feminine,ForcedLabour,Active,yes,Exploitation,KR" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lines(stream, into: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        into.put(line)


def test_sigkill_during_import_leaves_the_database_as_before(tmp_path):
    database, key_file, upload = tmp_path / "cases.db", tmp_path / "case.key", tmp_path / "big.csv"
    KeyRing.generate().write(key_file)
    store = open_store(str(database), key_file, password_hasher=FAST_TEST_HASHER)
    admin = store.create_user(store.create_organisation("Shelter"), "admin", PASSWORD, "administrator")
    store.create_case(admin, CaseInput({"prs_FirstName": "Before", "prs_Gender": "Feminine"}, {"statistics": True}))
    store.close()
    _write_csv(upload)
    before = _counts(database)

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "darkfigure.cli", "serve", "--database", str(database), "--key-file", str(key_file),
         "--port", str(port)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(server.stderr, log), daemon=True).start()
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        _wait_until_serving(client, server)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/import").text).group(1)
        outcome: dict = {}
        uploading = threading.Thread(target=_upload, args=(client, upload, token, outcome), daemon=True)
        uploading.start()
        _wait_for(log, "import progress", server)  # rows are being written inside the transaction
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        uploading.join(30)
    finally:
        if server.poll() is None:
            server.kill()
    assert "error" in outcome, f"the import finished before the kill: {outcome}"  # the kill came mid-import

    assert _counts(database) == before
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened = open_store(str(database), key_file, password_hasher=FAST_TEST_HASHER)
    assert reopened.verify_audit().ok
    assert reopened.list_cases(reopened.system_actor("Shelter")).total == 1
    reopened.close()


def _wait_until_serving(client: httpx.Client, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, "darkfigure serve exited early"
        try:
            if client.get("/login").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("darkfigure serve did not answer within 90 s")


def _wait_for(log: queue.Queue, text: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if text in log.get(timeout=0.5):
                return
        except queue.Empty:
            assert server.poll() is None, "darkfigure serve exited during the import"
    raise AssertionError(f"the server never logged {text!r}")


def _upload(client: httpx.Client, path, token: str, outcome: dict) -> None:
    try:
        with open(path, "rb") as handle:
            response = client.post("/import", data={"csrf_token": token}, files={"file": ("big.csv", handle)})
        outcome["status"] = response.status_code
    except httpx.TransportError as err:
        outcome["error"] = repr(err)
