"""Every read and write of the study tables: the only way the app and CLI reach the database.

Each function takes the session of the caller's unit of work (`db.engine.transaction`)
first and keyword-only arguments after, and never commits: the caller decides where a
unit of work ends. Values are validated here, with messages a user can act on, before
the schema's CHECK constraints would reject them anyway.
"""

import re
import secrets
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from db.engine import require_write_lock
from db.models import (
    CLIP_ROLES,
    CONFIDENCE_RANGE,
    CRITERIA,
    GENRE_ANSWERS,
    MAX_GRACE_MINUTES,
    MUSHRA_RANGE,
    PAIRWISE_OUTCOMES,
    SCORE_RANGE,
    STIMULUS_ROLES,
    STUDY_STATUSES,
    TRIAL_TYPES,
    Assignment,
    Clip,
    Event,
    MushraScore,
    PairwiseVote,
    Participant,
    Rating,
    Study,
    StudyClip,
    Trial,
    TrialStimulus,
    UTCDateTime,
    utc_now,
)
from drumeval.errors import RatingError, StudyClosedError, StudyError

__all__ = [
    "CRITERIA",
    "EXTERNAL_ID_KEYS",
    "GENRE_ANSWERS",
    "MAX_COMMENT_CHARS",
    "StudyHolding",
    "add_clip",
    "add_study_clips",
    "assigned_clip",
    "assignment_rows",
    "clip_provenances",
    "clips_by_id",
    "clips_of_conditions",
    "create_participant",
    "create_study",
    "delete_study",
    "finish_deadline",
    "finish_participant",
    "get_participant",
    "get_study",
    "lets_participants_continue",
    "list_studies",
    "log_event",
    "mushra_score_rows",
    "next_assignment",
    "pairwise_vote_rows",
    "pool_clip_rows",
    "rating_count",
    "record_decline",
    "record_screening",
    "replace_draft",
    "save_questionnaire",
    "save_trial_draft",
    "set_recruitment",
    "set_study_archived",
    "set_study_status",
    "shortest_trial_seconds",
    "start_assignments",
    "start_trials",
    "study_clip_ids",
    "study_clip_seconds",
    "study_holding",
    "study_participants",
    "study_progress",
    "study_ratings",
    "study_stimuli",
    "submit_mushra_scores",
    "submit_pairwise_vote",
    "submit_rating",
    "trial_rows",
]

SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
EXTERNAL_ID_KEYS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")
MAX_EXTERNAL_ID_CHARS = 128
MAX_COMMENT_CHARS = 1000
MAX_PLAY_COUNT = 10_000
_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
_COMPLETION_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# --- clips and studies (the researcher side builds on these) --------------------------


def add_clip(
    session: Session,
    *,
    role: str,
    condition: str,
    midi_sha256: str,
    audio_sha256: str,
    audio_format: str,
    duration_s: float,
    model: str | None = None,
    preset: str | None = None,
    genre: str | None = None,
    corpus_size: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    loudness_lufs: float | None = None,
    metrics: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    is_demo: bool = False,
) -> Clip:
    """Register a clip; the existing row when this condition already has this MIDI."""
    require_write_lock(session)
    if role not in CLIP_ROLES:
        raise StudyError(f"unknown clip role {role!r}; expected one of {', '.join(CLIP_ROLES)}")
    if not condition.strip():
        raise StudyError("a clip needs a condition")
    for name, digest in (("MIDI", midi_sha256), ("audio", audio_sha256)):
        if not _SHA256_PATTERN.fullmatch(digest):
            raise StudyError(f"the clip's {name} sha256 is not 64 lowercase hex digits")
    if not duration_s > 0:
        raise StudyError("a clip's duration must be positive")
    existing = session.scalar(
        select(Clip).where(Clip.condition == condition, Clip.midi_sha256 == midi_sha256)
    )
    if existing is not None:
        return existing
    clip = Clip(
        role=role,
        condition=condition,
        model=model,
        preset=preset,
        genre=genre,
        corpus_size=corpus_size,
        temperature=temperature,
        seed=seed,
        midi_sha256=midi_sha256,
        audio_sha256=audio_sha256,
        audio_format=audio_format,
        duration_s=float(duration_s),
        loudness_lufs=loudness_lufs,
        metrics=dict(metrics or {}),
        provenance=dict(provenance or {}),
        is_demo=is_demo,
    )
    session.add(clip)
    session.flush()
    return clip


def create_study(
    session: Session,
    *,
    slug: str,
    title: str,
    design: Mapping[str, Any],
    config_text: str | None = None,
    is_demo: bool = False,
    public_title: str | None = None,
    base_url: str | None = None,
    participant_target: int | None = None,
    abandon_minutes: int | None = None,
) -> Study:
    """A new study in draft status (StudyError on an invalid or taken slug).

    `participant_target`: new starts stop once that many finished or are still going;
    `abandon_minutes`: a participant inactive that long gives their place back.
    """
    require_write_lock(session)
    if not SLUG_PATTERN.fullmatch(slug):
        raise StudyError(
            f"invalid study slug {slug!r}: 2–63 lowercase letters, digits or hyphens, "
            "starting with a letter or digit"
        )
    if not title.strip():
        raise StudyError("a study needs a title")
    if get_study(session, slug=slug) is not None:
        raise StudyError(f"a study called {slug!r} already exists")
    trial_type = design.get("trial_type", "rating")
    if trial_type not in TRIAL_TYPES:
        raise StudyError(f"trial type must be one of {', '.join(TRIAL_TYPES)}; got {trial_type!r}")
    study = Study(
        slug=slug,
        trial_type=trial_type,
        title=title,
        public_title=public_title,
        base_url=base_url,
        participant_target=participant_target,
        abandon_minutes=abandon_minutes,
        design=dict(design),
        config_text=config_text,
        is_demo=is_demo,
    )
    session.add(study)
    session.flush()
    return study


def add_study_clips(
    session: Session, *, study_id: int, clip_ids: Iterable[int], training_clip_id: int | None
) -> None:
    """Put clips in a draft study's pool, and optionally its training clip."""
    require_write_lock(session)
    study = _study(session, study_id)
    if study.status != "draft":
        raise StudyError(
            f"clips can only be added to a draft study; {study.slug!r} is {study.status}"
        )
    purposes = {clip_id: "trial" for clip_id in clip_ids}
    if training_clip_id is not None:
        if training_clip_id in purposes:
            raise StudyError("the training clip cannot also be a rated clip")
        if session.scalar(_study_clips(study_id).where(StudyClip.purpose == "training")):
            raise StudyError(f"study {study.slug!r} already has a training clip")
        purposes[training_clip_id] = "training"
    known = set(session.scalars(select(Clip.id).where(Clip.id.in_(purposes))))
    if missing := sorted(set(purposes) - known):
        raise StudyError(f"no clip with id {', '.join(map(str, missing))}")
    present = set(session.scalars(select(StudyClip.clip_id).where(StudyClip.study_id == study_id)))
    if repeated := sorted(set(purposes) & present):
        raise StudyError(f"clip {', '.join(map(str, repeated))} is already in the study")
    session.add_all(
        StudyClip(study_id=study_id, clip_id=clip_id, purpose=purpose)
        for clip_id, purpose in purposes.items()
    )
    session.flush()


def set_study_status(
    session: Session, *, study_id: int, status: str, grace_minutes: int | None = None
) -> None:
    """Open or close a study (opening checks that the pool can serve a participant).

    Closing stops new participants; those who already consented may finish within
    `grace_minutes` of the close (default: the study's stored grace period).
    """
    require_write_lock(session)
    if status not in STUDY_STATUSES:
        raise StudyError(f"unknown study status {status!r}")
    study = _study(session, study_id)
    if grace_minutes is not None:
        if not isinstance(grace_minutes, int) or not 0 <= grace_minutes <= MAX_GRACE_MINUTES:
            raise StudyError(
                f"the grace period must be 0–{MAX_GRACE_MINUTES} minutes; got {grace_minutes!r}"
            )
        study.grace_minutes = grace_minutes
    if status == "open" and study.trial_type != "rating":
        pool = session.scalar(
            select(func.count()).select_from(
                _study_clips(study_id).where(StudyClip.purpose == "trial").subquery()
            )
        )
        if pool < 2:
            raise StudyError(f"study {study.slug!r} needs at least two clips for its pages")
        study.opened_at = study.opened_at or utc_now()
    elif status == "open":
        wanted = _clips_per_participant(study)
        pool = session.scalar(
            select(func.count()).select_from(
                _study_clips(study_id).where(StudyClip.purpose == "trial").subquery()
            )
        )
        if pool < wanted:
            raise StudyError(
                f"study {study.slug!r} has {pool} clips but asks for {wanted} per participant"
            )
        study.opened_at = study.opened_at or utc_now()
    if status == "closed" and study.status != "closed":  # a re-close keeps the time
        study.closed_at = utc_now()
    study.status = status
    details: dict[str, Any] = {"status": status}
    if status == "closed":
        details["grace_minutes"] = study.grace_minutes
    _append_event(session, study_id, None, "admin", details)


def finish_deadline(study: Study) -> datetime | None:
    """Until when those who started a closed study may finish it (None: not closed)."""
    if study.status != "closed" or study.closed_at is None:
        return None
    return study.closed_at + timedelta(minutes=study.grace_minutes)


def lets_participants_continue(study: Study, *, now: datetime | None = None) -> bool:
    """Open, or closed less than its grace period ago."""
    if study.status == "open":
        return True
    deadline = finish_deadline(study)
    return deadline is not None and (now or utc_now()) < deadline


def study_clip_seconds(session: Session, *, study_id: int) -> tuple[list[float], float | None]:
    """Durations of a study's rated clips, and of its practice clip (None without one)."""
    rows = session.execute(
        select(StudyClip.purpose, Clip.duration_s)
        .join(Clip, Clip.id == StudyClip.clip_id)
        .where(StudyClip.study_id == study_id)
    ).all()
    trials = [float(seconds) for purpose, seconds in rows if purpose == "trial"]
    practice = [float(seconds) for purpose, seconds in rows if purpose == "training"]
    return trials, (practice[0] if practice else None)


def conditions_with_content(
    session: Session, *, audio_sha256: str, midi_sha256: str, excluding: str
) -> list[str]:
    """Other conditions that already hold this audio or this MIDI (an import of a file
    that is in the pool under another name would make one clip count as two conditions)."""
    return list(
        session.scalars(
            select(Clip.condition)
            .where(
                or_(Clip.audio_sha256 == audio_sha256, Clip.midi_sha256 == midi_sha256),
                Clip.condition != excluding,
            )
            .distinct()
            .order_by(Clip.condition)
        )
    )


def get_study(session: Session, *, slug: str) -> Study | None:
    return session.scalar(select(Study).where(Study.slug == slug))


def list_studies(session: Session, *, include_archived: bool = False) -> list[Study]:
    """Studies in creation order; archived ones only when asked for."""
    statement = select(Study).order_by(Study.created_at, Study.id)
    if not include_archived:
        statement = statement.where(Study.archived_at.is_(None))
    return list(session.scalars(statement))


def set_study_archived(session: Session, *, study_id: int, archived: bool) -> None:
    """Archive a study (it leaves the dropdowns and the list; its data stays) or bring it back."""
    require_write_lock(session)
    study = _study(session, study_id)
    if archived and study.status == "open":
        raise StudyError(f"study {study.slug!r} is open; close it before archiving it")
    if archived == (study.archived_at is not None):
        return
    study.archived_at = utc_now() if archived else None
    _append_event(session, study_id, None, "admin", {"archived": archived})


@dataclass(frozen=True)
class StudyHolding:
    """What a study holds beyond its design: who took part and what they rated."""

    participants: int
    ratings: int  # practice ratings included: deleting them loses data too


def study_holding(session: Session, *, study_id: int) -> StudyHolding:
    participants = session.scalar(select(func.count()).where(Participant.study_id == study_id))
    ratings = session.scalar(select(func.count()).where(Rating.study_id == study_id))
    return StudyHolding(int(participants or 0), int(ratings or 0))


def replace_draft(
    session: Session,
    *,
    study_id: int,
    slug: str,
    title: str,
    design: Mapping[str, Any],
    config_text: str,
    public_title: str | None,
    participant_target: int | None,
    abandon_minutes: int | None,
    clip_ids: Iterable[int],
    training_clip_id: int | None,
) -> Study:
    """A draft study nobody has joined yet, redescribed: new config, design and clips."""
    require_write_lock(session)
    study = _study(session, study_id)
    if study.status != "draft":
        raise StudyError(f"only a draft study can be edited; {study.slug!r} is {study.status}")
    if study_holding(session, study_id=study_id).participants:
        raise StudyError(f"study {study.slug!r} has participants; duplicate it to change it")
    if slug != study.slug:
        if not SLUG_PATTERN.fullmatch(slug):
            raise StudyError(f"invalid study slug {slug!r}")
        if get_study(session, slug=slug) is not None:
            raise StudyError(f"a study called {slug!r} already exists")
    study.slug, study.title, study.public_title = slug, title, public_title
    study.design, study.config_text = dict(design), config_text
    study.participant_target, study.abandon_minutes = participant_target, abandon_minutes
    session.execute(delete(StudyClip).where(StudyClip.study_id == study_id))
    session.flush()
    add_study_clips(
        session, study_id=study_id, clip_ids=clip_ids, training_clip_id=training_clip_id
    )
    _append_event(session, study_id, None, "admin", {"edited": True})
    return study


def set_recruitment(
    session: Session, *, study_id: int, values: Mapping[str, Any], config_text: str | None
) -> None:
    """Store checked recruiting settings: the target and the abandon timeout are columns,
    the codes and the completion URL live in the design."""
    require_write_lock(session)
    study = _study(session, study_id)
    design = dict(study.design or {})
    for key, value in values.items():
        if key in ("participant_target", "abandon_minutes"):
            setattr(study, key, value)
        else:
            design[key] = value
    study.design = design
    study.config_text = config_text
    _append_event(session, study_id, None, "admin", {"recruitment": sorted(values)})


def study_clip_ids(session: Session, *, study_id: int) -> tuple[list[int], int | None]:
    """A study's rated clips and its practice clip (None without one)."""
    rows = session.execute(
        select(StudyClip.clip_id, StudyClip.purpose)
        .where(StudyClip.study_id == study_id)
        .order_by(StudyClip.clip_id)
    ).all()
    training = [clip_id for clip_id, purpose in rows if purpose == "training"]
    return [clip_id for clip_id, purpose in rows if purpose == "trial"], (
        training[0] if training else None
    )


def delete_study(session: Session, *, study_id: int) -> None:
    """Remove a study and everything collected in it (the pool's clips stay).

    Rows go child first, so the delete does not rely on the backend's ON DELETE CASCADE.
    """
    require_write_lock(session)
    _study(session, study_id)
    people = select(Participant.id).where(Participant.study_id == study_id)
    session.execute(delete(Rating).where(Rating.study_id == study_id))
    session.execute(delete(Assignment).where(Assignment.participant_id.in_(people)))
    session.execute(delete(Event).where(Event.study_id == study_id))
    session.execute(delete(Participant).where(Participant.study_id == study_id))
    session.execute(delete(StudyClip).where(StudyClip.study_id == study_id))
    session.execute(delete(Study).where(Study.id == study_id))
    session.expunge_all()


def study_stimuli(session: Session, *, study_id: int) -> list[tuple[Clip, str]]:
    """Every clip of a study with its purpose (`trial` or `training`), by condition."""
    rows = session.execute(
        select(Clip, StudyClip.purpose)
        .join(StudyClip, StudyClip.clip_id == Clip.id)
        .where(StudyClip.study_id == study_id)
        .order_by(StudyClip.purpose.desc(), Clip.condition, Clip.id)
    ).all()
    return [(clip, purpose) for clip, purpose in rows]


def clips_by_id(session: Session, *, clip_ids: Iterable[int]) -> list[Clip]:
    """The clips with these ids (any order)."""
    return list(session.scalars(select(Clip).where(Clip.id.in_(list(clip_ids)))))


def clips_of_conditions(
    session: Session, *, conditions: Iterable[str]
) -> list[tuple[int, str, str]]:
    """(id, MIDI sha256, condition) of every pool clip of these conditions."""
    rows = session.execute(
        select(Clip.id, Clip.midi_sha256, Clip.condition).where(
            Clip.condition.in_(list(conditions))
        )
    ).all()
    return [(clip_id, sha, condition) for clip_id, sha, condition in rows]


def pool_clip_rows(session: Session, *, conditions: Iterable[str] | None = None) -> list[Clip]:
    """Every clip of the pool (or of the named conditions), by condition and seed."""
    statement = select(Clip).order_by(Clip.condition, Clip.seed, Clip.midi_sha256)
    if conditions is not None:
        statement = statement.where(Clip.condition.in_(list(conditions)))
    return list(session.scalars(statement))


def clip_provenances(session: Session) -> list[dict[str, Any]]:
    """The provenance of every clip of the pool (where its loudness target is kept)."""
    return [
        dict(value) for value in session.scalars(select(Clip.provenance)) if isinstance(value, dict)
    ]


def rating_count(session: Session, *, slug: str) -> int:
    """Answers a study holds — ratings (practice included), pairwise votes, multi-stimulus
    scores; 0 for an unknown study."""
    return sum(
        int(
            session.scalar(
                select(func.count(table.id))
                .join(Study, Study.id == table.study_id)
                .where(Study.slug == slug)
            )
            or 0
        )
        for table in (Rating, PairwiseVote, MushraScore)
    )


def shortest_trial_seconds(session: Session, *, study_id: int) -> float | None:
    """The duration of the study's shortest rated clip (None without clips)."""
    value = session.scalar(
        select(func.min(Clip.duration_s))
        .join(StudyClip, StudyClip.clip_id == Clip.id)
        .where(StudyClip.study_id == study_id, StudyClip.purpose == "trial")
    )
    return None if value is None else float(value)


def study_ratings(
    session: Session, *, study_id: int, include_demo: bool = True
) -> list[tuple[Rating, Clip, str, int | None]]:
    """Every rated (not practice) clip of a study: (rating, clip, participant's public id,
    position), by participant and position."""
    statement = (
        select(Rating, Clip, Participant.public_id, Assignment.position)
        .join(Clip, Clip.id == Rating.clip_id)
        .join(Participant, Participant.id == Rating.participant_id)
        .outerjoin(
            Assignment,
            (Assignment.participant_id == Rating.participant_id)
            & (Assignment.clip_id == Rating.clip_id),
        )
        .where(
            Rating.study_id == study_id,
            Rating.is_training.is_(False),
            Clip.role != "training",
        )
        .order_by(Participant.id, Assignment.position, Rating.id)
    )
    if not include_demo:
        statement = statement.where(Clip.is_demo.is_(False))
    return [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]


def study_participants(session: Session, *, study_id: int) -> list[Participant]:
    return list(
        session.scalars(
            select(Participant).where(Participant.study_id == study_id).order_by(Participant.id)
        )
    )


def study_progress(session: Session, *, study_id: int) -> dict[str, Any]:
    """Counts for the researcher's dashboard (training ratings excluded)."""
    study = _study(session, study_id)
    statuses = Counter(
        dict(
            session.execute(
                select(Participant.status, func.count())
                .where(Participant.study_id == study_id)
                .group_by(Participant.status)
            ).all()
        )
    )
    started = session.scalar(
        select(func.count()).where(
            Participant.study_id == study_id, Participant.started_at.is_not(None)
        )
    )
    ratings = session.execute(
        select(Rating.clip_id, Clip.condition, Rating.listened_seconds)
        .join(Clip, Clip.id == Rating.clip_id)
        .where(Rating.study_id == study_id, Rating.is_training.is_(False))
    ).all()
    answers = len(ratings)
    if study.trial_type != "rating":  # each clip of an answered page counts once, as heard
        ratings = _answered_stimuli(session, study_id)
        answers = len({trial_id for trial_id, *_ in ratings})
        ratings = [row[1:] for row in ratings]
    per_clip: Counter[int] = Counter()
    per_condition: Counter[str] = Counter()
    seconds: dict[int, list[float]] = defaultdict(list)
    for clip_id, condition, listened in ratings:
        per_clip[clip_id] += 1
        per_condition[condition] += 1
        seconds[clip_id].append(listened)
    return {
        "consented": sum(statuses.values()),
        "started": started,
        "in_progress": statuses["in_progress"],
        "finished": statuses["finished"],
        "screened_out": statuses["screened_out"],
        "returned": statuses["returned"],
        "abandoned": statuses["abandoned"],
        "declined": study.declined_count,
        "ratings": answers,  # pairwise votes / multi-stimulus pages in those studies
        "ratings_per_clip": dict(per_clip),
        "ratings_per_condition": dict(per_condition),
        "median_seconds_per_clip": {
            clip_id: statistics.median(values) for clip_id, values in seconds.items()
        },
    }


def _answered_stimuli(session: Session, study_id: int) -> list[tuple[int, int, str, float]]:
    """(trial, clip, condition, seconds heard) of every clip on an answered page."""
    votes = session.execute(
        select(
            PairwiseVote.trial_id,
            TrialStimulus.clip_id,
            Clip.condition,
            PairwiseVote.heard_a_seconds,
            PairwiseVote.heard_b_seconds,
            TrialStimulus.slot,
        )
        .join(TrialStimulus, TrialStimulus.trial_id == PairwiseVote.trial_id)
        .join(Clip, Clip.id == TrialStimulus.clip_id)
        .where(PairwiseVote.study_id == study_id)
    ).all()
    scores = session.execute(
        select(
            MushraScore.trial_id, TrialStimulus.clip_id, Clip.condition, MushraScore.heard_seconds
        )
        .join(TrialStimulus, TrialStimulus.id == MushraScore.stimulus_id)
        .join(Clip, Clip.id == TrialStimulus.clip_id)
        .where(MushraScore.study_id == study_id)
    ).all()
    return [
        (trial_id, clip_id, condition, heard_a if slot == 0 else heard_b)
        for trial_id, clip_id, condition, heard_a, heard_b, slot in votes
    ] + [tuple(row) for row in scores]


# --- the evaluator's flow ----------------------------------------------------------


def record_decline(session: Session, *, study_id: int) -> None:
    """Someone declined consent: count it, store nothing about them."""
    require_write_lock(session)
    study = _study(session, study_id)
    study.declined_count = Study.declined_count + 1
    _append_event(session, study_id, None, "decline")
    session.flush()


def create_participant(
    session: Session, *, study_id: int, token_sha256: str, external_ids: Mapping[str, str]
) -> Participant:
    """An evaluator who has just consented to an open study."""
    require_write_lock(session)
    study = _study(session, study_id)
    if study.status != "open":
        raise StudyClosedError(f"the study {study.title!r} is not accepting participants")
    release_abandoned(session, study=study)
    if study.participant_target is not None:
        taking_part = session.scalar(
            select(func.count()).where(
                Participant.study_id == study_id, Participant.status.in_(HOLDING_A_PLACE)
            )
        )
        if taking_part >= study.participant_target:
            raise StudyClosedError(
                "This study has all the participants it needs. Thank you for your interest!"
            )
    if not _SHA256_PATTERN.fullmatch(token_sha256):
        raise StudyError("the token hash is not a hex SHA-256")
    unknown = sorted(set(external_ids) - set(EXTERNAL_ID_KEYS))
    if unknown:
        raise StudyError(f"unknown external id {', '.join(unknown)}")
    for key, value in external_ids.items():
        if not isinstance(value, str) or not 0 < len(value) <= MAX_EXTERNAL_ID_CHARS:
            raise StudyError(f"{key} must be text of 1–{MAX_EXTERNAL_ID_CHARS} characters")
    participant = Participant(
        study_id=study_id,
        token_sha256=token_sha256,
        external_ids=dict(external_ids),
        status="consented",
        consented_at=utc_now(),
    )
    session.add(participant)
    session.flush()
    _append_event(session, study_id, participant.id, "consent")
    return participant


# Participants who count toward a study's target: finished, or still going.
HOLDING_A_PLACE = ("consented", "in_progress", "finished")
GAVE_UP_THEIR_PLACE = ("returned", "abandoned")


def release_abandoned(session: Session, *, study: Study, now: datetime | None = None) -> int:
    """Give back the places of participants inactive for longer than the study's
    `abandon_minutes` (their last event: consent, questionnaire, screening, start, rating,
    resume): status `abandoned`, so that the study can still reach its target and their
    unrated clips go to others. Returns how many were released."""
    require_write_lock(session)
    if study.abandon_minutes is None:
        return 0
    cutoff = (now or utc_now()) - timedelta(minutes=study.abandon_minutes)
    last_seen = (
        select(Event.participant_id, func.max(Event.created_at).label("last"))
        .where(Event.study_id == study.id, Event.participant_id.is_not(None))
        .group_by(Event.participant_id)
        .subquery()
    )
    stale = list(
        session.scalars(
            select(Participant)
            .join(last_seen, last_seen.c.participant_id == Participant.id)
            .where(
                Participant.study_id == study.id,
                Participant.status.in_(("consented", "in_progress")),
                last_seen.c.last < cutoff,
            )
        )
    )
    for participant in stale:
        participant.status = "abandoned"
        _append_event(session, study.id, participant.id, "abandoned")
    return len(stale)


def withdraw_participant(session: Session, *, participant_id: int) -> None:
    """The participant leaves of their own accord (status `returned`; ratings kept)."""
    require_write_lock(session)
    participant = _participant(session, participant_id)
    if participant.status in ("consented", "in_progress"):
        participant.status = "returned"
        _append_event(session, participant.study_id, participant_id, "returned")


@dataclass(frozen=True)
class ParticipantProgress:
    """A participant's labels and how far they got (for reconciling with a platform)."""

    external_ids: dict[str, Any]
    status: str
    assigned: int
    rated: int


def participants_with_progress(session: Session, *, study_id: int) -> list[ParticipantProgress]:
    """Every participant of a study with their rated clips out of their assigned ones
    (practice clip excluded)."""
    assigned = dict(
        session.execute(
            select(Assignment.participant_id, func.count())
            .join(Participant, Participant.id == Assignment.participant_id)
            .where(Participant.study_id == study_id, Assignment.is_training.is_(False))
            .group_by(Assignment.participant_id)
        ).all()
    )
    rated = dict(
        session.execute(
            select(Rating.participant_id, func.count())
            .where(Rating.study_id == study_id, Rating.is_training.is_(False))
            .group_by(Rating.participant_id)
        ).all()
    )
    people = session.scalars(
        select(Participant).where(Participant.study_id == study_id).order_by(Participant.id)
    )
    return [
        ParticipantProgress(
            dict(person.external_ids or {}),
            person.status,
            assigned.get(person.id, 0),
            rated.get(person.id, 0),
        )
        for person in people
    ]


def get_participant(session: Session, *, study_id: int, token_sha256: str) -> Participant | None:
    return session.scalar(
        select(Participant).where(
            Participant.study_id == study_id, Participant.token_sha256 == token_sha256
        )
    )


def save_questionnaire(
    session: Session, *, participant_id: int, answers: Mapping[str, Any]
) -> None:
    require_write_lock(session)
    participant = _participant(session, participant_id)
    participant.questionnaire = dict(answers)
    _append_event(session, participant.study_id, participant_id, "questionnaire")


def record_screening(
    session: Session, *, participant_id: int, passed: bool, details: Mapping[str, Any]
) -> None:
    """Store the headphone check; a failure ends the participant's study for good.

    A repeated failure (a double click) changes nothing; a pass after a failure is
    refused, so the check cannot be retaken until it passes.
    """
    require_write_lock(session)
    participant = _participant(session, participant_id)
    if participant.status == "screened_out":
        if passed:
            raise StudyError("you did not pass the headphone check, so the study has ended")
        return
    if participant.status != "consented":
        raise StudyError("the headphone check comes before the first clip")
    participant.screening = {"passed": passed, **details}
    if not passed:
        participant.status = "screened_out"
    kind = "screening" if passed else "screen-out"
    _append_event(session, participant.study_id, participant_id, kind, {"passed": passed})


def start_assignments(
    session: Session, *, participant_id: int, assign: Callable[..., list[int]]
) -> list[Assignment]:
    """The participant's clips, written once: later calls return the same rows.

    `assign` is the study's design function (`drumeval.study.assignment.assign_clips`): it
    gets the pool (rows with `clip_id`, `condition`, `role`), the clips per participant, the
    exposure and position counts so far and a seed, and returns the clip ids in order. The
    database layer stores; the study package decides.

    Serialised per study (PostgreSQL: row lock on the study; SQLite: the caller's
    `transaction(write_lock=True)`), so that two evaluators starting at the same
    instant see each other's exposure.
    """
    require_write_lock(session)
    participant = _participant(session, participant_id)
    study = session.scalar(select(Study).where(Study.id == participant.study_id).with_for_update())
    assert study is not None  # guaranteed by the foreign key
    existing = _assignments(session, participant_id)
    if existing:
        return existing
    if participant.status == "screened_out":
        raise StudyError("this participant did not pass the screening")
    if not lets_participants_continue(study):
        raise StudyClosedError(f"the study {study.title!r} is not accepting participants")
    pool_rows = session.execute(
        select(StudyClip.clip_id, StudyClip.purpose, Clip.condition, Clip.role)
        .join(Clip, Clip.id == StudyClip.clip_id)
        .where(StudyClip.study_id == study.id)
        .order_by(StudyClip.clip_id)
    ).all()
    pool = [row for row in pool_rows if row.purpose == "trial"]
    training = [row.clip_id for row in pool_rows if row.purpose == "training"]
    taken = session.execute(
        select(Assignment.clip_id, Assignment.position, Clip.condition)
        .join(Clip, Clip.id == Assignment.clip_id)
        .join(Participant, Participant.id == Assignment.participant_id)
        .where(
            Participant.study_id == study.id,
            Assignment.is_training.is_(False),
            Participant.status.not_in(GAVE_UP_THEIR_PLACE),  # released places: clips free
        )
    ).all()
    seed = _next_participant_seed(session, study)
    clip_ids = assign(
        pool,
        clips_per_participant=_clips_per_participant(study),
        exposure=Counter(row.clip_id for row in taken),
        position_counts=Counter((row.condition, row.position) for row in taken),
        seed=seed,
    )
    rows = [
        Assignment(participant_id=participant_id, clip_id=clip_id, position=0, is_training=True)
        for clip_id in training
    ]
    rows += [
        Assignment(
            participant_id=participant_id, clip_id=clip_id, position=position, is_training=False
        )
        for position, clip_id in enumerate(clip_ids, start=1)
    ]
    session.add_all(rows)
    participant.status = "in_progress"
    participant.started_at = utc_now()
    participant.assignment_seed = seed
    session.flush()
    _append_event(
        session,
        study.id,
        participant_id,
        "start",
        {"clips": len(clip_ids), "training": bool(training)},
    )
    return sorted(rows, key=lambda row: row.position)


def assignment_rows(
    session: Session, *, participant_id: int
) -> list[tuple[Assignment, Clip, Rating | None]]:
    """Every assigned clip in order, with its rating when there is one."""
    rows = session.execute(
        select(Assignment, Clip, Rating)
        .join(Clip, Clip.id == Assignment.clip_id)
        .outerjoin(Rating, _rating_of_assignment())
        .where(Assignment.participant_id == participant_id)
        .order_by(Assignment.position)
    ).all()
    return [(assignment, clip, rating) for assignment, clip, rating in rows]


def assigned_clip(
    session: Session, *, participant_id: int, clip_id: int
) -> tuple[Clip, Rating | None] | None:
    """One assigned clip with its rating when there is one; None when it is not assigned."""
    row = session.execute(
        select(Clip, Rating)
        .join(Assignment, Assignment.clip_id == Clip.id)
        .outerjoin(Rating, _rating_of_assignment())
        .where(Assignment.participant_id == participant_id, Assignment.clip_id == clip_id)
    ).first()
    return None if row is None else (row[0], row[1])


def save_clip_draft(
    session: Session,
    *,
    participant_id: int,
    clip_id: int,
    heard_seconds: float,
    heard_spans: list[list[int]],
    play_count: int,
    answers: Mapping[str, Any],
) -> bool:
    """Keep the listening and the answers of a clip not rated yet; False when there is
    none such (a late report after the rating, or a clip not assigned to them).

    Listening only grows: a report that knows less (an older tab) lowers nothing.
    """
    require_write_lock(session)
    row = session.execute(
        select(Assignment, Rating.id)
        .outerjoin(Rating, _rating_of_assignment())
        .where(Assignment.participant_id == participant_id, Assignment.clip_id == clip_id)
    ).first()
    if row is None or row[1] is not None:
        return False
    assignment = row[0]
    if heard_seconds >= assignment.heard_seconds:
        assignment.heard_seconds = float(heard_seconds)
        assignment.heard_spans = [list(span) for span in heard_spans]
    assignment.play_count = max(assignment.play_count, int(play_count))
    assignment.draft_answers = dict(answers)
    return True


def next_assignment(session: Session, *, participant_id: int) -> tuple[Assignment, Clip] | None:
    """Where a (resuming) evaluator continues: the first clip without a rating."""
    row = session.execute(
        select(Assignment, Clip)
        .join(Clip, Clip.id == Assignment.clip_id)
        .outerjoin(Rating, _rating_of_assignment())
        .where(Assignment.participant_id == participant_id, Rating.id.is_(None))
        .order_by(Assignment.position)
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def submit_rating(
    session: Session,
    *,
    participant_id: int,
    clip_id: int,
    scores: Mapping[str, int],
    genre_answer: str,
    genre_confidence: int | None,
    comment: str | None,
    listened_seconds: float,
    play_count: int,
    answers: Mapping[str, int | str] | None = None,
) -> tuple[Rating, bool]:
    """Store one rating; `(rating, True)` when new, `(stored rating, False)` on a repeat.

    A repeat (double click, second tab, retry after a timeout) is never an error and
    never a second row: the insert skips conflicts on (participant, clip) on both backends.
    The insert is the unit of work's first statement and copies from the participant's
    assignment, so a clip not assigned to them inserts nothing, and SQLite takes its
    write lock before anything is read (no "database is locked" under contention).
    """
    values = _validated_rating(
        scores, genre_answer, genre_confidence, comment, listened_seconds, play_count, answers
    )
    source = (
        select(
            Assignment.participant_id,
            Assignment.clip_id,
            Participant.study_id,
            Assignment.is_training,
            literal(utc_now(), UTCDateTime()),
            *(literal(value, Rating.__table__.c[name].type) for name, value in values.items()),
        )
        .join(Participant, Participant.id == Assignment.participant_id)
        .where(Assignment.participant_id == participant_id, Assignment.clip_id == clip_id)
    )
    columns = ["participant_id", "clip_id", "study_id", "is_training", "created_at", *values]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Rating)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["participant_id", "clip_id"])
        .returning(Rating.id)
    )
    created = session.execute(statement).scalar() is not None
    rating = session.scalars(
        select(Rating)
        .where(Rating.participant_id == participant_id, Rating.clip_id == clip_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if rating is None:
        raise RatingError("this clip is not assigned to you; reload the page to continue")
    if created:
        session.execute(  # the answers are in the rating now
            update(Assignment)
            .where(Assignment.participant_id == participant_id, Assignment.clip_id == clip_id)
            .values(draft_answers=None)
        )
        _append_event(
            session,
            rating.study_id,
            participant_id,
            "rating",
            {"clip_id": clip_id, "is_training": rating.is_training},
        )
    return rating, created


def log_event(
    session: Session,
    *,
    study_id: int,
    participant_id: int | None = None,
    kind: str,
    payload: Mapping[str, Any] | None = None,
) -> Event:
    """Append to the audit trail (plays, resumes… and every state change above)."""
    require_write_lock(session)
    return _append_event(session, study_id, participant_id, kind, payload)


def finish_participant(session: Session, *, participant_id: int) -> str:
    """Mark the participant finished once every clip is rated; returns the completion code."""
    require_write_lock(session)
    participant = _participant(session, participant_id)
    if participant.status == "finished" and participant.completion_code:
        return participant.completion_code
    study = _study(session, participant.study_id)
    if study.trial_type == "rating":
        done = [
            rating is not None
            for _, _, rating in assignment_rows(session, participant_id=participant_id)
        ]
    else:
        done = [answered for _, _, answered in trial_rows(session, participant_id=participant_id)]
    if not done:
        raise StudyError("you have not started the study yet")
    if unanswered := done.count(False):
        what = (
            "clip(s) still need a rating"
            if study.trial_type == "rating"
            else "page(s) still need an answer"
        )
        raise StudyError(f"{unanswered} {what} before you can finish")
    code = study.design.get("completion_code") or "".join(
        secrets.choice(_COMPLETION_CODE_ALPHABET) for _ in range(8)
    )
    participant.status = "finished"
    participant.finished_at = utc_now()
    participant.completion_code = str(code)
    _append_event(session, study.id, participant_id, "finish")
    return participant.completion_code


# --- pairwise and multi-stimulus trials -------------------------------------------------

MAX_REASON_CHARS = MAX_COMMENT_CHARS


def start_trials(
    session: Session, *, participant_id: int, plan: Callable[..., list[list[tuple[int, str]]]]
) -> list[Trial]:
    """The participant's pages of a pairwise or multi-stimulus study, written once: later
    calls return the same rows.

    `plan` is the study's design function (`drumeval.study.assignment.plan_pairs` or
    `plan_mushra`): it gets the pool (rows with `clip_id`, `condition`, `role`), the pages
    per participant, the clip ids of every earlier page in slot order (`taken`), a seed, the
    counted pairwise votes so far (`votes`: clip on side A, clip on side B, outcome; flagged
    votes left out, as rankings leave them out) and the study's design JSON (`design`, e.g.
    adaptive scheduling), and returns each page's (clip id, role) in slot order. Serialised
    per study like `start_assignments`, so two participants starting together see each
    other's pages.
    """
    require_write_lock(session)
    participant = _participant(session, participant_id)
    study = session.scalar(select(Study).where(Study.id == participant.study_id).with_for_update())
    assert study is not None  # guaranteed by the foreign key
    existing = list(
        session.scalars(
            select(Trial).where(Trial.participant_id == participant_id).order_by(Trial.position)
        )
    )
    if existing:
        return existing
    if study.trial_type == "rating":
        raise StudyError(f"study {study.slug!r} rates one clip at a time; it has no trials")
    if participant.status == "screened_out":
        raise StudyError("this participant did not pass the screening")
    if not lets_participants_continue(study):
        raise StudyClosedError(f"the study {study.title!r} is not accepting participants")
    pool = session.execute(
        select(StudyClip.clip_id, Clip.condition, Clip.role)
        .join(Clip, Clip.id == StudyClip.clip_id)
        .where(StudyClip.study_id == study.id, StudyClip.purpose == "trial")
        .order_by(StudyClip.clip_id)
    ).all()
    earlier = session.execute(
        select(TrialStimulus.trial_id, TrialStimulus.clip_id)
        .join(Trial, Trial.id == TrialStimulus.trial_id)
        .join(Participant, Participant.id == Trial.participant_id)
        .where(Trial.study_id == study.id, Participant.status.not_in(GAVE_UP_THEIR_PLACE))
        .order_by(TrialStimulus.trial_id, TrialStimulus.slot)
    ).all()
    taken: dict[int, list[int]] = defaultdict(list)
    for trial_id, clip_id in earlier:
        taken[trial_id].append(clip_id)
    seed = _next_participant_seed(session, study)
    pages = study.design.get("trials_per_participant")
    if not _is_int(pages) or pages < 1:
        raise StudyError(f"study {study.slug!r} does not say how many pages each participant sees")
    side_a, side_b = aliased(TrialStimulus), aliased(TrialStimulus)
    votes = session.execute(
        select(side_a.clip_id, side_b.clip_id, PairwiseVote.outcome)
        .join(side_a, (side_a.trial_id == PairwiseVote.trial_id) & (side_a.slot == 0))
        .join(side_b, (side_b.trial_id == PairwiseVote.trial_id) & (side_b.slot == 1))
        .where(PairwiseVote.study_id == study.id, PairwiseVote.flag.is_(None))
        .order_by(PairwiseVote.id)
    ).all()
    planned = plan(
        pool,
        trials_per_participant=pages,
        taken=list(taken.values()),
        seed=seed,
        votes=[tuple(vote) for vote in votes],
        design=dict(study.design or {}),
    )
    trials = []
    for position, stimuli in enumerate(planned, start=1):
        if any(role not in STIMULUS_ROLES for _, role in stimuli):
            raise StudyError(f"a stimulus role is one of {', '.join(STIMULUS_ROLES)}")
        trial = Trial(
            participant_id=participant_id,
            study_id=study.id,
            position=position,
            trial_type=study.trial_type,
        )
        session.add(trial)
        session.flush()
        session.add_all(
            TrialStimulus(trial_id=trial.id, slot=slot, clip_id=clip_id, role=role)
            for slot, (clip_id, role) in enumerate(stimuli)
        )
        trials.append(trial)
    participant.status = "in_progress"
    participant.started_at = utc_now()
    participant.assignment_seed = seed
    session.flush()
    _append_event(session, study.id, participant_id, "start", {"trials": len(trials)})
    return trials


def trial_rows(
    session: Session, *, participant_id: int
) -> list[tuple[Trial, list[tuple[TrialStimulus, Clip]], bool]]:
    """Every page in order: its stimuli (slot order, with their clips) and whether it was
    answered."""
    trials = list(
        session.scalars(
            select(Trial).where(Trial.participant_id == participant_id).order_by(Trial.position)
        )
    )
    if not trials:
        return []
    ids = [trial.id for trial in trials]
    stimuli: dict[int, list[tuple[TrialStimulus, Clip]]] = defaultdict(list)
    for stimulus, clip in session.execute(
        select(TrialStimulus, Clip)
        .join(Clip, Clip.id == TrialStimulus.clip_id)
        .where(TrialStimulus.trial_id.in_(ids))
        .order_by(TrialStimulus.trial_id, TrialStimulus.slot)
    ).all():
        stimuli[stimulus.trial_id].append((stimulus, clip))
    answered = set(
        session.scalars(select(PairwiseVote.trial_id).where(PairwiseVote.trial_id.in_(ids)))
    )
    answered |= set(
        session.scalars(select(MushraScore.trial_id).where(MushraScore.trial_id.in_(ids)))
    )
    return [(trial, stimuli[trial.id], trial.id in answered) for trial in trials]


def _own_trial(session: Session, participant_id: int, trial_id: int) -> Trial:
    trial = session.get(Trial, trial_id)
    if trial is None or trial.participant_id != participant_id:
        raise RatingError("this page is not part of your study session; reload the page")
    return trial


def save_trial_draft(
    session: Session,
    *,
    participant_id: int,
    trial_id: int,
    heard: Mapping[int, float],
    answers: Mapping[str, Any],
) -> None:
    """Keep a page's listening (seconds per slot, which only grow) and its draft answers."""
    require_write_lock(session)
    trial = _own_trial(session, participant_id, trial_id)
    kept = {str(slot): float(seconds) for slot, seconds in (trial.heard or {}).items()}
    for slot, seconds in heard.items():
        kept[str(int(slot))] = max(kept.get(str(int(slot)), 0.0), max(0.0, float(seconds)))
    trial.heard = kept
    trial.draft_answers = dict(answers)


def _insert_ignoring_repeats(
    session: Session, model: Any, key: str, source: Any, columns: list[str]
) -> bool:
    """INSERT … SELECT that skips a row already there (a repeat submit): True when written."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(model)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=[key])
        .returning(model.id)
    )
    return bool(session.execute(statement).scalars().all())


def _check_seconds(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value < float("inf")
    ):
        raise RatingError(f"{name} must be a non-negative number")
    return float(value)


def submit_pairwise_vote(
    session: Session,
    *,
    participant_id: int,
    trial_id: int,
    outcome: str,
    reason: str | None,
    heard_a_seconds: float,
    heard_b_seconds: float,
) -> tuple[PairwiseVote, bool]:
    """Store one pairwise vote; `(vote, True)` when new, `(stored vote, False)` on a repeat.

    Like `submit_rating`: the insert copies from the participant's own trial (a trial not
    theirs inserts nothing) and skips a conflict on the trial, so a double submit, a second
    tab or a retry is never an error and never a second row.
    """
    if outcome not in PAIRWISE_OUTCOMES:
        raise RatingError(f"outcome must be one of {', '.join(PAIRWISE_OUTCOMES)}; got {outcome!r}")
    if reason is not None:
        if not isinstance(reason, str):
            raise RatingError("the reason must be text")
        reason = reason.strip() or None
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise RatingError(f"the reason is limited to {MAX_REASON_CHARS} characters")
    values = {
        "outcome": outcome,
        "reason": reason,
        "heard_a_seconds": _check_seconds("heard A seconds", heard_a_seconds),
        "heard_b_seconds": _check_seconds("heard B seconds", heard_b_seconds),
    }
    source = select(
        Trial.id,
        Trial.participant_id,
        Trial.study_id,
        literal(utc_now(), UTCDateTime()),
        *(literal(value, PairwiseVote.__table__.c[name].type) for name, value in values.items()),
    ).where(
        Trial.id == trial_id, Trial.participant_id == participant_id, Trial.trial_type == "pairwise"
    )
    columns = ["trial_id", "participant_id", "study_id", "created_at", *values]
    created = _insert_ignoring_repeats(session, PairwiseVote, "trial_id", source, columns)
    vote = session.scalars(
        select(PairwiseVote)
        .where(PairwiseVote.trial_id == trial_id, PairwiseVote.participant_id == participant_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if vote is None:
        raise RatingError("this pair is not part of your study session; reload the page")
    if created:
        session.execute(update(Trial).where(Trial.id == trial_id).values(draft_answers=None))
        _append_event(session, vote.study_id, participant_id, "vote", {"trial_id": trial_id})
    return vote, created


def submit_mushra_scores(
    session: Session,
    *,
    participant_id: int,
    trial_id: int,
    scores: Mapping[int, int],
    heard_seconds: Mapping[int, float],
) -> bool:
    """Store a multi-stimulus page's scores (slot → 0–100, every slot); True when new.

    Each stimulus's score is written once (a repeat inserts nothing); all of a page's
    scores go in one unit of work, so a page is answered whole or not at all.
    """
    trial = _own_trial(session, participant_id, trial_id)
    if trial.trial_type != "mushra":
        raise RatingError("this page is not a multi-stimulus page")
    slots = dict(
        session.execute(
            select(TrialStimulus.slot, TrialStimulus.id).where(TrialStimulus.trial_id == trial_id)
        ).all()
    )
    if sorted(int(slot) for slot in scores) != sorted(slots):
        raise RatingError("please rate every sound on the page")
    low, high = MUSHRA_RANGE
    created = False
    for slot, stimulus_id in sorted(slots.items()):
        score = scores[slot]
        if not _is_int(score) or not low <= score <= high:
            raise RatingError(f"a score is a whole number from {low} to {high}; got {score!r}")
        heard = _check_seconds("heard seconds", heard_seconds.get(slot, 0.0))
        source = select(
            literal(stimulus_id),
            literal(trial.id),
            literal(participant_id),
            literal(trial.study_id),
            literal(int(score), MushraScore.__table__.c.score.type),
            literal(heard, MushraScore.__table__.c.heard_seconds.type),
            literal(utc_now(), UTCDateTime()),
        )
        columns = [
            "stimulus_id",
            "trial_id",
            "participant_id",
            "study_id",
            "score",
            "heard_seconds",
            "created_at",
        ]
        created |= _insert_ignoring_repeats(session, MushraScore, "stimulus_id", source, columns)
    if created:
        trial.draft_answers = None
        _append_event(session, trial.study_id, participant_id, "scores", {"trial_id": trial_id})
    return created


def pairwise_vote_rows(session: Session, *, study_id: int) -> list[dict[str, Any]]:
    """One row per vote: participant and clips by their blinded public ids, the trial, the
    conditions on sides A and B, the outcome, the reason and the seconds heard per side."""
    a, b = aliased(TrialStimulus), aliased(TrialStimulus)
    clip_a, clip_b = aliased(Clip), aliased(Clip)
    rows = session.execute(
        select(
            Participant.public_id,
            PairwiseVote.trial_id,
            clip_a.condition,
            clip_b.condition,
            PairwiseVote.outcome,
            PairwiseVote.reason,
            clip_a.public_id,
            clip_b.public_id,
            PairwiseVote.heard_a_seconds,
            PairwiseVote.heard_b_seconds,
            PairwiseVote.flag,
        )
        .join(a, (a.trial_id == PairwiseVote.trial_id) & (a.slot == 0))
        .join(b, (b.trial_id == PairwiseVote.trial_id) & (b.slot == 1))
        .join(clip_a, clip_a.id == a.clip_id)
        .join(clip_b, clip_b.id == b.clip_id)
        .join(Participant, Participant.id == PairwiseVote.participant_id)
        .where(PairwiseVote.study_id == study_id)
        .order_by(PairwiseVote.id)
    ).all()
    keys = (
        "participant_id",
        "trial_id",
        "condition_a",
        "condition_b",
        "outcome",
        "reason",
        "clip_a",
        "clip_b",
        "heard_a_seconds",
        "heard_b_seconds",
        "flag",  # None: counted; else why it is left out of rankings (`VOTE_FLAGS`)
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


def mushra_score_rows(session: Session, *, study_id: int) -> list[dict[str, Any]]:
    """One row per scored stimulus: participant and clip by public id, trial, condition,
    role (test, hidden reference, anchor), score 0–100 and seconds heard."""
    rows = session.execute(
        select(
            Participant.public_id,
            MushraScore.trial_id,
            Clip.condition,
            TrialStimulus.role,
            Clip.public_id,
            MushraScore.score,
            MushraScore.heard_seconds,
        )
        .join(TrialStimulus, TrialStimulus.id == MushraScore.stimulus_id)
        .join(Clip, Clip.id == TrialStimulus.clip_id)
        .join(Participant, Participant.id == MushraScore.participant_id)
        .where(MushraScore.study_id == study_id)
        .order_by(MushraScore.trial_id, TrialStimulus.slot)
    ).all()
    keys = ("participant_id", "trial_id", "condition", "role", "clip", "score", "heard_seconds")
    return [dict(zip(keys, row, strict=True)) for row in rows]


# --- helpers -------------------------------------------------------------------------


def _append_event(
    session: Session,
    study_id: int,
    participant_id: int | None,
    kind: str,
    payload: Mapping[str, Any] | None = None,
) -> Event:
    if not kind or len(kind) > 32:
        raise StudyError("an event kind is 1–32 characters")
    event = Event(
        study_id=study_id,
        participant_id=participant_id,
        kind=kind,
        payload=dict(payload or {}),
        created_at=utc_now(),
    )
    session.add(event)
    session.flush()
    return event


def _rating_of_assignment() -> Any:
    return (Rating.participant_id == Assignment.participant_id) & (
        Rating.clip_id == Assignment.clip_id
    )


def _study(session: Session, study_id: int) -> Study:
    study = session.get(Study, study_id)
    if study is None:
        raise StudyError(f"no study with id {study_id}")
    return study


def _participant(session: Session, participant_id: int) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise StudyError(f"no participant with id {participant_id}")
    return participant


def _study_clips(study_id: int) -> Any:
    return select(StudyClip).where(StudyClip.study_id == study_id)


def _assignments(session: Session, participant_id: int) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.participant_id == participant_id)
            .order_by(Assignment.position)
        )
    )


def _clips_per_participant(study: Study) -> int:
    value = study.design.get("clips_per_participant")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise StudyError(f"study {study.slug!r} does not say how many clips each participant rates")
    return value


def _next_participant_seed(session: Session, study: Study) -> int:
    """The seed of the participant who starts now: the study's seed and how many started."""
    started_before = session.scalar(
        select(func.count()).where(
            Participant.study_id == study.id, Participant.started_at.is_not(None)
        )
    )
    study_seed = study.design.get("seed", 0)
    if not _is_int(study_seed):
        raise StudyError(f"study {study.slug!r} has a seed that is not a whole number")
    return _participant_seed(study_seed, started_before)


def _participant_seed(study_seed: int, index: int) -> int:
    """A per-participant seed: reproducible from the study's seed and arrival order."""
    return (study_seed * 1_000_003 + index) % 2**31


def _validated_rating(
    scores: Mapping[str, int],
    genre_answer: str,
    genre_confidence: int | None,
    comment: str | None,
    listened_seconds: float,
    play_count: int,
    answers: Mapping[str, int | str] | None = None,
) -> dict[str, Any]:
    if answers is not None:  # the study's own questions (checked against them by the flow)
        if scores or genre_answer is not None or genre_confidence is not None:
            raise RatingError("a rating has the study's own answers or the thesis's, not both")
        if not isinstance(answers, Mapping) or not all(
            isinstance(key, str)
            and len(key) <= 40
            and (_is_int(value) or (isinstance(value, str) and len(value) <= 100))
            for key, value in answers.items()
        ):
            raise RatingError("answers map question names to a number or an option")
        return {
            "answers": dict(answers),
            **_validated_listening(comment, listened_seconds, play_count),
        }
    missing = [criterion for criterion in CRITERIA if criterion not in scores]
    if missing:
        raise RatingError(f"please rate {', '.join(c.replace('_', ' ') for c in missing)}")
    extra = sorted(set(scores) - set(CRITERIA))
    if extra:
        raise RatingError(f"unknown criterion {', '.join(extra)}")
    low, high = SCORE_RANGE
    values: dict[str, Any] = {}
    for criterion in CRITERIA:
        score = scores[criterion]
        if not _is_int(score) or not low <= score <= high:
            raise RatingError(
                f"{criterion.replace('_', ' ')} must be a whole number from {low} to {high}"
            )
        values[criterion] = int(score)
    if genre_answer not in GENRE_ANSWERS:
        raise RatingError(f"genre answer must be one of {', '.join(GENRE_ANSWERS)}")
    low, high = CONFIDENCE_RANGE
    unsure = genre_answer == "cant_tell" and genre_confidence is None  # nothing to be sure of
    if not unsure and (not _is_int(genre_confidence) or not low <= genre_confidence <= high):
        raise RatingError(f"genre confidence must be a whole number from {low} to {high}")
    values.update(
        genre_answer=genre_answer,
        genre_confidence=None if genre_confidence is None else int(genre_confidence),
    )
    values.update(_validated_listening(comment, listened_seconds, play_count))
    return values


def _validated_listening(
    comment: str | None, listened_seconds: float, play_count: int
) -> dict[str, Any]:
    if comment is not None:
        if not isinstance(comment, str):
            raise RatingError("the comment must be text")
        comment = comment.strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise RatingError(f"the comment is limited to {MAX_COMMENT_CHARS} characters")
    if (
        isinstance(listened_seconds, bool)
        or not isinstance(listened_seconds, int | float)
        or not 0 <= listened_seconds < float("inf")
    ):
        raise RatingError("listened seconds must be a non-negative number")
    if not _is_int(play_count) or not 0 <= play_count <= MAX_PLAY_COUNT:
        raise RatingError(f"play count must be a whole number from 0 to {MAX_PLAY_COUNT}")
    return {
        "comment": comment,
        "listened_seconds": float(listened_seconds),
        "play_count": int(play_count),
    }


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- the public arena (`drumeval.study.arena`) -----------------------------------------------


def join_arena(session: Session, *, study_id: int, token_sha256: str) -> Participant:
    """An arena visitor: a participant of the standing pairwise study, taking part at once
    (no questionnaire, no screening, nothing about them but the hash of a session token)."""
    participant = create_participant(
        session, study_id=study_id, token_sha256=token_sha256, external_ids={}
    )
    participant.status = "in_progress"
    participant.started_at = utc_now()
    session.flush()
    return participant


def study_trial_clips(session: Session, *, study_id: int) -> list[Clip]:
    """A study's trial clips (not its practice clip), by id."""
    return list(
        session.scalars(
            select(Clip)
            .join(StudyClip, StudyClip.clip_id == Clip.id)
            .where(StudyClip.study_id == study_id, StudyClip.purpose == "trial")
            .order_by(Clip.id)
        )
    )


def add_arena_trial(session: Session, *, participant_id: int, clip_ids: Iterable[int]) -> Trial:
    """One more pair for an arena visitor, after their last one (clip_ids in slot order)."""
    require_write_lock(session)
    participant = _participant(session, participant_id)
    last = session.scalar(
        select(func.max(Trial.position)).where(Trial.participant_id == participant_id)
    )
    trial = Trial(
        participant_id=participant_id,
        study_id=participant.study_id,
        position=(last or 0) + 1,
        trial_type="pairwise",
    )
    session.add(trial)
    session.flush()
    session.add_all(
        TrialStimulus(trial_id=trial.id, slot=slot, clip_id=clip_id, role="test")
        for slot, clip_id in enumerate(clip_ids)
    )
    session.flush()
    return trial


def participant_votes(session: Session, *, participant_id: int) -> list[PairwiseVote]:
    """A participant's pairwise votes, oldest first (the arena's rate limit and burst check)."""
    return list(
        session.scalars(
            select(PairwiseVote)
            .where(PairwiseVote.participant_id == participant_id)
            .order_by(PairwiseVote.created_at, PairwiseVote.id)
        )
    )


def flag_votes(session: Session, *, vote_ids: list[int], flag: str) -> None:
    """Mark votes as stored but not counted (`db.models.VOTE_FLAGS`, checked by the schema);
    an audit event says how many."""
    require_write_lock(session)
    if not vote_ids:
        return
    votes = list(session.scalars(select(PairwiseVote).where(PairwiseVote.id.in_(vote_ids))))
    for vote in votes:
        vote.flag = flag
    first = votes[0]
    _append_event(
        session, first.study_id, first.participant_id, "flag", {"votes": len(votes), "flag": flag}
    )
