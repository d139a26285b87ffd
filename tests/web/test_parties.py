"""Adding perpetrators and support plans to a case through the case view's forms."""

from __future__ import annotations

import pytest

from .conftest import csrf_of, log_in

# world (this module's own, module-scoped) and client: tests/web/conftest.py


def _parties(world):
    case = world.store.get_case(world.users["admin_a"], world.code_a)
    return len(case.perpetrators), len(case.support_plans)


def test_a_perpetrator_added_through_the_form_shows_on_the_case_view(client, world):
    log_in(client, "worker_a")
    view = client.get(f"/cases/{world.code_a}")
    assert 'id="perpetrator-form"' in view.text and 'value="SoldIndividual"' in view.text
    form = {"prs_FirstName": "Dokgo", "prs_SecondName": "Chul", "per_RoleInProcess": ["Transporter", "Exploiter"],
            "per_RoleDetails": "drove the van", "csrf_token": csrf_of(view.text)}
    added = client.post(f"/cases/{world.code_a}/perpetrators", data=form, follow_redirects=False)
    assert (added.status_code, added.headers["location"]) == (303, f"/cases/{world.code_a}#perpetrators")
    page = client.get(f"/cases/{world.code_a}").text
    assert "Perpetrator added." in page and "Dokgo Chul" in page and "drove the van" in page
    assert "Transporter</span>" in page and "Exploiter</span>" in page
    stored = world.store.get_case(world.users["worker_a"], world.code_a).perpetrators[-1]
    assert stored.role_in_process == ("Transporter", "Exploiter")  # HTCDS pick-list order


def test_a_support_plan_added_through_the_form_shows_on_the_case_view(client, world):
    log_in(client, "worker_a")
    token = csrf_of(client.get(f"/cases/{world.code_a}").text)
    form = {"spl_Type": "RightsBasedTraining", "spl_Objectives": "know her rights at work",
            "spl_PlannedEndDate": "2026-03-31", "csrf_token": token}
    added = client.post(f"/cases/{world.code_a}/support-plans", data=form)
    assert added.status_code == 200
    assert "Rights-based Training" in added.text  # the HTCDS label, not the system name
    assert "2026-03-31" in added.text and "know her rights at work" in added.text
    korean = client.get(f"/cases/{world.code_a}?lang=ko").text
    assert "가해자 추가" in korean and "지원 계획 추가" in korean


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("perpetrators", {"prs_FirstName": "Typed Back", "per_RoleInProcess": "Wizard"}, "per_RoleInProcess"),
        ("support-plans", {"spl_Type": "Astrology", "spl_Objectives": "Typed Back"}, "spl_Type"),
        ("support-plans", {"spl_Type": "Legal", "spl_PlannedEndDate": "31/02/2026", "spl_Objectives": "Typed Back"},
         "spl_PlannedEndDate"),
    ],
)
def test_a_bad_value_comes_back_on_the_form_and_nothing_is_written(client, world, path, form, field):
    log_in(client, "worker_a")
    token = csrf_of(client.get(f"/cases/{world.code_a}").text)
    before = _parties(world)
    refused = client.post(f"/cases/{world.code_a}/{path}", data={**form, "csrf_token": token})
    assert refused.status_code == 422
    assert f'id="error-field">{field}<' in refused.text and 'id="form-error"' in refused.text
    assert "Typed Back" in refused.text  # what was typed is there to correct
    assert _parties(world) == before


def test_an_analyst_sees_no_form_and_may_not_add(client, world):
    log_in(client, "analyst_a")
    view = client.get(f"/cases/{world.code_a}")
    assert view.status_code == 200
    assert "perpetrator-form" not in view.text and "support-plan-form" not in view.text
    token, before = csrf_of(view.text), _parties(world)
    for path, form in (("perpetrators", {"per_RoleInProcess": "Abuser"}), ("support-plans", {"spl_Type": "Legal"})):
        assert client.post(f"/cases/{world.code_a}/{path}", data={**form, "csrf_token": token}).status_code == 403
    assert _parties(world) == before


def test_another_organisations_case_is_not_found(client, world):
    log_in(client, "admin_b")
    token, before = csrf_of(client.get("/cases").text), _parties(world)
    for path, form in (("perpetrators", {"per_RoleInProcess": "Abuser"}), ("support-plans", {"spl_Type": "Legal"})):
        other = client.post(f"/cases/{world.code_a}/{path}", data={**form, "csrf_token": token})
        missing = client.post(f"/cases/ZZZZ-ZZZZ/{path}", data={**form, "csrf_token": token})
        assert other.status_code == missing.status_code == 404
        assert other.text == missing.text
        assert client.post(f"/cases/{world.code_a}/{path}", data={"spl_Type": "Bad", "csrf_token": token,
                                                                  "per_RoleInProcess": "Bad"}).status_code == 404
    assert _parties(world) == before


@pytest.mark.parametrize(("path", "field"), [("perpetrators", "prs_FirstName"), ("support-plans", "spl_Type")])
def test_an_empty_form_is_refused_naming_its_first_field_and_nothing_is_written(client, world, path, field):
    log_in(client, "worker_a")
    token = csrf_of(client.get(f"/cases/{world.code_a}").text)
    before = _parties(world)
    blank = {name: " " for name in ("prs_FirstName", "prs_SecondName", "per_RoleDetails", "spl_Objectives")}
    for form in ({"csrf_token": token}, {**blank, "csrf_token": token}):  # nothing sent, or only blanks
        refused = client.post(f"/cases/{world.code_a}/{path}", data=form, follow_redirects=False)
        assert refused.status_code == 422
        assert f'id="error-field">{field}<' in refused.text
    assert _parties(world) == before
