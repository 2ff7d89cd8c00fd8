r"""Spike encodings: turn intensities in [0, 1] into spike trains over time.

Every encoder takes an array ``x`` of shape (B, ...) (a batch of images, or of
any feature vectors) and returns spikes of shape (T, B, ...): time first, the
layout every minisnu layer expects. A spike is 1, silence 0.

Three codes, from noisy to deterministic:

``rate``
    Bernoulli (Poisson-like) rate coding, the paper's spiking MNIST input:
    at every step each pixel fires independently with probability
    :math:`p = g\,x`.
``regular``
    The same mean rate without the noise: each pixel fires on a regular grid,
    exactly :math:`\lfloor T g x \rfloor` times over T steps.
``latency``
    Time-to-first-spike coding: one spike per pixel, brighter pixels earlier,
    pixels at or below a threshold never.

The random code draws from an explicit ``numpy.random.Generator`` (or an int
seed), never from global state, so an experiment can be replayed exactly.
Pass one Generator across the epochs of a training run: a fixed int seed would
give the same "noise" at every epoch.

Memory: the output is T times the input. The 60,000 MNIST training images over
20 steps take 3.8 GB in float32, so encode one minibatch at a time (or ask for
``dtype=bool``, 4 times smaller).
"""

from __future__ import annotations

import numpy as np

from ..core.validate import as_rng, check_number, check_size

SPIKE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.bool_))


def rate(x, steps: int = 20, gain: float = 0.3, *, rng, dtype=np.float32) -> np.ndarray:
    r"""Bernoulli rate coding: pixel i fires at step t with probability gain·x_i.

    .. math::

        s_{t,i} \sim \mathrm{Bernoulli}(g\,x_i), \qquad t = 0, \dots, T-1,

    independently over t and i, so the expected spike count of a pixel is
    :math:`T g x_i` and its rate (spikes per step) has mean :math:`g x_i` and
    standard deviation :math:`\sqrt{g x_i (1 - g x_i) / T}`. The paper's spiking
    MNIST uses T = 20 and g = 0.3.

    Parameters
    ----------
    x : array (B, ...)
        Intensities in [0, 1] (scale uint8 images by 1/255).
    steps : int
        Number of time steps T (> 0).
    gain : float
        g in (0, 1], the firing probability of a pixel of intensity 1.
    rng : int or numpy.random.Generator
        Seed or generator (required: see the module notes).
    dtype : float32 (default), float64 or bool

    Returns
    -------
    spikes : array (T, B, ...)
        The spikes, 0 and 1.
    """
    x = _check_intensities(x)
    steps, gain, dtype = check_size("steps", steps), _check_gain(gain), _check_spike_dtype(dtype)
    rng = as_rng(rng)
    # One uniform draw per (step, pixel): u < p happens with probability p.
    return (rng.random((steps, *x.shape)) < gain * x).astype(dtype, copy=False)


def regular(x, steps: int = 20, gain: float = 0.3, *, dtype=np.float32) -> np.ndarray:
    r"""Deterministic rate coding: the rate of :func:`rate` without its noise.

    A pixel accumulates a phase :math:`g x_i` per step and fires whenever the
    phase passes an integer:

    .. math::

        s_{t,i} = \lfloor (t+1)\, g x_i \rfloor - \lfloor t\, g x_i \rfloor,
        \qquad t = 0, \dots, T-1,

    so it fires exactly :math:`\lfloor T g x_i \rfloor` times over T steps,
    evenly spaced. Parameters and output as in :func:`rate` (no ``rng``).
    """
    x = _check_intensities(x)
    steps, gain, dtype = check_size("steps", steps), _check_gain(gain), _check_spike_dtype(dtype)
    # float64 so that the floor of (t+1)·g·x is not off by one from rounding
    phase = np.arange(steps + 1, dtype=np.float64).reshape((-1,) + (1,) * x.ndim) * (gain * x)
    counts = np.floor(phase + 1e-9)  # 1e-9: 3 × (1/3) must count as 1, not 0.999...
    return np.diff(counts, axis=0).astype(dtype)


def latency(
    x,
    steps: int = 20,
    tau: float = 5.0,
    threshold: float = 0.2,
    *,
    linear: bool = False,
    dtype=np.float32,
) -> np.ndarray:
    r"""Time-to-first-spike coding: one spike per pixel, brighter = earlier.

    Logarithmic (default): the pixel drives an RC membrane with a constant
    current x, :math:`V(t) = x\,(1 - e^{-t/\tau})`, which reaches the threshold
    :math:`\theta` at

    .. math::

        t^* = \tau \ln\frac{x}{x - \theta} \quad (x > \theta),

    in units of steps; the spike falls in step :math:`k = \lfloor t^* \rfloor`.
    A pixel whose :math:`t^* \ge T` (too dim to fire within the window) and
    every pixel with :math:`x \le \theta` stay silent.

    Linear (``linear=True``): the window is spread evenly between the
    brightest pixel (x = 1, step 0) and the threshold (last step),

    .. math::

        k = \mathrm{round}\!\left((T - 1)\,\frac{1 - x}{1 - \theta}\right)
        \quad (x > \theta),

    and pixels with :math:`x \le \theta` stay silent (``tau`` is unused).

    Parameters
    ----------
    x : array (B, ...)
        Intensities in [0, 1].
    steps : int
        Number of time steps T (> 0).
    tau : float
        Membrane time constant of the logarithmic code, in steps (> 0).
    threshold : float
        θ in [0, 1): intensities at or below it never spike.
    linear : bool
        Use the linear instead of the logarithmic code.
    dtype : float32 (default), float64 or bool

    Returns
    -------
    spikes : array (T, B, ...)
        At most one 1 per pixel.
    """
    x = _check_intensities(x)
    steps, dtype = check_size("steps", steps), _check_spike_dtype(dtype)
    tau = check_number("tau", tau, positive=True)
    threshold = check_number("threshold", threshold)
    if threshold >= 1:
        raise ValueError(f"threshold must be < 1 (else no pixel ever fires), got {threshold}")
    k = _first_spike_step(x, steps, tau, threshold, linear)
    # One-hot along time: step t is 1 where the pixel's spike step equals t;
    # silent pixels carry k = -1, which equals no t.
    return (np.arange(steps).reshape((-1,) + (1,) * x.ndim) == k).astype(dtype)


def _first_spike_step(x: np.ndarray, steps: int, tau: float, threshold: float,
                      linear: bool) -> np.ndarray:
    """The step index of each pixel's spike, or -1 for a silent pixel."""
    fires = x > threshold
    xs = np.where(fires, x, 1.0)  # a harmless value where the formula is undefined
    if linear:
        k = np.rint((steps - 1) * (1.0 - xs) / (1.0 - threshold))
    else:
        k = np.floor(tau * np.log(xs / (xs - threshold)))
    fires &= k < steps
    return np.where(fires, k, -1).astype(np.int64)


def _check_intensities(x) -> np.ndarray:
    """An array of at least one axis (the batch) with values in [0, 1], as float64."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"intensities must be a bool, int or float array, got dtype {x.dtype}")
    if x.ndim == 0:
        raise ValueError("intensities need a batch axis: shape (B, ...), got a scalar")
    x = x.astype(np.float64)
    if np.isnan(x).any():
        raise ValueError(f"intensities contain {int(np.isnan(x).sum())} NaN value(s)")
    if x.size and (x.min() < 0 or x.max() > 1):
        hint = " (uint8 images: divide by 255 first)" if x.max() > 1 else ""
        raise ValueError(
            f"intensities must lie in [0, 1], got values from {x.min()} to {x.max()}{hint}"
        )
    return x


def _check_gain(gain) -> float:
    gain = check_number("gain", gain, positive=True)
    if gain > 1:
        raise ValueError(f"gain must be in (0, 1]: gain·x is a probability per step, got {gain}")
    return gain


def _check_spike_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype must be float32, float64 or bool, got {dtype!r}") from err
    if dt not in SPIKE_DTYPES:
        raise TypeError(f"dtype must be float32, float64 or bool, got {dt}")
    return dt
