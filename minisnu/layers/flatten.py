r"""Flatten: time-major images (T, B, C, H, W) -> feature vectors (T, B, C·H·W).

.. math::

    y[t, b, (c·H + h)·W + w] = x[t, b, c, h, w]

in C order, so a Dense layer after it sees the channels one after the
other (PyTorch's ``flatten(2)``). Backward is the inverse reshape of the
gradient. No parameters; any array of three or more dimensions is accepted
(the axes after the first two are joined).
"""

from __future__ import annotations

import math

from ..core.errors import InputTypeError
from ..core.layer import Layer
from ..core.registry import register_layer
from ..core.validate import FLOAT_DTYPES, check_array, check_gradient


@register_layer
class Flatten(Layer):
    """(T, B, C, H, W) -> (T, B, C·H·W); backward reshapes the gradient back."""

    def __init__(self):
        super().__init__()
        self._cache = None

    def forward(self, x):
        x = check_array("x", x, ndim=(3, 4, 5, 6))
        if x.dtype not in FLOAT_DTYPES:
            raise InputTypeError(f"x must be float32 or float64, got dtype {x.dtype}")
        self._cache = (x.shape, x.dtype)
        return x.reshape(x.shape[:2] + (-1,))

    def backward(self, dy):
        self._need_forward(self._cache)
        shape, dtype = self._cache
        dy = check_gradient(self, dy, shape[:2] + (math.prod(shape[2:]),), dtype)
        return dy.reshape(shape)

    def config(self) -> dict:
        return {}

