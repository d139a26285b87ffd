"""The service API on both backends: cases, roles, organisations, consent, search, audit."""

from __future__ import annotations

import datetime as dt

import pytest

from darkfigure.casestore import HIDDEN, CaseInput, EventInput, PerpetratorInput, SupportPlanInput
from darkfigure.errors import AccessDenied, InputError

MINA = {
    "prs_FirstName": "Mina",
    "prs_SecondName": "Quillfeather",
    "prs_Birthdate": "2001-04-17",
    "prs_Gender": "Feminine",
    "prs_Citizenship": "VN",
    "prs_MailingCity": "Yeosu-Harbourview",
    "vic_TypeOfExploitation": "SexualExploitation;ForcedMarriage",
    "vic_TypeOfSexExploitation": "RemoteInteractiveServices",
    "vic_MethodsOfControl": ["DebtBondage", "WithholdsDocuments"],
    "cas_Status": "Active",
    "cas_RegistrationDate": "2020-03-01",
    "vic_RelationshipToTrafficker": "Familial",
}
CONSENT_ALL = {"case_work": True, "referral": True, "statistics": True, "linkage": True}


def test_case_round_trip_and_derived_fields(store, people):
    kim = people["kim"]
    code = store.create_case(
        kim, CaseInput(dict(MINA), CONSENT_ALL, [EventInput("Exploitation", "2019-07-02", "KR", city="Busan-Gamcheon")])
    )
    view = store.get_case(kim, code)
    assert view.fields["prs_FirstName"] == "Mina"
    assert view.fields["prs_Birthdate"] == dt.date(2001, 4, 17)
    assert view.fields["vic_TypeOfExploitation"] == ("SexualExploitation", "ForcedMarriage")
    assert view.events[0].city == "Busan-Gamcheon" and view.events[0].year == 2019
    page = store.list_cases(kim)
    assert page.total == 1
    # hand-worked: born 2001-04-17, registered 2020-03-01 -> 18 years old -> CTDC band 18--20
    assert page.items[0].age_broad == "18--20" and page.items[0].registration_year == 2020


def test_analyst_sees_no_identifying_field(store, people):
    code = store.create_case(people["kim"], CaseInput(dict(MINA), CONSENT_ALL, [EventInput("Recruitment", city="X")]))
    view = store.get_case(people["ana"], code)
    assert view.identity_hidden
    assert view.fields["prs_FirstName"] == HIDDEN and view.fields["prs_Birthdate"] == HIDDEN
    assert view.fields["prs_Gender"] == "Feminine"
    assert view.events[0].city == HIDDEN
    with pytest.raises(AccessDenied):
        store.create_case(people["ana"], CaseInput({"prs_FirstName": "X"}))


def test_analyst_sees_only_statistics_consented_cases(store, people):
    kim, ana = people["kim"], people["ana"]
    yes = store.create_case(kim, CaseInput({"prs_Gender": "Masculine"}, {"statistics": True}))
    no = store.create_case(kim, CaseInput({"prs_Gender": "Masculine"}, {"statistics": False}))
    assert [c.code for c in store.list_cases(ana).items] == [yes]
    with pytest.raises(AccessDenied):
        store.get_case(ana, no)


def test_no_access_across_organisations(store, people):
    code = store.create_case(people["kim"], CaseInput(dict(MINA), CONSENT_ALL))
    with pytest.raises(AccessDenied):
        store.get_case(people["lee"], code)
    with pytest.raises(AccessDenied):
        store.update_case(people["lee"], code, CaseInput({"cas_Status": "Closed"}))
    with pytest.raises(AccessDenied):
        store.record_consent(people["lee"], code, "statistics", False)
    assert store.list_cases(people["lee"]).total == 0


def test_validation_names_the_column(store, people):
    with pytest.raises(InputError) as err:
        store.create_case(people["kim"], CaseInput({"prs_Gender": "Femal"}))
    assert err.value.column == "prs_Gender"
    with pytest.raises(InputError) as err:
        store.create_case(people["kim"], CaseInput({"prs_Birthdate": "17/04/2001"}))
    assert err.value.column == "prs_Birthdate"


def test_update_and_name_search_through_blind_index(store, people):
    kim = people["kim"]
    code = store.create_case(kim, CaseInput(dict(MINA), CONSENT_ALL))
    other = store.create_case(kim, CaseInput({"prs_FirstName": "Joon", "prs_SecondName": "Park"}, CONSENT_ALL))
    assert [c.code for c in store.list_cases(kim, search="quillfeather").items] == [code]
    assert [c.code for c in store.list_cases(kim, search="MINA  Quillfeather").items] == [code]
    assert store.list_cases(kim, search="Mina Park").total == 0
    store.update_case(kim, code, CaseInput({"prs_SecondName": "Thornbury"}))
    assert store.list_cases(kim, search="quillfeather").total == 0
    assert [c.code for c in store.list_cases(kim, search="thornbury mina").items] == [code]
    assert [c.code for c in store.list_cases(kim, search=other[:4]).items] == [other]
    # an analyst's name search finds nothing: names are not theirs to search
    assert store.list_cases(people["ana"], search="Mina").total == 0


def test_filters_and_pages(store, people):
    kim = people["kim"]
    for i in range(7):
        store.create_case(
            kim,
            CaseInput(
                {
                    "cas_Status": "Active" if i % 2 else "Closed",
                    "vic_TypeOfExploitation": "ForcedLabour" if i < 3 else "SexualExploitation",
                }
            ),
        )
    page = store.list_cases(kim, page=2, per_page=3)
    assert (page.total, len(page.items), page.pages) == (7, 3, 3)
    assert store.list_cases(kim, filters={"status": "Active"}).total == 3
    assert store.list_cases(kim, filters={"type_of_exploitation": "ForcedLabour"}).total == 3


def test_consent_enforced_for_referral_and_case_work(store, people):
    kim, admin = people["kim"], people["admin"]
    code = store.create_case(kim, CaseInput({"prs_FirstName": "Hana"}, {"case_work": True}))
    with pytest.raises(InputError) as err:
        store.update_case(kim, code, CaseInput({"cas_ReferredOrganisation": "Legal aid"}))
    assert err.value.column == "cas_ReferredOrganisation"
    store.record_consent(kim, code, "referral", True)
    store.update_case(kim, code, CaseInput({"cas_ReferredOrganisation": "Legal aid"}))
    store.record_consent(kim, code, "case_work", False)
    assert store.get_case(kim, code).fields["prs_FirstName"] == HIDDEN
    assert store.get_case(admin, code).fields["prs_FirstName"] == "Hana"
    with pytest.raises(AccessDenied):
        store.update_case(kim, code, CaseInput({"prs_FirstName": "Hanna"}))


def test_children_and_counts(store, people):
    kim = people["kim"]
    code = store.create_case(kim, CaseInput(dict(MINA), CONSENT_ALL))
    store.add_event(kim, code, EventInput("Transit", "2019-05-01", "CN", city="Dandong"))
    store.add_perpetrator(kim, code, PerpetratorInput("Broker", "Vell", ["SoldIndividual", "RecruiterOrIntermediary"]))
    store.add_support_plan(kim, code, SupportPlanInput("Legal", objectives="visa"))
    view = store.get_case(kim, code)
    assert view.perpetrators[0].second_name == "Vell"
    assert view.perpetrators[0].role_in_process == ("RecruiterOrIntermediary", "SoldIndividual")
    assert view.support_plans[0].objectives == "visa"
    store.create_case(kim, CaseInput({"vic_TypeOfExploitation": "ForcedLabour"}, {"statistics": False}))
    counts = store.counts(kim)
    assert (counts.total, counts.statistics_consented, counts.events) == (2, 1, 1)
    assert counts.by_exploitation == {"SexualExploitation": 1, "ForcedMarriage": 1}


def test_users_and_passwords(store, people):
    assert store.authenticate("kim", "kim password 12") == people["kim"]
    assert store.authenticate("kim", "wrong password") is None
    assert store.authenticate("nobody", "kim password 12") is None
    with pytest.raises(AccessDenied):
        store.create_user(store.organisation("Shelter"), "x", "long enough pw", "caseworker", actor=people["kim"])
    with pytest.raises(AccessDenied):
        store.create_user(store.organisation("Police"), "x", "long enough pw", "caseworker", actor=people["admin"])
    store.set_password(people["admin"], "kim", "a new password")
    assert store.authenticate("kim", "a new password") == people["kim"]
    with pytest.raises(InputError):
        store.create_user("Shelter", "y", "short", "caseworker")
    from sqlalchemy import select

    from darkfigure.casestore.models import users

    with store.engine.connect() as conn:
        hashes = conn.execute(select(users.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert store.user(people["kim"].id) == people["kim"]
    store.deactivate_user(people["admin"], "kim")
    assert store.user(people["kim"].id) is None and store.authenticate("kim", "a new password") is None


def test_audit_chain_records_views_and_verifies(store, people):
    kim, admin = people["kim"], people["admin"]
    code = store.create_case(kim, CaseInput(dict(MINA), CONSENT_ALL))
    store.get_case(kim, code)
    store.get_case(people["ana"], code)  # no identity shown: not a view of identifying data
    entries = store.audit_log(admin, case_code=code)
    assert [e.action for e in entries] == ["view", "create"]
    assert "prs_FirstName" in entries[0].fields and entries[0].actor == "kim"
    assert entries[0].previous_hash == entries[1].hash
    assert store.verify_audit().ok
    with pytest.raises(AccessDenied):
        store.audit_log(kim)
