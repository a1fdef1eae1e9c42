"""Where drumeval keeps its files, resolved from one data directory — never from the cwd.

Shipped, read-only material (checkpoints, corpora) lives in the checkout. Everything the app
writes (database, audio cache, clip store, admin secret) lives under the data directory:
`$DRUMEVAL_HOME`, default `var/` inside the checkout.
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
    return REPO_ROOT / "data" / "corpora"


def audio_cache_dir() -> Path:
    return data_home() / "cache" / "audio"


def clip_store_dir() -> Path:
    """Content-addressed MIDI and audio of study clips (`<sha256>.<ext>`)."""
    return data_home() / "clips"


def sqlite_path() -> Path:
    return data_home() / "drumeval.sqlite"
