"""Tiny synthetic studies: a few seconds of seeded click audio per clip, no model needed.

The study "tiny" that the tests, the load driver (`deploy/load.py`) and `make stress` use:
models × genres conditions with distinct, metadata-free WAVs in the clip store.
"""

import numpy as np

from db import repository
from db.engine import transaction
from drumeval import clipstore
from drumeval.audio.encode import wav_bytes

GENRES = ("techno-house", "jazz-soul")
MODELS = ("drums_rnn", "music_vae")
SAMPLE_RATE = 8000


def click_track_wav(seed: int, seconds: float) -> bytes:
    """A seeded click pattern as mono 16-bit WAV: distinct bytes per clip, no metadata."""
    rng = np.random.default_rng(seed)
    samples = np.zeros(int(SAMPLE_RATE * seconds))
    step = SAMPLE_RATE // 8
    decay = np.exp(-np.arange(400) / 60.0)
    for start in range(0, len(samples) - 400, step):
        if rng.random() < 0.6:
            samples[start : start + 400] += rng.uniform(0.2, 0.6) * decay * rng.standard_normal(400)
    return wav_bytes(samples, SAMPLE_RATE)


def make_study(
    engine,
    *,
    slug: str = "tiny",
    clips_per_condition: int = 2,
    clips_per_participant: int = 4,
    clip_seconds: float = 3.0,
    min_listen_seconds: float | None = 2.0,
    headphone_check: bool = True,
    headphone_screen: str = "antiphase",
    status: str = "open",
    completion_url: str | None = None,
) -> dict:
    """A study over models × genres (+ a practice clip); returns ids for assertions."""
    clip_ids: dict[int, dict] = {}
    seed = 0
    with transaction(engine, write_lock=True) as session:
        for model in MODELS:
            for genre in GENRES:
                condition = f"{model}/thesis/{genre}-700/t1.0"
                for _ in range(clips_per_condition):
                    seed += 1
                    audio = click_track_wav(seed, clip_seconds)
                    clip = repository.add_clip(
                        session,
                        role="generated",
                        condition=condition,
                        midi_sha256=clipstore.sha256_hex(f"midi-{seed}".encode()),
                        audio_sha256=clipstore.put(audio, "wav"),
                        audio_format="wav",
                        duration_s=clip_seconds,
                        model=model,
                        preset="thesis",
                        genre=genre,
                        corpus_size=700,
                        temperature=1.0,
                        seed=seed,
                    )
                    clip_ids[clip.id] = {"model": model, "genre": genre, "condition": condition}
        training_audio = click_track_wav(999, clip_seconds)
        training = repository.add_clip(
            session,
            role="training",
            condition="practice",
            midi_sha256=clipstore.sha256_hex(b"practice"),
            audio_sha256=clipstore.put(training_audio, "wav"),
            audio_format="wav",
            duration_s=clip_seconds,
        )
        study = repository.create_study(
            session,
            slug=slug,
            title="Tiny drum study",
            design={
                "clips_per_participant": clips_per_participant,
                "min_listen_seconds": min_listen_seconds,
                "headphone_check": headphone_check,
                "headphone_screen": headphone_screen,
                "seed": 7,
                "completion_url": completion_url,
            },
        )
        repository.add_study_clips(
            session, study_id=study.id, clip_ids=list(clip_ids), training_clip_id=training.id
        )
        if status != "draft":
            repository.set_study_status(session, study_id=study.id, status=status)
        return {"study_id": study.id, "clips": clip_ids, "training_clip_id": training.id}


TRIAL_MODELS = ("drums_rnn/thesis", "music_vae/thesis-longbar", "music_vae/hier-60bar")
TRIAL_CORPUS = "techno-house-700"


def trial_conditions(bars: int = 4) -> dict[str, str]:
    """Condition → clip role of the synthetic pairwise/MUSHRA studies: three models, a human
    reference and a low anchor of one genre and length, named as `drumeval.study.pool` does."""
    names = {f"{model}/{TRIAL_CORPUS}/t1/{bars}bars": "generated" for model in TRIAL_MODELS}
    names[f"reference/{TRIAL_CORPUS}/{bars}bars"] = "reference"
    names[f"anchor/{TRIAL_CORPUS}/{bars}bars"] = "anchor"
    return names


def make_trial_study(
    engine,
    *,
    trial_type: str,
    slug: str = "trials",
    clips_per_condition: int = 2,
    trials_per_participant: int = 3,
    clip_seconds: float = 3.0,
    min_listen_seconds: float | None = 2.0,
    headphone_check: bool = False,
    reason: str = "optional",
    completion_url: str | None = None,
) -> dict:
    """An open pairwise (models + reference) or MUSHRA (models, reference, anchor) study of
    seeded click tracks; returns the study id and each clip's condition."""
    conditions = trial_conditions()
    if trial_type == "pairwise":
        conditions = {name: role for name, role in conditions.items() if role != "anchor"}
    clips: dict[int, str] = {}
    with transaction(engine, write_lock=True) as session:
        for index, (condition, role) in enumerate(conditions.items()):
            for copy in range(clips_per_condition):
                seed = 5000 + 10 * index + copy
                clip = repository.add_clip(
                    session,
                    role=role,
                    condition=condition,
                    midi_sha256=clipstore.sha256_hex(f"trial-midi-{seed}".encode()),
                    audio_sha256=clipstore.put(click_track_wav(seed, clip_seconds), "wav"),
                    audio_format="wav",
                    duration_s=clip_seconds,
                    genre="techno-house",
                )
                clips[clip.id] = condition
        design = {
            "trial_type": trial_type,
            "trials_per_participant": trials_per_participant,
            "clips_per_participant": trials_per_participant,
            "min_listen_seconds": min_listen_seconds,
            "headphone_check": headphone_check,
            "seed": 11,
            "completion_url": completion_url,
            **({"reason": reason} if trial_type == "pairwise" else {}),
        }
        study = repository.create_study(
            session, slug=slug, title="Tiny comparison study", design=design
        )
        repository.add_study_clips(
            session, study_id=study.id, clip_ids=list(clips), training_clip_id=None
        )
        repository.set_study_status(session, study_id=study.id, status="open")
        return {"study_id": study.id, "clips": clips}
