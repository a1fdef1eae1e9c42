"""A model-agnostic, compiled training loop for Keras 3 models on the JAX backend.

Each model module supplies a pure `loss_fn`, an optimizer and batch iterators; this module
owns everything else: the `jax.jit`-compiled train and eval steps (Keras' stateless API),
periodic evaluation, early stopping on a plateau, resumable checkpoints, TensorBoard logs,
a PNG of the curves, progress reports (`drumeval.progress`: the step, with steps/s and the
latest losses as the label) and the final model card.

Which weights are exported (issue 18): a loss can fall while the samples still place hits
at random, so when the caller passes a `fidelity_fn` (samples the current weights and
compares their groove with the corpus) the weights with the lowest fidelity distance are
exported and the plateau counts fidelity evaluations. Without one, the eval loss is
smoothed over `eval_smoothing` evaluations before it selects weights or stops the run: a
70-example eval split at batch 1 is too noisy to stop on a single evaluation.

Resuming restores weights, optimizer state, step, RNG key and history exactly; the
training data order after a resume is re-seeded from `(seed, step)`, so a resumed run is
statistically, not bit-for-bit, the same as an uninterrupted one.
"""

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from drumeval.errors import ModelError, ParameterError
from drumeval.progress import ProgressCallback, no_progress

Batch = dict[str, np.ndarray]
LossFn = Callable[..., tuple[Any, dict[str, Any]]]

STATE_FILE = "state.npz"
HISTORY_FILE = "history.json"
CURVES_FILE = "curves.png"
FINAL_DIR = "final"


# glibc `mallopt` options: M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX.
_KEEP_FREED_MEMORY = ((-1, 2**31 - 1), (-4, 0), (-8, 1))


def keep_freed_memory() -> bool:
    """Make glibc reuse freed memory rather than hand it back; call before JAX starts.

    XLA CPU allocates each step's large temporaries afresh (hundreds of MB at MusicVAE
    batch 512) and glibc maps and unmaps blocks that big, so every step faulted them in
    again: about 450,000 page faults and 0.8 s of kernel time per 5.4 CPU-second step. One
    arena, no mmap and no trim keep them in the heap. JAX's worker threads must not have
    arenas of their own yet (those mmap large blocks regardless), hence "before JAX".
    Returns whether it applied (glibc only).
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(option, value) == 1 for option, value in _KEEP_FREED_MEMORY)


@dataclass(frozen=True)
class TrainingSchedule:
    """How long to train and how often to evaluate, checkpoint and log."""

    num_steps: int
    batch_size: int
    eval_every_steps: int = 200
    checkpoint_every_steps: int = 200
    log_every_steps: int = 10
    patience_evals: int | None = 5
    seed: int = 0
    export_best: bool = True  # False: export the last weights (for noisy eval losses)
    eval_smoothing: int = 1  # moving mean over this many eval losses selects and stops
    fidelity_every_steps: int | None = None  # with a fidelity_fn: sample and compare this often

    def __post_init__(self) -> None:
        for name in (
            "num_steps",
            "batch_size",
            "eval_every_steps",
            "checkpoint_every_steps",
            "log_every_steps",
            "eval_smoothing",
        ):
            if getattr(self, name) < 1:
                raise ModelError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.patience_evals is not None and self.patience_evals < 1:
            raise ModelError(f"patience_evals must be ≥ 1 or None, got {self.patience_evals}")
        if self.fidelity_every_steps is not None and self.fidelity_every_steps < 1:
            raise ModelError(
                f"fidelity_every_steps must be ≥ 1 or None, got {self.fidelity_every_steps}"
            )


@dataclass
class TrainingResult:
    """What a finished (or early-stopped) run reports; also written into the model card."""

    steps: int
    wall_time_s: float
    stopped_early: bool
    final_train_metrics: dict[str, float]
    final_eval_metrics: dict[str, float]
    best_eval_loss: float | None
    best_eval_step: int | None
    checkpoint_dir: Path
    selected_by: str = "eval loss"
    selected_step: int | None = None
    selected_score: float | None = None
    history: dict[str, list[dict[str, float]]] = field(repr=False, default_factory=dict)


def resume_step(run_dir: str | Path) -> int:
    """The step a run in `run_dir` would resume from (0 if there is no saved state)."""
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        return 0
    with np.load(path) as state:
        return int(state["step"])


def _stall_message(step: int, steps: int, zero_above: float) -> str:
    limit = f" or at least grad_norm_clip_to_zero ({zero_above:g})" if zero_above < math.inf else ""
    return (
        f"training stalled at step {step}: the gradient norm was inf/NaN{limit} in each of "
        f"the last {steps} steps (exploding gradients), so every update was zeroed and no "
        "weight changed; resume from an earlier state with a lower learning_rate"
        + (
            " or a higher grad_norm_clip_to_zero (gradients are still clipped to grad_clip)"
            if limit
            else ""
        )
    )


def train(
    *,
    model,
    optimizer,
    loss_fn: LossFn,
    train_batches: Iterator[Batch],
    eval_batches: Callable[[], Iterable[Batch]],
    schedule: TrainingSchedule,
    run_dir: str | Path,
    resume: bool = False,
    card: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    fidelity_fn: Callable[[list[np.ndarray]], dict[str, float]] | None = None,
) -> TrainingResult:
    """Train `model` in place and export the selected weights to `run_dir/final`.

    `loss_fn(trainable, non_trainable, batch, rng, step, training)` must be pure and
    jittable and return `(scalar loss, {name: scalar metric})`. `fidelity_fn(weights)`
    returns figures including `distance` (lower is better); it is called every
    `schedule.fidelity_every_steps` and at the last step, and then selects the weights.
    `progress` hears every step (`_progress_label`: steps/s, the latest train and eval loss).
    """
    import jax

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    optimizer.build(model.trainable_variables)
    trainable = [variable.value for variable in model.trainable_variables]
    non_trainable = [variable.value for variable in model.non_trainable_variables]
    optimizer_state = [variable.value for variable in optimizer.variables]
    rng = jax.random.PRNGKey(schedule.seed)
    step = 0
    elapsed_before = 0.0
    history: dict[str, list[dict[str, float]]] = {"train": [], "eval": [], "fidelity": []}
    best: dict[str, Any] = {"loss": None, "step": None, "weights": None, "evals_since": 0}
    use_fidelity = fidelity_fn is not None and schedule.fidelity_every_steps is not None

    if resume and (run_dir / STATE_FILE).is_file():
        trainable, optimizer_state, rng, step, elapsed_before, history, best = _load_state(
            run_dir, trainable, optimizer_state
        )
    elif not resume and (run_dir / STATE_FILE).is_file():
        raise ParameterError(
            "resume", f"must be on: {run_dir} already holds a run (continue it, or train elsewhere)"
        )

    def loss_for_grad(train_values, non_train_values, batch, key, step_value):
        return loss_fn(train_values, non_train_values, batch, key, step_value, True)

    @jax.jit
    def train_step(train_values, opt_values, non_train_values, batch, key, step_value):
        (loss, metrics), grads = jax.value_and_grad(loss_for_grad, has_aux=True)(
            train_values, non_train_values, batch, key, step_value
        )
        grad_norm = jax.numpy.sqrt(
            sum(jax.numpy.sum(g * g) for g in jax.tree_util.tree_leaves(grads))
        )
        new_values, new_opt_values = optimizer.stateless_apply(opt_values, grads, train_values)
        return new_values, new_opt_values, {**metrics, "loss": loss, "grad_norm": grad_norm}

    @jax.jit
    def eval_step(train_values, non_train_values, batch, key, step_value):
        loss, metrics = loss_fn(train_values, non_train_values, batch, key, step_value, False)
        return {**metrics, "loss": loss}

    def evaluate(train_values, step_value) -> dict[str, float]:
        totals: dict[str, float] = {}
        total_weight = 0.0
        for batch in eval_batches():
            metrics = eval_step(
                train_values, non_trainable, batch, jax.random.PRNGKey(0), step_value
            )
            weight = _batch_weight(batch)
            for name, value in metrics.items():
                totals[name] = totals.get(name, 0.0) + weight * float(value)
            total_weight += weight
        if total_weight == 0:
            raise ModelError("the eval split is empty: cannot evaluate")
        return {name: total / total_weight for name, total in totals.items()}

    writer = _SummaryWriter(run_dir / "tensorboard")
    report = progress or no_progress
    started, start_step = time.perf_counter(), step
    stopped_early = False
    last_train = (
        {k: v for k, v in history["train"][-1].items() if k != "step"} if history["train"] else {}
    )
    window: list[dict[str, Any]] = []
    # Magenta's MusicVAE optimizer replaces the gradient by zeros when its norm reaches
    # `grad_norm_clip_to_zero` (and when it is inf/NaN): such a step changes no weight.
    zero_above = float(getattr(optimizer, "grad_norm_clip_to_zero", math.inf))
    stalled_steps = 0  # consecutive steps whose gradient was zeroed (update skipped)
    while step < schedule.num_steps:
        batch = next(train_batches)
        rng, key = jax.random.split(rng)
        trainable, optimizer_state, metrics = train_step(
            trainable, optimizer_state, non_trainable, batch, key, np.int32(step)
        )
        step += 1
        window.append(metrics)
        if step % schedule.log_every_steps == 0 or step == schedule.num_steps:
            norms = [float(m["grad_norm"]) for m in window]
            nonfinite = sum(not math.isfinite(norm) for norm in norms)
            zeroed = sum(norm >= zero_above for norm in norms)  # finite, above the limit
            skipped = nonfinite + zeroed
            stalled_steps = stalled_steps + skipped if skipped == len(window) else 0
            last_train = {
                **_mean_metrics(window),
                "nonfinite_grad_share": nonfinite / len(window),
                "zeroed_grad_share": zeroed / len(window),
            }
            window = []
            if not math.isfinite(last_train["loss"]):
                raise ModelError(f"training diverged at step {step} (loss {last_train['loss']})")
            if stalled_steps >= schedule.eval_every_steps:
                raise ModelError(_stall_message(step, stalled_steps, zero_above))
            history["train"].append({"step": step, **last_train})
            writer.scalars("train", last_train, step)
        if step % schedule.eval_every_steps == 0 or step == schedule.num_steps:
            eval_metrics = evaluate(trainable, np.int32(step))
            losses = [*(h["loss"] for h in history["eval"]), eval_metrics["loss"]]
            eval_metrics["loss_smoothed"] = float(np.mean(losses[-schedule.eval_smoothing :]))
            history["eval"].append({"step": step, **eval_metrics})
            writer.scalars("eval", eval_metrics, step)
            if not use_fidelity:
                best = _update_best(best, eval_metrics["loss_smoothed"], step, trainable)
        fidelity_due = use_fidelity and (
            step % schedule.fidelity_every_steps == 0 or step == schedule.num_steps
        )
        if fidelity_due:
            sampled = fidelity_fn([np.asarray(v) for v in trainable])
            figures = {name: float(value) for name, value in sampled.items()}
            history["fidelity"].append({"step": step, **figures})
            writer.scalars("fidelity", figures, step)
            best = _update_best(best, figures["distance"], step, trainable)
        if schedule.patience_evals is not None and best["evals_since"] >= schedule.patience_evals:
            stopped_early = True
        elapsed = elapsed_before + time.perf_counter() - started
        if (
            step % schedule.checkpoint_every_steps == 0
            or step == schedule.num_steps
            or stopped_early
        ):
            _save_state(run_dir, trainable, optimizer_state, rng, step, elapsed, history, best)
        label = _progress_label(
            step - start_step,
            time.perf_counter() - started,
            last_train.get("loss"),
            history["eval"][-1]["loss"] if history["eval"] else None,
        )
        report(label, step, schedule.num_steps)
        if stopped_early:
            break

    writer.close()
    wall_time = elapsed_before + time.perf_counter() - started
    _write_curves(history, run_dir / CURVES_FILE)
    use_best = schedule.export_best and best["weights"] is not None
    final_weights = best["weights"] if use_best else trainable
    lowest_eval = min(history["eval"], key=lambda h: h["loss"], default=None)
    for variable, value in zip(model.trainable_variables, final_weights, strict=True):
        variable.assign(value)
    result = TrainingResult(
        steps=step,
        wall_time_s=round(wall_time, 1),
        stopped_early=stopped_early,
        final_train_metrics=last_train,
        final_eval_metrics=history["eval"][-1] if history["eval"] else {},
        best_eval_loss=lowest_eval["loss"] if lowest_eval else None,
        best_eval_step=lowest_eval["step"] if lowest_eval else None,
        checkpoint_dir=run_dir / FINAL_DIR,
        selected_by=_selection(schedule, use_best, use_fidelity),
        selected_step=best["step"] if use_best else step,
        selected_score=best["loss"] if use_best else None,
        history=history,
    )
    from drumeval.models.checkpoints import save_checkpoint

    save_checkpoint(
        model, run_dir / FINAL_DIR, {**(card or {}), "training": _result_card(result, schedule)}
    )
    return result


def _progress_label(
    steps: int, seconds: float, train_loss: float | None, eval_loss: float | None
) -> str:
    """The bar's label, the training log's one line: speed since this process started (a
    resumed run counts its own steps) and the latest losses."""
    parts = [f"{steps / max(seconds, 1e-9):.1f} steps/s"]
    if train_loss is not None:
        parts.append(f"loss {train_loss:.3f}")
    if eval_loss is not None:
        parts.append(f"eval {eval_loss:.3f}")
    return "  ".join(parts)


def _update_best(best: dict[str, Any], score: float, step: int, trainable) -> dict[str, Any]:
    """Keep the weights with the lowest selection score; count evaluations since."""
    if best["loss"] is None or score < best["loss"]:
        return {
            "loss": score,
            "step": step,
            "weights": [np.asarray(v) for v in trainable],
            "evals_since": 0,
        }
    return {**best, "evals_since": best["evals_since"] + 1}


def _selection(schedule: TrainingSchedule, use_best: bool, use_fidelity: bool) -> str:
    if not use_best:
        return "last step"
    if use_fidelity:
        return "best groove fidelity (lowest fidelity distance)"
    if schedule.eval_smoothing > 1:
        return f"best eval loss (moving mean over {schedule.eval_smoothing} evaluations)"
    return "best eval loss"


def _batch_weight(batch: Batch) -> float:
    """How much real data a batch holds, so padded eval batches don't skew the mean.

    A per-step `mask` (DrumsRNN) or per-example `weights` (MusicVAE) when the batch has one.
    """
    for key in ("mask", "weights"):
        if key in batch:
            return float(np.sum(batch[key]))
    return 1.0


def _result_card(result: TrainingResult, schedule: TrainingSchedule) -> dict[str, Any]:
    return {
        "schedule": asdict(schedule),
        "steps": result.steps,
        "wall_time_s": result.wall_time_s,
        "stopped_early_on_plateau": result.stopped_early,
        "exported_weights": result.selected_by,
        "exported_step": result.selected_step,
        "exported_selection_score": result.selected_score,
        "best_eval_step": result.best_eval_step,
        "best_eval_loss": result.best_eval_loss,
        "final_train_metrics": result.final_train_metrics,
        "final_eval_metrics": result.final_eval_metrics,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "backend": f"keras {_keras_version()} on {os.environ.get('KERAS_BACKEND', 'jax')}",
    }


def _keras_version() -> str:
    import keras

    return keras.__version__


def _mean_metrics(window: list[dict[str, Any]]) -> dict[str, float]:
    return {name: float(np.mean([float(m[name]) for m in window])) for name in window[0]}


def _save_state(run_dir, trainable, optimizer_state, rng, step, elapsed, history, best) -> None:
    """Write the resumable state atomically (a crash mid-write keeps the previous state)."""
    arrays = {f"trainable_{i}": np.asarray(v) for i, v in enumerate(trainable)}
    arrays |= {f"optimizer_{i}": np.asarray(v) for i, v in enumerate(optimizer_state)}
    if best["weights"] is not None:
        arrays |= {f"best_{i}": w for i, w in enumerate(best["weights"])}
    arrays |= {"rng": np.asarray(rng), "step": np.int64(step), "elapsed": np.float64(elapsed)}
    meta = {
        "history": history,
        "best_loss": best["loss"],
        "best_step": best["step"],
        "evals_since": best["evals_since"],
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    temporary = run_dir / f".{STATE_FILE}.tmp.npz"
    np.savez(temporary, **arrays)
    os.replace(temporary, run_dir / STATE_FILE)
    (run_dir / HISTORY_FILE).write_text(json.dumps(history, indent=1) + "\n")


def _load_state(run_dir, trainable, optimizer_state):
    with np.load(run_dir / STATE_FILE) as state:
        loaded_trainable = [state[f"trainable_{i}"] for i in range(len(trainable))]
        loaded_optimizer = [state[f"optimizer_{i}"] for i in range(len(optimizer_state))]
        for fresh, loaded in zip(trainable, loaded_trainable, strict=True):
            if tuple(fresh.shape) != loaded.shape:
                raise ModelError(
                    f"{run_dir} was trained with other hparams "
                    f"(weight shape {loaded.shape} ≠ {tuple(fresh.shape)})"
                )
        meta = json.loads(state["meta"].tobytes().decode())
        best_weights = (
            [state[f"best_{i}"] for i in range(len(trainable))] if "best_0" in state.files else None
        )
        best = {
            "loss": meta["best_loss"],
            "step": meta["best_step"],
            "weights": best_weights,
            "evals_since": meta["evals_since"],
        }
        return (
            loaded_trainable,
            loaded_optimizer,
            state["rng"],
            int(state["step"]),
            float(state["elapsed"]),
            {"fidelity": [], **meta["history"]},
            best,
        )


class _SummaryWriter:
    """TensorBoard scalars written with tensorboard's own event writer (no TensorFlow graph)."""

    def __init__(self, log_dir: Path):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._writer = EventFileWriter(str(log_dir))

    def scalars(self, prefix: str, metrics: dict[str, float], step: int) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        values = [
            Summary.Value(tag=f"{prefix}/{name}", simple_value=float(value))
            for name, value in metrics.items()
        ]
        self._writer.add_event(
            Event(step=step, wall_time=time.time(), summary=Summary(value=values))
        )

    def close(self) -> None:
        self._writer.flush()
        self._writer.close()


def _write_curves(history: dict[str, list[dict[str, float]]], path: Path) -> None:
    """One small plot per metric, train and eval overlaid, then the fidelity figures; PNG."""
    if not history["train"]:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name in history["train"][0] if name != "step"]
    fidelity = history.get("fidelity") or []
    fidelity_names = [name for name in (fidelity[0] if fidelity else {}) if name != "step"]
    columns = 3
    rows = math.ceil((len(names) + len(fidelity_names)) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 2.6 * rows), squeeze=False)
    cells = iter(axes.flat)
    for name, axis in zip(names, cells, strict=False):  # names first: no cell is skipped
        for split, style in (("train", "-"), ("eval", "o-")):
            points = [(h["step"], h[name]) for h in history[split] if name in h]
            if points:
                steps, values = zip(*points, strict=True)
                axis.plot(steps, values, style, label=split, markersize=3)
        axis.set_title(name)
        axis.set_xlabel("step")
        axis.legend(fontsize=7)
    for name, axis in zip(fidelity_names, cells, strict=False):
        axis.plot([h["step"] for h in fidelity], [h[name] for h in fidelity], "s-", markersize=3)
        axis.set_title(f"fidelity: {name}")
        axis.set_xlabel("step")
    for axis in cells:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
