"""`drumeval study export|table1` on a simulated study written into the database and on one
taken through the evaluator flow: the files and tables hold the library's numbers, and bad
requests are one line with exit code 2."""

import itertools

import pytest

from drumeval.analysis import export, simulate_study
from drumeval.analysis.from_db import filter_tables, load_study
from drumeval.analysis.table1 import rebuild_table1
from tests.factories import drive_flow, make_study, write_simulated_study

RESAMPLES = "100"
# Both backends are covered by tests/analysis/test_from_db.py and the export test below; the
# other CLI tests only read through the same function, so SQLite suffices for them.
sqlite_only = pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)


@pytest.fixture
def seeded(db_engine):
    write_simulated_study(db_engine, simulate_study(8, 1, seed=8, careless_share=0.3))
    return load_study(db_engine, "simulated")


def test_export_writes_the_library_bytes(db_cli, seeded, tmp_path):
    for fmt, table in itertools.product(
        export.EXPORT_FORMATS, export.TABLES_OF_TRIAL_TYPE["rating"]
    ):
        out = tmp_path / f"{table}.{fmt}"
        code, stdout, _ = db_cli(
            "study", "export", "simulated", "--format", fmt, "--table", table,
            "--out", str(out), "--resamples", RESAMPLES,
        )  # fmt: skip
        assert code == 0, stdout
        expected = export.export_table(seeded, table, n_resamples=int(RESAMPLES))
        assert out.read_bytes() == export.to_bytes(expected, fmt)
        assert f"Wrote {len(expected)} {table} row(s)" in stdout


@sqlite_only
def test_table1_prints_the_library_numbers(db_cli, seeded):
    code, markdown, _ = db_cli(
        "study", "table1", "simulated", "--markdown", "--resamples", RESAMPLES
    )
    assert code == 0
    everyone = export.study_table1(seeded, screened=False, n_resamples=int(RESAMPLES))
    assert markdown.strip() == export.table1_markdown(everyone).strip()
    code, screened, _ = db_cli(
        "study", "table1", "simulated", "--markdown", "--screened", "--resamples", RESAMPLES
    )
    kept = export.study_table1(seeded, screened=True, n_resamples=int(RESAMPLES))
    assert code == 0 and screened.strip() == export.table1_markdown(kept).strip()
    assert screened != markdown  # post-screening dropped the careless listeners
    code, latex, _ = db_cli("study", "table1", "simulated", "--latex", "--resamples", RESAMPLES)
    assert code == 0 and latex.strip() == export.table1_latex(everyone).strip()
    code, text, _ = db_cli("study", "table1", "simulated", "--resamples", RESAMPLES)
    assert code == 0 and "Genre discrimination" in text and "MusicVAE (thesis)" in text
    first_mean = f"{everyone.loc['short_term_phrasing', ('drums_rnn', 'mean')]:+.2f}"
    assert first_mean in text


@sqlite_only
def test_table1_filters_genres_and_corpus_sizes(db_cli, seeded):
    code, markdown, _ = db_cli(
        "study", "table1", "simulated", "--markdown", "--resamples", RESAMPLES,
        "--genre", "jazz-soul", "--corpus-size", "1500",
    )  # fmt: skip
    assert code == 0
    kept = filter_tables(seeded.tables, genres=("jazz-soul",), corpus_sizes=(1500,))
    expected = rebuild_table1(kept.ratings, kept.genre_answers, 0, n_resamples=int(RESAMPLES))
    assert markdown.strip() == export.table1_markdown(expected).strip()
    everyone = export.study_table1(seeded, screened=False, n_resamples=int(RESAMPLES))
    assert markdown.strip() != export.table1_markdown(everyone).strip()
    code, text, _ = db_cli(
        "study", "table1", "simulated", "--genre", "jazz-soul", "--resamples", "5"
    )
    assert code == 0 and "only jazz-soul" in text
    code, _, err = db_cli("study", "table1", "simulated", "--genre", "jazz")
    assert code == 2 and "has no genre jazz; it has jazz-soul, techno-house" in err
    assert "Traceback" not in err
    code, _, err = db_cli("study", "table1", "simulated", "--corpus-size", "900")
    assert code == 2 and "has no corpus size 900; it has 700, 1500" in err


@sqlite_only
def test_a_study_taken_through_the_flow_exports(db_cli, db_engine, tmp_path):
    drive_flow(db_engine, listeners=2)
    out = tmp_path / "tiny.json"
    code, stdout, _ = db_cli("study", "export", "tiny", "--format", "json", "--out", str(out))
    assert code == 0, stdout
    back = export.read_export(out, "json", "ratings")
    assert len(back) == 8 and set(back["model"]) == {"drums_rnn", "music_vae"}
    code, markdown, _ = db_cli("study", "table1", "tiny", "--markdown", "--resamples", RESAMPLES)
    data = load_study(db_engine, "tiny")
    table = export.study_table1(data, screened=False, n_resamples=int(RESAMPLES))
    assert code == 0 and markdown.strip() == export.table1_markdown(table).strip()


@sqlite_only
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("study", "table1", "nope"), "no study called 'nope'"),
        (("study", "export", "nope", "--out", "x.csv"), "no study called 'nope'"),
        (("study", "table1", "empty"), "study 'empty' has no ratings yet"),
        (("study", "export", "empty", "--out", "x.csv"), "study 'empty' has no ratings yet"),
        (("study", "export", "empty", "--format", "xlsx", "--out", "x"), "unknown export format"),
        (("study", "export", "empty", "--table", "clips", "--out", "x"), "unknown table 'clips'"),
        (("study", "table1", "empty", "--markdown", "--latex"), "choose one of --markdown"),
        (("study", "table1", "empty", "--resamples", "0"), "--resamples must be at least 1"),
    ],
)
def test_bad_requests_are_one_line_with_exit_code_2(db_cli, db_engine, tmp_path, argv, message):
    make_study(db_engine, slug="empty")
    code, _, err = db_cli(*argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


@sqlite_only
def test_compare_tests_any_contrast_and_table1_goes_by_condition(db_cli, seeded):
    conditions = export.study_conditions(seeded)
    own = [level for level in conditions if level not in ("reference", "anchor")]
    pair = f"{own[0]}:{own[-1]}"
    code, out, _ = db_cli("study", "compare", "simulated", "--contrast", pair)
    assert code == 0, out
    expected = export.study_contrasts(seeded, contrasts=[(own[0], own[-1])])
    assert "5 tests, Holm over all" in out and len(expected) == 5
    assert f"{expected['p_holm'].iloc[0]:.3g}" in out
    code, out, _ = db_cli("study", "compare", "simulated")
    pairs = len(own) * (len(own) - 1) // 2
    assert code == 0 and f"{pairs * 5} tests, Holm over all" in out
    code, _, err = db_cli("study", "compare", "simulated", "--contrast", "drums_rnn")
    assert code == 2 and "--contrast" in err and "A:B" in err
    code, _, err = db_cli("study", "compare", "simulated", "--contrast", f"{own[0]}:nope")
    assert code == 2 and "no ratings of 'nope'" in err
    code, markdown, _ = db_cli(
        "study", "table1", "simulated", "--by-condition", "--markdown", "--resamples", RESAMPLES
    )
    table = export.study_table1(
        seeded, screened=False, by_condition=True, n_resamples=int(RESAMPLES)
    )
    assert code == 0 and markdown.strip() == export.table1_markdown(table).strip()
    first_drums_rnn = next(level for level in own if level.startswith("drums_rnn/"))
    assert table.loc["realism", (first_drums_rnn, "thesis")] == "+"
