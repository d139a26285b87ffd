"""Name pairs in the blind index: ``store_check.name_index`` records which tokens the index holds (1: name
words; 2: words and pairs of words). The pairs themselves need the key, so the store adds them when it
opens (:mod:`darkfigure.casestore.name_index`), not here.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("store_check", sa.Column("name_index", sa.Integer(), nullable=False, server_default=sa.text("1")))


def downgrade() -> None:
    with op.batch_alter_table("store_check") as batch:
        batch.drop_column("name_index")
