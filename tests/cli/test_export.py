"""`drumeval export` writes corpus examples as MIDI that reads back identically."""

import numpy as np
import pytest

from drumeval.cli import main
from drumeval.data.corpus import load_corpus
from drumeval.data.midi import load_drum_track


def test_export_eval_examples_round_trip(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "export",
                "techno-house-700",
                "--out",
                str(tmp_path),
                "--split",
                "eval",
                "--limit",
                "2",
            ]
        )
    assert exit_info.value.code == 0
    corpus = load_corpus("techno-house-700")
    first_eval = int(np.flatnonzero(corpus.is_eval)[0])
    paths = sorted(tmp_path.glob("*.mid"))
    assert len(paths) == 2 and paths[0].name == f"techno-house-700-{first_eval:04d}.mid"
    track = load_drum_track(paths[0])
    expected = corpus.event_ids[first_eval][: corpus.lengths[first_eval]]
    np.testing.assert_array_equal(track.event_ids[: len(expected)], expected)
    assert track.qpm == pytest.approx(float(corpus.qpm[first_eval]), abs=0.01)


def test_export_rejects_unknown_split(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "techno-house-700", "--out", str(tmp_path), "--split", "test"])
    assert exit_info.value.code == 2
    assert "--split must be train, eval or all" in capsys.readouterr().err
