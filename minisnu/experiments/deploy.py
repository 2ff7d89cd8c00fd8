"""Deploying a trained network on imperfect hardware: its weights, quantized, noisy or in PCM.

A network trained in software is copied onto hardware that cannot hold its
weights exactly. This module computes the weights such hardware would hold,
and returns a *copy* of the network with them; the trained network itself is
never modified, so one network serves every level of a sweep.

What is deployed
----------------
The *weights* are every 2-D parameter of every layer: the input matrices (W)
and the recurrent matrices (H of a recurrent SNU, U of the RNN, LSTM and GRU),
and the output layer's W. These are the arrays a crossbar would store (an
LSTM's or GRU's gate blocks stay together in one matrix, as the layers keep
them). Biases, thresholds and decays (1-D parameters) stay digital and exact:
on a chip they live in the neurons' circuits, not in the synaptic array.

Three imperfections, each applied per matrix
--------------------------------------------
- ``quantize``: fewer bits per weight, a symmetric uniform grid;
- ``add_noise``: Gaussian noise relative to the matrix's largest weight;
- ``program_pcm`` / ``read_weights`` / ``compensate``: the matrix in a
  ``Crossbar`` of differential PCM pairs (aihwkit's statistical model:
  programming noise, per-device drift, 1/f read noise), read back at a time
  t after programming, with or without global drift compensation.

Every random draw comes from a ``numpy.random.Generator`` the caller passes:
the same seed gives the same numbers.

Example::

    net4 = quantized_network(net, bits=4)
    noisy = noisy_network(net, 0.05, np.random.default_rng(0))
    deployment = program_pcm(net, np.random.default_rng(0))
    day = with_weights(net, compensate(deployment, read_weights(deployment, 86400.0)))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.validate import check_number, check_time
from ..layers.sequential import Sequential
from ..pcm.crossbar import PROBE_ROWS, Crossbar, CrossbarEffects, drift_compensation_factor
from ..pcm.noise_model import DEFAULT_NOISE_MODEL, PCMNoiseModel

__all__ = ["Deployment", "add_noise", "compensate", "copy_network", "noisy_network",
           "perturbed", "program_pcm", "quantize", "quantized_network", "read_weights",
           "weight_names", "with_weights"]


# --- which arrays are weights, and copies of a network --------------------------------------


def weight_names(net: Sequential) -> list[str]:
    """The flat names ("0.W", "0.U", "1.W", ...) of the network's 2-D parameters, in layer order.

    Those are the weight matrices a crossbar stores; 1-D parameters (biases,
    decays) are not listed: they stay digital.
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a minisnu Sequential, got {type(net).__name__}")
    return [name for name, p in net.params.items() if p.ndim == 2]


def copy_network(net: Sequential) -> Sequential:
    """An independent copy of ``net``: the layers rebuilt from their ``config()``, the parameters copied.

    The same route as loading a checkpoint (``Sequential.load``), without a
    file; the copy shares no array with ``net`` and is in ``net``'s mode
    (training or evaluation).
    """
    weight_names(net)                                       # the type check
    layers = [type(layer)(**layer.config()) for layer in net.layers]
    copy = Sequential(*layers)
    for name, param in copy.params.items():
        param[...] = net.params[name]
    return copy.train(net.training)


def with_weights(net: Sequential, weights: dict) -> Sequential:
    """A copy of ``net`` whose weight matrices are replaced by ``weights`` ({name: array}).

    Every name must be one of ``weight_names(net)`` with the matrix's shape;
    the values are cast to the parameter's dtype. Names not given keep the
    trained values.
    """
    names = set(weight_names(net))
    unknown = sorted(set(weights) - names)
    if unknown:
        raise ValueError(f"not weight matrices of this network: {unknown} (they are {sorted(names)})")
    copy = copy_network(net)
    for name, W in weights.items():
        W = np.asarray(W)
        if W.shape != copy.params[name].shape:
            raise ValueError(f"weights[{name!r}] has shape {W.shape}, the network's "
                             f"matrix {copy.params[name].shape}")
        copy.params[name][...] = W
    return copy


def perturbed(net: Sequential, transform) -> Sequential:
    """A copy of ``net`` with ``transform(W)`` applied to each weight matrix, in layer order.

    ``net`` is not modified. The matrices are transformed in the order of
    ``weight_names``, so a transform that draws random numbers draws them in
    a fixed order.
    """
    return with_weights(net, {name: transform(net.params[name]) for name in weight_names(net)})


def _as_weights(W):
    """``(W, max|W|)``: W as a float array (integer input becomes float64), checked non-empty and finite.

    max|W| is the scale every imperfection here is relative to.
    """
    W = np.asarray(W)
    if W.dtype.kind not in "biuf" or W.size == 0:
        raise ValueError(f"weights must be a non-empty real array, got dtype {W.dtype}, shape {W.shape}")
    if W.dtype.kind != "f":
        W = W.astype(np.float64)
    if not np.all(np.isfinite(W)):
        raise ValueError("weights must be finite (they hold NaN or inf)")
    return W, float(np.max(np.abs(W)))


# --- limited precision -----------------------------------------------------------------------


def quantize(W: np.ndarray, bits: int) -> np.ndarray:
    r"""Symmetric uniform quantization of one matrix to ``bits`` bits.

    The grid has :math:`n = 2^{bits−1} − 1` levels per sign over [−m, m], m = max|W|,
    and zero (:math:`2n + 1 = 2^{bits} − 1` values in all; one code of the
    :math:`2^{bits}` is left unused so that the grid is symmetric):

    .. math::

        Δ &= m / n \\
        Q(W) &= Δ · \text{round}(W / Δ) \\
             &= m · \text{round}(n·W/m) / n \qquad \text{(as it is computed)}

    Every weight moves by at most Δ/2, the largest :math:`|W|` stays exactly m, and
    a zero matrix stays zero. bits = 8 gives 255 values; bits = 2 gives
    {−m, 0, m}, the ternary weights. The result has W's dtype.

    Parameters
    ----------
    W : real array
        Any shape; the whole array is one matrix, one grid.
    bits : int >= 2
        One bit cannot hold a sign, a zero and a magnitude (n = 0 levels), so
        bits < 2 is refused.
    """
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 2:
        raise ValueError(f"bits must be an int >= 2 (a sign and at least one level), got {bits!r}")
    W, m = _as_weights(W)
    if m == 0:
        return np.zeros_like(W)
    n = 2 ** (int(bits) - 1) - 1
    # The form m·(k/n) keeps the extreme codes k = ±n exactly at ±m.
    codes = np.round(np.asarray(W, dtype=np.float64) * (n / m))
    return (m * (codes / n)).astype(W.dtype)


# --- weight noise ----------------------------------------------------------------------------


def add_noise(W: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    r"""Gaussian weight noise relative to the matrix's largest weight:

    .. math::

        W' = W + \text{level} · \max|W| · z, \qquad z \sim N(0, 1) \text{ per weight}

    ``level`` = 0.05 is a noise of 5 % of the largest weight on every weight.
    One z is drawn per weight even when ``level`` = 0 (which returns W
    exactly), so the same generator state gives the same z at every level:
    a sweep over levels then scales one noise pattern. The result has W's dtype.
    """
    level = check_number("level", level)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    W, m = _as_weights(W)
    z = rng.standard_normal(W.shape)
    return (W + (level * m) * z).astype(W.dtype)


def quantized_network(net: Sequential, bits: int) -> Sequential:
    """A copy of ``net`` with every weight matrix quantized to ``bits`` bits (``quantize``)."""
    return perturbed(net, lambda W: quantize(W, bits))


def noisy_network(net: Sequential, level: float, rng: np.random.Generator) -> Sequential:
    """A copy of ``net`` with relative weight noise ``level`` on every matrix (``add_noise``)."""
    return perturbed(net, lambda W: add_noise(W, level, rng))


# --- phase-change memory ---------------------------------------------------------------------


@dataclass
class Deployment:
    """A network's weight matrices programmed into PCM crossbars."""

    #: {weight name: Crossbar}, one per matrix, programmed one-shot.
    crossbars: dict
    #: {weight name: (PROBE_ROWS, n_in) array}, the fixed probe input of the drift compensation.
    probes: dict
    #: {weight name: mean|P·W(0)|}, the probe's mean output on the devices read right after
    #: programming.
    references: dict


def program_pcm(net: Sequential, rng: np.random.Generator, *,
                noise_model: PCMNoiseModel = DEFAULT_NOISE_MODEL, ideal: bool = False,
                devices_per_side: int = 1) -> Deployment:
    r"""Program every weight matrix of ``net`` into a PCM crossbar (``method="one_shot"``).

    Each matrix W gets its own ``Crossbar`` (differential pairs, largest :math:`|W|`
    at the model's g_max, 25 µS by default) programmed with aihwkit's
    statistical model, ``noise_model`` (a ``PCMNoiseModel``: g_max and the
    other constants of the devices):

    .. math::

        g_{prog} &= \max(0, g_T + σ_{prog}(\hat g_T) · z_1) \\
        ν &= |μ_ν(\hat g_T) + σ_ν(\hat g_T) · z_2|

    For the drift compensation, a probe P (PROBE_ROWS rows, uniform in
    [−1, 1]) is drawn per matrix and its mean output on the devices read
    right after programming is kept: mean|P·W(0)|, W(0) one read at t = 0.

    ``ideal=True`` gives ideal crossbars (every effect off, the exact
    weights), the reference of a perfect deployment. Every draw (programming,
    ν, probe, and the later reads) comes from ``rng``, matrix by matrix in the
    order of ``weight_names``.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    # The crossbar's own compensation acts in matvec; here it is applied to the weights.
    effects = CrossbarEffects(drift_compensation=False)
    crossbars, probes, references = {}, {}, {}
    for name in weight_names(net):
        W = net.params[name]
        xb = Crossbar(*W.shape, rng=rng, ideal=ideal, devices_per_side=devices_per_side, effects=effects,
                      noise_model=noise_model)
        xb.program(W, method="one_shot")
        probes[name] = rng.uniform(-1.0, 1.0, (PROBE_ROWS, W.shape[0]))
        references[name] = float(np.mean(np.abs(probes[name] @ xb.weights(0.0, noise=True))))
        crossbars[name] = xb
    return Deployment(crossbars, probes, references)


def read_weights(deployment: Deployment, t: float) -> dict:
    r"""The effective weights read ``t`` seconds after programming: {name: W(t)}.

    Per device (the statistical model; :math:`t_0` = 20 s):

    .. math::

        g(t) &= g_{prog} · ((t + t_0)/t_0)^{−ν} \\
        g_{read} &= \max(0, g(t) + |g(t)| · σ(t) · z_3) \\
        σ(t) &= Q(g_{prog}) · \sqrt{\ln \frac{t + t_0 + t_{read}}{2 t_{read}}} \\
        W(t) &= (G^+_{read} − G^-_{read}) / \text{scale} \\
        \text{scale} &= g_{max} / \max|W| \qquad \text{(the noise model's $g_{max}$)}

    One read per matrix: the same noisy weights serve a whole evaluation (on
    a chip every product reads the devices anew; one read keeps a sweep cheap
    and its noise is of the same size). The converters of the crossbar (DAC,
    ADC, output noise) are not applied: this is the weights, not the product.
    """
    t = check_time(t)
    return {name: xb.weights(t, noise=True) for name, xb in deployment.crossbars.items()}


def compensate(deployment: Deployment, weights: dict) -> dict:
    r"""Global drift compensation, one factor per matrix: {name: α·W(t)}:

    .. math::

        α = \frac{\text{mean}|P · W(0)|}{\text{mean}|P · W(t)|}

    with the probe P and the reference mean|P·W(0)| kept by ``program_pcm``.
    A crossbar applies α to its outputs; since y = x·W is linear in W,
    scaling the weights by α gives the same products, so a network with the
    compensated weights computes what the compensated crossbars would.
    α = 1 when the probe reads nothing (an all-zero matrix).
    """
    missing = sorted(set(deployment.crossbars) - set(weights))
    if missing:
        raise ValueError(f"weights lack the matrices {missing} of the deployment")
    return {name: drift_compensation_factor(deployment.probes[name], deployment.references[name],
                                            weights[name]) * weights[name]
            for name in deployment.crossbars}
