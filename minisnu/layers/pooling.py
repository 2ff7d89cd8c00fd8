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

``pool_reference`` is the NumPy version, one reshape: (…, H, W) → (…, H', W', k·k),
reduced over the last axis. The layers run the compiled kernels below, which
give the same numbers (the tests check it) several times faster: they loop over
the channels innermost and write their outputs channel-last in memory, the
layout a ``ConvSNU`` writes its spikes in (its (T, B, C, H, W) output is a
transposed view), so neither side copies the data into the other's order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.errors import InputError, InputTypeError
from ..core.layer import Layer
from ..core.registry import register_layer
from ..core.validate import FLOAT_DTYPES, check_array, check_gradient, check_size


def pool_reference(x, k, mode):
    """NumPy pooling of (T, B, C, H, W): the output and, for "max", each window's first
    maximum as a row-major index p·k + q (for "avg", None)."""
    lead, (H, W) = x.shape[:3], x.shape[3:]
    Ho, Wo = H // k, W // k
    w = x[..., :Ho * k, :Wo * k].reshape(lead + (Ho, k, Wo, k))
    windows = w.transpose(0, 1, 2, 3, 5, 4, 6).reshape(lead + (Ho, Wo, k * k))
    if mode == "avg":
        return windows.mean(axis=-1), None
    first = windows.argmax(axis=-1)
    return np.take_along_axis(windows, first[..., None], axis=-1)[..., 0], first


def _channels_last(shape, dtype):
    """An (N, C, H, W) array whose memory is ordered (N, H, W, C), as a ConvSNU's output."""
    N, C, H, W = shape
    return np.empty((N, H, W, C), dtype).transpose(0, 3, 1, 2)


@njit(cache=True)
def max_pool_forward(x, k, y, first):
    """y[n, c, i, j] = max of the k × k window; first[...] = p·k + q of its first maximum."""
    N, C = x.shape[:2]
    _, _, Ho, Wo = y.shape
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    y[n, c, i, j] = x[n, c, i * k, j * k]
                    first[n, c, i, j] = 0
                for p in range(k):
                    for q in range(k):
                        for c in range(C):
                            v = x[n, c, i * k + p, j * k + q]
                            if v > y[n, c, i, j]:          # strictly: the first maximum stays
                                y[n, c, i, j] = v
                                first[n, c, i, j] = p * k + q


@njit(cache=True)
def max_pool_backward(dy, first, k, dx):
    """dx (zeroed by the caller) receives each window's dy at its first maximum."""
    N, C, Ho, Wo = dy.shape
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    at = first[n, c, i, j]
                    dx[n, c, i * k + at // k, j * k + at % k] = dy[n, c, i, j]


@njit(cache=True)
def avg_pool_forward(x, k, y):
    """y[n, c, i, j] = the mean of the k × k window (summed in row-major order, then scaled)."""
    N, C = x.shape[:2]
    _, _, Ho, Wo = y.shape
    scale = y.dtype.type(1.0 / (k * k))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    y[n, c, i, j] = 0
                for p in range(k):
                    for q in range(k):
                        for c in range(C):
                            y[n, c, i, j] += x[n, c, i * k + p, j * k + q]
                for c in range(C):
                    y[n, c, i, j] *= scale


@njit(cache=True)
def avg_pool_backward(dy, k, dx):
    """dx (zeroed by the caller) receives dy / k² at every pixel of the window."""
    N, C, Ho, Wo = dy.shape
    scale = dx.dtype.type(1.0 / (k * k))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for p in range(k):
                    for q in range(k):
                        for c in range(C):
                            dx[n, c, i * k + p, j * k + q] = dy[n, c, i, j] * scale


class _Pool2d(Layer):
    """What both poolings share: the checks, the output shape, the cache."""

    def __init__(self, k: int):
        super().__init__()
        self.k = check_size("k", k)
        self._cache = None

    def _check(self, x):
        """x checked, as (T·B, C, H, W) (a view), and the output's (T, B, C, H', W')."""
        x = check_array("x", x, ndim=5)
        if x.dtype not in FLOAT_DTYPES:
            raise InputTypeError(f"x must be float32 or float64, got dtype {x.dtype}")
        (T, B, C, H, W), k = x.shape, self.k
        if H < k or W < k:
            raise InputError(f"x's images of {H}×{W} pixels are smaller than the window k = {k}")
        return x, x.reshape(T * B, C, H, W), (T, B, C, H // k, W // k)

    def _gradient(self, dy, x):
        """dy checked as (T·B, C, H', W'), and a zeroed dx (T·B, C, H, W), channel-last in memory."""
        T, B, C, H, W = x.shape
        dy = check_gradient(self, dy, (T, B, C, H // self.k, W // self.k), x.dtype)
        dx = _channels_last((T * B, C, H, W), x.dtype)
        dx.fill(0)
        return dy.reshape((T * B,) + dy.shape[2:]), dx

    def config(self) -> dict:
        return {"k": self.k}


@register_layer
class AvgPool2d(_Pool2d):
    """Average over non-overlapping k × k windows: (T, B, C, H, W) -> (T, B, C, H // k, W // k)."""

    def forward(self, x):
        x, images, out = self._check(x)
        y = _channels_last((images.shape[0],) + out[2:], x.dtype)
        avg_pool_forward(images, self.k, y)
        self._cache = x
        return y.reshape(out)

    def backward(self, dy):
        self._need_forward(self._cache)
        dy, dx = self._gradient(dy, self._cache)
        avg_pool_backward(dy, self.k, dx)
        return dx.reshape(self._cache.shape)


@register_layer
class MaxPool2d(_Pool2d):
    """Maximum over non-overlapping k × k windows: (T, B, C, H, W) -> (T, B, C, H // k, W // k)."""

    def forward(self, x):
        x, images, out = self._check(x)
        y = _channels_last((images.shape[0],) + out[2:], x.dtype)
        first = np.empty(y.shape, np.int32)
        max_pool_forward(images, self.k, y, first)
        self._cache = (x, first)
        return y.reshape(out)

    def backward(self, dy):
        self._need_forward(self._cache)
        x, first = self._cache
        dy, dx = self._gradient(dy, x)
        max_pool_backward(dy, first, self.k, dx)
        return dx.reshape(x.shape)
