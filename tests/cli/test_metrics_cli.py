"""`drumeval metrics`: the objective metrics of MIDI files on the command line."""

import json

import pandas as pd
import pytest

from drumeval import paths
from drumeval.analysis import objective_run
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


@pytest.fixture
def fake_run(monkeypatch):
    """`objective-table` without sampling 12 checkpoints: a one-row table and curve."""
    run = objective_run.ObjectiveRun(
        genre_accuracy={"techno-house": 1.0, "jazz-soul": 0.9},
        section_scores={
            tolerance: {"tracks": 70, "precision": 0.65, "recall": 0.9, "f1": 0.75}
            for tolerance in (0, 1)
        },
        table=pd.DataFrame({"model": ["drums_rnn/thesis"], "short_term_phrasing": [0.5]}),
        curves=pd.DataFrame({"model": ["drums_rnn/thesis"], "lag": [1], "similarity": [0.4]}),
    )
    calls = []
    monkeypatch.setattr(
        objective_run, "run_objective_table1", lambda num, seed: calls.append((num, seed)) or run
    )
    return calls


def test_objective_table_prints_and_writes_both_tables(fake_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["objective-table", "--num", "2", "--seed", "7", "--out-dir", str(tmp_path)])
    assert exit_info.value.code == 0 and fake_run == [(2, 7)]
    out = capsys.readouterr().out
    assert "techno-house 100%, jazz-soul 90%" in out and "F1 0.75" in out
    assert "| drums_rnn/thesis |" in out
    table = pd.read_csv(tmp_path / "objective_table1.csv")
    assert table["short_term_phrasing"].tolist() == [0.5]
    assert pd.read_csv(tmp_path / "self_similarity_curves.csv")["lag"].tolist() == [1]


def test_objective_tables_are_written_where_the_pages_read_them(fake_run, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "tables_dir", lambda: tmp_path / "tables")
    with pytest.raises(SystemExit):
        main(["objective-table"])
    assert fake_run == [(8, 2024)]
    assert paths.objective_table_path().is_file()
    assert paths.self_similarity_curves_path().is_file()


def test_the_shipped_objective_tables_live_with_the_data():
    assert paths.objective_table_path().parent == paths.REPO_ROOT / "data" / "tables"
    table = pd.read_csv(paths.objective_table_path())
    assert {"short_term_phrasing", "realism"} <= set(table.columns)
    assert pd.read_csv(paths.self_similarity_curves_path()).shape[0] > 0
