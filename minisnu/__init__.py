"""minisnu: Spiking Neural Units from scratch, with hand-derived BPTT on NumPy and Numba."""

__version__ = "0.1.0"
