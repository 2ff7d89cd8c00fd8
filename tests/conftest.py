"""Test settings and the fixtures every test module may use.

In CI (the CI environment variable is set) hypothesis draws the same examples on
every run, so a failure there can be reproduced; locally it explores anew.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

#: The standard JSB chorales file of a development checkout: ../shared/data beside the repository.
STANDARD_JSB = Path(__file__).resolve().parents[2] / "shared" / "data" / "jsb-chorales-quarter.json"


@pytest.fixture(scope="session")
def standard_jsb() -> Path:
    """The path of the standard JSB chorales file (229/76/77 chorales); the test is skipped
    when the file is not there (a fresh clone: ``minisnu download jsb`` is for users)."""
    if not STANDARD_JSB.is_file():
        pytest.skip(f"the standard JSB chorales file is not at {STANDARD_JSB}")
    return STANDARD_JSB


@pytest.fixture
def rng():
    """A numpy Generator seeded with 0, fresh for each test."""
    return np.random.default_rng(0)


@pytest.fixture
def close_figures():
    """Close every pyplot figure after the test (for the plotting tests: ``usefixtures``)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
