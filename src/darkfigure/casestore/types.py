"""The plain values the case store takes and gives: actors, inputs, views, pages, reports.

Case fields are keyed by their HTCDS v2.0 names (``prs_FirstName``, ``vic_TypeOfExploitation``, ...);
:data:`darkfigure.casestore.fields.FIELDS` describes each one (label, kind, pick-list, identifying).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from darkfigure.errors import AccessDenied, InputError

ROLES = ("administrator", "caseworker", "analyst")
PURPOSES = ("case_work", "referral", "statistics", "linkage")
EVENT_TYPES = ("Recruitment", "Transit", "Exploitation")
HIDDEN = "hidden"  # stands in for an identifying value an analyst may not see


@dataclass(frozen=True)
class Actor:
    """The logged-in user on whose behalf the store acts (``role`` is one of :data:`ROLES`).

    ``session_epoch`` is the user's session epoch as the store last read it (raised whenever the
    password is set or the user switched off; a web session from an older epoch has ended). It takes
    no part in comparing actors.

    >>> Actor(1, "kim", 1, "caseworker").may_see_identity
    True
    """

    id: int
    username: str
    organisation_id: int
    role: str
    session_epoch: int = field(default=0, compare=False, repr=False)

    @property
    def may_see_identity(self) -> bool:
        """Administrators and caseworkers see identifying fields; analysts never do."""
        return self.role in ("administrator", "caseworker")


User = Actor


@dataclass(frozen=True)
class Organisation:
    """An organisation; every case, user and audit entry belongs to exactly one.

    >>> Organisation(1, "Shelter", "NGO").name
    'Shelter'
    """

    id: int
    name: str
    type: str | None = None


@dataclass
class EventInput:
    """A historic trafficking event (HTCDS ``hte_``): recruitment, transit or exploitation, place and date.

    ``country`` is an ISO 3166 alpha-2 code (kept in clear for statistics); street, city, state, postal
    code, coordinates, date and description are identifying and encrypted (the year is kept in clear).

    >>> EventInput("Exploitation", country="KR", city="Busan").type
    'Exploitation'
    """

    type: str
    date: dt.date | str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    street: str | None = None
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    description: str | None = None


@dataclass
class PerpetratorInput:
    """A perpetrator linked to the case (HTCDS person + ``per_`` context). Names are encrypted.

    >>> PerpetratorInput(first_name="Lee", role_in_process=["SoldIndividual"]).role_in_process
    ['SoldIndividual']
    """

    first_name: str | None = None
    second_name: str | None = None
    role_in_process: list[str] = field(default_factory=list)
    role_details: str | None = None


@dataclass
class SupportPlanInput:
    """A support plan (HTCDS ``spl_``); objectives and action plan are encrypted free text.

    >>> SupportPlanInput("Legal").type
    'Legal'
    """

    type: str
    objectives: str | None = None
    action_plan: str | None = None
    planned_end_date: dt.date | str | None = None
    actual_end_date: dt.date | str | None = None


@dataclass
class CaseInput:
    """A new case, or the changes to one: HTCDS fields by name, consents by purpose, events.

    In :meth:`CaseStore.update_case` only the fields present are changed (a value of None clears one).
    Dates may be ``datetime.date`` or ISO text; multi-selects lists of system names (or ``;``-joined text).

    >>> CaseInput({"prs_FirstName": "Mina", "prs_Gender": "Feminine"}, {"statistics": True}).consents
    {'statistics': True}
    """

    fields: dict[str, Any] = field(default_factory=dict)
    consents: dict[str, bool] = field(default_factory=dict)
    events: list[EventInput] = field(default_factory=list)
    perpetrators: list[PerpetratorInput] = field(default_factory=list)
    support_plans: list[SupportPlanInput] = field(default_factory=list)


@dataclass(frozen=True)
class EventView:
    """An event as a user sees it; identifying parts are :data:`HIDDEN` for analysts.

    >>> EventView("e1", "Transit", 2024, None, "KR", None, None, None, None, None, None, None).year
    2024
    """

    id: str
    type: str
    year: int | None
    date: Any
    country: str | None
    state: Any
    city: Any
    street: Any
    postal_code: Any
    latitude: Any
    longitude: Any
    description: Any


@dataclass(frozen=True)
class PerpetratorView:
    """A perpetrator as a user sees it (names :data:`HIDDEN` for analysts).

    >>> PerpetratorView("p1", HIDDEN, HIDDEN, ("SoldIndividual",), HIDDEN).role_in_process
    ('SoldIndividual',)
    """

    id: str
    first_name: Any
    second_name: Any
    role_in_process: tuple[str, ...]
    role_details: Any


@dataclass(frozen=True)
class SupportPlanView:
    """A support plan as a user sees it (free text :data:`HIDDEN` for analysts).

    >>> SupportPlanView("s1", "Legal", HIDDEN, HIDDEN, None, None).type
    'Legal'
    """

    id: str
    type: str
    objectives: Any
    action_plan: Any
    planned_end_date: dt.date | None
    actual_end_date: dt.date | None


@dataclass(frozen=True)
class CaseView:
    """One case: every HTCDS case-level field by name (None when empty; :data:`HIDDEN` for identifying
    fields when the actor is an analyst), current consents by purpose (None = never asked), and events.

    >>> v = CaseView("K7M4-QX9P", 1, None, None, {"prs_FirstName": HIDDEN}, {}, (), (), (), True)
    >>> v.fields["prs_FirstName"]
    'hidden'
    """

    code: str
    organisation_id: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    fields: dict[str, Any]
    consents: dict[str, bool | None]
    events: tuple[EventView, ...]
    perpetrators: tuple[PerpetratorView, ...]
    support_plans: tuple[SupportPlanView, ...]
    identity_hidden: bool


@dataclass(frozen=True)
class CaseSummary:
    """A row of the case list: pseudonymous only (no name, birth date or place), for any role.

    >>> CaseSummary("K7M4-QX9P", "Active", "Feminine", 2025, "18--20", ("SexualExploitation",), ("KR",), None).code
    'K7M4-QX9P'
    """

    code: str
    status: str | None
    gender: str | None
    registration_year: int | None
    age_broad: str | None
    types_of_exploitation: tuple[str, ...]
    citizenship: tuple[str, ...]
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class Page:
    """One page of a list: ``items``, the ``total`` matching, ``page`` (from 1) and ``per_page``.

    >>> Page([], 120, 2, 50).pages
    3
    """

    items: list[CaseSummary]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the total fills (at least 1)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class Problem:
    """One bad cell of an import: data row as a spreadsheet numbers it (header = row 1), column, why.

    >>> str(Problem(3, "prs_Gender", "expected one of Feminine, Masculine, ..."))
    'row 3, column prs_Gender: expected one of Feminine, Masculine, ...'
    """

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [
            w for w in (f"row {self.row}" if self.row else "", f"column {self.column}" if self.column else "") if w
        ]
        return f"{', '.join(where)}: {self.message}" if where else self.message


class CaseNotFound(InputError):
    """No case has this code (the web shows it as the same 404 as another organisation's case).

    >>> isinstance(CaseNotFound("no case with code 'X'; check the code"), InputError)
    True
    """


class ConsentWithdrawn(AccessDenied):
    """A change refused because the person withdrew consent for case work: identifying fields may not
    be changed (an administrator may only empty them) and nothing may be added to the case. Only said
    to users of the case's organisation (the web's 403, not its 404); ``column`` names the field refused.

    >>> err = ConsentWithdrawn("consent for case work was withdrawn", column="prs_FirstName")
    >>> isinstance(err, AccessDenied), err.column
    (True, 'prs_FirstName')
    """

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.message, self.column = message, column


class ImportRejected(InputError):
    """An import found problems; nothing was written. ``problems`` lists every bad row and column.

    >>> err = ImportRejected([Problem(2, "prs_Birthdate", "not a date")], source="a.csv")
    >>> err.problems[0].column
    'prs_Birthdate'
    """

    def __init__(self, problems: list[Problem], *, source: str | None = None) -> None:
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:20])
        more = f"; and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(
            f"{len(self.problems)} problem(s), nothing was imported; fix them and import again: {shown}{more}",
            source=source,
        )


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows read and the case codes created, in file order.

    >>> ImportReport("a.csv", 2, ("K7M4-QX9P", "M3RT-8WZC")).rows
    2
    """

    source: str
    rows: int
    codes: tuple[str, ...]


@dataclass(frozen=True)
class AuditEntry:
    """One audit-log entry: who did what to which case's identifying fields, chained by hash.

    >>> AuditEntry(1, "2026-01-01T00:00:00+00:00", "kim", 1, "view", "K7M4-QX9P", ("prs_FirstName",), "", "ab").action
    'view'
    """

    id: int
    at: str
    actor: str
    organisation_id: int | None
    action: str
    case_code: str | None
    fields: tuple[str, ...]
    previous_hash: str
    hash: str


@dataclass(frozen=True)
class AuditVerdict:
    """The result of checking the audit chain: ``ok``, entries checked, the first broken entry id, why.

    >>> AuditVerdict(True, 10, None, "").ok
    True
    """

    ok: bool
    entries: int
    first_broken: int | None
    reason: str


@dataclass(frozen=True)
class Counts:
    """Dashboard figures for one organisation. ``total``, ``by_status`` and the consent counts cover all
    its cases; ``by_exploitation`` and ``by_year`` only cases consented for statistics.

    >>> Counts(3, {"Active": 3}, 2, 1, {"ForcedLabour": 2}, {2025: 2}, 5).total
    3
    """

    total: int
    by_status: dict[str | None, int]
    statistics_consented: int
    linkage_consented: int
    by_exploitation: dict[str, int]
    by_year: dict[int, int]
    events: int
