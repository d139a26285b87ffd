"""Shared fixtures of the web tests: a case store with two organisations, their users and cases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from darkfigure.casestore import FAST_TEST_HASHER, CaseInput, EventInput, KeyRing, open_store
from darkfigure.web import WebConfig, create_app

PASSWORD = "correct horse battery staple"
SECRET = "test-session-secret-" + "x" * 20
NAME_A = ("Mina", "Pyun")  # the identifying name of organisation A's case: no page for B or an analyst shows it


@dataclass
class World:
    store: object
    key_file: Path
    database: Path
    users: dict
    code_a: str
    code_b: str


def make_world(folder: Path) -> World:
    """Organisations A and B; A has an administrator, a caseworker and an analyst; one case each."""
    key_file, database = folder / "case.key", folder / "cases.db"
    KeyRing.generate().write(key_file)
    store = open_store(str(database), key_file, password_hasher=FAST_TEST_HASHER)
    org_a, org_b = store.create_organisation("Shelter A"), store.create_organisation("Police B")
    users = {"admin_a": store.create_user(org_a, "admin_a", PASSWORD, "administrator")}
    users["worker_a"] = store.create_user(org_a, "worker_a", PASSWORD, "caseworker", actor=users["admin_a"])
    users["analyst_a"] = store.create_user(org_a, "analyst_a", PASSWORD, "analyst", actor=users["admin_a"])
    users["admin_b"] = store.create_user(org_b, "admin_b", PASSWORD, "administrator")
    case_a = CaseInput(
        {"prs_FirstName": NAME_A[0], "prs_SecondName": NAME_A[1], "prs_Gender": "Feminine", "cas_Status": "Active",
         "vic_TypeOfExploitation": ["SexualExploitation"], "prs_Birthdate": "1999-04-02"},
        {"statistics": True, "case_work": True},
        [EventInput("Recruitment", date="2023-05-01", country="KP", city="Hyesan")],
    )
    code_a = store.create_case(users["worker_a"], case_a)
    code_b = store.create_case(users["admin_b"], CaseInput({"prs_FirstName": "Jun", "prs_Gender": "Masculine"}))
    return World(store, key_file, database, users, code_a, code_b)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    world = make_world(tmp_path_factory.mktemp("web"))
    yield world
    world.store.close()


@pytest.fixture(scope="module")
def app(world):
    return create_app(world.store, WebConfig(session_secret=SECRET))


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def csrf_of(page_text: str) -> str:
    """The CSRF token a page's forms carry."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD):
    """Log in through the login form, as a browser would."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False)
