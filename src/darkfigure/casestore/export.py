"""Exports: a CTDC-shaped table without identifiers (consent for statistics), and an organisation's list
for ``darkfigure encode``/``link`` with a mapping.toml (consent for linkage).

CTDC columns follow the public CTDC global dataset (flags 1/0, ``-99`` where the HTCDS field was not
answered); HTCDS keeps finer categories, which are folded into CTDC's as :data:`CTDC_COLUMNS` says.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, true

from darkfigure.casestore import records
from darkfigure.casestore.fields import decode_multi
from darkfigure.casestore.models import cases, events, organisations, perpetrators
from darkfigure.errors import InputError

MISSING = -99
_GENDER = {
    "Feminine": "Female",
    "Masculine": "Male",
    "TransgenderFeminine": "Trans/Transgender/NonConforming",
    "TransgenderMasculine": "Trans/Transgender/NonConforming",
    "NonConforming": "Trans/Transgender/NonConforming",
}
_CONTROL = {
    "DebtBondage": "DebtBondage",
    "TakesEarnings": "TakesEarnings",
    "RestrictsFinancialAccess": "RestrictsFinancialAccess",
    "PhysicalThreats": "Threats",
    "ThreatensChildrenFamily": "Threats",
    "PsychologicalAbuse": "PsychologicalAbuse",
    "PhysicalAbuse": "PhysicalAbuse",
    "SexualAbuse": "SexualAbuse",
    "FalsePromises": "FalsePromises",
    "PsychoactiveSubstance": "PsychoactiveSubstances",
    "RestrictsMedicalCare": "RestrictsMedicalCare",
    "ExcessiveWorkingHours": "ExcessiveWorkingHours",
    "ThreatsLawEnforcement": "ThreatOfLawEnforcement",
    "WithholdsNecessities": "WithholdsNecessities",
    "WithholdsDocuments": "WithholdsDocuments",
    "Other": "Other",
}
_EXPLOIT = {
    "isForcedLabour": ("ForcedLabour", "ChildLabour", "ForcedBegging"),
    "isSexualExploit": ("SexualExploitation",),
    "isForcedMarriage": ("ForcedMarriage",),
    "isForcedMilitary": ("ForcedMilitaryByNonStateActors",),
    "isOrganRemoval": ("OrganRemoval",),
    "isSlaveryAndPractices": ("Servitude",),
    "isOtherExploit": ("ForcedAdoption", "Surrogacy", "Other"),
}
_LABOUR = {
    "A": "Agriculture",
    "B": "MiningOrDrilling",
    "C": "Manufacturing",
    "F": "Construction",
    "H": "Transportation",
    "I": "Hospitality",
    "T": "DomesticWork",
}
_LABOUR_COLUMNS = (
    "Agriculture",
    "Begging",
    "Construction",
    "DomesticWork",
    "Hospitality",
    "Manufacturing",
    "MiningOrDrilling",
    "Transportation",
    "Other",
    "NotSpecified",
)
_SEX = ("Prostitution", "Pornography", "RemoteInteractiveServices", "PrivateSexualServices")
_RELATION = {"Familial": "Family", "Acquainted": "Other", "Unaquainted": "Other"}
_RELATION_COLUMNS = ("IntimatePartner", "Friend", "Family", "Other", "Unknown")
CTDC_COLUMNS = (
    "Datasource",
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "majorityStatus",
    "majorityStatusAtExploit",
    "citizenship",
    "CountryOfExploitation",
    *[f"meansOfControl{c}" for c in dict.fromkeys(_CONTROL.values())],
    "meansOfControlNotSpecified",
    "meansOfControlConcatenated",
    *_EXPLOIT,
    "isSexAndLabour",
    "typeOfExploitConcatenated",
    *[f"typeOfLabour{c}" for c in _LABOUR_COLUMNS],
    "typeOfLabourConcatenated",
    *[f"typeOfSex{c}" for c in _SEX],
    "typeOfSexConcatenated",
    "isAbduction",
    "RecruiterRelationship",
    *[f"recruiterRelation{c}" for c in _RELATION_COLUMNS],
)


def _flags(chosen: tuple[str, ...], answered: bool, names: dict[str, tuple[str, ...]]) -> dict[str, int]:
    return {
        column: (int(any(v in chosen for v in values)) if answered else MISSING) for column, values in names.items()
    }


def ctdc_row(row: Any, exploitation_country: str | None, abduction: bool) -> dict[str, Any]:
    """One CTDC-shaped row from a case row (no identifying column is read)."""
    control, kinds = decode_multi(row.vic_methodsofcontrol), decode_multi(row.vic_typeofexploitation)
    sex, industry = decode_multi(row.vic_typeofsexexploitation), row.vic_forcedlabourindustry
    out: dict[str, Any] = {
        "Datasource": "Case Management",
        "yearOfRegistration": row.registration_year or MISSING,
        "gender": _GENDER.get(row.prs_gender, MISSING),
        "ageBroad": row.age_broad or MISSING,
        "majorityStatus": _majority(row.age_broad),
        "majorityStatusAtExploit": MISSING
        if row.vic_agewhentrafficked is None
        else "Adult"
        if row.vic_agewhentrafficked >= 18
        else "Minor",
        "citizenship": (decode_multi(row.prs_citizenship) or (MISSING,))[0],
        "CountryOfExploitation": row.vic_locationofexploitation or exploitation_country or MISSING,
    }
    targets = {f"meansOfControl{t}": tuple(k for k, v in _CONTROL.items() if v == t) for t in _CONTROL.values()}
    out |= _flags(control, bool(control), targets)
    out["meansOfControlNotSpecified"] = int(not control)
    out["meansOfControlConcatenated"] = ";".join(dict.fromkeys(_CONTROL[c] for c in control)) or MISSING
    out |= _flags(kinds, bool(kinds), _EXPLOIT)
    out["isSexAndLabour"] = int(out["isForcedLabour"] == 1 and out["isSexualExploit"] == 1) if kinds else MISSING
    out["typeOfExploitConcatenated"] = ";".join(kinds) or MISSING
    labour = set()
    if industry:
        labour.add(_LABOUR.get(industry[0], "Other"))
    if "ForcedBegging" in kinds:
        labour.add("Begging")
    if out["isForcedLabour"] == 1 and not labour:
        labour.add("NotSpecified")
    out |= {f"typeOfLabour{c}": int(c in labour) if labour else MISSING for c in _LABOUR_COLUMNS}
    out["typeOfLabourConcatenated"] = ";".join(sorted(labour)) or MISSING
    out |= {f"typeOfSex{c}": int(c in sex) if sex else MISSING for c in _SEX}
    out["typeOfSexConcatenated"] = ";".join(sex) or MISSING
    out["isAbduction"] = 1 if abduction else MISSING
    relation = _RELATION.get(row.vic_relationshiptotrafficker, "Unknown")
    out["RecruiterRelationship"] = relation
    out |= {f"recruiterRelation{c}": int(c == relation) for c in _RELATION_COLUMNS}
    return out


def _majority(band: str | None) -> Any:
    if not band:
        return MISSING
    return "Minor" if band in ("0--8", "9--17") else "Adult"


def write_ctdc(store, conn: Connection, actor, path: Path) -> int:
    """Write the CTDC-shaped CSV of the actor's statistics-consented cases; return the row count."""
    where = (cases.c.organisation_id == actor.organisation_id, cases.c.consent_statistics == true())
    countries = dict(
        conn.execute(
            select(events.c.case_id, events.c.country)
            .join(cases)
            .where(*where, events.c.type == "Exploitation", events.c.country.is_not(None))
            .order_by(events.c.id.desc())
        ).all()
    )
    kidnap = set(
        conn.execute(
            select(perpetrators.c.case_id)
            .join(cases)
            .where(*where, perpetrators.c.role_in_process.like("%;Kidnapper;%"))
        ).scalars()
    )
    rows = conn.execute(select(cases).where(*where).order_by(cases.c.id)).all()
    table = [ctdc_row(r, countries.get(r.id), r.id in kidnap) for r in rows]
    _write_csv(path, CTDC_COLUMNS, table)
    return len(table)


def _write_csv(path: Path, columns: tuple[str, ...], table: list[dict[str, Any]], spreadsheet: bool = True) -> None:
    """Write the CSV (0600) through a staging file; ``spreadsheet`` neutralises formulas (see spreadsheet_safe)."""
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} if spreadsheet else row for row in table)
        os.replace(staging, path)
    except OSError as err:
        staging.unlink(missing_ok=True)
        raise InputError(
            f"cannot write the export ({err.strerror or err}); check the folder", source=str(path)
        ) from None


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(value: Any) -> Any:
    """A cell value a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or line
    break) gets a leading apostrophe; numbers stay as they are.

    >>> spreadsheet_safe("=1+2"), spreadsheet_safe("@SUM(A1)"), spreadsheet_safe(-99), spreadsheet_safe("Mina")
    ("'=1+2", "'@SUM(A1)", -99, 'Mina')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


LIST_COLUMNS = ("record_id", "given_name", "family_name", "birth_date", "sex", "citizenship")
_LINK_SEX = {"Feminine": "f", "Masculine": "m", "TransgenderFeminine": "f", "TransgenderMasculine": "m"}


def write_list(store, conn: Connection, actor, path: Path, list_name: str | None) -> tuple[Path, list[str]]:
    """Write the list file and merge its table into ``mapping.toml`` beside it; return the mapping's path
    and the case codes written. The list is the road into an estimate, so a case enters it only when
    consented for linkage AND for statistics."""
    if list_name is not None and not re.fullmatch(r"[\w.-]{1,100}", list_name):
        raise InputError("a list name is 1-100 letters, digits or . - _", column="list_name")
    where = (
        cases.c.organisation_id == actor.organisation_id,
        cases.c.consent_linkage == true(),
        cases.c.consent_statistics == true(),
    )
    table = []
    for row in conn.execute(select(cases).where(*where).order_by(cases.c.id)):

        def open_(column: str, kind: str = "text", row=row) -> Any:
            return records.unseal(store.ring, "cases", row.uid, column, getattr(row, column), kind)

        birth = open_("prs_birthdate", "date")
        given = " ".join(filter(None, (open_("prs_firstname"), open_("prs_middlename"))))
        table.append(
            {
                "record_id": row.code,
                "given_name": given,
                "family_name": open_("prs_secondname") or "",
                "birth_date": birth.isoformat() if birth else "",
                "sex": _LINK_SEX.get(row.prs_gender, ""),
                "citizenship": ";".join(decode_multi(row.prs_citizenship)),
            }
        )
    # no formula apostrophe here: the list is read by darkfigure encode/link, not a spreadsheet, and a
    # prefixed name ("'-Ann") would be encoded as another name and so miss its match on other lists
    _write_csv(path, LIST_COLUMNS, table, spreadsheet=False)
    org_name = conn.execute(select(organisations.c.name).where(organisations.c.id == actor.organisation_id)).scalar()
    name = list_name or _slug(org_name or "list")
    return _merge_mapping(path, name), [row["record_id"] for row in table]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "_", text).strip("_") or "list"


def _merge_mapping(path: Path, name: str) -> Path:
    mapping = path.parent / "mapping.toml"
    lists: dict[str, dict[str, Any]] = {}
    if mapping.exists():
        try:
            lists = dict(tomllib.loads(mapping.read_text(encoding="utf-8")).get("lists", {}))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            raise InputError(
                "mapping.toml beside the export is not a mapping file; move it away", source=str(mapping)
            ) from None
    lists[name] = {
        "file": path.name,
        "record_id": "record_id",
        "given_name": "given_name",
        "family_name": "family_name",
        "birth_date": "birth_date",
        "sex": "sex",
        "extra": {"citizenship": "citizenship"},
    }
    lines = ["# Written by darkfigure cases export --format linkage; read by darkfigure encode / link.", ""]
    for list_name, entry in lists.items():
        lines.append(f"[lists.{json.dumps(list_name, ensure_ascii=False)}]")
        lines += [f"{key} = {_toml(value)}" for key, value in entry.items()]
        lines.append("")
    mapping.write_text("\n".join(lines), encoding="utf-8")
    return mapping


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value).lower() if isinstance(value, bool) else str(value)
