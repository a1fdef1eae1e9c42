"""Training, import and shipping recipes that tie corpora, model modules and the trainer.

The model modules (`drums_rnn`, `music_vae`) expose the same verbs — `PRESETS`, a Keras
model class built from a config, `make_optimizer`, `make_loss_fn`, `training_batches`,
`eval_batches`, `import_magenta` — so one recipe serves both.
"""

import importlib
import shutil
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from drumeval.errors import ModelError
from drumeval.models.hparams import apply_overrides
from drumeval.paths import REPO_ROOT, checkpoints_dir
from drumeval.registry import DEFAULT_PRESETS, MODELS

MODEL_CLASSES = {name: family.keras_class for name, family in MODELS.items()}
CHECKPOINTS_DIR = checkpoints_dir()
MAX_SHIPPED_MB = 20.0


def check_model_name(model: str) -> None:
    if model not in MODEL_CLASSES:
        raise ModelError(f"unknown model {model!r}: choose one of {', '.join(MODEL_CLASSES)}")


def model_module(model: str) -> ModuleType:
    """The module implementing `model` (imports Keras on the JAX backend)."""
    check_model_name(model)
    import drumeval.models  # noqa: F401  (selects the JAX backend)

    return importlib.import_module(f"drumeval.models.{model}")


def build_config(model: str, preset: str | None = None, hparams: str | dict | None = None):
    """A preset's frozen config with user overrides applied."""
    module = model_module(model)
    preset = preset or DEFAULT_PRESETS[model]
    if preset not in module.PRESETS:
        raise ModelError(
            f"unknown {model} preset {preset!r}: choose one of {', '.join(module.PRESETS)}"
        )
    return apply_overrides(module.PRESETS[preset], hparams)


def build_model(model: str, config, *, seed: int = 0):
    """A freshly initialised model (weights seeded)."""
    import keras

    keras.utils.set_random_seed(seed)
    return getattr(model_module(model), MODEL_CLASSES[model])(config)


def _training_arrays(model: str, config, event_ids: np.ndarray, lengths: np.ndarray):
    """MusicVAE models shorter than the tracks train on slices, as Magenta's DrumsConverter."""
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
    progress: bool = True,
):
    """Train `model` on `corpus` with a preset (+ overrides); returns the `TrainingResult`."""
    from drumeval.data.corpus import load_corpus
    from drumeval.models.training import TrainingSchedule, resume_step, train

    preset = preset or DEFAULT_PRESETS[model]
    config = build_config(model, preset, hparams)
    data = load_corpus(corpus)
    train_ids, train_lengths = _training_arrays(model, config, *data.split("train"))
    eval_ids, eval_lengths = _training_arrays(model, config, *data.split("eval"))
    run_dir = Path(run_dir or REPO_ROOT / "runs" / model / preset / data.name)
    start = resume_step(run_dir) if resume else 0
    module = model_module(model)
    network = build_model(model, config, seed=seed)
    schedule = TrainingSchedule(
        num_steps=steps,
        batch_size=config.batch_size,
        eval_every_steps=eval_every,
        checkpoint_every_steps=checkpoint_every,
        patience_evals=patience,
        seed=seed,
        export_best=export_best,
    )
    card: dict[str, Any] = {
        "model": model,
        "preset": preset,
        "hparams": _jsonable(config),
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
    }
    return train(
        model=network,
        optimizer=module.make_optimizer(config),
        loss_fn=module.make_loss_fn(network),
        train_batches=module.training_batches(
            train_ids,
            train_lengths,
            batch_size=config.batch_size,
            rng=np.random.default_rng([seed, start]),
        ),
        eval_batches=_cached(
            module.eval_batches(eval_ids, eval_lengths, batch_size=config.batch_size)
        ),
        schedule=schedule,
        run_dir=run_dir,
        resume=resume,
        card=card,
        progress=progress,
    )


def _cached(batches: list) -> Any:
    return lambda: batches


def _jsonable(config) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in asdict(config).items()
    }


def ship_checkpoint(final_dir: str | Path, checkpoints_dir: str | Path | None = None) -> Path:
    """Copy a run's final checkpoint to `checkpoints/<model>/<preset>/<corpus>/` (size-checked)."""
    from drumeval.models.checkpoints import MODEL_FILE, read_card

    final_dir = Path(final_dir)
    card = read_card(final_dir)
    size_mb = (final_dir / MODEL_FILE).stat().st_size / 1e6
    if size_mb > MAX_SHIPPED_MB:
        raise ModelError(
            f"{final_dir} is {size_mb:.1f} MB; shipped checkpoints must be ≤ {MAX_SHIPPED_MB} MB"
        )
    target = (
        Path(checkpoints_dir or CHECKPOINTS_DIR) / card["model"] / card["preset"] / card["corpus"]
    )
    target.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, "card.json"):
        shutil.copy2(final_dir / name, target / name)
    curves = final_dir.parent / "curves.png"
    if curves.is_file():
        shutil.copy2(curves, target / "curves.png")
    return target


def import_magenta_checkpoint(
    model: str,
    source: str | Path,
    out: str | Path,
    *,
    config: str = "cat-drums_2bar_small",
    hparams: str = "",
) -> Path:
    """Convert a real Magenta checkpoint (`.mag` or TF checkpoint) into a drumeval checkpoint."""
    from drumeval.models.checkpoints import save_checkpoint

    module = model_module(model)
    if model == "drums_rnn":
        network = module.import_magenta(source, hparams=hparams or None)
        preset = "magenta-import"
    else:
        preset = config
        network = module.import_magenta(source, build_config(model, config, hparams))
    card = {
        "model": model,
        "preset": preset,
        "hparams": _jsonable(network.config),
        "corpus": None,
        "imported_from": str(source),
        "note": "weights converted from a Magenta checkpoint; not trained by drumeval",
    }
    return save_checkpoint(network, out, card)
