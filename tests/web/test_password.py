"""A user changes their own password: the current one proven, the new one typed twice."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from darkfigure.web import WebConfig, create_app

from .conftest import PASSWORD, SECRET, csrf_of, log_in, make_world

NEW = "violet lantern over the harbour"


@pytest.fixture
def world(tmp_path):
    world = make_world(tmp_path)
    yield world
    world.store.close()


@pytest.fixture
def client(world):
    with TestClient(create_app(world.store, WebConfig(session_secret=SECRET)), raise_server_exceptions=False) as c:
        yield c


def _change(client, current, new, again):
    token = csrf_of(client.get("/account/password").text)
    data = {"current_password": current, "new_password": new, "new_password_again": again, "csrf_token": token}
    return client.post("/account/password", data=data, follow_redirects=False)


def _audited_changes(world):
    return sum(e.action == "set_password" for e in world.store.audit_log(world.users["admin_a"]))


def test_the_page_is_linked_from_the_header_for_every_role(client):
    for user in ("analyst_a", "worker_a"):
        log_in(client, user)
        assert 'href="/account/password"' in client.get("/dashboard").text
        assert 'name="new_password_again"' in client.get("/account/password").text
    assert "현재 비밀번호" in client.get("/account/password?lang=ko").text


def test_a_wrong_current_password_changes_nothing(client, world):
    log_in(client, "worker_a")
    refused = _change(client, "not my password at all", NEW, NEW)
    assert refused.status_code == 422 and 'id="error-field">current_password<' in refused.text
    assert world.store.authenticate("worker_a", PASSWORD) is not None
    assert world.store.authenticate("worker_a", NEW) is None


def test_two_different_new_passwords_change_nothing(client, world):
    log_in(client, "worker_a")
    refused = _change(client, PASSWORD, NEW, NEW + "!")
    assert refused.status_code == 422 and 'id="error-field">new_password_again<' in refused.text
    too_short = _change(client, PASSWORD, "short one", "short one")
    assert too_short.status_code == 422 and 'id="error-field">new_password<' in too_short.text
    assert world.store.authenticate("worker_a", PASSWORD) is not None


def test_a_good_change_lets_the_new_password_in_and_not_the_old(client, world):
    log_in(client, "worker_a")
    before_token = csrf_of(client.get("/account/password").text)
    audited = _audited_changes(world)
    changed = _change(client, PASSWORD, NEW, NEW)
    assert (changed.status_code, changed.headers["location"]) == (303, "/dashboard")
    page = client.get("/dashboard").text
    assert "Your password was changed." in page and csrf_of(page) != before_token
    assert _audited_changes(world) == audited + 1
    other = TestClient(client.app)
    assert log_in(other, "worker_a", PASSWORD).status_code == 401
    assert log_in(other, "worker_a", NEW).status_code == 303


def test_nobody_logged_in_is_sent_to_the_login_page(client):
    assert client.get("/account/password", follow_redirects=False).headers["location"].startswith("/login")
