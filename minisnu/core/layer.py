"""The layer contract every minisnu layer follows.

A layer is a small object with

- ``params``: a dict of NumPy arrays (the trainable parameters);
- ``grads``: a dict with the same keys and shapes, where ``backward`` *adds*
  (``+=``) the gradient of the loss, so gradients of several passes accumulate
  until ``zero_grad()``;
- ``forward(x) -> y``: computes the output and caches what backward needs;
- ``backward(dy) -> dx``: takes dL/dy of the last forward pass, adds dL/dparams
  into ``grads`` and returns dL/dx (``None`` when x is not differentiable, such
  as the integer indices of an Embedding);
- ``training``: True while training (Dropout only drops then);
- ``config()``: the constructor arguments as JSON-friendly values, so that a
  network can be rebuilt from a checkpoint.

Anything with this contract plugs into ``Sequential``, the optimizers and the
gradient checks (``minisnu.training.gradcheck``, ``minisnu.training.testing``).
"""

from __future__ import annotations

import numpy as np


class Layer:
    """Base class: holds ``params``/``grads`` and implements ``zero_grad``."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True

    def add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        """Register a parameter and its zero-initialised gradient."""
        value = np.ascontiguousarray(value)
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        return value

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0.0)

    def train(self, mode: bool = True) -> Layer:
        self.training = bool(mode)
        return self

    def eval(self) -> Layer:
        return self.train(False)

    def forward(self, x):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, dy):  # pragma: no cover - interface
        raise NotImplementedError

    def config(self) -> dict:
        raise NotImplementedError(
            f"{type(self).__name__} has no config(), so a checkpoint cannot rebuild it")

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"

    def __call__(self, x):
        return self.forward(x)

    def _need_forward(self, cache) -> None:
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
