"""Migrations match the models; CTDC and linkage exports carry only consented cases and no identifiers."""

from __future__ import annotations

import csv

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from darkfigure.casestore import CaseInput, EventInput, PerpetratorInput
from darkfigure.casestore.export import CTDC_COLUMNS
from darkfigure.casestore.models import metadata
from darkfigure.linkage.fields import read_lists, read_mapping


def test_migrated_schema_matches_the_models(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == "0008"


def _cases(store, kim):
    full = {
        "prs_FirstName": "Mina",
        "prs_SecondName": "Quillfeather",
        "prs_Birthdate": "2007-09-30",
        "prs_Gender": "Feminine",
        "prs_Citizenship": "VN;KH",
        "cas_RegistrationDate": "2023-02-01",
        "vic_TypeOfExploitation": "ForcedLabour;SexualExploitation;ForcedBegging",
        "vic_TypeOfSexExploitation": "RemoteInteractiveServices",
        "vic_ForcedLabourIndustry": "A_AgricultureForestryAndFishing",
        "vic_MethodsOfControl": "DebtBondage;PhysicalThreats;ThreatensChildrenFamily",
        "vic_RelationshipToTrafficker": "Familial",
        "vic_AgeWhenTrafficked": 15,
    }
    a = store.create_case(
        kim,
        CaseInput(
            full,
            {"statistics": True, "linkage": True},
            [EventInput("Exploitation", country="KR", city="Busan")],
            [PerpetratorInput("X", "Y", ["Kidnapper"])],
        ),
    )
    b = store.create_case(
        kim,
        CaseInput(
            {
                "prs_FirstName": "Joon",
                "prs_SecondName": "Park",
                "prs_Gender": "Masculine",
                "prs_Birthdate": "1980-01-05",
            },
            {"statistics": False, "linkage": True},
        ),
    )
    c = store.create_case(
        kim, CaseInput({"prs_FirstName": "Ha", "prs_Gender": "Masculine"}, {"statistics": True, "linkage": False})
    )
    return a, b, c


def test_ctdc_export_has_consented_cases_only_and_no_identifiers(store, people, tmp_path):
    _cases(store, people["kim"])
    out = tmp_path / "ctdc.csv"
    assert store.export_ctdc(people["ana"], out) == 2
    text = out.read_text(encoding="utf-8")
    for secret in ("Mina", "Quillfeather", "Joon", "Park", "2007-09-30", "Busan", "Ha,"):
        assert secret not in text
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert tuple(rows[0]) == CTDC_COLUMNS
    mina = rows[0]
    # hand-worked from the HTCDS values above: born 2007-09-30, registered 2023-02-01 -> 15 -> 9--17, Minor
    assert (mina["yearOfRegistration"], mina["gender"], mina["ageBroad"], mina["majorityStatus"]) == (
        "2023",
        "Female",
        "9--17",
        "Minor",
    )
    assert (mina["citizenship"], mina["CountryOfExploitation"], mina["majorityStatusAtExploit"]) == (
        "VN",
        "KR",
        "Minor",
    )
    assert (mina["isForcedLabour"], mina["isSexualExploit"], mina["isSexAndLabour"], mina["isForcedMarriage"]) == (
        "1",
        "1",
        "1",
        "0",
    )
    assert (mina["typeOfLabourAgriculture"], mina["typeOfLabourBegging"], mina["typeOfLabourConstruction"]) == (
        "1",
        "1",
        "0",
    )
    assert (mina["typeOfSexRemoteInteractiveServices"], mina["typeOfSexProstitution"]) == ("1", "0")
    assert (mina["meansOfControlDebtBondage"], mina["meansOfControlThreats"], mina["meansOfControlSexualAbuse"]) == (
        "1",
        "1",
        "0",
    )
    assert (mina["isAbduction"], mina["RecruiterRelationship"], mina["recruiterRelationFamily"]) == ("1", "Family", "1")
    ha = rows[1]
    assert (ha["ageBroad"], ha["isForcedLabour"], ha["meansOfControlNotSpecified"], ha["recruiterRelationUnknown"]) == (
        "-99",
        "-99",
        "1",
        "1",
    )


def test_linkage_export_is_read_by_darkfigure_linkage(store, people, tmp_path):
    a, b, _ = _cases(store, people["kim"])
    mapping_path = store.export_list(people["admin"], tmp_path / "shelter.csv")
    mapping = read_mapping(mapping_path)
    assert list(mapping.lists) == ["Shelter"]
    frame = read_lists(mapping)["Shelter"]
    # b is consented for linkage but not for statistics: the list feeds an estimate, so b stays out
    assert b not in set(frame["record_id"])
    assert list(frame["record_id"]) == [a]
    assert list(frame["family_name"]) == ["Quillfeather"]
    assert list(frame["birth_date"]) == ["2007-09-30"]
    assert list(frame["sex"]) == ["f"]
    # a second organisation's list joins the same mapping file
    store.export_list(people["admin"], tmp_path / "other.csv", list_name="police")
    assert sorted(read_mapping(mapping_path).lists) == ["Shelter", "police"]
    entries = store.audit_log(people["admin"])
    assert entries[0].action == "export_list"


def test_only_administrators_export_identifying_lists(store, people, tmp_path):
    import pytest

    from darkfigure.errors import AccessDenied

    _cases(store, people["kim"])
    for who in ("kim", "ana", "lee"):
        with pytest.raises(AccessDenied):
            store.export_list(people[who], tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    assert store.export_ctdc(people["lee"], tmp_path / "police.csv") == 0  # another organisation's cases stay out
