"""Studies: a grace period after closing, a public title, the app's base URL.

- `grace_minutes`: participants who started before a study closed may finish within this
  many minutes of the close (issue 31: closing stranded people mid-study, without a code).
- `public_title`: what evaluators see, apart from the researcher's internal title (which
  may name the conditions).
- `base_url`: the app's address given at `study create --base-url`, for the invite link.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("grace_minutes", sa.Integer(), nullable=False, server_default="60")
        )
        batch_op.add_column(sa.Column("public_title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("base_url", sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(
            "grace_minutes", "grace_minutes >= 0 AND grace_minutes <= 10080"
        )


def downgrade() -> None:
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.drop_constraint("ck_studies_grace_minutes", type_="check")
        batch_op.drop_column("base_url")
        batch_op.drop_column("public_title")
        batch_op.drop_column("grace_minutes")
