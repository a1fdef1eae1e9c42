"""The clip pipeline: condition validation and permalinks, make_clip, clip_from_midi."""

import numpy as np
import pytest

from drumeval import clips
from drumeval.errors import DatasetError, InvalidMidiError

BARS = 8


def _condition(**changes) -> clips.Condition:
    fields = {"model": "drums_rnn", "preset": "thesis", "genre": "techno-house",
              "corpus_size": 700, "temperature": 1.0, "bars": BARS, "seed": 5}  # fmt: skip
    return clips.Condition(**{**fields, **changes})


@pytest.mark.parametrize(
    ("seed", "reason"),
    [
        (-5, "between 0 and 2,147,483,647; got -5"),
        (2**31, "got 2,147,483,648"),
        (1.5, "1.5 has decimals"),
        ("1.5", "1.5 has decimals"),
        ("abc", "a whole number such as 42, not 'abc'"),
        ("", "enter a seed"),
        (True, "not true/false"),
    ],
)
def test_bad_seeds_are_refused_with_the_reason(seed, reason):
    with pytest.raises(clips.ConditionError, match=reason) as error:
        _condition(seed=seed)
    assert error.value.field == "seed"


def test_good_seeds_are_accepted_as_typed():
    assert _condition(seed=" 42 ").seed == 42
    assert _condition(seed=2**31 - 1).seed == 2**31 - 1
    assert _condition(seed=7.0).seed == 7  # a whole float is no truncation


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"temperature": 0.05}, "temperature", "between 0.1 and 2.0"),
        ({"temperature": "hot"}, "temperature", "a number"),
        ({"temperature": float("nan")}, "temperature", "a number"),
        ({"bars": 6}, "bars", "steps of 4"),
        ({"bars": 64}, "bars", "4…60"),
        ({"bars": "many"}, "bars", "whole number of bars"),
        ({"corpus_size": 900}, "size", "700 or 1500"),
        ({"model": "wavenet"}, "model", "unknown model"),
        ({"preset": "hier-60bar"}, "preset", "DrumsRNN has no preset 'hier-60bar'"),
        ({"genre": "polka"}, "genre", "unknown genre"),
    ],
)
def test_other_fields_are_checked_and_named(changes, field, reason):
    with pytest.raises(clips.ConditionError, match=reason) as error:
        _condition(**changes)
    assert error.value.field == field


def test_query_round_trip_and_defaults():
    condition = _condition(model="music_vae", preset="hier-60bar", genre="jazz-soul",
                           corpus_size=1500, temperature=0.85, seed=123)  # fmt: skip
    query = condition.to_query()
    assert query == {"model": "music_vae", "preset": "hier-60bar", "genre": "jazz-soul",
                     "size": "1500", "temperature": "0.85", "bars": "8", "seed": "123"}  # fmt: skip
    assert clips.Condition.from_query(query) == condition
    # a link naming only the model gets that model's default preset
    assert clips.Condition.from_query({"model": "music_vae"}).preset == "thesis-longbar"
    assert clips.Condition.from_query({}) == clips.DEFAULT_CONDITION
    # slider float noise does not leak into links
    assert _condition(temperature=0.15000000000000002).to_query()["temperature"] == "0.15"


def test_interpolation_needs_a_whole_track_musicvae():
    start = _condition(model="music_vae", preset="thesis-longbar")
    blend = clips.Interpolation(start, "9", 0.43)
    assert (blend.end.seed, blend.mix) == (9, 0.4)  # mix snaps to the decoded tenths
    assert clips.Interpolation.from_query(blend.to_query()) == blend
    assert clips.Interpolation.from_query(start.to_query()) is None
    with pytest.raises(clips.ConditionError, match="only MusicVAE"):
        clips.Interpolation(_condition(), 9)
    two_bar = _condition(model="music_vae", preset="cat-drums_2bar_small", corpus_size=1500)
    with pytest.raises(clips.ConditionError, match="2-bar segments"):  # before any sampling
        clips.make_interpolated_clip(clips.Interpolation(two_bar, 9))
    with pytest.raises(clips.ConditionError, match="between 0 and 1"):
        clips.Interpolation(start, 9, 1.5)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The same condition made twice into separate caches (nothing shared but the model)."""
    stages = []
    first = clips.make_clip(
        _condition(),
        progress=lambda stage, done, total: stages.append((stage, done / total)),
        cache_dir=tmp_path_factory.mktemp("cache-a"),
    )
    second = clips.make_clip(_condition(), cache_dir=tmp_path_factory.mktemp("cache-b"))
    return first, second, stages


def test_make_clip_is_deterministic_and_complete(made):
    first, second, _ = made
    np.testing.assert_array_equal(first.event_ids, second.event_ids)
    assert first.midi_bytes == second.midi_bytes
    assert first.audio_bytes == second.audio_bytes  # rendered twice, byte for byte
    assert first.event_ids.shape == (BARS * 16,) and first.bars == BARS
    assert first.duration_s == pytest.approx(BARS * 2.0)
    assert first.loudness_lufs == pytest.approx(-23.0, abs=0.5)
    assert first.kit == "tr808" and first.provenance["kit"] == "tr808"
    assert first.provenance["seed"] == 5 and first.provenance["corpus"] == "techno-house-700"
    assert first.provenance["checkpoint_sha256"]
    assert set(first.metrics) == set(clips.METRIC_MEANINGS)
    assert first.metrics["hits per bar"] > 1 and not first.near_empty


def test_other_seed_gives_another_track(made, tmp_path):
    other = clips.make_clip(_condition(seed=6), cache_dir=tmp_path)
    assert not np.array_equal(other.event_ids, made[0].event_ids)


def test_progress_reports_each_stage_in_order(made):
    stages = [stage for stage, _ in made[2]]
    assert stages == [
        "Loading the model",
        "Sampling 8 bars",
        "Rendering audio",
        "Measuring",
        "Done",
    ]
    fractions = [fraction for _, fraction in made[2]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_a_silent_generation_is_a_clip_without_audio(monkeypatch, tmp_path):
    monkeypatch.setattr(
        clips, "sample_event_ids", lambda condition: (np.zeros(BARS * 16, np.int32), {})
    )
    clip = clips.make_clip(_condition(seed=77), cache_dir=tmp_path)
    assert clip.silent and clip.near_empty and clip.audio_bytes is None
    assert clip.metrics["empty bars"] == 1.0
    assert clip.midi_bytes.startswith(b"MThd")


def test_corpus_reference_has_every_metric_and_tells_the_genres_apart():
    techno = clips.corpus_reference("techno-house-700")
    jazz = clips.corpus_reference("jazz-soul-700")
    assert set(techno) == set(clips.METRIC_MEANINGS)
    assert techno["kick on the beat"] > 0.8 > 0.5 > jazz["kick on the beat"]
    assert 0 < jazz["new bars"] <= 1


def test_clip_from_midi_renders_the_file_in_the_genre_kit(made, tmp_path):
    clip = clips.clip_from_midi(
        made[0].midi_bytes, genre="jazz-soul", corpus="jazz-soul-700", cache_dir=tmp_path
    )
    np.testing.assert_array_equal(clip.event_ids, made[0].event_ids)
    assert clip.kit == "jazz" and clip.condition is None
    assert clip.provenance["source"] == "MIDI file"
    assert clip.duration_s == pytest.approx(BARS * 2.0, abs=0.01)
    assert "new bars" in clip.metrics
    with pytest.raises(InvalidMidiError):
        clips.clip_from_midi(b"not a midi file", genre="jazz-soul")
    with pytest.raises(clips.ConditionError, match="unknown genre"):
        clips.clip_from_midi(made[0].midi_bytes, genre="polka")


def test_corpus_overview_and_examples():
    overview = clips.corpus_overview("jazz-soul-700")
    assert (overview.examples, overview.train + overview.eval) == (700, 700)
    assert sum(overview.class_shares.values()) == pytest.approx(1.0)
    example = clips.corpus_example("jazz-soul-700", 0)
    assert example.ndim == 1 and len(example) % 16 == 0 and example.any()
    with pytest.raises(DatasetError, match="examples 0…699"):
        clips.corpus_example("jazz-soul-700", 700)


def test_a_form_identity_names_only_forms_other_than_the_default_and_is_stable():
    from drumeval.models.structured_steps import default_form

    structured = {"model": "structured", "preset": "thesis-form", "bars": 16}
    assert clips.form_identity(_condition()) == ""  # DrumsRNN plays no form
    assert clips.form_identity(_condition(**structured)) == ""
    spelled_out = default_form("techno-house", 16).to_text()
    assert clips.form_identity(_condition(**structured, form=spelled_out)) == ""
    custom = clips.form_identity(_condition(**structured, form="intro:4 drop:8 outro:4"))
    # Pinned: pool names of custom forms must not change from one version to the next.
    assert custom == "form-6c35f816"
    # Spelling (case, commas) does not matter; the form does.
    assert clips.form_identity(_condition(**structured, form="Intro:4, drop:8, outro:4")) == custom
    other = clips.form_identity(_condition(**structured, form="intro:4 breakdown:8 outro:4"))
    assert other.startswith("form-") and len(other) == 13 and other != custom
