"""The case list: a gender index, exploitation values one row each (filled from the cases), and a case
version per organisation (the key of cached totals).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("organisations", sa.Column("case_version", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.create_index("ix_cases_org_gender", "cases", ["organisation_id", "prs_gender", "id"], unique=False)
    exploitation = op.create_table(
        "case_exploitation",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_exploitation_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "value", name=op.f("pk_case_exploitation")),
    )
    op.create_index(
        "ix_case_exploitation_org_value", "case_exploitation", ["organisation_id", "value", "case_id"], unique=False
    )
    _fill(exploitation)


def _fill(exploitation: sa.Table) -> None:
    """One row per value of each case's ``;A;B;`` text, in batches."""
    connection = op.get_bind()
    found = connection.execute(
        sa.text(
            "SELECT id, organisation_id, vic_typeofexploitation FROM cases WHERE vic_typeofexploitation IS NOT NULL"
        )
    )
    while batch := found.fetchmany(5000):
        rows = [
            {"case_id": case_id, "value": value, "organisation_id": org}
            for case_id, org, text in batch
            for value in sorted({v for v in text.split(";") if v})
        ]
        if rows:
            connection.execute(sa.insert(exploitation), rows)


def downgrade() -> None:
    op.drop_index("ix_case_exploitation_org_value", table_name="case_exploitation")
    op.drop_table("case_exploitation")
    op.drop_index("ix_cases_org_gender", table_name="cases")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("case_version")
