"""The tidy-table contract between the study database and the analysis.

The analysis never touches the database: the study layer exports three pandas tables and
every function here takes them. One row per observation, one column per variable:

`ratings` — one row per (participant, clip, criterion):
    participant_id  str    blinded participant id
    clip_id         str    clip id (the same clip rated by several participants keeps its id)
    model           str    condition that made the clip: `drums_rnn`, `music_vae`, or an extra
                           condition (`reference` = hidden human/corpus clip, `anchor` = low
                           anchor, an imported model's name)
    genre           str    genre of the corpus the clip's model was trained on (`techno-house`,
                           `jazz-soul`); for a reference clip, its corpus's genre
    corpus_size     int    700 or 1500 (training-set size); missing (NaN) for reference/anchor
    criterion       str    `short_term_phrasing`, `long_term_phrasing`, `originality`, `realism`
    score           int    −2 … +2 (the thesis's `--` … `++` scale)

`genre_answers` — one row per (participant, clip):
    participant_id, clip_id, model, genre   as above (`genre` is the right answer)
    answer          str    `techno-house`, `jazz-soul` or `cant_tell`
    confidence      int    the listener's confidence (any ordinal scale; may be missing)

`participants` — one row per participant (only needed for post-screening):
    participant_id          str
    headphone_check_passed  bool   missing (NaN/None) when the study had no check
    listened_seconds        float  median over the participant's clips of seconds played
                                   (`drumeval.analysis.screening.listened_seconds_per_participant`
                                   builds it from a per-clip listening log)
    <test>_correct          int    optional, per test of the headphone screen (`antiphase`,
    <test>_passed           bool   `huggins`): correct answers of 6 and passed at its own mark;
                                   missing for a test the participant did not take

`pairwise_votes` — one row per pairwise trial answered (A/B, tie or "both bad"):
    participant_id  str    blinded participant id (the bootstrap's cluster)
    trial_id        str    the trial
    condition_a     str    condition played as A
    condition_b     str    condition played as B (never the same as A)
    outcome         str    `a`, `b`, `tie` or `both_bad`
    reason, clip_a, clip_b  str  optional: the listener's reason, the two clips' ids

`mushra_scores` — one row per (participant, trial, condition) of a multi-stimulus trial:
    participant_id, trial_id, condition  str
    role            str    `reference` (hidden reference), `anchor` (low anchor) or `test`
    score           float  0 … 100

Extra columns are ignored. Validation turns every violation into one `AnalysisError` line.
"""

from __future__ import annotations

import pandas as pd

from drumeval.errors import AnalysisError

GENRES = ("techno-house", "jazz-soul")
CANT_TELL = "cant_tell"
GENRE_ANSWERS = (*GENRES, CANT_TELL)
SCORE_CRITERIA = ("short_term_phrasing", "long_term_phrasing", "originality", "realism")
GENRE_DISCRIMINATION = "genre_discrimination"
# Table 1's rows, in the thesis's order.
TABLE1_CRITERIA = (
    "short_term_phrasing",
    "long_term_phrasing",
    "originality",
    GENRE_DISCRIMINATION,
    "realism",
)
CRITERION_LABELS = {
    "short_term_phrasing": "Short-term phrasing",
    "long_term_phrasing": "Long-term phrasing",
    "originality": "Originality",
    GENRE_DISCRIMINATION: "Genre discrimination",
    "realism": "Realism",
}
MODELS = ("drums_rnn", "music_vae")
MODEL_LABELS = {"drums_rnn": "DrumsRNN", "music_vae": "MusicVAE"}
REFERENCE = "reference"
ANCHOR = "anchor"
SCORE_RANGE = (-2, 2)
CORPUS_SIZES = (700, 1500)

RATING_COLUMNS = (
    "participant_id",
    "clip_id",
    "model",
    "genre",
    "corpus_size",
    "criterion",
    "score",
)
GENRE_ANSWER_COLUMNS = ("participant_id", "clip_id", "model", "genre", "answer", "confidence")
PARTICIPANT_COLUMNS = ("participant_id", "headphone_check_passed", "listened_seconds")
# The headphone screen's tests (`drumeval.study.headphone.WORDING`'s short names): with
# `headphone_screen = "both"` each one's result is kept, not only the combined pass.
HEADPHONE_TESTS = ("antiphase", "huggins")
HEADPHONE_TEST_DTYPES: dict[str, str] = {
    column: dtype
    for test in HEADPHONE_TESTS
    for column, dtype in ((f"{test}_correct", "Int64"), (f"{test}_passed", "boolean"))
}
PAIRWISE_OUTCOMES = ("a", "b", "tie", "both_bad")
PAIRWISE_VOTE_COLUMNS = ("participant_id", "trial_id", "condition_a", "condition_b", "outcome")
PAIRWISE_OPTIONAL_COLUMNS = ("reason", "clip_a", "clip_b")
MUSHRA_ROLES = ("reference", "anchor", "test")
MUSHRA_SCORE_COLUMNS = ("participant_id", "trial_id", "condition", "role", "score")
MUSHRA_SCORE_RANGE = (0.0, 100.0)
# The common long form both tables are turned into: `value` is the score, or 1/0 for a
# right/wrong genre answer under criterion `genre_discrimination`.
OBSERVATION_COLUMNS = (*RATING_COLUMNS[:-1], "value")


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise AnalysisError(f"{name} must be a pandas DataFrame, not {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise AnalysisError(f"{name} lacks column(s) {', '.join(missing)}")
    for column in ("participant_id", "clip_id", "model"):
        if column in columns and frame[column].isna().any():
            raise AnalysisError(f"{name} has rows without a {column}")


def _require_values(frame: pd.DataFrame, column: str, allowed: tuple[str, ...], name: str) -> None:
    bad = sorted(set(frame[column].dropna().astype(str)) - set(allowed))
    if bad:
        raise AnalysisError(
            f"{name}.{column} has unknown value(s) {', '.join(map(repr, bad))}; "
            f"expected one of {', '.join(allowed)}"
        )


def _scores_in_range(
    frame: pd.DataFrame, bounds: tuple[float, float], name: str, *, integer: bool
) -> pd.Series:
    """`frame.score` as numbers; AnalysisError naming how many rows are out of `bounds`."""
    scores = pd.to_numeric(frame["score"], errors="coerce")
    low, high = bounds
    invalid = scores.isna() | (scores < low) | (scores > high)
    if integer:
        invalid |= scores % 1 != 0
    if invalid.any():
        example = frame.loc[invalid, "score"].iloc[0]
        kind = "an integer" if integer else "a number"
        raise AnalysisError(
            f"{name}.score must be {kind} from {low:g} to {high:g}; "
            f"{int(invalid.sum())} row(s) are not (e.g. {example!r})"
        )
    return scores


def validate_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """The ratings with `score` as int and ids as str; AnalysisError on the first violation."""
    _require_columns(ratings, RATING_COLUMNS, "ratings")
    _require_values(ratings, "criterion", SCORE_CRITERIA, "ratings")
    _require_values(ratings, "genre", GENRES, "ratings")
    scores = _scores_in_range(ratings, SCORE_RANGE, "ratings", integer=True)
    return ratings.assign(
        participant_id=ratings["participant_id"].astype(str),
        clip_id=ratings["clip_id"].astype(str),
        model=ratings["model"].astype(str),
        corpus_size=pd.to_numeric(ratings["corpus_size"], errors="coerce"),
        score=scores.astype(int),
    )


def validate_genre_answers(genre_answers: pd.DataFrame) -> pd.DataFrame:
    """The genre answers with ids as str; AnalysisError on the first violation."""
    _require_columns(genre_answers, GENRE_ANSWER_COLUMNS, "genre_answers")
    _require_values(genre_answers, "genre", GENRES, "genre_answers")
    _require_values(genre_answers, "answer", GENRE_ANSWERS, "genre_answers")
    if genre_answers["answer"].isna().any():
        raise AnalysisError("genre_answers has rows without an answer")
    corpus_size = genre_answers.get("corpus_size", pd.Series(float("nan"), genre_answers.index))
    return genre_answers.assign(
        participant_id=genre_answers["participant_id"].astype(str),
        clip_id=genre_answers["clip_id"].astype(str),
        model=genre_answers["model"].astype(str),
        corpus_size=pd.to_numeric(corpus_size, errors="coerce"),
    )


def validate_participants(participants: pd.DataFrame) -> pd.DataFrame:
    """The participants table with ids as str and numeric listening time."""
    _require_columns(participants, PARTICIPANT_COLUMNS, "participants")
    if participants["participant_id"].duplicated().any():
        raise AnalysisError("participants has duplicate participant_id rows")
    return participants.assign(
        participant_id=participants["participant_id"].astype(str),
        listened_seconds=pd.to_numeric(participants["listened_seconds"], errors="coerce"),
    )


def validate_pairwise_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """The votes with ids and conditions as str; AnalysisError on the first violation."""
    _require_columns(votes, PAIRWISE_VOTE_COLUMNS, "pairwise_votes")
    for column in ("condition_a", "condition_b", "outcome"):
        if votes[column].isna().any():
            raise AnalysisError(f"pairwise_votes has rows without a {column}")
    _require_values(votes, "outcome", PAIRWISE_OUTCOMES, "pairwise_votes")
    typed = votes.assign(**{column: votes[column].astype(str) for column in PAIRWISE_VOTE_COLUMNS})
    same = typed["condition_a"] == typed["condition_b"]
    if same.any():
        raise AnalysisError(
            f"pairwise_votes has {int(same.sum())} row(s) comparing a condition with itself "
            f"(e.g. {typed.loc[same, 'condition_a'].iloc[0]!r})"
        )
    return typed


def validate_mushra_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """The MUSHRA scores with ids as str and `score` as float; AnalysisError on a violation."""
    _require_columns(scores, MUSHRA_SCORE_COLUMNS, "mushra_scores")
    if scores["condition"].isna().any():
        raise AnalysisError("mushra_scores has rows without a condition")
    _require_values(scores, "role", MUSHRA_ROLES, "mushra_scores")
    values = _scores_in_range(scores, MUSHRA_SCORE_RANGE, "mushra_scores", integer=False)
    return scores.assign(
        participant_id=scores["participant_id"].astype(str),
        trial_id=scores["trial_id"].astype(str),
        condition=scores["condition"].astype(str),
        role=scores["role"].astype(str),
        score=values.astype(float),
    )


def observations(ratings: pd.DataFrame, genre_answers: pd.DataFrame | None) -> pd.DataFrame:
    """Both tables in one long form (`OBSERVATION_COLUMNS`): scores, then genre right/wrong.

    Genre answers lack `corpus_size`; it is looked up from the ratings of the same clip so
    genre discrimination can be broken down by corpus size too.
    """
    ratings = validate_ratings(ratings)
    if ratings.empty:
        raise AnalysisError("no ratings to analyse")
    frames = [ratings.rename(columns={"score": "value"})[list(OBSERVATION_COLUMNS)]]
    if genre_answers is not None and len(genre_answers):
        answers = validate_genre_answers(genre_answers)
        sizes = ratings.drop_duplicates("clip_id").set_index("clip_id")["corpus_size"]
        answers = answers.assign(
            corpus_size=answers["corpus_size"].fillna(answers["clip_id"].map(sizes)),
            criterion=GENRE_DISCRIMINATION,
            value=(answers["answer"] == answers["genre"]).astype(int),
        )
        frames.append(answers[list(OBSERVATION_COLUMNS)])
    combined = pd.concat(frames, ignore_index=True)
    return combined.astype({"value": float})


def ordered_models(models: pd.Series | list[str]) -> list[str]:
    """The conditions present: DrumsRNN and MusicVAE first, then extra ones alphabetically."""
    present = {str(model) for model in models}
    return [m for m in MODELS if m in present] + sorted(present - set(MODELS))
