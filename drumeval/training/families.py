"""The model families as training sees them: module, preset configs, fresh models, checkpoints.

The model modules (`drums_rnn`, `music_vae`) expose the same verbs — `PRESETS`, a Keras
model class built from a config, `make_optimizer`, `make_loss_fn`, `training_batches`,
`eval_batches` — so one recipe serves both.
"""

import importlib
from pathlib import Path
from types import ModuleType

from drumeval.errors import ModelError
from drumeval.models.hparams import apply_overrides
from drumeval.paths import checkpoints_dir
from drumeval.registry import DEFAULT_PRESETS, MODELS

MODEL_CLASSES = {name: family.keras_class for name, family in MODELS.items()}
CHECKPOINTS_DIR = checkpoints_dir()


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


def resolve_checkpoint(name_or_dir: str | Path) -> Path:
    """A checkpoint directory, or a shipped name `model/preset/corpus`."""
    directory = Path(name_or_dir)
    if directory.is_dir():
        return directory
    shipped = CHECKPOINTS_DIR / str(name_or_dir)
    if str(name_or_dir).count("/") == 2 and shipped.is_dir():
        return shipped
    raise ModelError(
        f"no checkpoint at {name_or_dir}: neither a directory nor a shipped name "
        "(see `drumeval checkpoints`)"
    )
