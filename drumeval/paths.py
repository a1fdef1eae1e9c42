"""Where drumeval keeps its files, resolved from one data directory — never from the cwd.

Shipped, read-only material (checkpoints, corpora, the Groove MIDI subset, the objective
tables) lives in the checkout. Everything the app writes at run time (database, audio cache,
JAX compile cache, clip store, admin secret) lives under the data directory: `$DRUMEVAL_HOME`,
default `var/` inside the checkout. Every other module asks this one for its paths.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HOME_ENV = "DRUMEVAL_HOME"


def data_home() -> Path:
    """The writable data directory (`$DRUMEVAL_HOME` or `<checkout>/var`)."""
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser().resolve() if value else REPO_ROOT / "var"


def checkpoints_dir() -> Path:
    return REPO_ROOT / "checkpoints"


def corpora_dir() -> Path:
    """Built corpora, `<name>/{examples.npz, manifest.json}` (`drumeval data build`)."""
    return REPO_ROOT / "data" / "corpora"


def groove_dir() -> Path:
    """The Groove MIDI Dataset subset the jazz-soul corpora are built from."""
    return REPO_ROOT / "data" / "groove"


def tables_dir() -> Path:
    """The objective tables the app shows without models (`drumeval objective-table`)."""
    return REPO_ROOT / "data" / "tables"


def objective_table_path() -> Path:
    return tables_dir() / "objective_table1.csv"


def self_similarity_curves_path() -> Path:
    return tables_dir() / "self_similarity_curves.csv"


def audio_cache_dir() -> Path:
    return data_home() / "cache" / "audio"


def jax_cache_dir() -> Path:
    """Compiled XLA programs, kept across processes so that the app and CLI start warm."""
    return data_home() / "cache" / "jax"


def clip_store_dir() -> Path:
    """Content-addressed MIDI and audio of study clips (`<sha256>.<ext>`)."""
    return data_home() / "clips"


def sqlite_path() -> Path:
    return data_home() / "drumeval.sqlite"
