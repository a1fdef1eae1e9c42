"""The one table of what drumeval offers: model families, presets, genres, corpora, checkpoints.

Pages, the CLI and the study read names, labels and defaults from here instead of spelling
them out. The module is plain data plus a directory scan (json only): importing it never pulls
in JAX, Keras, TensorFlow or the corpora, so a page or a model-free command can use it freely.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from drumeval.errors import CheckpointNotFoundError, DatasetError, ModelError
from drumeval.paths import checkpoints_dir

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"


@dataclass(frozen=True)
class ModelFamily:
    """A model family: its presets (Magenta's and the thesis's) and the one shipped by default."""

    name: str
    label: str
    description: str
    presets: tuple[str, ...]
    default_preset: str
    keras_class: str


@dataclass(frozen=True)
class Genre:
    """A genre: its corpora and the one drum kit both models are rendered with (blind studies)."""

    name: str
    label: str
    description: str
    kit: str
    kit_label: str


MODELS: MappingProxyType[str, ModelFamily] = MappingProxyType(
    {
        "drums_rnn": ModelFamily(
            name="drums_rnn",
            label="DrumsRNN",
            description="LSTM with attention, one 16th-note step at a time",
            presets=("thesis", "magenta_drum_kit"),
            default_preset="thesis",
            keras_class="DrumsRNN",
        ),
        "music_vae": ModelFamily(
            name="music_vae",
            label="MusicVAE",
            description="recurrent variational autoencoder, decodes a whole track from a latent",
            presets=("thesis-longbar", "hier-60bar", "cat-drums_2bar_small"),
            default_preset="thesis-longbar",
            keras_class="MusicVAE",
        ),
        "structured": ModelFamily(
            name="structured",
            label="Structured RNN",
            description="DrumsRNN conditioned on a song form: sections, phrases, repeats",
            presets=("thesis-form", "form-160"),
            default_preset="thesis-form",
            keras_class="StructuredRNN",
        ),
    }
)
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
DEFAULT_PRESETS: MappingProxyType[str, str] = MappingProxyType(
    {name: family.default_preset for name, family in MODELS.items()}
)

GENRES: MappingProxyType[str, Genre] = MappingProxyType(
    {
        "techno-house": Genre(
            name="techno-house",
            label="techno / house",
            description="programmed four-on-the-floor club tracks",
            kit="tr808",
            kit_label="TR-808",
        ),
        "jazz-soul": Genre(
            name="jazz-soul",
            label="jazz / soul",
            description="real drummers from the Groove MIDI Dataset",
            kit="jazz",
            kit_label="Jazz",
        ),
    }
)
GENRE_NAMES: tuple[str, ...] = tuple(GENRES)
CORPUS_SIZES: tuple[int, ...] = (700, 1500)
CORPUS_NAMES: tuple[str, ...] = tuple(
    f"{genre}-{size}" for genre in GENRE_NAMES for size in CORPUS_SIZES
)


@dataclass(frozen=True)
class ShippedCheckpoint:
    """A checkpoint under `checkpoints/<model>/<preset>/<corpus>/` with its training card."""

    model: str
    preset: str
    corpus: str
    directory: Path
    card: MappingProxyType[str, Any]

    @property
    def name(self) -> str:
        return f"{self.model}/{self.preset}/{self.corpus}"

    @property
    def genre(self) -> str:
        return split_corpus_name(self.corpus)[0]

    @property
    def corpus_size(self) -> int:
        return split_corpus_name(self.corpus)[1]


def check_model(model: str) -> ModelFamily:
    if model not in MODELS:
        raise ModelError(f"unknown model {model!r}: choose one of {', '.join(MODEL_NAMES)}")
    return MODELS[model]


def check_preset(model: str, preset: str) -> str:
    family = check_model(model)
    if preset not in family.presets:
        raise ModelError(
            f"unknown {model} preset {preset!r}: choose one of {', '.join(family.presets)}"
        )
    return preset


def check_genre(genre: str) -> Genre:
    if genre not in GENRES:
        raise DatasetError(f"unknown genre {genre!r}: choose one of {', '.join(GENRE_NAMES)}")
    return GENRES[genre]


def corpus_name(genre: str, size: int) -> str:
    """`techno-house` + 700 → `techno-house-700` (both checked)."""
    check_genre(genre)
    if size not in CORPUS_SIZES:
        sizes = ", ".join(map(str, CORPUS_SIZES))
        raise DatasetError(f"unknown corpus size {size!r}: choose one of {sizes}")
    return f"{genre}-{size}"


def split_corpus_name(name: str) -> tuple[str, int]:
    """`jazz-soul-1500` → (`jazz-soul`, 1500); a name we do not ship is an error."""
    if name not in CORPUS_NAMES:
        raise DatasetError(f"unknown corpus {name!r}: choose one of {', '.join(CORPUS_NAMES)}")
    genre, size = name.rsplit("-", 1)
    return genre, int(size)


def genre_of_corpus(name: str | None) -> str | None:
    """The genre of a shipped corpus name, None for anything else (imports, test corpora)."""
    return split_corpus_name(name)[0] if name in CORPUS_NAMES else None


def shipped_checkpoints(root: Path | None = None) -> tuple[ShippedCheckpoint, ...]:
    """Every `<model>/<preset>/<corpus>/` under the checkpoints dir holding weights and a card.

    Directories of unknown models or corpora (a local experiment) are skipped, not errors:
    the app offers only what the registry can describe.
    """
    root = Path(root or checkpoints_dir())
    found = []
    for card_path in sorted(root.glob(f"*/*/*/{CARD_FILE}")):
        directory = card_path.parent
        model, preset, corpus = directory.relative_to(root).parts
        if model not in MODELS or corpus not in CORPUS_NAMES:
            continue
        if not (directory / MODEL_FILE).is_file():
            continue
        card = json.loads(card_path.read_text())
        found.append(ShippedCheckpoint(model, preset, corpus, directory, MappingProxyType(card)))
    return tuple(found)


def find_shipped(
    model: str, preset: str, corpus: str, root: Path | None = None
) -> ShippedCheckpoint:
    """The shipped checkpoint for a (model, preset, corpus), or an error naming what exists."""
    shipped = shipped_checkpoints(root)
    for checkpoint in shipped:
        if (checkpoint.model, checkpoint.preset, checkpoint.corpus) == (model, preset, corpus):
            return checkpoint
    available = ", ".join(c.name for c in shipped if c.model == model) or "none"
    raise CheckpointNotFoundError(
        f"no shipped {model} checkpoint for preset {preset!r} and corpus {corpus!r} "
        f"(available: {available})"
    )
