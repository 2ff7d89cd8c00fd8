"""Readout: collapse the time axis of a spike train into one vector per example."""

from __future__ import annotations

import numpy as np

from ..core.layer import Layer
from ..core.registry import register_layer
from ..core.validate import FLOAT_DTYPES, check_array, check_choice, check_gradient

#: the ways to reduce the time axis (the ``mode`` of a Readout)
MODES = ("sum", "mean", "last")


@register_layer
class Readout(Layer):
    r"""Reduce (T, B, n) to (B, n) over time.

    .. math::

        \text{sum:}\;  y = \sum_{t=1}^{T} x_t, \qquad
        \text{mean:}\; y = \frac{1}{T} \sum_{t=1}^{T} x_t, \qquad
        \text{last:}\; y = x_T

    "sum" counts spikes, "mean" gives firing rates, "last" reads the final
    state. The gradient goes back to every step (scaled by 1/T for "mean") or
    to the last step only:

    .. math::

        \frac{\partial L}{\partial x_t} = \frac{\partial L}{\partial y},\quad
        \frac{1}{T}\frac{\partial L}{\partial y},\quad
        [t = T]\,\frac{\partial L}{\partial y}.

    Parameters
    ----------
    mode : str
        "sum", "mean" (default) or "last".

    Notes
    -----
    No parameters; the dtype follows the input (float32 or float64).
    """

    def __init__(self, mode: str = "mean"):
        super().__init__()
        check_choice("readout mode", mode, MODES)
        self.mode = mode
        self._cache = None  # (input shape, input dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_array("x", x, ndim=3)
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"x must be float32 or float64, got dtype {x.dtype}")
        self._cache = (x.shape, x.dtype)
        if self.mode == "sum":
            return x.sum(axis=0)
        if self.mode == "mean":
            return x.mean(axis=0)
        return x[-1]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._need_forward(self._cache)
        shape, dtype = self._cache
        dy = check_gradient(self, dy, shape[1:], dtype)
        # A real (writable, contiguous) array rather than a broadcast view:
        # the layer below may reshape it or hand it to a compiled kernel.
        if self.mode == "last":
            dx = np.zeros(shape, dtype=dtype)
            dx[-1] = dy
        else:
            dx = np.empty(shape, dtype=dtype)
            dx[...] = dy / shape[0] if self.mode == "mean" else dy
        return dx

    def config(self) -> dict:
        return {"mode": self.mode}
