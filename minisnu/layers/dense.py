"""Time-distributed affine layer.

The same weights act on every time step and every example, so a time-major
tensor (T, B, n_in) is treated as one big matrix of T·B rows: one matrix
product does the whole sequence.
"""

from __future__ import annotations

import numpy as np

from ..core.init import glorot_uniform
from ..core.layer import Layer
from ..core.registry import register_layer
from ..core.validate import (
    as_dtype,
    as_rng,
    check_array,
    check_gradient,
    check_params,
    check_size,
)


@register_layer
class Dense(Layer):
    r"""Affine map applied to the last axis of any tensor.

    .. math::

        y = x W + b, \qquad W \in \mathbb{R}^{n_{in} \times n_{out}},\;
        b \in \mathbb{R}^{n_{out}}

    for ``x`` of shape (..., n_in), e.g. (T, B, n_in) or (B, n_in). With the
    rows of all leading axes stacked into X (N × n_in) and dY likewise, the
    backward pass is

    .. math::

        \frac{\partial L}{\partial W} = X^\top dY, \qquad
        \frac{\partial L}{\partial b} = \sum_{rows} dY, \qquad
        \frac{\partial L}{\partial X} = dY\, W^\top .

    Parameters
    ----------
    n_in, n_out : int
        input and output features.
    bias : bool
        learn the bias b (otherwise y = x W).
    dtype : numpy dtype
        float32 (default) or float64.
    rng : int or numpy.random.Generator
        int seed or ``numpy.random.Generator`` for the initialisation.

    Notes
    -----
    W is Glorot-uniform, :math:`W_{ij} \sim U(-a, a)` with
    :math:`a = \sqrt{6 / (n_{in} + n_{out})}`, which keeps the variance of
    activations and gradients roughly equal across layers; b starts at 0.
    The input is kept by reference for the backward pass: do not modify it in
    place between ``forward`` and ``backward``.
    """

    def __init__(self, n_in: int, n_out: int, bias: bool = True, dtype=np.float32, rng=0):
        super().__init__()
        self.n_in = check_size("n_in", n_in)
        self.n_out = check_size("n_out", n_out)
        self.bias = bool(bias)
        self.dtype = as_dtype(dtype)
        self.add_param("W", glorot_uniform(as_rng(rng), self.n_in, self.n_out, self.dtype))
        if self.bias:
            self.add_param("b", np.zeros(self.n_out, dtype=self.dtype))
        self._x2d = None  # the input as an (N, n_in) matrix
        self._out_shape = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_array("x", x, last=self.n_in, dtype=self.dtype)
        check_params(self)
        x2d = x.reshape(-1, self.n_in)  # a view when x is contiguous
        y = x2d @ self.params["W"]
        if self.bias:
            y += self.params["b"]  # in place: no second output array
        self._x2d = x2d
        self._out_shape = x.shape[:-1] + (self.n_out,)
        return y.reshape(self._out_shape)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._need_forward(self._x2d)
        dy = check_gradient(self, dy, self._out_shape, self.dtype)
        dy2d = dy.reshape(-1, self.n_out)
        # x2d.T is a transposed view: BLAS reads it without a copy.
        self.grads["W"] += self._x2d.T @ dy2d
        if self.bias:
            self.grads["b"] += dy2d.sum(axis=0)
        dx = dy2d @ self.params["W"].T
        return dx.reshape(self._out_shape[:-1] + (self.n_in,))

    def config(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out, "bias": self.bias, "dtype": self.dtype.name}
