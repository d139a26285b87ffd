"""Erasing a case on the web: an administrator confirms with a reason and the case is gone; caseworkers
and analysts get 403; another organisation's case is the same 404 as a code nobody has."""

from __future__ import annotations

import pytest

from darkfigure.casestore import CaseInput, EventInput, PerpetratorInput

from .conftest import csrf_of, log_in

NAME = ("Odalys", "Quennell")


# world, app and client: tests/web/conftest.py (module-scoped: this module erases in a world of its own)


def _new_case(world) -> str:
    return world.store.create_case(
        world.users["worker_a"],
        CaseInput(
            {"prs_FirstName": NAME[0], "prs_SecondName": NAME[1], "cas_Status": "Active"},
            {"case_work": True, "statistics": True},
            [EventInput("Exploitation", "2021-07-08", "KR", city="Gimhae")],
            [PerpetratorInput("Grimwald", None, ["SoldIndividual"])],
        ),
    )


def _audit_entries(world) -> int:
    return world.store.verify_audit().entries


def test_an_administrator_erases_a_case_after_confirming(client, world):
    code, admin = _new_case(world), world.users["admin_a"]
    log_in(client, "admin_a")
    view = client.get(f"/cases/{code}")
    assert f'href="/cases/{code}/erase" id="erase"' in view.text
    entries = _audit_entries(world)
    page = client.get(f"/cases/{code}/erase")
    assert page.status_code == 200 and _audit_entries(world) == entries  # the page is no view of identity
    assert code in page.text and "cannot be undone" in page.text and 'name="reason"' in page.text
    assert NAME[0] not in page.text and "Gimhae" not in page.text
    token = csrf_of(page.text)
    for reason in ("", f"{NAME[0]} asked for it"):
        refused = client.post(f"/cases/{code}/erase", data={"reason": reason, "csrf_token": token})
        assert refused.status_code == 422 and 'id="erase-error"' in refused.text
        assert NAME[0] not in refused.text
    assert world.store.get_case(admin, code).code == code
    before = world.store.list_cases(admin).total
    done = client.post(
        f"/cases/{code}/erase",
        data={"reason": "withdrawal, erasure asked", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/cases"
    listed = client.get("/cases")
    assert f"Case {code} was erased." in listed.text and code not in listed.text.replace(f"Case {code} was", "")
    assert world.store.list_cases(admin).total == before - 1
    assert client.get(f"/cases/{code}").status_code == 404
    assert client.get(f"/cases/{code}/erase").status_code == 404
    assert world.store.get_case(admin, world.code_a).code == world.code_a  # the other case is untouched
    entry = world.store.audit_log(admin, limit=3)
    assert [(e.action, e.actor, e.case_code) for e in entry if e.action == "erase_case"] == [
        ("erase_case", "admin_a", code)
    ]
    assert world.store.verify_audit().ok
    audit_page = client.get("/audit")
    assert "Case erased" in audit_page.text and "withdrawal; erasure asked" in audit_page.text


@pytest.mark.parametrize("user", ["worker_a", "analyst_a"])
def test_caseworkers_and_analysts_get_no_link_and_403(client, world, user):
    code = world.code_a
    log_in(client, user)
    view = client.get(f"/cases/{code}")
    assert view.status_code == 200 and "/erase" not in view.text
    token = csrf_of(view.text)
    assert client.get(f"/cases/{code}/erase").status_code == 403
    assert client.post(f"/cases/{code}/erase", data={"reason": "test", "csrf_token": token}).status_code == 403
    assert world.store.get_case(world.users["admin_a"], code).code == code


def test_another_organisations_case_is_the_same_404_as_a_missing_one(client, world):
    code = world.code_a
    log_in(client, "admin_b")
    token = csrf_of(client.get("/cases").text)
    page = client.get(f"/cases/{code}/erase")
    assert page.status_code == 404
    missing = client.get("/cases/ZZZZ-ZZZZ/erase")
    assert missing.status_code == 404 and missing.text == page.text
    posted = client.post(f"/cases/{code}/erase", data={"reason": "test", "csrf_token": token})
    assert posted.status_code == 404 and posted.text == page.text
    assert client.get("/cases/bad%20code/erase").status_code == 404
    assert world.store.get_case(world.users["admin_a"], code).code == code


def test_erasing_needs_the_csrf_token_and_speaks_korean(client, world):
    code = world.code_a
    log_in(client, "admin_a")
    assert client.post(f"/cases/{code}/erase", data={"reason": "test"}).status_code == 403
    assert client.post(f"/cases/{code}/erase", data={"reason": "test", "csrf_token": "forged"}).status_code == 403
    assert world.store.get_case(world.users["admin_a"], code).code == code
    korean = client.get(f"/cases/{code}/erase?lang=ko")
    assert korean.status_code == 200 and f"사례 {code} 삭제" in korean.text and "되돌릴 수 없습니다" in korean.text


@pytest.mark.parametrize(
    "reason",
    ["김미나 본인 요청", "call 010-1234-5678", "mail ops@shelter.example", "withdrew\x00asked"],
)
def test_a_reason_with_the_name_a_number_an_address_or_a_nul_comes_back(client, world, reason):
    code = world.store.create_case(
        world.users["worker_a"], CaseInput({"prs_FirstName": "미나", "prs_SecondName": "김"}, {"case_work": True})
    )
    log_in(client, "admin_a")
    token = csrf_of(client.get(f"/cases/{code}/erase").text)
    entries = _audit_entries(world)
    refused = client.post(f"/cases/{code}/erase", data={"reason": reason, "csrf_token": token})
    assert refused.status_code == 422 and 'id="erase-error"' in refused.text
    assert "미나" not in refused.text and "010" not in refused.text and "ops@" not in refused.text
    assert _audit_entries(world) == entries
    assert world.store.get_case(world.users["admin_a"], code).code == code


def test_an_event_added_while_the_case_is_erased_is_the_404_of_a_missing_case(client, world, erase_on_next_read):
    """The case is read, then erased (as by another request on PostgreSQL) before the event is written."""
    code = _new_case(world)
    log_in(client, "worker_a")
    token = csrf_of(client.get(f"/cases/{code}").text)
    missing = client.get("/cases/ZZZZ-ZZZZ")
    erase_on_next_read(world.store)  # tests/conftest.py
    event = {"type": "Transit", "date": "2020-01-01", "country": "CN", "csrf_token": token}
    posted = client.post(f"/cases/{code}/events", data=event, follow_redirects=False)
    assert posted.status_code == 404 and posted.text == missing.text
