"""The study database as the analysis's tidy tables (`drumeval.analysis.schema`), and as the
rows a researcher exports.

This is the analysis's only database adapter: it reads one study through `db/` and resolves
every blinded id to what the listener could not see — the clip's role, condition, model,
preset, genre and corpus size. Ids stay the blinded public ids (a participant's row id or
resume token never leaves the database). Practice ratings (`ratings.is_training`) and
practice clips are left out: they exist to teach the scale, not to measure it.

Two shapes come out of one read:
* `StudyData.rows` — one row per rating as the listener gave it (the four criteria side by
  side, genre answer, confidence, comment, listening), conditions resolved: what
  `drumeval study export` writes;
* `StudyData.tables` — the three tidy tables every analysis function takes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from db import repository
from db.engine import transaction
from db.models import Study
from drumeval.analysis.schema import (
    ANCHOR,
    GENRE_ANSWER_COLUMNS,
    HEADPHONE_TEST_DTYPES,
    MODELS,
    PARTICIPANT_COLUMNS,
    RATING_COLUMNS,
    REFERENCE,
    SCORE_CRITERIA,
)
from drumeval.analysis.screening import (
    DEFAULT_MIN_LISTENED_SECONDS,
    RULES,
    ScreeningRules,
    drop_flagged,
    screen_participants,
)
from drumeval.errors import StudyNotFoundError

# One exported rating: who, which clip (and what it really was), the answers, the listening.
ROW_DTYPES: dict[str, str] = {
    "participant_id": "string",
    "clip_id": "string",
    "position": "Int64",
    "role": "string",
    "condition": "string",
    "model": "string",
    "preset": "string",
    "genre": "string",
    "corpus_size": "Int64",
    "temperature": "Float64",
    **dict.fromkeys(SCORE_CRITERIA, "Int64"),
    "genre_answer": "string",
    "genre_confidence": "Int64",
    "listened_seconds": "Float64",
    "play_count": "Int64",
    "comment": "string",
    "rated_at": "string",
    "answers": "string",  # a study's own questions: JSON {question name: answer}
}
# One exported participant. Questionnaire answers follow as `q_<question>` text columns;
# external ids (e.g. a Prolific id) are personal data and stay in the database.
PARTICIPANT_DTYPES: dict[str, str] = {
    "participant_id": "string",
    "status": "string",
    "headphone_check_passed": "boolean",
    "headphone_correct": "Int64",
    **HEADPHONE_TEST_DTYPES,  # each test's own result (a "both" screen has two)
    "n_ratings": "Int64",
    "listened_seconds": "Float64",
    "consented_at": "string",
    "finished_at": "string",
}
# One clip of the study (`drumeval.study.setup.Stimulus`): `clip_id` is the public id the
# ratings export uses; with the content hashes, the supplement finds the very files.
STIMULUS_DTYPES: dict[str, str] = {
    "clip_id": "string",
    "purpose": "string",
    "condition": "string",
    "role": "string",
    "source_file": "string",
    "midi_sha256": "string",
    "audio_sha256": "string",
    "audio_format": "string",
    "duration_s": "Float64",
}
# One pairwise vote (`db.repository.pairwise_vote_rows`): the analysis's tidy votes and more.
VOTE_DTYPES: dict[str, str] = {
    "participant_id": "string",
    "trial_id": "Int64",
    "condition_a": "string",
    "condition_b": "string",
    "outcome": "string",
    "reason": "string",
    "clip_a": "string",
    "clip_b": "string",
    "heard_a_seconds": "Float64",
    "heard_b_seconds": "Float64",
    "flag": "string",  # empty: counted; `burst`: kept, left out of rankings (the arena)
}
# One multi-stimulus score (`db.repository.mushra_score_rows`).
SCORE_DTYPES: dict[str, str] = {
    "participant_id": "string",
    "trial_id": "Int64",
    "condition": "string",
    "role": "string",
    "clip": "string",
    "score": "Int64",
    "heard_seconds": "Float64",
}
QUESTION_PREFIX = "q_"
GOLD_ROLE = "gold"  # a clip with a known answer: screens participants, never analysed
_CONTROL_ROLES = {"reference": REFERENCE, "anchor": ANCHOR, GOLD_ROLE: GOLD_ROLE}


class StudyTables(NamedTuple):
    """The three tidy tables of `drumeval.analysis.schema` (unpacks as a 3-tuple)."""

    ratings: pd.DataFrame
    genre_answers: pd.DataFrame
    participants: pd.DataFrame


@dataclass(frozen=True)
class StudyData:
    """One study read from the database: its export rows and its tidy tables."""

    slug: str
    title: str
    is_demo: bool
    rows: pd.DataFrame
    participants: pd.DataFrame
    tables: StudyTables
    min_listened_seconds: float
    rule_names: tuple[str, ...] = RULES  # the study's post-screening rules
    stimuli: pd.DataFrame = field(default_factory=lambda: stimulus_frame([]))
    trial_type: str = "rating"  # "pairwise" and "mushra" studies answer in `votes` / `scores`
    votes: pd.DataFrame | None = None  # pairwise: `schema.PAIRWISE_VOTE_COLUMNS` and more
    scores: pd.DataFrame | None = None  # mushra: `schema.MUSHRA_SCORE_COLUMNS` and more

    @property
    def rules(self) -> ScreeningRules:
        return ScreeningRules(rules=self.rule_names, min_listened_seconds=self.min_listened_seconds)

    @property
    def gold(self) -> pd.DataFrame:
        """The gold clips' ratings (kept out of `tables`: no analysis counts them)."""
        return self.rows[self.rows["role"] == GOLD_ROLE]

    @classmethod
    def from_tables(
        cls,
        tables: StudyTables,
        *,
        slug: str,
        title: str,
        min_listened_seconds: float = DEFAULT_MIN_LISTENED_SECONDS,
    ) -> StudyData:
        """A study that never was in a database (the simulated demo), shaped like one."""
        tables = StudyTables(*tables)
        rows, participants = rows_from_tables(tables)
        return cls(slug, title, True, rows, participants, tables, min_listened_seconds)

    def screening(self) -> pd.DataFrame:
        """Post-screening of every participant by this study's rules (its listening
        threshold, its gold clips)."""
        ratings, _, participants = self.tables
        return screen_participants(ratings, participants, gold=self.gold, rules=self.rules)

    def analysed(self, *, screened: bool) -> StudyTables:
        """The tidy tables of everyone, or of the participants who pass post-screening."""
        return self._screened(self.tables, screened)

    def by_condition(self, *, screened: bool) -> tuple[StudyTables, dict[str, str]]:
        """The tidy tables with each of the study's own conditions as a level of its own
        (the `model` column holds the condition's name; references and anchors keep
        theirs), so that any two conditions compare — e.g. imported real-Magenta clips
        against the port of the same model — and which thesis model each level is (for
        the thesis's column beside it)."""
        rows = self.rows.copy()
        own = rows["role"].isin(("generated", "imported")).fillna(False).to_numpy(dtype=bool)
        thesis = {
            str(condition): str(model)
            for condition, model in zip(rows["condition"][own], rows["model"][own], strict=True)
            if model in MODELS
        }
        rows.loc[own, "model"] = rows.loc[own, "condition"]
        return self._screened(tables_from_rows(rows, self.participants), screened), thesis

    def _screened(self, tables: StudyTables, screened: bool) -> StudyTables:
        if not screened:
            return tables
        screening = self.screening()
        ratings, answers, participants = tables
        return StudyTables(
            drop_flagged(ratings, screening),
            drop_flagged(answers, screening),
            drop_flagged(participants, screening),
        )


def tidy_tables(engine: Engine, slug: str, *, include_demo: bool = True) -> StudyTables:
    """(ratings, genre_answers, participants) of study `slug`, blinded ids resolved.

    `model` is the clip's model for generated clips, `reference` / `anchor` for the hidden
    controls and the condition's name for imported clips. `include_demo=False` leaves out
    ratings of demo clips (the shipped demo study's). `StudyNotFoundError` for an unknown slug.
    """
    return load_study(engine, slug, include_demo=include_demo).tables


def rating_count(engine: Engine, slug: str) -> int:
    """Answers a study holds (ratings with practice ones, pairwise votes, multi-stimulus
    scores): a cheap key for caching analyses that changes whenever a listener submits one.
    0 for an unknown study."""
    with transaction(engine) as session:
        return repository.rating_count(session, slug=slug)


def load_study(engine: Engine, slug: str, *, include_demo: bool = True) -> StudyData:
    """Everything the Results page, `drumeval study table1` and the exports need, in one read."""
    with transaction(engine) as session:
        study = repository.get_study(session, slug=slug)
        if study is None:
            raise StudyNotFoundError(f"no study called {slug!r}; `drumeval study list` shows them")
        records = _rating_records(session, study, include_demo)
        people = _participant_records(session, study)
        shortest = repository.shortest_trial_seconds(session, study_id=study.id)
        stimuli = [
            _stimulus_record(clip, purpose)
            for clip, purpose in repository.study_stimuli(session, study_id=study.id)
        ]
        title, is_demo, design = study.title, bool(study.is_demo), dict(study.design)
        trial_type = study.trial_type
        votes = typed(
            pd.DataFrame(
                repository.pairwise_vote_rows(session, study_id=study.id),
                columns=list(VOTE_DTYPES),
            ),
            VOTE_DTYPES,
        )
        scores = typed(
            pd.DataFrame(
                repository.mushra_score_rows(session, study_id=study.id),
                columns=list(SCORE_DTYPES),
            ),
            SCORE_DTYPES,
        )
    rows = typed(pd.DataFrame(records, columns=list(ROW_DTYPES)), ROW_DTYPES)
    participants = participant_frame(people, rows)
    return StudyData(
        slug=slug,
        title=title,
        is_demo=is_demo,
        rows=rows,
        participants=participants,
        tables=tables_from_rows(rows, participants),
        min_listened_seconds=listening_threshold(design, shortest),
        rule_names=tuple(design.get("screening_rules") or RULES),
        stimuli=stimulus_frame(stimuli),
        trial_type=trial_type,
        votes=votes if trial_type == "pairwise" else None,
        scores=scores if trial_type == "mushra" else None,
    )


def stimulus_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The stimuli table of an export, typed."""
    return typed(pd.DataFrame(records, columns=list(STIMULUS_DTYPES)), STIMULUS_DTYPES)


def _stimulus_record(clip: Any, purpose: str) -> dict[str, Any]:
    from drumeval.study.setup import stimulus_of

    record = stimulus_of(clip, purpose).as_record()
    record["clip_id"] = record.pop("public_id")  # exports never carry database ids
    return {column: record[column] for column in STIMULUS_DTYPES}


def screening_counts(engine: Engine, slug: str) -> dict[str, int]:
    """Participants each of the study's post-screening rules flags (0 for a rule the study
    does not apply; nobody flagged before the first rating)."""
    from drumeval.analysis.screening import rule_counts

    data = load_study(engine, slug)
    if data.rows.empty:
        return dict.fromkeys(data.rule_names, 0)
    counts = rule_counts(data.screening())
    return {rule: counts[rule] for rule in data.rule_names}


def listening_threshold(design: dict[str, Any], shortest_clip_s: float | None) -> float:
    """Seconds below which a listener counts as not having listened: the screening default,
    lowered to what the study itself required (its `min_listen_seconds`, else the whole clip
    less 5 s) so that short clips do not flag every listener."""
    from drumeval.study.flow import StudyDesign

    if shortest_clip_s is None:
        return DEFAULT_MIN_LISTENED_SECONDS
    required = StudyDesign.from_json({"clips_per_participant": 1, **design}).minimum_listening(
        float(shortest_clip_s)
    )
    return min(DEFAULT_MIN_LISTENED_SECONDS, required)


def typed(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """`frame` with nullable dtypes per column and '' read as missing: one representation
    whatever the file format it came from (extra columns become text)."""
    frame = frame.copy()
    for column in frame.columns:
        dtype = dtypes.get(column, "string")
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            values = values.replace("", None)
        if dtype == "string":
            values = values.astype("string")
        elif dtype == "boolean":
            values = values.map(_as_bool, na_action="ignore").astype("boolean")
        else:
            values = pd.to_numeric(values, errors="raise").astype(dtype)
        frame[column] = values
    return frame.reset_index(drop=True)


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1")


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat()


def _rating_records(session, study: Study, include_demo: bool) -> list[dict[str, Any]]:
    records = []
    for rating, clip, participant_id, position in repository.study_ratings(
        session, study_id=study.id, include_demo=include_demo
    ):
        control = _CONTROL_ROLES.get(clip.role)
        records.append(
            {
                "participant_id": participant_id,
                "clip_id": clip.public_id,
                "position": position,
                "role": clip.role,
                "condition": clip.condition,
                "model": control or clip.model or clip.condition,
                "preset": clip.preset,
                "genre": clip.genre,
                # A control's corpus size names the corpus it came from, not a training set.
                "corpus_size": None if control else clip.corpus_size,
                "temperature": clip.temperature,
                **{criterion: getattr(rating, criterion) for criterion in SCORE_CRITERIA},
                "genre_answer": rating.genre_answer,
                "genre_confidence": rating.genre_confidence,
                "listened_seconds": rating.listened_seconds,
                "play_count": rating.play_count,
                "comment": rating.comment,
                "rated_at": _iso(rating.created_at),
                "answers": (
                    None
                    if rating.answers is None
                    else json.dumps(rating.answers, ensure_ascii=False, sort_keys=True)
                ),
            }
        )
    return records


def _participant_records(session, study: Study) -> list[dict[str, Any]]:
    people = repository.study_participants(session, study_id=study.id)
    records = []
    for person in people:
        screening = person.screening or {}
        answers = person.questionnaire or {}
        records.append(
            {
                "participant_id": person.public_id,
                "status": person.status,
                "headphone_check_passed": screening.get("passed"),
                "headphone_correct": screening.get("correct"),
                **_headphone_test_results(screening),
                "consented_at": _iso(person.consented_at),
                "finished_at": _iso(person.finished_at),
                **{f"{QUESTION_PREFIX}{key}": _text(value) for key, value in answers.items()},
            }
        )
    return records


def _headphone_test_results(screening: dict[str, Any]) -> dict[str, Any]:
    """`<test>_correct` and `<test>_passed` of every test of the screen (None if not taken)."""
    from drumeval.study.headphone import results_per_test

    results = results_per_test(screening)
    record: dict[str, Any] = dict.fromkeys(HEADPHONE_TEST_DTYPES)
    for test, (correct, passed) in results.items():
        record[f"{test}_correct"], record[f"{test}_passed"] = correct, passed
    return record


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return "; ".join(map(str, value))
    return str(value)


def participant_frame(records: list[dict[str, Any]], rows: pd.DataFrame) -> pd.DataFrame:
    """Participants with their number of rated clips and median seconds played per clip."""
    frame = pd.DataFrame(records)
    base = [column for column in PARTICIPANT_DTYPES if column not in ("n_ratings",)]
    for column in base:
        if column not in frame.columns:
            frame[column] = None
    per_person = rows.groupby("participant_id", sort=False)
    counts = per_person.size()
    listened = per_person["listened_seconds"].median()
    ids = frame["participant_id"].astype(str)
    frame["n_ratings"] = ids.map(counts).fillna(0).to_numpy()
    frame["listened_seconds"] = ids.map(listened).to_numpy()
    questions = sorted(column for column in frame.columns if column.startswith(QUESTION_PREFIX))
    return typed(frame[[*PARTICIPANT_DTYPES, *questions]], PARTICIPANT_DTYPES)


def _floats(values: pd.Series) -> np.ndarray:
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _objects(values: pd.Series) -> np.ndarray:
    """Text as Python objects with None for missing (what the analysis's validators expect)."""
    return values.astype(object).where(values.notna(), None).to_numpy(dtype=object)


def tables_from_rows(rows: pd.DataFrame, participants: pd.DataFrame) -> StudyTables:
    """The tidy tables of export rows (long ratings, genre answers, screening inputs); gold
    clips' rows are left out (they only screen participants)."""
    # gold clips only screen; a study's own questions are not the thesis's criteria
    rows = rows[(rows["role"] != GOLD_ROLE) & rows[SCORE_CRITERIA[0]].notna()]
    base = pd.DataFrame(
        {
            "participant_id": _objects(rows["participant_id"]),
            "clip_id": _objects(rows["clip_id"]),
            "model": _objects(rows["model"]),
            "genre": _objects(rows["genre"]),
            "corpus_size": _floats(rows["corpus_size"]),
        }
    )
    ratings = pd.concat(
        [
            base.assign(criterion=criterion, score=rows[criterion].to_numpy(dtype=int))
            for criterion in SCORE_CRITERIA
        ],
        ignore_index=True,
    )
    answers = base.assign(
        answer=_objects(rows["genre_answer"]), confidence=_floats(rows["genre_confidence"])
    )
    screening = pd.DataFrame(
        {
            "participant_id": _objects(participants["participant_id"]),
            "headphone_check_passed": _objects(participants["headphone_check_passed"]),
            "listened_seconds": _floats(participants["listened_seconds"]),
        }
    )
    return StudyTables(
        ratings[list(RATING_COLUMNS)],
        answers[[*GENRE_ANSWER_COLUMNS[:4], "corpus_size", *GENRE_ANSWER_COLUMNS[4:]]],
        screening[list(PARTICIPANT_COLUMNS)],
    )


def rows_from_tables(tables: StudyTables) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Export rows and participants of tidy tables that never were in a database (the
    simulated demo study), so that it downloads in the same shape as a real study."""
    ratings, answers, people = tables
    keys = ["participant_id", "clip_id"]
    scores = ratings.pivot_table(index=keys, columns="criterion", values="score", aggfunc="first")
    clips = ratings.drop_duplicates(keys).set_index(keys)[["model", "genre", "corpus_size"]]
    given = answers.set_index(keys)[["answer", "confidence"]]
    wide = clips.join(scores).join(given).reset_index()
    controls = {REFERENCE: "reference", ANCHOR: "anchor"}
    role = wide["model"].map(controls).fillna("generated")
    condition = wide["model"].where(
        role != "generated",
        wide["model"] + "/" + wide["genre"] + "-" + wide["corpus_size"].map("{:.0f}".format),
    )
    rows = wide.rename(columns={"answer": "genre_answer", "confidence": "genre_confidence"})
    rows = rows.assign(role=role, condition=condition)
    rows = rows.reindex(columns=list(ROW_DTYPES))
    listened = people.set_index("participant_id")["listened_seconds"]
    rows["listened_seconds"] = rows["participant_id"].map(listened)
    participants = pd.DataFrame(
        {
            "participant_id": people["participant_id"],
            "status": "finished",
            "headphone_check_passed": people["headphone_check_passed"],
        }
    ).to_dict("records")
    typed_rows = typed(rows, ROW_DTYPES)
    return typed_rows, participant_frame(participants, typed_rows)


def filter_rows(
    frame: pd.DataFrame,
    *,
    genres: tuple[str, ...] | None = None,
    corpus_sizes: tuple[int, ...] | None = None,
) -> pd.DataFrame:
    """The rows (any frame with `genre` and `corpus_size`) of the chosen genres and corpus
    sizes (None = all). Controls have no corpus size and stay with their genre. Order kept."""
    mask = pd.Series(True, index=frame.index)
    if genres is not None:
        mask &= frame["genre"].isin(list(genres))
    if corpus_sizes is not None:
        mask &= frame["corpus_size"].isna() | frame["corpus_size"].isin(list(corpus_sizes))
    return frame[mask]


def filter_tables(
    tables: StudyTables,
    *,
    genres: tuple[str, ...] | None = None,
    corpus_sizes: tuple[int, ...] | None = None,
) -> StudyTables:
    """The ratings and genre answers of the chosen genres and corpus sizes (`filter_rows`),
    so post-screening and the reference/anchor columns survive a corpus-size filter."""
    ratings, answers, participants = tables
    chosen = {"genres": genres, "corpus_sizes": corpus_sizes}
    return StudyTables(filter_rows(ratings, **chosen), filter_rows(answers, **chosen), participants)
