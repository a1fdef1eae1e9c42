"""Exports: each table written as CSV, JSON and Parquet reads back as the same frame, the
same data gives the same bytes, and the summary holds the numbers of Table 1."""

import io

import pandas as pd
import pytest

from drumeval.analysis import export, simulate_study
from drumeval.analysis.from_db import StudyData, load_study
from drumeval.errors import AnalysisError
from tests.factories import drive_flow, screen_listeners

RESAMPLES = 50


@pytest.fixture(scope="module")
def simulated() -> StudyData:
    return StudyData.from_tables(
        simulate_study(8, 1, seed=8, careless_share=0.3), slug="demo", title="Simulated"
    )


@pytest.fixture
def flow_study(db_engine, tmp_path, monkeypatch) -> StudyData:
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    drive_flow(db_engine, listeners=2)
    return load_study(db_engine, "tiny")


@pytest.mark.parametrize("fmt", export.EXPORT_FORMATS)
@pytest.mark.parametrize("table", export.TABLES_OF_TRIAL_TYPE["rating"])
def test_every_table_round_trips_in_every_format(simulated, table, fmt):
    frame = export.export_table(simulated, table, n_resamples=RESAMPLES)
    payload = export.to_bytes(frame, fmt)
    pd.testing.assert_frame_equal(export.read_export(payload, fmt, table), frame)
    again = export.export_table(simulated, table, n_resamples=RESAMPLES)
    assert export.to_bytes(again, fmt) == payload


@pytest.mark.parametrize("fmt", export.EXPORT_FORMATS)
def test_flow_ratings_with_awkward_comments_round_trip(flow_study, fmt, tmp_path):
    rows = export.export_table(flow_study, "ratings")
    assert rows["comment"].str.contains('"quoted"\n<b>').all()
    out = tmp_path / f"ratings.{fmt}"
    assert export.write_export(rows, fmt, out) == out.stat().st_size
    back = export.read_export(out, fmt, "ratings")
    pd.testing.assert_frame_equal(back, rows)
    assert back["rated_at"].str.endswith("+00:00").all()  # UTC timestamps, as ISO 8601
    people = export.export_table(flow_study, "participants")
    pd.testing.assert_frame_equal(
        export.read_export(export.to_bytes(people, fmt), fmt, "participants"), people
    )


def test_the_ratings_export_has_one_row_per_rating_with_conditions(simulated):
    rows = export.export_table(simulated, "ratings")
    ratings = simulated.tables.ratings
    assert len(rows) == len(ratings) / 4  # four criteria per rating
    melted = rows.melt(
        id_vars=["participant_id", "clip_id", "model"],
        value_vars=["short_term_phrasing", "long_term_phrasing", "originality", "realism"],
        var_name="criterion",
        value_name="score",
    )
    merged = melted.astype({"participant_id": str, "clip_id": str, "model": str}).merge(
        ratings, on=["participant_id", "clip_id", "criterion"], suffixes=("", "_tidy")
    )
    assert len(merged) == len(ratings)
    assert (merged["score"] == merged["score_tidy"]).all()
    assert (merged["model"] == merged["model_tidy"]).all()


def test_the_summary_holds_table1_with_and_without_screening(simulated):
    summary = export.export_table(simulated, "summary", n_resamples=RESAMPLES)
    assert simulated.screening()["flagged"].any()
    for screened in (False, True):
        wide = export.study_table1(simulated, screened=screened, n_resamples=RESAMPLES)
        part = summary[summary["screened"] == screened].set_index(["criterion", "model"])
        for (criterion, model), row in part.iterrows():
            cell = wide.loc[criterion, model]
            assert row["mean"] == pytest.approx(cell["mean"], nan_ok=True)
            assert row["ci_low"] == pytest.approx(cell["ci_low"], nan_ok=True)
            assert row["n_participants"] == cell["n_participants"]
    everyone = summary[~summary["screened"]]["n_participants"].max()
    assert summary[summary["screened"]]["n_participants"].max() < everyone
    assert (summary["n_resamples"] == RESAMPLES).all() and (summary["seed"] == 0).all()


def test_table1_as_markdown_and_latex(simulated):
    table = export.study_table1(simulated, screened=False, n_resamples=RESAMPLES)
    markdown = export.table1_markdown(table)
    assert "| Short-term phrasing" in markdown and "DrumsRNN (thesis)" in markdown
    latex = export.table1_latex(table)
    assert r"\begin{tabular}" in latex and r"\%" in latex
    assert "--" not in latex.replace(r"\toprule", "") and "-{}-" in latex
    assert "✓" not in latex and r"$\checkmark$" in latex


def test_bad_requests_are_explained(simulated):
    with pytest.raises(AnalysisError, match="unknown export format 'xlsx'"):
        export.to_bytes(simulated.rows, "xlsx")
    with pytest.raises(AnalysisError, match="unknown table 'clips'"):
        export.export_table(simulated, "clips")


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tTab", "'quoted"]


@pytest.mark.parametrize("fmt", export.EXPORT_FORMATS)
def test_comments_that_a_spreadsheet_would_run_are_defused_in_csv_only(simulated, fmt):
    rows = export.export_table(simulated, "ratings").head(len(FORMULAS) + 2).copy()
    comments = [*FORMULAS, "plain = fine", None]
    rows["comment"] = pd.array(comments, dtype="string")
    payload = export.to_bytes(rows, fmt)
    if fmt == "csv":
        cells = pd.read_csv(io.BytesIO(payload), dtype=str, keep_default_na=False)
        written = cells["comment"].tolist()
        assert written[: len(FORMULAS)] == ["'" + text for text in FORMULAS]
        assert written[len(FORMULAS)] == "plain = fine"
        assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for cell in written)
    pd.testing.assert_frame_equal(export.read_export(payload, fmt, "ratings"), rows)


@pytest.mark.parametrize("fmt", export.EXPORT_FORMATS)
def test_a_both_screen_exports_each_tests_result(db_engine, tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    screen_listeners(db_engine, [{}, {"huggins": 2}, {"antiphase": 3, "huggins": 1}])
    people = export.export_table(load_study(db_engine, "hp"), "participants")
    back = export.read_export(export.to_bytes(people, fmt), fmt, "participants")
    pd.testing.assert_frame_equal(back, people)
    columns = ["headphone_check_passed", "headphone_correct", "antiphase_correct",
               "antiphase_passed", "huggins_correct", "huggins_passed"]  # fmt: skip
    got = sorted(tuple(row) for row in back[columns].itertuples(index=False))
    assert got == sorted([
        (True, 12, 6, True, 6, True),
        (False, 10, 6, True, 4, False),  # screened out by the Huggins test alone
        (False, 8, 3, False, 5, True),  # by the anti-phase test alone
    ])  # fmt: skip
    counts = export.headphone_test_counts(people)
    assert counts.astype(object).values.tolist() == [
        ["antiphase", 3, 2, 1], ["huggins", 3, 2, 1],
    ]  # fmt: skip


def test_a_single_test_screen_leaves_the_other_tests_columns_missing(flow_study):
    people = export.export_table(flow_study, "participants")
    assert people["antiphase_passed"].tolist() == [True, True]
    assert people["huggins_correct"].isna().all() and people["huggins_passed"].isna().all()
    assert export.headphone_test_counts(people)["test"].tolist() == ["antiphase"]
