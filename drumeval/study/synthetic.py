"""A tiny synthetic study: a few seconds of seeded click audio per clip, no model needed.

The study "tiny" that the load benchmark (`benchmarks/bench_load.py`, `make stress`), the
replica deployment's test and the study tests take: models × genres conditions with distinct,
metadata-free WAVs in the clip store. It lives in the library because the deployment, the
benchmarks and the tests all build it (test-only studies are in tests/factories/).
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
