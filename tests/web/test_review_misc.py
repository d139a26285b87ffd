"""Review findings (web_review.md items 7, 8, 9 and 11): filter values, pages past the end, a form too
large, the users page keeping what was typed, the dashboard's missing status, the log, Retry-After and
switched-off users."""

from __future__ import annotations

import logging
import re
from collections import defaultdict, deque

import pytest
from fastapi.testclient import TestClient

from darkfigure.casestore import CaseInput
from darkfigure.casestore.accounts import MAX_PASSWORD, check_password
from darkfigure.errors import InputError
from darkfigure.web import WebConfig, create_app

from .conftest import PASSWORD, SECRET, csrf_of, log_in, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("review"))
    # a case of organisation A with no status: the dashboard must not call its row None
    world.store.create_case(world.users["worker_a"], CaseInput({"prs_Gender": "Masculine"}, {"statistics": True}))
    yield world
    world.store.close()


@pytest.fixture(scope="module")
def app(world):
    return create_app(world.store, WebConfig(session_secret=SECRET))


def _client(app, username: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    assert log_in(client, username).status_code == 303
    return client


def _error(page) -> tuple[str, str]:
    message = re.search(r'id="error-message">([^<]*)<', page.text)
    field = re.search(r'id="error-field">([^<]*)<', page.text)
    return (message.group(1) if message else ""), (field.group(1) if field else "")


@pytest.mark.parametrize(
    "name, value, allowed",
    [("status", "Bogus", "FollowUp"), ("gender", "Robot", "Feminine"),
     ("type_of_exploitation", "Nope", "ForcedLabour"), ("consent", "telepathy", "statistics")],
)
def test_an_unknown_filter_value_is_refused_naming_the_filter_and_its_values(app, world, name, value, allowed):
    with pytest.raises(InputError) as refused:
        world.store.list_cases(world.users["worker_a"], filters={name: value})
    assert refused.value.column == name
    assert value in refused.value.message and allowed in refused.value.message
    assert f"unknown filter value {name}=" in refused.value.message  # the filter exists; its value is bad
    worker = _client(app, "worker_a")
    page = worker.get(f"/cases?{name}={value}")
    message, field = _error(page)
    assert (page.status_code, field) == (422, name)
    assert value in message and allowed in message
    token = csrf_of(worker.get("/cases").text)
    posted = worker.post("/cases/search", data={name: value, "q": "", "csrf_token": token})
    assert (posted.status_code, _error(posted)[1]) == (422, name)


def test_a_page_past_the_last_shows_the_last_page(app, world):
    worker = world.users["worker_a"]
    beyond = world.store.list_cases(worker, page=99_999, per_page=1)
    assert (beyond.page, beyond.pages, len(beyond.items)) == (2, 2, 1)
    searched = world.store.list_cases(worker, search=world.code_a[:2], page=500)
    assert (searched.page, [c.code for c in searched.items]) == (1, [world.code_a])
    for bad in ("-1", "x"):
        with pytest.raises(InputError, match="page must be") as refused:
            world.store.list_cases(worker, page=bad)
        assert refused.value.column == "page"
    with pytest.raises(InputError, match="year must be a whole number"):
        world.store.list_cases(worker, filters={"year": "x"})
    page = _client(app, "worker_a").get("/cases?page=99999")
    assert page.status_code == 200 and "page 1 of 1" in page.text and world.code_a in page.text


def test_a_form_too_large_is_413_saying_so_and_the_limit(app, world):
    worker = _client(app, "worker_a")
    token = csrf_of(worker.get("/cases/new").text)
    before = world.store.counts(world.users["worker_a"]).total
    sent = worker.post("/cases", data={"cco_CaseComment": "x" * 2_000_000, "csrf_token": token})
    message, _ = _error(sent)
    assert sent.status_code == 413
    assert "too large" in message and "1024 KB" in message
    assert "could not be read" not in sent.text
    assert world.store.counts(world.users["worker_a"]).total == before  # nothing saved


def test_a_too_long_password_names_the_upper_limit():
    with pytest.raises(InputError) as refused:
        check_password("long enough but " * 64)
    assert f"at most {MAX_PASSWORD}" in refused.value.message and "at least" not in refused.value.message


def test_a_refused_new_user_shows_the_users_page_again_with_what_was_typed(app):
    admin = _client(app, "admin_a")
    token = csrf_of(admin.get("/users").text)
    secret = "typed secret " * 80  # 1,040 characters
    sent = admin.post("/users", data={"username": "new_person", "password": secret, "role": "analyst",
                                      "csrf_token": token})
    assert sent.status_code == 422
    assert f"at most {MAX_PASSWORD}" in sent.text
    assert 'id="user-table"' in sent.text  # the users page, not the generic error page
    assert 'value="new_person"' in sent.text and '<option value="analyst" selected>' in sent.text
    assert "typed secret" not in sent.text
    taken = admin.post("/users", data={"username": "worker_a", "password": PASSWORD, "role": "caseworker",
                                       "csrf_token": token})
    assert taken.status_code == 422 and "is taken" in taken.text and 'value="worker_a"' in taken.text
    assert PASSWORD not in taken.text


def test_the_dashboard_labels_a_missing_status_not_recorded(app):
    admin = _client(app, "admin_a")
    english = admin.get("/dashboard").text
    assert "(not recorded)" in english and ">None<" not in english
    korean = admin.get("/dashboard?lang=ko").text
    assert "(기록 없음)" in korean and ">None<" not in korean


def test_a_denied_path_reaches_the_log_escaped(app, caplog):
    caplog.set_level(logging.INFO, logger="darkfigure")
    worker = _client(app, "worker_a")
    assert worker.get("/cases/x%1b[31mRED").status_code == 404
    assert worker.get("/cases/y%00z").status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("darkfigure")]
    denied = [line for line in lines if "access denied" in line]
    assert len(denied) == 2
    assert not any("\x1b" in line or "\x00" in line for line in lines)
    assert "/cases/x\\x1b[31mRED" in denied[0] and "/cases/y\\x00z" in denied[1]


def test_the_login_lockout_says_when_to_try_again(app, monkeypatch):
    from darkfigure.web.routes import accounts

    monkeypatch.setattr(accounts, "_FAILURES", defaultdict(deque))
    client = TestClient(app, raise_server_exceptions=False)
    for _ in range(10):
        assert log_in(client, "analyst_a", "not the password at all").status_code == 401
    locked = log_in(client, "analyst_a")
    assert locked.status_code == 429
    assert 890 <= int(locked.headers["retry-after"]) <= 900


def test_switched_off_users_are_listed_as_such(tmp_path):
    world = make_world(tmp_path)
    admin = _client(create_app(world.store, WebConfig(session_secret=SECRET)), "admin_a")
    token = csrf_of(admin.get("/users").text)
    assert admin.post("/users/analyst_a/deactivate", data={"csrf_token": token}).status_code == 200
    page = admin.get("/users").text
    row = re.search(r'<tr id="user-analyst_a"[^>]*>.*?</tr>', page, re.S)
    assert row is not None and "switched off" in row.group(0)
    assert "/users/analyst_a/deactivate" not in page
    world.store.close()


@pytest.mark.parametrize(("field", "value"), [("page", "-1"), ("page", "x"), ("year", "x"), ("year", "20201")])
def test_the_search_form_refuses_a_bad_page_or_year_as_the_address_does(app, field, value):
    client = _client(app, "worker_a")
    token = csrf_of(client.get("/cases").text)
    refused = client.post("/cases/search", data={"q": "zz", field: value, "csrf_token": token})
    assert refused.status_code == 422 and f'id="error-field">{field}<' in refused.text


def test_an_import_logs_the_kind_of_file_not_its_name(app, caplog):
    # an upload's file name can name a person ("Kim Mina statement.csv"); the log gets its suffix only
    caplog.set_level(logging.INFO)
    client = _client(app, "worker_a")
    token = csrf_of(client.get("/import").text)
    content = b"prs_FirstName,prs_Gender,con_Statistics\nAna,Feminine,yes\n"
    sent = client.post("/import", data={"csrf_token": token}, files={"file": ("Kim Mina statement.csv", content)})
    assert sent.status_code in (200, 303), sent.text[:300]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "import of a .csv file" in logged and "Mina" not in logged


def test_the_store_counts_cases_without_a_status_under_none_not_the_text_none(world):
    by_status = world.store.counts(world.users["admin_a"]).by_status
    assert by_status.get(None, 0) >= 1 and "None" not in by_status  # the fixture made a case with no status
