r"""Loss functions and metrics.

Every loss has the form ``loss, grad = fn(output, target, ...)``: ``loss`` is a
Python float (the *mean* over samples, time steps or elements) and ``grad`` is
∂loss/∂output, an array of the output's shape and dtype, ready to be passed to
``backward``. The metric helpers (``accuracy``, ``polyphonic_nll``,
``perplexity``) return a float only.

The formulas are written in their numerically stable forms:

- log-sum-exp: :math:`\log Σ_c e^{z_c} = m + \log Σ_c e^{z_c − m}` with :math:`m = \max_c z_c`,
  so no exponential overflows however large the logits;
- softplus: :math:`\log(1 + e^z) = \max(z, 0) + \log(1 + e^{−|z|})`, for the same reason.

Masks (bool, True = counts) let padded time steps of variable-length sequences
be ignored: the mean is then over the unmasked entries only, and the targets
under the mask are not checked (padding may hold any value, such as -1).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.validate import FLOAT_DTYPES, check_array, check_shape

# ---------------------------------------------------------------------------
# input checks


def _check_output(name: str, x, ndim=None) -> np.ndarray:
    """The network output: a finite float32/float64 array."""
    x = check_array(name, x, ndim=ndim)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {x.dtype}")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape}): its mean loss is undefined")
    return x


def _check_mask(mask, shape: tuple) -> np.ndarray | None:
    """A bool array of ``shape`` with at least one True (or None: no mask)."""
    if mask is None:
        return None
    check_shape("mask", mask, shape)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be a bool array (True = counts), got dtype {mask.dtype}")
    if not mask.any():
        raise ValueError("mask selects no entry: the mean over zero entries is undefined")
    return mask


def _check_labels(targets, shape: tuple, n_classes: int, mask) -> np.ndarray:
    """Integer class indices of ``shape``, each in [0, n_classes) where unmasked."""
    check_shape("targets", targets, shape)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must be integer class indices, got dtype {targets.dtype}")
    if mask is not None:
        targets = np.where(mask, targets, 0)  # padding may hold any value
    low, high = int(targets.min()), int(targets.max())
    if low < 0 or high >= n_classes:
        raise ValueError(
            f"targets must be class indices in [0, {n_classes}), got values in [{low}, {high}]"
        )
    return targets


def _check_binary(targets, shape: tuple, dtype: np.dtype, mask) -> np.ndarray:
    """Targets in {0, 1} (bool, int or float) of ``shape``, returned as ``dtype``."""
    check_shape("targets", targets, shape)
    if targets.dtype.kind not in "biuf":
        raise TypeError(f"targets must be a bool, int or float array, got dtype {targets.dtype}")
    targets = targets.astype(dtype)
    if mask is not None:
        targets[~mask] = 0  # padding may hold any value, even NaN
    bad = (targets != 0) & (targets != 1)  # NaN is caught here too
    if bad.any():
        raise ValueError(
            f"targets must be 0 or 1 (binary), got {int(bad.sum())} other value(s), "
            f"e.g. {float(targets[bad].flat[0])}"
        )
    return targets


def _binary_inputs(name: str, x, targets, mask):
    """Checked ``(x, targets as x.dtype, mask, number of counted time steps)``.

    The mask covers the time steps, i.e. every axis of ``x`` except the last
    (the notes); a step counts for all its notes or for none.
    """
    x = _check_output(name, x)
    if mask is not None and x.ndim == 0:
        raise ValueError(f"a mask needs {name} with a last (notes) axis, got shape {x.shape}")
    mask = _check_mask(mask, x.shape[:-1] if x.ndim else ())
    if mask is not None:
        mask = np.broadcast_to(mask[..., None], x.shape)
    targets = _check_binary(targets, x.shape, x.dtype, mask)
    steps = math.prod(x.shape[:-1]) if mask is None else np.count_nonzero(mask[..., 0])
    return x, targets, mask, steps


# ---------------------------------------------------------------------------
# categorical outputs


def softmax_cross_entropy(logits, targets, mask=None):
    r"""Mean cross-entropy of a softmax over classes, with its gradient.

    For each sample n (a row of the batch, or a (time step, batch row) pair)
    with logits :math:`z_n ∈ \mathbb{R}^C` and class y_n,

    .. math::

        ℓ_n &= −\log \mathrm{softmax}(z_n)_{y_n} = \log Σ_c e^{z_{n,c}} − z_{n,y_n} \\
        L &= (1/N) Σ_n m_n ℓ_n, \qquad N = Σ_n m_n \\
        ∂L/∂z_{n,c} &= m_n (\mathrm{softmax}(z_n)_c − [c = y_n]) / N

    with m_n = 1 without a mask. The log-sum-exp is computed after subtracting
    :math:`\max_c z_{n,c}`, so logits of any size give a finite result.

    Parameters
    ----------
    logits : float array
        (B, C), or (T, B, C) for one prediction per time step.
    targets : int array
        (B,) or (T, B), class indices in [0, C).
    mask : bool array, optional
        Of the targets' shape; False entries (padded time steps) are ignored and
        may hold any target value.

    Returns
    -------
    loss : float
    grad : array of the logits' shape and dtype
    """
    logits = _check_output("logits", logits, ndim=(2, 3))
    n_classes = logits.shape[-1]
    mask = _check_mask(mask, logits.shape[:-1])
    targets = _check_labels(targets, logits.shape[:-1], n_classes, mask)

    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted)
    total = probs.sum(axis=-1)
    picked = np.take_along_axis(shifted, targets[..., None], axis=-1)[..., 0]
    losses = np.log(total) - picked  # ℓ_n = lse(z_n) − z_{n,y_n}

    # m_n / N: the weight of each sample in the mean
    if mask is None:
        weight = np.full(total.shape, 1 / total.size, dtype=logits.dtype)
    else:
        weight = mask.astype(logits.dtype) / np.count_nonzero(mask)
    loss = float(np.sum(losses * weight))

    grad = probs
    grad /= total[..., None]  # softmax
    grad.reshape(-1, n_classes)[np.arange(targets.size), targets.ravel()] -= 1
    grad *= weight[..., None]
    return loss, grad


def lm_cross_entropy(logits, targets, mask=None):
    r"""Language-model loss: mean cross-entropy per token, in nats.

    The next-token prediction at step t is scored against token :math:`y_{t,b}`:

    .. math::

        L = (1/(T B)) Σ_{t,b} −\log \mathrm{softmax}(z_{t,b})_{y_{t,b}}

    which is :func:`softmax_cross_entropy` on (T, B, V) logits; see there for
    the gradient and the mask. ``perplexity(L)`` turns it into a perplexity.

    Parameters
    ----------
    logits : float array
        (T, B, V), V the vocabulary size.
    targets : int array
        (T, B), token indices in [0, V).
    mask : bool array, optional
        (T, B), marking the real (unpadded) tokens.
    """
    _check_output("logits", logits, ndim=3)
    return softmax_cross_entropy(logits, targets, mask)


def perplexity(mean_ce) -> float:
    """Perplexity exp(L) of a mean cross-entropy L in nats.

    A model that spreads its probability uniformly over V tokens has
    L = log V, hence perplexity V: "as unsure as a fair V-sided die".
    """
    ce = float(mean_ce)
    if math.isnan(ce) or ce < 0:
        raise ValueError(f"mean_ce must be a cross-entropy >= 0, got {ce}")
    try:
        return math.exp(ce)
    except OverflowError:  # ce > ~709.78: beyond the float64 range
        return math.inf


def accuracy(logits, targets, mask=None) -> float:
    r"""Fraction of samples whose largest logit is at the target class.

    .. math::

        \mathrm{acc} = (1/N) Σ_n m_n [\mathrm{argmax}_c \, z_{n,c} = y_n]

    Ties go to the lowest class index (``np.argmax``). Accepts the same shapes
    and mask as :func:`softmax_cross_entropy`; spike counts or rates work as
    logits.
    """
    logits = _check_output("logits", logits, ndim=(2, 3))
    mask = _check_mask(mask, logits.shape[:-1])
    targets = _check_labels(targets, logits.shape[:-1], logits.shape[-1], mask)
    hits = logits.argmax(axis=-1) == targets
    if mask is None:
        return float(hits.mean())
    return float(np.count_nonzero(hits & mask) / np.count_nonzero(mask))


# ---------------------------------------------------------------------------
# real-valued outputs


def mse(output, target):
    r"""Mean squared error over all M elements, with its gradient.

    .. math::

        L = (1/M) Σ_i (o_i − t_i)^2, \qquad ∂L/∂o_i = 2 (o_i − t_i) / M

    Used on firing rates, e.g. an output (B, C) against one-hot targets or
    target rates.

    Parameters
    ----------
    output : float array
        Of any shape.
    target : array
        Of the same shape (float, int or bool, e.g. one-hot); it is cast to the
        output's dtype.
    """
    output = _check_output("output", output)
    check_shape("target", target, output.shape)
    target = check_array("target", target)
    if target.dtype.kind not in "biuf":
        raise TypeError(f"target must be a bool, int or float array, got dtype {target.dtype}")
    diff = output - target.astype(output.dtype, copy=False)
    loss = float(np.mean(diff * diff))
    diff *= 2.0 / diff.size
    return loss, diff


# ---------------------------------------------------------------------------
# binary outputs (polyphonic music: one independent Bernoulli per note)


def _nll_from_logits(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise −[y log σ(z) + (1−y) log(1−σ(z))] = softplus(z) − y z.

    softplus(z) = max(z, 0) + log(1 + e^{−|z|}): the exponent is never positive.
    """
    nll = np.maximum(z, 0)
    nll += np.log1p(np.exp(-np.abs(z)))
    nll -= y * z
    return nll


def _nll_from_probs(p: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """Elementwise −[y log p + (1−y) log(1−p)] with p clipped to [eps, 1−eps]."""
    p = np.clip(p, eps, 1 - eps)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _check_probs(name: str, p: np.ndarray, eps: float) -> None:
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps}")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(
            f"{name} must be probabilities in [0, 1], got values in [{p.min()}, {p.max()}]; "
            "pass logits to bce_with_logits instead"
        )


def bce_with_logits(logits, targets, mask=None):
    r"""Mean binary cross-entropy of sigmoid(logits), with its gradient.

    With :math:`σ(z) = 1/(1 + e^{−z})` and :math:`\mathrm{softplus}(z) = \log(1 + e^z)`,
    each element (a note at a time step) contributes

    .. math::

        ℓ_i &= −[y_i \log σ(z_i) + (1 − y_i) \log(1 − σ(z_i))] = \mathrm{softplus}(z_i) − y_i z_i \\
        L &= (1/M) Σ_i m_i ℓ_i, \qquad ∂L/∂z_i = m_i (σ(z_i) − y_i) / M

    where M is the number of counted elements. Softplus is evaluated as
    :math:`\max(z, 0) + \log(1 + e^{−|z|})`, finite for any z.

    Parameters
    ----------
    logits : float array
        Of any shape, e.g. (T, B, N) for N notes.
    targets : array
        Of the same shape with values 0 or 1 (bool, int or float).
    mask : bool array, optional
        Of shape ``logits.shape[:-1]`` (time steps); a False step is ignored for
        all its notes.

    Returns
    -------
    loss : float
    grad : array of the logits' shape and dtype
    """
    logits, targets, mask, _ = _binary_inputs("logits", logits, targets, mask)
    losses = _nll_from_logits(logits, targets)
    grad = 0.5 * (1 + np.tanh(0.5 * logits))  # σ(z) = (1 + tanh(z/2))/2: no overflow, keeps float32
    grad -= targets
    count = logits.size if mask is None else np.count_nonzero(mask)
    if mask is not None:
        losses *= mask
        grad *= mask
    grad /= count
    return float(losses.sum() / count), grad


def bce(probs, targets, mask=None, eps=1e-7):
    r"""Mean binary cross-entropy of probabilities, with its gradient.

    For units whose output p is already a probability (a sigmoid output).
    To keep log finite, p is clipped to :math:`\tilde p = \mathrm{clip}(p, ε, 1 − ε)`:

    .. math::

        ℓ_i &= −[y_i \log \tilde p_i + (1 − y_i) \log(1 − \tilde p_i)] \\
        L &= (1/M) Σ_i m_i ℓ_i \\
        ∂L/∂p_i &= m_i (\tilde p_i − y_i) / (\tilde p_i (1 − \tilde p_i) M)
            \qquad \text{where } ε < p_i < 1 − ε

    and ∂L/∂p_i = 0 where p_i was clipped: the gradient is that of the clipped
    loss, which is flat there. A saturated wrong prediction therefore gets no
    gradient; prefer :func:`bce_with_logits` when the logits are available.

    Parameters
    ----------
    probs : float array
        Of any shape, values in [0, 1].
    targets : array
        Of the same shape with values 0 or 1 (bool, int or float).
    mask : bool array, optional
        Of shape ``probs.shape[:-1]`` (time steps).
    eps : float
        Clipping margin, in (0, 0.5).
    """
    probs, targets, mask, _ = _binary_inputs("probs", probs, targets, mask)
    _check_probs("probs", probs, eps)
    losses = _nll_from_probs(probs, targets, eps)
    inside = (probs > eps) & (probs < 1 - eps)
    p = np.where(inside, probs, 0.5)  # any value away from 0 and 1: masked below
    grad = (p - targets) / (p * (1 - p))
    grad *= inside if mask is None else inside & mask
    count = probs.size if mask is None else np.count_nonzero(mask)
    if mask is not None:
        losses *= mask
    grad /= count
    return float(losses.sum() / count), grad


def polyphonic_nll(logits_or_probs, targets, mask=None, from_logits=True, eps=1e-7) -> float:
    r"""Negative log-likelihood per time step of a polyphonic piano roll (metric).

    The Boulanger-Lewandowski et al. (2012) convention used for JSB chorales,
    Nottingham, MuseData and Piano-midi.de: the notes of a step are independent
    Bernoullis, their NLLs are *summed* over the N notes, then averaged over
    the S counted time steps (and batch rows):

    .. math::

        \mathrm{NLL} = (1/S) Σ_{t,b} m_{t,b} Σ_{k=1}^{N} ℓ_{t,b,k}

    with ℓ the per-note binary cross-entropy of :func:`bce_with_logits` (or of
    :func:`bce` on clipped probabilities when ``from_logits=False``). This is
    N times the mean BCE. No gradient is returned: train on the mean BCE.

    Parameters
    ----------
    logits_or_probs : float array
        (..., N), e.g. (T, B, N).
    targets : array
        Of the same shape with values 0 or 1.
    mask : bool array, optional
        Of shape ``logits_or_probs.shape[:-1]``.
    from_logits : bool
        Whether the first argument holds logits or probabilities.
    eps : float
        Clipping margin for probabilities (ignored for logits).
    """
    name = "logits" if from_logits else "probs"
    x, targets, mask, steps = _binary_inputs(name, logits_or_probs, targets, mask)
    if x.ndim == 0:
        raise ValueError(f"{name} needs a last (notes) axis, got shape {x.shape}")
    if from_logits:
        losses = _nll_from_logits(x, targets)
    else:
        _check_probs(name, x, eps)
        losses = _nll_from_probs(x, targets, eps)
    if mask is not None:
        losses *= mask
    return float(losses.sum() / steps)
