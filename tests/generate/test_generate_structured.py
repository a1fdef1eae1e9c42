"""Generating with the structured model along a song form: the plan, the CLI, the clip."""

import json

import numpy as np
import pytest

from drumeval import clips
from drumeval import generate as gen
from drumeval.cli import main
from drumeval.errors import ModelError, ParameterError

FORM = "intro:2 drop:2 breakdown:1 drop:2"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from drumeval.models.checkpoints import save_checkpoint
    from drumeval.training.families import build_config, build_model

    config = build_config("structured", "thesis-form", "rnn_layer_sizes=[8],attn_length=4")
    model = build_model("structured", config, seed=3)
    rng = np.random.default_rng(0)  # the kernel starts at zero: make the form matter
    model.control_kernel.assign(rng.normal(0, 1.0, model.control_kernel.shape))
    directory = tmp_path_factory.mktemp("ckpt") / "tiny"
    card = {"model": "structured", "preset": "thesis-form", "corpus": "techno-house-700"}
    save_checkpoint(model, directory, {**card, "genre": "techno-house"})
    return directory


def test_a_form_sets_the_length_and_is_recorded(tiny_checkpoint):
    plan = gen.plan_generation("structured", checkpoint=tiny_checkpoint, form=FORM, seed=4)
    assert (plan.method, plan.bars, plan.form.to_text()) == ("form", 7, FORM)
    [track] = gen.execute(plan)
    assert track.event_ids.shape == (7 * 16,) and track.event_ids[0] == 1
    assert track.sidecar()["form"] == FORM and track.sidecar()["method"] == "form"
    np.testing.assert_array_equal(gen.execute(plan)[0].event_ids, track.event_ids)
    other_form = gen.plan_generation(
        "structured", checkpoint=tiny_checkpoint, form="breakdown:7", seed=4
    )
    assert not np.array_equal(gen.execute(other_form)[0].event_ids, track.event_ids)


def test_without_a_form_it_plays_the_genre_default_fitted_to_the_bars(tiny_checkpoint):
    plan = gen.plan_generation("structured", checkpoint=tiny_checkpoint)
    assert plan.bars == 60
    assert plan.form.to_text() == "intro:8 build:8 drop:16 breakdown:8 build:4 drop:12 outro:4"
    short = gen.plan_generation("structured", checkpoint=tiny_checkpoint, bars=12)
    assert short.form.to_text() == "intro:8 build:4"


@pytest.mark.parametrize(
    ("kwargs", "parameter", "message"),
    [
        ({"form": "drop:x"}, "form", "token 'drop:x' is not label:bars"),
        ({"form": "chorus:8"}, "form", "unknown section label 'chorus'"),
        ({"form": ""}, "form", "is empty"),
        ({"form": FORM, "bars": 8}, "bars", "must equal the form's 7 bars"),
        ({"form": "drop:241"}, "bars", "between 1 and 240"),
        ({"primer_event_ids": np.array([1])}, "primer_event_ids", "the structured model plays"),
        ({"beam_size": 2}, "beam_size", "the structured model samples plainly"),
    ],
)
def test_bad_forms_are_parameter_errors(tiny_checkpoint, kwargs, parameter, message):
    with pytest.raises(ParameterError, match=message) as error:
        gen.plan_generation("structured", checkpoint=tiny_checkpoint, **kwargs)
    assert error.value.parameter == parameter


def test_only_the_structured_model_takes_a_form(tiny_checkpoint):
    with pytest.raises(ParameterError, match="form is played by the structured model only"):
        gen.plan_generation("drums_rnn", form=FORM)
    with pytest.raises(ModelError, match="Structured RNN can only sample"):
        gen.plan_generation("structured", checkpoint=tiny_checkpoint, mode="interpolate")


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code


def test_cli_generates_along_a_form(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["generate", "--model", "structured", "--checkpoint", str(tiny_checkpoint)]
    assert _run([*argv, "--form", FORM, "--seed", "3", "--out", str(out)]) == 0
    sidecar = json.loads((out / gen.META_DIR / "track-000.json").read_text())
    assert (sidecar["form"], sidecar["bars"], sidecar["model"]) == (FORM, 7, "structured")
    assert "(7 bars)" in capsys.readouterr().out
    assert _run([*argv, "--form", "drop:0", "--out", str(out)]) != 0
    printed = capsys.readouterr()
    words = " ".join((printed.out + printed.err).split())
    assert "--form section 'drop' needs a whole number of bars > 0, got 0" in words


def test_a_condition_carries_its_form_through_the_url():
    condition = clips.Condition(
        "structured", "thesis-form", "techno-house", 700, 1.0, 60, 5, form="Intro:4 break:4"
    )
    assert (condition.form, condition.bars) == ("intro:4 breakdown:4", 8)
    assert clips.Condition.from_query(condition.to_query()) == condition
    assert "form" not in clips.DEFAULT_CONDITION.to_query()
    assert clips.form_sections(condition) == ((0, "intro"), (4, "breakdown"))
    default = clips.Condition("structured", "thesis-form", "jazz-soul", 700, 1.0, 8, 5)
    assert clips.form_sections(default) == ((0, "intro"), (4, "head"))
    assert clips.form_sections(clips.DEFAULT_CONDITION) == ()
    assert clips.plan(condition).form.to_text() == "intro:4 breakdown:4"


def test_a_spelled_out_default_form_makes_the_same_clip():
    implicit = clips.Condition("structured", "thesis-form", "techno-house", 700, 1.0, 12, 5)
    spelled = clips.Condition(
        "structured", "thesis-form", "techno-house", 700, 1.0, 60, 5, form="intro:8 build:4"
    )
    assert implicit != spelled and clips.same_clip(implicit, spelled)
    assert clips.same_clip(spelled, implicit)
    other = clips.Condition(
        "structured", "thesis-form", "techno-house", 700, 1.0, 60, 5, form="intro:4 build:8"
    )
    assert not clips.same_clip(implicit, other)
    drums = clips.Condition("drums_rnn", "thesis", "techno-house", 700, 1.0, 12, 5)
    assert not clips.same_clip(
        drums, clips.Condition("drums_rnn", "thesis", "techno-house", 700, 1.0, 8, 5)
    )


@pytest.mark.parametrize(
    ("model", "form", "message"),
    [
        ("drums_rnn", "drop:8", "only the structured model plays a song form"),
        ("structured", "drop:two", "the form token 'drop:two' is not label:bars"),
        ("structured", "drop:64", "the form must last 4…60 bars; it has 64"),
    ],
)
def test_a_bad_condition_form_names_the_field(model, form, message):
    preset = "thesis" if model == "drums_rnn" else "thesis-form"
    with pytest.raises(clips.ConditionError, match=message) as error:
        clips.Condition(model, preset, "techno-house", 700, 1.0, 8, 1, form=form)
    assert error.value.field == "form"
