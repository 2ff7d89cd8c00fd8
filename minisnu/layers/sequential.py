"""Sequential: a stack of layers applied one after the other, with checkpoints.

A checkpoint is one ``.npz`` file (no pickle anywhere): every parameter under
its flat name ("0.W", "2.b", ...) and, under "__meta__", a JSON string with the
format name, its version, each layer's type and ``config()``, and the user's
metadata. Loading rebuilds the layers by name (``minisnu.core.registry``) and copies
the arrays in, after checking that every name, shape and dtype matches.

Layers that refer to other layers (``TiedDense`` uses an ``Embedding``'s table)
store the other layer's *index* in their ``config()``. The hook that connects
them: a layer may define ``bind(layers)``; ``Sequential`` calls it with the
list of all its layers once they are all built (in ``__init__``, hence also in
``load``), and again before ``save`` so that the index it records is the one
in this Sequential. ``bind`` resolves or records the reference and raises
TypeError/ValueError if the layers do not fit.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib

import numpy as np

from ..core.errors import CheckpointError
from ..core.io import save_npz_atomic
from ..core.layer import Layer
from ..core.registry import layer_type

FORMAT = "minisnu.sequential"
VERSION = 1
META_KEY = "__meta__"

# What numpy and zipfile raise on a damaged or foreign file. zipfile reports
# some damaged headers as RuntimeError ("encrypted") or NotImplementedError
# ("unsupported compression method", a RuntimeError subclass).
_DAMAGED_FILE_ERRORS = (OSError, EOFError, ValueError, RuntimeError, zipfile.BadZipFile, zlib.error,
                        struct.error)


class Sequential(Layer):
    r"""Compose layers: :math:`y = f_L(\cdots f_2(f_1(x)))`.

    By the chain rule the backward pass runs the layers in reverse,

    .. math::

        \frac{\partial L}{\partial x} = J_{f_1}^\top \cdots J_{f_L}^\top
        \frac{\partial L}{\partial y},

    each layer adding its parameter gradients on the way.

    ``params`` and ``grads`` are flat dicts ``{"<layer index>.<name>": array}``
    holding the layers' own arrays (not copies), so an optimizer that updates
    them in place trains the layers.

    Examples
    --------
    >>> net = Sequential(Dense(784, 256), SNU(256, 10), Readout("sum"))
    >>> y = net.forward(x)               # x: (T, B, 784) -> y: (B, 10)
    >>> net.backward(dy)
    >>> net.save("net.npz", metadata={"epoch": 3})
    >>> net = Sequential.load("net.npz")
    """

    def __init__(self, *layers):
        # Layer.__init__ is not called: params and grads are computed from the layers.
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(layers):
            if not all(hasattr(layer, a) for a in ("forward", "backward", "params", "grads")):
                raise TypeError(
                    f"layer {i} ({type(layer).__name__}) does not follow the layer contract; "
                    "pass layers as separate arguments: Sequential(a, b, c)"
                )
        self.layers = list(layers)
        self.training = True
        self._bind_layers()

    def _bind_layers(self) -> None:
        """The hook for layers that refer to other layers: ``layer.bind(layers)`` (module docstring)."""
        for layer in self.layers:
            if callable(getattr(layer, "bind", None)):
                layer.bind(self.layers)

    # ---- forward and backward -------------------------------------------------

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        """Back-propagate through all layers; returns the first layer's dx (None for Embedding)."""
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            if dy is None and i < last:
                raise ValueError(
                    f"layer {i + 1} ({type(self.layers[i + 1]).__name__}) returned no input gradient, "
                    "so the layers below it cannot be trained; only the first layer may take "
                    "a non-differentiable input"
                )
            dy = self.layers[i].backward(dy)
        return dy

    # ---- parameters -----------------------------------------------------------

    @property
    def params(self) -> dict:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @property
    def grads(self) -> dict:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def parameters(self):
        """Yield ``(name, param, grad)`` for every parameter, in layer order."""
        for i, layer in enumerate(self.layers):
            for k, p in layer.params.items():
                yield f"{i}.{k}", p, layer.grads[k]

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params.values())

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def train(self, mode: bool = True) -> Sequential:
        self.training = bool(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    # ---- container protocol ---------------------------------------------------

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return Sequential(*self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = ["Sequential("]
        for i, layer in enumerate(self.layers):
            count = sum(p.size for p in layer.params.values())
            lines.append(f"  ({i}) {layer!r}  # {count:,} params")
        lines.append(f")  # {self.n_params:,} params in total")
        return "\n".join(lines)

    # ---- checkpoints ----------------------------------------------------------

    def save(self, path, metadata: dict | None = None) -> None:
        """Write the network to one ``.npz`` file at ``path`` (used as given), atomically.

        ``metadata`` is any JSON-serialisable dict (epoch, accuracy, ...),
        returned by :meth:`load_metadata`.
        """
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        self._bind_layers()  # a layer shared with another Sequential records its index in this one
        specs = []
        for i, layer in enumerate(self.layers):
            spec = {"type": type(layer).__name__, "config": layer.config()}
            _to_json(f"the config of layer {i} ({spec['type']})", spec)
            specs.append(spec)
        meta = {"format": FORMAT, "version": VERSION, "layers": specs, "metadata": metadata or {}}
        arrays = dict(self.params)
        arrays[META_KEY] = np.array(_to_json("metadata", meta))  # a 0-d unicode array
        save_npz_atomic(path, arrays)

    @classmethod
    def load(cls, path) -> Sequential:
        """Rebuild a network saved by :meth:`save`; ValueError naming the problem otherwise."""
        meta_array, arrays = _read_npz(path, with_arrays=True)
        meta = _parse_meta(path, meta_array)
        layers = [_build_layer(path, i, spec) for i, spec in enumerate(meta["layers"])]
        try:
            net = cls(*layers)  # binds the layers that refer to others
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: the layers do not fit together: {err}") from err
        _copy_params(path, net.params, arrays)
        return net

    @staticmethod
    def load_metadata(path) -> dict:
        """The ``metadata`` dict stored by :meth:`save`, without building the network."""
        meta_array, _ = _read_npz(path, with_arrays=False)
        return _parse_meta(path, meta_array)["metadata"]


def _to_json(what: str, value) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what} is not JSON-serialisable: {err}") from err


def _read_npz(path, with_arrays: bool):
    """The raw "__meta__" array (None if absent) and the other arrays of an .npz file.

    The file is opened first, so a missing file is a FileNotFoundError; anything
    that goes wrong while parsing it (truncated or corrupted zip, pickled object
    arrays, not an .npz at all) becomes a ValueError naming the file.
    """
    with open(path, "rb") as f:
        try:
            data = np.load(f, allow_pickle=False)  # never unpickle: it can run code
            if isinstance(data, np.ndarray):  # a single .npy array
                return None, {}
            with data:
                meta = data[META_KEY] if META_KEY in data.files else None
                arrays = {k: data[k] for k in data.files if k != META_KEY} if with_arrays else {}
        except _DAMAGED_FILE_ERRORS as err:
            raise CheckpointError(f"{path}: cannot read it as an .npz checkpoint: {err}") from err
    return meta, arrays


def _parse_meta(path, meta_array) -> dict:
    """Decode and check the "__meta__" JSON of a checkpoint."""
    if meta_array is None:
        raise CheckpointError(f"{path} is not a minisnu checkpoint (it has no {META_KEY!r} entry)")
    if meta_array.ndim != 0 or meta_array.dtype.kind != "U":
        raise CheckpointError(f"{path}: malformed {META_KEY!r} entry, expected a JSON string")
    try:
        meta = json.loads(str(meta_array))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: malformed JSON in {META_KEY!r}: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a minisnu checkpoint (format is not {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: unsupported checkpoint version {meta.get('version')!r} "
            f"(this minisnu reads version {VERSION})"
        )
    layers = meta.get("layers")
    if not (isinstance(layers, list) and all(map(_is_layer_spec, layers))
            and isinstance(meta.get("metadata"), dict)):
        raise CheckpointError(
            f"{path}: malformed {META_KEY!r}: expected 'layers', a list of "
            "{'type': str, 'config': dict}, and a 'metadata' dict"
        )
    return meta


def _is_layer_spec(spec) -> bool:
    return (isinstance(spec, dict) and isinstance(spec.get("type"), str)
            and isinstance(spec.get("config"), dict))


def _build_layer(path, i: int, spec: dict):
    try:
        cls = layer_type(spec["type"])
    except ValueError as err:
        hint = "import the module that defines it before loading"
        raise CheckpointError(f"{path}: layer {i}: {err}; {hint}") from None
    try:
        return cls(**spec["config"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(
            f"{path}: layer {i} ({spec['type']}) cannot be built from its config {spec['config']}: {err}"
        ) from err


def _copy_params(path, params: dict, arrays: dict) -> None:
    """Copy the stored arrays into the parameters, in place, after checking they match exactly."""
    missing, extra = sorted(params.keys() - arrays.keys()), sorted(arrays.keys() - params.keys())
    if missing or extra:
        raise CheckpointError(
            f"{path}: the arrays do not match the layers (missing: {missing}, unexpected: {extra})"
        )
    for name, param in params.items():
        stored = arrays[name]
        for what, got, want in (("shape", stored.shape, param.shape), ("dtype", stored.dtype, param.dtype)):
            if got != want:
                raise CheckpointError(f"{path}: array {name!r} has {what} {got}, the layer expects {want}")
    for name, param in params.items():
        param[...] = arrays[name]
