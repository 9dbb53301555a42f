"""certificates: signer per template (name, NIP, jabatan), already-certified count of bulk jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 02:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificate_template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signer_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("signer_nip", sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column("signer_jabatan", sa.String(length=255), nullable=True))
    with op.batch_alter_table("certificate_job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("certified_count", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("certificate_job", schema=None) as batch_op:
        batch_op.drop_column("certified_count")
    with op.batch_alter_table("certificate_template", schema=None) as batch_op:
        batch_op.drop_column("signer_jabatan")
        batch_op.drop_column("signer_nip")
        batch_op.drop_column("signer_name")
