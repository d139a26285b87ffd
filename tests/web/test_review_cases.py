"""Review findings on the case pages: withdrawn case-work consent (what each role may still do, a 403
saying why, a form that can be saved), the audit entry of an edit naming only the fields changed, and
values that are refused (coordinates, future birth dates, an unknown case owner, an event's country)."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from darkfigure.casestore import CaseInput, EventInput
from darkfigure.casestore.types import ConsentWithdrawn
from darkfigure.errors import InputError

from .conftest import csrf_of, log_in

WITHDRAWN = "Consent for case work was withdrawn"


class _Form(HTMLParser):
    """The name/value pairs a browser would send for the page's case form (id="save" submits it)."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("action") or "").endswith(("/edit", "/cases")):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value") or "on"))
            else:
                self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.pairs.append((self._select, a.get("value") or ""))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.pairs.append((self._textarea, ""))

    def handle_data(self, data):
        if self._textarea:
            name, text = self.pairs[-1]
            self.pairs[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_data(page_text: str, **changes: str) -> dict[str, list[str]]:
    """What the browser sends for the form on the page, with ``changes`` typed over it."""
    parser = _Form()
    parser.feed(page_text)
    data: dict[str, list[str]] = {}
    for name, value in parser.pairs:
        data.setdefault(name, []).append(value)
    return data | {name: [value] for name, value in changes.items()}


def _case(world, **fields) -> str:
    base = {"prs_FirstName": "Orla", "prs_SecondName": "Vantree", "prs_Birthdate": "1998-02-03",
            "cas_Status": "Active", "prs_Gender": "Feminine"}
    return world.store.create_case(world.users["worker_a"], CaseInput(base | fields, {"case_work": True}))


def _withdraw(client, code: str) -> None:
    token = csrf_of(client.get(f"/cases/{code}").text)
    done = client.post(f"/cases/{code}/consent", data={"purpose": "case_work", "given": "no", "csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303


def _save(client, code: str, **changes: str):
    page = client.get(f"/cases/{code}/edit")
    assert page.status_code == 200
    return client.post(f"/cases/{code}/edit", data=form_data(page.text, **changes), follow_redirects=False)


def _fields(world, code: str) -> dict:
    return world.store.get_case(world.users["admin_a"], code).fields


def test_caseworker_form_after_withdrawal_hides_identity_and_saves_the_status(client, world):
    code = _case(world)
    log_in(client, "worker_a")
    _withdraw(client, code)
    page = client.get(f"/cases/{code}/edit")
    assert page.status_code == 200
    assert 'value="hidden"' not in page.text and ">hidden</textarea>" not in page.text
    assert 'data-locked="prs_FirstName"' in page.text and 'data-locked="prs_Birthdate"' in page.text
    assert WITHDRAWN in page.text
    saved = _save(client, code, cas_Status="Closed")
    assert saved.status_code == 303, saved.text[:400]
    fields = _fields(world, code)
    assert (fields["cas_Status"], fields["prs_FirstName"], fields["prs_Birthdate"]) == (
        "Closed", "Orla", dt.date(1998, 2, 3))


def test_caseworker_additions_after_withdrawal_are_403_saying_why(client, world):
    code = _case(world)
    log_in(client, "worker_a")
    _withdraw(client, code)
    token = csrf_of(client.get(f"/cases/{code}").text)
    for path, data in ((f"/cases/{code}/events", {"type": "Transit", "country": "CN"}),
                       (f"/cases/{code}/perpetrators", {"prs_FirstName": "Broker"}),
                       (f"/cases/{code}/support-plans", {"spl_Type": "Legal"})):
        refused = client.post(path, data=data | {"csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 403, path
        assert WITHDRAWN in refused.text and "no such page" not in refused.text, path
    view = world.store.get_case(world.users["admin_a"], code)
    assert (view.events, view.perpetrators, view.support_plans) == ((), (), ())
    assert 'id="event-type"' not in client.get(f"/cases/{code}").text  # no form offered that would be refused
    # another organisation still gets the 404 of a case that does not exist
    log_in(client, "admin_b")
    token = csrf_of(client.get("/cases").text)
    other = client.post(f"/cases/{code}/events", data={"type": "Transit", "csrf_token": token})
    assert other.status_code == 404


def test_administrator_may_empty_identity_and_change_status_but_not_change_a_name(client, world):
    code = _case(world)
    log_in(client, "admin_a")
    _withdraw(client, code)
    assert _save(client, code, prs_SecondName="").status_code == 303
    assert _save(client, code, cas_Status="Closed").status_code == 303
    fields = _fields(world, code)
    assert (fields["prs_SecondName"], fields["prs_FirstName"], fields["cas_Status"]) == (None, "Orla", "Closed")
    refused = _save(client, code, prs_FirstName="Orlagh")
    assert refused.status_code == 403
    assert WITHDRAWN in refused.text and "prs_FirstName" in refused.text
    assert _fields(world, code)["prs_FirstName"] == "Orla"


def test_store_refuses_clearly_after_withdrawal(world):
    code = _case(world)
    worker, admin = world.users["worker_a"], world.users["admin_a"]
    world.store.record_consent(worker, code, "case_work", False)
    with pytest.raises(ConsentWithdrawn) as err:
        world.store.update_case(worker, code, CaseInput({"prs_FirstName": None}))
    assert err.value.column == "prs_FirstName" and "withdrawn" in err.value.message
    world.store.update_case(worker, code, CaseInput({"cas_Status": "FollowUp", "prs_FirstName": "Orla"}))
    world.store.update_case(admin, code, CaseInput({"prs_FirstName": None, "cas_Status": "Closed"}))
    with pytest.raises(ConsentWithdrawn):
        world.store.add_event(admin, code, EventInput("Transit", country="CN"))


def test_audit_entry_of_an_edit_names_only_the_changed_fields(client, world):
    code = _case(world, vic_TypeOfExploitation=["ForcedLabour"], prs_MailingLatitude="37.5")
    log_in(client, "worker_a")

    def updates():
        return [e for e in world.store.audit_log(world.users["admin_a"], code) if e.action == "update"]

    assert _save(client, code, cas_Status="FollowUp").status_code == 303
    assert [e.fields for e in updates()] == [("cas_Status",)]
    assert _save(client, code, prs_SecondName="Vantrey", cas_Status="FollowUp").status_code == 303
    assert updates()[0].fields == ("prs_SecondName",) and "Vantrey" not in repr(updates())
    assert _save(client, code).status_code == 303  # nothing changed: no entry
    assert len(updates()) == 2


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("prs_MailingLatitude", "91", "from -90 to 90"),
        ("prs_Birthdate", "2090-01-01", "future"),
        ("cas_CaseOwner", "nosuchuser", "user name"),
        ("cas_CaseOwner", "admin_b", "user name"),  # a user of another organisation
        ("cas_CaseOwner", "analyst_a", "caseworker"),  # cannot manage a case
    ],
)
def test_bad_values_are_refused_naming_the_field(client, world, field, value, words):
    code = _case(world)
    log_in(client, "worker_a")
    before = _fields(world, code)
    refused = _save(client, code, **{field: value})
    assert refused.status_code == 422
    assert f'<span class="mono">{field}</span>' in refused.text and words in refused.text
    assert _fields(world, code) == before
    token = csrf_of(client.get("/cases/new").text)
    total = world.store.list_cases(world.users["worker_a"]).total
    new = client.post("/cases", data={"prs_FirstName": "Ines", field: value, "csrf_token": token})
    assert new.status_code == 422 and f'<span class="mono">{field}</span>' in new.text
    assert world.store.list_cases(world.users["worker_a"]).total == total


def test_coordinate_limits_and_good_values(client, world):
    code = _case(world)
    log_in(client, "worker_a")
    for field, value, limit in (("prs_MailingLatitude", "-90.5", "90"), ("prs_MailingLongitude", "180.5", "180")):
        refused = _save(client, code, **{field: value})
        assert refused.status_code == 422 and f"from -{limit} to {limit}" in refused.text
    saved = _save(client, code, prs_MailingLatitude="-89.5", prs_MailingLongitude="170", cas_CaseOwner="worker_a")
    assert saved.status_code == 303
    fields = _fields(world, code)
    assert (fields["prs_MailingLatitude"], fields["prs_MailingLongitude"], fields["cas_CaseOwner"]) == (
        -89.5, 170.0, "worker_a")


def test_birth_date_after_the_registration_date_is_refused(world):
    worker = world.users["worker_a"]
    with pytest.raises(InputError) as err:
        world.store.create_case(worker, CaseInput({"prs_Birthdate": "2020-05-01",
                                                   "cas_RegistrationDate": "2020-01-01"}))
    assert err.value.column == "prs_Birthdate" and "after the registration date" in err.value.message
    code = _case(world, cas_RegistrationDate="2021-01-01", prs_Birthdate="2000-01-01")
    with pytest.raises(InputError) as err:
        world.store.update_case(worker, code, CaseInput({"prs_Birthdate": "2021-06-01"}))
    assert err.value.column == "prs_Birthdate"
    with pytest.raises(InputError) as err:
        world.store.update_case(worker, code, CaseInput({"cas_RegistrationDate": "1999-01-01"}))
    assert err.value.column == "cas_RegistrationDate"


def test_event_values_name_the_event_fields(client, world):
    code = _case(world)
    log_in(client, "worker_a")
    token = csrf_of(client.get(f"/cases/{code}").text)
    refused = client.post(f"/cases/{code}/events", data={"type": "Transit", "country": "Narnia", "csrf_token": token})
    assert refused.status_code == 422
    assert 'id="error-field">hte_Country<' in refused.text and "prs_MailingCountry" not in refused.text
    worker = world.users["worker_a"]
    with pytest.raises(InputError) as err:
        world.store.add_event(worker, code, EventInput("Transit", latitude=91))
    assert err.value.column == "hte_Latitude" and "-90 to 90" in err.value.message
    world.store.add_event(worker, code, EventInput("Transit", latitude=45, longitude=150))  # a longitude beyond 90
    assert world.store.get_case(worker, code).events[0].longitude == 150.0
