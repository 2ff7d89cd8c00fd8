"""How many threads NumPy's BLAS library multiplies with, now (threadpoolctl).

The event-driven products (``core/events.py``) decide by it when BLAS is faster, and a run
folder records it (a result depends on it in its last bits: the order in which BLAS adds).
"""

from __future__ import annotations

from pathlib import Path

from threadpoolctl import ThreadpoolController

_numpy_blas = None     # the controllers of NumPy's BLAS libraries, found on first use


def _libraries() -> list:
    """NumPy's BLAS: the library in NumPy's own folder (``numpy.libs`` of a wheel) when there
    is one, since another package may load a BLAS of its own later (SciPy's) that NumPy's
    products do not use; without one (NumPy linked to the system's BLAS), all loaded ones.
    Found once (about a millisecond); asking one for its count costs a microsecond."""
    global _numpy_blas
    if _numpy_blas is None:
        libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        numpys = [lib for lib in libraries if "numpy" in Path(lib.filepath).parent.name]
        _numpy_blas = numpys or libraries
    return _numpy_blas


def blas_threads() -> int | None:
    """The number of threads NumPy's BLAS library uses now; None if none is found."""
    counts = [lib.num_threads for lib in _libraries()]
    return max(counts) if counts else None
