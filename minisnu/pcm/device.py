r"""A population of phase-change-memory (PCM) devices: RESET, SET pulses, drift, read noise.

The model is that of Nandakumar et al., J. Appl. Phys. 124, 152135 (2018); its
constants are the fields of ``NandakumarDevice``. Conductances G are in µS,
times in seconds.

RESET (melt-quench) makes the device amorphous, with a small random conductance
and a fresh pulse memory:

.. math::

    G \sim N(0.1, 0.01) \ \text{clipped to } [0.01, G_\text{max}], \qquad P = 1

SET (crystallizing) pulse, one at a time; the increment is random, shrinks as G
grows (saturation near 10.5 µS, where m1·G + c1 = 0) and is larger right after
a RESET (the pulse memory P fades by the factor e^(−1/a) at every pulse):

.. math::

    P &← P · \exp(−1/a) \\
    ΔG &\sim N(\text{mean} = m_1 G + c_1 + A_1 P,\ \ \text{std} = m_2 G + c_2 + A_2 P) \\
    G &← \mathrm{clip}(G + ΔG,\ 0.1,\ G_\text{max})

Read at t seconds after the last programming: the amorphous phase relaxes, so
the conductance drifts down by a power law (ν is drawn once per device), and
every read adds an independent, conductance-dependent noise:

.. math::

    G(t) &= G_\text{prog} · (t / t_0)^{−ν} \qquad \text{for } t > t_0
            \quad (G(t) = G_\text{prog} \text{ for } t ≤ t_0) \\
    G_\text{read} &= G(t) + N(0,\ m_3 G(t) + c_3), \qquad \text{clipped at 0}

(a conductance is never negative).

Where to read: ``NandakumarDevice`` holds the constants; ``set_pulse_reference``
and ``read_reference`` are the updates in plain NumPy; ``set_pulse_step``,
``reset_step`` and ``read_step`` are the same updates for one device, as Numba
functions that any kernel may inline (``PCMArray`` runs them, and so does the
in-loop training of ``minisnu.pcm.training``), given their constants as the small
tuples ``NandakumarDevice.pulse_constants()``, ``reset_constants()`` and
``read_constants()``; ``PCMArray`` keeps the per-device state. The drift factors
(t/t0)^(−ν) depend on t only (ν is fixed per device), so ``PCMArray`` computes
them once per distinct t and the read kernel multiplies.

Random numbers. Every draw is a standard normal z ~ N(0, 1) (a normal N(μ, σ)
is μ + σ·z), made by ``minisnu.pcm.fast_normal.standard_normal(rng, n)`` from the
caller's ``numpy.random.Generator``: a block of n draws per operation, consumed
in a fixed order, so the NumPy references and the Numba kernels give the same
numbers bit for bit, and the same seed repeats a run exactly:

- ``set_pulse``: devices in C order, all pulses of one device consecutively
  (device 0 pulse 1, device 0 pulse 2, ..., device 1 pulse 1, ...);
  one draw per pulse, none for a device that gets no pulse;
  ``set_pulse_at(index, n)``: the same, devices in the order of ``index``;
- ``read(noise=True)``: one draw per device, in C order;
- ``reset(mask)``: one draw per reset device, in C order (``reset_at``: index order);
- the constructor: first ν for every device, then the initial RESET.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
from numba import njit

from ..core.errors import InputError, InputTypeError
from ..core.validate import as_rng, check_number, check_time
from .fast_normal import standard_normal

# --- The published constants (Nandakumar et al. 2018) ------------------------------------------
# SET pulse: pulse memory time constant (in pulses), mean and std of the increment ΔG.
A_MEMORY = 2.6       # a:  P <- P·exp(−1/a)
M1 = -0.084          # m1: mean ΔG = m1·G + c1 + A1·P
C1 = 0.880           # c1  (µS)
A1 = 1.40            # A1  (µS)
M2 = 0.091           # m2: std ΔG = m2·G + c2 + A2·P
C2 = 0.260           # c2  (µS)
A2 = 2.15            # A2  (µS)
# Read noise: std = m3·G(t) + c3.
M3 = 0.03
C3 = 0.13            # µS
# RESET: G ~ N(G_RESET, G_RESET_STD) clipped to [G_RESET_MIN, g_max]; SET never goes below G_SET_MIN.
G_RESET = 0.1        # µS
G_RESET_STD = 0.01   # µS (= 0.1·G_RESET)
G_RESET_MIN = 0.01   # µS
G_SET_MIN = 0.1      # µS
G_MAX = 12.0         # µS (20 in some uses)
# Drift: G(t) = G_prog·(t/t0)^(−ν), ν ~ N(NU, NU_STD) per device, clipped at 0.
T0 = 38.6            # s
NU = 0.045
NU_STD = 0.005


# --- What a kernel needs: the constants of one update, as small tuples -------------------------

class PulseConstants(NamedTuple):
    """The constants of one SET pulse, in the order of its equations (see ``set_pulse_step``)."""

    memory_factor: float    #: e^(−1/a): P <- P·e^(−1/a)
    m1: float               #: mean ΔG = m1·G + c1 + A1·P
    c1: float
    A1: float
    m2: float               #: std ΔG = m2·G + c2 + A2·P
    c2: float
    A2: float
    g_set_min: float        #: G <- clip(G + ΔG, g_set_min, g_max)
    g_max: float


class ResetConstants(NamedTuple):
    """The constants of one RESET (see ``reset_step``)."""

    g_reset: float          #: G = clip(g_reset + g_reset_std·z, g_reset_min, g_max)
    g_reset_std: float
    g_reset_min: float
    g_max: float


class ReadConstants(NamedTuple):
    """The constants of one noisy read (see ``read_step``)."""

    m3: float               #: G_read = max(0, G(t) + (m3·G(t) + c3)·z)
    c3: float


# --- The device's constants -------------------------------------------------------------------

def _finite(owner: str, name: str, value) -> float:
    """A finite real number of either sign, as a float (the SET fit's coefficients)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"{owner}.{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise InputError(f"{owner}.{name} must be finite, got {value}")
    return float(value)


@dataclass(frozen=True, kw_only=True)
class NandakumarDevice:
    """The constants of a PCM device in the model of Nandakumar et al. (2018).

    The defaults are the published values: Nandakumar et al., "A phase-change
    memory model for neuromorphic computing", J. Appl. Phys. 124, 152135 (2018):
    the SET fit (a, m1, c1, A1, m2, c2, A2), the read noise (m3, c3), the RESET
    state G0 = 0.1 µS with a spread of 0.1·G0, the SET floor 0.1 µS, g_max = 12 µS
    (20 µS in some uses) and the drift reference time t0 = 38.6 s. The drift
    exponent ν ≈ 0.04–0.05 there; here each device draws ν ~ N(0.045, 0.005).

    Make your own to experiment, e.g. ``NandakumarDevice(g_max=20.0)`` or
    ``NandakumarDevice(a=5.0)`` (a longer pulse memory), and pass it as
    ``PCMArray(shape, device=...)``. Integers are stored as floats; a bad
    field raises an error that names it.

    The fields are in µS unless said.

    Parameters
    ----------
    a : float, pulses
        The time constant of the pulse memory: P <- P·e^(−1/a) at every SET pulse.
    m1, c1, A1 : float
        The mean SET increment m1·G + c1 + A1·P (m1 < 0: saturation).
    m2, c2, A2 : float
        Its standard deviation m2·G + c2 + A2·P.
    g_set_min : float
        A SET pulse never leaves G below this.
    g_max : float
        The saturation conductance, the ceiling of every SET and RESET.
    g_reset, g_reset_std, g_reset_min : float
        A RESET draws G ~ N(g_reset, g_reset_std), clipped to [g_reset_min, g_max].
    m3, c3 : float
        The read noise std m3·G(t) + c3 (m3 dimensionless).
    t0 : float, s
        The reference time of the drift law G(t) = G_prog·(t/t0)^(−ν).
    nu, nu_std : float
        Each device draws its drift exponent ν ~ N(nu, nu_std), clipped at 0.
    """

    a: float = A_MEMORY
    m1: float = M1
    c1: float = C1
    A1: float = A1
    m2: float = M2
    c2: float = C2
    A2: float = A2
    g_set_min: float = G_SET_MIN
    g_max: float = G_MAX
    g_reset: float = G_RESET
    g_reset_std: float = G_RESET_STD
    g_reset_min: float = G_RESET_MIN
    m3: float = M3
    c3: float = C3
    t0: float = T0
    nu: float = NU
    nu_std: float = NU_STD

    #: The SET fit's coefficients, of either sign; every other field is >= 0 (a, g_max, t0 > 0).
    _SIGNED = ("m1", "c1", "A1", "m2", "c2", "A2")
    _POSITIVE = ("a", "g_max", "t0")

    def __post_init__(self):
        owner = type(self).__name__
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self._SIGNED:
                value = _finite(owner, f.name, value)
            else:
                value = check_number(f"{owner}.{f.name}", value, positive=f.name in self._POSITIVE)
            object.__setattr__(self, f.name, value)
        if self.g_max <= self.g_set_min:
            raise InputError(f"{owner}.g_max must exceed the SET floor g_set_min = {self.g_set_min} µS, "
                             f"got {self.g_max}")

    @property
    def memory_factor(self) -> float:
        """e^(−1/a): the factor by which the pulse memory P fades at every SET pulse."""
        return math.exp(-1.0 / self.a)

    def pulse_constants(self) -> PulseConstants:
        """The constants of ``set_pulse_step``."""
        return PulseConstants(self.memory_factor, self.m1, self.c1, self.A1, self.m2, self.c2, self.A2,
                              self.g_set_min, self.g_max)

    def reset_constants(self) -> ResetConstants:
        """The constants of ``reset_step``."""
        return ResetConstants(self.g_reset, self.g_reset_std, self.g_reset_min, self.g_max)

    def read_constants(self) -> ReadConstants:
        """The constants of ``read_step``."""
        return ReadConstants(self.m3, self.c3)


#: The published device, the default of every array and layer of Nandakumar devices.
DEFAULT_DEVICE = NandakumarDevice()


# --- NumPy references: read these first -------------------------------------------------------

def set_pulse_reference(g, p, n, rng, device: NandakumarDevice = DEFAULT_DEVICE):
    r"""Apply n[i] SET pulses to device i; return the new (G, P), inputs unchanged.

    Per pulse, with z ~ N(0, 1):

    .. math::

        P &← P · e^{−1/a} \\
        ΔG &= m_1 G + c_1 + A_1 P + (m_2 G + c_2 + A_2 P) · z \\
        G &← \mathrm{clip}(G + ΔG,\ g_\mathrm{set\_min},\ g_\mathrm{max})

    Draw order (the same as the kernel's): devices in C order, the pulses of
    one device consecutively. All the draws are made at once; device i uses
    z[start[i] : start[i] + n[i]]. The loop then runs over the pulse index k,
    updating at once every device that receives more than k pulses.
    """
    shape = np.shape(g)
    g = np.array(g, dtype=np.float64).ravel()
    p = np.array(p, dtype=np.float64).ravel()
    n = np.asarray(n).ravel().astype(np.int64)
    z = standard_normal(rng, int(n.sum()))
    start = np.cumsum(n) - n                       # index of device i's first draw
    q = device
    for k in range(int(n.max(initial=0))):
        on = n > k                                 # devices that get a (k+1)-th pulse
        p[on] = p[on] * q.memory_factor
        mean = q.m1 * g[on] + q.c1 + q.A1 * p[on]
        std = q.m2 * g[on] + q.c2 + q.A2 * p[on]
        g[on] = np.clip(g[on] + (mean + std * z[start[on] + k]), q.g_set_min, q.g_max)
    return g.reshape(shape), p.reshape(shape)


def read_reference(g, nu, t, rng, device: NandakumarDevice = DEFAULT_DEVICE, noise: bool = True):
    r"""Read conductances t seconds after programming: drift, then read noise, clipped at 0.

    .. math::

        G(t) &= G · (t/t_0)^{−ν} = G · \exp(−ν \ln(t/t_0)) \qquad \text{for } t > t_0, \text{ else } G \\
        G_\text{read} &= \max(0,\ G(t) + (m_3 G(t) + c_3) · z)

    with one z ~ N(0, 1) per device in C order.
    """
    g = np.asarray(g, dtype=np.float64)
    t0 = device.t0
    g_t = g * np.exp(-nu * math.log(t / t0)) if t > t0 else g.copy()
    if noise:
        g_t = g_t + (device.m3 * g_t + device.c3) * standard_normal(rng, g.shape)
    return np.maximum(g_t, 0.0)


# --- Numba: the same updates, one device at a time --------------------------------------------

@njit(inline="always")
def set_pulse_step(g, p, z, k):
    """One SET pulse on a device in state (G, P) with the draw z; returns the new (G, P).

    ``k``: the device's ``PulseConstants``.
    """
    p = p * k.memory_factor                              # P <- P·e^(−1/a)
    mean = k.m1 * g + k.c1 + k.A1 * p                    # m1·G + c1 + A1·P
    std = k.m2 * g + k.c2 + k.A2 * p                     # m2·G + c2 + A2·P
    g = g + (mean + std * z)                             # G + ΔG
    return min(max(g, k.g_set_min), k.g_max), p          # clip to [g_set_min, g_max]


@njit(inline="always")
def reset_step(z, k):
    """A RESET with the draw z: the new (G, P) = (clip(g_reset + g_reset_std·z, g_reset_min, g_max), 1).

    ``k``: the device's ``ResetConstants``.
    """
    return min(max(k.g_reset + k.g_reset_std * z, k.g_reset_min), k.g_max), 1.0


@njit(inline="always")
def read_step(g_t, z, k):
    """A noisy read of a device at G(t) with the draw z: max(0, G(t) + (m3·G(t) + c3)·z).

    ``k``: the device's ``ReadConstants``.
    """
    return max(g_t + (k.m3 * g_t + k.c3) * z, 0.0)


@njit(inline="always")
def _pulse_device(g, p, i, count, z, j, k):
    """``count`` >= 1 SET pulses on device i with the draws z[j], z[j+1], ...; returns the next j."""
    gi, pi = set_pulse_step(g[i], p[i], z[j], k)
    for m in range(1, count):       # the first pulse outside the loop: one pulse is the common case
        gi, pi = set_pulse_step(gi, pi, z[j + m], k)
    g[i] = gi
    p[i] = pi
    return j + count


@njit(cache=True, error_model="numpy")
def _set_pulse_kernel(g, p, n, z, k):
    """In place on the flat arrays g, p: n[i] SET pulses on device i (see ``set_pulse_reference``).

    z holds one standard normal per pulse: devices in order, a device's pulses consecutively;
    ``k``: the ``PulseConstants``.
    """
    j = 0
    for i in range(g.size):
        if n[i] != 0:                                        # no pulse: state unchanged
            j = _pulse_device(g, p, i, n[i], z, j, k)


@njit(cache=True, error_model="numpy")
def _set_pulse_at_kernel(g, p, index, n, z, k):
    """The same for a list of devices: n[m] SET pulses on device index[m], in list order."""
    j = 0
    for m in range(index.size):
        if n[m] != 0:
            j = _pulse_device(g, p, index[m], n[m], z, j, k)


@njit(cache=True, error_model="numpy")
def _read_kernel(g, factor, drift, noise, z, k, out):
    """out[i] = max(0, G(t) + (m3·G(t) + c3)·z[i]) with G(t) = g[i]·factor[i] (see ``read_reference``).

    factor[i] = (t/t0)^(−ν_i), used only if ``drift``; z only if ``noise``; ``k``: the ``ReadConstants``.
    """
    zero = 0.0
    for i in range(g.size):
        gt = g[i]
        if drift:
            gt = gt * factor[i]                                  # G(t) = G·(t/t0)^(−ν)
        if noise:
            out[i] = read_step(gt, z[i], k)                      # + N(0, m3·G(t) + c3), clipped at 0
        else:
            out[i] = max(gt, zero)                               # a read is never negative


_NO_FACTOR = np.empty(0)     # the kernel's factor argument when there is no drift (t <= t0)


# --- The device population --------------------------------------------------------------------

def _as_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(f"shape must hold non-negative ints, got {shape!r}")
    return tuple(int(d) for d in dims)


class PCMArray:
    """A population of PCM devices of any shape, in the model of Nandakumar et al. (2018).

    After construction every device is RESET (amorphous).

    Parameters
    ----------
    shape : int or tuple of ints
        The shape of the device array.
    rng : int seed or ``numpy.random.Generator``
        Every draw comes from it (kept as ``rng``).
    device : NandakumarDevice
        The constants of every device (g_max, the SET/RESET/read-noise fit, the drift law);
        kept as ``device``. The drift exponent of each device is drawn once,
        ν ~ N(device.nu, device.nu_std), clipped at 0.

    Attributes
    ----------
    g : float array of ``shape``
        The programmed conductance G_prog, µS, one per device. You may assign it
        (``arr.g = ...`` or ``arr.g[...] = ...``), e.g. to start devices at a chosen state.
    p : float array of ``shape``
        The pulse memory P (1 right after a RESET).
    nu : float array of ``shape``
        The drift exponent ν (read-only view; assign ``arr.nu = ...``).
    n_pulses, n_resets : int64 arrays of ``shape``
        Counts of the SET pulses and of the RESETs applied since construction (the
        initial RESET made by the constructor is not counted).

    Examples
    --------
    ::

        arr = PCMArray((784, 10), rng=0,
                       device=NandakumarDevice(g_max=20.0))
        arr.set_pulse(counts)     # counts: int array >= 0, or a bool mask
        g_now = arr.read(3600.0)  # one hour after programming:
                                  # drift + read noise
        arr.reset(arr.g > 9.0)    # melt-quench the saturated devices
    """

    def __init__(self, shape, rng=0, *, device: NandakumarDevice = DEFAULT_DEVICE):
        if not isinstance(device, NandakumarDevice):
            raise TypeError(f"device must be a NandakumarDevice, got {type(device).__name__}")
        self.shape = _as_shape(shape)
        self._device = device
        self.rng = as_rng(rng)
        self._pulse_constants = device.pulse_constants()
        self._read_constants = device.read_constants()

        self._nu = np.maximum(device.nu + device.nu_std * standard_normal(self.rng, self.shape), 0.0)
        self._drift_t, self._drift = None, _NO_FACTOR    # cache of drift_factor(t)
        self._g = np.empty(self.shape)
        self._p = np.empty(self.shape)
        self.n_pulses = np.zeros(self.shape, np.int64)
        self.n_resets = np.zeros(self.shape, np.int64)
        self._melt_quench(np.arange(self.size))

    @property
    def device(self) -> NandakumarDevice:
        """The devices' constants (read-only: the kernels' tuples are made from it once)."""
        return self._device

    # --- state, with checked assignment -------------------------------------------------------

    @property
    def size(self) -> int:
        return self._g.size

    @property
    def g(self) -> np.ndarray:
        """Programmed conductances G_prog (µS).

        You may assign it (``arr.g = ...`` or ``arr.g[...] = ...``), e.g. to start devices at a
        chosen state.
        """
        return self._g

    @g.setter
    def g(self, value):
        self._assign("g", self._g, value, low=0.0)

    @property
    def p(self) -> np.ndarray:
        """Pulse memory P of each device (1 right after a RESET)."""
        return self._p

    @p.setter
    def p(self, value):
        self._assign("p", self._p, value, low=0.0)

    @property
    def nu(self) -> np.ndarray:
        """Drift exponent ν of each device (read-only view: assign ``arr.nu = ...`` to change it)."""
        view = self._nu.view()
        view.flags.writeable = False
        return view

    @nu.setter
    def nu(self, value):
        self._assign("nu", self._nu, value, low=0.0)
        self._drift_t = None                       # the cached drift factors are stale

    def drift_factor(self, t: float) -> np.ndarray:
        """(t/t0)^(−ν) = exp(−ν·ln(t/t0)) of every device for t > t0 (1 for t <= t0), read-only.

        ν is fixed per device, so the factors depend on t only: they are kept for
        the last t asked, and reading again at the same t costs no exponential.
        """
        t = check_time(t)
        if t != self._drift_t:
            t0 = self.device.t0
            if t > t0:
                self._drift = np.exp(-self._nu * math.log(t / t0))
            else:
                self._drift = np.ones(self.shape)
            self._drift.flags.writeable = False
            self._drift_t = t
        return self._drift

    def _assign(self, name, target, value, low):
        value = np.asarray(value, dtype=np.float64)
        if value.shape not in ((), self.shape):
            raise ValueError(f"{name} must be a number or an array of shape {self.shape}, "
                             f"got shape {value.shape}")
        if not np.isfinite(value).all() or (value < low).any():
            raise ValueError(f"{name} must be finite and >= {low}")
        target[...] = value

    def _check_mask(self, mask) -> np.ndarray:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"mask must be a bool array, got dtype {mask.dtype}")
        if mask.shape != self.shape:
            raise ValueError(f"mask must have the array's shape {self.shape}, got {mask.shape}")
        return mask

    # --- programming ------------------------------------------------------------------------------

    def _melt_quench(self, index: np.ndarray) -> None:
        """G ~ N(g_reset, g_reset_std) clipped to [g_reset_min, g_max], P = 1, on the flat ``index``."""
        q = self.device
        z = standard_normal(self.rng, index.size)                   # in index order
        self._g.reshape(-1)[index] = np.clip(q.g_reset + q.g_reset_std * z, q.g_reset_min, q.g_max)
        self._p.reshape(-1)[index] = 1.0

    def reset(self, mask=None) -> None:
        """RESET (melt-quench) every device, or those where the bool ``mask`` is True.

        G ~ N(0.1, 0.01) clipped to [0.01, g_max]; the pulse memory P returns to 1.
        """
        mask = np.ones(self.shape, bool) if mask is None else self._check_mask(mask)
        self._melt_quench(np.flatnonzero(mask))
        self.n_resets += mask

    def reset_at(self, index) -> None:
        """RESET the devices at the flat (C-order) positions ``index`` (1-d ints), in that order.

        The same as ``reset(mask)`` for the devices listed, without a whole-array mask:
        for a few devices of a large array.
        """
        index = self._check_index(index)
        self._melt_quench(index)
        np.add.at(self.n_resets.reshape(-1), index, 1)       # counts a repeated index twice

    def set_pulse(self, n) -> None:
        r"""Apply n[i] SET pulses to device i (``n``: int counts >= 0, or a bool mask = 1 pulse).

        Per pulse:

        .. math::

            P &← P · e^{−1/a} \\
            ΔG &\sim N(m_1 G + c_1 + A_1 P,\ m_2 G + c_2 + A_2 P) \\
            G &← \mathrm{clip}(G + ΔG,\ 0.1,\ g_\mathrm{max})

        Same numbers as ``set_pulse_reference`` with the same generator.
        """
        n = np.asarray(n)
        if n.shape != self.shape:
            raise ValueError(f"pulse counts must have the array's shape {self.shape}, got {n.shape}")
        counts = self._check_counts(n)
        z = standard_normal(self.rng, int(counts.sum()))
        _set_pulse_kernel(self._g.reshape(-1), self._p.reshape(-1), np.ascontiguousarray(counts).reshape(-1),
                          z, self._pulse_constants)
        self.n_pulses += counts

    def set_pulse_at(self, index, n) -> None:
        """Apply n[j] SET pulses to the device at flat (C-order) position index[j], in list order.

        For a few devices of a large array: the cost grows with the list, not the array.
        ``n`` is an int array of the length of ``index`` (or one int); a position listed
        twice gets both entries' pulses, one after the other.
        """
        index = self._check_index(index)
        n = np.broadcast_to(np.asarray(n), index.shape)
        counts = self._check_counts(n).astype(np.int64)
        z = standard_normal(self.rng, int(counts.sum()))
        _set_pulse_at_kernel(self._g.reshape(-1), self._p.reshape(-1), index, counts, z,
                             self._pulse_constants)
        np.add.at(self.n_pulses.reshape(-1), index, counts)

    def _check_counts(self, n: np.ndarray) -> np.ndarray:
        if n.dtype.kind not in "biu":
            raise TypeError(f"pulse counts must be an int or bool array, got dtype {n.dtype}")
        if n.dtype.kind == "b":
            return n.view(np.uint8)                # no copy; the kernel reads 0 or 1
        if n.size and n.min() < 0:
            raise ValueError(f"pulse counts must be >= 0, got a minimum of {n.min()}")
        return n.astype(np.int64, copy=False)

    def _check_index(self, index) -> np.ndarray:
        index = np.asarray(index)
        if index.dtype.kind not in "iu" or index.ndim != 1:
            raise TypeError(f"index must be a 1-d int array of flat device positions, got {index.dtype} "
                            f"with {index.ndim} dims")
        index = index.astype(np.int64, copy=False)
        if index.size and (index.min() < 0 or index.max() >= self.size):
            raise ValueError(f"index must lie in [0, {self.size}), got values in "
                             f"[{index.min()}, {index.max()}]")
        return np.ascontiguousarray(index)

    # --- reading ------------------------------------------------------------------------------------

    def read(self, t: float = 0.0, noise: bool = True, out=None) -> np.ndarray:
        """Conductances read t seconds after the last programming (µS), in ``out`` or a new array.

        G(t) = G_prog·(t/t0)^(−ν) for t > t0, else G_prog; with ``noise`` each read
        adds N(0, m3·G(t) + c3). The result is clipped at 0: a low conductance with a
        large negative noise draw reads as 0, never as a negative value.
        ``read(0, noise=False)`` is a copy of ``g``.
        """
        t = check_time(t)
        drift = t > self.device.t0
        factor = self.drift_factor(t).reshape(-1) if drift else _NO_FACTOR
        if out is None:
            out = np.empty(self.shape)
        elif out.shape != self.shape or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float64 array of shape {self.shape}")
        z = standard_normal(self.rng, self.size) if noise else _NO_FACTOR
        _read_kernel(self._g.reshape(-1), factor, drift, bool(noise), z, self._read_constants,
                     out.reshape(-1))
        return out

    def __repr__(self) -> str:
        return (f"PCMArray(shape={self.shape}, g_max={self.device.g_max}, mean G={self._g.mean():.3g} µS, "
                f"pulses={int(self.n_pulses.sum())}, resets={int(self.n_resets.sum())})")
