r"""Average and max pooling over space, the same at every time step.

The input is time-major images (T, B, C, H, W). The k × k windows do not
overlap (stride k); H' = ⌊H / k⌋ and W' = ⌊W / k⌋, so a last row or column
that does not fill a window is dropped, as PyTorch's default does (an image
smaller than k is refused). Every (t, b, c) image is pooled on its own:

.. math::

    \text{avg:}\; y[\ldots, i, j] = \frac{1}{k^2} \sum_{p, q < k} x[\ldots, ik + p, jk + q],
    \qquad
    \text{max:}\; y[\ldots, i, j] = \max_{p, q < k} x[\ldots, ik + p, jk + q]

Backward: the average hands each pixel of a window 1/k² of the window's
gradient; the max hands the whole gradient to the pixel that held the
maximum (the first in row-major order on a tie, as 0/1 spikes often tie),
and nothing to the others. Dropped pixels get zero.

Both are one reshape: (…, H, W) → (…, H', k, W', k), reduced over the two k axes.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError, InputTypeError
from ..core.layer import Layer
from ..core.registry import register_layer
from ..core.validate import FLOAT_DTYPES, check_array, check_gradient, check_size


class _Pool2d(Layer):
    """What both poolings share: the checks, the windows, the cache."""

    def __init__(self, k: int):
        super().__init__()
        self.k = check_size("k", k)
        self._cache = None

    def _windows(self, x):
        """x (T, B, C, H, W) as (T, B, C, H', W', k·k): each window's pixels on the last axis."""
        x = check_array("x", x, ndim=5)
        if x.dtype not in FLOAT_DTYPES:
            raise InputTypeError(f"x must be float32 or float64, got dtype {x.dtype}")
        k, (H, W) = self.k, x.shape[3:]
        if H < k or W < k:
            raise InputError(f"x's images of {H}×{W} pixels are smaller than the window k = {k}")
        Ho, Wo = H // k, W // k
        w = x[..., :Ho * k, :Wo * k].reshape(x.shape[:3] + (Ho, k, Wo, k))
        return x, w.transpose(0, 1, 2, 3, 5, 4, 6).reshape(x.shape[:3] + (Ho, Wo, k * k))

    def _unpool(self, dwindows, x_shape):
        """The adjoint of ``_windows``: (T, B, C, H', W', k·k) back to x's shape, 0 where dropped."""
        k = self.k
        lead, (Ho, Wo) = x_shape[:3], dwindows.shape[3:5]
        dx = np.zeros(x_shape, dwindows.dtype)
        d = dwindows.reshape(lead + (Ho, Wo, k, k)).transpose(0, 1, 2, 3, 5, 4, 6)
        dx[..., :Ho * k, :Wo * k] = d.reshape(lead + (Ho * k, Wo * k))
        return dx

    def config(self) -> dict:
        return {"k": self.k}


@register_layer
class AvgPool2d(_Pool2d):
    """Average over non-overlapping k × k windows: (T, B, C, H, W) -> (T, B, C, H // k, W // k)."""

    def forward(self, x):
        x, windows = self._windows(x)
        self._cache = (x.shape, x.dtype)
        return windows.mean(axis=-1)

    def backward(self, dy):
        self._need_forward(self._cache)
        shape, dtype = self._cache
        k, out = self.k, shape[:3] + (shape[3] // self.k, shape[4] // self.k)
        dy = check_gradient(self, dy, out, dtype)
        share = np.broadcast_to((dy / (k * k))[..., None], out + (k * k,))   # 1/k² to each pixel
        return self._unpool(share, shape)


@register_layer
class MaxPool2d(_Pool2d):
    """Maximum over non-overlapping k × k windows: (T, B, C, H, W) -> (T, B, C, H // k, W // k)."""

    def forward(self, x):
        x, windows = self._windows(x)
        first = windows.argmax(axis=-1)[..., None]      # the first maximum of each window
        self._cache = (x.shape, x.dtype, first)
        return np.take_along_axis(windows, first, axis=-1)[..., 0]

    def backward(self, dy):
        self._need_forward(self._cache)
        shape, dtype, first = self._cache
        dy = check_gradient(self, dy, first.shape[:-1], dtype)
        dwindows = np.zeros(first.shape[:-1] + (self.k * self.k,), dtype)
        np.put_along_axis(dwindows, first, dy[..., None], axis=-1)   # all of it to the maximum
        return self._unpool(dwindows, shape)
