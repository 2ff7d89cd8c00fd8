r"""Average and max pooling over space, the same at every time step.

The input is time-major images (T, B, C, H, W). The k × k windows do not
overlap (stride k); H' = ⌊H / k⌋ and W' = ⌊W / k⌋, so a last row or column
that does not fill a window is dropped, as PyTorch's default does (an image
smaller than k is refused). Every (t, b, c) image is pooled on its own:

.. math::

    \text{avg:}\; y[\ldots, i, j] &= \frac{1}{k^2} \sum_{p, q < k} x[\ldots, ik + p, jk + q] \\
    \text{max:}\; y[\ldots, i, j] &= \max_{p, q < k} x[\ldots, ik + p, jk + q]

Backward: the average hands each pixel of a window 1/k² of the window's
gradient; the max hands the whole gradient to the pixel that held the
maximum (the first in row-major order on a tie, as 0/1 spikes often tie),
and nothing to the others. Dropped pixels get zero.

``pool_reference`` is the NumPy version, one reshape: (…, H, W) → (…, H', W', k·k),
reduced over the last axis. The layers run the compiled kernels below, which
give the same numbers (the tests check it) several times faster: they work on
channel-last images (N, H, W, C), the layout a ``ConvSNU`` writes its spikes in
(its (T, B, C, H, W) output is a transposed view of that memory), loop over the
contiguous channels innermost without a branch, so that the loop vectorizes, and
hand on outputs and gradients in the same layout; neither side copies the data
into the other's order. (Channels-first input is copied once into that layout.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.errors import InputError, InputTypeError
from ..core.layer import Layer
from ..core.layout import channels_last
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


@njit(cache=True)
def max_pool_forward(x, k, y, first):
    r""":math:`y[n, i, j, c] = \max_{p,q<k} x[n, i·k + p, j·k + q, c]`; first[n, i, j, c] = p·k + q of
    the window's first maximum (row-major; a later pixel takes over only if strictly larger).

    x (N, H, W, C) and y, first (N, H', W', C): channel-last, so the innermost loop runs over
    contiguous channels and, being free of branches (selects), vectorizes.
    """
    N, Ho, Wo, C = y.shape
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                best, at = y[n, i, j], first[n, i, j]
                best[:] = x[n, i * k, j * k]
                at[:] = 0
                for p in range(k):
                    for q in range(k):
                        pixel, here = x[n, i * k + p, j * k + q], p * k + q
                        for c in range(C):
                            larger = pixel[c] > best[c]
                            best[c] = pixel[c] if larger else best[c]
                            at[c] = here if larger else at[c]


@njit(cache=True)
def max_pool_backward(dy, first, k, dx):
    """dx[n, i·k + p, j·k + q, c] = dy[n, i, j, c] at the window's first maximum, 0 elsewhere.

    Every pixel of the windows is written (no zeroing pass first); the caller zeroes the rows
    and columns that fill no window. All arrays channel-last, as in ``max_pool_forward``.
    """
    N, Ho, Wo, C = dy.shape
    zero = dx.dtype.type(0)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                grad, at = dy[n, i, j], first[n, i, j]
                for p in range(k):
                    for q in range(k):
                        pixel, here = dx[n, i * k + p, j * k + q], p * k + q
                        for c in range(C):
                            pixel[c] = grad[c] if at[c] == here else zero


@njit(cache=True)
def avg_pool_forward(x, k, y):
    r""":math:`y[n, i, j, c] = (1/k^2)\, Σ_{p,q<k} x[n, i·k + p, j·k + q, c]`, summed in row-major
    order.
    All arrays channel-last, as in ``max_pool_forward``."""
    N, Ho, Wo, C = y.shape
    scale = y.dtype.type(1.0 / (k * k))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                total = y[n, i, j]
                total[:] = 0
                for p in range(k):
                    for q in range(k):
                        pixel = x[n, i * k + p, j * k + q]
                        for c in range(C):
                            total[c] += pixel[c]
                for c in range(C):
                    total[c] *= scale


@njit(cache=True)
def avg_pool_backward(dy, k, dx):
    """dx[n, i·k + p, j·k + q, c] = dy[n, i, j, c] / k² for every pixel of the window; the
    caller zeroes the rows and columns that fill no window. All arrays channel-last."""
    N, Ho, Wo, C = dy.shape
    scale = dx.dtype.type(1.0 / (k * k))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                grad = dy[n, i, j]
                for p in range(k):
                    for q in range(k):
                        pixel = dx[n, i * k + p, j * k + q]
                        for c in range(C):
                            pixel[c] = grad[c] * scale


class _Pool2d(Layer):
    """What both poolings share: the checks, the channel-last views, the cache.

    :meta public:
    """

    def __init__(self, k: int):
        super().__init__()
        self.k = check_size("k", k)
        self._cache = None

    def _check(self, x):
        """x checked; its images channel-last (N = T·B, H, W, C), and an empty output
        (N, H', W', C) for them."""
        x = check_array("x", x, ndim=5)
        if x.dtype not in FLOAT_DTYPES:
            raise InputTypeError(f"x must be float32 or float64, got dtype {x.dtype}")
        (T, B, C, H, W), k = x.shape, self.k
        if H < k or W < k:
            raise InputError(f"x's images of {H}×{W} pixels are smaller than the window k = {k}")
        images = channels_last(x.reshape(T * B, C, H, W))
        return x, images, np.empty((T * B, H // k, W // k, C), x.dtype)

    def _output(self, y, x):
        """The kernel's (N, H', W', C) output as (T, B, C, H', W'): a view, channel-last in memory."""
        return y.transpose(0, 3, 1, 2).reshape(x.shape[:2] + y.shape[3:] + y.shape[1:3])

    def _gradient(self, dy, x):
        """dy checked, channel-last (N, H', W', C), and dx (N, H, W, C) to be filled by a kernel:
        only the rows and columns that fill no window are zeroed here."""
        T, B, C, H, W = x.shape
        k = self.k
        dy = check_gradient(self, dy, (T, B, C, H // k, W // k), x.dtype)
        dx = np.empty((T * B, H, W, C), x.dtype)
        dx[:, H // k * k:] = 0
        dx[:, :, W // k * k:] = 0
        return channels_last(dy.reshape((T * B,) + dy.shape[2:])), dx

    def config(self) -> dict:
        return {"k": self.k}


@register_layer
class AvgPool2d(_Pool2d):
    """Average over non-overlapping k × k windows: (T, B, C, H, W) -> (T, B, C, H // k, W // k)."""

    def forward(self, x):
        x, images, y = self._check(x)
        avg_pool_forward(images, self.k, y)
        self._cache = x
        return self._output(y, x)

    def backward(self, dy):
        self._need_forward(self._cache)
        dy, dx = self._gradient(dy, self._cache)
        avg_pool_backward(dy, self.k, dx)
        return self._output(dx, self._cache)


@register_layer
class MaxPool2d(_Pool2d):
    """Maximum over non-overlapping k × k windows: (T, B, C, H, W) -> (T, B, C, H // k, W // k)."""

    def forward(self, x):
        x, images, y = self._check(x)
        first = np.empty(y.shape, np.min_scalar_type(self.k * self.k - 1))   # uint8 for k <= 16
        max_pool_forward(images, self.k, y, first)
        self._cache = (x, first)
        return self._output(y, x)

    def backward(self, dy):
        self._need_forward(self._cache)
        x, first = self._cache
        dy, dx = self._gradient(dy, x)
        max_pool_backward(dy, first, self.k, dx)
        return self._output(dx, x)
