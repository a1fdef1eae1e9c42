"""The issue-33 structure report: measures on hand-built tracks, the report with a fake
sampler, the CLI verb, and (slow) the real report on shipped checkpoints."""

import numpy as np
import pytest

from drumeval import paths
from drumeval.analysis import structure_eval
from drumeval.analysis.structure_eval import (
    ARRANGER,
    CORPUS_ROW,
    STRUCTURE_COLUMNS,
    detected_form,
    draw_corpus_form,
    measure_structure,
    repeat_distance,
    report_markdown,
    run_structure_report,
    train_reference,
    write_structure_report,
)
from drumeval.cli import main
from drumeval.data.drum_classes import CLOSED_HIHAT, KICK, SNARE, STEPS_PER_BAR
from drumeval.data.forms import FORM_PRESETS, parse_form, repeat_source_steps
from drumeval.errors import ParameterError

FORM = parse_form("drop:4 build:4 drop:4")


def _bar(hits: dict[int, list[int]]) -> np.ndarray:
    bar = np.zeros(STEPS_PER_BAR, dtype=np.int32)
    for drum_class, steps in hits.items():
        bar[steps] |= 1 << drum_class
    return bar


SPARSE = _bar({KICK: [0, 4, 8, 12], SNARE: [4, 12]})
DENSE = _bar({KICK: [0, 4, 8, 12], SNARE: [4, 12], CLOSED_HIHAT: list(range(16))})
ON_FORM = np.concatenate([np.tile(SPARSE, 4), np.tile(DENSE, 4), np.tile(SPARSE, 4)])
LOOP = np.tile(_bar({KICK: [0, 8], SNARE: [0, 8]}), 12)  # snare on 1 & 3, no change


def _reference(*tracks: np.ndarray):
    event_ids = np.stack(tracks)
    return train_reference(event_ids, np.full(len(tracks), event_ids.shape[1]))


def test_tracks_that_follow_the_form_and_copy_the_train_split() -> None:
    values = measure_structure([ON_FORM, ON_FORM], [FORM, FORM], _reference(ON_FORM))
    assert values["n_tracks"] == 2
    assert values["boundary_f1"] == 1.0
    assert values["backbeat_2_4"] == 1.0 and values["backbeat_1_3"] == 0.0
    assert values["same_label_sim"] == 1.0  # the two drops are the same bars
    assert values["different_label_sim"] == pytest.approx(6 / 22)  # sparse vs dense bars
    assert values["copied_windows"] == 1.0 and values["novel_bars"] == 0.0
    assert values["groove_distance"] == pytest.approx(0.0)
    assert values["bar_sim_8"] == 1.0


def test_repeat_distance_compares_each_repeated_bar_with_its_earlier_instance() -> None:
    # drop 2 (bars 8–11) against drop 1 (bars 0–3), bar by bar at the same offset
    assert repeat_distance(ON_FORM, FORM) == 0.0
    varied = ON_FORM.copy()
    varied[9 * STEPS_PER_BAR : 10 * STEPS_PER_BAR] = DENSE  # one of four bars changed
    assert repeat_distance(varied, FORM) == pytest.approx((1 - 6 / 22) / 4)
    # a shorter repeat is compared over its own bars (10–11 against 0–1, bar 9 is the
    # build's now); a form without repeats has none
    short = parse_form("drop:4 build:6 drop:2")
    assert repeat_distance(varied, short) == 0.0
    varied[10 * STEPS_PER_BAR : 11 * STEPS_PER_BAR] = DENSE
    assert repeat_distance(varied, short) == pytest.approx((1 - 6 / 22) / 2)
    assert repeat_distance(varied, FORM) == pytest.approx(2 * (1 - 6 / 22) / 4)
    assert np.isnan(repeat_distance(ON_FORM, parse_form("intro:4 build:4 drop:4")))
    values = measure_structure([varied], [FORM], _reference(ON_FORM))
    assert values["repeat_distance"] == pytest.approx(2 * (1 - 6 / 22) / 4)


def test_the_detector_labels_a_track_with_repeats() -> None:
    track = np.concatenate([np.tile(SPARSE, 8), np.tile(DENSE, 8), np.tile(SPARSE, 8)])
    assert detected_form(track).to_text() == "head:8 solo:8 head:8"


def test_a_jazz_form_is_drawn_from_the_corpus_with_labels() -> None:
    form = draw_corpus_form("jazz-soul-700", seed=0)
    assert form == draw_corpus_form("jazz-soul-700", seed=0)  # seeded
    assert form != draw_corpus_form("jazz-soul-700", seed=1)
    assert form.total_bars == 60
    labels = {section.label for section in form.sections}
    assert labels <= {"intro", "head", "solo", "trade", "outro"} and {"head", "solo"} <= labels
    assert (repeat_source_steps(form) >= 0).any()  # a label recurs: repeats to recall
    assert draw_corpus_form("jazz-soul-700", seed=0, bars=20).total_bars == 20
    with pytest.raises(ParameterError, match="bars matches no train track of jazz-soul-700"):
        draw_corpus_form("jazz-soul-700", seed=0, bars=7)


def test_a_loop_off_the_bar_line_misses_every_boundary_and_copies_nothing() -> None:
    values = measure_structure([LOOP], [FORM], _reference(ON_FORM))
    assert values["boundary_f1"] == 0.0
    assert values["backbeat_2_4"] == 0.0 and values["backbeat_1_3"] == 1.0
    assert values["bar_sim_1"] == 1.0
    assert values["copied_windows"] == 0.0 and values["novel_bars"] == 1.0
    assert values["groove_distance"] > 0.5
    assert values["same_label_sim"] == values["different_label_sim"] == 1.0


def _fake_sampler(calls: list):
    """Two 'models' per genre: one plays the form's boundaries, one a loop; notes a skip."""

    def sampler(genre, corpus, form, seeds, note):
        calls.append((genre, corpus, form, seeds))
        note(f"{genre}: skipped the structure model")
        blocks = [np.tile(SPARSE if i % 2 else DENSE, s.bars) for i, s in enumerate(form.sections)]
        loop = np.tile(SPARSE, form.total_bars)
        return {"follows": [np.concatenate(blocks)] * len(seeds), "loop": [loop] * len(seeds)}

    return sampler


def test_report_rows_per_genre_with_the_corpus_row_and_notes() -> None:
    calls, notes = [], []
    form = FORM_PRESETS["techno-house"]["peak-time"]
    report = run_structure_report(
        {"techno-house": form}, (5, 6), sampler=_fake_sampler(calls), note=notes.append
    )
    assert calls == [("techno-house", "techno-house-700", form, (5, 6))]
    assert notes == ["techno-house: skipped the structure model"] == list(report.notes)
    table = report.table.set_index("model")
    assert list(report.table.columns) == list(STRUCTURE_COLUMNS)
    assert list(table.index) == ["follows", "loop", CORPUS_ROW]
    assert table.loc["follows", "boundary_f1"] == 1.0
    assert table.loc["loop", "boundary_f1"] == 0.0
    assert table.loc[CORPUS_ROW, "n_tracks"] == 70  # the eval split, against its own forms
    assert table.loc[CORPUS_ROW, "boundary_f1"] > table.loc["loop", "boundary_f1"]


def test_markdown_names_forms_seeds_and_notes(tmp_path, monkeypatch) -> None:
    form = parse_form("intro:8 drop:8")
    report = run_structure_report({"techno-house": form}, (1,), sampler=_fake_sampler([]))
    text = report_markdown(report)
    assert "Seeds 1;" in text and "`intro:8 drop:8`" in text
    assert "| techno-house | follows " in text
    assert text.rstrip().endswith("Note: techno-house: skipped the structure model")
    monkeypatch.setattr(paths, "tables_dir", lambda: tmp_path / "tables")
    assert write_structure_report(report).read_text() == text
    assert write_structure_report(report).name == "structure_report.md"


@pytest.fixture
def fake_report(monkeypatch):
    """`structure-report` without sampling: records the request, notes a skip."""
    calls = []

    def fake_run(forms, seeds, *, corpus_size, note):
        calls.append((dict(forms), seeds, corpus_size))
        note("jazz-soul: skipped")
        return run_structure_report(forms, seeds, sampler=_fake_sampler([]))

    monkeypatch.setattr(structure_eval, "run_structure_report", fake_run)
    return calls


def test_cli_runs_the_report_on_a_preset_and_writes_it(fake_report, tmp_path, capsys) -> None:
    out = tmp_path / "report.md"
    argv = ["structure-report", "--genre", "jazz-soul", "--form", "long-solo"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--num", "2", "--seed", "7", "--out", str(out)])
    assert exit_info.value.code == 0
    assert fake_report == [({"jazz-soul": FORM_PRESETS["jazz-soul"]["long-solo"]}, (7, 8), 700)]
    printed = capsys.readouterr().out
    assert "note: jazz-soul: skipped" in printed and "| jazz-soul | follows" in printed
    assert out.read_text().startswith("# Structure report")


def test_cli_reads_a_form_string_and_defaults_to_both_genres(fake_report, tmp_path) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                *["structure-report", "--genre", "techno-house", "--form", "intro:4 break:8"],
                *["--out", str(tmp_path / "one.md")],
            ]
        )
    with pytest.raises(SystemExit):
        main(["structure-report", "--num", "1", "--out", str(tmp_path / "r.md")])
    assert fake_report[0][0]["techno-house"].to_text() == "intro:4 breakdown:8"
    assert set(fake_report[1][0]) == {"techno-house", "jazz-soul"}
    assert fake_report[1][1] == (0,)


def test_cli_draws_a_labelled_form_from_the_corpus(fake_report, tmp_path) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                *["structure-report", "--genre", "jazz-soul", "--form", "corpus:3"],
                *["--out", str(tmp_path / "one.md")],
            ]
        )
    assert fake_report[0][0]["jazz-soul"] == draw_corpus_form("jazz-soul-700", seed=3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--genre", "techno-house", "--form", "chorus:8"], "--form has unknown section label"),
        (["--genre", "jazz-soul", "--form", "corpus:x"], "--form corpus:N needs a whole number"),
        (["--form", "peak-time"], "--form needs exactly one --genre"),
        (["--genre", "polka"], "unknown genre 'polka'"),
        (["--num", "0"], "--num must be at least 1"),
        (["--corpus-size", "900"], "unknown corpus size 900"),
    ],
)
def test_cli_bad_flags_are_one_line_errors(fake_report, capsys, args, message) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["structure-report", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert fake_report == []


@pytest.mark.slow
def test_real_report_on_shipped_checkpoints_the_arranger_plays_the_form() -> None:
    notes = []
    form = FORM_PRESETS["techno-house"]["peak-time"]
    report = run_structure_report({"techno-house": form}, (0, 1), note=notes.append)
    table = report.table.set_index("model")
    assert {"drums_rnn/thesis", "music_vae/thesis-longbar", ARRANGER, CORPUS_ROW} <= set(
        table.index
    )
    structured = [name for name in table.index if name.startswith("structured/")]
    assert structured or any("no structure-model checkpoint" in note for note in notes)
    for model in ("drums_rnn/thesis", "music_vae/thesis-longbar"):
        assert table.loc[ARRANGER, "boundary_f1"] > table.loc[model, "boundary_f1"]
    assert table.loc[ARRANGER, "novel_bars"] == 0.0  # every bar retrieved from the train split
