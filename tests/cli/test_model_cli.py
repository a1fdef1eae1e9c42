"""The model verbs (train, generate, import-magenta, checkpoints) through the CLI entry point."""

import json
import re

import numpy as np
import pytest

from drumeval.cli import main


def _run(args):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code


def test_import_magenta_bundle_then_generate(magenta_fixtures, tmp_path, capsys):
    checkpoint = tmp_path / "imported"
    assert (
        _run(
            [
                "import-magenta",
                str(magenta_fixtures / "drums_rnn_small.mag"),
                "--out",
                str(checkpoint),
            ]
        )
        == 0
    )
    card = json.loads((checkpoint / "card.json").read_text())
    assert card["hparams"]["rnn_layer_sizes"] == [64, 64] and card["hparams"]["attn_length"] == 64
    out = tmp_path / "out"
    code = _run(
        [
            "generate",
            "--checkpoint",
            str(checkpoint),
            "--out",
            str(out),
            "--bars",
            "4",
            "--num",
            "2",
            "--seed",
            "5",
            "--primer",
            "[(36,),(),(42,),()]",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.glob("*.mid")) == [
        "track-000.mid",
        "track-001.mid",
    ]
    assert "wrote" in capsys.readouterr().out


def test_train_tiny_model_and_resume(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = [
        "train",
        "drums_rnn",
        "--corpus",
        "techno-house-700",
        "--hparams",
        "rnn_layer_sizes=[8],attn_length=4",
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--checkpoint-every",
        "2",
        "--run-dir",
        str(run_dir),
    ]
    assert _run(args) == 0
    bar = re.search(r"training .* 4/4 .*steps/s  loss [\d.]+  eval [\d.]+", capsys.readouterr().out)
    assert bar, "the training bar shows the step, steps/s and both losses"
    card = json.loads((run_dir / "final" / "card.json").read_text())
    assert card["corpus"] == "techno-house-700" and card["training"]["steps"] == 4
    assert card["hparams"]["rnn_layer_sizes"] == [8]
    assert _run(args) == 2  # refuses to overwrite without --resume
    assert "--resume" in capsys.readouterr().err
    assert _run([*args[:7], "6", *args[8:], "--resume"]) == 0
    history = json.loads((run_dir / "history.json").read_text())
    assert [h["step"] for h in history["eval"]] == [2, 4, 6]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--corpus", "nope-1"], "no shipped drums_rnn checkpoint"),
        (["generate", "--bars", "0", "--checkpoint", "."], "--bars must be between 1 and 240"),
        (
            ["generate", "--temperature", "12", "--checkpoint", "."],
            "--temperature must be in (0, 10]",
        ),
        (["train", "drums_rnn", "--hparams", "attn=3"], "unknown hparam"),
        (["train", "drums_rnn", "--corpus", "nope"], "drumeval data build"),
        (
            ["train", "drums_rnn", "--init-from", "empty", "--run-dir", "run"],
            "--init-from must be a checkpoint folder",
        ),
        (["import-magenta", "missing.mag", "--out", "x"], "no Magenta checkpoint or .mag bundle"),
        (["generate", "--primer", "[(999,)]", "--checkpoint", "."], "General MIDI drum pitch"),
    ],
)
def test_errors_are_one_line_and_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_checkpoints_lists_shipped(capsys):
    assert _run(["checkpoints"]) == 0
    assert "checkpoint" in capsys.readouterr().out


def test_generated_midi_matches_direct_call(magenta_fixtures, tmp_path):
    from drumeval.data.midi import load_drum_track
    from drumeval.generate import generate

    checkpoint = tmp_path / "imported"
    _run(
        ["import-magenta", str(magenta_fixtures / "drums_rnn_small.mag"), "--out", str(checkpoint)]
    )
    _run(
        [
            "generate",
            "--checkpoint",
            str(checkpoint),
            "--out",
            str(tmp_path),
            "--bars",
            "2",
            "--seed",
            "9",
        ]
    )
    direct = generate("drums_rnn", checkpoint=checkpoint, bars=2, seed=9)[0].event_ids
    np.testing.assert_array_equal(
        load_drum_track(tmp_path / "track-000.mid").event_ids[:32], direct
    )


def _linked_checkpoints(tmp_path, monkeypatch, links: dict[str, str]) -> None:
    """Short names (the comparison's labels) for shipped checkpoints, in the working dir."""
    from drumeval.generate import CHECKPOINTS_DIR

    for label, name in links.items():
        (tmp_path / label).symlink_to(CHECKPOINTS_DIR / name)
    monkeypatch.chdir(tmp_path)


def test_compare_checkpoints_ranks_candidates_on_one_seed(tmp_path, monkeypatch, capsys):
    from drumeval.training.fidelity import checkpoint_fidelity

    _linked_checkpoints(
        tmp_path,
        monkeypatch,
        {"a": "drums_rnn/thesis/techno-house-700", "b": "drums_rnn/thesis/techno-house-1500"},
    )
    assert _run(["compare-checkpoints", "a", "b", "--samples", "2", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    distances = {
        label: checkpoint_fidelity(tmp_path / label, num_samples=2, seed=5).distance
        for label in "ab"
    }
    assert distances["a"] != distances["b"]
    for distance in distances.values():
        assert f"{distance:.2f}" in out
    best = min(distances, key=distances.get)
    assert f"best: {best} (distance {distances[best]:.2f})" in out
    assert "2 samples × 60 bars, seed 5" in out
    z_row = next(line for line in out.splitlines() if "z effect" in line and "│" in line)
    assert [cell.strip() for cell in z_row.split("│")[2:4]] == ["—", "—"]  # DrumsRNNs: no z
    shifted = next(line for line in out.splitlines() if "snare on 1 & 3" in line)
    profiles = {
        label: checkpoint_fidelity(tmp_path / label, num_samples=2, seed=5).samples
        for label in "ab"
    }
    assert [cell.strip() for cell in shifted.split("│")[2:4]] == [
        f"{profiles[label].shifted_backbeat_share:.2f}" for label in "ab"
    ]
    similarity = next(line for line in out.splitlines() if "bar sim. lag 1" in line)
    assert [cell.strip() for cell in similarity.split("│")[2:4]] == [
        f"{profiles[label].bar_similarity_1:.2f} ± {profiles[label].bar_similarity_1_se:.2f}"
        for label in "ab"
    ]
    # 700 and 1500 are different corpora: the table says their distances do not compare.
    assert "techno-house-700: distances to different corpora do not compare" in out


def test_compare_checkpoints_keeps_the_first_of_equals_and_needs_no_note(
    tmp_path, monkeypatch, capsys
):
    same = "drums_rnn/thesis/jazz-soul-1500"
    _linked_checkpoints(tmp_path, monkeypatch, {"one": same, "two": same})
    assert _run(["compare-checkpoints", "one", "two", "--samples", "2"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^best: one \(distance \d\.\d\d\)$", out, re.MULTILINE), out
    assert "2 samples × 60 bars, seed 99" in out and "note:" not in out


def test_compare_checkpoints_names_a_missing_candidate_before_sampling(
    tmp_path, monkeypatch, capsys
):
    from drumeval.training import fidelity

    def must_not_sample(*_args, **_kwargs):
        raise AssertionError("sampled before every candidate was found")

    monkeypatch.setattr(fidelity, "fidelity_report", must_not_sample)
    monkeypatch.setattr(fidelity, "latent_effect", must_not_sample)
    missing = tmp_path / "runs" / "final"
    assert _run(["compare-checkpoints", "drums_rnn/thesis/techno-house-700", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"no checkpoint at {missing}" in err and "Traceback" not in err


def test_compare_checkpoints_shows_how_much_a_music_vae_follows_its_code(
    tmp_path, monkeypatch, capsys
):
    from drumeval.models.checkpoints import load_checkpoint
    from drumeval.training.fidelity import latent_effect

    name = "music_vae/cat-drums_2bar_small/techno-house-1500"
    _linked_checkpoints(tmp_path, monkeypatch, {"walk": name})
    assert _run(["compare-checkpoints", "walk", "--samples", "2", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    network, card = load_checkpoint(tmp_path / "walk")
    effect = latent_effect(card["model"], network, seed=5)
    row = next(line for line in out.splitlines() if "z effect" in line and "│" in line)
    assert row.split("│")[2].strip() == f"{round(effect.effect, 2) + 0.0:+.2f}", out
    assert effect.same_z > effect.other_z
