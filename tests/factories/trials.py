"""Pairwise and MUSHRA studies of seeded click tracks, and their participants made in code:
joined, paged, and simulated voters whose votes follow a known Bradley–Terry preference."""

import numpy as np

from db import repository
from db.engine import transaction
from drumeval import clipstore
from drumeval.analysis.schema import PAIRWISE_OUTCOMES
from drumeval.analysis.simulate import draw_pairwise_outcomes
from drumeval.study.assignment import plan_pairs
from drumeval.study.synthetic import click_track_wav
from drumeval.study.tokens import hash_token, new_token

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


# The known preference (log-odds strengths): the human reference first, DrumsRNN last.
STRENGTHS = {
    f"reference/{TRIAL_CORPUS}/4bars": 1.5,
    f"music_vae/hier-60bar/{TRIAL_CORPUS}/t1/4bars": 0.5,
    f"music_vae/thesis-longbar/{TRIAL_CORPUS}/t1/4bars": -0.3,
    f"drums_rnn/thesis/{TRIAL_CORPUS}/t1/4bars": -1.5,
}


def join_trials(engine, study_id: int, count: int, plan) -> list[tuple[int, list]]:
    joined = []
    for _ in range(count):
        with transaction(engine, write_lock=True) as session:
            participant = repository.create_participant(
                session, study_id=study_id, token_sha256=hash_token(new_token()), external_ids={}
            )
            repository.start_trials(session, participant_id=participant.id, plan=plan)
            joined.append(
                (participant.id, repository.trial_rows(session, participant_id=participant.id))
            )
    return joined


def simulate_votes(engine, study_id: int, *, participants: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for participant_id, pages in join_trials(engine, study_id, participants, plan_pairs):
        for trial, stimuli, _ in pages:
            a, b = (clip.condition for _, clip in stimuli)
            code = draw_pairwise_outcomes(
                np.array([STRENGTHS[a] - STRENGTHS[b]]), rng, tie_share=0.1, both_bad_share=0.05
            )[0]
            with transaction(engine, write_lock=True) as session:
                repository.submit_pairwise_vote(
                    session,
                    participant_id=participant_id,
                    trial_id=trial.id,
                    outcome=PAIRWISE_OUTCOMES[int(code)],
                    reason=None,
                    heard_a_seconds=3.0,
                    heard_b_seconds=3.0,
                )


def simulate_scores(engine, study_id: int, *, participants: int, score_of) -> None:
    """Participants who score every MUSHRA page: `score_of(stimulus, clip)` → 0–100."""
    from drumeval.study.assignment import plan_mushra

    for participant_id, pages in join_trials(engine, study_id, participants, plan_mushra):
        for trial, stimuli, _ in pages:
            scores = {stimulus.slot: score_of(stimulus, clip) for stimulus, clip in stimuli}
            with transaction(engine, write_lock=True) as session:
                repository.submit_mushra_scores(
                    session,
                    participant_id=participant_id,
                    trial_id=trial.id,
                    scores=scores,
                    heard_seconds=dict.fromkeys(scores, 3.0),
                )
