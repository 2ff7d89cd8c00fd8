r"""The statistical PCM inference model: programming noise, drift and 1/f read noise.

A network is programmed once onto phase-change memory and then used for
inference for hours, days or years. Three effects separate the conductance a
device is read at from the target it was programmed to. This module follows
the statistical model of IBM's Analog Hardware Acceleration Kit (aihwkit,
``aihwkit.inference.noise.pcm.PCMLikeNoiseModel``), whose constants were fitted
on a million-device PCM array (Joshi et al., "Accurate deep neural network
inference using computational phase-change memory", Nat. Commun. 11, 2473,
2020; also Nandakumar et al., ICECS 2019).

Conductances are in µS, times in seconds, and ĝ = g / g_max is the normalized
conductance (g_max = 25 µS in the fitted array).

1. Programming noise (``program``), from the target g_T, ĝ = g_T / g_max:

   .. math::

       σ_\text{prog} &= (0.26348 + 1.9650 \, \hat g − 1.1731 \, \hat g^2) · g_\text{max} / 25 \\
       g_\text{prog} &= \max(0,\ g_T + σ_\text{prog} · z_1), \qquad z_1 \sim N(0, 1)

   The polynomial (the field ``prog_coeff``) was fitted in µS for g_max = 25 µS
   (``prog_coeff_g_max``); the factor g_max/25 rescales it to another g_max.

2. Drift exponent (``program``), drawn once per device, from the target g_T:

   .. math::

       μ_ν &= \mathrm{clip}(−0.0155 \ln \hat g + 0.0244,\ 0.049,\ 0.1) \\
       σ_ν &= \mathrm{clip}(−0.0125 \ln \hat g − 0.0059,\ 0.008,\ 0.045) \\
       ν &= |μ_ν + σ_ν · z_2|, \qquad z_2 \sim N(0, 1)

   ln ĝ is undefined at g_T = 0; ĝ is floored at 1e−7 (aihwkit's value) before
   the logarithm. The floor changes nothing: below ĝ ≈ 0.0076 both statistics
   already sit at their upper clip (μ_ν = 0.1, σ_ν = 0.045).

3. Drift (``read`` and ``drift_factor``), t seconds after programming:

   .. math::

       g(t) = g_\text{prog} · ((t + t_0) / t_0)^{−ν}, \qquad t_0 = 20 \text{ s}

   t0 is the time of the first read after programming: g(0) = g_prog exactly.

4. 1/f read noise (``read``), accumulated since programming started:

   .. math::

       Q &= \min(0.0088 / \max(\hat g_\text{prog}^{0.65}, 10^{−3}),\ 0.2),
           \qquad \hat g_\text{prog} = |g_\text{prog}| / g_\text{max} \\
       σ &= Q · \sqrt{\ln((t + t_0 + t_\text{read}) / (2 t_\text{read}))},
           \qquad t_\text{read} = 250 \text{ ns} \\
       g_\text{read} &= \max(0,\ g(t) + |g(t)| · σ · z_3), \qquad z_3 \sim N(0, 1)

   Two details follow the aihwkit source rather than a shorthand of it:
   Q is set by the *programmed* conductance g_prog (not by the drifted g(t)),
   and the 1/f time is t + t0, counted from the start of programming (aihwkit
   adds t0 to the inference time before both the drift and the 1/f formula).
   The second also keeps the logarithm positive at t = 0, where the bare
   ln((0 + t_read)/(2·t_read)) = ln ½ would be negative.

Every random number comes from the ``numpy.random.Generator`` given by the
caller (or made from an int seed): the same seed gives the same conductances,
bit for bit. Results are float64 arrays of the input's shape.

The constants are the fields of ``PCMNoiseModel`` itself, a frozen dataclass
like aihwkit's model: ``PCMNoiseModel(g_max=12.5)`` is another model.

Example::

    model = PCMNoiseModel(g_max=25.0)
    g_prog, nu = model.program(g_target, rng)      # once, at deployment
    g_t = model.read(g_prog, nu, 3600.0, rng)      # one hour later
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass

import numpy as np

from ..core.errors import InputError
from ..core.validate import as_rng, check_finite, check_number, check_time

#: Floor of ĝ before ln ĝ in the drift statistics (aihwkit's _ZERO_CLIP).
G_HAT_FLOOR = 1e-7


def _as_float_array(name: str, x) -> np.ndarray:
    """``x`` as a finite float64 array (scalars and lists accepted)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    check_finite(name, arr)
    return arr


@dataclass(frozen=True)
class PCMNoiseModel:
    """aihwkit's ``PCMLikeNoiseModel`` in NumPy: program once, read at any later time.

    Its fields are the model's constants; the defaults are aihwkit's
    (``aihwkit.inference.noise.pcm.PCMLikeNoiseModel``), fitted on a
    million-device PCM array by Joshi et al., Nat. Commun. 11, 2473 (2020)
    and Nandakumar et al., ICECS 2019.

    The drift-exponent and 1/f fits (μ_ν, σ_ν, Q) are fixed, as in aihwkit;
    see the module docstring for every equation. ``g_max`` may be given
    by position, the other fields by name; a bad field raises an error that
    names it.

    Parameters
    ----------
    g_max : float, µS
        The largest target conductance; ĝ = g / g_max. Default 25 µS,
        the g_max the constants were fitted at (aihwkit's ``g_max``).
    t0 : float, s
        The time of the first read after programming; drift is measured
        relative to it. Default 20 s (aihwkit's ``t_0``).
    t_read : float, s
        The duration of one read, the short-time cut-off of the 1/f
        noise. Default 250 ns (aihwkit's ``t_read``).
    prog_coeff : (c0, c1, c2), µS
        The programming-noise polynomial σ_prog = c0 + c1·ĝ + c2·ĝ², default
        (0.26348, 1.9650, −1.1731) (aihwkit's ``prog_coeff``).
    prog_coeff_g_max : float, µS
        The g_max at which ``prog_coeff`` was fitted; σ_prog is scaled by
        g_max / prog_coeff_g_max. Default 25 µS (aihwkit's
        ``prog_coeff_g_max_reference`` for its default coefficients).
    """

    g_max: float = 25.0
    _: KW_ONLY
    t0: float = 20.0
    t_read: float = 250e-9
    prog_coeff: tuple = (0.26348, 1.9650, -1.1731)
    prog_coeff_g_max: float = 25.0

    def __post_init__(self):
        for name in ("g_max", "t0", "t_read", "prog_coeff_g_max"):
            object.__setattr__(self, name, check_number(f"PCMNoiseModel.{name}", getattr(self, name),
                                                        positive=True))
        coeff = self.prog_coeff
        if (not isinstance(coeff, (tuple, list)) or len(coeff) != 3
                or any(isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating))
                       or not math.isfinite(c) for c in coeff)):
            raise InputError(f"PCMNoiseModel.prog_coeff must be three finite numbers (c0, c1, c2), "
                             f"got {coeff!r}")
        object.__setattr__(self, "prog_coeff", tuple(float(c) for c in coeff))

    # ------------------------------------------------------------------ checks
    def _targets(self, g_target, name: str = "g_target") -> np.ndarray:
        """Target conductances: finite and inside [0, g_max]."""
        g = _as_float_array(name, g_target)
        outside = (g < 0) | (g > self.g_max)
        if outside.any():
            bad = g[outside]
            raise ValueError(
                f"{name} must lie in [0, {self.g_max}] µS (g_max = {self.g_max}); "
                f"{bad.size} value(s) outside, from {bad.min()} to {bad.max()}"
            )
        return g

    @staticmethod
    def _conductances(g, name: str = "g_prog") -> np.ndarray:
        """Programmed conductances: finite and >= 0 (they may exceed g_max a little)."""
        g = _as_float_array(name, g)
        negative = g < 0
        if negative.any():
            raise ValueError(
                f"{name} must be >= 0 µS; {int(negative.sum())} negative value(s), "
                f"the smallest {g[negative].min()}"
            )
        return g

    @staticmethod
    def _exponents(nu) -> np.ndarray:
        nu = _as_float_array("nu", nu)
        if (nu < 0).any():
            raise ValueError(
                f"drift exponent nu must be >= 0; {int((nu < 0).sum())} negative value(s)"
            )
        return nu

    # -------------------------------------------------------------- statistics
    def programming_std(self, g_target) -> np.ndarray:
        """σ_prog = (c0 + c1·ĝ + c2·ĝ²) · g_max/prog_coeff_g_max, in µS, ĝ = g_target/g_max.

        With the defaults: (0.26348 + 1.9650·ĝ − 1.1731·ĝ²) · g_max/25.
        """
        g_hat = self._targets(g_target) / self.g_max
        c0, c1, c2 = self.prog_coeff
        return (c0 + c1 * g_hat + c2 * g_hat**2) * (self.g_max / self.prog_coeff_g_max)

    def _log_g_hat(self, g_target) -> np.ndarray:
        """ln ĝ with ĝ floored at G_HAT_FLOOR (ln 0 is undefined)."""
        g_hat = self._targets(g_target) / self.g_max
        return np.log(np.maximum(g_hat, G_HAT_FLOOR))

    def drift_mean(self, g_target) -> np.ndarray:
        """μ_ν = clip(−0.0155·ln ĝ + 0.0244, 0.049, 0.1): mean of the normal ν is folded from."""
        return np.clip(-0.0155 * self._log_g_hat(g_target) + 0.0244, 0.049, 0.1)

    def drift_std(self, g_target) -> np.ndarray:
        """σ_ν = clip(−0.0125·ln ĝ − 0.0059, 0.008, 0.045): std of the normal ν is folded from."""
        return np.clip(-0.0125 * self._log_g_hat(g_target) - 0.0059, 0.008, 0.045)

    def read_noise_q(self, g_prog) -> np.ndarray:
        r"""Q = min(0.0088 / max(ĝ^0.65, 1e−3), 0.2), ĝ = \|g_prog| / g_max (1/f amplitude)."""
        g_hat = np.abs(self._conductances(g_prog)) / self.g_max
        return np.minimum(0.0088 / np.maximum(g_hat**0.65, 1e-3), 0.2)

    def read_noise_std(self, g_prog, t: float) -> np.ndarray:
        r"""Relative std σ of a read at t s: σ = Q · sqrt(ln((t + t0 + t_read)/(2·t_read))).

        Dimensionless: the read noise in µS is \|g(t)|·σ. Q is set by the
        programmed conductance ``g_prog`` (as in aihwkit).
        """
        t = check_time(t)
        q = self.read_noise_q(g_prog)
        return q * np.sqrt(np.log((t + self.t0 + self.t_read) / (2 * self.t_read)))

    def drift_factor(self, nu, t) -> np.ndarray:
        """g(t)/g_prog = ((t + t0)/t0)^(−ν), deterministic; ``nu`` and ``t`` broadcast."""
        nu = self._exponents(nu)
        t = _as_float_array("t", t)
        if (t < 0).any():
            raise ValueError(f"t must be >= 0 seconds; got {int((t < 0).sum())} negative time(s)")
        return ((t + self.t0) / self.t0) ** (-nu)

    # ------------------------------------------------------------ the devices
    def program(self, g_target, rng=None, *, noise: bool = True):
        r"""Program devices to ``g_target`` (µS, any shape, each in [0, g_max]).

        Returns ``(g_prog, nu)``, both of the shape of ``g_target``:

        .. math::

            g_\text{prog} &= \max(0,\ g_T + σ_\text{prog}(\hat g) · z_1) \\
            ν &= |μ_ν(\hat g) + σ_ν(\hat g) · z_2| \qquad \hat g = g_T / g_\text{max}

        z₁ (all devices) is drawn before z₂. With ``noise=False`` nothing is
        drawn (``rng`` may be None): g_prog = g_T and ν = μ_ν, the ideal
        devices of a noise-free reference run.
        """
        g_target = self._targets(g_target)
        mu_nu = self.drift_mean(g_target)
        if not noise:
            return g_target.copy(), mu_nu
        if rng is None:
            raise TypeError("program(..., noise=True) needs rng: an int seed or a Generator")
        rng = as_rng(rng)
        z_prog = rng.standard_normal(g_target.shape)
        z_nu = rng.standard_normal(g_target.shape)
        g_prog = np.maximum(0.0, g_target + self.programming_std(g_target) * z_prog)
        nu = np.abs(mu_nu + self.drift_std(g_target) * z_nu)
        return g_prog, nu

    def read(self, g_prog, nu, t: float, rng=None, *, noise: bool = True) -> np.ndarray:
        r"""Read devices ``t`` seconds after programming (µS, shape of ``g_prog``).

        ``g_prog`` and ``nu`` are what ``program`` returned (same shape):

        .. math::

            g(t) &= g_\text{prog} · ((t + t_0) / t_0)^{−ν} \\
            g_\text{read} &= \max(0,\ g(t) + |g(t)| · σ · z_3) \\
            σ &= \mathtt{read\_noise\_std}(g_\text{prog}, t)

        With ``noise=False`` the result is the noise-free drifted g(t) and
        nothing is drawn (``rng`` may be None).
        """
        g_prog = self._conductances(g_prog)
        nu = self._exponents(nu)
        if g_prog.shape != nu.shape:
            raise ValueError(
                f"g_prog and nu must have the same shape (one exponent per device), "
                f"got {g_prog.shape} and {nu.shape}"
            )
        t = check_time(t)
        g_t = g_prog * self.drift_factor(nu, t)
        if not noise:
            return g_t
        if rng is None:
            raise TypeError("read(..., noise=True) needs rng: an int seed or a Generator")
        rng = as_rng(rng)
        sigma = self.read_noise_std(g_prog, t)
        return np.maximum(0.0, g_t + np.abs(g_t) * sigma * rng.standard_normal(g_t.shape))


#: aihwkit's fitted model (g_max = 25 µS), the default of the crossbars and deployments.
DEFAULT_NOISE_MODEL = PCMNoiseModel()
