"""The generic trainer on a tiny regression model: learning, resume, plateau stop, export."""

import json
import re

import keras
import numpy as np
import pytest
from keras import ops

from drumeval.errors import ModelError
from drumeval.models.checkpoints import read_card
from drumeval.training.loop import TrainingSchedule, resume_step, train


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    return model


def _loss_fn(model):
    def loss_fn(trainable, non_trainable, batch, rng, step, training):
        prediction, _ = model.stateless_call(
            trainable, non_trainable, batch["x"], training=training
        )
        loss = ops.mean((prediction[:, 0] - batch["y"]) ** 2)
        return loss, {"mse": loss}

    return loss_fn


def _batches(seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    weights = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    while True:
        x = rng.normal(size=(16, 3)).astype(np.float32)
        yield {"x": x, "y": x @ weights + noise * rng.normal(size=16).astype(np.float32)}


def _eval():
    return [next(_batches(seed=99))]


def _run(
    tmp_path,
    steps,
    resume=False,
    patience=None,
    model=None,
    export_best=True,
    fidelity_fn=None,
    optimizer=None,
    loss_fn=None,
    progress=None,
    **schedule_options,
):
    model = model or _tiny_model()
    schedule = TrainingSchedule(
        num_steps=steps,
        batch_size=16,
        eval_every_steps=20,
        checkpoint_every_steps=20,
        log_every_steps=10,
        patience_evals=patience,
        export_best=export_best,
        **schedule_options,
    )
    result = train(
        model=model,
        optimizer=optimizer or keras.optimizers.Adam(0.05),
        loss_fn=(loss_fn or _loss_fn)(model),
        train_batches=_batches(),
        eval_batches=_eval,
        schedule=schedule,
        run_dir=tmp_path / "run",
        resume=resume,
        card={"model": "tiny"},
        progress=progress,
        fidelity_fn=fidelity_fn,
    )
    return model, result


def test_trainer_learns_and_exports_card(tmp_path):
    model, result = _run(tmp_path, steps=200)
    history = result.history
    assert history["eval"][-1]["loss"] < 0.05 * history["eval"][0]["loss"]
    np.testing.assert_allclose(ops.convert_to_numpy(model.weights[0])[:, 0], [1, -2, 0.5], atol=0.1)
    card = read_card(tmp_path / "run" / "final")
    assert card["model"] == "tiny"
    assert card["training"]["steps"] == 200
    assert card["training"]["best_eval_loss"] == pytest.approx(result.best_eval_loss)
    assert (tmp_path / "run" / "curves.png").stat().st_size > 1000
    assert json.loads((tmp_path / "run" / "history.json").read_text())["train"][-1]["step"] == 200
    reloaded = keras.saving.load_model(tmp_path / "run" / "final" / "model.keras")
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
    )


def test_progress_hears_every_step_with_speed_and_latest_losses(tmp_path):
    reports = []
    _run(tmp_path, steps=20, progress=lambda *report: reports.append(report))
    assert [(done, total) for _, done, total in reports] == [(step, 20) for step in range(1, 21)]
    labels = [label for label, _, _ in reports]
    assert re.fullmatch(r"[\d.]+ steps/s", labels[8])  # step 9: nothing logged yet
    assert re.fullmatch(r"[\d.]+ steps/s  loss [\d.]+", labels[9])  # step 10: first log
    assert re.fullmatch(r"[\d.]+ steps/s  loss [\d.]+  eval [\d.]+", labels[19])  # first eval


def test_resume_continues_from_saved_step(tmp_path):
    _run(tmp_path, steps=40)
    assert resume_step(tmp_path / "run") == 40
    with pytest.raises(ModelError, match="resume must be on"):
        _run(tmp_path, steps=80)
    _, result = _run(tmp_path, steps=80, resume=True)
    assert result.steps == 80
    assert [h["step"] for h in result.history["eval"]] == [20, 40, 60, 80]
    _, finished = _run(tmp_path, steps=80, resume=True)  # nothing left to do
    assert finished.steps == 80
    assert finished.final_train_metrics == result.final_train_metrics


def test_plateau_stops_early(tmp_path):
    _, result = _run(tmp_path, steps=2000, patience=2)
    assert result.stopped_early
    assert result.steps < 2000


def test_schedule_rejects_bad_values():
    with pytest.raises(ModelError):
        TrainingSchedule(num_steps=0, batch_size=1)


def test_export_last_keeps_the_final_weights(tmp_path):
    model, _ = _run(tmp_path, steps=60, export_best=False)
    card = read_card(tmp_path / "run" / "final")
    assert card["training"]["exported_weights"] == "last step"
    with np.load(tmp_path / "run" / "state.npz") as state:
        np.testing.assert_array_equal(ops.convert_to_numpy(model.weights[0]), state["trainable_0"])


def test_fidelity_selects_the_exported_weights_and_is_plotted(tmp_path):
    seen = {}

    def fidelity(weights):
        # Pretend the groove was best at the second evaluation (step 40).
        step = 20 * (len(seen) + 1)
        seen[step] = np.array(weights[0])
        return {"distance": abs(step - 40) / 40, "hits_per_bar": float(step)}

    model, result = _run(tmp_path, steps=100, fidelity_fn=fidelity, fidelity_every_steps=20)
    assert [h["step"] for h in result.history["fidelity"]] == [20, 40, 60, 80, 100]
    np.testing.assert_array_equal(ops.convert_to_numpy(model.weights[0]), seen[40])
    training = read_card(tmp_path / "run" / "final")["training"]
    assert training["exported_step"] == 40
    assert training["exported_weights"].startswith("best groove fidelity")
    assert training["best_eval_step"] == 100  # the loss alone would have picked the last step
    assert (tmp_path / "run" / "curves.png").stat().st_size > 1000


def test_fidelity_patience_stops_when_the_groove_stops_improving(tmp_path):
    def fidelity(weights):
        return {"distance": 1.0}

    _, result = _run(tmp_path, steps=400, patience=2, fidelity_fn=fidelity, fidelity_every_steps=20)
    assert result.stopped_early and result.steps == 60


def test_smoothed_eval_loss_is_the_moving_mean(tmp_path):
    _, result = _run(tmp_path, steps=80, eval_smoothing=3)
    losses = [h["loss"] for h in result.history["eval"]]
    assert result.history["eval"][-1]["loss_smoothed"] == pytest.approx(np.mean(losses[-3:]))
    assert result.history["eval"][0]["loss_smoothed"] == pytest.approx(losses[0])


def test_a_run_whose_gradients_are_all_non_finite_stops_with_a_clear_error(tmp_path):
    from drumeval.models.music_vae import MagentaAdam  # zeroes non-finite gradients

    def overflowing_loss_fn(model):
        plain = _loss_fn(model)

        def loss_fn(trainable, non_trainable, batch, rng, step, training):
            loss, metrics = plain(trainable, non_trainable, batch, rng, step, training)
            weight = trainable[0][0, 0]
            return loss + ops.sqrt(ops.abs(weight - weight)), metrics  # value +0, gradient NaN

        return loss_fn

    with pytest.raises(ModelError, match="stalled at step 20"):
        _run(
            tmp_path,
            steps=100,
            optimizer=MagentaAdam(learning_rate=0.05),
            loss_fn=overflowing_loss_fn,
        )


def _steep_loss_fn(model):
    """The plain loss × 1e7: finite, with a gradient norm far above Magenta's 1e4 limit."""
    plain = _loss_fn(model)

    def loss_fn(trainable, non_trainable, batch, rng, step, training):
        loss, metrics = plain(trainable, non_trainable, batch, rng, step, training)
        return loss * 1e7, metrics

    return loss_fn


def test_a_run_whose_gradients_are_all_above_the_zeroing_limit_stops_and_says_why(tmp_path):
    """Magenta zeroes a gradient whose norm reaches grad_norm_clip_to_zero: no weight moves."""
    from drumeval.models.music_vae import MagentaAdam

    with pytest.raises(ModelError, match=r"stalled at step 20.*grad_norm_clip_to_zero \(10000\)"):
        _run(tmp_path, steps=100, optimizer=MagentaAdam(learning_rate=0.05), loss_fn=_steep_loss_fn)


def test_a_higher_zeroing_limit_lets_the_clipped_gradients_train(tmp_path):
    from drumeval.models.music_vae import MagentaAdam

    model = _tiny_model()
    before = [np.array(v) for v in model.trainable_variables]
    optimizer = MagentaAdam(learning_rate=0.05, grad_norm_clip_to_zero=1e30)
    _, result = _run(tmp_path, steps=40, model=model, optimizer=optimizer, loss_fn=_steep_loss_fn)
    assert result.steps == 40
    assert all(h["zeroed_grad_share"] == 0.0 for h in result.history["train"])
    after = [np.array(v) for v in model.trainable_variables]
    assert any(not np.allclose(b, a) for b, a in zip(before, after, strict=True))


def test_the_history_counts_zeroed_updates(tmp_path):
    from drumeval.models.music_vae import MagentaAdam

    optimizer = MagentaAdam(learning_rate=0.05, grad_norm_clip_to_zero=1e30)
    _, result = _run(tmp_path, steps=20, optimizer=optimizer)
    assert [h["zeroed_grad_share"] for h in result.history["train"]] == [0.0, 0.0]


def test_keep_freed_memory_applies_on_glibc():
    """Run in a fresh interpreter: it changes how this process's malloc behaves."""
    import platform
    import subprocess
    import sys

    code = "from drumeval.training.loop import keep_freed_memory; print(keep_freed_memory())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(platform.libc_ver()[0] == "glibc")


_TINY_RECIPE = {
    "corpus": "techno-house-700",
    "hparams": "rnn_layer_sizes=[8],attn_length=4",
    "steps": 2,
    "eval_every": 2,
    "checkpoint_every": 2,
}


def test_a_recipe_trains_without_a_progress_display(tmp_path):
    from drumeval.training.recipes import train_model

    result = train_model("drums_rnn", **_TINY_RECIPE, run_dir=tmp_path / "run")
    assert read_card(result.checkpoint_dir)["training"]["steps"] == 2


def test_a_missing_warm_start_names_the_init_from_parameter(tmp_path):
    from drumeval.errors import ParameterError
    from drumeval.training.recipes import train_model

    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match=r"^init_from must be a checkpoint folder") as error:
        train_model(
            "drums_rnn", **_TINY_RECIPE, run_dir=tmp_path / "run", init_from=tmp_path / "empty"
        )
    assert error.value.parameter == "init_from"
    assert not (tmp_path / "run" / "final").exists()
