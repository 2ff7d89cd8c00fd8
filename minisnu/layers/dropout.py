"""Inverted dropout, optionally with one mask shared over time (variational)."""

from __future__ import annotations

import numpy as np

from ..core.layer import Layer
from ..core.registry import register_layer
from ..core.validate import FLOAT_DTYPES, as_rng, check_array, check_gradient


@register_layer
class Dropout(Layer):
    r"""Zero each unit with probability p while training; identity in eval mode.

    .. math::

        y = x \odot m, \qquad
        m = \frac{\xi}{1 - p}, \quad \xi \sim \mathrm{Bernoulli}(1 - p),
        \qquad \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} \odot m

    Scaling the kept units by 1/(1-p) ("inverted" dropout) makes
    :math:`\mathbb{E}[y] = x`, so nothing changes at evaluation time, when the
    layer is the identity (``layer.training`` False, see ``eval()``).

    Parameters
    ----------
    p : float
        drop probability, in [0, 1).
    shared_over_time : bool
        draw one mask per (example, feature) for an input of
        shape (T, B, n) and reuse it at every time step (variational dropout,
        Gal & Ghahramani, 2016). Otherwise every entry gets its own draw.
    rng : int or numpy.random.Generator
        int seed or ``numpy.random.Generator``; kept as ``self.rng``.

    Notes
    -----
    The computation follows the input's dtype (float32 or float64). The mask
    of the last forward pass is kept for ``backward``.
    """

    def __init__(self, p: float = 0.5, shared_over_time: bool = False, rng=0):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"p must be a number, got {type(p).__name__}")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
        self.p = float(p)
        self.shared_over_time = bool(shared_over_time)
        self.rng = as_rng(rng)
        self._cache = None  # (input shape, input dtype, mask or None for identity)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_array("x", x, ndim=3 if self.shared_over_time else None)
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"x must be float32 or float64, got dtype {x.dtype}")
        if not self.training or self.p == 0.0:
            self._cache = (x.shape, x.dtype, None)
            return x
        mask = self._draw_mask(x.shape[1:] if self.shared_over_time else x.shape, x.dtype)
        self._cache = (x.shape, x.dtype, mask)
        return x * mask  # a (B, n) mask broadcasts over the T axis

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._need_forward(self._cache)
        shape, dtype, mask = self._cache
        dy = check_gradient(self, dy, shape, dtype)
        return dy if mask is None else dy * mask

    def _draw_mask(self, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """m = ξ / (1 - p) with ξ ~ Bernoulli(1 - p): keep where u >= p, u ~ U[0, 1)."""
        keep = self.rng.random(shape, dtype=dtype) >= self.p
        return keep * dtype.type(1.0 / (1.0 - self.p))

    def config(self) -> dict:
        return {"p": self.p, "shared_over_time": self.shared_over_time}
