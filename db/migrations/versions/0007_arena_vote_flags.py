"""The public arena: a pairwise vote can be flagged (stored, exported, left out of rankings).

- `pairwise_votes.flag`: NULL for a counted vote; `burst` for one of a run of identical
  votes cast in quick succession from one arena session (`drumeval.study.arena`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy of the table), like 0005's `studies.trial_type`.
    op.add_column(
        "pairwise_votes",
        sa.Column(
            "flag",
            sa.String(16),
            sa.CheckConstraint("flag IN ('burst')", name=op.f("ck_pairwise_votes_flag")),
            nullable=True,
        ),
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE pairwise_votes DROP COLUMN flag")  # SQLite ≥ 3.35, no copy
    else:
        op.drop_column("pairwise_votes", "flag")
