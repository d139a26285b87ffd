"""Initial schema: organisations, users, cases (HTCDS fields), events, perpetrators, support plans,
consents, name index, audit log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("case_code", sa.String(length=16), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_org_case", "audit_log", ["organisation_id", "case_code"], unique=False)
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("registration_year", sa.Integer(), nullable=True),
        sa.Column("age_broad", sa.String(length=8), nullable=True),
        sa.Column("consent_case_work", sa.Boolean(), nullable=True),
        sa.Column("consent_referral", sa.Boolean(), nullable=True),
        sa.Column("consent_statistics", sa.Boolean(), nullable=True),
        sa.Column("consent_linkage", sa.Boolean(), nullable=True),
        sa.Column("prs_salutation", sa.LargeBinary(), nullable=True),
        sa.Column("prs_firstname", sa.LargeBinary(), nullable=True),
        sa.Column("prs_middlename", sa.LargeBinary(), nullable=True),
        sa.Column("prs_secondname", sa.LargeBinary(), nullable=True),
        sa.Column("prs_birthdate", sa.LargeBinary(), nullable=True),
        sa.Column("prs_gender", sa.String(length=64), nullable=True),
        sa.Column("prs_deceased", sa.Boolean(), nullable=True),
        sa.Column("prs_maritalstatus", sa.String(length=64), nullable=True),
        sa.Column("prs_numberofchildren", sa.Integer(), nullable=True),
        sa.Column("prs_primarylanguage", sa.String(length=3), nullable=True),
        sa.Column("prs_secondarylanguage", sa.String(length=3), nullable=True),
        sa.Column("prs_highestlevelofeducation", sa.String(length=64), nullable=True),
        sa.Column("prs_citizenship", sa.String(length=200), nullable=True),
        sa.Column("prs_identitynumber", sa.LargeBinary(), nullable=True),
        sa.Column("prs_title", sa.LargeBinary(), nullable=True),
        sa.Column("prs_email", sa.LargeBinary(), nullable=True),
        sa.Column("prs_homephone", sa.LargeBinary(), nullable=True),
        sa.Column("prs_mobilephone", sa.LargeBinary(), nullable=True),
        sa.Column("prs_mailingstreet", sa.LargeBinary(), nullable=True),
        sa.Column("prs_mailingcity", sa.LargeBinary(), nullable=True),
        sa.Column("prs_mailingstate", sa.LargeBinary(), nullable=True),
        sa.Column("prs_mailingpostalcode", sa.LargeBinary(), nullable=True),
        sa.Column("prs_mailingcountry", sa.String(length=2), nullable=True),
        sa.Column("prs_mailinglatitude", sa.LargeBinary(), nullable=True),
        sa.Column("prs_mailinglongitude", sa.LargeBinary(), nullable=True),
        sa.Column("vic_agreementtomanagepersonaldata", sa.Boolean(), nullable=True),
        sa.Column("vic_traffickingstatus", sa.String(length=64), nullable=True),
        sa.Column("vic_traffickingstatusdecisionmakingorg", sa.String(length=64), nullable=True),
        sa.Column("vic_relationshiptotrafficker", sa.String(length=64), nullable=True),
        sa.Column("vic_agewhentrafficked", sa.Integer(), nullable=True),
        sa.Column("vic_recruitmentwebsitesandapps", sa.Text(), nullable=True),
        sa.Column("vic_methodofrecruitment", sa.Text(), nullable=True),
        sa.Column("vic_locationofrecruitment", sa.String(length=2), nullable=True),
        sa.Column("vic_methodsofcontrol", sa.Text(), nullable=True),
        sa.Column("vic_typeofexploitation", sa.Text(), nullable=True),
        sa.Column("vic_forcedlabourindustry", sa.String(length=64), nullable=True),
        sa.Column("vic_typeofsexexploitation", sa.Text(), nullable=True),
        sa.Column("vic_locationofexploitation", sa.String(length=2), nullable=True),
        sa.Column("vic_exploitationwebsitesandapps", sa.Text(), nullable=True),
        sa.Column("vic_vulnerabilities", sa.Text(), nullable=True),
        sa.Column("vic_detailsofvulnerabilities", sa.LargeBinary(), nullable=True),
        sa.Column("cas_registrationdate", sa.Date(), nullable=True),
        sa.Column("cas_status", sa.String(length=64), nullable=True),
        sa.Column("cas_reasonforcaseclosure", sa.LargeBinary(), nullable=True),
        sa.Column("cas_caseowner", sa.String(length=500), nullable=True),
        sa.Column("cas_referringorganisation", sa.String(length=500), nullable=True),
        sa.Column("cas_incomingreferraldate", sa.Date(), nullable=True),
        sa.Column("cas_referringprimarycaseworker", sa.LargeBinary(), nullable=True),
        sa.Column("cas_reasonforincomingreferral", sa.String(length=64), nullable=True),
        sa.Column("cas_incomingreferraldetails", sa.LargeBinary(), nullable=True),
        sa.Column("cas_referredorganisation", sa.String(length=500), nullable=True),
        sa.Column("cas_referredprimarycaseworker", sa.LargeBinary(), nullable=True),
        sa.Column("cas_reasonforoutgoingreferral", sa.String(length=64), nullable=True),
        sa.Column("cas_outgoingreferraldate", sa.Date(), nullable=True),
        sa.Column("cas_outgoingreferraldetails", sa.LargeBinary(), nullable=True),
        sa.Column("cco_casecomment", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_cases_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("code", name=op.f("uq_cases_code")),
        sa.UniqueConstraint("uid", name=op.f("uq_cases_uid")),
    )
    op.create_index("ix_cases_org_id", "cases", ["organisation_id", "id"], unique=False)
    op.create_index("ix_cases_org_statistics", "cases", ["organisation_id", "consent_statistics", "id"], unique=False)
    op.create_index("ix_cases_org_status", "cases", ["organisation_id", "cas_status", "id"], unique=False)
    op.create_index("ix_cases_org_year", "cases", ["organisation_id", "registration_year"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_users_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_organisation_id"), "users", ["organisation_id"], unique=False)
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("given", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_consents_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_case_id"), "consents", ["case_id"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("date", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.LargeBinary(), nullable=True),
        sa.Column("city", sa.LargeBinary(), nullable=True),
        sa.Column("street", sa.LargeBinary(), nullable=True),
        sa.Column("postal_code", sa.LargeBinary(), nullable=True),
        sa.Column("latitude", sa.LargeBinary(), nullable=True),
        sa.Column("longitude", sa.LargeBinary(), nullable=True),
        sa.Column("description", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_events_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("uid", name=op.f("uq_events_uid")),
    )
    op.create_index(op.f("ix_events_case_id"), "events", ["case_id"], unique=False)
    op.create_table(
        "name_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_name_tokens_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_name_tokens")),
    )
    op.create_index(op.f("ix_name_tokens_case_id"), "name_tokens", ["case_id"], unique=False)
    op.create_index("ix_name_tokens_token_case", "name_tokens", ["token", "case_id"], unique=False)
    op.create_table(
        "perpetrators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.LargeBinary(), nullable=True),
        sa.Column("second_name", sa.LargeBinary(), nullable=True),
        sa.Column("role_in_process", sa.Text(), nullable=True),
        sa.Column("role_details", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_perpetrators_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perpetrators")),
        sa.UniqueConstraint("uid", name=op.f("uq_perpetrators_uid")),
    )
    op.create_index(op.f("ix_perpetrators_case_id"), "perpetrators", ["case_id"], unique=False)
    op.create_table(
        "support_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("objectives", sa.LargeBinary(), nullable=True),
        sa.Column("action_plan", sa.LargeBinary(), nullable=True),
        sa.Column("planned_end_date", sa.Date(), nullable=True),
        sa.Column("actual_end_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_support_plans_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_plans")),
        sa.UniqueConstraint("uid", name=op.f("uq_support_plans_uid")),
    )
    op.create_index(op.f("ix_support_plans_case_id"), "support_plans", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_support_plans_case_id"), table_name="support_plans")
    op.drop_table("support_plans")
    op.drop_index(op.f("ix_perpetrators_case_id"), table_name="perpetrators")
    op.drop_table("perpetrators")
    op.drop_index("ix_name_tokens_token_case", table_name="name_tokens")
    op.drop_index(op.f("ix_name_tokens_case_id"), table_name="name_tokens")
    op.drop_table("name_tokens")
    op.drop_index(op.f("ix_events_case_id"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_consents_case_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_index(op.f("ix_users_organisation_id"), table_name="users")
    op.drop_table("users")
    op.drop_index("ix_cases_org_year", table_name="cases")
    op.drop_index("ix_cases_org_status", table_name="cases")
    op.drop_index("ix_cases_org_statistics", table_name="cases")
    op.drop_index("ix_cases_org_id", table_name="cases")
    op.drop_table("cases")
    op.drop_table("organisations")
    op.drop_index("ix_audit_log_org_case", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("audit_head")
