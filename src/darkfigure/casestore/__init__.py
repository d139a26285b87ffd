"""The HTCDS case store: case records that keep survivors safe.

Case records follow the Human Trafficking Case Data Standard v2.0 (IOM, CC BY 4.0). Identifying fields
are encrypted at rest (AES-256-GCM, keys outside the database), names are searchable through a keyed
blind index, consent is recorded and enforced per purpose, roles limit who sees what within an
organisation, and every view or change of identifying data is written to a hash-chained audit log.

>>> from darkfigure.casestore import PICKLISTS
>>> PICKLISTS["per_RoleInProcess"].options["SoldIndividual"]
'Sold Individual'
"""

from darkfigure.casestore.crypto import FAST_TEST_HASHER, KeyRing, blind_index, name_tokens
from darkfigure.casestore.erasure import ErasureReport
from darkfigure.casestore.fields import FIELDS, PICKLISTS, FieldSpec, Picklist, check_value
from darkfigure.casestore.service import CaseStore, open_store
from darkfigure.casestore.transfer import IMPORT_COLUMNS
from darkfigure.casestore.types import (
    EVENT_TYPES,
    HIDDEN,
    PURPOSES,
    ROLES,
    Actor,
    AuditEntry,
    AuditVerdict,
    CaseInput,
    CaseNotFound,
    CaseSummary,
    CaseView,
    Counts,
    EventInput,
    EventView,
    ImportRejected,
    ImportReport,
    Organisation,
    Page,
    PerpetratorInput,
    PerpetratorView,
    Problem,
    SupportPlanInput,
    SupportPlanView,
    User,
)

__all__ = [
    "EVENT_TYPES",
    "FAST_TEST_HASHER",
    "FIELDS",
    "HIDDEN",
    "IMPORT_COLUMNS",
    "PICKLISTS",
    "PURPOSES",
    "ROLES",
    "Actor",
    "AuditEntry",
    "AuditVerdict",
    "CaseInput",
    "CaseNotFound",
    "CaseStore",
    "CaseSummary",
    "CaseView",
    "Counts",
    "ErasureReport",
    "EventInput",
    "EventView",
    "FieldSpec",
    "ImportRejected",
    "ImportReport",
    "KeyRing",
    "Organisation",
    "Page",
    "PerpetratorInput",
    "PerpetratorView",
    "Picklist",
    "Problem",
    "SupportPlanInput",
    "SupportPlanView",
    "User",
    "blind_index",
    "check_value",
    "name_tokens",
    "open_store",
]
