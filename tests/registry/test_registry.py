"""The registry: one table of models, genres and corpora, light to import, matching its users."""

import json
import subprocess
import sys

import pytest

from drumeval import registry
from drumeval.errors import CheckpointNotFoundError, DatasetError, ModelError

PROBE = """
import sys
import drumeval.registry as registry
registry.shipped_checkpoints()
heavy = sorted(
    name for name in ("tensorflow", "jax", "keras", "note_seq", "matplotlib", "drumeval.data")
    if name in sys.modules
)
print("HEAVY=" + ",".join(heavy))
"""


def test_registry_imports_no_ml_framework_or_corpus_code():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60
    )
    assert "HEAVY=\n" in result.stdout, result.stdout + result.stderr


def test_every_registry_genre_renders_with_a_known_kit():
    """The audio kits and the corpus builders take their genres from the registry; each
    genre's kit must be one the renderer knows (FluidSynth would fall back to Standard)."""
    from drumeval.audio import KITS, kit_for_genre

    for name, genre in registry.GENRES.items():
        assert genre.kit in KITS
        assert kit_for_genre(name) == genre.kit


def test_registry_presets_exist_in_the_model_modules():
    from drumeval.training.families import model_module

    for name, family in registry.MODELS.items():
        assert set(family.presets) == set(model_module(name).PRESETS)
        assert family.default_preset in family.presets


def test_corpus_names_round_trip_and_bad_ones_are_named():
    assert registry.corpus_name("jazz-soul", 1500) == "jazz-soul-1500"
    assert registry.split_corpus_name("techno-house-700") == ("techno-house", 700)
    assert registry.genre_of_corpus("techno-house-1500") == "techno-house"
    assert registry.genre_of_corpus("my-own-corpus") is None
    with pytest.raises(DatasetError, match="choose one of 700, 1500"):
        registry.corpus_name("jazz-soul", 900)
    with pytest.raises(DatasetError, match="unknown genre 'polka'"):
        registry.corpus_name("polka", 700)
    with pytest.raises(ModelError, match="unknown music_vae preset 'big'"):
        registry.check_preset("music_vae", "big")
    with pytest.raises(ModelError, match="unknown model"):
        registry.check_model("wavenet")


def _fake_checkpoint(root, model, preset, corpus, weights=True):
    directory = root / model / preset / corpus
    directory.mkdir(parents=True)
    (directory / registry.CARD_FILE).write_text(json.dumps({"model": model, "steps": 5}))
    if weights:
        (directory / registry.MODEL_FILE).write_bytes(b"weights")
    return directory


def test_shipped_checkpoints_scan_only_complete_known_directories(tmp_path):
    _fake_checkpoint(tmp_path, "drums_rnn", "thesis", "jazz-soul-700")
    _fake_checkpoint(tmp_path, "drums_rnn", "thesis", "techno-house-700", weights=False)
    _fake_checkpoint(tmp_path, "wavenet", "x", "jazz-soul-700")
    _fake_checkpoint(tmp_path, "music_vae", "hier-60bar", "my-experiment")
    [found] = registry.shipped_checkpoints(tmp_path)
    assert found.name == "drums_rnn/thesis/jazz-soul-700"
    assert (found.genre, found.corpus_size, found.card["steps"]) == ("jazz-soul", 700, 5)
    assert registry.find_shipped("drums_rnn", "thesis", "jazz-soul-700", tmp_path) == found
    with pytest.raises(CheckpointNotFoundError, match="available: drums_rnn/thesis/jazz-soul-700"):
        registry.find_shipped("drums_rnn", "thesis", "jazz-soul-1500", tmp_path)


def test_the_repository_ships_a_checkpoint_per_genre_for_each_model():
    shipped = registry.shipped_checkpoints()
    for model in registry.MODEL_NAMES:
        assert {c.genre for c in shipped if c.model == model} == set(registry.GENRE_NAMES)
