"""The Streamlit pages through streamlit.testing (no browser)."""

import re

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

TIMEOUT_S = 120


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / name), default_timeout=TIMEOUT_S)


def test_app_entry_point_runs_the_about_page():
    app = _page("app.py").run()
    assert not app.exception
    assert app.title[0].value == "drumeval"
    assert "Genre discrimination" in app.dataframe[0].value["criterion"].tolist()


def test_about_page_shows_the_thesis_verdict_beside_the_measured_one():
    app = _page("app.py").run()
    text = " ".join(block.value for block in [*app.markdown, *app.caption])
    assert "blind listening studies" in text
    assert "soon" not in text and "milestone" not in text  # the study exists
    measured = app.dataframe[1].value
    assert {"short_term_phrasing", "realism"} <= set(measured.columns)
    models = set(measured["model"])
    assert {"drums_rnn/thesis", "music_vae/thesis-longbar", "corpus"} <= models
    assert measured["originality"].between(0, 1).all()


def test_corpora_page_shows_statistics_for_every_corpus():
    app = _page("pages/corpora.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert set(table.index) == {
        "techno-house-700",
        "techno-house-1500",
        "jazz-soul-700",
        "jazz-soul-1500",
    }
    assert table.loc["techno-house-700", "kick on beat"] > 0.8
    assert table.loc["jazz-soul-700", "kick on beat"] < 0.5
    assert table.loc["jazz-soul-1500", "examples"] == 1500


def test_corpora_page_draws_the_chosen_example():
    app = _page("pages/corpora.py").run()
    app.selectbox[0].set_value("jazz-soul-700").run()
    app.number_input[0].set_value(3).run()
    assert not app.exception
    assert len(app.get("image")) == 2


MODEL_OR_DATA_IMPORT = re.compile(
    r"^\s*(from|import)\s+(drumeval\.(data|models|generate)\b|keras|jax|tensorflow|note_seq)",
    re.MULTILINE,
)


def test_pages_and_ui_import_no_model_or_corpus_code():
    """Views call the library (clips, registry, plots); model and corpus code stay behind it."""
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {match.group(0).strip()}"
        for folder in ("pages", "ui")
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        for match in MODEL_OR_DATA_IMPORT.finditer(path.read_text())
    ]
    assert offenders == []
