"""SQLAlchemy tables of the case store. Identifying values are ``LargeBinary`` ciphertext only.

Every case-level HTCDS field of :data:`darkfigure.casestore.fields.FIELDS` is a column of ``cases`` named
by the field in lower case; multi-selects are stored as ``;A;B;`` text (``vic_TypeOfExploitation`` also
one row per value in ``case_exploitation``, which the list filter reads), dates as dates. The schema is
created by Alembic (migrations/versions); a test checks the migrations match these models.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from darkfigure.casestore.fields import FIELDS, FieldSpec

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
_PLAIN_TYPES = {
    "text": lambda: String(500),
    "longtext": Text,
    "date": Date,
    "integer": Integer,
    "number": Float,
    "bool": Boolean,
    "pick": lambda: String(64),
    "multi": Text,
    "country": lambda: String(2),
    "countries": lambda: String(200),
    "language": lambda: String(3),
}


def _field_column(spec: FieldSpec) -> Column:
    kind = LargeBinary() if spec.identifying else _PLAIN_TYPES[spec.kind]()
    return Column(spec.column, kind, nullable=True)


def _case_fk() -> Column:
    return Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)


organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("type", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("case_version", Integer, nullable=False, server_default=text("0")),  # raised on case changes
)
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("session_epoch", Integer, nullable=False, server_default=text("0")),  # raised to end its sessions
    Column("seal", String(64)),  # HMAC of the row under the key ring's user key (accounts.py; migration 0008)
)
cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100)),
    Column("registration_year", Integer),
    Column("age_broad", String(8)),
    Column("consent_case_work", Boolean),
    Column("consent_referral", Boolean),
    Column("consent_statistics", Boolean),
    Column("consent_linkage", Boolean),
    *[_field_column(spec) for spec in FIELDS.values()],
    Index("ix_cases_org_id_case_work", "organisation_id", "id", "consent_case_work"),  # see migration 0006
    Index("ix_cases_org_case_work_id", "organisation_id", "consent_case_work", "id"),  # see migration 0007
    Index("ix_cases_org_status", "organisation_id", "cas_status", "id"),
    Index("ix_cases_org_gender", "organisation_id", "prs_gender", "id"),
    Index("ix_cases_org_statistics", "organisation_id", "consent_statistics", "id"),
    Index("ix_cases_org_year", "organisation_id", "registration_year"),
)
case_exploitation = Table(  # vic_TypeOfExploitation, one row per chosen value, for the list filter
    "case_exploitation",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("value", String(64), primary_key=True),
    Column("organisation_id", Integer, nullable=False),
    Index("ix_case_exploitation_org_value", "organisation_id", "value", "case_id"),
)
name_tokens = Table(
    "name_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    _case_fk(),
    Column("token", String(32), nullable=False),
    Index("ix_name_tokens_token_case", "token", "case_id"),
)
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    _case_fk(),
    Column("type", String(16), nullable=False),
    Column("year", Integer),
    Column("country", String(2)),
    *[
        Column(name, LargeBinary)
        for name in ("date", "state", "city", "street", "postal_code", "latitude", "longitude", "description")
    ],
)
perpetrators = Table(
    "perpetrators",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    _case_fk(),
    Column("first_name", LargeBinary),
    Column("second_name", LargeBinary),
    Column("role_in_process", Text),
    Column("role_details", LargeBinary),
)
support_plans = Table(
    "support_plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    _case_fk(),
    Column("type", String(64), nullable=False),
    Column("objectives", LargeBinary),
    Column("action_plan", LargeBinary),
    Column("planned_end_date", Date),
    Column("actual_end_date", Date),
)
consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True),
    _case_fk(),
    Column("purpose", String(16), nullable=False),
    Column("given", Boolean, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(100), nullable=False),
)
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("organisation_id", Integer),
    Column("action", String(32), nullable=False),
    Column("case_code", String(16)),
    Column("fields", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_org_case", "organisation_id", "case_code"),
)
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)
store_check = Table(  # one row: a random store id and HMAC(MAC key, label + store id); see keycheck.py
    "store_check",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("store_id", String(64), nullable=False),
    Column("check_value", String(64), nullable=False),
    Column("name_index", Integer, nullable=False, server_default=text("1")),  # see name_index.py
    Column("users_sealed", Integer, nullable=False, server_default=text("0")),  # see accounts.seal_users
)
ENCRYPTED_COLUMNS = {
    "cases": tuple(spec.column for spec in FIELDS.values() if spec.identifying),
    "events": ("date", "state", "city", "street", "postal_code", "latitude", "longitude", "description"),
    "perpetrators": ("first_name", "second_name", "role_details"),
    "support_plans": ("objectives", "action_plan"),
}
TABLES = {t.name: t for t in metadata.sorted_tables}
