from drumeval.data import drum_classes
from drumeval.errors import DrumevalError, InvalidMidiError, NoDrumsError


def test_drum_classes_cover_gmd_hihat_edges():
    assert drum_classes.PITCH_TO_CLASS[22] == drum_classes.CLOSED_HIHAT
    assert drum_classes.PITCH_TO_CLASS[26] == drum_classes.OPEN_HIHAT
    assert drum_classes.CLASS_TO_PITCH == (36, 38, 42, 46, 45, 48, 50, 49, 51)


def test_drum_classes_match_note_seq():
    from note_seq.drums_encoder_decoder import DEFAULT_DRUM_TYPE_PITCHES

    for ours, theirs in zip(drum_classes.DRUM_TYPE_PITCHES, DEFAULT_DRUM_TYPE_PITCHES, strict=True):
        assert set(ours) <= set(theirs) | {22, 26}
        assert set(theirs) <= set(ours)


def test_error_hierarchy():
    assert issubclass(InvalidMidiError, DrumevalError)
    assert issubclass(NoDrumsError, DrumevalError)


def test_every_written_path_is_under_the_data_home(tmp_path, monkeypatch):
    from drumeval import paths

    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    for written in (paths.audio_cache_dir(), paths.jax_cache_dir(), paths.clip_store_dir()):
        assert written.is_relative_to(tmp_path)
    assert paths.jax_cache_dir() == tmp_path / "cache" / "jax"


def test_the_jax_compile_cache_follows_the_data_home(tmp_path):
    """Importing the models points JAX's persistent cache under $DRUMEVAL_HOME, not the checkout."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "JAX_COMPILATION_CACHE_DIR"}
    probe = "import os, drumeval.models; print(os.environ['JAX_COMPILATION_CACHE_DIR'])"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "DRUMEVAL_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == str(tmp_path / "cache" / "jax"), result.stderr


def test_only_drumeval_paths_derives_the_checkout_root():
    from drumeval.paths import REPO_ROOT

    folders = ("drumeval", "ui", "pages", "deploy", "benchmarks", "db", "tools")
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for folder in folders
        for path in (REPO_ROOT / folder).rglob("*.py")
        if ".parents[" in path.read_text() and path != REPO_ROOT / "drumeval" / "paths.py"
    ]
    assert offenders == []
