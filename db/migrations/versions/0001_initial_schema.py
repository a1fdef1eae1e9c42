"""Initial schema: clips, studies, participants, assignments, ratings, events.

Written for SQLite and PostgreSQL alike (indexes through batch mode for SQLite).

Revision ID: 0001
Revises:
Create Date: 2026-12-01 14:53:20.144032
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("condition", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("preset", sa.String(length=64), nullable=True),
        sa.Column("genre", sa.String(length=32), nullable=True),
        sa.Column("corpus_size", sa.Integer(), nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("midi_sha256", sa.String(length=64), nullable=False),
        sa.Column("audio_sha256", sa.String(length=64), nullable=False),
        sa.Column("audio_format", sa.String(length=16), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("loudness_lufs", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('generated', 'reference', 'anchor', 'training', 'imported')",
            name=op.f("ck_clips_role"),
        ),
        sa.CheckConstraint("duration_s > 0", name=op.f("ck_clips_duration_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clips")),
        sa.UniqueConstraint("condition", "midi_sha256", name="uq_clips_condition_midi"),
        sa.UniqueConstraint("public_id", name=op.f("uq_clips_public_id")),
    )
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clips_condition"), ["condition"], unique=False)

    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("design", sa.JSON(), nullable=False),
        sa.Column("config_text", sa.Text(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("declined_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f("ck_studies_status")),
        sa.CheckConstraint("declined_count >= 0", name=op.f("ck_studies_declined_count")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
        sa.UniqueConstraint("slug", name=op.f("uq_studies_slug")),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("external_ids", sa.JSON(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("questionnaire", sa.JSON(), nullable=True),
        sa.Column("screening", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completion_code", sa.String(length=64), nullable=True),
        sa.Column("assignment_seed", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('consented', 'screened_out', 'in_progress', 'finished')",
            name=op.f("ck_participants_status"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_participants_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("public_id", name=op.f("uq_participants_public_id")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_participants_token_sha256")),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index("ix_participants_study_status", ["study_id", "status"], unique=False)

    op.create_table(
        "study_clips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.CheckConstraint("purpose IN ('trial', 'training')", name=op.f("ck_study_clips_purpose")),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clips.id"], name=op.f("fk_study_clips_clip_id_clips")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_study_clips_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_clips")),
        sa.UniqueConstraint("study_id", "clip_id", name="uq_study_clips_study_clip"),
    )
    with op.batch_alter_table("study_clips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_study_clips_clip_id"), ["clip_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_training", sa.Boolean(), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_assignments_position")),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clips.id"], name=op.f("fk_assignments_clip_id_clips")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_assignments_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("participant_id", "clip_id", name="uq_assignments_participant_clip"),
        sa.UniqueConstraint(
            "participant_id", "position", name="uq_assignments_participant_position"
        ),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_clip_id"), ["clip_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_events_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_events_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index("ix_events_study_kind", ["study_id", "kind"], unique=False)

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("is_training", sa.Boolean(), nullable=False),
        sa.Column("short_term_phrasing", sa.SmallInteger(), nullable=False),
        sa.Column("long_term_phrasing", sa.SmallInteger(), nullable=False),
        sa.Column("originality", sa.SmallInteger(), nullable=False),
        sa.Column("realism", sa.SmallInteger(), nullable=False),
        sa.Column("genre_answer", sa.String(length=16), nullable=False),
        sa.Column("genre_confidence", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("listened_seconds", sa.Float(), nullable=False),
        sa.Column("play_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "genre_answer IN ('techno-house', 'jazz-soul', 'cant_tell')",
            name=op.f("ck_ratings_genre_answer"),
        ),
        sa.CheckConstraint(
            "genre_confidence BETWEEN 1 AND 5", name=op.f("ck_ratings_genre_confidence")
        ),
        sa.CheckConstraint("listened_seconds >= 0", name=op.f("ck_ratings_listened_seconds")),
        sa.CheckConstraint(
            "long_term_phrasing BETWEEN -2 AND 2", name=op.f("ck_ratings_long_term_phrasing")
        ),
        sa.CheckConstraint("originality BETWEEN -2 AND 2", name=op.f("ck_ratings_originality")),
        sa.CheckConstraint("play_count >= 0", name=op.f("ck_ratings_play_count")),
        sa.CheckConstraint("realism BETWEEN -2 AND 2", name=op.f("ck_ratings_realism")),
        sa.CheckConstraint(
            "short_term_phrasing BETWEEN -2 AND 2", name=op.f("ck_ratings_short_term_phrasing")
        ),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"], name=op.f("fk_ratings_clip_id_clips")),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_ratings_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_ratings_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("participant_id", "clip_id", name="uq_ratings_participant_clip"),
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index("ix_ratings_study_clip", ["study_id", "clip_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_study_clip")

    op.drop_table("ratings")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_study_kind")
        batch_op.drop_index(batch_op.f("ix_events_participant_id"))

    op.drop_table("events")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_clip_id"))

    op.drop_table("assignments")
    with op.batch_alter_table("study_clips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_study_clips_clip_id"))

    op.drop_table("study_clips")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index("ix_participants_study_status")

    op.drop_table("participants")
    op.drop_table("studies")
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clips_condition"))

    op.drop_table("clips")
