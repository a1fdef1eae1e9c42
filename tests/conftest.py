"""Shared test setup: JAX backend for Keras, quiet TensorFlow, paths to fixtures."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def magenta_fixtures() -> Path:
    """Outputs recorded from real Magenta 2.1.4 (see tests/fixtures/magenta/README.md)."""
    return FIXTURES / "magenta"
