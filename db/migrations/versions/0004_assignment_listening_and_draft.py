"""Listening progress and draft answers on the assignment, saved as they accrue.

- `assignments.heard_seconds`, `heard_spans` (the distinct whole seconds heard, as
  [start, end) spans) and `play_count`: a reload mid-clip keeps what was already heard.
- `assignments.draft_answers`: the rating form's answers before "Submit rating".

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heard_seconds", sa.Float(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("heard_spans", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("play_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("draft_answers", sa.JSON(), nullable=True))
        batch_op.create_check_constraint("heard_seconds", "heard_seconds >= 0")
        batch_op.create_check_constraint("play_count", "play_count >= 0")


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_assignments_play_count"), type_="check")
        batch_op.drop_constraint(op.f("ck_assignments_heard_seconds"), type_="check")
        batch_op.drop_column("draft_answers")
        batch_op.drop_column("play_count")
        batch_op.drop_column("heard_spans")
        batch_op.drop_column("heard_seconds")
