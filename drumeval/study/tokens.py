"""Resume tokens: the secret in an evaluator's URL (`?t=…`).

Only the SHA-256 of a token is stored, so a copy of the database cannot be used to
impersonate an evaluator. `looks_like_token` rejects junk before any query runs.
"""

import hashlib
import re
import secrets

TOKEN_BYTES = 24
# token_urlsafe(24) gives 32 characters of the URL-safe base64 alphabet, without padding.
TOKEN_LENGTH = 32
_TOKEN_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")


def new_token() -> str:
    """A fresh 192-bit URL-safe resume token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token: what the database stores and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: object) -> bool:
    """Whether `value` has the shape of a token we issued (length and alphabet only)."""
    return isinstance(value, str) and _TOKEN_PATTERN.fullmatch(value) is not None
