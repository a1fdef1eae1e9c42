"""The structure-aware DrumsRNN (issue 33): conditioning, round trips, training, sampling."""

import dataclasses

import jax
import keras
import numpy as np
import pytest

from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.data.forms import CONTROL_FEATURES, control_features, parse_form
from drumeval.errors import DatasetError, ModelError, ParameterError
from drumeval.models import drums_rnn, structured, structured_sampling
from drumeval.models.checkpoints import load_checkpoint, save_checkpoint
from drumeval.models.structured_steps import (
    CONDITION_SIZE,
    default_form,
    form_inputs,
    load_light,
    reference_bits,
)

TINY = dataclasses.replace(structured.PRESETS["thesis-form"], rnn_layer_sizes=(8, 8), attn_length=4)
# 4 bars: the second "drop" recalls the first, the breakdown has nothing to recall
FORM = parse_form("drop:1 breakdown:2 drop:1")


def _drums_config(config=TINY) -> drums_rnn.DrumsRnnConfig:
    """The DrumsRNN the structured config extends (without its control scale)."""
    values = {k: v for k, v in dataclasses.asdict(config).items() if k != "control_scale"}
    return drums_rnn.DrumsRnnConfig(**values)


def _model(config=TINY, seed=0, random_controls=True) -> structured.StructuredRNN:
    keras.utils.set_random_seed(seed)
    model = structured.StructuredRNN(config)
    if random_controls:  # the kernel starts at zero; tests need it to matter
        rng = np.random.default_rng(seed)
        model.control_kernel.assign(rng.normal(0, 0.5, model.control_kernel.shape))
    return model


def test_the_control_scale_multiplies_the_kernel_where_it_is_used():
    model = _model()
    np.testing.assert_allclose(
        np.asarray(model.params()["controls"]), 10.0 * model.control_kernel.numpy(), rtol=1e-6
    )
    with pytest.raises(ModelError, match="control_scale must be > 0"):
        dataclasses.replace(TINY, control_scale=0.0)


def test_presets_keep_the_thesis_recipe_and_the_issue_size_range():
    thesis = drums_rnn.PRESETS["thesis"]
    preset = structured.PRESETS["thesis-form"]
    assert (preset.rnn_layer_sizes, preset.attn_length) == (thesis.rnn_layer_sizes, 64)
    assert (preset.batch_size, preset.dropout_keep_prob, preset.learning_rate) == (1, 0.5, 1e-3)
    large = structured.StructuredRNN(structured.PRESETS["form-160"])
    assert 1_000_000 <= sum(int(np.prod(w.shape)) for w in large.weights) <= 3_000_000


def test_logits_shape_and_the_conditions_change_them():
    model = _model()
    ids = np.random.default_rng(1).integers(0, 512, (2, 12)).astype(np.int32)
    conditions = np.zeros((2, 12, CONDITION_SIZE), np.float32)
    plain = np.asarray(model({"event_ids": ids, "conditions": conditions}))
    assert plain.shape == (2, 12, 512)
    conditions[:, 5, 3] = 1.0
    changed = np.asarray(model({"event_ids": ids, "conditions": conditions}))
    np.testing.assert_allclose(changed[:, :5], plain[:, :5], atol=1e-6)  # causal
    assert not np.allclose(changed[:, 5], plain[:, 5])


def test_with_a_zero_control_kernel_it_is_the_drums_rnn():
    model = _model(random_controls=False)
    ids = np.random.default_rng(2).integers(0, 512, (1, FORM.total_bars * STEPS_PER_BAR))
    expected, _ = drums_rnn.forward_sequence(model.params(), _drums_config(), ids[:, :-1])
    conditions = structured.conditions_for(ids[0], FORM, ids.shape[1] - 1)[None]
    logits = model({"event_ids": ids[:, :-1], "conditions": conditions})
    np.testing.assert_allclose(np.asarray(logits), np.asarray(expected), atol=1e-5)


def test_conditions_describe_the_next_step_and_recall_the_same_label():
    ids = np.arange(FORM.total_bars * STEPS_PER_BAR, dtype=np.int32) % 512
    conditions = structured.conditions_for(ids, FORM, len(ids) - 1)
    controls = control_features(FORM)
    assert conditions.shape == (63, CONTROL_FEATURES + 9)
    np.testing.assert_array_equal(conditions[:, :CONTROL_FEATURES], controls[1:])
    reference = conditions[:, CONTROL_FEATURES:]
    # bars 1–2 (breakdown) and bar 0 recall nothing; bar 3 (drop 2) recalls bar 0 step by step
    assert not reference[: 3 * STEPS_PER_BAR - 1].any()
    for step in range(3 * STEPS_PER_BAR, 4 * STEPS_PER_BAR):
        expected = reference_bits(np.array(ids[step - 3 * STEPS_PER_BAR]))
        np.testing.assert_array_equal(reference[step - 1], expected)
    # longer inputs are padded with zero rows past the form
    assert not structured.conditions_for(ids, FORM, 80)[63:].any()


def test_reference_bits_are_the_nine_drum_classes():
    np.testing.assert_array_equal(
        reference_bits(np.array([0, 1, 2 + 256, -1])),
        [[0] * 9, [1] + [0] * 8, [0, 1] + [0] * 6 + [1], [0] * 9],
    )


def test_save_load_and_light_load_give_the_same_output(tmp_path):
    model = _model()
    save_checkpoint(model, tmp_path, {"model": "structured", "preset": "thesis-form"})
    loaded, card = load_checkpoint(tmp_path)
    assert type(loaded) is structured.StructuredRNN and card["model"] == "structured"
    ids = np.random.default_rng(3).integers(0, 512, (1, 30)).astype(np.int32)
    conditions = np.random.default_rng(4).random((1, 30, CONDITION_SIZE)).astype(np.float32)
    inputs = {"event_ids": ids, "conditions": conditions}
    np.testing.assert_allclose(np.asarray(loaded(inputs)), np.asarray(model(inputs)), atol=1e-6)
    light, _ = load_light(tmp_path)
    np.testing.assert_array_equal(
        structured_sampling.sample(light, form=FORM, num_samples=2, seed=5),
        structured_sampling.sample(model, form=FORM, num_samples=2, seed=5),
    )


def test_a_drums_rnn_checkpoint_is_not_a_structured_one(tmp_path):
    keras.utils.set_random_seed(0)
    save_checkpoint(drums_rnn.DrumsRNN(drums_rnn.PRESETS["thesis"]), tmp_path, {})
    with pytest.raises(ModelError, match="not a StructuredRNN"):
        load_light(tmp_path)


def test_warm_start_from_drums_rnn_fills_all_but_the_control_kernel():
    model = _model(random_controls=False)
    keras.utils.set_random_seed(9)
    donor = drums_rnn.DrumsRNN(_drums_config())
    targets = model.weights_matching(donor)
    assert len(targets) == len(donor.weights) == len(model.weights) - 1
    assert all(t.shape == d.shape for t, d in zip(targets, donor.weights, strict=True))
    assert all(target is not model.control_kernel for target in targets)
    assert len(model.weights_matching(_model())) == len(model.weights)
    with pytest.raises(ModelError, match="cannot warm-start"):
        model.weights_matching(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]))


def test_sampling_is_seeded_follows_the_form_and_scores_like_teacher_forcing():
    model = _model()
    first = structured_sampling.sample(model, form=FORM, num_samples=3, seed=11)
    assert first.shape == (3, FORM.total_bars * STEPS_PER_BAR) and first.dtype == np.int32
    assert (first[:, 0] == 1).all()  # DrumsRNN's primer: one kick
    np.testing.assert_array_equal(
        first, structured_sampling.sample(model, form=FORM, num_samples=3, seed=11)
    )
    assert not np.array_equal(
        first, structured_sampling.sample(model, form=FORM, num_samples=3, seed=12)
    )
    # the sampler's own log-likelihood equals the teacher-forced one: same conditions, same step
    inputs = form_inputs(FORM)
    uniforms = jax.random.uniform(jax.random.PRNGKey(11), (inputs.num_steps - 1, 3))
    plain = structured_sampling.sample(
        model, form=FORM, num_samples=3, seed=11, copy_strength=0.0, prime_bars=0
    )
    events, scores = structured_sampling._generate(
        model.params(),
        inputs.controls,
        inputs.reference_steps.astype(np.int32),
        structured_sampling.step_schedule(FORM),
        uniforms,
        np.float32(1.0),
        np.float32(0.0),
        config=model.config,
    )
    np.testing.assert_array_equal(np.asarray(events), plain)
    np.testing.assert_allclose(
        structured.log_likelihood(model, plain, FORM), np.asarray(scores), rtol=1e-4
    )
    # copy-or-vary changes only the repeat (bar 3): bars 0–2 are sampled as before
    np.testing.assert_array_equal(first[:, : 3 * STEPS_PER_BAR], plain[:, : 3 * STEPS_PER_BAR])


def test_the_step_schedule_primes_a_repeat_with_its_earlier_instance():
    plain = structured_sampling.step_schedule(FORM)
    steps = FORM.total_bars * STEPS_PER_BAR
    np.testing.assert_array_equal(plain[:, 0], np.arange(steps - 1))  # fed = position
    np.testing.assert_array_equal(plain[:, 2], np.arange(1, steps))  # conditioned = written
    np.testing.assert_array_equal(plain[:, 1], plain[:, 0])
    np.testing.assert_array_equal(plain[:, 3], plain[:, 2])
    # the earlier drop is 1 bar long, so 4 requested bars prime 1: the row at position 47
    # becomes 16 rows feeding steps 0–15 at positions 32–47; only the last writes step 48
    primed = structured_sampling.step_schedule(FORM, prime_bars=4)
    assert len(primed) == len(plain) + STEPS_PER_BAR - 1
    block = primed[47 : 47 + STEPS_PER_BAR]
    np.testing.assert_array_equal(block[:, 0], np.arange(16))
    np.testing.assert_array_equal(block[:, 1], np.arange(32, 48))
    np.testing.assert_array_equal(block[:-1, 2], np.arange(1, 16))
    assert (block[:-1, 3] == -1).all() and tuple(block[-1, 2:]) == (48, 48)
    np.testing.assert_array_equal(primed[:47], plain[:47])
    np.testing.assert_array_equal(primed[47 + STEPS_PER_BAR :], plain[48:])
    # a form without repeats has nothing to prime
    np.testing.assert_array_equal(
        structured_sampling.step_schedule(parse_form("intro:2 drop:2"), prime_bars=4),
        structured_sampling.step_schedule(parse_form("intro:2 drop:2")),
    )


def test_copy_or_vary_mixes_the_reference_into_the_tempered_distribution():
    logits = np.random.default_rng(6).normal(0, 2, (3, 512)).astype(np.float32)
    reference = np.array([7, -1, 300])
    for temperature in (0.5, 1.0, 1.5):
        mixed = structured_sampling.copy_or_vary_logits(
            logits, reference, np.float32(0.3), np.float32(temperature)
        )
        probs = np.asarray(jax.nn.softmax(np.asarray(mixed) / temperature, axis=-1))
        expected = 0.7 * np.asarray(jax.nn.softmax(logits / temperature, axis=-1))
        expected[0, 7] += 0.3
        expected[2, 300] += 0.3
        expected[1] = np.asarray(jax.nn.softmax(logits[1] / temperature))  # no reference
        np.testing.assert_allclose(probs, expected, atol=1e-5)
    unchanged = structured_sampling.copy_or_vary_logits(
        logits, reference, np.float32(0.0), np.float32(1.0)
    )
    np.testing.assert_array_equal(np.asarray(unchanged), logits)


def test_full_copy_strength_repeats_the_earlier_section_exactly():
    model = _model()
    form = parse_form("drop:2 breakdown:1 drop:2")
    tracks = structured_sampling.sample(
        model, form=form, num_samples=4, seed=3, copy_strength=1.0, prime_bars=2
    )
    np.testing.assert_array_equal(tracks[:, 48:80], tracks[:, :32])


def test_bad_sampling_requests_raise():
    model = _model()
    with pytest.raises(ParameterError, match="form"):
        structured_sampling.sample(model, form="drop:4")
    with pytest.raises(ParameterError, match="form"):
        parse_form("drop:x")
    with pytest.raises(ModelError, match="temperature"):
        structured_sampling.sample(model, form=FORM, temperature=0)
    with pytest.raises(ModelError, match="num_samples"):
        structured_sampling.sample(model, form=FORM, num_samples=0)
    with pytest.raises(ParameterError, match=r"copy_strength must be in \[0, 1\], got 1.5"):
        structured_sampling.sample(model, form=FORM, copy_strength=1.5)
    with pytest.raises(ParameterError, match="prime_bars must be a whole number"):
        structured_sampling.sample(model, form=FORM, prime_bars=-1)


def test_default_form_is_the_genre_preset_fitted_to_the_bars():
    peak = default_form("techno-house", 60)
    assert peak.to_text() == "intro:8 build:8 drop:16 breakdown:8 build:4 drop:12 outro:4"
    assert default_form("techno-house", 20).to_text() == "intro:8 build:8 drop:4"
    assert default_form("techno-house", 64).to_text() == peak.to_text() + " intro:4"
    assert default_form("jazz-soul", 60).sections[1].label == "head"
    assert default_form(None, 8).total_bars == 8
    with pytest.raises(ParameterError, match="bars"):
        default_form("techno-house", 0)


def _tiny_data():
    """Two 4-bar tracks whose form decides the material: silence in the breakdown, a
    four-on-the-floor kick with off-beat hats in each drop."""
    drop = np.tile(np.array([1, 0, 4, 0], np.int32), 4)
    rows = [np.concatenate([drop, np.zeros(32, np.int32), drop])]
    rows.append(np.concatenate([np.zeros(16, np.int32), drop, drop, np.zeros(16, np.int32)]))
    forms = (FORM, parse_form("breakdown:1 drop:2 breakdown:1"))
    return np.stack(rows), np.array([64, 64]), forms


def test_a_tiny_seeded_run_lowers_the_loss_and_learns_the_controls(tmp_path):
    from drumeval.training.loop import TrainingSchedule, train

    config = dataclasses.replace(TINY, dropout_keep_prob=1.0, learning_rate=1e-2, batch_size=2)
    model = _model(config, random_controls=False)
    ids, lengths, forms = _tiny_data()
    batches = structured.eval_batches(ids, lengths, forms, batch_size=2)
    assert batches[0]["conditions"].shape == (2, 63, CONDITION_SIZE)
    result = train(
        model=model,
        optimizer=structured.make_optimizer(config),
        loss_fn=structured.make_loss_fn(model),
        train_batches=structured.training_batches(
            ids, lengths, forms, batch_size=2, rng=np.random.default_rng(0)
        ),
        eval_batches=lambda: batches,
        schedule=TrainingSchedule(
            num_steps=40, batch_size=2, eval_every_steps=20, log_every_steps=10, patience_evals=None
        ),
        run_dir=tmp_path / "run",
        card={"model": "structured"},
    )
    losses = [entry["loss"] for entry in result.history["train"]]
    assert losses[0] > 4.0  # ≈ ln 512 untrained, averaged over the first 10 steps
    assert result.history["eval"][-1]["loss"] < 0.5 * losses[0], losses
    assert np.abs(model.control_kernel.numpy()).max() > 0.01  # the form is used


def test_batches_are_seeded_and_checked():
    ids, lengths, forms = _tiny_data()
    first = structured.training_batches(
        ids, lengths, forms, batch_size=1, rng=np.random.default_rng(0)
    )
    second = structured.training_batches(
        ids, lengths, forms, batch_size=1, rng=np.random.default_rng(0)
    )
    for _ in range(3):
        a, b = next(first), next(second)
        assert set(a) == {"inputs", "targets", "mask", "conditions"}
        np.testing.assert_array_equal(a["conditions"], b["conditions"])
    with pytest.raises(DatasetError, match="one form and length per example"):
        next(structured.training_batches(ids, lengths, forms[:1], batch_size=1, rng=None))
    with pytest.raises(DatasetError, match="its form has 4 bars"):
        structured.eval_batches(ids, np.array([64, 48]), forms, batch_size=2)
