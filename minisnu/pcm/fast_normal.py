"""Standard normal numbers for the device simulation: fast, seeded by your Generator.

Every read of a PCM device adds a Gaussian noise, so simulating 52,800 devices
costs tens of thousands of normal draws per training step. NumPy's
``rng.standard_normal`` spends most of its time in the generic bit generator
(PCG64 behind a function pointer); here each call instead

1. takes four 64-bit words from the caller's ``numpy.random.Generator``
   (``rng.bit_generator.random_raw(4)``): the seed of a small generator, so the
   same Generator seed gives the same numbers, bit for bit;
2. runs xoshiro256++ (Blackman & Vigna 2018, a 256-bit state, four shifts,
   xors and adds per 64-bit word) inline in a Numba loop;
3. turns each 64-bit word into a normal with the ziggurat method (Marsaglia &
   Tsang 2000; the 256-layer variant with 52-bit mantissas that NumPy uses).

The ziggurat covers the density f(x) = exp(−x²/2) with 256 strips of equal area
V: strip 0 is the base [0, V/f(R)] × [0, f(R)] plus the tail x > R, strip i ≥ 1
is [0, x_i] × [f(x_i), f(x_{i−1})] with x_255 = R and x_0 = 0. One word gives
a strip i (8 bits), a sign (1 bit) and u in [0, 1) (52 bits); x = u·x_i. If
x < x_{i−1} (x < R for the base) the point lies under the curve: accept (about
98.5 % of the words). Otherwise the word's x is tested against the curve in the
strip's wedge (f(x_i) + (f(x_{i−1}) − f(x_i))·u' < f(x)), or, in the base, a
tail value is drawn (Marsaglia 1964); if the wedge test fails the draw starts
over with a new word.

So that the loop over the accepted 98.5 % runs without branches that the CPU
mispredicts, the words that need the rare test are set aside and finished in a
second loop; the numbers are then consumed in a fixed order and the result is
exactly distributed as N(0, 1) (see tests/test_fast_normal.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..core.validate import as_rng

# --- The ziggurat -------------------------------------------------------------------------------

R = 3.6541528853610088          #: x_255, where the tail starts
V = 0.00492867323399            #: the area of each strip: R·f(R) + ∫_R^∞ f(x) dx
_MANTISSA = 2.0**52


def _density(x: float) -> float:
    return math.exp(-0.5 * x * x)


def ziggurat_tables():
    """The strips: (k, w, f), one entry per strip, for a 52-bit integer u_int.

    w[i] = x_i / 2^52 turns u_int into x = u_int·w[i]; k[i] = ⌊2^52·x_{i−1}/x_i⌋ is
    the integer bound below which x surely lies under the curve; f[i] = f(x_i).
    The edges follow from equal areas, x_{i+1}·(f(x_i) − f(x_{i+1})) = V, from x_255 = R down.
    """
    x = np.zeros(256)
    x[255] = R
    for i in range(254, 0, -1):
        x[i] = math.sqrt(-2.0 * math.log(V / x[i + 1] + _density(x[i + 1])))
    base = V / _density(R)                      # the base strip's width, tail included
    k = np.zeros(256, np.int64)
    w = np.zeros(256)
    f = np.zeros(256)
    k[0], w[0], f[0] = int(R / base * _MANTISSA), base / _MANTISSA, 1.0
    for i in range(1, 256):
        k[i] = int(x[i - 1] / x[i] * _MANTISSA)  # 0 for the top strip: always the wedge test
        w[i] = x[i] / _MANTISSA
        f[i] = _density(x[i])
    return k, w, f


_K, _W, _F = ziggurat_tables()
_SIGN = np.array([1.0, -1.0])
#: The arrays a kernel passes to ``draw``: (k, w, f, sign).
TABLES = (_K, _W, _F, _SIGN)
_LOW8, _LOW52 = np.uint64(0xFF), np.uint64(0x000FFFFFFFFFFFFF)


# --- xoshiro256++ ------------------------------------------------------------------------------

@njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(inline="always")
def xoshiro256pp(state):
    """One 64-bit word and the next state (a 4-tuple of uint64), Blackman & Vigna's xoshiro256++.

    The state is passed as a tuple, not an array, so that it stays in registers.
    """
    s0, s1, s2, s3 = state
    word = _rotl(s0 + s3, 23) + s0
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return word, (s0, s1, s2, s3)


@njit(inline="always")
def _uniform(state):
    """u in [0, 1) from the top 53 bits of one word."""
    word, state = xoshiro256pp(state)
    return np.int64(word >> np.uint64(11)) * (1.0 / 9007199254740992.0), state


@njit(inline="always")
def _strip(word, k, w, sign):
    """Split a word into (strip i, sign index, 52-bit u_int, x = ±u_int·w[i], x surely under f)."""
    i = np.int64(word & _LOW8)
    negative = np.int64((word >> np.uint64(8)) & np.uint64(1))
    u = np.int64((word >> np.uint64(9)) & _LOW52)
    return i, negative, sign[negative] * (u * w[i]), u < k[i]


@njit(inline="always")
def _finish(i, negative, x, state, k, w, f, sign):
    """The rare case of a word whose x is not surely under f: wedge test, tail, or start over."""
    while True:
        if i == 0:                                       # the tail x > R (Marsaglia 1964)
            while True:
                u1, state = _uniform(state)
                u2, state = _uniform(state)
                xx = -math.log1p(-u1) / R
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    return sign[negative] * (R + xx), state
        u, state = _uniform(state)
        if (f[i - 1] - f[i]) * u + f[i] < math.exp(-0.5 * x * x):
            return x, state                              # under the curve in the wedge
        word, state = xoshiro256pp(state)                # rejected: a new draw
        i, negative, x, sure = _strip(word, k, w, sign)
        if sure:
            return x, state


@njit(inline="always")
def draw(state, tables):
    """One N(0, 1) number and the next state, for use inside other Numba kernels.

    ``state``: the 4-tuple of uint64 from ``seed(rng)``; ``tables``: ``TABLES``.
    Sequential (one word after the other), so slower per number than
    ``standard_normal``'s two loops; meant for the few draws of a sparse update.
    """
    k, w, f, sign = tables
    word, state = xoshiro256pp(state)
    i, negative, x, sure = _strip(word, k, w, sign)
    if sure:
        return x, state
    return _finish(i, negative, x, state, k, w, f, sign)


@njit(cache=True, error_model="numpy")
def _fill(seed, out, pending, pending_word, k, w, f, sign):
    """out[:] = standard normals from the xoshiro256++ state ``seed`` (4 uint64)."""
    state = (seed[0], seed[1], seed[2], seed[3])
    n_pending = 0
    for j in range(out.size):                 # the common case, without unpredictable branches
        word, state = xoshiro256pp(state)
        i, negative, x, sure = _strip(word, k, w, sign)
        out[j] = x
        pending[n_pending] = j                # kept only if the count moves on
        pending_word[n_pending] = word
        n_pending += not sure
    for m in range(n_pending):                # the ~1.5 % that need the full test, in order
        word = pending_word[m]
        i, negative, x, _ = _strip(word, k, w, sign)
        out[pending[m]], state = _finish(i, negative, x, state, k, w, f, sign)


def seed(rng) -> np.ndarray:
    """A xoshiro256++ state (4 uint64) from four 64-bit words of the Generator ``rng``."""
    state = as_rng(rng).bit_generator.random_raw(4)
    if not state.any():                       # xoshiro's one forbidden state (p = 2^-256)
        state[0] = 1
    return state


def standard_normal(rng, size, out=None) -> np.ndarray:
    """``size`` draws of N(0, 1) (float64), seeded by four words of the Generator ``rng``.

    Same distribution as ``rng.standard_normal(size)``, not the same numbers;
    about three times faster here. Each call takes exactly four 64-bit words from
    ``rng``, whatever ``size``, so later draws from ``rng`` do not depend on it.
    ``out``: an optional float64 array to fill (its shape is then the size).
    """
    if out is None:
        out = np.empty(size)
    elif out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous float64 array")
    state = seed(rng)
    flat = out.reshape(-1)
    pending = np.empty(flat.size + 1, np.int64)
    pending_word = np.empty(flat.size + 1, np.uint64)
    _fill(state, flat, pending, pending_word, _K, _W, _F, _SIGN)
    return out
