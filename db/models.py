"""Tables of the listening study (SQLAlchemy 2.x typed models, portable SQLite/PostgreSQL).

Integrity lives in the schema as well as in code: CHECK constraints on every enumerated
or ranged column, and UNIQUE(participant, clip) on ratings, so that no code path (or
hand-written SQL) can store a duplicate or out-of-range rating.
"""

import secrets
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# "gold": a clip with a known answer (quality control: who rates it far off was not listening)
CLIP_ROLES = ("generated", "reference", "anchor", "training", "imported", "gold")
STUDY_STATUSES = ("draft", "open", "closed")
CLIP_PURPOSES = ("trial", "training")
# "returned": left the study of their own accord; "abandoned": inactive longer than the
# study's timeout, their place given to someone else (both get the "returned" redirect code).
PARTICIPANT_STATUSES = (
    "consented",
    "screened_out",
    "in_progress",
    "finished",
    "returned",
    "abandoned",
)
CRITERIA = ("short_term_phrasing", "long_term_phrasing", "originality", "realism")
GENRE_ANSWERS = ("techno-house", "jazz-soul", "cant_tell")
SCORE_RANGE = (-2, 2)
# Minutes after a study closes in which those who started may still finish (at most a week).
DEFAULT_GRACE_MINUTES = 60
MAX_GRACE_MINUTES = 7 * 24 * 60
CONFIDENCE_RANGE = (1, 5)
TRIAL_TYPES = ("rating", "pairwise", "mushra")
# A pairwise vote: A better, B better, a tie, or both bad (counted, left out of the ranking).
PAIRWISE_OUTCOMES = ("a", "b", "tie", "both_bad")
# A multi-stimulus page: the hidden reference, the low anchor and the conditions tested.
STIMULUS_ROLES = ("test", "reference", "anchor")
MUSHRA_RANGE = (0, 100)
# Why a pairwise vote is stored but not counted (`drumeval.study.arena`): NULL = counted.
VOTE_FLAGS = ("burst",)


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    """128 random bits, URL-safe: an identifier that reveals nothing about the clip."""
    return secrets.token_urlsafe(16)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both backends (SQLite stores no zone and returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # Named constraints, so that migrations (and SQLite batch mode) can address them.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Clip(Base):
    __tablename__ = "clips"
    __table_args__ = (
        CheckConstraint(_one_of("role", CLIP_ROLES), name="role"),
        CheckConstraint("duration_s > 0", name="duration_positive"),
        UniqueConstraint("condition", "midi_sha256", name="uq_clips_condition_midi"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    role: Mapped[str] = mapped_column(String(16))
    condition: Mapped[str] = mapped_column(String(200), index=True)
    model: Mapped[str | None] = mapped_column(String(64))
    preset: Mapped[str | None] = mapped_column(String(64))
    genre: Mapped[str | None] = mapped_column(String(32))
    corpus_size: Mapped[int | None] = mapped_column(Integer)
    temperature: Mapped[float | None] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(Integer)
    midi_sha256: Mapped[str] = mapped_column(String(64))
    audio_sha256: Mapped[str] = mapped_column(String(64))
    audio_format: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float] = mapped_column(Float)
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Study(Base):
    __tablename__ = "studies"
    __table_args__ = (
        CheckConstraint(_one_of("status", STUDY_STATUSES), name="status"),
        CheckConstraint("declined_count >= 0", name="declined_count"),
        CheckConstraint(
            f"grace_minutes >= 0 AND grace_minutes <= {MAX_GRACE_MINUTES}", name="grace_minutes"
        ),
        CheckConstraint("participant_target >= 1", name="participant_target"),
        CheckConstraint("abandon_minutes >= 1", name="abandon_minutes"),
        CheckConstraint(_one_of("trial_type", TRIAL_TYPES), name="trial_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    title: Mapped[str] = mapped_column(String(200))  # the researcher's name for it
    public_title: Mapped[str | None] = mapped_column(String(200))  # what evaluators see
    status: Mapped[str] = mapped_column(String(16), default="draft")
    design: Mapped[dict[str, Any]] = mapped_column(default=dict)
    config_text: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    declined_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    grace_minutes: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_GRACE_MINUTES, server_default=str(DEFAULT_GRACE_MINUTES)
    )
    base_url: Mapped[str | None] = mapped_column(String(500))  # for the invite link
    # Prolific: new starts stop once this many participants finished or are still going
    participant_target: Mapped[int | None] = mapped_column(Integer)
    # a participant inactive this long gives their place back (None: places are never released)
    abandon_minutes: Mapped[int | None] = mapped_column(Integer)
    # set: the study is archived (out of dropdowns and `study list`; kept, with its ratings)
    archived_at: Mapped[datetime | None]
    trial_type: Mapped[str] = mapped_column(String(16), default="rating", server_default="rating")


class StudyClip(Base):
    __tablename__ = "study_clips"
    __table_args__ = (
        CheckConstraint(_one_of("purpose", CLIP_PURPOSES), name="purpose"),
        UniqueConstraint("study_id", "clip_id", name="uq_study_clips_study_clip"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint(_one_of("status", PARTICIPANT_STATUSES), name="status"),
        Index("ix_participants_study_status", "study_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    external_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consented_at: Mapped[datetime] = mapped_column(default=utc_now)
    questionnaire: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    screening: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="consented")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    completion_code: Mapped[str | None] = mapped_column(String(64))
    assignment_seed: Mapped[int | None] = mapped_column(Integer)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position"),
        CheckConstraint("heard_seconds >= 0", name="heard_seconds"),
        CheckConstraint("play_count >= 0", name="play_count"),
        UniqueConstraint("participant_id", "position", name="uq_assignments_participant_position"),
        UniqueConstraint("participant_id", "clip_id", name="uq_assignments_participant_clip"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    is_training: Mapped[bool] = mapped_column(Boolean, default=False)
    # The clip's listening and answers so far, saved as they accrue so that a reload (or a
    # new browser on the resume link) continues where the evaluator was: distinct seconds
    # heard (as [start, end) spans of whole seconds), plays, and the form's draft answers.
    heard_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    heard_spans: Mapped[list[list[int]] | None] = mapped_column(JSON)
    play_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    draft_answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def _score_check(column: str) -> CheckConstraint:
    low, high = SCORE_RANGE
    return CheckConstraint(f"{column} BETWEEN {low} AND {high}", name=column)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        *(_score_check(criterion) for criterion in CRITERIA),
        CheckConstraint(_one_of("genre_answer", GENRE_ANSWERS), name="genre_answer"),
        CheckConstraint(
            f"genre_confidence BETWEEN {CONFIDENCE_RANGE[0]} AND {CONFIDENCE_RANGE[1]}",
            name="genre_confidence",
        ),
        CheckConstraint("listened_seconds >= 0", name="listened_seconds"),
        CheckConstraint("play_count >= 0", name="play_count"),
        UniqueConstraint("participant_id", "clip_id", name="uq_ratings_participant_clip"),
        Index("ix_ratings_study_clip", "study_id", "clip_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"))
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    is_training: Mapped[bool] = mapped_column(Boolean, default=False)
    # The thesis's form; empty when the study has its own criteria (`answers`).
    short_term_phrasing: Mapped[int | None] = mapped_column(SmallInteger)
    long_term_phrasing: Mapped[int | None] = mapped_column(SmallInteger)
    originality: Mapped[int | None] = mapped_column(SmallInteger)
    realism: Mapped[int | None] = mapped_column(SmallInteger)
    genre_answer: Mapped[str | None] = mapped_column(String(16))
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # question key -> answer
    genre_confidence: Mapped[int | None] = mapped_column(SmallInteger)  # none after "can't tell"
    comment: Mapped[str | None] = mapped_column(Text)
    listened_seconds: Mapped[float] = mapped_column(Float)
    play_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Trial(Base):
    """One page of a pairwise or multi-stimulus study: several clips heard side by side.

    Written once when the participant starts (like assignments); its stimuli are the clips
    in the order shown (slot 0 = A, slot 1 = B for a pair). `heard` keeps the seconds heard
    per slot and `draft_answers` the answers before submitting, so a reload loses nothing.
    """

    __tablename__ = "trials"
    __table_args__ = (
        CheckConstraint("position >= 1", name="position"),
        CheckConstraint(_one_of("trial_type", TRIAL_TYPES[1:]), name="trial_type"),
        UniqueConstraint("participant_id", "position", name="uq_trials_participant_position"),
        Index("ix_trials_study", "study_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    trial_type: Mapped[str] = mapped_column(String(16))
    heard: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # slot -> seconds heard
    draft_answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TrialStimulus(Base):
    __tablename__ = "trial_stimuli"
    __table_args__ = (
        CheckConstraint("slot >= 0", name="slot"),
        CheckConstraint(_one_of("role", STIMULUS_ROLES), name="role"),
        UniqueConstraint("trial_id", "slot", name="uq_trial_stimuli_trial_slot"),
        UniqueConstraint("trial_id", "clip_id", name="uq_trial_stimuli_trial_clip"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(Integer)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="test")


class PairwiseVote(Base):
    """A pairwise answer, written once per trial (a repeat submit inserts nothing)."""

    __tablename__ = "pairwise_votes"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", PAIRWISE_OUTCOMES), name="outcome"),
        CheckConstraint("heard_a_seconds >= 0", name="heard_a_seconds"),
        CheckConstraint("heard_b_seconds >= 0", name="heard_b_seconds"),
        UniqueConstraint("trial_id", name="uq_pairwise_votes_trial_id"),
        Index("ix_pairwise_votes_study", "study_id"),
        CheckConstraint(_one_of("flag", VOTE_FLAGS), name="flag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    heard_a_seconds: Mapped[float] = mapped_column(Float)
    heard_b_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    flag: Mapped[str | None] = mapped_column(String(16))  # VOTE_FLAGS; None: counted


class MushraScore(Base):
    """One stimulus's 0–100 score on a multi-stimulus page (written once per stimulus)."""

    __tablename__ = "mushra_scores"
    __table_args__ = (
        CheckConstraint(f"score BETWEEN {MUSHRA_RANGE[0]} AND {MUSHRA_RANGE[1]}", name="score"),
        CheckConstraint("heard_seconds >= 0", name="heard_seconds"),
        UniqueConstraint("stimulus_id", name="uq_mushra_scores_stimulus_id"),
        Index("ix_mushra_scores_study", "study_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stimulus_id: Mapped[int] = mapped_column(ForeignKey("trial_stimuli.id", ondelete="CASCADE"))
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(SmallInteger)
    heard_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Event(Base):
    """Append-only audit trail of what happened in a study (never an IP address)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_study_kind", "study_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
