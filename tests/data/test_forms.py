"""Song forms: parsing, bar bookkeeping, presets, corpus forms and the per-step control inputs."""

import json

import numpy as np
import pytest

from drumeval.data.corpus import Examples, load_corpus, write_corpus
from drumeval.data.forms import (
    CONTROL_FEATURES,
    DEFAULT_SECTION_DENSITY,
    FORM_PRESETS,
    SECTION_LABELS,
    Section,
    SongForm,
    control_feature_names,
    control_features,
    example_forms,
    forms_from_corpus,
    labelled_form,
    parse_form,
    phrase_form,
    preset_form,
    repeat_source_steps,
)
from drumeval.errors import DatasetError, ParameterError

ISSUE_FORM = "intro:8 build:8 drop:16 break:8 build:4 drop:12 outro:4"


def test_parse_form_reads_the_issue_example_with_break_as_breakdown() -> None:
    form = parse_form(ISSUE_FORM)
    assert [s.label for s in form.sections] == [
        "intro", "build", "drop", "breakdown", "build", "drop", "outro",
    ]  # fmt: skip
    assert form.total_bars == 60
    assert form.boundary_bars() == (8, 16, 32, 40, 44, 56)
    assert form.start_bars() == (0, 8, 16, 32, 40, 44, 56)


def test_to_text_round_trips_and_accepts_commas_and_case() -> None:
    form = parse_form(" Intro:4,  DROP:8\tOutro:4 ")
    assert form.to_text() == "intro:4 drop:8 outro:4"
    assert parse_form(form.to_text()) == form


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("intro:8 drop", "'drop' is not label:bars"),
        ("intro:8 drop:x", "'drop:x'"),
        ("intro:0", "bars > 0, got 0"),
        ("intro:-4", "bars > 0, got -4"),
        ("chorus:8", "unknown section label 'chorus'"),
    ],
)
def test_parse_form_rejects_bad_forms_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(ParameterError, match=r"^form ") as error:
        parse_form(text)
    assert fragment in str(error.value)
    assert error.value.parameter == "form"


def test_section_and_form_validate_when_built_directly() -> None:
    with pytest.raises(ParameterError, match="at least one section"):
        SongForm(())
    with pytest.raises(ParameterError, match="bars > 0"):
        Section("drop", True)


def test_section_index_and_labels_per_bar() -> None:
    form = parse_form("intro:2 drop:3 outro:1")
    assert form.labels_per_bar() == ("intro", "intro", "drop", "drop", "drop", "outro")
    assert [form.section_index_of_bar(bar) for bar in range(6)] == [0, 0, 1, 1, 1, 2]
    with pytest.raises(ParameterError, match=r"bar must be in \[0, 6\), got 6"):
        form.section_index_of_bar(6)


def test_previous_same_label_finds_the_latest_earlier_repeat() -> None:
    form = parse_form("drop:4 build:2 drop:4 drop:2")
    assert [form.previous_same_label(i) for i in range(4)] == [None, None, 0, 2]


def test_every_preset_is_sixty_bars_and_a_known_genre() -> None:
    assert set(FORM_PRESETS) == {"techno-house", "jazz-soul"}
    for presets in FORM_PRESETS.values():
        assert len(presets) >= 2
        for form in presets.values():
            assert form.total_bars == 60
    assert preset_form("techno-house", "peak-time") == parse_form(ISSUE_FORM)
    assert {s.label for s in preset_form("jazz-soul", "head-solo-head").sections} >= {
        "head",
        "solo",
    }
    with pytest.raises(ParameterError, match="form preset must be one of peak-time"):
        preset_form("techno-house", "nope")
    with pytest.raises(ParameterError, match="genre must be one of"):
        preset_form("polka", "peak-time")


def test_phrase_form_counts_phrases_from_the_source_start() -> None:
    assert phrase_form(0, 20).to_text() == "phrase:8 phrase:8 phrase:4"
    assert phrase_form(5, 12).to_text() == "phrase:3 phrase:8 phrase:1"
    assert phrase_form(8, 8).to_text() == "phrase:8"


def _tiny_corpus(tmp_path, *, with_sections: bool):
    """Three 8-bar examples: two windows of source 0 and one of source 1."""
    examples = Examples(
        event_ids=np.zeros((3, 960), dtype=np.int32),
        lengths=np.array([128, 64, 128]),
        is_eval=np.array([False, False, True]),
        source_index=np.array([0, 0, 1]),
        start_bar=np.array([0, 4, 0]),
        qpm=np.full(3, 120.0),
    )
    sections = (
        [
            {
                "sections": [
                    {"name": "intro", "start_bar": 0, "num_bars": 6},
                    {"name": "drop", "start_bar": 6, "num_bars": 6},
                ]
            },
            {"sections": [{"name": "build", "start_bar": 0, "num_bars": 8}]},
        ]
        if with_sections
        else None
    )
    return write_corpus(
        tmp_path / "tiny",
        name="tiny",
        genre="techno-house",
        examples=examples,
        sources=["a", "b"],
        build={},
        provenance={},
        sections=sections,
    )


def test_forms_from_corpus_cuts_labelled_sections_to_each_window(tmp_path) -> None:
    forms = forms_from_corpus(_tiny_corpus(tmp_path, with_sections=True))
    assert [form.to_text() for form in forms] == ["intro:6 drop:2", "intro:2 drop:2", "build:8"]


def test_forms_from_corpus_without_labels_gives_phrase_positions(tmp_path) -> None:
    forms = forms_from_corpus(_tiny_corpus(tmp_path, with_sections=False))
    assert [form.to_text() for form in forms] == ["phrase:8", "phrase:4", "phrase:8"]


def test_example_forms_rejects_sections_with_a_gap(tmp_path) -> None:
    corpus = load_corpus(_tiny_corpus(tmp_path, with_sections=True))
    gap = [{"sections": [{"name": "intro", "start_bar": 0, "num_bars": 2}]}] * 2
    with pytest.raises(DatasetError, match="do not cover bars 0–8"):
        example_forms(corpus, gap)


def test_shipped_techno_house_forms_match_sections_json() -> None:
    from drumeval.paths import corpora_dir

    directory = corpora_dir() / "techno-house-700"
    forms = forms_from_corpus(directory)
    arrangements = json.loads((directory / "sections.json").read_text())
    assert len(forms) == 700
    assert all(form.total_bars == 60 for form in forms)
    first = [f"{s['name']}:{s['num_bars']}" for s in arrangements[0]["sections"]]
    assert forms[0].to_text() == " ".join(first)


def test_control_features_columns_on_a_tiny_form() -> None:
    form = parse_form("intro:1 drop:2 drop:1")
    features = control_features(form, densities={"intro": 0.25, "drop": 0.75})
    names = control_feature_names()
    assert features.shape == (64, CONTROL_FEATURES) == (64, len(names)) == (64, 32)
    assert features.dtype == np.float32
    column = {name: features[:, i] for i, name in enumerate(names)}
    # One-hot step in bar.
    assert np.array_equal(features[:, :16].argmax(axis=1), np.arange(64) % 16)
    assert np.array_equal(features[:, :16].sum(axis=1), np.ones(64))
    # Phrase position counts from the section start: bar 2 is the drop's second bar.
    assert column["position_in_4_bar_phrase"][32] == pytest.approx(16 / 64)
    assert column["position_in_4_bar_phrase"][16] == 0.0
    # Labels.
    drop = SECTION_LABELS.index("drop")
    assert features[:16, 16 + 3 + SECTION_LABELS.index("intro")].all()
    assert features[16:, 16 + 3 + drop].all()
    # Bars to the next boundary, in 16-bar units: 1 bar before the first change at step 0.
    assert column["bars_to_next_boundary"][0] == pytest.approx(1 / 16)
    assert column["bars_to_next_boundary"][16] == pytest.approx(2 / 16)
    assert column["section_progress"][32] == pytest.approx(0.5)
    assert np.array_equal(column["target_density"], np.repeat([0.25, 0.75], [16, 48]))
    # The last drop repeats the one before it.
    assert np.array_equal(column["is_repeat"], np.repeat([0.0, 1.0], [48, 16]))


def test_control_features_need_a_density_per_label() -> None:
    with pytest.raises(ParameterError, match="densities has no target density for drop"):
        control_features(parse_form("intro:1 drop:1"), densities={"intro": 0.5})
    assert set(DEFAULT_SECTION_DENSITY) == set(SECTION_LABELS)


def test_bars_to_next_boundary_is_capped_at_one() -> None:
    features = control_features(parse_form("drop:20"))
    to_boundary = features[:, control_feature_names().index("bars_to_next_boundary")]
    assert to_boundary[0] == 1.0
    assert to_boundary[-1] == pytest.approx(1 / (16 * 16))


def test_repeat_source_steps_points_into_the_earlier_same_label_section() -> None:
    form = parse_form("drop:2 build:1 drop:1 drop:3")
    source = repeat_source_steps(form, steps_per_bar=4)
    assert source[:12].tolist() == [-1] * 12  # first drop, build
    assert source[12:16].tolist() == [0, 1, 2, 3]  # second drop recalls bar 0
    # The third drop recalls the 1-bar second drop; its other bars have no source.
    assert source[16:28].tolist() == [12, 13, 14, 15] + [-1] * 8


def _block_similarity(materials: str) -> np.ndarray:
    """Bar self-similarity of bars playing `materials` (one letter per bar): 0.6 between bars
    of one material (varied playing), 0.2 across materials, 1 on the diagonal."""
    letters = np.array(list(materials))
    similarity = np.where(letters[:, None] == letters[None, :], 0.6, 0.2)
    np.fill_diagonal(similarity, 1.0)
    return similarity


def test_labelled_form_names_detected_segments_by_their_material() -> None:
    # A A B A (4 bars each): every detected change stays a boundary; A is head, B solo
    form = labelled_form([4, 8, 12], _block_similarity("AAAAAAAABBBBAAAA"))
    assert form.to_text() == "head:4 head:4 solo:4 head:4"
    assert repeat_source_steps(form)[12 * 16] == 4 * 16  # the last head recalls the second
    # further material is trade; a pickup bar and a final hit are intro and outro
    form = labelled_form([1, 5, 9, 13, 17], _block_similarity("XAAAABBBBCCCCAAAAY"))
    assert form.to_text() == "intro:1 head:4 solo:4 trade:4 head:4 outro:1"
    # nothing detected: one section; a share above 1 never recalls
    assert labelled_form([], _block_similarity("AAAA")).to_text() == "head:4"
    strict = labelled_form([3], _block_similarity("AAAAAA"), recall_share=2.0)
    assert strict.to_text() == "head:3 solo:3"
    assert labelled_form([2], _block_similarity("AAAA")).to_text() == "head:2 head:2"


def test_labelled_form_rejects_boundaries_outside_the_track() -> None:
    with pytest.raises(ParameterError, match=r"boundaries must increase strictly inside \(0, 4\)"):
        labelled_form([2, 2], _block_similarity("AAAA"))
    with pytest.raises(ParameterError, match="boundaries"):
        labelled_form([4], _block_similarity("AAAA"))
    with pytest.raises(ParameterError, match="similarity must be a non-empty square matrix"):
        labelled_form([], np.ones((3, 4)))
