"""Exchange formats: minisnu networks written for, and read from, other tools.

``nir``: the Neuromorphic Intermediate Representation (``ms.nir.export``, ``ms.nir.load``).
"""
