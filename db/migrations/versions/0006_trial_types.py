"""Trial types beyond one rated clip: pairwise A/B votes and multi-stimulus (MUSHRA) pages.

- `studies.trial_type`: `rating` (one clip, criteria), `pairwise` or `mushra`.
- `trials`: a participant's pages of a pairwise or multi-stimulus study, written once at
  start, with the seconds heard per clip and the draft answers (a reload loses nothing).
- `trial_stimuli`: the clips of each page in the order shown (slot 0 = A, 1 = B) and their
  role (`test`, the hidden `reference`, the low `anchor`).
- `pairwise_votes`: one per trial (A / B / tie / both bad, a reason, seconds heard per side).
- `mushra_scores`: one 0–100 score per stimulus.
- `ratings.answers`: a rating study's own criteria and questions (its TOML's `[[criteria]]`);
  the thesis's four criteria and the genre answer may then be empty.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


_THESIS_COLUMNS = ("short_term_phrasing", "long_term_phrasing", "originality", "realism")
_TRIAL_TYPES = "trial_type IN ('rating', 'pairwise', 'mushra')"


def upgrade() -> None:
    # A plain ADD COLUMN with its CHECK inline: batch mode would copy and drop `studies`,
    # and on SQLite dropping it deletes (ON DELETE CASCADE) every participant and rating.
    op.add_column(
        "studies",
        sa.Column(
            "trial_type",
            sa.String(16),
            sa.CheckConstraint(_TRIAL_TYPES, name=op.f("ck_studies_trial_type")),
            server_default="rating",
            nullable=False,
        ),
    )
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey("participants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "study_id",
            sa.Integer(),
            sa.ForeignKey("studies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("trial_type", sa.String(16), nullable=False),
        sa.Column("heard", sa.JSON(), nullable=True),
        sa.Column("draft_answers", sa.JSON(), nullable=True),
        sa.CheckConstraint("position >= 1", name="position"),
        sa.CheckConstraint("trial_type IN ('pairwise', 'mushra')", name="trial_type"),
        sa.UniqueConstraint("participant_id", "position", name="uq_trials_participant_position"),
    )
    op.create_index("ix_trials_study", "trials", ["study_id"])
    op.create_table(
        "trial_stimuli",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "trial_id", sa.Integer(), sa.ForeignKey("trials.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.CheckConstraint("slot >= 0", name="slot"),
        sa.CheckConstraint("role IN ('test', 'reference', 'anchor')", name="role"),
        sa.UniqueConstraint("trial_id", "slot", name="uq_trial_stimuli_trial_slot"),
        sa.UniqueConstraint("trial_id", "clip_id", name="uq_trial_stimuli_trial_clip"),
    )
    op.create_index(op.f("ix_trial_stimuli_clip_id"), "trial_stimuli", ["clip_id"])
    op.create_table(
        "pairwise_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "trial_id", sa.Integer(), sa.ForeignKey("trials.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey("participants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "study_id",
            sa.Integer(),
            sa.ForeignKey("studies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("heard_a_seconds", sa.Float(), nullable=False),
        sa.Column("heard_b_seconds", sa.Float(), nullable=False),
        _created_at(),
        sa.CheckConstraint("outcome IN ('a', 'b', 'tie', 'both_bad')", name="outcome"),
        sa.CheckConstraint("heard_a_seconds >= 0", name="heard_a_seconds"),
        sa.CheckConstraint("heard_b_seconds >= 0", name="heard_b_seconds"),
        sa.UniqueConstraint("trial_id", name="uq_pairwise_votes_trial_id"),
    )
    op.create_index("ix_pairwise_votes_study", "pairwise_votes", ["study_id"])
    op.create_table(
        "mushra_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "stimulus_id",
            sa.Integer(),
            sa.ForeignKey("trial_stimuli.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "trial_id", sa.Integer(), sa.ForeignKey("trials.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey("participants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "study_id",
            sa.Integer(),
            sa.ForeignKey("studies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("heard_seconds", sa.Float(), nullable=False),
        _created_at(),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        sa.CheckConstraint("heard_seconds >= 0", name="heard_seconds"),
        sa.UniqueConstraint("stimulus_id", name="uq_mushra_scores_stimulus_id"),
    )
    op.create_index("ix_mushra_scores_study", "mushra_scores", ["study_id"])
    # Nothing references `ratings`, so SQLite's batch copy of it cascades nothing.
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers", sa.JSON(), nullable=True))
        for column in _THESIS_COLUMNS:
            batch_op.alter_column(column, existing_type=sa.SmallInteger(), nullable=True)
        batch_op.alter_column("genre_answer", existing_type=sa.String(16), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.alter_column("genre_answer", existing_type=sa.String(16), nullable=False)
        for column in _THESIS_COLUMNS:
            batch_op.alter_column(column, existing_type=sa.SmallInteger(), nullable=False)
        batch_op.drop_column("answers")
    op.drop_table("mushra_scores")
    op.drop_table("pairwise_votes")
    op.drop_table("trial_stimuli")
    op.drop_table("trials")
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE studies DROP COLUMN trial_type")  # SQLite ≥ 3.35, no copy
    else:
        op.drop_column("studies", "trial_type")
