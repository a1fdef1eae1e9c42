"""MusicVAE: Magenta parity, schedules, data slicing, learning, generation, serialization."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from drumeval.data.encoding import music_vae_inputs
from drumeval.errors import MagentaImportError, ModelError
from drumeval.models import music_vae as mv
from drumeval.models import music_vae_decoders as core
from drumeval.models.magenta_io import music_vae as magenta

TINY = dataclasses.replace(
    mv.PRESETS["cat-drums_2bar_small"], enc_rnn_size=(12,), dec_rnn_size=(16, 16), z_size=8
)
TINY_HIER = dataclasses.replace(
    TINY, max_seq_len=32, decoder="hierarchical", level_lengths=(2, 16), enc_rnn_size=(8,)
)
TINY_HIER_AR = dataclasses.replace(TINY_HIER, disable_autoregression=False)
_LOSS = jax.jit(mv.compute_loss, static_argnames=("config", "training"))
FIXTURE_CONFIG = dataclasses.replace(
    mv.PRESETS["cat-drums_2bar_small"],
    enc_rnn_size=(128,),
    dec_rnn_size=(128, 128),
    z_size=64,
    batch_size=32,
)


def _tracks(count=4, steps=32, seed=0):
    """Random but drum-like tracks: kick on the beat, hats on 8ths, random extras."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((count, steps), np.int32)
    ids[:, ::4] |= 1
    ids[:, ::2] |= 4
    ids |= (rng.random((count, steps)) < 0.2) * 2
    return ids


# --------------------------------------------------------------------------- parity


@pytest.fixture(scope="module")
def magenta_variables(magenta_fixtures):
    from drumeval.models.magenta_io.tf_files import read_tf_checkpoint

    return read_tf_checkpoint(magenta_fixtures / "music_vae_ckpt")


@pytest.fixture(scope="module")
def parity(magenta_fixtures):
    return dict(np.load(magenta_fixtures / "music_vae_parity.npz"))


@pytest.fixture(scope="module")
def imported(magenta_variables):
    return magenta.from_variables(magenta_variables, FIXTURE_CONFIG)


def test_parity_encoder_matches_magenta(imported, parity):
    weights = imported.weight_tree()
    inputs = mv.encoder_inputs(parity["target_ids"])
    np.testing.assert_array_equal(np.asarray(inputs), parity["encoder_inputs"])
    encoder_output, mu, sigma = mv.posterior(weights, inputs, jnp.asarray(parity["lengths"]))
    np.testing.assert_allclose(encoder_output, parity["encoder_output"], atol=1e-5)
    np.testing.assert_allclose(mu, parity["mu"], atol=1e-5)
    np.testing.assert_allclose(sigma, parity["sigma"], atol=1e-5)
    np.testing.assert_allclose(mv.kl_divergence(mu, sigma), parity["kl_nats"], atol=1e-5)
    state = core.initial_state(
        weights.decoder.initial_state, jnp.asarray(parity["z"]), weights.decoder.cells
    )
    np.testing.assert_allclose(
        core.flatten_state(state), parity["decoder_initial_state"], atol=1e-5
    )


def test_parity_decoder_matches_magenta(imported, parity):
    outputs = imported({"event_ids": parity["target_ids"], "lengths": parity["lengths"]})
    np.testing.assert_allclose(outputs["logits"], parity["logits"], atol=1e-4)
    log_probs = np.asarray(jax.nn.log_softmax(outputs["logits"]))
    r_loss = -np.take_along_axis(log_probs, parity["target_ids"][..., None], -1)[..., 0].sum(1)
    np.testing.assert_allclose(r_loss, parity["r_loss"], atol=1e-5)
    np.testing.assert_array_equal(
        np.asarray(mv.decoder_inputs(parity["target_ids"])),
        np.where(parity["decoder_inputs_ids"] < 0, core.START_ID, parity["decoder_inputs_ids"]),
    )
    greedy = mv.decode(imported, parity["z"], greedy=True)
    np.testing.assert_array_equal(greedy, parity["greedy_ids"])
    weights = imported.weight_tree()
    hs = mv.decoder_hidden(
        weights, FIXTURE_CONFIG, jnp.asarray(parity["z"]), mv.decoder_inputs(greedy)
    )
    np.testing.assert_allclose(
        core.project(weights.decoder, hs), parity["greedy_logits"], atol=1e-4
    )


def test_parity_loss_fn_r_loss_without_sampling(imported, parity):
    """loss_fn's r_loss with z = mu (sigma → 0) equals Magenta's teacher-forced r_loss."""
    config = dataclasses.replace(FIXTURE_CONFIG, sampling_schedule="constant", sampling_rate=0.0)
    weights = imported.weight_tree()
    weights = weights._replace(
        sigma=mv.Dense(weights.sigma.kernel * 0, weights.sigma.bias * 0 - 30.0)
    )
    batch = {
        "event_ids": parity["target_ids"],
        "lengths": parity["lengths"],
        "weights": np.ones(4, np.float32),
    }
    _, metrics = _LOSS(weights, config, batch, jax.random.PRNGKey(0), 10, True)
    assert float(metrics["r_loss"]) == pytest.approx(parity["r_loss"].mean(), abs=1e-4)
    assert float(metrics["sampling_probability"]) == 0.0


def test_import_rejects_mismatched_sizes(magenta_variables):
    wrong = dataclasses.replace(FIXTURE_CONFIG, z_size=32)
    with pytest.raises(MagentaImportError, match="z_size=64"):
        magenta.from_variables(magenta_variables, wrong)
    with pytest.raises(MagentaImportError, match="no variable"):
        magenta.from_variables(
            {k: v for k, v in magenta_variables.items() if "sigma" not in k}, FIXTURE_CONFIG
        )


# --------------------------------------------------------------------------- config & schedules


def test_presets_and_config_validation():
    small = mv.PRESETS["cat-drums_2bar_small"]
    assert (small.batch_size, small.max_seq_len, small.z_size) == (512, 32, 256)
    assert small.enc_rnn_size == (512,) and small.dec_rnn_size == (256, 256)
    assert mv.PRESETS["thesis-longbar"].max_seq_len == 960
    hier = mv.PRESETS["hier-60bar"]
    assert hier.level_lengths == (60, 16) and hier.bar_steps == 16
    with pytest.raises(ModelError, match="level_lengths"):
        dataclasses.replace(hier, level_lengths=(10, 16))
    with pytest.raises(ModelError, match="inverse_sigmoid"):
        dataclasses.replace(small, sampling_rate=0.5)


def test_preset_checkpoints_stay_small():
    """Parameter counts (float32 bytes) of the presets stay below 20 MB."""
    for config in (TINY, TINY_HIER, TINY_HIER_AR):
        model = mv.MusicVAE(config)
        actual = sum(math.prod(v.shape) for v in model.trainable_variables)
        assert mv.parameter_count(config) == actual
    assert mv.parameter_count(mv.PRESETS["hier-60bar"]) * 4 < 20e6
    assert mv.parameter_count(mv.PRESETS["thesis-longbar"]) * 4 < 20e6


def test_schedules_on_known_steps():
    config = mv.PRESETS["cat-drums_2bar_small"]
    assert float(mv.kl_beta(config, 0)) == 0.0  # 0^0 = 1, as tf.pow
    assert float(mv.kl_beta(config, 1)) == pytest.approx(0.2)
    annealed = dataclasses.replace(config, beta_rate=0.99)
    assert float(mv.kl_beta(annealed, 100)) == pytest.approx((1 - 0.99**100) * 0.2, rel=1e-5)
    assert float(mv.sampling_probability(config, 0)) == pytest.approx(1 - 1000 / 1001, abs=1e-7)
    expected = 1 - 1000 / (1000 + math.exp(5.0))
    assert float(mv.sampling_probability(config, 5000)) == pytest.approx(expected, rel=1e-5)
    assert float(mv.sampling_probability(config, 5000, training=False)) == 1.0
    exponential = dataclasses.replace(config, sampling_schedule="exponential", sampling_rate=0.9)
    assert float(mv.sampling_probability(exponential, 2)) == pytest.approx(0.19)
    off = dataclasses.replace(config, sampling_schedule="constant", sampling_rate=0.0)
    assert float(mv.sampling_probability(off, 10**6, training=False)) == 0.0
    assert float(mv.learning_rate_at(config, 0)) == pytest.approx(1e-3)
    assert float(mv.learning_rate_at(config, 10000)) == pytest.approx(
        (1e-3 - 1e-5) * 0.9999**10000 + 1e-5,
        rel=1e-3,  # float32 pow, as tf.pow
    )
    schedule = mv.make_optimizer(config).learning_rate
    assert float(mv.make_optimizer(config)._learning_rate(10000)) == pytest.approx(
        float(mv.learning_rate_at(config, 10000)), rel=1e-5
    )
    assert float(schedule) == pytest.approx(1e-3)


def test_optimizer_clips_global_norm_and_zeroes_huge_gradients():
    optimizer = mv.make_optimizer(dataclasses.replace(TINY, grad_norm_clip_to_zero=100.0))
    clipped = optimizer._clip_gradients([jnp.array([3.0, 4.0]), jnp.array([0.0])])
    np.testing.assert_allclose(clipped[0], [0.6, 0.8], rtol=1e-6)
    small = optimizer._clip_gradients([jnp.array([0.3, 0.4])])
    np.testing.assert_allclose(small[0], [0.3, 0.4], rtol=1e-6)
    huge = optimizer._clip_gradients([jnp.array([300.0, 400.0])])
    np.testing.assert_array_equal(huge[0], [0.0, 0.0])
    by_value = mv.make_optimizer(dataclasses.replace(TINY, clip_mode="value"))
    np.testing.assert_allclose(by_value._clip_gradients([jnp.array([-3.0, 0.5])])[0], [-1, 0.5])


def test_optimizer_zeroes_non_finite_gradients_as_magenta():
    optimizer = mv.make_optimizer(TINY)
    for bad in (jnp.nan, jnp.inf):
        clipped = optimizer._clip_gradients([jnp.array([bad, 1.0]), jnp.array([2.0])])
        np.testing.assert_array_equal(clipped[0], [0.0, 0.0])
        np.testing.assert_array_equal(clipped[1], [0.0])


def test_log_softplus_is_finite_where_softplus_underflows():
    x = jnp.array([-200.0, -30.0, -5.0, 0.0, 3.0])
    values = mv.log_softplus(x)
    np.testing.assert_allclose(values[2:], np.log(np.log1p(np.exp([-5.0, 0.0, 3.0]))), rtol=1e-6)
    np.testing.assert_allclose(values[:2], [-200.0, -30.0])
    assert not np.isfinite(float(jnp.log(jax.nn.softplus(-200.0))))  # what it replaces
    gradient = jax.grad(lambda v: jnp.sum(mv.log_softplus(v)))(x)
    assert np.isfinite(np.asarray(gradient)).all()
    kl = mv.kl_divergence(
        jnp.zeros((1, 1)),
        jax.nn.softplus(jnp.full((1, 1), -200.0)),
        mv.log_softplus(jnp.full((1, 1), -200.0)),
    )
    assert float(kl[0]) == pytest.approx(0.5 * (-1.0 + 400.0))


def test_eval_loss_is_teacher_forced():
    model = mv.build_model(TINY)
    weights = model.weight_tree()
    batch = {
        "event_ids": _tracks(2, 32),
        "lengths": np.full(2, 32, np.int32),
        "weights": np.ones(2, np.float32),
    }
    forced = dataclasses.replace(TINY, sampling_schedule="constant", sampling_rate=0.0)
    _, eval_metrics = _LOSS(weights, TINY, batch, jax.random.PRNGKey(3), 10**6, False)
    _, forced_metrics = _LOSS(weights, forced, batch, jax.random.PRNGKey(3), 10**6, True)
    assert float(eval_metrics["sampling_probability"]) == 0.0
    assert float(eval_metrics["r_loss"]) == pytest.approx(float(forced_metrics["r_loss"]), rel=1e-5)
    assert 0.0 < float(eval_metrics["posterior_second_moment"]) < 10.0


def test_loss_applies_free_bits_and_beta():
    model = mv.build_model(TINY)
    batch = {"event_ids": _tracks(), "lengths": np.full(4, 32), "weights": np.ones(4, np.float32)}
    weights = model.weight_tree()
    loss, metrics = _LOSS(weights, TINY, batch, jax.random.PRNGKey(1), 0, True)
    # step 0: beta = 0, so the loss is the reconstruction loss alone
    assert float(metrics["beta"]) == 0.0
    assert float(loss) == pytest.approx(float(metrics["r_loss"]), rel=1e-6)
    assert float(metrics["kl_bits"]) == pytest.approx(float(metrics["kl_nats"]) / math.log(2))
    # KL (≈ 1 nat) is under the 48 free bits: no KL cost even with beta = 0.2
    loss, metrics = _LOSS(weights, TINY, batch, jax.random.PRNGKey(1), 5, True)
    assert float(metrics["beta"]) == pytest.approx(0.2)
    assert float(loss) == pytest.approx(float(metrics["r_loss"]), rel=1e-6)
    no_free_bits = dataclasses.replace(TINY, free_bits=0.0)
    _, metrics = _LOSS(weights, no_free_bits, batch, jax.random.PRNGKey(1), 5, True)
    assert float(metrics["loss"]) == pytest.approx(
        float(metrics["r_loss"]) + 0.2 * float(metrics["kl_nats"]), rel=1e-5
    )


def test_padding_rows_and_steps_do_not_count():
    model = mv.build_model(TINY)
    batch = {
        "event_ids": _tracks(),
        "lengths": np.array([32, 16, 0, 0]),
        "weights": np.array([1, 1, 0, 0], np.float32),
    }
    junk = dict(batch, event_ids=batch["event_ids"].copy())
    junk["event_ids"][1, 16:] = 7  # beyond the length
    junk["event_ids"][2:] = 300  # padding rows
    key = jax.random.PRNGKey(0)
    weights = model.weight_tree()
    a = _LOSS(weights, TINY, batch, key, 3, True)[1]
    b = _LOSS(weights, TINY, junk, key, 3, True)[1]
    for name in ("r_loss", "kl_nats", "accuracy", "loss"):
        assert float(a[name]) == pytest.approx(float(b[name]), rel=1e-5), name
    longer = dict(batch, event_ids=np.pad(batch["event_ids"], ((0, 0), (0, 16))))
    longer["lengths"] = np.array([48, 16, 0, 0])  # cropped to max_seq_len, as Magenta
    c = _LOSS(weights, TINY, longer, key, 3, True)[1]
    assert float(c["r_loss"]) == pytest.approx(float(a["r_loss"]), rel=1e-5)


# --------------------------------------------------------------------------- data


def test_encoder_inputs_equal_music_vae_inputs():
    ids = np.array([[0, 1, 5, 511, 256]])
    np.testing.assert_array_equal(np.asarray(mv.encoder_inputs(ids)), music_vae_inputs(ids))


def test_drum_segments_split_on_one_bar_gaps():
    track = np.zeros(96, np.int32)
    track[18] = 1  # bar 1
    track[40] = 2  # bar 2 (gap 21 steps > 16 → new segment)
    track[50] = 4  # 9 steps later: same segment
    segments = mv.drum_segments(track)
    assert [len(s) for s in segments] == [16, 32]
    assert segments[0][2] == 1 and segments[1][8] == 2 and segments[1][18] == 4
    assert [len(s) for s in mv.drum_segments(track, gap_bars=None)] == [48]
    assert mv.drum_segments(np.zeros(32, np.int32)) == []


def test_slice_examples_hop_one_bar_and_dedupe():
    bar_a = np.full(16, 1, np.int32)
    bar_b = np.full(16, 2, np.int32)
    track = np.concatenate([bar_a, bar_a, bar_a, bar_b, np.zeros(16, np.int32)])
    ids, lengths = mv.slice_examples(track[None], np.array([80]), 32)
    # windows ending at 32, 48, 64: [a a], [a a] (duplicate), [a b]
    assert ids.shape == (2, 32) and lengths.tolist() == [32, 32]
    np.testing.assert_array_equal(ids[1], np.concatenate([bar_a, bar_b]))
    ids, _ = mv.slice_examples(track[None], np.array([48]), 32)  # length cuts the track
    assert len(ids) == 1
    ids, _ = mv.slice_examples(track[None], np.array([80]), 32, hop_steps=32)
    assert len(ids) == 2  # windows ending at 32 and 64 (the silent last bar is trimmed)


def test_prepare_examples_keeps_whole_tracks_for_long_models():
    tracks = _tracks(3, 64)
    ids, lengths = mv.prepare_examples(tracks, np.array([64, 0, 32]), 96)
    assert ids.shape == (2, 96) and lengths.tolist() == [64, 32]


def test_batches_have_fixed_shapes_and_masks():
    tracks = _tracks(5, 32)
    lengths = np.full(5, 32)
    stream = mv.training_batches(tracks, lengths, batch_size=4, rng=np.random.default_rng(0))
    seen = [next(stream) for _ in range(5)]
    assert all(b["event_ids"].shape == (4, 32) for b in seen)
    assert all(b["weights"].sum() == 4 for b in seen)
    evals = mv.eval_batches(tracks, lengths, batch_size=4)
    assert len(evals) == 2 and evals[1]["weights"].tolist() == [1, 0, 0, 0]
    assert evals[1]["lengths"].tolist() == [32, 0, 0, 0]
    sliced = next(
        mv.training_batches(
            _tracks(2, 64),
            np.array([64, 64]),
            batch_size=3,
            rng=np.random.default_rng(0),
            max_seq_len=32,
        )
    )
    assert sliced["event_ids"].shape == (3, 32)


# --------------------------------------------------------------------------- model


@pytest.mark.parametrize("config", [TINY, TINY_HIER, TINY_HIER_AR], ids=["flat", "hier", "hier-ar"])
def test_shapes_loss_and_sampling_for_each_decoder(config):
    model = mv.build_model(config)
    ids = _tracks()
    outputs = model({"event_ids": ids, "lengths": np.array([32, 16, 32, 32])})
    assert outputs["logits"].shape == (4, 32, 512)
    assert outputs["mu"].shape == outputs["sigma"].shape == (4, 8)
    batch = {"event_ids": ids, "lengths": np.full(4, 32), "weights": np.ones(4, np.float32)}
    loss, metrics = _LOSS(model.weight_tree(), config, batch, jax.random.PRNGKey(0), 100, True)
    assert np.isfinite(float(loss))
    assert set(metrics) == {
        "loss",
        "r_loss",
        "kl_nats",
        "kl_bits",
        "beta",
        "sampling_probability",
        "accuracy",
        "posterior_second_moment",
    }
    samples = mv.sample(model, num_samples=2, seed=3)
    assert samples.shape == (2, 32) and samples.dtype == np.int32
    assert samples.min() >= 0 and samples.max() < 512


def test_lstm_sequence_gradient_equals_autodiff():
    """The hand-written backward pass matches JAX's autodiff of the same loop (two cells)."""
    rng = np.random.default_rng(0)
    steps, batch, units = 6, 3, 4

    def normal(*shape, scale=1.0):
        return jnp.asarray(rng.normal(size=shape) * scale, jnp.float32)

    gates = tuple(normal(steps, batch, 4 * units) for _ in range(2))
    recurrent = tuple(normal(units, 4 * units, scale=0.5) for _ in range(2))
    c0 = tuple(normal(batch, units) for _ in range(2))
    h0 = tuple(normal(batch, units) for _ in range(2))
    valid = jnp.asarray(np.arange(steps)[:, None] < np.array([6, 3, 0])[None, :])
    weights = tuple(normal(steps, batch, units) for _ in range(2))

    def reference(*args):
        hs, _, cs = core._lstm_sequence_forward(*args, valid)
        parts = zip(hs, cs, weights, strict=True)
        return sum(jnp.sum(h * w) + jnp.sum(c[-1] ** 2) for h, c, w in parts)

    def custom(*args):
        hs, c_final = core.lstm_sequence(*args, valid)
        parts = zip(hs, c_final, weights, strict=True)
        return sum(jnp.sum(h * w) + jnp.sum(c**2) for h, c, w in parts)

    arguments = (gates, recurrent, c0, h0)
    assert float(custom(*arguments)) == pytest.approx(float(reference(*arguments)), rel=1e-6)
    expected = jax.tree_util.tree_leaves(jax.grad(reference, argnums=(0, 1, 2, 3))(*arguments))
    actual = jax.tree_util.tree_leaves(jax.grad(custom, argnums=(0, 1, 2, 3))(*arguments))
    assert len(actual) == len(expected) == 8
    for a, b in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_dropout_only_in_training():
    config = dataclasses.replace(TINY, dropout_keep_prob=0.5)
    weights = mv.build_model(config).weight_tree()
    batch = {"event_ids": _tracks(), "lengths": np.full(4, 32), "weights": np.ones(4, np.float32)}
    key = jax.random.PRNGKey(0)
    dropped = _LOSS(weights, config, batch, key, 3, True)[1]["r_loss"]
    plain = _LOSS(weights, TINY, batch, key, 3, True)[1]["r_loss"]
    assert np.isfinite(float(dropped)) and abs(float(dropped) - float(plain)) > 1e-3
    evaluated = _LOSS(weights, config, batch, key, 3, False)[1]["r_loss"]
    reference = _LOSS(weights, TINY, batch, key, 3, False)[1]["r_loss"]
    assert float(evaluated) == pytest.approx(float(reference), rel=1e-6)


def test_scheduled_sampling_changes_inputs_only_when_sampling():
    model = mv.build_model(TINY)
    weights = model.weight_tree().decoder
    z = jnp.ones((2, 8))
    prev = mv.decoder_inputs(_tracks(2))
    forced, _ = core.decode_teacher_forced(weights, z, prev)
    never, _ = core.decode_teacher_forced(
        weights, z, prev, sampling_probability=0.0, key=jax.random.PRNGKey(0)
    )
    always, _ = core.decode_teacher_forced(
        weights, z, prev, sampling_probability=1.0, key=jax.random.PRNGKey(0)
    )
    np.testing.assert_allclose(never, forced, atol=1e-6)
    np.testing.assert_allclose(always[:, 0], forced[:, 0], atol=1e-6)  # step 0 reads START
    assert np.abs(np.asarray(always[:, 1:] - forced[:, 1:])).max() > 1e-4


def test_scheduled_sampling_gradient_equals_step_by_step_autodiff():
    """Replaying the sampling pre-pass gives the gradient of differentiating that pass itself."""
    weights = mv.build_model(TINY).weight_tree().decoder
    rng = np.random.default_rng(1)
    z = jnp.asarray(rng.normal(size=(2, 8)), jnp.float32)
    prev = mv.decoder_inputs(_tracks(2))
    key = jax.random.PRNGKey(3)
    target = jnp.asarray(rng.normal(size=(2, 32, 16)), jnp.float32)

    def score(hs, final):
        return jnp.sum(hs * target) + jnp.sum(core.flatten_state(final) ** 2)

    def replayed(w, z):
        return score(*core.decode_teacher_forced(w, z, prev, sampling_probability=0.5, key=key))

    def step_by_step(w, z):
        hs, final, _, _ = core._interleaved_decode(w, z, prev, 0.5, key, 1.0)
        return score(hs, final)

    inputs_read = core._interleaved_decode(weights, z, prev, 0.5, key, 1.0)[2]
    assert np.mean(np.asarray(inputs_read) != np.asarray(prev)) > 0.2  # many inputs sampled
    assert float(replayed(weights, z)) == pytest.approx(float(step_by_step(weights, z)), rel=1e-5)
    expected = jax.tree_util.tree_leaves(jax.grad(step_by_step, argnums=(0, 1))(weights, z))
    actual = jax.tree_util.tree_leaves(jax.grad(replayed, argnums=(0, 1))(weights, z))
    assert len(actual) == len(expected) > 5
    for a, b in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_hierarchical_bar_starts_from_previous_bar_last_target():
    model = mv.build_model(TINY_HIER)
    weights = model.weight_tree()
    ids = _tracks(1)
    z = jnp.ones((1, 8))
    base = mv.decoder_hidden(weights, TINY_HIER, z, mv.decoder_inputs(ids))
    changed_ids = ids.copy()
    changed_ids[0, 15] ^= 256  # last step of bar 0
    changed = mv.decoder_hidden(weights, TINY_HIER, z, mv.decoder_inputs(changed_ids))
    np.testing.assert_allclose(changed[:, :16], base[:, :16], atol=1e-6)
    assert np.abs(np.asarray(changed[:, 16] - base[:, 16])).max() > 1e-6  # first step of bar 1


def test_encoder_ignores_steps_beyond_length():
    model = mv.build_model(TINY)
    ids = _tracks(1)
    mu_short, sigma_short = mv.encode(model, ids[:, :20], [20])
    noisy = ids.copy()
    noisy[0, 20:] = 9
    mu_padded, _ = mv.encode(model, noisy, [20])
    np.testing.assert_allclose(mu_padded, mu_short, atol=1e-6)
    assert sigma_short.shape == (1, 8)


def _overfit(config, steps):
    """Train on two tracks whose next event follows from the previous one; r_loss history."""
    model = mv.build_model(config, seed=0)
    optimizer = keras.optimizers.Adam(learning_rate=0.05)
    trainable = [v.value for v in model.trainable_variables]
    optimizer.build(model.trainable_variables)
    opt_state = [v.value for v in optimizer.variables]
    ids = np.stack([np.tile([1, 2, 4, 8], 8), np.tile([16, 32, 64, 128], 8)]).astype(np.int32)
    batch = {"event_ids": ids, "lengths": np.full(2, 32), "weights": np.ones(2, np.float32)}

    @jax.jit
    def train_step(trainable, opt_state, key, step):
        (_, metrics), grads = jax.value_and_grad(model.loss_fn, has_aux=True)(
            trainable, [], batch, key, step, True
        )
        trainable, opt_state = optimizer.stateless_apply(opt_state, grads, trainable)
        return trainable, opt_state, metrics

    history = []
    for step in range(steps):
        trainable, opt_state, metrics = train_step(
            trainable, opt_state, jax.random.PRNGKey(step), np.int32(step)
        )
        history.append(float(metrics["r_loss"]))
    return history


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "fraction"),
    [(TINY, 0.3), (TINY_HIER, 0.3)],
    ids=["flat", "hier"],
)
def test_overfits_a_tiny_batch(config, fraction):
    """r_loss falls from 32·ln 512 ≈ 200 past the input-blind optimum 32·ln 8 ≈ 66.5.

    (Magenta's initialisation gives small LSTMs a long plateau at the unigram solution;
    32 units and a large learning rate get past it in 100 steps.)
    """
    history = _overfit(dataclasses.replace(config, dec_rnn_size=(32, 32)), 100)
    assert history[0] == pytest.approx(32 * math.log(512), rel=0.01)
    assert history[-1] < fraction * history[0]


@pytest.mark.slow
def test_trains_with_the_generic_trainer_and_reloads(tmp_path):
    from drumeval.models.checkpoints import load_checkpoint
    from drumeval.training.loop import TrainingSchedule, train

    config = dataclasses.replace(TINY, batch_size=4)
    model = mv.build_model(config)
    tracks, lengths = _tracks(6, 64), np.full(6, 64)
    result = train(
        model=model,
        optimizer=mv.make_optimizer(config),
        loss_fn=mv.make_loss_fn(model),
        train_batches=mv.training_batches(
            tracks, lengths, batch_size=4, rng=np.random.default_rng(0), max_seq_len=32
        ),
        eval_batches=lambda: mv.eval_batches(tracks, lengths, batch_size=4, max_seq_len=32),
        schedule=TrainingSchedule(num_steps=4, batch_size=4, eval_every_steps=2, log_every_steps=2),
        run_dir=tmp_path / "run",
        card={"model": "music_vae", "preset": "tiny"},
    )
    assert result.steps == 4 and np.isfinite(result.final_eval_metrics["loss"])
    # Teacher-forced eval (a deliberate deviation: Magenta evaluates free-running).
    assert result.final_eval_metrics["sampling_probability"] == 0.0
    loaded, card = load_checkpoint(tmp_path / "run" / "final")
    assert isinstance(loaded, mv.MusicVAE) and card["model"] == "music_vae"
    np.testing.assert_array_equal(
        mv.sample(loaded, num_samples=2, seed=1), mv.sample(model, num_samples=2, seed=1)
    )


# --------------------------------------------------------------------------- generation


def test_sampling_is_deterministic_per_seed():
    model = mv.build_model(TINY)
    a = mv.sample(model, num_samples=2, seed=7)
    np.testing.assert_array_equal(a, mv.sample(model, num_samples=2, seed=7))
    assert not np.array_equal(a, mv.sample(model, num_samples=2, seed=8))
    z = np.ones((2, 8), np.float32)
    np.testing.assert_array_equal(
        mv.decode(model, z, seed=1, greedy=True), mv.decode(model, z, seed=2, greedy=True)
    )
    assert mv.sample(model, num_samples=1, num_steps=64).shape == (1, 64)
    with pytest.raises(ModelError, match="temperature"):
        mv.sample(model, num_samples=1, temperature=0.0)
    with pytest.raises(ModelError, match="whole bars"):
        mv.sample(mv.build_model(TINY_HIER), num_samples=1, num_steps=20)


def test_interpolation_path_ends_at_the_posterior_means():
    model = mv.build_model(TINY)
    a, b = _tracks(2)
    mu, _ = mv.encode(model, np.stack([a, b]))
    path = mv.interpolation_latents(model, a, b, num_interpolations=5)
    np.testing.assert_allclose(path[0], mu[0], atol=1e-6)
    np.testing.assert_allclose(path[-1], mu[1], atol=1e-6)
    norms = np.linalg.norm(path, axis=1)
    assert norms.min() > 0.5 * min(norms[0], norms[-1])  # slerp does not shrink towards 0
    tracks = mv.interpolate(model, a, b, num_interpolations=5, seed=1)
    assert tracks.shape == (5, 32) and tracks.dtype == np.int32
    reconstructed = mv.reconstruct(model, np.stack([a, b]), seed=1)
    assert reconstructed.shape == (2, 32)


def test_slerp_endpoints_and_parallel_vectors():
    p0, p1 = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    np.testing.assert_allclose(mv.slerp(p0, p1, 0.0), p0, atol=1e-12)
    np.testing.assert_allclose(mv.slerp(p0, p1, 1.0), p1, atol=1e-12)
    np.testing.assert_allclose(mv.slerp(p0, 2 * p0, 0.5), 1.5 * p0)


def test_latent_walk_returns_60_bars_through_the_anchors():
    model = mv.build_model(TINY)
    track = mv.latent_walk(model, bars=60, seed=2)
    assert track.shape == (960,) and track.dtype == np.int32
    np.testing.assert_array_equal(track, mv.latent_walk(model, bars=60, seed=2))
    z = mv.latent_walk_latents(model, bars=60, seed=2, anchor_every_bars=8)
    assert z.shape == (30, 8)
    anchors = np.random.default_rng(2).standard_normal((9, 8))
    np.testing.assert_allclose(z[0], anchors[0], atol=1e-6)
    np.testing.assert_allclose(z[4], anchors[1], atol=1e-6)  # bar 8
    steps = np.linalg.norm(np.diff(z, axis=0), axis=1)
    assert steps.max() < np.linalg.norm(anchors[1] - anchors[0]) * 2
