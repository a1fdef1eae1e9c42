"""DrumsRNN: Magenta parity, training pieces, serialization, sampling and beam search."""

import dataclasses

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from drumeval.errors import DatasetError, MagentaImportError, ModelError
from drumeval.models import drums_rnn as dr
from drumeval.models import drums_rnn_sampling as ds
from drumeval.models.hparams import apply_overrides
from drumeval.models.magenta_io import drums_rnn as magenta

TINY = dr.DrumsRnnConfig(
    batch_size=2, rnn_layer_sizes=(8, 6), attn_length=3, dropout_keep_prob=0.5, learning_rate=1e-2
)


def _model(config=TINY, seed=0):
    keras.utils.set_random_seed(seed)
    return dr.DrumsRNN(config)


def _ids(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 512, size=shape).astype(np.int32)


# ----------------------------------------------------------------------------- config


def test_presets_match_magenta_and_thesis():
    kit, thesis = dr.PRESETS["magenta_drum_kit"], dr.PRESETS["thesis"]
    assert (kit.batch_size, kit.rnn_layer_sizes, kit.attn_length) == (128, (256, 256, 256), 32)
    assert (thesis.batch_size, thesis.rnn_layer_sizes, thesis.attn_length) == (1, (64, 64), 64)
    for config in (kit, thesis):
        assert (config.dropout_keep_prob, config.clip_norm, config.learning_rate) == (0.5, 3, 1e-3)
        assert config.residual_connections is False


@pytest.mark.parametrize(
    "changes",
    [
        {"rnn_layer_sizes": ()},
        {"rnn_layer_sizes": (64, 0)},
        {"attn_length": -1},
        {"dropout_keep_prob": 0.0},
        {"dropout_keep_prob": 1.5},
        {"clip_norm": -1.0},
        {"learning_rate": 0.0},
        {"batch_size": 0},
        {"residual_connections": True},
    ],
)
def test_bad_config_values_raise_model_error(changes):
    with pytest.raises(ModelError):
        dataclasses.replace(TINY, **changes)


def test_hparam_overrides_apply_and_validate():
    config = apply_overrides(dr.PRESETS["thesis"], "rnn_layer_sizes=[128,128],attn_length=16")
    assert config.rnn_layer_sizes == (128, 128) and config.attn_length == 16
    with pytest.raises(ModelError):
        apply_overrides(dr.PRESETS["thesis"], "dropout_keep_prob=2.0")


# ----------------------------------------------------------------------------- forward


def test_logits_shape_with_and_without_attention():
    for config in (TINY, dataclasses.replace(TINY, attn_length=0)):
        logits = _model(config)(_ids((2, 7)))
        assert logits.shape == (2, 7, 512)
        assert np.isfinite(np.asarray(logits)).all()


def test_teacher_forcing_equals_step_by_step_across_window_wraps():
    model = _model()
    ids = _ids((2, 7))  # 7 steps > attn_length 3: the ring buffer wraps twice
    logits, final = dr.forward_sequence(model.params(), model.config, jnp.asarray(ids))
    state = dr.zero_state(model.config, 2)
    stepped = []
    for t in range(7):
        step_logits, state = dr.step(model.params(), state, ids[:, t], t)
        stepped.append(step_logits)
    np.testing.assert_allclose(np.stack(stepped, 1), logits, atol=1e-5)
    np.testing.assert_allclose(
        dr.magenta_flat_state(state, 7), dr.magenta_flat_state(final, 7), atol=1e-5
    )


@pytest.mark.parametrize("attn_length", [3, 0])
def test_sequence_gradients_equal_autodiff_through_steps(attn_length):
    """The hand-written backward passes (attention replay, hoisted weight gradients)."""
    config = dataclasses.replace(TINY, attn_length=attn_length)
    params = _model(config).params()
    ids = jnp.asarray(_ids((2, 7)))
    rng = np.random.default_rng(1)
    weights = jnp.asarray(rng.normal(size=(2, 7, 512)).astype(np.float32))
    probes = [
        jnp.asarray(rng.normal(size=leaf.shape).astype(np.float32))
        for leaf in jax.tree_util.tree_leaves(dr.zero_state(config, 2))
    ]

    def objective(logits, state):  # depends on the final state too (window included)
        leaves = jax.tree_util.tree_leaves(state)
        return jnp.sum(logits * weights) + sum(
            jnp.sum(a * b) for a, b in zip(leaves, probes, strict=True)
        )

    def by_sequence(params):
        return objective(*dr.forward_sequence(params, config, ids))

    def by_steps(params):  # plain autodiff through a scan of the sampling step
        prepared = dr.prepare(params)

        def body(state, inputs):
            logits, state = dr.step_prepared(prepared, state, *inputs)
            return state, logits

        inputs = (ids.T, jnp.arange(7, dtype=jnp.int32))
        state, logits = jax.lax.scan(body, dr.zero_state(config, 2), inputs)
        return objective(jnp.swapaxes(logits, 0, 1), state)

    expected = jax.tree_util.tree_leaves(jax.jit(jax.grad(by_steps))(params))
    got_all = jax.tree_util.tree_leaves(jax.jit(jax.grad(by_sequence))(params))
    for got, want in zip(got_all, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=2e-5)


def test_dropout_is_driven_by_the_explicit_key():
    model = _model()
    ids = _ids((2, 5))
    key = jax.random.PRNGKey(3)
    a = model(ids, training=True, dropout_key=key)
    b = model(ids, training=True, dropout_key=key)
    c = model(ids, training=True, dropout_key=jax.random.PRNGKey(4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a, model(ids))
    with pytest.raises(ModelError, match="dropout_key"):
        model(ids, training=True)


# ----------------------------------------------------------------------------- Magenta parity


@pytest.fixture(scope="module")
def magenta_model(magenta_fixtures):
    return magenta.import_magenta(magenta_fixtures / "drums_rnn_small.mag")


def _check_parity(model, fixtures):
    data = np.load(fixtures / "drums_rnn_parity.npz")
    ids = data["event_ids"][:, :-1]
    logits, final = dr.forward_sequence(model.params(), model.config, jnp.asarray(ids))
    np.testing.assert_allclose(logits, data["logits"], atol=1e-4)
    np.testing.assert_allclose(jax.nn.softmax(logits), data["softmax"], atol=1e-5)
    np.testing.assert_allclose(
        dr.magenta_flat_state(final, ids.shape[1]), data["final_state"], rtol=1e-5, atol=2e-5
    )
    scored = dr.log_likelihood(model, data["event_ids"])
    np.testing.assert_allclose(scored, data["log_likelihood"].sum(1), rtol=1e-5)


def test_mag_bundle_reproduces_magenta_outputs(magenta_model, magenta_fixtures):
    assert magenta_model.config.rnn_layer_sizes == (64, 64)
    assert magenta_model.config.attn_length == 64  # read from the bundle's graph
    _check_parity(magenta_model, magenta_fixtures)


def test_tf_checkpoint_reproduces_magenta_outputs(magenta_fixtures):
    model = magenta.import_magenta(magenta_fixtures / "drums_rnn_ckpt", hparams="attn_length=64")
    _check_parity(model, magenta_fixtures)


def test_replaying_magentas_uniforms_gives_its_generated_track(magenta_model, magenta_fixtures):
    data = np.load(magenta_fixtures / "drums_rnn_generated_seed.npz")
    events, _ = ds.sample_from_uniforms(magenta_model, data["uniforms"][None])
    mismatches = int(np.sum(events[0] != data["event_ids"]))
    assert mismatches <= 2, f"{mismatches} of 960 events differ"  # measured: 0


def test_checkpoint_without_graph_needs_attn_length(magenta_fixtures):
    with pytest.raises(MagentaImportError, match="attn_length"):
        magenta.import_magenta(magenta_fixtures / "drums_rnn_ckpt")


def test_import_reports_missing_and_misshapen_variables(magenta_model):
    variables = {
        name: np.asarray(variable)
        for name, key in magenta._magenta_names(magenta_model.config)
        for variable in [magenta._weight(magenta_model, key)]
    }
    fresh = dr.DrumsRNN(magenta_model.config)
    missing = dict(variables)
    del missing["fully_connected/biases"]
    with pytest.raises(MagentaImportError, match="fully_connected/biases"):
        magenta._assign(fresh, missing)
    misshapen = {**variables, "fully_connected/weights": np.zeros((32, 512), np.float32)}
    with pytest.raises(MagentaImportError, match="shape"):
        magenta._assign(fresh, misshapen)
    with pytest.raises(MagentaImportError, match="not use"):
        magenta._assign(fresh, {**variables, "rnn/extra": np.zeros(3)})


# ----------------------------------------------------------------------------- training


def test_loss_and_metrics_on_hand_built_logits():
    logits = np.full((1, 3, 512), -10.0, np.float32)
    logits[0, 0, 0] = logits[0, 1, 0] = logits[0, 2, 5] = 10.0  # predicts 0, 0, 5
    targets = np.array([[0, 7, 0]], np.int32)
    mask = np.array([[1.0, 1.0, 0.0]], np.float32)  # step 2 is padding
    loss, metrics = dr.sequence_loss(jnp.asarray(logits), jnp.asarray(targets), jnp.asarray(mask))
    nll_hit = -jax.nn.log_softmax(jnp.asarray(logits[0, 1]))[7]
    assert float(loss) == pytest.approx((0.0 + float(nll_hit)) / 2, rel=1e-4)
    assert float(metrics["perplexity"]) == pytest.approx(float(np.exp(loss)), rel=1e-5)
    assert float(metrics["accuracy"]) == 0.5
    assert float(metrics["event_accuracy"]) == 0.0
    assert float(metrics["no_event_accuracy"]) == 1.0


def test_batches_shift_targets_and_mask_padding():
    ids = np.array([[1, 2, 3, 4, 0, 0], [5, 6, 7, 0, 0, 0], [9, 0, 0, 0, 0, 0]], np.int32)
    lengths = np.array([4, 3, 1])  # the 1-step track cannot give a target: dropped
    batch = next(dr.training_batches(ids, lengths, batch_size=3, rng=np.random.default_rng(0)))
    assert batch["inputs"].shape == batch["targets"].shape == batch["mask"].shape == (3, 3)
    row = int(np.flatnonzero(batch["inputs"][:, 0] == 1)[0])
    np.testing.assert_array_equal(batch["inputs"][row], [1, 2, 3])
    np.testing.assert_array_equal(batch["targets"][row], [2, 3, 4])
    evals = dr.eval_batches(ids, lengths, batch_size=4)
    assert len(evals) == 1 and evals[0]["mask"].shape == (4, 3)
    np.testing.assert_array_equal(evals[0]["mask"].sum(1), [3, 2, 0, 0])
    with pytest.raises(DatasetError):
        dr.eval_batches(ids[2:], lengths[2:], batch_size=1)


def test_overfits_a_tiny_batch_with_clipped_adam():
    config = dataclasses.replace(
        TINY, rnn_layer_sizes=(16,), attn_length=4, dropout_keep_prob=1.0, learning_rate=1e-2
    )
    model = _model(config)
    optimizer = dr.make_optimizer(model.config)
    assert optimizer.global_clipnorm == 3.0
    ids = np.tile(np.array([1, 0, 4, 0, 2, 0, 4, 0], np.int32), 3)[None].repeat(2, 0)
    batch = dr.eval_batches(ids, np.array([24, 24]), batch_size=2)[0]
    loss_fn = dr.make_loss_fn(model)
    optimizer.build(model.trainable_variables)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    opt_state = [v.value for v in optimizer.variables]

    @jax.jit
    def train_step(trainable, opt_state, key):
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, _), grads = grad_fn(trainable, non_trainable, batch, key, 0, True)
        trainable, opt_state = optimizer.stateless_apply(opt_state, grads, trainable)
        return trainable, opt_state, loss

    losses = []
    for step in range(50):
        trainable, opt_state, loss = train_step(trainable, opt_state, jax.random.PRNGKey(step))
        losses.append(float(loss))
    final, metrics = loss_fn(trainable, non_trainable, batch, jax.random.PRNGKey(0), 0, False)
    assert losses[0] > 5.5  # ≈ ln 512 untrained
    assert float(final) < 1.5, losses  # measured 1.11 (the beat needs the counters)
    assert float(metrics["accuracy"]) > 0.5


# ----------------------------------------------------------------------------- sampling


def test_sampling_is_deterministic_batched_and_keeps_the_primer():
    model = _model()
    primer = np.array([1, 0, 4], np.int32)
    a = ds.sample(model, num_samples=3, num_steps=20, seed=5, primer_event_ids=primer)
    b = ds.sample(model, num_samples=3, num_steps=20, seed=5, primer_event_ids=primer)
    c = ds.sample(model, num_samples=3, num_steps=20, seed=6, primer_event_ids=primer)
    assert a.shape == (3, 20) and a.dtype == np.int32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(a[:, :3], np.tile(primer, (3, 1)))
    assert a.min() >= 0 and a.max() < 512
    default = ds.sample(model, num_steps=10)
    assert default.shape == (1, 10) and default[0, 0] == 1  # Magenta's default primer: a kick


def test_low_temperature_follows_the_argmax_path(magenta_model):
    """A trained model (an untrained one's logits are too flat for T = 0.01 to be greedy)."""
    events = ds.sample(magenta_model, num_samples=2, num_steps=24, temperature=0.01, seed=1)
    params, state = magenta_model.params(), dr.zero_state(magenta_model.config, 1)
    greedy = [1]
    for t in range(23):
        logits, state = dr.step(params, state, np.array([greedy[-1]]), t)
        greedy.append(int(np.argmax(logits[0])))
    np.testing.assert_array_equal(events, [greedy, greedy])
    assert len(set(greedy)) > 1


def test_bad_sampling_requests_raise():
    model = _model()
    with pytest.raises(ModelError, match="shorter"):
        ds.sample(model, num_steps=3, primer_event_ids=np.array([1, 2, 3]))
    with pytest.raises(ModelError):
        ds.sample(model, num_steps=8, primer_event_ids=np.array([600]))
    with pytest.raises(ModelError):
        ds.sample(model, num_steps=8, temperature=0.0)
    with pytest.raises(ModelError):
        ds.sample(model, num_steps=8, beam_size=0)


def test_branching_keeps_the_most_likely_candidate():
    """One iteration of 4 branches = 4 plain samples with the same uniforms; keep the best."""
    model = _model(seed=2)
    steps, seed = 10, 7
    best = ds.sample(model, num_steps=steps, seed=seed, branch_factor=4, steps_per_iteration=9)
    uniforms = np.asarray(jax.random.uniform(jax.random.PRNGKey(seed), (steps - 1, 1, 4)))
    candidates, scores = ds.sample_from_uniforms(model, uniforms[:, 0, :].T)
    np.testing.assert_array_equal(best[0], candidates[np.argmax(scores)])
    np.testing.assert_allclose(dr.log_likelihood(model, candidates), scores, rtol=1e-5)


def test_beam_search_beats_plain_sampling_on_log_likelihood():
    model = _model(seed=3)
    kwargs = {"num_samples": 4, "num_steps": 24, "seed": 11}
    plain = dr.log_likelihood(model, ds.sample(model, **kwargs))
    beam = dr.log_likelihood(
        model, ds.sample(model, beam_size=3, branch_factor=3, steps_per_iteration=2, **kwargs)
    )
    assert beam.mean() > plain.mean()
