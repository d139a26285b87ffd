"""Regressions from the new-user walkthrough: a foreign key file, names in logs, missing databases,
the favicon, the fake-XLSX page, Korean audit actions and name order."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from darkfigure.casestore import FAST_TEST_HASHER, KeyRing
from darkfigure.cli import app as cli_app
from darkfigure.errors import InputError
from darkfigure.web.server import build_app

from .conftest import NAME_A, csrf_of, log_in

runner = CliRunner()


def test_build_app_refuses_another_stores_key_and_a_missing_database(world, tmp_path):
    # walkthrough item 1: `serve --key-file other/cases.key --database <real db>` started
    other = tmp_path / "other.key"
    KeyRing.generate().write(other)
    before = world.database.read_bytes()
    with pytest.raises(InputError, match="this key file does not belong to this database"):
        build_app(str(world.database), other, password_hasher=FAST_TEST_HASHER)
    assert world.database.read_bytes() == before
    result = runner.invoke(cli_app, ["serve", "--database", str(world.database), "--key-file", str(other)])
    assert result.exit_code == 2 and "does not belong to this database" in result.stderr
    # walkthrough item 7: serve with a mistyped database made a new empty one
    missing = tmp_path / "nodb.db"
    result = runner.invoke(cli_app, ["serve", "--database", str(missing), "--key-file", str(world.key_file)])
    assert result.exit_code == 2 and f"no case database at {missing}" in result.stderr
    assert not missing.exists()


def test_a_name_search_goes_by_post_and_reaches_no_log(client, world, caplog):
    # walkthrough item 3: "GET /cases?q=park+mina" and "GET /login?next=/cases?q=mina" in the server log
    caplog.set_level(logging.DEBUG)
    away = client.get(f"/cases?q={NAME_A[0]}", follow_redirects=False)
    assert away.headers["location"] == "/login?next=/cases"  # the query is not carried on
    log_in(client, "worker_a")
    page = client.get("/cases")
    assert 'method="post" action="/cases/search"' in page.text and "hx-push-url" not in page.text
    found = client.post("/cases/search", data={"q": f"{NAME_A[1]} {NAME_A[0]}", "csrf_token": csrf_of(page.text)})
    assert found.status_code == 200 and world.code_a in found.text and world.code_b not in found.text
    assert client.post("/cases/search", data={"q": NAME_A[0]}).status_code == 403  # CSRF checked
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the client's
    logged = " ".join(f"{r.getMessage()} {r.args}" for r in server_side).lower()
    assert NAME_A[0].lower() not in logged and NAME_A[1].lower() not in logged


def test_a_name_in_the_address_finds_no_case_and_is_not_searched(client, world):
    # review 2026-11-29: GET /cases?q=<name> ran a name search (and audited it); the address finds codes only
    def name_searches() -> int:
        return sum(e.action == "search_name" for e in world.store.audit_log(world.store.system_actor("Shelter A")))

    log_in(client, "worker_a")
    before = name_searches()
    by_name = client.get(f"/cases?q={NAME_A[0]}")
    assert by_name.status_code == 200 and world.code_a not in by_name.text
    by_code = client.get(f"/cases?q={world.code_a[:6]}")
    assert by_code.status_code == 200 and world.code_a in by_code.text
    assert name_searches() == before  # no name search ran


def test_next_after_login_drops_the_query(client):
    token = csrf_of(client.get("/login?next=/cases?q=mina").text)
    form = {"username": "admin_a", "password": "correct horse battery staple", "csrf_token": token,
            "next": "/cases?q=mina"}
    done = client.post("/login", data=form, follow_redirects=False)
    assert done.headers["location"] == "/cases"


def test_favicon_is_no_404(client):
    assert client.get("/favicon.ico").status_code == 204


def test_a_fake_xlsx_leads_back_to_the_import_form(client):
    log_in(client, "worker_a")
    token = csrf_of(client.get("/import").text)
    sent = client.post("/import", files={"file": ("cases.xlsx", b"prs_FirstName\nMina\n", "application/vnd.ms-excel")},
                       data={"csrf_token": token})
    assert sent.status_code == 422
    assert 'id="error-back" href="/import"' in sent.text and "Back to the import form" in sent.text


def test_korean_audit_actions_and_family_name_first(client):
    log_in(client, "admin_a")
    audit = client.get("/audit?lang=ko").text
    assert "사례 등록" in audit and ">create<" not in audit
    form = client.get("/cases/new?lang=ko").text
    assert form.index('name="prs_SecondName"') < form.index('name="prs_FirstName"')
    english = client.get("/cases/new?lang=en").text
    assert english.index('name="prs_FirstName"') < english.index('name="prs_SecondName"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_live_server_logs_no_searched_name(world, tmp_path):
    port = _free_port()
    code = (f"from darkfigure.web.server import serve; from pathlib import Path; "
            f"serve({str(world.database)!r}, Path({str(world.key_file)!r}), '127.0.0.1', {port})")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKFIGURE_")}
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.get(f"http://127.0.0.1:{port}/cases?q=park+mina", timeout=5)
        httpx.get(f"http://127.0.0.1:{port}/login?next=/cases?q=mina", timeout=5)
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    assert "GET /cases HTTP/1.1" in output and "GET /login HTTP/1.1" in output  # the access log is on
    assert "mina" not in output.lower() and "park" not in output.lower()
