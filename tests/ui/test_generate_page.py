"""The Generate page through streamlit.testing: permalinks, downloads, bad seeds, limits."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from drumeval import clips
from tests.conftest import REPO_ROOT
from ui import generate_view

TIMEOUT_S = 180
LINK = {"model": "drums_rnn", "preset": "thesis", "genre": "techno-house", "size": "700",
        "temperature": "1", "bars": "8", "seed": "21"}  # fmt: skip


@pytest.fixture(autouse=True)
def private_data_home(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path_factory.getbasetemp() / "home"))


def _page(query: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "generate.py"), default_timeout=TIMEOUT_S)
    app.query_params.update(query or {})
    return app.run()


def _audio_count(app: AppTest) -> int:
    return len(app.get("audio"))


def _shown_metrics(app: AppTest) -> dict[str, float]:
    table = app.table[0].value
    return {name: float(value) for name, value in table["this track"].items()}


def _errors(app: AppTest) -> list[str]:
    return [element.value for element in app.error]


def test_a_permalink_plays_the_same_track_in_a_new_session():
    first = _page(LINK)
    assert not first.exception and not _errors(first)
    assert _audio_count(first) == 1
    assert len(first.get("image")) == 2  # the phrase grid and the density plot
    described = [m.value for m in first.markdown if m.value.startswith("Made by")]
    assert described == [
        "Made by **DrumsRNN** (LSTM with attention, one 16th-note step at a time; preset "
        "`thesis`), trained on the **techno / house** corpus of 700 examples. Seed **21**, "
        "temperature **1**, 8 bars at 120 BPM (0:16), played on the TR-808 kit at -23 LUFS."
    ]
    reloaded = _page(LINK)  # a reload or a shared link is a new session
    assert _shown_metrics(reloaded) == _shown_metrics(first)
    expected = clips.make_clip(clips.Condition.from_query(LINK)).metrics
    assert _shown_metrics(first) == {name: round(value, 2) for name, value in expected.items()}
    assert reloaded.text_input(key="generate_seed").value == "21"  # widgets follow the link
    reference = first.table[0].value["training data (techno-house-700)"].astype(float)
    assert reference["kick on the beat"] > 0.8


def test_downloading_keeps_the_result():
    app = _page(LINK)
    labels = [button.label for button in app.download_button]
    assert labels[0] == "Download MIDI" and labels[1].startswith("Download audio")
    before = _shown_metrics(app)
    app.download_button[0].click().run()
    assert not app.exception
    assert _audio_count(app) == 1 and _shown_metrics(app) == before
    app.download_button[1].click().run()
    assert _audio_count(app) == 1 and _shown_metrics(app) == before


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("-5", "between 0 and 2,147,483,647; got -5"),
        ("2147483648", "got 2,147,483,648"),
        ("1.5", "1.5 has decimals"),
        ("twelve", "a whole number such as 42"),
    ],
)
def test_an_invalid_seed_is_explained_and_nothing_is_generated(typed, reason):
    app = _page()
    app.text_input(key="generate_seed").set_value(typed).run()  # Enter: explained, no track
    assert any(reason in message for message in _errors(app))
    assert _audio_count(app) == 0 and "seed" not in app.query_params
    [generate] = [button for button in app.button if button.label == "Generate"]
    generate.click().run()
    assert any(reason in message for message in _errors(app))
    assert _audio_count(app) == 0 and "seed" not in app.query_params


def test_a_link_with_a_bad_seed_shows_it_at_the_field():
    app = _page({**LINK, "seed": "-5"})
    assert app.text_input(key="generate_seed").value == "-5"
    assert any("got -5" in message for message in _errors(app))
    assert _audio_count(app) == 0


def test_pressing_generate_puts_the_track_in_the_url():
    app = _page()
    assert _audio_count(app) == 0
    app.slider(key="generate_bars").set_value(8)
    app.text_input(key="generate_seed").set_value("21")
    [generate] = [button for button in app.button if button.label == "Generate"]
    generate.click().run()
    assert not app.exception and _audio_count(app) == 1
    assert {key: app.query_params[key] for key in LINK} == LINK


def test_an_empty_generation_is_explained_as_a_generated_clip(monkeypatch):
    monkeypatch.setattr(
        clips, "sample_event_ids", lambda condition: (np.zeros(condition.bars * 16, np.int32), {})
    )
    app = _page({**LINK, "seed": "987654"})
    assert not app.exception
    [warning] = [w.value for w in app.warning]
    assert "no drum hit at all** in these 8 bars" in warning and "another seed" in warning
    assert "channel 10" not in warning and _audio_count(app) == 0
    assert [button.label for button in app.download_button] == ["Download MIDI"]


def test_the_session_limit_stops_new_tracks_with_a_friendly_message():
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "generate.py"), default_timeout=TIMEOUT_S)
    app.session_state[generate_view.MADE_KEY] = [f"seen-{n}" for n in range(30)]
    app.query_params.update({**LINK, "seed": "31"})
    app.run()
    assert _audio_count(app) == 0
    assert any("made 30 tracks in this session" in info.value for info in app.info)


def test_musicvae_blends_two_seeds_into_a_third_track():
    link = {**LINK, "model": "music_vae", "preset": "thesis-longbar", "seed": "3"}
    app = _page(link)
    assert _audio_count(app) == 1
    app.text_input(key="generate_to_seed").set_value("4")
    [blend] = [button for button in app.button if button.label == "Blend"]
    blend.click().run()
    assert not app.exception and not _errors(app)
    assert app.query_params["to_seed"] == "4" and app.query_params["mix"] == "0.5"
    assert _audio_count(app) == 2
    assert any(m.value.startswith("**Blend**: 50% of the way from seed 3") for m in app.markdown)
    assert len(app.download_button) == 4


def test_a_link_to_an_unshipped_model_says_so():
    app = _page({**LINK, "model": "music_vae", "preset": "hier-60bar", "genre": "jazz-soul"})
    assert not app.exception and _audio_count(app) == 0
    assert any(
        "No MusicVAE (hier-60bar) checkpoint is shipped for the jazz / soul corpus of 700"
        in w.value
        for w in app.warning
    )


def test_a_structured_link_without_a_form_shows_the_form_it_plays():
    link = {**LINK, "model": "structured", "preset": "thesis-form", "bars": "12"}
    app = _page(link)
    assert not app.exception and _audio_count(app) == 1
    assert app.text_input(key="generate_form").value == "intro:8 build:4"
    assert not any("You changed the settings" in caption.value for caption in app.caption)


def test_the_structured_model_plays_an_edited_form_with_its_sections_on_the_grid():
    app = _page()
    app.radio(key="generate_model").set_value("structured").run()
    peak_time = "intro:8 build:8 drop:16 breakdown:8 build:4 drop:12 outro:4"
    assert app.selectbox(key="generate_form_preset").value == "peak-time"
    assert app.text_input(key="generate_form").value == peak_time
    app.selectbox(key="generate_form_preset").set_value("corpus-common").run()
    assert app.text_input(key="generate_form").value.endswith("drop:8 outro:8")
    app.text_input(key="generate_form").set_value("intro:four").run()
    [generate] = [button for button in app.button if button.label == "Generate"]
    generate.click().run()
    assert any("token 'intro:four' is not label:bars" in error for error in _errors(app))
    assert _audio_count(app) == 0
    app.text_input(key="generate_form").set_value("intro:4 break:4").run()
    assert app.selectbox(key="generate_form_preset").value == generate_view.CUSTOM_FORM
    app.text_input(key="generate_seed").set_value("5")
    [generate] = [button for button in app.button if button.label == "Generate"]
    generate.click().run()
    assert not app.exception and not _errors(app) and _audio_count(app) == 1
    assert app.query_params["form"] == "intro:4 breakdown:4" and app.query_params["bars"] == "8"
    assert any("Song form `intro:4 breakdown:4`" in m.value for m in app.markdown)
