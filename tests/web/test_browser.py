"""Browser tests: Playwright drives Debian's Chromium against the app served by uvicorn on localhost.

One browser for the session; each test has its own context (cookies). Screenshots of the case list and
the case view go to $DARKFIGURE_SCREENSHOTS when set (to look at them), else to the test's tmp folder.
"""

from __future__ import annotations

import csv
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from darkfigure.web import WebConfig, create_app

from .conftest import NAME_A, PASSWORD, SECRET, make_world

sync_api = pytest.importorskip("playwright.sync_api")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="browser tests need Debian's Chromium at /usr/bin/chromium"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The application over a fresh case store, served by uvicorn in a background thread."""
    import uvicorn

    world = make_world(tmp_path_factory.mktemp("browser"))
    port = _free_port()
    config = uvicorn.Config(create_app(world.store, WebConfig(session_secret=SECRET)), host="127.0.0.1",
                            port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", world
    server.should_exit = True
    thread.join(10)
    world.store.close()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("DARKFIGURE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _logged_in(browser, base: str, username: str, **context_options):
    context = browser.new_context(base_url=base, accept_downloads=True, viewport={"width": 1280, "height": 900},
                                  **context_options)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    return context, page


def test_log_in_create_find_edit_and_export(browser, site, shots):
    base, world = site
    context, page = _logged_in(browser, base, "worker_a")
    page.click("text=New case")
    page.fill("#prs_FirstName", "Seoyeon")
    page.fill("#prs_SecondName", "Ri")
    page.select_option("#prs_Gender", "Feminine")
    page.select_option("#cas_Status", "Active")
    page.check("input[name=vic_TypeOfExploitation][value=ForcedLabour]")
    page.check("input[name=consent_statistics]")
    page.click("#save")
    page.wait_for_selector("#case-code")
    code = page.inner_text("#case-code")
    assert "Seoyeon" in page.inner_text("main")

    page.goto("/cases")
    assert page.locator("#case-table tbody tr").count() > 1
    page.fill("#q", "seoyeon")  # live search through htmx, by POST; the same form works without htmx
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    assert code in page.inner_text("#case-table")
    assert "seoyeon" not in page.url.lower()  # a searched name never enters the address or history
    page.press("#q", "Enter")  # a plain submit too
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    assert "seoyeon" not in page.url.lower()
    page.screenshot(path=str(shots / "case-list.png"), full_page=True)

    page.click(f"#case-table a:text('{code}')")
    page.click("#edit")
    page.select_option("#cas_Status", "Closed")
    page.click("#save")
    page.wait_for_selector("#case-code")
    assert page.inner_text("[data-field=cas_Status]") == "Closed"
    page.click("summary:text('Add event')")
    page.select_option("#event-type", "Exploitation")
    page.fill("#event-date", "2024-03-09")
    page.fill("#event-country", "CN")
    page.fill("#event-city", "Shenyang")
    page.click("#timeline button[type=submit]")
    expect(page.locator("ol.timeline li")).to_have_count(1)
    assert "Shenyang" in page.inner_text("ol.timeline")
    page.screenshot(path=str(shots / "case-view.png"), full_page=True)

    page.goto("/export")
    with page.expect_download() as info:
        page.click("#export-ctdc")
    with open(info.value.path(), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == world.store.list_cases(world.users["worker_a"], filters={"consent": "statistics"}).total
    context.close()


def test_core_flow_works_without_javascript(browser, site):
    base, _ = site
    context, page = _logged_in(browser, base, "worker_a", java_script_enabled=False)
    page.goto("/cases/new")
    page.fill("#prs_FirstName", "Nojs")
    page.select_option("#prs_Gender", "Masculine")
    page.click("#save")
    code = page.inner_text("#case-code")
    page.goto("/cases")
    page.fill("#q", code)
    page.click("button:text('Find')")
    assert page.locator("#case-table tbody tr").count() == 1
    context.close()


def test_an_analyst_sees_no_names(browser, site):
    base, world = site
    context, page = _logged_in(browser, base, "analyst_a")
    page.goto("/cases")
    assert world.code_a in page.inner_text("#case-table")
    page.click(f"#case-table a:text('{world.code_a}')")
    text = page.inner_text("main")
    assert world.code_a in text
    for secret in (*NAME_A, "Hyesan", "1999-04-02"):
        assert secret not in page.content()
    assert page.locator("#edit").count() == 0
    context.close()


def test_another_organisation_cannot_open_a_case_by_its_url(browser, site):
    base, world = site
    context, page = _logged_in(browser, base, "admin_b")
    response = page.goto(f"/cases/{world.code_a}")
    assert response.status == 404
    assert NAME_A[0] not in page.content() and "Hyesan" not in page.content()
    context.close()
