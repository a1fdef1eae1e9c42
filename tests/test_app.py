"""The Streamlit pages through streamlit.testing (no browser)."""

import pytest
from streamlit.testing.v1 import AppTest

from drumeval.generate import list_shipped_checkpoints
from tests.conftest import REPO_ROOT

TIMEOUT_S = 120


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / name), default_timeout=TIMEOUT_S)


def test_app_entry_point_runs_the_about_page():
    app = _page("app.py").run()
    assert not app.exception
    assert app.title[0].value == "drumeval"
    assert "Genre discrimination" in app.dataframe[0].value["criterion"].tolist()


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


@pytest.mark.skipif(not list_shipped_checkpoints("drums_rnn"), reason="no shipped DrumsRNN yet")
def test_generate_page_generates_renders_and_draws():
    app = _page("pages/generate.py").run()
    assert not app.exception
    app.radio[0].set_value("drums_rnn")
    app.radio[1].set_value("techno-house")
    app.slider[1].set_value(8)  # bars: keep the render short
    app.button[0].click().run()
    assert not app.exception
    assert not app.error
    assert len(app.get("imgs")) >= 2 or len(app.get("image")) >= 2
