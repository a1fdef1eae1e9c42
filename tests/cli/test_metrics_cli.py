"""`drumeval metrics`: the objective metrics of MIDI files on the command line."""

import json

import pytest

from drumeval.cli import main
from drumeval.data.corpus import load_corpus
from drumeval.data.midi import write_midi


def test_metrics_command_measures_copies_of_the_training_split(tmp_path):
    train_ids, train_lengths = load_corpus("techno-house-700").split("train")
    copied = write_midi(train_ids[0, : train_lengths[0]], tmp_path / "copy.mid")
    out = tmp_path / "m.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["metrics", str(copied), "--corpus", "techno-house-700", "--json", str(out)])
    assert exit_info.value.code == 0
    values = json.loads(out.read_text())[str(copied)]
    assert values["exact_copy_rate"] == 1.0 and values["novel_bar_fraction"] == 0.0
