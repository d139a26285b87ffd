"""TestClient tests of the web application: login, CSRF, roles, organisations, errors, language, headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from darkfigure.casestore import FAST_TEST_HASHER, KeyRing, open_store
from darkfigure.web import WebConfig, create_app

from .conftest import NAME_A, PASSWORD, SECRET, csrf_of, log_in, make_world


def test_first_administrator_only_while_no_user_exists(tmp_path):
    store = open_store(str(tmp_path / "c.db"), KeyRing.generate(), password_hasher=FAST_TEST_HASHER)
    client = TestClient(create_app(store, WebConfig(session_secret=SECRET)), raise_server_exceptions=False)
    assert client.get("/", follow_redirects=False).headers["location"] == "/setup"
    token = csrf_of(client.get("/setup").text)
    form = {"organisation": "Shelter", "username": "first", "password": PASSWORD, "csrf_token": token}
    made = client.post("/setup", data=form, follow_redirects=False)
    assert (made.status_code, made.headers["location"]) == (303, "/dashboard")
    assert client.get("/dashboard").status_code == 200  # logged in as the new administrator
    other = TestClient(client.app, raise_server_exceptions=False)
    assert other.get("/setup").status_code == 403
    token = csrf_of(other.get("/login").text)
    again = other.post("/setup", data={**form, "username": "second", "csrf_token": token})
    assert again.status_code == 403
    assert [u.username for u in store.users(store.system_actor("Shelter")) if u.username != "cli"] == ["first"]


def test_login_failure_gives_401_and_no_session(client):
    failed = log_in(client, "admin_a", "wrong password, surely")
    assert failed.status_code == 401
    assert 'id="login-failed"' in failed.text
    assert client.get("/cases", follow_redirects=False).headers["location"].startswith("/login")
    assert log_in(client, "nobody-at-all").status_code == 401


def test_login_success_rotates_the_csrf_token_and_returns_to_next(client):
    before = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "worker_a", "password": PASSWORD, "csrf_token": before,
                                            "next": "/cases"}, follow_redirects=False)
    assert response.headers["location"] == "/cases"
    assert csrf_of(client.get("/cases").text) != before


def test_login_refuses_an_open_redirect(client):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "worker_a", "password": PASSWORD, "csrf_token": token,
                                            "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/dashboard"


def test_post_without_csrf_token_is_refused(client, world):
    assert client.post("/login", data={"username": "admin_a", "password": PASSWORD}).status_code == 403
    log_in(client, "admin_a")
    before = world.store.list_cases(world.users["admin_a"]).total
    refused = client.post("/cases", data={"prs_FirstName": "Forged", "prs_Gender": "Feminine"})
    assert refused.status_code == 403
    assert client.post("/cases", data={"prs_FirstName": "Forged", "csrf_token": "not-the-token"}).status_code == 403
    assert world.store.list_cases(world.users["admin_a"]).total == before


def test_every_post_route_checks_the_csrf_token(client):
    from darkfigure.web.routes import accounts, admin, cases, erasure

    log_in(client, "admin_a")
    routes = [r for module in (accounts, admin, cases, erasure) for r in module.router.routes]
    posts = [r.path for r in routes if "POST" in r.methods]
    assert len(posts) >= 10 and "/cases/{code}/erase" in posts
    for path in posts:
        path = path.replace("{code}", "ABCD-EFGH")
        assert client.post(path, data={"x": "1"}).status_code == 403, path


def test_analyst_sees_no_identifying_field(client, world):
    log_in(client, "analyst_a")
    listed = client.get("/cases")
    assert world.code_a in listed.text
    view = client.get(f"/cases/{world.code_a}")
    assert view.status_code == 200
    for secret in (*NAME_A, "1999-04-02", "Hyesan"):
        assert secret not in view.text and secret not in listed.text
    assert 'data-field="prs_FirstName"><span class="hidden-value">' in view.text
    assert world.code_a not in client.get(f"/cases?q={NAME_A[0]}").text  # no name search for analysts


def test_roles_limit_what_each_user_may_do(client, world):
    log_in(client, "analyst_a")
    token = csrf_of(client.get("/cases").text)
    for path in ("/cases/new", f"/cases/{world.code_a}/edit", "/import", "/audit", "/users"):
        assert client.get(path).status_code == 403, path
    assert client.post("/cases", data={"prs_Gender": "Feminine", "csrf_token": token}).status_code == 403
    assert client.post("/export/list", data={"csrf_token": token}).status_code == 403
    log_in(client, "worker_a")
    assert client.get("/cases/new").status_code == 200
    assert client.get("/audit").status_code == 403
    assert client.get("/users").status_code == 403


def test_another_organisations_case_is_not_found(client, world):
    log_in(client, "admin_b")
    token = csrf_of(client.get("/cases").text)
    for path in (f"/cases/{world.code_a}", f"/cases/{world.code_a}/edit"):
        page = client.get(path)
        assert page.status_code == 404
        assert NAME_A[0] not in page.text and "Hyesan" not in page.text
    event = client.post(f"/cases/{world.code_a}/events", data={"type": "Transit", "csrf_token": token})
    assert event.status_code == 404
    assert world.code_a not in client.get("/cases").text
    assert client.get("/cases/..%2F..%2Fetc%2Fpasswd").status_code == 404
    missing = client.get("/cases/ZZZZ-ZZZZ")  # a code nobody has looks the same as another's case
    assert missing.status_code == 404 and missing.text == page.text.replace(world.code_a, "ZZZZ-ZZZZ")


def test_bad_form_input_gives_422_naming_the_field(client, world):
    log_in(client, "worker_a")
    token = csrf_of(client.get("/cases/new").text)
    before = world.store.list_cases(world.users["worker_a"]).total
    bad = client.post("/cases", data={"prs_FirstName": "Ha", "prs_Birthdate": "31/02/1990", "csrf_token": token})
    assert bad.status_code == 422
    assert "prs_Birthdate" in bad.text and "Birthdate" in bad.text
    assert 'value="Ha"' in bad.text  # what was typed comes back
    assert world.store.list_cases(world.users["worker_a"]).total == before
    page = client.get("/cases?page=abc")
    assert page.status_code == 422 and 'id="error-field">page<' in page.text
    assert client.get("/cases?year=20000").status_code == 422
    assert client.get("/cases?status=NoSuchStatus").status_code == 422  # not a status: refused, naming the filter


def test_korean_interface_by_query_and_by_header(client):
    log_in(client, "worker_a")
    korean = client.get("/cases?lang=ko")
    assert '<html lang="ko">' in korean.text and "사례 코드" in korean.text and "성 착취" in korean.text
    assert '<html lang="ko">' in client.get("/dashboard").text  # remembered in the session
    fresh = TestClient(client.app)
    assert "로그인" in fresh.get("/login", headers={"accept-language": "ko-KR,ko;q=0.9,en;q=0.5"}).text
    assert "Log in" in fresh.get("/login", headers={"accept-language": "fr, en;q=0.5"}).text


def test_security_headers_and_cookie_flags(client, world):
    login = log_in(client, "worker_a")
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    page = client.get(f"/cases/{world.code_a}")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text  # nothing the CSP would block
    assert client.get("/static/style.css").headers["x-frame-options"] == "DENY"


def test_session_cookie_is_secure_over_https(app):
    client = TestClient(app, base_url="https://testserver")
    assert "secure" in log_in(client, "worker_a").headers["set-cookie"].lower()


def test_a_tampered_session_cookie_is_ignored(app):
    client = TestClient(app)
    log_in(client, "worker_a")
    value = client.cookies.get("darkfigure_session")
    client.cookies.clear()
    client.cookies.set("darkfigure_session", value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB"))
    assert client.get("/cases", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/cases", "/cases/new", "/dashboard", "/import", "/export", "/audit", "/users"])
def test_pages_render_for_the_administrator(client, path):
    log_in(client, "admin_a")
    assert client.get(path).status_code == 200


def test_dashboard_shows_counts_and_the_latest_estimates(world, tmp_path):
    run = tmp_path / "run-2026-01"
    run.mkdir()
    # a hand-written estimates.json as `darkfigure run` writes it
    (run / "estimates.json").write_text(
        '{"title": "Coalition 2025", "created": "2026-01-05T10:00:00+00:00", "estimates": [{"label": "Stepwise", '
        '"n_observed": 143, "estimate": 377.56, "interval": {"level": 0.95, "lower": 305.94, "upper": 561.49}}]}'
    )
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "estimates.json").write_text("{not json")
    client = TestClient(create_app(world.store, WebConfig(session_secret=SECRET), results=tmp_path))
    log_in(client, "admin_a")
    page = client.get("/dashboard").text
    assert 'id="count-total">1<' in page  # organisation A holds the one case make_world gave it
    assert "Coalition 2025" in page and "<td>378</td>" in page and "306 – 561 (95%)" in page


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/cases", {"prs_NumberOfChildren": "many"}),
        ("/cases", {"prs_Gender": "Robot"}),
        ("/cases", {"vic_TypeOfExploitation": "NotAKind"}),
        ("/cases", {"prs_FirstName": "x" * 600}),
        ("/users", {"username": "new", "password": "long enough password", "role": "emperor"}),
        ("/users", {"username": "new", "password": "short", "role": "analyst"}),
        ("/import", {}),
    ],
)
def test_bad_input_gets_a_4xx_page_never_a_traceback(client, path, form):
    log_in(client, "admin_a")
    token = csrf_of(client.get("/dashboard").text)
    response = client.post(path, data={**form, "csrf_token": token})
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text
    assert 'id="error-message"' in response.text or 'id="form-error"' in response.text


def test_an_event_with_a_bad_country_is_refused(client, world):
    log_in(client, "worker_a")
    token = csrf_of(client.get(f"/cases/{world.code_a}").text)
    response = client.post(f"/cases/{world.code_a}/events", data={"type": "Transit", "country": "Korea",
                                                                   "csrf_token": token})
    assert response.status_code == 422
    assert len(world.store.get_case(world.users["worker_a"], world.code_a).events) == 1


def test_a_switched_off_user_is_logged_out_at_the_next_request(tmp_path):
    world = make_world(tmp_path)
    app = create_app(world.store, WebConfig(session_secret=SECRET))
    analyst, admin = TestClient(app), TestClient(app)
    log_in(analyst, "analyst_a")
    assert analyst.get("/cases").status_code == 200
    log_in(admin, "admin_a")
    token = csrf_of(admin.get("/users").text)
    assert admin.post("/users/admin_a/deactivate", data={"csrf_token": token}).status_code == 422  # not oneself
    assert admin.post("/users/analyst_a/deactivate", data={"csrf_token": token}).status_code == 200
    assert "/users/analyst_a/deactivate" not in admin.get("/users").text  # listed as switched off
    assert analyst.get("/cases", follow_redirects=False).headers["location"].startswith("/login")
    assert log_in(analyst, "analyst_a").status_code == 401
    world.store.close()
