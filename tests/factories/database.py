"""Tiny studies built in code for the database tests: clips with made-up digests, no audio."""

import hashlib

from sqlalchemy import Engine

from db import repository
from db.engine import transaction
from drumeval.study.assignment import assign_clips
from drumeval.study.tokens import hash_token, new_token

GOOD_SCORES = {criterion: 1 for criterion in repository.CRITERIA}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_study(
    engine: Engine,
    *,
    conditions: int = 3,
    clips_per_condition: int = 2,
    clips_per_participant: int = 3,
    slug: str = "pilot",
    status: str = "open",
    design: dict | None = None,
) -> int:
    """A study with `conditions × clips_per_condition` rated clips and one training clip."""
    with transaction(engine, write_lock=True) as session:
        clip_ids = [
            repository.add_clip(
                session,
                role="generated",
                condition=f"model-{c}",
                midi_sha256=digest(f"{slug}-midi-{c}-{i}"),
                audio_sha256=digest(f"{slug}-audio-{c}-{i}"),
                audio_format="ogg",
                duration_s=30.0,
                model=f"model-{c}",
            ).id
            for c in range(conditions)
            for i in range(clips_per_condition)
        ]
        training = repository.add_clip(
            session,
            role="training",
            condition="training",
            midi_sha256=digest(f"{slug}-training"),
            audio_sha256=digest(f"{slug}-training-audio"),
            audio_format="ogg",
            duration_s=30.0,
        )
        study = repository.create_study(
            session,
            slug=slug,
            title=f"Study {slug}",
            design={"clips_per_participant": clips_per_participant, "seed": 7, **(design or {})},
        )
        repository.add_study_clips(
            session, study_id=study.id, clip_ids=clip_ids, training_clip_id=training.id
        )
        if status != "draft":
            repository.set_study_status(session, study_id=study.id, status=status)
        return study.id


def join(engine: Engine, study_id: int, *, start: bool = True) -> tuple[int, str]:
    """A consented (and started) participant: (participant id, resume token)."""
    token = new_token()
    with transaction(engine, write_lock=True) as session:
        participant = repository.create_participant(
            session, study_id=study_id, token_sha256=hash_token(token), external_ids={}
        )
    if start:
        with transaction(engine, write_lock=True) as session:
            repository.start_assignments(
                session, participant_id=participant.id, assign=assign_clips
            )
    return participant.id, token


def rate(engine: Engine, participant_id: int, clip_id: int, **overrides):
    """Submit a valid rating in its own unit of work; returns (rating, created)."""
    values = {
        "scores": GOOD_SCORES,
        "genre_answer": "jazz-soul",
        "genre_confidence": 4,
        "comment": None,
        "listened_seconds": 25.0,
        "play_count": 1,
    } | overrides
    with transaction(engine, write_lock=True) as session:
        return repository.submit_rating(
            session, participant_id=participant_id, clip_id=clip_id, **values
        )
