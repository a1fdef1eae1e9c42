"""Shared fixtures: a seeded simulated study (cheap to build once per module)."""

import pytest

from drumeval.analysis.simulate import SimulatedStudy, simulate_study


@pytest.fixture(scope="package")
def study() -> SimulatedStudy:
    """24 listeners, every clip (2 per model × genre × size, plus controls), thesis effects."""
    return simulate_study(24, 2, seed=11)
