"""Quality control and Prolific: gold clips, released places, targets, optional confidence.

- `clips.role` may be `gold`: a clip with a known answer (ITU-T P.808's gold clips).
- `participants.status` may be `returned` (left of their own accord) or `abandoned`
  (inactive longer than the study's timeout: their place is released).
- `studies.participant_target`: new starts stop once that many finished or are going;
  `studies.abandon_minutes`: the inactivity timeout that releases a place.
- `ratings.genre_confidence` may be empty: no confidence is asked after "Can't tell".

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_ROLES = "role IN ('generated', 'reference', 'anchor', 'training', 'imported')"
_NEW_ROLES = "role IN ('generated', 'reference', 'anchor', 'training', 'imported', 'gold')"
_OLD_STATUSES = "status IN ('consented', 'screened_out', 'in_progress', 'finished')"
_NEW_STATUSES = (
    "status IN ('consented', 'screened_out', 'in_progress', 'finished', 'returned', 'abandoned')"
)


def _replace_check(table: str, name: str, condition: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch_op.create_check_constraint(name, condition)


def upgrade() -> None:
    _replace_check("clips", "role", _NEW_ROLES)
    _replace_check("participants", "status", _NEW_STATUSES)
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("participant_target", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("abandon_minutes", sa.Integer(), nullable=True))
        batch_op.create_check_constraint("participant_target", "participant_target >= 1")
        batch_op.create_check_constraint("abandon_minutes", "abandon_minutes >= 1")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.alter_column("genre_confidence", existing_type=sa.SmallInteger(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.alter_column("genre_confidence", existing_type=sa.SmallInteger(), nullable=False)
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_studies_abandon_minutes"), type_="check")
        batch_op.drop_constraint(op.f("ck_studies_participant_target"), type_="check")
        batch_op.drop_column("abandon_minutes")
        batch_op.drop_column("participant_target")
    _replace_check("participants", "status", _OLD_STATUSES)
    _replace_check("clips", "role", _OLD_ROLES)
