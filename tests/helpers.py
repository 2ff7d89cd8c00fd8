"""Helpers that several test modules use (test modules never import each other)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from minisnu.units.temporal import ENGINES  # noqa: F401  (the tests parametrize over it)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def randomize(layer, rng, scale=0.7):
    """Parameters away from the initialisation: every gate biased, U not orthogonal."""
    for p in layer.params.values():
        p[...] = scale * rng.standard_normal(p.shape)


def write_jsb(path: Path, rng) -> None:
    """A JSB-structured JSON file: 6/3/3 chorales of 6-11 steps of up to 4 MIDI notes."""
    def chorale():
        return [sorted(int(n) for n in rng.choice(np.arange(48, 80), rng.integers(0, 5), replace=False))
                for _ in range(rng.integers(6, 12))]
    splits = {"train": 6, "valid": 3, "test": 3}
    path.write_text(json.dumps({split: [chorale() for _ in range(n)] for split, n in splits.items()}))
