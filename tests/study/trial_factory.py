"""Pairwise and multi-stimulus participants made in code: joined, paged, and simulated voters
whose votes follow a known Bradley–Terry preference."""

import numpy as np

from db import repository
from db.engine import transaction
from deploy.synthetic_study import TRIAL_CORPUS
from drumeval.analysis.schema import PAIRWISE_OUTCOMES
from drumeval.analysis.simulate import draw_pairwise_outcomes
from drumeval.study.assignment import plan_pairs
from drumeval.study.tokens import hash_token, new_token

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
