"""The HTCDS v2.0 case-level fields the store keeps, their pick-lists, and the checking of values.

Each field keeps its HTCDS name (``prs_FirstName``); its database column is the name in lower case.
Identifying fields (names, birth date, contact details, street/city/state/postal code, free text that
may hold them) are stored only as AES-256-GCM ciphertext. Deviations from HTCDS, documented in
docs/casestore.md: ``vic_LocationOfRecruitment``/``vic_LocationOfExploitation`` hold an ISO 3166 country
(finer places go in historic trafficking events, encrypted); ``cas_RegistrationDate`` is added (the CTDC
year of registration); ``cas_CaseOwner`` holds a username.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from darkfigure.casestore.picklists import PICKLIST_DATA
from darkfigure.errors import InputError


@dataclass(frozen=True)
class Picklist:
    """An HTCDS pick-list: system names with English labels; ``enum`` is the matching StrEnum.

    >>> PICKLISTS["vic_TypeOfSexExploitation"].options["RemoteInteractiveServices"]
    'Remote Interactive Services'
    >>> PICKLISTS["prs_Gender"].enum.Feminine.label
    'Feminine'
    """

    name: str
    multi: bool
    options: dict[str, str]

    @property
    def enum(self) -> type[enum.StrEnum]:
        """The pick-list as a ``StrEnum`` whose members carry ``.label``."""
        return _ENUMS[self.name]


def _make_enum(name: str, options: dict[str, str]) -> type[enum.StrEnum]:
    cls = enum.StrEnum(name, {value: value for value in options})
    for member in cls:
        member.label = options[member.value]
    return cls


PICKLISTS: dict[str, Picklist] = {name: Picklist(name, multi, dict(options)) for name, multi, options in PICKLIST_DATA}
_ENUMS = {name: _make_enum(name, p.options) for name, p in PICKLISTS.items()}

KINDS = ("text", "longtext", "date", "integer", "number", "bool", "pick", "multi", "country", "countries", "language")


@dataclass(frozen=True)
class FieldSpec:
    """One case-level field: HTCDS name, label, section, kind, pick-list, identifying, core.

    >>> FIELDS["prs_Birthdate"].identifying, FIELDS["prs_Gender"].kind
    (True, 'pick')
    """

    name: str
    label: str
    section: str
    kind: str
    identifying: bool = False
    core: bool = False

    @property
    def picklist(self) -> Picklist | None:
        """The pick-list of a ``pick`` or ``multi`` field, else None."""
        return PICKLISTS.get(self.name) if self.kind in ("pick", "multi") else None

    @property
    def column(self) -> str:
        """The database column name."""
        return self.name.lower()


def _spec(section: str, rows: Iterable[tuple]) -> list[FieldSpec]:
    return [FieldSpec(n, label, section, kind, "id" in flags, "core" in flags) for n, label, kind, flags in rows]


_PERSON = [
    ("prs_Salutation", "Salutation", "text", "id core"),
    ("prs_FirstName", "First Name", "text", "id core"),
    ("prs_MiddleName", "Middle Name", "text", "id"),
    ("prs_SecondName", "Second Name", "text", "id core"),
    ("prs_Birthdate", "Birthdate", "date", "id core"),
    ("prs_Gender", "Gender", "pick", "core"),
    ("prs_Deceased", "Deceased", "bool", ""),
    ("prs_MaritalStatus", "Marital Status", "pick", ""),
    ("prs_NumberOfChildren", "Number of Children", "integer", ""),
    ("prs_PrimaryLanguage", "Primary Language", "language", ""),
    ("prs_SecondaryLanguage", "Secondary Language", "language", ""),
    ("prs_HighestLevelOfEducation", "Highest Level of Education", "pick", ""),
    ("prs_Citizenship", "Citizenship", "countries", "core"),
    ("prs_IdentityNumber", "Identity Number", "text", "id"),
    ("prs_Title", "Title", "text", "id core"),
    ("prs_Email", "Email", "text", "id core"),
    ("prs_HomePhone", "Home Phone", "text", "id core"),
    ("prs_MobilePhone", "Mobile Phone", "text", "id core"),
    ("prs_MailingStreet", "Mailing Street", "text", "id core"),
    ("prs_MailingCity", "Mailing City", "text", "id core"),
    ("prs_MailingState", "Mailing State", "text", "id core"),
    ("prs_MailingPostalCode", "Mailing Postal Code", "text", "id core"),
    ("prs_MailingCountry", "Mailing Country", "country", "core"),
    ("prs_MailingLatitude", "Mailing Latitude", "number", "id"),
    ("prs_MailingLongitude", "Mailing Longitude", "number", "id"),
]
_VICTIM = [
    ("vic_AgreementToManagePersonalData", "Agreement to Manage Personal Data", "bool", ""),
    ("vic_TraffickingStatus", "Trafficking Status", "pick", "core"),
    ("vic_TraffickingStatusDecisionMakingOrg", "Trafficking Status Decision-Making Organisation", "pick", "core"),
    ("vic_RelationshipToTrafficker", "Relationship to Trafficker", "pick", ""),
    ("vic_AgeWhenTrafficked", "Age When Trafficked", "integer", ""),
    ("vic_RecruitmentWebsitesAndApps", "Recruitment Websites and Apps", "multi", ""),
    ("vic_MethodOfRecruitment", "Method of Recruitment", "multi", "core"),
    ("vic_LocationOfRecruitment", "Location of Recruitment (country)", "country", "core"),
    ("vic_MethodsOfControl", "Methods of Control", "multi", "core"),
    ("vic_TypeOfExploitation", "Type of Exploitation", "multi", "core"),
    ("vic_ForcedLabourIndustry", "Forced Labour Industry", "pick", "core"),
    ("vic_TypeOfSexExploitation", "Type of Sex Exploitation", "multi", "core"),
    ("vic_LocationOfExploitation", "Location of Exploitation (country)", "country", "core"),
    ("vic_ExploitationWebsitesAndApps", "Exploitation Websites and Apps", "multi", ""),
    ("vic_Vulnerabilities", "Vulnerabilities", "multi", "core"),
    ("vic_DetailsOfVulnerabilities", "Details of Vulnerabilities", "longtext", "id core"),
]
_CASE = [
    ("cas_RegistrationDate", "Registration Date", "date", ""),
    ("cas_Status", "Status", "pick", "core"),
    ("cas_ReasonForCaseClosure", "Reason for Case Closure", "longtext", "id core"),
    ("cas_CaseOwner", "Case Owner", "text", "core"),
    ("cas_ReferringOrganisation", "Referring Organisation", "text", "core"),
    ("cas_IncomingReferralDate", "Incoming Referral Date", "date", "core"),
    ("cas_ReferringPrimaryCaseWorker", "Referring Primary Case Worker", "text", "id core"),
    ("cas_ReasonForIncomingReferral", "Reason for Incoming Referral", "pick", "core"),
    ("cas_IncomingReferralDetails", "Incoming Referral Details", "longtext", "id core"),
    ("cas_ReferredOrganisation", "Referred Organisation", "text", "core"),
    ("cas_ReferredPrimaryCaseWorker", "Referred Primary Case Worker", "text", "id core"),
    ("cas_ReasonForOutgoingReferral", "Reason for Outgoing Referral", "pick", "core"),
    ("cas_OutgoingReferralDate", "Outgoing Referral Date", "date", "core"),
    ("cas_OutgoingReferralDetails", "Outgoing Referral Details", "longtext", "id core"),
    ("cco_CaseComment", "Case Comment", "longtext", "id"),
]
FIELDS: dict[str, FieldSpec] = {
    f.name: f for f in _spec("Person", _PERSON) + _spec("Victim Context", _VICTIM) + _spec("Case", _CASE)
}
IDENTIFYING = tuple(name for name, f in FIELDS.items() if f.identifying)
OUTGOING_REFERRAL = (
    "cas_ReferredOrganisation",
    "cas_ReferredPrimaryCaseWorker",
    "cas_ReasonForOutgoingReferral",
    "cas_OutgoingReferralDate",
    "cas_OutgoingReferralDetails",
)  # need consent for referral
NAME_FIELDS = ("prs_FirstName", "prs_MiddleName", "prs_SecondName")
_MAX_TEXT = {"text": 500, "longtext": 20000}
_TRUE = {"true", "yes", "y", "1", "t", "x", "on"}
_FALSE = {"false", "no", "n", "0", "f", "off"}


def check_value(name: str, value: Any) -> Any:
    """The value of field ``name`` in stored form, or InputError (column = the field) saying why not;
    the message never repeats the value (it may be a name typed into the wrong column and would then
    reach logs).

    Multi-selects come back as a tuple in pick-list order; empty text as None.

    >>> check_value("vic_TypeOfExploitation", "SexualExploitation; ForcedMarriage")
    ('SexualExploitation', 'ForcedMarriage')
    >>> check_value("prs_Birthdate", "1990-02-03")
    datetime.date(1990, 2, 3)
    >>> try:
    ...     check_value("prs_MailingLatitude", "91")
    ... except InputError as err:
    ...     err.message
    'expected a coordinate from -90 to 90 in decimal degrees, e.g. 37.5665'
    """
    spec = FIELDS.get(name)
    if spec is None:
        raise InputError(f"unknown field {name!r}; expected an HTCDS field such as prs_FirstName", column=name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return _CHECKS[spec.kind](spec, value)
    except InputError as err:
        raise InputError(err.message, column=name) from None


def _text(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InputError(f"expected text, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > _MAX_TEXT[spec.kind]:
        raise InputError(f"text is {len(text)} characters long; at most {_MAX_TEXT[spec.kind]} are allowed")
    if has_control(text):
        raise InputError("text holds control characters; remove them")
    return text


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def has_control(text: str) -> bool:
    """Whether text holds control characters (tab and line breaks allowed) or lone surrogates.

    >>> has_control("a\\tb"), has_control("a\\x00b")
    (False, True)
    """
    return _CONTROL.search(text) is not None


def parse_date(value: Any) -> dt.date:
    """A date from a ``date``/``datetime`` or ISO text ``YYYY-MM-DD`` (years 1900-2100).

    >>> parse_date("2024-05-06")
    datetime.date(2024, 5, 6)
    """
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        text = value.strip()[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T]00:00(:00)?)?", value.strip()) else None
        try:
            value = dt.date.fromisoformat(text) if text else None
        except ValueError:
            value = None
        if value is None:
            raise InputError("expected a date written YYYY-MM-DD, e.g. 1994-03-21")
    if not isinstance(value, dt.date):
        raise InputError(f"expected a date written YYYY-MM-DD, got {type(value).__name__}")
    if not 1900 <= value.year <= 2100:
        raise InputError(f"the year {value.year} is outside 1900-2100; check the date")
    return value


def _date(spec: FieldSpec, value: Any) -> dt.date:
    date = parse_date(value)
    if spec.name == "prs_Birthdate" and date > latest_today():
        raise InputError("the birth date lies in the future; check the date")
    return date


def latest_today() -> dt.date:
    """Today's date, the later of the server's local and UTC dates (a birth date may not be after it).

    >>> latest_today() >= dt.date.today()
    True
    """
    return max(dt.date.today(), dt.datetime.now(dt.UTC).date())


def _integer(spec: FieldSpec, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,6}\s*", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 150:
        raise InputError("expected a whole number from 0 to 150")
    return value


def _number(spec: FieldSpec, value: Any) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    limit, example = (90, "37.5665") if spec.name.endswith("Latitude") else (180, "126.978")
    if not math.isfinite(number) or abs(number) > limit:
        raise InputError(f"expected a coordinate from -{limit} to {limit} in decimal degrees, e.g. {example}")
    return number


def parse_bool(value: Any) -> bool:
    """True/False from a bool, 1/0 or yes/no/true/false text.

    >>> parse_bool("Yes"), parse_bool(0)
    (True, False)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InputError("expected yes or no (true/false, 1/0)")


def _bool(spec: FieldSpec, value: Any) -> bool:
    return parse_bool(value)


def _choices(options: Iterable[str]) -> str:
    options = list(options)
    return ", ".join(options[:8]) + (", ..." if len(options) > 8 else "")


def _pick(spec: FieldSpec, value: Any) -> str:
    options = PICKLISTS[spec.name].options
    text = str(value).strip()
    if text in options:
        return text
    by_label = {label.casefold(): name for name, label in options.items()} | {n.casefold(): n for n in options}
    if text.casefold() in by_label:
        return by_label[text.casefold()]
    raise InputError(f"expected one of {_choices(options)}")


def _split(value: Any) -> list[str]:
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v).strip() for v in value if str(v).strip()]
    if not isinstance(value, str):
        raise InputError(f"expected values separated by ';', got {type(value).__name__}")
    return [v.strip() for v in re.split(r"[;,|]", value) if v.strip()]


def _multi(spec: FieldSpec, value: Any) -> tuple[str, ...] | None:
    options = PICKLISTS[spec.name].options
    chosen = {_pick(spec, v) for v in _split(value)}
    return tuple(o for o in options if o in chosen) or None


def _country(spec: FieldSpec, value: Any) -> str:
    text = str(value).strip().upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise InputError("expected an ISO 3166 two-letter country code such as KR or VN")
    return text


def _countries(spec: FieldSpec, value: Any) -> tuple[str, ...] | None:
    codes = [_country(spec, v) for v in _split(value)]
    return tuple(dict.fromkeys(codes)) or None


def _language(spec: FieldSpec, value: Any) -> str:
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if not re.fullmatch(r"[a-z]{2,3}", text):
        raise InputError("expected an ISO 639 language code such as ko or eng")
    return text


_CHECKS = {
    "text": _text,
    "longtext": _text,
    "date": _date,
    "integer": _integer,
    "number": _number,
    "bool": _bool,
    "pick": _pick,
    "multi": _multi,
    "country": _country,
    "countries": _countries,
    "language": _language,
}


def check_choice(picklist: str, value: Any, column: str | None = None) -> str:
    """One value of pick-list ``picklist`` (system name or label), or InputError.

    >>> check_choice("hte_Type", "recruitment")
    'Recruitment'
    """
    try:
        return _pick(FieldSpec(picklist, picklist, "", "pick"), value)
    except InputError as err:
        raise InputError(err.message, column=column or picklist) from None


def check_choices(picklist: str, value: Any, column: str | None = None) -> tuple[str, ...]:
    """Several values of pick-list ``picklist`` (list or ``;``-joined), or InputError.

    >>> check_choices("per_RoleInProcess", "SoldIndividual;Transporter")
    ('Transporter', 'SoldIndividual')
    """
    if value is None or value == "":
        return ()
    try:
        return _multi(FieldSpec(picklist, picklist, "", "multi"), value) or ()
    except InputError as err:
        raise InputError(err.message, column=column or picklist) from None


def encode_multi(values: tuple[str, ...] | None) -> str | None:
    """The stored form of a multi-select: ``;A;B;`` so a LIKE '%;A;%' finds one value.

    >>> encode_multi(("A", "B"))
    ';A;B;'
    """
    return ";" + ";".join(values) + ";" if values else None


def decode_multi(text: str | None) -> tuple[str, ...]:
    """The values of a stored multi-select.

    >>> decode_multi(";A;B;")
    ('A', 'B')
    """
    return tuple(v for v in (text or "").split(";") if v)
