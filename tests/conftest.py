"""Test settings: in CI (the CI environment variable is set) hypothesis draws the same
examples on every run, so a failure there can be reproduced; locally it explores anew."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
