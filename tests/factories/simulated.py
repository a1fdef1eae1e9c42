"""A seeded simulated study written into the database through the repository, as if its
listeners had taken it: clips with their conditions, consent, headphone check, one practice
rating (which the analysis must ignore) and every simulated rating."""

from dataclasses import dataclass

import pandas as pd

from db import repository
from db.engine import transaction
from drumeval.analysis.schema import SCORE_CRITERIA
from drumeval.analysis.simulate import SimulatedStudy
from drumeval.study.assignment import assign_clips
from drumeval.study.tokens import hash_token, new_token
from tests.factories.database import digest

PRACTICE_SCORES = dict.fromkeys(SCORE_CRITERIA, -2)


@dataclass(frozen=True)
class SeededStudy:
    slug: str
    participant_ids: dict[str, str]  # simulated id → blinded public id in the database
    clip_ids: dict[str, str]  # simulated clip id → blinded public id
    screened_out: frozenset[str]  # simulated ids that failed the headphone check


def write_simulated_study(
    engine, simulated: SimulatedStudy, *, slug: str = "simulated", listen_min: float = 20.0
) -> SeededStudy:
    """Put `simulated` in the database: every listener rates every clip (paired design)."""
    ratings, answers, people = simulated
    clips = ratings.drop_duplicates("clip_id")[["clip_id", "model", "genre", "corpus_size"]]
    db_clip: dict[str, int] = {}
    public_clip: dict[str, str] = {}
    with transaction(engine, write_lock=True) as session:
        for row in clips.itertuples(index=False):
            control = row.model in ("reference", "anchor")
            clip = repository.add_clip(
                session,
                role=row.model if control else "generated",
                condition=row.model
                if control
                else f"{row.model}/{row.genre}-{row.corpus_size:.0f}",
                midi_sha256=digest(f"{slug}-midi-{row.clip_id}"),
                audio_sha256=digest(f"{slug}-audio-{row.clip_id}"),
                audio_format="ogg",
                duration_s=120.0,
                model=None if control else row.model,
                genre=row.genre,
                corpus_size=700 if control else int(row.corpus_size),
            )
            db_clip[row.clip_id], public_clip[row.clip_id] = clip.id, clip.public_id
        practice = repository.add_clip(
            session,
            role="training",
            condition="practice",
            midi_sha256=digest(f"{slug}-practice"),
            audio_sha256=digest(f"{slug}-practice-audio"),
            audio_format="ogg",
            duration_s=120.0,
        )
        study = repository.create_study(
            session,
            slug=slug,
            title=f"Simulated {slug}",
            design={
                "clips_per_participant": len(clips),
                "seed": 3,
                "min_listen_seconds": listen_min,
            },
        )
        repository.add_study_clips(
            session,
            study_id=study.id,
            clip_ids=list(db_clip.values()),
            training_clip_id=practice.id,
        )
        repository.set_study_status(session, study_id=study.id, status="open")
        study_id = study.id
    by_clip = {clip: key for key, clip in db_clip.items()}
    participant_ids, screened_out = {}, set()
    for person in people.itertuples(index=False):
        sim_id = person.participant_id
        with transaction(engine, write_lock=True) as session:
            participant = repository.create_participant(
                session, study_id=study_id, token_sha256=hash_token(new_token()), external_ids={}
            )
            participant_ids[sim_id] = participant.public_id
            passed = bool(person.headphone_check_passed)
            repository.record_screening(
                session,
                participant_id=participant.id,
                passed=passed,
                details={"correct": 6 if passed else 2},
            )
            if not passed:
                screened_out.add(sim_id)
                continue
            assigned = repository.start_assignments(
                session, participant_id=participant.id, assign=assign_clips
            )
            mine = ratings[ratings["participant_id"] == sim_id]
            scores = mine.pivot(index="clip_id", columns="criterion", values="score")
            given = answers[answers["participant_id"] == sim_id].set_index("clip_id")
            for assignment in assigned:
                if assignment.is_training:
                    _rate(
                        session,
                        participant.id,
                        assignment.clip_id,
                        PRACTICE_SCORES,
                        "cant_tell",
                        1,
                        1.0,
                    )
                    continue
                key = by_clip[assignment.clip_id]
                _rate(
                    session,
                    participant.id,
                    assignment.clip_id,
                    {criterion: int(scores.loc[key, criterion]) for criterion in SCORE_CRITERIA},
                    str(given.loc[key, "answer"]),
                    int(given.loc[key, "confidence"]),
                    float(person.listened_seconds),
                )
    return SeededStudy(slug, participant_ids, public_clip, frozenset(screened_out))


def _rate(session, participant_id, clip_id, scores, answer, confidence, seconds) -> None:
    repository.submit_rating(
        session,
        participant_id=participant_id,
        clip_id=clip_id,
        scores=scores,
        genre_answer=answer,
        genre_confidence=confidence,
        comment=None,
        listened_seconds=seconds,
        play_count=1,
    )


def renamed(frame: pd.DataFrame, seeded: SeededStudy) -> pd.DataFrame:
    """A simulated table with the database's blinded ids, without the screened-out listeners."""
    kept = frame[~frame["participant_id"].isin(seeded.screened_out)]
    renamed_ = kept.assign(participant_id=kept["participant_id"].map(seeded.participant_ids))
    if "clip_id" in kept:
        renamed_ = renamed_.assign(clip_id=kept["clip_id"].map(seeded.clip_ids))
    return renamed_


def drive_flow(engine, *, slug: str = "tiny", listeners: int = 3) -> dict:
    """A tiny study (drumeval/study/synthetic.py) taken by `listeners` evaluators through the
    evaluator flow, as the browser test takes it; returns the factory's ids."""
    from drumeval.study import content, flow
    from drumeval.study.synthetic import make_study

    ids = make_study(engine, slug=slug)
    study = flow.load_study(engine, slug)
    for index in range(listeners):
        token = flow.consent(engine, study, {})
        flow.save_questionnaire(
            engine, study, token, {key: options[0] for key, _, options in content.QUESTIONNAIRE}
        )
        trials = flow.headphone_trials(flow.progress(engine, study, token))
        flow.submit_headphone_check(engine, study, token, [t.quiet_index for t in trials])
        flow.start(engine, study, token)
        while (progress := flow.progress(engine, study, token)).step is flow.Step.RATING:
            clip = progress.clip
            score = (clip.clip_id + index) % 5 - 2
            flow.submit_rating(
                engine,
                study,
                token,
                clip_id=clip.clip_id,
                form=flow.RatingForm(
                    scores=dict.fromkeys(content.CRITERION_KEYS, score),
                    genre_answer=("techno-house", "jazz-soul", "cant_tell")[clip.clip_id % 3],
                    genre_confidence=3,
                    comment=f'**bold**, "quoted"\n<b>listener {index}</b>',
                ),
                heard_seconds=clip.min_listen_seconds,
                plays=1,
            )
        flow.finish(engine, study, token)
    return ids


def screen_listeners(engine, misses: list[dict[str, int]], *, slug: str = "hp") -> None:
    """A tiny study with `headphone_screen = "both"` whose listeners consent and take the
    check, listener i answering `misses[i][test]` trials of each test (`antiphase`,
    `huggins`) wrongly and the rest rightly."""
    from drumeval.study import flow, headphone
    from drumeval.study.synthetic import make_study

    make_study(engine, slug=slug, headphone_screen="both")
    study = flow.load_study(engine, slug)
    for missed in misses:
        token = flow.consent(engine, study, {})
        trials = flow.headphone_trials(flow.progress(engine, study, token), "both")
        answers, seen = [], dict.fromkeys(missed, 0)
        for trial in trials:
            test = headphone.WORDING[type(trial)].short
            seen[test] = seen.get(test, 0) + 1
            wrong = seen[test] <= missed.get(test, 0)
            answers.append((trial.answer + 1) % 3 if wrong else trial.answer)
        flow.submit_headphone_check(engine, study, token, answers)
