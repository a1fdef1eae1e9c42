"""The training recipe: a family's preset on a corpus, through the loop, with fidelity."""

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from drumeval.errors import ModelError, ParameterError
from drumeval.metrics.fidelity import corpus_profile
from drumeval.models.checkpoints import (
    CARD_FILE,
    MODEL_FILE,
    file_sha256,
    load_checkpoint,
    update_card,
)
from drumeval.paths import REPO_ROOT
from drumeval.progress import ProgressCallback
from drumeval.registry import DEFAULT_PRESETS
from drumeval.training.families import build_config, build_model, model_module
from drumeval.training.fidelity import fidelity_during_training, fidelity_report

INIT_DIR = "init"  # a warm-started run keeps a copy of its starting checkpoint here


def _training_arrays(model: str, config, data, corpus_dir: Path, which: str) -> tuple:
    """(event ids, lengths, …) of a split as the family's batch iterators take them: MusicVAE
    models shorter than the tracks train on slices, as Magenta's DrumsConverter; the
    structured model adds each example's song form."""
    if model == "structured":
        return model_module(model).training_examples(data, corpus_dir, which)
    event_ids, lengths = data.split(which)
    if model == "music_vae" and config.max_seq_len < event_ids.shape[1]:
        return model_module(model).slice_examples(event_ids, lengths, config.max_seq_len)
    return event_ids, lengths


def train_model(
    model: str,
    *,
    corpus: str,
    preset: str | None = None,
    hparams: str | dict | None = None,
    steps: int = 2000,
    eval_every: int = 200,
    checkpoint_every: int = 200,
    patience: int | None = 5,
    export_best: bool = True,
    seed: int = 0,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: ProgressCallback | None = None,
    eval_smoothing: int = 1,
    fidelity_every: int | None = None,
    fidelity_samples: int = 8,
    init_from: str | Path | None = None,
    command: str | None = None,
):
    """Train `model` on `corpus` with a preset (+ overrides); returns the `TrainingResult`.

    With `fidelity_every`, `fidelity_samples` seeded 60-bar samples are compared with the
    corpus's groove every so many steps and the best-fidelity weights are exported; the
    final card always gets the full fidelity report (`FIDELITY_SAMPLES` samples).
    `init_from` warm-starts from a checkpoint's weights (copied into the run dir, so a
    resumed run records the same origin even after the checkpoint is replaced).
    """
    from drumeval.data.corpus import load_corpus, resolve_corpus_dir
    from drumeval.training.loop import TrainingSchedule, resume_step, train

    preset = preset or DEFAULT_PRESETS[model]
    config = build_config(model, preset, hparams)
    data = load_corpus(corpus)
    train_arrays = _training_arrays(model, config, data, resolve_corpus_dir(corpus), "train")
    eval_arrays = _training_arrays(model, config, data, resolve_corpus_dir(corpus), "eval")
    train_ids, train_lengths = train_arrays[:2]
    eval_lengths = eval_arrays[1]
    run_dir = Path(run_dir or REPO_ROOT / "runs" / model / preset / data.name)
    start = resume_step(run_dir) if resume else 0
    module = model_module(model)
    network = build_model(model, config, seed=seed)
    origin = _warm_start(network, run_dir, init_from) if init_from or resume else None
    schedule = TrainingSchedule(
        num_steps=steps,
        batch_size=config.batch_size,
        eval_every_steps=eval_every,
        checkpoint_every_steps=checkpoint_every,
        patience_evals=patience,
        seed=seed,
        export_best=export_best,
        eval_smoothing=eval_smoothing,
        fidelity_every_steps=fidelity_every,
    )
    corpus_groove = corpus_profile(*data.split("train"))
    card: dict[str, Any] = {
        "model": model,
        "preset": preset,
        "hparams": config.to_dict(),
        "hparam_overrides": hparams or "",
        "corpus": data.name,
        "genre": data.genre,
        "data": {
            "corpus_sha256": data.manifest.get("sha256"),
            "train_examples": len(train_lengths),
            "eval_examples": len(eval_lengths),
            "steps_per_example_max": int(train_ids.shape[1]),
        },
        "seed": seed,
        "command": command,
    }
    if origin:
        card["initialised_from"] = origin
    fidelity_fn = (
        fidelity_during_training(model, network, corpus_groove, data.genre, fidelity_samples)
        if fidelity_every
        else None
    )
    result = train(
        model=network,
        optimizer=module.make_optimizer(config),
        loss_fn=module.make_loss_fn(network),
        train_batches=module.training_batches(
            *train_arrays,
            batch_size=config.batch_size,
            rng=np.random.default_rng([seed, start]),
        ),
        eval_batches=_cached(module.eval_batches(*eval_arrays, batch_size=config.batch_size)),
        schedule=schedule,
        run_dir=run_dir,
        resume=resume,
        card=card,
        progress=progress,
        fidelity_fn=fidelity_fn,
    )
    report = fidelity_report(model, network, corpus_groove, data.genre)
    update_card(result.checkpoint_dir, {"fidelity": report.to_card()})
    if origin:
        update_card(
            result.checkpoint_dir, {"total_steps": origin["steps"] + result.steps}, "training"
        )
    return result


def _warm_start(network, run_dir: Path, init_from: str | Path | None) -> dict[str, Any] | None:
    """Load the starting weights into `network`; their provenance for the card (or None)."""
    kept = run_dir / INIT_DIR
    if not (kept / MODEL_FILE).is_file():
        if init_from is None:
            return None
        source = Path(init_from)
        if not (source / MODEL_FILE).is_file() or not (source / CARD_FILE).is_file():
            raise ParameterError(
                "init_from",
                f"must be a checkpoint folder with {MODEL_FILE} and {CARD_FILE}; got {source}",
            )
        kept.mkdir(parents=True, exist_ok=True)
        for name in (MODEL_FILE, CARD_FILE):
            shutil.copy2(source / name, kept / name)
    loaded, card = load_checkpoint(kept)
    # a conditioned model names the variables another family's weights fill (structured ← DrumsRNN)
    matching = getattr(network, "weights_matching", None)
    targets = matching(loaded) if matching else network.weights
    if (not matching and type(loaded).__name__ != type(network).__name__) or len(
        loaded.weights
    ) != len(targets):
        raise ModelError(f"{kept} holds a different model than the one being trained")
    for target, value in zip(targets, _fitted_values(network, loaded), strict=True):
        if tuple(target.shape) != tuple(value.shape):
            raise ModelError(f"{kept} was trained with other hparams ({value.shape})")
        target.assign(value)
    training = card.get("training", {})
    return {
        "checkpoint": str(init_from or kept),
        "weights_sha256": file_sha256(kept / MODEL_FILE),
        "steps": int(training.get("total_steps", training.get("steps", 0))),
        "card_date": training.get("date"),
    }


def _fitted_values(network, loaded) -> list:
    """The loaded weights' values, fitted to `network` where a warm start changes the model
    on purpose; otherwise as they are (a mismatch is then reported by the caller).

    One change is supported: a hierarchical MusicVAE trained without autoregression
    (Magenta's `disable_autoregression=True`: each conductor step reads a constant zero)
    continued with it (each conductor step reads the previous bar's final decoder state).
    The conductor's first kernel grows from that one zero row to the state's width; the new
    rows start at zero, so the continued model first plays exactly as the one it starts
    from, then learns how the bar just played should shape the next one.
    """
    values = [np.asarray(value) for value in loaded.weights]
    old, new = getattr(loaded, "config", None), getattr(network, "config", None)
    widening = (
        type(loaded) is type(network)
        and getattr(old, "decoder", None) == getattr(new, "decoder", None) == "hierarchical"
        and old.disable_autoregression
        and not new.disable_autoregression
        and (old.dec_rnn_size, old.z_size, old.level_lengths)
        == (new.dec_rnn_size, new.z_size, new.level_lengths)
    )
    if widening:
        index = next(
            i for i, v in enumerate(loaded.weights) if v is loaded.conductor_cells[0].kernel
        )
        kernel = values[index]  # rows: [the zero input (1), z, recurrent h]
        state_width = 2 * sum(new.dec_rnn_size)
        values[index] = np.concatenate(
            [np.zeros((state_width, kernel.shape[1]), kernel.dtype), kernel[1:]]
        )
    return values


def _cached(batches: list) -> Any:
    return lambda: batches
