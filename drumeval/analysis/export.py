"""A study's data as files: ratings, participants and the Table 1 summary, as CSV, JSON or
Parquet — the same bytes from `drumeval study export` and the Results page's downloads.

Six tables (`EXPORT_TABLES`); a rating study has ratings, participants, stimuli and summary,
a pairwise study `votes`, participants and stimuli, a multi-stimulus (MUSHRA) study `scores`,
participants and stimuli:
* `ratings` — one row per rating, blinded ids resolved to conditions
  (`drumeval.analysis.from_db.ROW_DTYPES`);
* `participants` — one row per participant: status, headphone check (passed, correct, and
  each test's own `antiphase_correct`/`antiphase_passed`, `huggins_correct`/`huggins_passed`
  — a "both" screen has two), ratings given, median seconds played, questionnaire answers
  (`q_…`);
* `stimuli` — one row per clip of the study (rated or practice): its public id (the ratings'
  `clip_id`), condition, role, an imported clip's file name, MIDI and audio sha256, so that
  the export is self-contained for a paper's supplement;
* `summary` — Table 1 in long form for everyone and for the participants who pass
  post-screening (`drumeval.analysis.screening.table1_with_and_without_flagged`), with the
  seed and number of bootstrap resamples that made its intervals;
* `votes` — one row per pairwise vote: conditions on sides A and B, outcome (a, b, tie,
  both_bad), reason, clips, seconds heard per side (`from_db.VOTE_DTYPES`);
* `scores` — one row per multi-stimulus score: condition, role (test, reference, anchor),
  score 0–100, seconds heard (`from_db.SCORE_DTYPES`).

JSON is a list of records written with Python's `json` (floats in shortest round-trip form,
so a value read back is the value written); missing values are `null` / empty CSV cells.
`read_export` gives back the typed frame that was written.

CSV files are opened in spreadsheets, which run a cell that starts with `=`, `+`, `-`, `@`
(or a tab / carriage return) as a formula (OWASP "CSV injection"). Text a participant typed
(`FREE_TEXT_COLUMNS`) is therefore written with a `'` in front when it starts with one of
those, or with `'` itself (so the escape is reversible); `read_export` removes it again.
JSON and Parquet hold the text as typed.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from drumeval.analysis.bootstrap import DEFAULT_RESAMPLES
from drumeval.analysis.from_db import (
    PARTICIPANT_DTYPES,
    ROW_DTYPES,
    SCORE_DTYPES,
    STIMULUS_DTYPES,
    VOTE_DTYPES,
    StudyData,
    load_study,
    typed,
)
from drumeval.analysis.schema import HEADPHONE_TESTS, MODELS
from drumeval.analysis.screening import table1_with_and_without_flagged
from drumeval.errors import AnalysisError

EXPORT_FORMATS = ("csv", "json", "parquet")
EXPORT_TABLES = ("ratings", "participants", "stimuli", "summary", "votes", "scores")
# What each trial type answers in, and where its ranking is (`require_trial_type`).
TABLES_OF_TRIAL_TYPE = {
    "rating": ("ratings", "participants", "stimuli", "summary"),
    "pairwise": ("votes", "participants", "stimuli"),
    "mushra": ("scores", "participants", "stimuli"),
}
RANKING_OF_TRIAL_TYPE = {
    "rating": "`drumeval study table1`",
    "pairwise": "`drumeval study leaderboard`",
    "mushra": "`drumeval study mushra`",
}
MIME_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
SUMMARY_DTYPES: dict[str, str] = {
    "screened": "boolean",
    "criterion": "string",
    "model": "string",
    "n_ratings": "Int64",
    "n_participants": "Int64",
    "n_clips": "Int64",
    "mean": "Float64",
    "median": "Float64",
    "ci_low": "Float64",
    "ci_high": "Float64",
    "symbol": "string",
    "thesis": "string",
    "agrees": "boolean",
    "seed": "Int64",
    "n_resamples": "Int64",
}
# Each participant's post-screening, beside them in the participants export
SCREENING_EXPORT_DTYPES: dict[str, str] = {
    "gold_rated": "Int64",
    "gold_missed": "Int64",
    "score_variance": "Float64",
    "screening_reasons": "string",
    "flagged": "boolean",
}


FREE_TEXT_COLUMNS = ("comment",)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
TABLE_DTYPES = {
    "ratings": ROW_DTYPES,
    "participants": {**PARTICIPANT_DTYPES, **SCREENING_EXPORT_DTYPES},
    "stimuli": STIMULUS_DTYPES,
    "summary": SUMMARY_DTYPES,
    "votes": VOTE_DTYPES,
    "scores": SCORE_DTYPES,
}


def require_trial_type(data: StudyData, trial_type: str, what: str) -> None:
    """Refuse `what` (a Table 1, a leaderboard…) of a study of another trial type, naming
    the command that analyses this one."""
    if data.trial_type != trial_type:
        raise AnalysisError(
            f"study {data.slug!r} is a {data.trial_type} study; {what} is for {trial_type} "
            f"studies — use {RANKING_OF_TRIAL_TYPE.get(data.trial_type, 'its own analysis')}"
        )


def answers_of(data: StudyData) -> pd.DataFrame:
    """The study's answers: votes (pairwise), scores (mushra) or ratings; AnalysisError when
    there are none yet (practice ratings do not count)."""
    answers = {"pairwise": data.votes, "mushra": data.scores}.get(data.trial_type, data.rows)
    if answers is None or answers.empty:
        kind = {"pairwise": "votes", "mushra": "scores"}.get(data.trial_type, "ratings")
        raise AnalysisError(
            f"study {data.slug!r} has no {kind} yet"
            + (" (practice ratings do not count)" if kind == "ratings" else "")
        )
    return answers


def require_ratings(data: StudyData) -> None:
    """Refuse to analyse or export a study nobody has rated yet, with a message that says so."""
    require_trial_type(data, "rating", "this analysis")
    if data.rows.empty:
        raise AnalysisError(
            f"study {data.slug!r} has no ratings yet (practice ratings do not count)"
        )


def summary_table(
    data: StudyData, *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES
) -> pd.DataFrame:
    """Table 1 (long form) with and without the participants post-screening flags."""
    require_ratings(data)
    ratings, answers, participants = data.tables
    table = table1_with_and_without_flagged(
        ratings,
        answers,
        participants,
        seed=seed,
        n_resamples=n_resamples,
        screening=data.screening(),
    )
    return typed(table.assign(seed=seed, n_resamples=n_resamples), SUMMARY_DTYPES)


def participants_with_screening(data: StudyData) -> pd.DataFrame:
    """The participants table with each one's post-screening by the study's rules: gold
    clips rated and missed, score variance, the rules failed and whether they are flagged."""
    screening = data.screening().set_index("participant_id")
    people = data.participants.copy()
    ids = people["participant_id"].astype(str)
    for column in ("gold_rated", "gold_missed", "score_variance", "flagged"):
        people[column] = ids.map(screening[column]).to_numpy()
    people["screening_reasons"] = ids.map(screening["reasons"]).to_numpy()
    return typed(people, {**PARTICIPANT_DTYPES, **SCREENING_EXPORT_DTYPES})


HEADPHONE_COUNT_COLUMNS = ("test", "taken", "passed", "failed")


def headphone_test_counts(participants: pd.DataFrame) -> pd.DataFrame:
    """Participants who took, passed and failed each test of the headphone screen (a row
    per test taken by anyone), from the participants table's `<test>_passed` columns: with
    `headphone_screen = "both"` the combined screened-out count cannot say which test
    turned listeners away."""
    rows = []
    for test in HEADPHONE_TESTS:
        passed = participants.get(f"{test}_passed", pd.Series(dtype="boolean")).dropna()
        if len(passed):
            took, ok = len(passed), int(passed.astype(bool).sum())
            rows.append((test, took, ok, took - ok))
    return pd.DataFrame(rows, columns=list(HEADPHONE_COUNT_COLUMNS)).astype(
        {"test": "string", "taken": "Int64", "passed": "Int64", "failed": "Int64"}
    )


def export_table(
    data: StudyData, table: str, *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES
) -> pd.DataFrame:
    """One of `EXPORT_TABLES` of a study, typed as `read_export` gives it back."""
    if table not in EXPORT_TABLES:
        raise AnalysisError(f"unknown table {table!r}; choose one of {', '.join(EXPORT_TABLES)}")
    tables = TABLES_OF_TRIAL_TYPE.get(data.trial_type, EXPORT_TABLES)
    if table not in tables:
        raise AnalysisError(
            f"study {data.slug!r} is a {data.trial_type} study: its tables are {', '.join(tables)}"
        )
    if table == "stimuli":  # what the study plays, rated or not
        return data.stimuli
    if table == "participants":  # before any answer too: who was screened out, and by what
        if data.trial_type == "rating" and not data.rows.empty:
            return participants_with_screening(data)
        return typed(data.participants, TABLE_DTYPES["participants"])
    answers = answers_of(data)
    if table in ("votes", "scores"):
        return answers
    if table == "ratings":
        return data.rows
    return summary_table(data, seed=seed, n_resamples=n_resamples)


def _check_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise AnalysisError(
            f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}"
        )


def _plain(value: Any) -> Any:
    """A JSON-ready Python value (None for any missing value)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def _escape_free_text(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [column for column in FREE_TEXT_COLUMNS if column in frame.columns]
    if not columns:
        return frame
    escaped = frame.copy()
    for column in columns:
        text = escaped[column].astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False)
        escaped[column] = text.where(~risky, "'" + text)
    return escaped


def _unescape_free_text(frame: pd.DataFrame) -> pd.DataFrame:
    for column in FREE_TEXT_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].map(
                lambda value: value[1:] if isinstance(value, str) and value[:1] == "'" else value
            )
    return frame


def to_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """`frame` serialised as `fmt` (deterministic: the same frame gives the same bytes)."""
    _check_format(fmt)
    if fmt == "csv":
        return _escape_free_text(frame).to_csv(index=False, lineterminator="\n").encode("utf-8")
    if fmt == "json":
        records = [
            {column: _plain(value) for column, value in zip(frame.columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)
        ]
        return (json.dumps(records, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def read_export(source: bytes | Path, fmt: str, table: str) -> pd.DataFrame:
    """A file written by `to_bytes` read back as the typed frame it was made from."""
    _check_format(fmt)
    if table not in TABLE_DTYPES:
        raise AnalysisError(f"unknown table {table!r}; choose one of {', '.join(EXPORT_TABLES)}")
    raw = Path(source).read_bytes() if isinstance(source, Path) else source
    if fmt == "csv":
        frame = _unescape_free_text(pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False))
    elif fmt == "json":
        records = json.loads(raw.decode("utf-8"))
        # an empty list has no columns to read: the table's own
        frame = pd.DataFrame(records, columns=None if records else list(TABLE_DTYPES[table]))
    else:
        frame = pd.read_parquet(io.BytesIO(raw), engine="pyarrow")
    return typed(frame, TABLE_DTYPES[table])


def write_export(frame: pd.DataFrame, fmt: str, out: Path) -> int:
    """Write `frame` to `out` as `fmt`; the number of bytes written."""
    payload = to_bytes(frame, fmt)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(payload)
    except OSError as error:
        raise AnalysisError(f"cannot write {out}: {error.strerror or error}") from None
    return len(payload)


def download_name(slug: str, table: str, fmt: str) -> str:
    return f"{slug}-{table}.{fmt}"


def study_table1(
    data: StudyData,
    *,
    screened: bool,
    genres: tuple[str, ...] | None = None,
    corpus_sizes: tuple[int, ...] | None = None,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    by_condition: bool = False,
) -> pd.DataFrame:
    """`rebuild_table1` of a study, of everyone or of the participants who pass screening —
    the numbers of the summary export's rows with the same `screened` value — optionally of
    some genres and corpus sizes only (None = all; the Results page's filters).

    `by_condition`: a column per condition of the study (`StudyData.by_condition`) instead
    of per model, the thesis's verdict beside each condition of a thesis model."""
    from drumeval.analysis.table1 import rebuild_table1

    tables, thesis = _analysed_tables(data, screened, by_condition)
    ratings, answers = _filtered(data, tables, genres, corpus_sizes)
    if not by_condition and not ratings["model"].isin(MODELS).any():
        raise AnalysisError("no model ratings of the chosen genres and corpus sizes")
    return rebuild_table1(ratings, answers, seed, n_resamples=n_resamples, thesis_models=thesis)


def study_contrasts(
    data: StudyData,
    *,
    contrasts: list[tuple[str, str]] | None = None,
    screened: bool = False,
    genres: tuple[str, ...] | None = None,
    corpus_sizes: tuple[int, ...] | None = None,
) -> pd.DataFrame:
    """Any two of a study's conditions compared (`inference.compare_contrasts`: per
    criterion, Holm over every contrast and criterion); None = every pair."""
    from drumeval.analysis.inference import compare_contrasts

    tables, _ = _analysed_tables(data, screened, by_condition=True)
    ratings, answers = _filtered(data, tables, genres, corpus_sizes)
    return compare_contrasts(ratings, answers, contrasts=contrasts)


def study_conditions(data: StudyData) -> list[str]:
    """The levels a contrast may name: the study's conditions, then reference and anchor."""
    from drumeval.analysis.schema import ordered_models

    tables, _ = data.by_condition(screened=False)
    return ordered_models(tables.ratings["model"])


def _analysed_tables(data: StudyData, screened: bool, by_condition: bool) -> tuple[Any, dict]:
    require_ratings(data)
    if data.tables.ratings.empty and data.rows["answers"].notna().any():
        raise AnalysisError(
            f"study {data.slug!r} asks its own questions; Table 1 and the comparisons need the "
            "thesis's criteria — export the ratings (their `answers` column) to analyse them"
        )
    if by_condition:
        tables, thesis = data.by_condition(screened=screened)
    else:
        tables, thesis = data.analysed(screened=screened), {}
    if tables.ratings.empty:
        raise AnalysisError(f"post-screening flags every participant of study {data.slug!r}")
    return tables, thesis


def _filtered(
    data: StudyData,
    tables: Any,
    genres: tuple[str, ...] | None,
    corpus_sizes: tuple[int, ...] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from drumeval.analysis.from_db import filter_tables

    _check_filters(data, genres, corpus_sizes)
    ratings, answers, _ = filter_tables(tables, genres=genres, corpus_sizes=corpus_sizes)
    return ratings, answers


def _check_filters(
    data: StudyData, genres: tuple[str, ...] | None, corpus_sizes: tuple[int, ...] | None
) -> None:
    """Refuse a genre or corpus size the study does not have (a typo would filter out all)."""
    rows = data.tables.ratings
    for name, chosen, present in (
        ("genre", genres, {str(value) for value in rows["genre"].dropna()}),
        ("corpus size", corpus_sizes, {int(value) for value in rows["corpus_size"].dropna()}),
    ):
        unknown = sorted(set(chosen or ()) - present, key=str)
        if unknown:
            raise AnalysisError(
                f"study {data.slug!r} has no {name} {', '.join(map(str, unknown))}; "
                f"it has {', '.join(map(str, sorted(present))) or 'none'}"
            )


def table1_download_name(
    slug: str,
    fmt: str,
    *,
    screened: bool,
    genres: tuple[str, ...] | None = None,
    corpus_sizes: tuple[int, ...] | None = None,
) -> str:
    """`<slug>-table1[-screened][-<genres>][-<sizes>].<md|tex>`: the filters in the name."""
    parts = [slug, "table1"]
    if screened:
        parts.append("screened")
    parts += [*(genres or ()), *(str(size) for size in corpus_sizes or ())]
    return "-".join(parts) + f".{fmt}"


def table1_markdown(table: pd.DataFrame) -> str:
    """Table 1 (from `rebuild_table1`) as a Markdown table of `format_table1` cells."""
    from drumeval.analysis.table1 import format_table1

    return format_table1(table).to_markdown()


def table1_latex(table: pd.DataFrame) -> str:
    """Table 1 as a LaTeX tabular (booktabs; ✓/✗ as amssymb's \\checkmark and $\\times$)."""
    from drumeval.analysis.table1 import format_table1

    latex = format_table1(table).to_latex(escape=True)
    # LaTeX typesets `--` as an en dash; `-{}-` keeps the thesis's two minus signs.
    return latex.replace("--", "-{}-").replace("✓", r"$\checkmark$").replace("✗", r"$\times$")


# --- a study's backup, written before it is deleted ---------------------------------------

BACKUP_TABLES = ("stimuli", "ratings", "participants")


def study_backup(data: StudyData, config_text: str | None) -> bytes:
    """One JSON document with everything a study collected: its config, its stimuli, its
    ratings and its participants (the same records as the JSON exports), readable without
    this app."""
    tables = {
        name: json.loads(to_bytes(_backup_table(data, name), "json")) for name in BACKUP_TABLES
    }
    document = {"slug": data.slug, "title": data.title, "config_text": config_text, **tables}
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _backup_table(data: StudyData, name: str) -> pd.DataFrame:
    if name == "participants":
        return participants_with_screening(data) if not data.rows.empty else data.participants
    return data.stimuli if name == "stimuli" else data.rows


def delete_with_backup(
    engine: Any, slug: str, *, confirm: str | None, backup_dir: Path | None = None
) -> Path:
    """Delete a study (`drumeval.study.setup.delete_study`: one with ratings only when
    `confirm` repeats its slug), writing its JSON backup (`study_backup`) first to
    `backup_dir` (default `<DRUMEVAL_HOME>/backups`). Returns the backup's path."""
    from datetime import UTC, datetime

    from drumeval.paths import data_home
    from drumeval.study import setup

    setup.check_deletion(engine, slug, confirm=confirm)
    folder = backup_dir or data_home() / "backups"
    backup = folder / f"{slug}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.json"
    payload = study_backup(load_study(engine, slug), setup.study_status(engine, slug).config_text)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        backup.write_bytes(payload)
    except OSError as error:
        raise AnalysisError(
            f"cannot write the backup {backup}: {error.strerror or error}; nothing was deleted"
        ) from None
    setup.delete_study(engine, slug, confirm=confirm)
    return backup
