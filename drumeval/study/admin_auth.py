"""The researcher pages' password: configured or generated once, checked as a hash, rate-limited.

Where the password comes from, first match wins:
1. `$DRUMEVAL_ADMIN_PASSWORD`, or `DRUMEVAL_ADMIN_PASSWORD` in Streamlit's secrets;
2. a hash in the data home (`admin_password.json`), written the first time `make run` starts
   without one: the password is generated then and printed once in the terminal (as Jupyter
   prints its token); only its salted scrypt hash is kept.
There is no default password: with none of these, the pages say how to set one.

Every comparison is between two hashes of equal length with `hmac.compare_digest`, so the time
taken says nothing about how much of a guess was right; failed attempts are throttled per
server process (exponential delay, then a lockout window).
"""

import hashlib
import hmac
import json
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from drumeval.errors import DrumevalError
from drumeval.paths import data_home

PASSWORD_ENV = "DRUMEVAL_ADMIN_PASSWORD"
SECRET_FILE = "admin_password.json"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_HASH_BYTES = 32
MAX_PASSWORD_CHARS = 1024


class AdminAuthError(DrumevalError):
    """Wrong password, too many attempts, or no password configured."""


def secret_path(home: Path | None = None) -> Path:
    return Path(home or data_home()) / SECRET_FILE


def hash_password(password: str, salt: bytes, *, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=_HASH_BYTES
    )


@dataclass(frozen=True)
class StoredHash:
    """A salted scrypt hash of the admin password, as kept in the data home."""

    salt: bytes
    digest: bytes
    n: int = _SCRYPT["n"]
    r: int = _SCRYPT["r"]
    p: int = _SCRYPT["p"]

    @classmethod
    def of(cls, password: str) -> "StoredHash":
        salt = secrets.token_bytes(16)
        return cls(salt, hash_password(password, salt, **_SCRYPT), **_SCRYPT)

    def matches(self, candidate: str) -> bool:
        digest = hash_password(candidate, self.salt, n=self.n, r=self.r, p=self.p)
        return hmac.compare_digest(digest, self.digest)

    def to_json(self) -> str:
        return json.dumps(
            {
                "algorithm": "scrypt",
                "salt": self.salt.hex(),
                "hash": self.digest.hex(),
                "n": self.n,
                "r": self.r,
                "p": self.p,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "StoredHash":
        try:
            values = json.loads(text)
            if values.get("algorithm") != "scrypt":
                raise ValueError("unknown algorithm")
            return cls(
                bytes.fromhex(values["salt"]),
                bytes.fromhex(values["hash"]),
                int(values["n"]),
                int(values["r"]),
                int(values["p"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise AdminAuthError(
                f"the admin password file is damaged ({error}); delete it and restart to "
                "generate a new password"
            ) from None


def load_stored_hash(home: Path | None = None) -> StoredHash | None:
    path = secret_path(home)
    return StoredHash.from_json(path.read_text()) if path.is_file() else None


def ensure_admin_password(home: Path | None = None, *, environ=None) -> str | None:
    """On first start without a configured password: generate one, store its hash, return it.

    Returns None when a password is already configured (environment or stored hash): the
    caller prints a returned password once, and no later call returns it again.
    """
    environ = os.environ if environ is None else environ
    if environ.get(PASSWORD_ENV) or secret_path(home).is_file():
        return None
    password = secrets.token_urlsafe(12)
    path = secret_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(StoredHash.of(password).to_json())
    return password


@dataclass(frozen=True)
class PasswordSource:
    """What the typed password is checked against (a hash either way)."""

    stored: StoredHash

    def matches(self, candidate: str) -> bool:
        return self.stored.matches(candidate)


def password_source(
    *, secret_password: str | None = None, home: Path | None = None, environ=None
) -> PasswordSource | None:
    """The configured password (hashed with a fresh salt), or None when none is configured."""
    environ = os.environ if environ is None else environ
    configured = environ.get(PASSWORD_ENV) or secret_password
    if configured:
        return PasswordSource(StoredHash.of(configured))
    stored = load_stored_hash(home)
    return None if stored is None else PasswordSource(stored)


NO_PASSWORD_MESSAGE = (
    "No admin password is configured. Set DRUMEVAL_ADMIN_PASSWORD (or put it in Streamlit's "
    "secrets), or start the app with `make run`, which generates one and prints it once in "
    "the terminal."
)


@dataclass
class LoginThrottle:
    """Failed logins of one server process: a growing delay, then a lockout window.

    After the k-th consecutive failure the next attempt must wait `base_delay_s · 2^(k−1)`
    seconds (capped); after `max_failures` failures every attempt is refused for
    `lockout_s`. A success clears the record.
    """

    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_failures: int = 5
    lockout_s: float = 300.0
    failures: int = 0
    blocked_until: float = 0.0

    def wait_seconds(self, now: float) -> float:
        return max(0.0, self.blocked_until - now)

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self.failures >= self.max_failures:
            self.blocked_until = now + self.lockout_s
        else:
            delay = min(self.max_delay_s, self.base_delay_s * 2 ** (self.failures - 1))
            self.blocked_until = now + delay

    def record_success(self) -> None:
        self.failures = 0
        self.blocked_until = 0.0


def check_login(
    candidate: str, *, source: PasswordSource | None, throttle: LoginThrottle, now: float
) -> None:
    """Accept the password or raise `AdminAuthError` with a message the page shows as is."""
    if source is None:
        raise AdminAuthError(NO_PASSWORD_MESSAGE)
    wait = throttle.wait_seconds(now)
    if wait > 0:
        raise AdminAuthError(
            f"Too many failed attempts: try again in {math.ceil(wait)} s."
            if throttle.failures < throttle.max_failures
            else f"Too many failed attempts: the login is locked for {math.ceil(wait / 60)} min."
        )
    if not candidate or len(candidate) > MAX_PASSWORD_CHARS or not source.matches(candidate):
        throttle.record_failure(now)
        raise AdminAuthError("Wrong password.")
    throttle.record_success()
