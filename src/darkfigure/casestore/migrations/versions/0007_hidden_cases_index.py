"""An index of the cases by (organisation, case-work consent, id): a name search reads its ids from one
range of the blind index and leaves out the few cases whose identity is hidden (case-work consent
refused), found in this index, instead of checking every found case in the cases' index.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_org_case_work_id", "cases", ["organisation_id", "consent_case_work", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_org_case_work_id", table_name="cases")
