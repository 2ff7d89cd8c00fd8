"""Initialisations of weight matrices, drawn from an explicit ``numpy.random.Generator``.

Every layer draws its initial weights here, so that the same seed gives the same
network: the draws happen in the order the layer calls these functions.
"""

from __future__ import annotations

import numpy as np


def glorot_uniform(rng, n_in, n_out, dtype):
    r""":math:`W \sim U(−r, r)`, :math:`r = \sqrt{6 / (n_{in} + n_{out})}` (Glorot & Bengio 2010).

    It keeps the variance of activations and gradients roughly equal across
    layers. Returns an (n_in, n_out) array of ``dtype``.
    """
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(dtype)


def orthogonal(rng, n, dtype):
    """A random n × n orthogonal matrix (Saxe et al. 2014), for the recurrent weights.

    Q of the QR decomposition of a Gaussian matrix; multiplying each column by
    the sign of R's diagonal makes the draw uniform over all orthogonal matrices
    (otherwise QR's sign convention biases it). h U then neither shrinks nor
    stretches h, so early in training the signal and the gradient through time
    keep their size.
    """
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.sign(np.diag(r))).astype(dtype)
