"""Input checks shared by every layer, loss and optimizer.

Bad input must raise an error that names the problem, never produce a silent
wrong answer. These helpers keep the messages uniform.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .errors import InputError, InputTypeError

#: the dtypes a layer computes in
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, accepting only float32 and float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise InputTypeError(f"dtype must be float32 or float64, got {dtype!r}") from err
    if dt not in FLOAT_DTYPES:
        raise InputTypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def as_rng(rng) -> np.random.Generator:
    """Turn a seed (int) or a ``numpy.random.Generator`` into a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise InputTypeError(
        f"rng must be an int seed or a numpy.random.Generator, got {type(rng).__name__}"
    )


def check_size(name: str, value) -> int:
    """A layer width must be a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise InputError(f"{name} must be positive, got {value}")
    return int(value)


def check_number(name: str, value, *, positive: bool = False) -> float:
    """A finite real number >= 0 (> 0 with ``positive``), as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        raise InputError(f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {value}")
    return value


def check_time(t, name: str = "t") -> float:
    """A time in seconds: one finite number >= 0."""
    if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"{name} must be a number of seconds, got {type(t).__name__}")
    t = float(t)
    if not np.isfinite(t) or t < 0:
        raise InputError(f"{name} must be finite and >= 0 (seconds), got {t}")
    return t


def check_choice(name: str, value, choices) -> None:
    """Raise ValueError if ``value`` is not one of ``choices``."""
    if value not in choices:
        raise InputError(f"unknown {name} {value!r}; choose one of {sorted(choices)}")


def check_finite(name: str, x: np.ndarray) -> None:
    """Raise ValueError if ``x`` holds a NaN or an infinity.

    Every layer calls this on its input, output gradient and parameters at every step, so it
    must cost little: for float32 and float64 arrays in memory order it is one compiled pass
    over their bits (``all_finite_bits``), a third faster than a sum on large arrays and free of
    the few microseconds of NumPy's floating-point-error machinery that a sum needed around it
    (a sum of large finite values overflows, and warns), which dominated on small arrays.
    """
    if not x.size or x.dtype.kind in "biu":
        return
    if not all_finite(x):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise InputError(f"{name} contains {bad} NaN or infinite value(s)")


# A float is NaN or infinite exactly when all bits of its exponent field are set.
_EXPONENT_BITS = {np.dtype(np.float32): (np.uint32, np.uint32(0x7F80_0000)),
                  np.dtype(np.float64): (np.uint64, np.uint64(0x7FF0_0000_0000_0000))}


def all_finite(x: np.ndarray) -> bool:
    """Whether every entry of x is finite: ``np.isfinite(x).all()``, compiled for float32 and
    float64 arrays in C or Fortran order (the reference for anything else)."""
    bits = _EXPONENT_BITS.get(x.dtype)
    if bits is None or not (x.flags.c_contiguous or x.flags.f_contiguous):
        return bool(np.isfinite(x).all())
    unsigned, exponent = bits
    return all_finite_bits(x.ravel(order="K").view(unsigned), exponent)


@njit(cache=True)
def all_finite_bits(bits, exponent):
    """Whether no entry has all of ``exponent``'s bits set, for the bits of floats as unsigned
    integers. The largest exponent field is kept (an integer max: the loop vectorizes, which
    a float sum without fastmath would not) and compared once at the end."""
    largest = bits.dtype.type(0)
    for i in range(bits.shape[0]):
        largest = max(largest, bits[i] & exponent)
    return largest != exponent


def check_gradient(layer, dy, shape: tuple, dtype: np.dtype, name: str = "dy") -> np.ndarray:
    """The upstream gradient given to ``layer.backward``: exactly ``shape``, in ``dtype``, finite.

    A NaN or infinity in ∂L/∂output would spread silently into every
    parameter gradient below; it is refused naming the layer. Cheap: one sum
    over ``dy`` (see ``check_finite``).
    """
    check_shape(name, dy, shape)
    dy = check_array(name, dy, dtype=dtype, finite=False)
    check_finite(f"{name} given to {type(layer).__name__}.backward", dy)
    return dy


def check_params(layer) -> None:
    """Raise ValueError naming the parameter if training has made one NaN or infinite.

    A spiking layer would otherwise hide it: step(NaN) is 0, so a diverged
    network just goes silent. Cheap (one sum per parameter, see ``check_finite``).
    """
    for name, p in layer.params.items():
        try:
            check_finite(f"parameter {name!r} of {type(layer).__name__}", p)
        except ValueError as err:
            raise InputError(f"{err}: training diverged (lower the learning rate or clip the "
                             "gradients)") from None


def check_array(
    name: str,
    x,
    *,
    ndim: int | tuple[int, ...] | None = None,
    last: int | None = None,
    dtype: np.dtype | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Validate a floating-point array and return it (converted if lossless).

    Parameters
    ----------
    name : str
        what to call the array in error messages.
    ndim : int or tuple of int, optional
        the required number of dimensions (or a tuple of allowed ones).
    last : int, optional
        the required size of the last axis (number of features).
    dtype : numpy dtype, optional
        the layer's float dtype. A floating array of another precision is
        refused (converting it would silently lose or invent precision); bool
        and integer arrays (spike trains, labels as floats) are converted.
    finite : bool
        refuse NaN and infinities.
    """
    if not isinstance(x, np.ndarray):
        raise InputTypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise InputError(f"{name} must have {want} dimensions, got shape {x.shape}")
    if last is not None and (x.ndim == 0 or x.shape[-1] != last):
        raise InputError(f"{name} must have {last} features on its last axis, got shape {x.shape}")
    if dtype is not None and x.dtype != dtype:
        if x.dtype.kind in "biu":
            x = x.astype(dtype)
        elif x.dtype.kind == "f":
            raise InputTypeError(
                f"{name} has dtype {x.dtype} but the layer computes in {dtype}; "
                f"convert it with .astype(np.{dtype.name})"
            )
        else:
            raise InputTypeError(f"{name} must be a float, int or bool array, got dtype {x.dtype}")
    if finite:
        check_finite(name, x)
    return x


def check_shape(name: str, x, shape: tuple) -> np.ndarray:
    """Check that ``x`` is an array of exactly ``shape`` (used for upstream gradients)."""
    if not isinstance(x, np.ndarray):
        raise InputTypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.shape != tuple(shape):
        raise InputError(f"{name} must have shape {tuple(shape)}, got {x.shape}")
    return x
