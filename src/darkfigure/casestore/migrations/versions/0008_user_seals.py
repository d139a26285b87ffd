"""User rows carry a seal (an HMAC under a key derived from the key ring's MAC key), so that someone who
can write the database but has not the key cannot give a user another role, organisation or password;
the store check row records that the users were sealed (done when a store opens with its key).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("seal", sa.String(64)))
    op.add_column("store_check", sa.Column("users_sealed", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    op.drop_column("store_check", "users_sealed")
    op.drop_column("users", "seal")
