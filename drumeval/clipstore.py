"""A content-addressed file store for study clips: bytes in, sha256 out.

Files are named by their content hash only (`<sha256>.<ext>`), so a name can never reveal a
clip's model, corpus or seed, any replica can serve any file, and storing the same bytes twice
is free.
"""

import hashlib
import os
import re
import tempfile
from pathlib import Path

from drumeval.errors import ClipStoreError
from drumeval.paths import clip_store_dir

EXTENSIONS = ("mid", "ogg", "opus", "mp3", "wav", "webm")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _path(sha256: str, ext: str, root: Path | None) -> Path:
    if not _SHA256.match(sha256) or ext not in EXTENSIONS:
        raise ClipStoreError(f"not a clip-store address: {sha256!r}.{ext!r}")
    return Path(root or clip_store_dir()) / sha256[:2] / f"{sha256}.{ext}"


def put(data: bytes, ext: str, *, root: Path | None = None) -> str:
    """Store `data` (atomically, once) and return its sha256."""
    digest = sha256_hex(data)
    path = _path(digest, ext, root)
    if path.is_file():
        return digest
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    except OSError as error:
        raise ClipStoreError(f"cannot write the clip store at {path.parent}: {error}") from error
    return digest


def get(sha256: str, ext: str, *, root: Path | None = None) -> bytes:
    """The stored bytes, checked against their hash."""
    path = _path(sha256, ext, root)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ClipStoreError(f"clip file {path.name} is missing from the clip store") from error
    if sha256_hex(data) != sha256:
        raise ClipStoreError(f"clip file {path.name} is corrupt (hash mismatch)")
    return data


def exists(sha256: str, ext: str, *, root: Path | None = None) -> bool:
    return _path(sha256, ext, root).is_file()


def path_of(sha256: str, ext: str, *, root: Path | None = None) -> Path:
    """Where the file with this address lives (whether or not it is there)."""
    return _path(sha256, ext, root)
