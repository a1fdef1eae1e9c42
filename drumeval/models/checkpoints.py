"""Model checkpoints on disk: a directory with `model.keras` and a JSON model card.

`model.keras` is a plain Keras 3 file (architecture config + weights, no optimizer), so any
Keras user can open it; `card.json` says what the weights are: model, preset, hparams,
training data, steps, wall time, losses and date.
"""

import json
from pathlib import Path
from typing import Any

from drumeval.data.corpus import file_sha256
from drumeval.errors import CheckpointNotFoundError, ModelError

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"


def _register_model_classes() -> None:
    """Import the model modules so Keras can deserialize their registered classes."""
    import drumeval.models  # noqa: F401  (selects the JAX backend first)
    from drumeval.models import drums_rnn, music_vae, structured  # noqa: F401


def save_checkpoint(model, directory: str | Path, card: dict[str, Any]) -> Path:
    """Write `model.keras` and `card.json` (with the weights' sha256) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    model.save(model_path)
    full_card = {
        **card,
        "model_class": type(model).__name__,
        "weights_sha256": file_sha256(model_path),
    }
    (directory / CARD_FILE).write_text(
        json.dumps(full_card, indent=2, sort_keys=True, default=str) + "\n"
    )
    return directory


def read_card(directory: str | Path) -> dict[str, Any]:
    """The model card of a checkpoint directory."""
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise CheckpointNotFoundError(f"no model card at {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ModelError(f"model card {path} is not valid JSON: {error}") from error


def update_card(directory: str | Path, values: dict[str, Any], section: str | None = None) -> None:
    """Merge `values` into a checkpoint's card (into `section` when given), atomically."""
    directory = Path(directory)
    card = read_card(directory)
    if section:
        card[section] = {**card.get(section, {}), **values}
    else:
        card.update(values)
    temporary = directory / f".{CARD_FILE}.tmp"
    temporary.write_text(json.dumps(card, indent=2, sort_keys=True, default=str) + "\n")
    temporary.replace(directory / CARD_FILE)


def checkpoint_files(directory: str | Path) -> tuple[Path, dict]:
    """`(model file, card)` of a checkpoint directory; a clear error when either is missing."""
    directory = Path(directory)
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise CheckpointNotFoundError(
            f"no checkpoint at {directory} (expected {MODEL_FILE} and {CARD_FILE})"
        )
    return model_path, read_card(directory)


def load_checkpoint(directory: str | Path):
    """Load `(model, card)` from a checkpoint directory written by `save_checkpoint`."""
    model_path, card = checkpoint_files(directory)
    _register_model_classes()
    import keras

    try:
        model = keras.saving.load_model(model_path, compile=False)
    except Exception as error:  # Keras raises many types for corrupt/incompatible files
        raise ModelError(f"cannot load {model_path}: {error}") from error
    return model, card
