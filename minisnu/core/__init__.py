"""The bottom layer: what every other part of minisnu builds on.

- ``layer.py``: the contract every layer keeps (``params``, ``grads``, ``forward``, ``backward``);
- ``validate.py``: input checks with one-line errors; ``errors.py``: the errors a user can fix;
- ``init.py``: initial weights (Glorot uniform, orthogonal); ``functions.py``: elementwise
  functions shared by the units (sigmoid, tanh) in NumPy and as Numba scalars;
- ``registry.py``: layer types by name, for checkpoints; ``io.py``: atomic files;
- ``options.py``: declared command options.
"""
