"""The temporal units, one file each: equations, derivation, NumPy reference, Numba kernels, layer.

Read ``snu_reference.py`` first (the SNU's step and its backward, derived), then ``snu.py``
(the layer) and ``snu_engine.py`` (the compiled loops). ``rnn.py``, ``lstm.py`` and ``gru.py``
are the baselines; ``temporal.py`` is the base they all stand on (the carried state, the
engine switch, the products before and after the time loop); ``surrogate.py`` holds the
pseudo-derivatives of the spike.
"""
