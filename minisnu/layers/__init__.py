"""Generic layers (Dense, Embedding, Dropout, Readout, TiedDense) and the ``Sequential`` container."""
