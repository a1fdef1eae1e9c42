"""The Results page through streamlit.testing: behind the admin password, the simulated demo
when there is no study, and on a seeded simulated study and a flow-driven one the same
numbers as `drumeval study table1` and the same bytes as `drumeval study export`."""

import itertools

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from drumeval.analysis import export, format_table1, participants_needed, simulate_study
from drumeval.analysis.from_db import filter_tables, load_study
from drumeval.analysis.table1 import rebuild_table1
from drumeval.cli import main
from tests.factories import drive_flow, make_study, write_simulated_study
from tests.ui.apptest import results_login

sqlite_only = pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """The bytes behind every download button, by media file id (and `name:<id>`, the file
    name the browser saves it under)."""
    stored: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        stored[file_id] = path_or_data
        stored[f"name:{file_id}"] = filename
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return stored


def _texts(app: AppTest) -> str:
    kinds = ("title", "markdown", "caption", "info", "error", "success", "warning", "subheader")
    return "\n".join(str(element.value) for kind in kinds for element in getattr(app, kind))


def _frame_with(app: AppTest, column: str):
    """The first dataframe on the page with `column` (dataframes carry no key in AppTest)."""
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def _shown_table1(app: AppTest):
    return _frame_with(app, "DrumsRNN (thesis)")


def _cli(capsys, *argv: str) -> str:
    try:
        main(list(argv))
    except SystemExit as exit_:
        assert not exit_.code, capsys.readouterr().err
    return capsys.readouterr().out


@sqlite_only
def test_a_wrong_password_shows_no_results(results_env):
    write_simulated_study(results_env, simulate_study(4, 1, seed=1))
    app = results_login("guess")
    assert "Wrong password." in _texts(app)
    assert not app.dataframe and not app.tabs and not app.selectbox
    assert "Table 1" not in _texts(app)


@sqlite_only
def test_without_a_study_the_page_shows_the_labelled_simulated_demo(results_env):
    app = results_login()
    assert app.selectbox(key="results:study").value == "simulated-demo"
    assert "Simulated demo results" in _texts(app) and "not real listeners" in _texts(app)
    demo = simulate_study(24, 2, seed=2024, careless_share=0.15)
    expected = format_table1(rebuild_table1(demo.ratings, demo.genre_answers, 0))
    assert _shown_table1(app).equals(expected)
    assert [tab.label for tab in app.tabs][:3] == ["Table 1", "Charts", "Genre"]
    assert len(app.get("vega_lite_chart")) == 4  # means, accuracy, distributions, curves
    assert _frame_with(app, "n_tracks")["model"].str.contains("corpus").any()
    tests = _frame_with(app, "p_holm")
    assert len(tests) == 5 and set(tests["test"]) == {"wilcoxon"}  # everyone heard both
    needed = next(metric for metric in app.metric if metric.label == "Participants needed")
    assert needed.value == str(participants_needed(0.5, 0.8, 0.05, "paired"))


@sqlite_only
def test_a_seeded_study_agrees_with_the_cli_and_the_exports(
    results_env, capsys, downloads, tmp_path
):
    write_simulated_study(results_env, simulate_study(8, 1, seed=8, careless_share=0.3))
    data = load_study(results_env, "simulated")
    app = results_login()
    assert app.selectbox(key="results:study").value == "simulated"  # the newest study
    assert "Simulated demo results" not in _texts(app)
    cli_markdown = _cli(capsys, "study", "table1", "simulated", "--markdown")
    assert _shown_table1(app).to_markdown().strip() == cli_markdown.strip()
    app.toggle(key="results:screened").set_value(True).run()
    screened = _cli(capsys, "study", "table1", "simulated", "--markdown", "--screened")
    assert _shown_table1(app).to_markdown().strip() == screened.strip() != cli_markdown.strip()
    flagged = data.screening()["flagged"].sum()
    assert f"post-screening flags {flagged} of 8 participants" in _texts(app)
    for table in ("ratings", "summary"):
        app.radio(key="results:export:table").set_value(table).run()
        exports = [b for b in app.download_button if b.label.lower() in export.EXPORT_FORMATS]
        assert len(exports) == len(export.EXPORT_FORMATS)
        for button in exports:
            fmt = button.label.lower()
            out = tmp_path / f"{table}.{fmt}"
            _cli(capsys, "study", "export", "simulated", "--table", table, "--format", fmt,
                 "--out", str(out))  # fmt: skip
            file_id = button.proto.url.rsplit("/", 1)[1].split(".")[0]
            assert downloads[file_id] == out.read_bytes(), (table, fmt)


@sqlite_only
def test_filters_change_the_analysed_ratings(results_env, capsys, downloads):
    write_simulated_study(results_env, simulate_study(6, 1, seed=3))
    data = load_study(results_env, "simulated")
    app = results_login()
    app.multiselect(key="results:genres").set_value(["jazz-soul"]).run()
    kept = filter_tables(data.tables, genres=("jazz-soul",))
    expected = format_table1(rebuild_table1(kept.ratings, kept.genre_answers, 0))
    assert _shown_table1(app).equals(expected)
    app.multiselect(key="results:sizes").set_value([1500]).run()
    app.toggle(key="results:screened").set_value(True).run()
    kept = filter_tables(data.analysed(screened=True), genres=("jazz-soul",), corpus_sizes=(1500,))
    expected = format_table1(rebuild_table1(kept.ratings, kept.genre_answers, 0))
    assert _shown_table1(app).equals(expected)
    # Table 1 as shown downloads with the filters in its name, and the CLI prints the same
    command = "drumeval study table1 simulated --genre jazz-soul --corpus-size 1500 --screened"
    assert f"`{command}`" in _texts(app)
    shown = {b.label: b for b in app.download_button if b.label in ("Markdown", "LaTeX")}
    for label, flag in (("Markdown", "--markdown"), ("LaTeX", "--latex")):
        file_id = shown[label].proto.url.rsplit("/", 1)[1].split(".")[0]
        suffix = "md" if flag == "--markdown" else "tex"
        assert downloads[f"name:{file_id}"] == f"simulated-table1-screened-jazz-soul-1500.{suffix}"
        printed = _cli(capsys, *command.split()[1:], flag)
        assert downloads[file_id].decode().strip() == printed.strip()


@sqlite_only
def test_comments_follow_the_filters(results_env):
    drive_flow(results_env, listeners=2)
    app = results_login()
    comments = _frame_with(app, "comment")
    assert set(comments["genre"]) == {"techno-house", "jazz-soul"}
    app.multiselect(key="results:genres").set_value(["jazz-soul"]).run()
    assert set(_frame_with(app, "comment")["genre"]) == {"jazz-soul"}


@sqlite_only
def test_flow_ratings_agree_and_comments_stay_plain_text(results_env, capsys):
    drive_flow(results_env, listeners=2)
    app = results_login()
    assert app.selectbox(key="results:study").value == "tiny"
    cli_markdown = _cli(capsys, "study", "table1", "tiny", "--markdown")
    assert _shown_table1(app).to_markdown().strip() == cli_markdown.strip()
    comments = _frame_with(app, "comment")["comment"]
    assert comments.str.startswith('**bold**, "quoted"\n<b>listener').all()
    assert "<b>listener" not in _texts(app) and "listener 0" not in _texts(app)


@sqlite_only
def test_an_unrated_study_says_so(results_env):
    make_study(results_env, slug="empty")
    app = results_login()
    assert app.selectbox(key="results:study").value == "empty"
    assert "study 'empty' has no ratings yet" in _texts(app)
    assert not app.tabs


@sqlite_only
def test_every_filter_on_a_small_study_shows_a_message_not_a_traceback(results_env):
    drive_flow(results_env, listeners=2)  # every filter leaves one listener or nothing
    app = results_login()
    for genres, sizes, screened in itertools.product(
        (["jazz-soul"], ["techno-house"]), ([700], [1500], [700, 1500]), (False, True)
    ):
        app.multiselect(key="results:genres").set_value(genres)
        app.multiselect(key="results:sizes").set_value(sizes)
        app.toggle(key="results:screened").set_value(screened).run()
        assert not app.exception, (genres, sizes, screened)
        assert app.info or app.dataframe


@sqlite_only
def test_corpus_sizes_show_as_whole_numbers(results_env):
    """Corpus sizes are counts of examples: "700", never "700.0" (pandas' float columns)."""
    write_simulated_study(results_env, simulate_study(8, 1, seed=8))
    app = results_login()
    shown = [_texts(app)]
    for frame in app.dataframe:
        value = frame.value
        shown += [value.to_string(), repr(list(value.columns)), repr(list(value.index))]
    shown += [str(option) for box in app.multiselect for option in box.options]
    assert "700" in "\n".join(shown)
    assert not [text for text in shown if "700.0" in text or "1500.0" in text]


@sqlite_only
def test_any_two_conditions_and_table1_per_condition(results_env):
    write_simulated_study(results_env, simulate_study(6, 1, seed=3))
    data = load_study(results_env, "simulated")
    app = results_login()
    assert "Any two conditions" in _texts(app)
    frames = [f.value for f in app.dataframe if "level_a" in f.value.columns]
    shown = frames[-1]  # after DrumsRNN vs MusicVAE and the corpus sizes
    expected = export.study_contrasts(data)  # every pair of the study's conditions
    assert len(shown) == len(expected) and shown["p_holm"].tolist() == pytest.approx(
        expected["p_holm"].tolist(), nan_ok=True
    )
    pair = "drums_rnn/jazz-soul-700 : music_vae/jazz-soul-700"
    app.multiselect(key="results:contrasts").set_value([pair]).run()
    shown = [f.value for f in app.dataframe if "level_a" in f.value.columns][-1]
    assert set(shown["level_b"]) == {"music_vae/jazz-soul-700"} and len(shown) == 5
    assert "--contrast 'drums_rnn/jazz-soul-700:music_vae/jazz-soul-700'" in _texts(app)
    app.toggle(key="results:by-condition").set_value(True).run()
    table = _frame_with(app, "drums_rnn/jazz-soul-700 (thesis)")
    columns = list(table.columns)
    assert columns.index("drums_rnn/jazz-soul-700 (thesis)") == (
        columns.index("drums_rnn/jazz-soul-700 (study)") + 1
    )
