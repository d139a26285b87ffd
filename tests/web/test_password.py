"""A user changes their own password: the current one proven, the new one typed twice; their other
sessions end (as they do when an administrator sets it); wrong current passwords are throttled."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from darkfigure.casestore.models import users
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


def _status(client, path):
    """The status of a page, not followed: a redirect to the login page is no 200."""
    return client.get(path, follow_redirects=False).status_code


def test_a_change_ends_the_users_other_sessions_and_keeps_this_one(client, world):
    other = TestClient(client.app, raise_server_exceptions=False)
    for c in (client, other):
        assert log_in(c, "worker_a").status_code == 303
        assert _status(c, "/dashboard") == 200  # this process now remembers the user
    assert _change(client, PASSWORD, NEW, NEW).status_code == 303
    ended = other.get("/cases", follow_redirects=False)
    assert (ended.status_code, ended.headers["location"]) == (303, "/login?next=/cases")
    assert other.get("/dashboard", follow_redirects=False).status_code == 303  # and stays ended
    assert _status(client, "/dashboard") == 200  # the session that made the change goes on
    assert _status(client, "/cases") == 200
    assert log_in(other, "worker_a", NEW).status_code == 303
    assert _status(other, "/cases") == 200  # a new login is a new session, of the new epoch
    assert _status(client, "/cases") == 200


def test_an_administrators_reset_ends_that_users_sessions(client, world, monkeypatch):
    from darkfigure.web import pages

    monkeypatch.setattr(pages, "RECHECK_SECONDS", 0)  # other processes notice at their next re-check
    worker, analyst = TestClient(client.app, raise_server_exceptions=False), client
    log_in(worker, "worker_a")
    log_in(analyst, "analyst_a")
    assert _status(worker, "/cases") == _status(analyst, "/cases") == 200
    assert world.store.set_password(world.users["admin_a"], "worker_a", NEW) == 1  # epoch 0 -> 1
    assert worker.get("/cases", follow_redirects=False).headers["location"] == "/login?next=/cases"
    assert _status(analyst, "/cases") == 200  # only that user's sessions end
    assert world.store.user(world.users["worker_a"].id).session_epoch == 1
    world.store.deactivate_user(world.users["admin_a"], "analyst_a")  # switching off raises it too
    with world.store.engine.connect() as conn:
        epochs = dict(conn.execute(select(users.c.username, users.c.session_epoch)).all())
    assert (epochs["analyst_a"], epochs["worker_a"], epochs["admin_a"]) == (1, 1, 0)
    assert analyst.get("/cases", follow_redirects=False).status_code == 303


def test_ten_wrong_current_passwords_throttle_the_change_and_the_login(client, world, monkeypatch):
    from collections import defaultdict, deque

    from darkfigure.web.routes import accounts

    monkeypatch.setattr(accounts, "_FAILURES", defaultdict(deque))  # no throttle left for other tests
    log_in(client, "worker_a")
    for attempt in range(10):  # accounts._MAX_FAILURES is 10
        assert _change(client, f"wrong password number {attempt}", NEW, NEW).status_code == 422
    assert _change(client, PASSWORD, NEW, NEW).status_code == 429  # even the right one, now
    assert world.store.authenticate("worker_a", PASSWORD) is not None  # nothing changed
    assert log_in(TestClient(client.app, raise_server_exceptions=False), "worker_a").status_code == 429
    assert log_in(TestClient(client.app, raise_server_exceptions=False), "analyst_a").status_code == 303


def test_another_process_keeps_the_changer_and_ends_the_others(client, world):
    second = create_app(world.store, WebConfig(session_secret=SECRET))  # a second worker process
    elsewhere = TestClient(second, raise_server_exceptions=False)
    log_in(client, "worker_a")
    log_in(elsewhere, "worker_a")
    assert _status(elsewhere, "/cases") == 200  # the second process remembers epoch 0
    assert _change(client, PASSWORD, NEW, NEW).status_code == 303  # through the first
    changer_there = TestClient(second, raise_server_exceptions=False, cookies=dict(client.cookies))
    assert _status(changer_there, "/cases") == 200  # a session newer than it remembers: read again
    ended = elsewhere.get("/cases", follow_redirects=False)  # and now it knows epoch 1
    assert ended.headers["location"] == "/login?next=/cases"
