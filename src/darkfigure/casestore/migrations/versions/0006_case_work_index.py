"""The (organisation, id) index of cases also holds the case-work consent, so a name search (which must
not reveal cases whose identity is hidden) checks it in the index, without reading each case's row.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_org_id_case_work", "cases", ["organisation_id", "id", "consent_case_work"])
    op.drop_index("ix_cases_org_id", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_org_id", "cases", ["organisation_id", "id"])
    op.drop_index("ix_cases_org_id_case_work", table_name="cases")
