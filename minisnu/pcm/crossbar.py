r"""A PCM crossbar: a signed weight matrix stored in conductances, and its in-memory product.

A crossbar computes a matrix product in one step: input voltages x_i drive the
rows, each device passes a current x_i·G_ij (Ohm's law), and the currents of a
column add up (Kirchhoff's law): :math:`y_j = Σ_i x_i G_{ij}`.

Signed weights: a differential pair (pcm.md §3)
-----------------------------------------------
A conductance is never negative, so weight W_ij is stored on two devices and
read as their difference:

.. math::

    W = (G^+ − G^-) / \mathrm{scale}, \qquad \mathrm{scale} = g_\mathrm{target\_max} / \max|W|

A positive weight is programmed on G⁺ with G⁻ left at its minimum (0 µS in the
statistical model, the RESET state ≈ 0.1 µS for Nandakumar devices), a negative
weight on G⁻. The largest :math:`|W|` maps to g_target_max (default: the g_max of the
device model that programs, see below).

Multi-memristive synapse (Boybat et al., Nat. Commun. 9, 2514, 2018)
--------------------------------------------------------------------
With ``devices_per_side=N`` each side is N devices, all read and summed:

.. math::

    G^+ = Σ_k G^+_k, \qquad G^- = Σ_k G^-_k \qquad (k = 0, …, N−1)

The target of a side is split equally: each device is programmed to G_side/N.
Summing N independently noisy devices averages their programming and read
noise. An update (in-the-loop training) programs one device only, the one a
global selection counter points to: ``next_device()`` returns it and advances
it modulo N.

The product and its effects (pcm.md §4; aihwkit's defaults)
-------------------------------------------------------------
``matvec(x, t)`` runs these steps, each a small function of this module:

1. ``normalize_input``: :math:`s = \max_i |x_i|` per row, :math:`x ← x / s` (x in [−1, 1])
2. ``dac``: :math:`\tilde x = \mathrm{clip}(Δ_\text{in} · \mathrm{round}(x / Δ_\text{in}), −1, 1)`, 7 bits
3. read the devices: G(t), drift and read noise of the device model
4. ``analog_product``: :math:`\tilde y = \tilde x \tilde W`,
   :math:`\tilde W = (ΣG^+(t) − ΣG^-(t)) / g_\mathrm{target\_max}`
5. ``output_noise``: :math:`\tilde y ← \tilde y + σ_\text{out} · z`, σ_out = 0.06
6. ``adc``: :math:`\tilde y ← \mathrm{clip}(Δ_\text{out} · \mathrm{round}(\tilde y / Δ_\text{out}), −b, b)`,
   9 bits, b = 12
7. undo the scalings: :math:`y = s · \max|W| · \tilde y`
8. drift compensation: :math:`y ← α · y`,
   :math:`α = \mathrm{mean}|P \tilde W(0)| / \mathrm{mean}|P \tilde W(t)|`

W̃ is the weight in *normalized units*: :math:`\tilde W = W / \max|W|` when the
devices are perfect, so :math:`|\tilde W| ≤ 1` and :math:`|\tilde x| ≤ 1`; the output
noise, the ADC step and the ADC bound are in these units (as in aihwkit: a
full-scale input on one full-scale device gives a normalized output of 1).

A b-bit converter resolves its full range [−bound, bound] into 2^b − 2 equal
steps (2^b − 1 levels, symmetric around 0):

.. math::

    Δ &= 2 · \mathrm{bound} / (2^b − 2) \\
    \text{DAC: bound } 1 &→ Δ_\text{in} = 2/126 \text{ for 7 bits} \\
    \text{ADC: bound } 12 &→ Δ_\text{out} = 24/510 \text{ for 9 bits}

(aihwkit writes the resolution as 1/(2^b − 2): the step as a fraction of the
full range.)

Global drift compensation (pcm.md §2): at programming time a fixed probe input
P (32 rows, uniform in [−1, 1], drawn once from the crossbar's rng) is applied
to the devices read at t = 0, and :math:`\mathrm{mean}|P \tilde W(0)|` is kept; a
later product at t > 0 measures the same on the devices read now and scales its
outputs by the ratio. The probe is applied digitally exact and without output noise (a
simplification: on a chip it passes through the converters too).

The ideal crossbar
------------------
``Crossbar(..., ideal=True)`` switches every effect off (whatever the effect
options say, like aihwkit's ``is_perfect``) and maps weights exactly: scale = 1,
so the *conductances are in weight units* (whole side on device 0, others 0):

.. math::

    G^+ &= \max(W, 0), \qquad G^- = \max(−W, 0) \\
    y &= x \, (ΣG^+ − ΣG^-)

and nothing else. This equals ``x @ W`` bit for bit: max(W, 0) − max(−W, 0)
is W exactly (one of the two terms is 0), adding the zero conductances of the
other devices is exact, and the matrix product is then the very same NumPy
call on the same numbers (W's dtype is kept: float32 or float64).

Programming
-----------
Each method programs the devices of its own model, and g_max is that model's:

- ``program(W, method="one_shot")``: the statistical model of aihwkit, the
  crossbar's ``noise_model`` (a ``PCMNoiseModel``, g_max = 25 µS by default):
  programming noise and one drift exponent ν per device
  (``PCMNoiseModel.program``), drawn from the crossbar's rng. Reads are
  ``PCMNoiseModel.read`` (bit for bit), with its t-dependent factors kept for
  the last t read.
- ``program(W, method="verify")``: the devices of Nandakumar et al. 2018, the
  crossbar's ``device`` (a ``NandakumarDevice``, g_max = 12 µS by default):
  a ``PCMArray`` whose SET pulses saturate at that g_max.

g_target_max, the side conductance of the largest :math:`|W|`, must not exceed the g_max
of the model that programs; by default it is that g_max for ``one_shot`` and
min(g_max, 8 µS) for ``verify`` (the mean SET increment of a Nandakumar device
vanishes near 10.5 µS, so targets near g_max take many pulses).

Program-and-verify iterates on the ``PCMArray``: RESET all, then repeat::

    read every device (no drift: t = 0)
    RESET the devices above target + tol (a SET pulse can only raise G,
        so an overshoot can only be undone by starting again from the
        amorphous state)
    apply one SET pulse to the devices below target − tol

until every device reads within ±tol of its target or ``max_pulses``
iterations have run. The SET pulses each device received (over all its
attempts) are kept in ``xb.pulses``. Reads then use ``PCMArray.read`` (its
drift and read noise).

Every random number comes from ``xb.rng`` (``as_rng(rng)``): the same seed
gives the same crossbar, bit for bit.

Example::

    xb = Crossbar(784, 10, rng=0)
    xb.program(W)                  # W: (784, 10)
    y = xb.matvec(x, t=86400.0)    # x: (B, 784) -> (B, 10), one day later
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import InputError, InputTypeError
from ..core.validate import (
    FLOAT_DTYPES,
    as_rng,
    check_choice,
    check_finite,
    check_number,
    check_size,
    check_time,
)
from .device import DEFAULT_DEVICE, NandakumarDevice, PCMArray
from .noise_model import DEFAULT_NOISE_MODEL, PCMNoiseModel

#: Rows of the drift-compensation probe.
PROBE_ROWS = 32
#: Default largest target (µS) for program-and-verify: well below the
#: saturation of Nandakumar devices (the mean SET increment vanishes near 10.5 µS).
VERIFY_G_TARGET_MAX = 8.0
#: Defaults of program-and-verify: tolerance (µS) and the most iterations (at most one pulse each).
VERIFY_TOL = 1.0
VERIFY_MAX_PULSES = 60

METHODS = ("one_shot", "verify")


# --- The steps of the product ---------------------------------------------------------------

def converter_step(bits: int, bound: float) -> float:
    """Step of a b-bit converter over [−bound, bound]: Δ = 2·bound / (2^b − 2)."""
    return 2.0 * bound / (2**bits - 2)


def normalize_input(x: np.ndarray):
    r"""Scale each row into [−1, 1]: return (x / s, s) with s = max_i \|x_i| (s = 1 for a zero row).

    ``s`` keeps a trailing axis of length 1 so that ``x / s`` broadcasts by row.
    """
    s = np.max(np.abs(x), axis=-1, keepdims=True).astype(np.float64)
    s[s == 0] = 1.0
    return x / s, s


def dac(x: np.ndarray, bits: int) -> np.ndarray:
    """Input DAC on normalized inputs: x̃ = clip(Δ·round(x/Δ), −1, 1), Δ = 2/(2^b − 2).

    The rounding error is at most Δ/2 per input (in normalized units).
    """
    step = converter_step(bits, 1.0)
    return np.clip(np.round(x / step) * step, -1.0, 1.0)


def analog_product(x: np.ndarray, w_norm: np.ndarray) -> np.ndarray:
    """The crossbar's product in normalized units: ỹ = x̃ · W̃ (one matrix product)."""
    return x @ w_norm


def output_noise(y: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Additive output noise: ỹ + σ·z, z ~ N(0, 1) per output (σ in normalized units)."""
    return y + sigma * rng.standard_normal(y.shape)


def adc(y: np.ndarray, bits: int | None, bound: float | None) -> np.ndarray:
    """Output ADC: ỹ ← clip(Δ·round(ỹ/Δ), −bound, bound), Δ = 2·bound/(2^b − 2).

    ``bits=None``: no quantization; ``bound=None``: no clipping.
    Inside the bound the rounding error is at most Δ/2.
    """
    if bits is not None:
        step = converter_step(bits, bound)
        y = np.round(y / step) * step
    if bound is not None:
        y = np.clip(y, -bound, bound)
    return y


def drift_compensation_factor(probe: np.ndarray, reference: float, w_norm_now: np.ndarray) -> float:
    """α = mean|P·W̃(0)| / mean|P·W̃(t)|; ``reference`` is the numerator, kept at programming.

    α = 1 when the probe reads nothing now (an all-zero matrix).
    """
    now = float(np.mean(np.abs(probe @ w_norm_now)))
    return reference / now if now > 0 else 1.0


# --- Checks ---------------------------------------------------------------------------------

def _check_bits(name: str, bits):
    if bits is None:
        return None
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 2:
        raise InputError(f"{name} must be an int >= 2 (or None: no quantization), got {bits!r}")
    return int(bits)


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _as_float(name: str, a) -> np.ndarray:
    """A float32/float64 array as is; bool and int arrays as float64; anything else refused."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    elif a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {a.dtype}")
    check_finite(name, a)
    return a


# --- The effects, as a configuration -----------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CrossbarEffects:
    """The periphery of a crossbar's product and the device effects it simulates.

    The defaults are aihwkit's (``aihwkit.simulator.parameters.io.IOParameters``:
    ``inp_res = 1/(2^7 − 2)``, ``out_res = 1/(2^9 − 2)``, ``out_bound = 12``,
    ``out_noise = 0.06``; global drift compensation as its
    ``GlobalDriftCompensation``), with every device effect on.

    ``CrossbarEffects.only(drift=True)`` switches every effect off but those given.
    A bad field raises an error that names it.

    The converters and the output noise are in normalized units (see the module
    docstring); a device effect is simulated when True.

    Parameters
    ----------
    dac_bits : int or None
        7, the input DAC's resolution; None = no input quantization.
    adc_bits : int or None
        9, the output ADC's resolution; None = no output quantization.
    out_bound : float or None
        12.0, the ADC's clip; None = no clip (``adc_bits`` then needs a
        bound: it sets the step).
    out_noise : float
        0.06, std of the additive output noise; 0 = off.
    prog_noise : bool
        ``one_shot`` programming noise and the spread of ν (False:
        g_prog = target, ν = its mean μ_ν). ``verify`` is always stochastic.
    read_noise : bool
        Read noise of the device model at each read.
    drift : bool
        Conductance drift of the device model at t > 0.
    drift_compensation : bool
        Global drift compensation of the outputs.
    """

    dac_bits: int | None = 7
    adc_bits: int | None = 9
    out_bound: float | None = 12.0
    out_noise: float = 0.06
    prog_noise: bool = True
    read_noise: bool = True
    drift: bool = True
    drift_compensation: bool = True

    def __post_init__(self):
        for name in ("dac_bits", "adc_bits"):
            object.__setattr__(self, name, _check_bits(f"CrossbarEffects.{name}", getattr(self, name)))
        if self.out_bound is not None:
            object.__setattr__(self, "out_bound", check_number("CrossbarEffects.out_bound", self.out_bound,
                                                               positive=True))
        if self.adc_bits is not None and self.out_bound is None:
            raise InputError("CrossbarEffects.adc_bits needs out_bound "
                             "(the ADC step is 2·out_bound/(2^bits − 2))")
        object.__setattr__(self, "out_noise", check_number("CrossbarEffects.out_noise", self.out_noise))
        for name in ("prog_noise", "read_noise", "drift", "drift_compensation"):
            object.__setattr__(self, name, _check_bool(f"CrossbarEffects.{name}", getattr(self, name)))

    @classmethod
    def only(cls, **on) -> CrossbarEffects:
        """Every effect off (no converters, no noise, no drift) except those given in ``on``."""
        off = {"dac_bits": None, "adc_bits": None, "out_bound": None, "out_noise": 0.0, "prog_noise": False,
               "read_noise": False, "drift": False, "drift_compensation": False}
        return cls(**(off | on))


#: aihwkit's converters and noise, every effect on: the default of every crossbar.
DEFAULT_EFFECTS = CrossbarEffects()


# --- The crossbar ---------------------------------------------------------------------------

class Crossbar:
    r"""A signed (n_in, n_out) weight matrix in PCM conductances, and its in-memory product.

    Parameters
    ----------
    n_in, n_out : int
        Rows (inputs) and columns (outputs).
    rng : int seed or ``numpy.random.Generator``
        Every draw comes from it (kept as ``rng``).
    ideal : bool
        Every effect off and the exact mapping (conductances in weight units):
        ``matvec(x)`` equals ``x @ W`` bit for bit. ``effects`` is ignored.
    devices_per_side : int
        N devices per side of a differential pair, read and summed.
    effects : CrossbarEffects
        The converters, the output noise and which device effects are simulated
        (default: aihwkit's, everything on).
    noise_model : PCMNoiseModel
        The devices ``program(W, "one_shot")`` programs (aihwkit's statistics;
        g_max = 25 µS by default).
    device : NandakumarDevice
        The devices ``program(W, "verify")`` programs (Nandakumar et al. 2018;
        g_max = 12 µS by default).
    g_target_max : float or None, µS
        The conductance of a side for the largest :math:`|W|`. Default:
        ``noise_model.g_max`` for ``one_shot``, min(``device.g_max``, 8 µS) for
        ``verify``. ``program`` refuses one above the g_max of the model it uses.

    Attributes
    ----------
    rng, n_in, n_out, devices_per_side, ideal, noise_model, device, g_target_max
        As given.
    effects : CrossbarEffects
        The effects in use (all off when ideal).
    selection : int
        The device (0 .. N−1) an update programs; see ``next_device``.
    scale : float
        µS per weight unit after ``program`` (1 when ideal): W = (G⁺ − G⁻)/scale.
    g_ref : float
        µS, the side conductance of the largest :math:`|W|` (the g_target_max used).
    w_max : float
        :math:`\max|W|` of the programmed matrix.
    g_target : float array (2, N, n_in, n_out)
        Per-device target conductances, [0] = G⁺, [1] = G⁻.
    pulses : int64 array (2, N, n_in, n_out) or None
        SET pulses per device after ``verify``, else None.
    method : str
        The programming method used last ("one_shot" or "verify").
    """

    def __init__(self, n_in: int, n_out: int, rng=0, *, ideal: bool = False, devices_per_side: int = 1,
                 effects: CrossbarEffects = DEFAULT_EFFECTS, noise_model: PCMNoiseModel = DEFAULT_NOISE_MODEL,
                 device: NandakumarDevice = DEFAULT_DEVICE, g_target_max: float | None = None):
        self.n_in = check_size("n_in", n_in)
        self.n_out = check_size("n_out", n_out)
        self.rng = as_rng(rng)
        self.ideal = _check_bool("ideal", ideal)
        self.devices_per_side = check_size("devices_per_side", devices_per_side)
        for name, value, kind in (("effects", effects, CrossbarEffects),
                                  ("noise_model", noise_model, PCMNoiseModel),
                                  ("device", device, NandakumarDevice)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
        self.effects = CrossbarEffects.only() if self.ideal else effects    # ideal: every effect off
        self.noise_model = noise_model
        self.device = device
        if g_target_max is not None:
            g_target_max = check_number("g_target_max", g_target_max, positive=True)
        self.g_target_max = g_target_max

        self.selection = 0
        self.method = None
        self.scale = None
        self.g_ref = None
        self.w_max = None
        self.g_target = None
        self.pulses = None
        self._g_prog = self._nu = None       # one_shot: statistical model state
        self._drift_cache = None             # (t, g(t), σ(t)) of the last t read
        self._devices = None                 # verify: PCMArray
        self._g_ideal = None                 # ideal: exact conductances in weight units
        self._probe = None
        self._probe_reference = None

    def __repr__(self) -> str:
        state = "ideal" if self.ideal else (self.method or "not programmed")
        return f"Crossbar({self.n_in}, {self.n_out}, devices_per_side={self.devices_per_side}, {state})"

    @property
    def _shape(self):
        return (2, self.devices_per_side, self.n_in, self.n_out)

    # --- multi-device selection ----------------------------------------------------------------

    def next_device(self) -> int:
        """Return the selected device index and advance the counter: selection ← (selection + 1) mod N."""
        k = self.selection
        self.selection = (k + 1) % self.devices_per_side
        return k

    # --- programming -----------------------------------------------------------------------------

    def _check_weights(self, W) -> np.ndarray:
        W = _as_float("W", W)
        if W.shape != (self.n_in, self.n_out):
            raise ValueError(f"W must have shape (n_in, n_out) = {(self.n_in, self.n_out)}, got {W.shape}")
        return W

    def program(self, W: np.ndarray, method: str = "one_shot", *, tol: float = VERIFY_TOL,
                max_pulses: int = VERIFY_MAX_PULSES) -> None:
        r"""Store W (n_in, n_out) in the devices; ``method`` "one_shot" or "verify".

        Targets, per device (N devices per side):

        .. math::

            \mathrm{scale} &= g_\mathrm{target\_max} / \max|W| \\
            G^+_k &= \max(W, 0) · \mathrm{scale} / N, \qquad G^-_k = \max(−W, 0) · \mathrm{scale} / N

        ``tol`` (µS) and ``max_pulses`` are used by "verify" only. In ideal mode
        the devices are perfect and either method stores the exact weights.
        """
        check_choice("method", method, METHODS)
        W = self._check_weights(W)
        tol = check_number("tol", tol, positive=True)
        if isinstance(max_pulses, bool) or not isinstance(max_pulses, (int, np.integer)) or max_pulses < 0:
            raise ValueError(f"max_pulses must be an int >= 0, got {max_pulses!r}")
        g_ref = None if self.ideal else self._g_reference(method)    # checked before any change
        self._g_prog = self._nu = self._devices = self._g_ideal = None
        self._drift_cache = None
        self.pulses = None
        self.method = method

        if self.ideal:
            # Exact, in weight units: the whole side on device 0, the others at 0.
            g = np.zeros(self._shape, dtype=W.dtype)
            g[0, 0] = np.maximum(W, 0)
            g[1, 0] = np.maximum(-W, 0)
            self._g_ideal = g
            self.scale, self.g_ref, self.w_max = 1.0, None, float(np.max(np.abs(W)))
            self.g_target = g.copy()
            return

        W = W.astype(np.float64, copy=False)
        self.g_ref = g_ref
        self.w_max = float(np.max(np.abs(W)))
        self.scale = g_ref / self.w_max if self.w_max > 0 else 1.0
        n = self.devices_per_side
        side = np.stack([np.maximum(W, 0), np.maximum(-W, 0)]) * self.scale   # (2, n_in, n_out)
        target = np.minimum(side / n, g_ref)                                    # guard rounding
        self.g_target = np.broadcast_to(target[:, None], self._shape).copy()

        if method == "one_shot":
            self._g_prog, self._nu = self.noise_model.program(self.g_target, self.rng,
                                                              noise=self.effects.prog_noise)
        else:
            self._program_verify(tol, int(max_pulses))

        if self.effects.drift_compensation:
            if self._probe is None:         # drawn once, kept for every later programming
                self._probe = self.rng.uniform(-1.0, 1.0, (PROBE_ROWS, self.n_in))
            w0 = self._normalized_weights(self._read(0.0, self.effects.read_noise))
            self._probe_reference = float(np.mean(np.abs(self._probe @ w0)))

    def _g_reference(self, method: str) -> float:
        """The side conductance of the largest |W|: g_target_max or its default, checked against the
        g_max of the model that ``method`` programs."""
        if method == "one_shot":
            model, g_max, default = "noise_model", self.noise_model.g_max, self.noise_model.g_max
        else:
            model, g_max = "device", self.device.g_max
            default = min(g_max, VERIFY_G_TARGET_MAX)
        if self.g_target_max is None:
            return default
        if self.g_target_max > g_max:
            raise ValueError(f"g_target_max ({self.g_target_max}) must not exceed the g_max of the "
                             f"{model} that method={method!r} programs ({model}.g_max = {g_max} µS)")
        return self.g_target_max

    def _program_verify(self, tol: float, max_pulses: int) -> None:
        """RESET every device, then iterate read / RESET the overshoots / SET the rest (vectorized).

        Each iteration reads all devices at t = 0 (no drift; with read noise if
        ``read_noise``), melt-quenches those above target + tol and gives one
        SET pulse to those below target − tol. The devices are the crossbar's ``device``.
        """
        devices = PCMArray(self._shape, rng=self.rng, device=self.device)      # starts RESET
        for _ in range(max_pulses):
            g = devices.read(0.0, noise=self.effects.read_noise)
            over, below = g > self.g_target + tol, g < self.g_target - tol
            if not (over.any() or below.any()):
                break
            devices.reset(over)                 # overshot: start again from the amorphous state
            devices.set_pulse(below)
        self._devices = devices
        self.pulses = devices.n_pulses.copy()

    def _require_programmed(self) -> None:
        if self.method is None:
            raise RuntimeError("the crossbar holds no weights yet: call program(W) before matvec/weights")

    # --- reading -------------------------------------------------------------------------------

    def _read(self, t: float, noise: bool) -> np.ndarray:
        """All device conductances (2, N, n_in, n_out) read at t s (drift if ``drift``)."""
        if self._g_ideal is not None:
            return self._g_ideal
        if self._devices is not None:
            return self._devices.read(t if self.effects.drift else 0.0, noise=noise)
        g_t, sigma = self._drifted(t)
        if not noise:
            return g_t.copy()
        # PCMNoiseModel.read, with its t-dependent parts cached: bit for bit the same numbers.
        return np.maximum(0.0, g_t + np.abs(g_t) * sigma * self.rng.standard_normal(g_t.shape))

    def _drifted(self, t: float):
        """(g(t), σ(t)) of the statistical model, kept for the last t asked (read-only arrays).

        g(t) = g_prog·((t + t0)/t0)^(−ν)  (ν = 0 when the ``drift`` effect is off:
        the factor is then exactly 1), σ(t) = Q(g_prog)·sqrt(ln((t + t0 + t_read)/(2·t_read))).
        Neither depends on the read, so repeated products at one t skip the powers and logs.
        """
        if self._drift_cache is None or self._drift_cache[0] != t:
            nu = self._nu if self.effects.drift else np.zeros_like(self._nu)
            g_t = self._g_prog * self.noise_model.drift_factor(nu, t)
            sigma = self.noise_model.read_noise_std(self._g_prog, t)
            g_t.flags.writeable = sigma.flags.writeable = False
            self._drift_cache = (t, g_t, sigma)
        return self._drift_cache[1], self._drift_cache[2]

    def _normalized_weights(self, g: np.ndarray) -> np.ndarray:
        """W̃ = (ΣG⁺ − ΣG⁻) / g_target_max: the weights in normalized units (|W̃| ≤ 1 if perfect)."""
        g_side = g.sum(axis=1)                                  # (2, n_in, n_out): sum the N devices
        return (g_side[0] - g_side[1]) / self.g_ref

    def conductances(self):
        """The programmed conductances (G⁺, G⁻), each (N, n_in, n_out): µS, or weight units if ideal."""
        self._require_programmed()
        if self._g_ideal is not None:
            g = self._g_ideal
        elif self._devices is not None:
            g = self._devices.g
        else:
            g = self._g_prog
        return g[0].copy(), g[1].copy()

    def weights(self, t: float = 0.0, noise: bool = False) -> np.ndarray:
        """The effective weights read back at t: W = (ΣG⁺(t) − ΣG⁻(t)) / scale.

        Drift if the ``drift`` effect is on; read noise (one read) if ``noise``
        and the ``read_noise`` effect is on.
        """
        self._require_programmed()
        t = check_time(t)
        g_side = self._read(t, noise and self.effects.read_noise).sum(axis=1)
        if self.ideal:
            return g_side[0] - g_side[1]                # weight units: exactly W
        return (g_side[0] - g_side[1]) / self.scale

    # --- the product -----------------------------------------------------------------------------

    def matvec(self, x: np.ndarray, t: float = 0.0) -> np.ndarray:
        """The crossbar's product of x (B, n_in) or (n_in,) with W, t seconds after programming.

        Returns (B, n_out) or (n_out,). Ideal: x @ (ΣG⁺ − ΣG⁻), exactly x @ W.
        Otherwise the steps of the module docstring, with one matrix product.
        """
        self._require_programmed()
        x = _as_float("x", x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.n_in:
            raise ValueError(f"x must have shape (B, {self.n_in}) or ({self.n_in},), got {x.shape}")
        t = check_time(t)

        effects = self.effects
        g = self._read(t, effects.read_noise)
        if self.ideal:
            g_side = g.sum(axis=1)
            return x @ (g_side[0] - g_side[1])

        x_n, s = normalize_input(x)                                  # 1
        if effects.dac_bits is not None:
            x_n = dac(x_n, effects.dac_bits)                         # 2
        w_norm = self._normalized_weights(g)                         # 3
        y = analog_product(x_n, w_norm)                              # 4
        if effects.out_noise > 0:
            y = output_noise(y, effects.out_noise, self.rng)         # 5
        y = adc(y, effects.adc_bits, effects.out_bound)              # 6
        y = y * (s * self.w_max)                                     # 7
        if effects.drift_compensation and t > 0:                     # 8
            y = y * drift_compensation_factor(self._probe, self._probe_reference, w_norm)
        return y
