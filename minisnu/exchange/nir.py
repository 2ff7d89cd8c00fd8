r"""SNU networks to and from NIR, the Neuromorphic Intermediate Representation.

NIR (Pedersen et al., Nature Communications 2024; the package ``nir``) is the exchange format of
the spiking-network tools (snnTorch, Norse, SpikingJelly, Sinabs, Rockpool, Lava) and of the
neuromorphic chips and simulators they feed. ::

    graph = ms.nir.export(net, dt=1e-4)  # a nir.NIRGraph;
                                         # nir.write(path, graph) saves it
    net2 = ms.nir.load(graph)            # or ms.nir.load(path):
                                         # a minisnu Sequential

The SNU is a leaky integrate-and-fire neuron
---------------------------------------------
A spiking SNU with g = identity computes, for every unit (``units/snu_reference.py``)

.. math::

    s_t = x_t W + l ⊙ s_{t-1} ⊙ (1 − y_{t-1}), \qquad y_t = \mathrm{step}(s_t + b).

NIR's LIF node is the continuous neuron

.. math::

    τ \, dv/dt &= (v_\text{leak} − v) + R I, \\
    z &= 1 \text{ if } v > v_\text{threshold}, \qquad v ← v_\text{reset} \text{ when } z = 1.

Stepped forward with Euler's rule over a step dt, with v_leak = 0 and I_t = x_t W,

.. math::

    v_t = v_{t-1} + (dt/τ) (−v_{t-1} + R I_t) = (1 − dt/τ) v_{t-1} + (dt R / τ) I_t.

This is the SNU's membrane when

.. math::

    1 − dt/τ = l \quad &⇒ \quad τ = dt / (1 − l), \\
    dt R / τ = 1 \quad &⇒ \quad R = τ / dt, \\
    &\phantom{⇒} \quad v_\text{reset} = 0, \\
    v > v_\text{threshold} \quad ⇔ \quad s_t + b > 0 \quad &⇒ \quad v_\text{threshold} = −b:

the input enters with coefficient 1, and the factor :math:`1 − y_{t-1}` empties s after a spike.

So ``export`` writes each SNU layer as a ``Linear`` node (the weights, Wᵀ in NIR's
output-by-input order) into a ``LIF`` node with those parameters, and a ConvSNU as a ``Conv2d``
node into one; a recurrent SNU's H is a ``Linear`` node from the LIF's output back into its
input (the previous step's spikes, as snnTorch's RLeaky reads it). ``load`` inverts the
mapping for any graph, given dt: l = 1 − dt/τ, and an input coefficient κ = dt R / τ other than
1 is folded into the incoming weights (:math:`v_t = l v_{t-1} + κ I_t` is the SNU with κ W). dt comes
from the ``dt=`` argument or from the graph's metadata, which ``export`` writes.

What maps exactly, what is approximated, what is refused
--------------------------------------------------------
- exactly: ``Dense`` (``Affine``, or ``Linear`` without bias); a spiking ``SNU`` with g =
  identity, feed-forward or recurrent, per-unit decay and threshold; a spiking ``ConvSNU``
  (``Conv2d`` into a ``LIF`` of shape (O, H', W') whose parameters repeat each channel's over its
  pixels; ``export`` needs ``input_shape=(C, H, W)``, since NIR states every node's shape);
  ``AvgPool2d``; ``MaxPool2d`` after a spiking layer, as a ``SumPool2d`` into a ``Threshold`` at
  1/2 (a window's maximum of 0s and 1s is 1 exactly when its sum is at least 1); ``Flatten``
  (start_dim 0: NIR's shapes are per sample, without the batch); a final ``Readout`` (NIR
  describes one step, so the readout over time is kept in the graph's metadata and restored
  by ``load``).
- approximated, when asked for (``approximate_g=True``): g = ReLU or leaky ReLU. An SNU clamps
  its membrane at zero (s = max(0, u)); NIR's LIF does not, so a unit driven below zero stays
  below zero and needs more input to reach its threshold again. Outputs are the same until a
  membrane first goes negative; ``load`` restores g from the metadata, so a round trip
  through minisnu is exact.
- as read: a PCM-backed layer (``pcm.InMemory``) is exported as the layer it wraps, with the
  weights it last read from its devices (drift and read noise included, as the chip had them).
- a layer whose decay is 1 in every unit (no leak) becomes an ``IF`` node, dv/dt = R I, with
  R = 1 / dt; ``load`` reads IF nodes likewise (l = 1, κ = dt R).
- refused, with the reason: the sSNU (its output is a sigmoid rate, not a spike), lateral
  inhibition (a reset shared by all units of a layer), a decay of 1 in some units only,
  a threshold of zero or below with ``normalize_thresholds`` (it cannot be scaled to 1), any
  other layer.

Tools that need one threshold for all units (snnTorch's importer does) get it with
``normalize_thresholds=True``: each unit's incoming weights are divided by its threshold −b_j > 0,
which divides its membrane by the same positive number (the dynamics are linear in s and reset to
zero), so every threshold becomes 1 and the spikes stay the same, up to rounding.

Metadata
--------
``export`` also stores each layer's own values (decay, b, g, the training options) in the
node's metadata. ``load`` uses them when they agree with the NIR parameters (to 1e-6), so
that minisnu → NIR → file → NIR → minisnu gives the same outputs bit for bit (deriving l and b
back from τ, R and v_threshold would change their last bits); a graph from another tool has
no such metadata and is read from its NIR parameters alone.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from ..core.errors import InputError, InputTypeError
from ..data.errors import MissingPackageError
from ..layers.dense import Dense
from ..layers.flatten import Flatten
from ..layers.pooling import AvgPool2d, MaxPool2d
from ..layers.readout import Readout
from ..layers.sequential import Sequential
from ..pcm.training import InMemory
from ..units.conv_snu import ConvSNU
from ..units.snu import SNU

AGREE = 1e-6        #: how closely the metadata must match the NIR parameters to be used


def _nir():
    """The ``nir`` package, or a MissingPackageError saying how to install it."""
    try:
        import nir
    except ImportError:
        raise MissingPackageError('NIR export and import need the optional package nir: '
                                  'pip install "minisnu[nir]"') from None
    return nir


def _check_dt(dt) -> float:
    if isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not np.isfinite(dt) or dt <= 0:
        raise InputError(f"dt must be a positive number of seconds, got {dt!r}")
    return float(dt)


# -- export ------------------------------------------------------------------------------


def export(net, dt: float, *, input_shape=None, approximate_g: bool = False,
           normalize_thresholds: bool = False):
    """The network as a ``nir.NIRGraph`` (module docstring: what maps how).

    Parameters
    ----------
    net : Sequential or layer
        A ``Sequential`` of Dense, SNU, ConvSNU, AvgPool2d, MaxPool2d and Flatten layers (a
        final Readout allowed), or one layer.
    dt : float
        The time step, in seconds, that one minisnu step stands for (snnTorch's importer
        assumes 1e-4).
    input_shape : (C, H, W), optional
        Of the input images, when the first layer is a ConvSNU (NIR states every node's shape).
    approximate_g : bool
        Export SNUs with g = ReLU or leaky ReLU as LIF neurons, whose membrane is
        not clamped at zero (refused otherwise).
    normalize_thresholds : bool
        Scale each SNU unit's incoming weights so that all thresholds are 1.
    """
    nir = _nir()
    dt = _check_dt(dt)
    layers = list(net.layers) if isinstance(net, Sequential) else [net]
    if not layers:
        raise InputError("cannot export an empty network")
    readout = None
    if isinstance(layers[-1], Readout):
        readout = layers.pop().mode
    layers = [_weights_as_read(i, layer) for i, layer in enumerate(layers)]
    for i, layer in enumerate(layers):
        if isinstance(layer, Readout):
            raise InputError(f"layer {i} (Readout): only the last layer may be a Readout")
        if not isinstance(layer, EXPORTABLE):
            raise InputError(f"layer {i} ({type(layer).__name__}) has no NIR node; exportable "
                             "layers: Dense, SNU, ConvSNU, AvgPool2d, MaxPool2d, Flatten (and a "
                             "final Readout)")
    shape = _input_shape(layers[0], input_shape)
    nodes = {"input": nir.Input(input_type={"input": np.array(shape)})}
    edges, previous = [], "input"
    for i, layer in enumerate(layers):
        where = f"layer {i} ({type(layer).__name__})"
        if isinstance(layer, (Dense, SNU)) and shape != (layer.n_in,):
            raise InputError(f"{where} takes {layer.n_in} inputs, but the layer below gives "
                             f"shape {shape}")
        if isinstance(layer, Dense):
            new_nodes, new_edges, first, last = _export_dense(nir, i, layer)
            shape = (layer.n_out,)
        elif isinstance(layer, SNU):
            new_nodes, new_edges, first, last = _export_snu(nir, i, layer, dt, approximate_g,
                                                            normalize_thresholds)
            shape = (layer.n_out,)
        elif isinstance(layer, ConvSNU):
            new_nodes, new_edges, first, last, shape = _export_conv_snu(
                nir, i, layer, shape, dt, approximate_g, normalize_thresholds)
        else:
            spiking_below = i > 0 and isinstance(layers[i - 1], (SNU, ConvSNU))
            new_nodes, new_edges, first, last, shape = _export_shaping(nir, i, layer, shape,
                                                                       spiking_below)
        nodes.update(new_nodes)
        edges += [(previous, first), *new_edges]
        previous = last
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    edges.append((previous, "output"))
    metadata = {"minisnu": {"dt": dt, "readout": readout or ""}}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


EXPORTABLE = (Dense, SNU, ConvSNU, AvgPool2d, MaxPool2d, Flatten)


def _input_shape(first, input_shape) -> tuple:
    """The shape of one input sample at one step: (n_in,), or (C, H, W) for a ConvSNU."""
    if not isinstance(first, ConvSNU):
        return (first.n_in,)
    if input_shape is None:
        raise InputError("the first layer is a ConvSNU: pass input_shape=(C, H, W), the shape of "
                         "its input images (NIR states every node's shape)")
    shape = tuple(int(n) for n in np.atleast_1d(input_shape))
    if len(shape) != 3 or min(shape) < 1 or shape[0] != first.in_channels:
        raise InputError(f"input_shape must be (C, H, W) with C = {first.in_channels} channels, "
                         f"got {input_shape!r}")
    return shape


def _export_conv_snu(nir, i, layer, shape, dt, approximate_g, normalize_thresholds):
    """A ConvSNU as a Conv2d node into a LIF node of shape (O, H', W'): the SNU's mapping with
    its per-channel decay and threshold repeated over the pixels."""
    where = f"layer {i} (ConvSNU)"
    if len(shape) != 3 or shape[0] != layer.in_channels:
        raise InputError(f"{where} takes images of {layer.in_channels} channels, but the layer "
                         f"below gives shape {shape}")
    _check_spiking(where, layer, approximate_g)
    decay, threshold = _decay_and_threshold(where, layer)
    W = layer.params["W"]
    if normalize_thresholds:
        threshold = _positive(where, threshold)
        W = W / threshold.astype(W.dtype)[:, None, None, None]   # channel o's kernels ÷ its threshold
        threshold = np.ones_like(threshold)
    H, W_side = layer.output_shape(*shape[1:])
    out = (layer.out_channels, H, W_side)
    conv = nir.Conv2d(input_shape=shape[1:], weight=W.copy(), stride=layer.stride,
                      padding=layer.padding, dilation=(1, 1), groups=1,
                      bias=np.zeros(layer.out_channels, W.dtype))
    decay, threshold = (np.broadcast_to(v[:, None, None], out).copy() for v in (decay, threshold))
    lif = _lif(nir, decay, threshold, dt, _snu_metadata(layer, normalize_thresholds))
    conv_name, neuron = f"{i}.conv", f"{i}.lif"
    return {conv_name: conv, neuron: lif}, [(conv_name, neuron)], conv_name, neuron, out


def _export_shaping(nir, i, layer, shape, spiking_below):
    """Pooling and flattening: AvgPool2d as AvgPool2d; max pooling of spikes as a SumPool2d
    into a Threshold at 1/2 (a window's maximum of 0s and 1s is 1 exactly when its sum is at
    least 1); Flatten over the whole (C, H, W) sample."""
    where = f"layer {i} ({type(layer).__name__})"
    if isinstance(layer, Flatten):
        node = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)
        name = f"{i}.flatten"
        return {name: node}, [], name, name, (int(np.prod(shape)),)
    if len(shape) != 3:
        raise InputError(f"{where} pools images, but the layer below gives shape {shape}")
    k = layer.k
    window = {"kernel_size": np.array([k, k]), "stride": np.array([k, k]),
              "padding": np.array([0, 0])}
    out = (shape[0], shape[1] // k, shape[2] // k)
    if isinstance(layer, AvgPool2d):
        name = f"{i}.avgpool"
        return {name: nir.AvgPool2d(**window)}, [], name, name, out
    if not spiking_below:
        raise InputError(f"{where}: max pooling is exported as a sum pooling into a threshold, "
                         "which is the maximum only of spikes; the layer below does not spike")
    pool, threshold = f"{i}.sumpool", f"{i}.max"
    nodes = {pool: nir.SumPool2d(**window), threshold: nir.Threshold(threshold=np.full(out, 0.5))}
    return nodes, [(pool, threshold)], pool, threshold, out


def _weights_as_read(i, layer):
    """A PCM-backed layer (``pcm.InMemory``) as the layer it wraps, whose W holds the weights
    last read from the devices: what the chip computed with at that read."""
    if not isinstance(layer, InMemory):
        return layer
    if not layer.has_read:
        raise InputError(f"layer {i} (InMemory) has not read its devices yet: run a forward pass "
                         "first, so that the exported weights are the ones the devices hold")
    return layer.layer


def _export_dense(nir, i, layer):
    W = layer.params["W"].T.copy()                      # NIR: (outputs, inputs)
    if "b" in layer.params:
        node = nir.Affine(weight=W, bias=layer.params["b"].copy())
    else:
        node = nir.Linear(weight=W)
    name = f"{i}.dense"
    return {name: node}, [], name, name


def _check_spiking(where, layer, approximate_g) -> None:
    """Refuse what NIR's LIF cannot be: the sSNU, lateral inhibition, the clamp of g unless
    approximated."""
    if layer.soft:
        raise InputError(f"{where} is an sSNU: its output is a sigmoid rate, and NIR's neurons "
                         "only spike; export a spiking SNU")
    if getattr(layer, "lateral_inhibition", False):
        raise InputError(f"{where} has lateral inhibition, a reset shared by all its units, "
                         "which NIR has no node for")
    if layer.g != "identity" and not approximate_g:
        raise InputError(f"{where} has g = {layer.g}, which clamps the membrane at zero; NIR's "
                         "LIF does not: pass approximate_g=True to export it without the clamp")


def _decay_and_threshold(where, layer):
    """(l, −b) in float64, one per unit (per channel for a ConvSNU); l < 1 in all units (a LIF
    node) or l = 1 in all (an IF node)."""
    decay = np.asarray(layer.decay, np.float64)
    if np.any(decay == 1) and not np.all(decay == 1):
        raise InputError(f"{where} has a decay of 1 (no leak) in {int(np.sum(decay == 1))} of its "
                         f"{decay.size} units: NIR's neurons leak (LIF) or do not (IF), the same "
                         "for a whole node")
    return decay, -layer.params["b"].astype(np.float64)


def _positive(where, threshold):
    if np.any(threshold <= 0):
        raise InputError(f"{where} has a threshold −b ≤ 0 in {int(np.sum(threshold <= 0))} "
                         "unit(s): normalize_thresholds cannot scale it to 1")
    return threshold


def _lif(nir, decay, threshold, dt, metadata):
    """The LIF node of decay l and threshold −b at step dt: τ = dt / (1 − l), R = τ / dt; for
    l = 1 (no leak) the IF node dv/dt = R I, whose Euler step v_t = v_{t-1} + dt R I_t is the
    SNU's with R = 1 / dt."""
    if np.all(decay == 1):
        return nir.IF(r=np.full_like(decay, 1 / dt), v_threshold=threshold,
                      v_reset=np.zeros_like(decay), metadata={"minisnu": metadata})
    tau = dt / (1 - decay)                                # 1 − dt/τ = l
    return nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros_like(tau), v_threshold=threshold,
                   v_reset=np.zeros_like(tau), metadata={"minisnu": metadata})


def _export_snu(nir, i, layer, dt, approximate_g, normalize_thresholds):
    where = f"layer {i} (SNU)"
    _check_spiking(where, layer, approximate_g)
    decay, threshold = _decay_and_threshold(where, layer)
    W, H = layer.params["W"], layer.params.get("H")
    if normalize_thresholds:
        threshold = _positive(where, threshold)
        W = W / threshold.astype(W.dtype)                # unit j's inputs ÷ its threshold
        H = None if H is None else H / threshold.astype(H.dtype)
        threshold = np.ones_like(threshold)
    lif = _lif(nir, decay, threshold, dt, _snu_metadata(layer, normalize_thresholds))
    weights, neuron = f"{i}.weights", f"{i}.lif"
    nodes = {weights: nir.Linear(weight=W.T.copy()), neuron: lif}
    edges = [(weights, neuron)]
    if H is not None:
        recurrent = f"{i}.recurrent"
        nodes[recurrent] = nir.Linear(weight=H.T.copy())
        edges += [(neuron, recurrent), (recurrent, neuron)]
    return nodes, edges, weights, neuron


#: The training options each kind of layer keeps in a node's metadata (they do not change what
#: the layer computes forward, but a network loaded back trains as the one exported did).
OPTIONS = {"SNU": ("g", "g_slope", "surrogate", "surrogate_k", "detach_reset", "train_decay",
                   "bias_init"),
           "ConvSNU": ("g", "surrogate", "detach_reset", "train_decay")}


def _snu_metadata(layer, normalized) -> dict:
    """The layer's exact values and options, for a lossless round trip through minisnu."""
    config = layer.config()
    options = {name: "" if config[name] is None else config[name]    # h5py stores no None
               for name in OPTIONS[type(layer).__name__]}
    # decay as the layer was given it: one number (a float: h5py cannot store a 0-d array
    # compressed, as nir.write asks) or one per unit
    return {"decay": config["decay"], "b": layer.params["b"].copy(), "dtype": config["dtype"],
            "normalized": bool(normalized), **options}


def _options(meta, kind) -> dict:
    """The training options stored by ``_snu_metadata``, as the layer's constructor takes them."""
    kinds = {"g": str, "surrogate": str, "g_slope": float, "bias_init": float,
             "detach_reset": bool, "train_decay": bool,
             "surrogate_k": lambda v: None if str(v) == "" else float(v)}
    return {name: kinds[name](meta[name]) for name in OPTIONS[kind]}


# -- load --------------------------------------------------------------------------------


def load(source, dt: float | None = None) -> Sequential:
    """A minisnu ``Sequential`` from a ``nir.NIRGraph`` or a NIR file (module docstring).

    Parameters
    ----------
    source : nir.NIRGraph or path
        The graph, or the path of a NIR file.
    dt : float, optional
        The time step that one minisnu step stands for; by default the one ``export`` stored
        in the graph. A graph from another tool needs it.
    """
    nir = _nir()
    graph = _read(nir, source)
    meta = dict(graph.metadata.get("minisnu", {})) if isinstance(graph.metadata, dict) else {}
    if dt is None:
        if "dt" not in meta:
            raise InputError("this NIR graph does not say its time step: pass dt= (the step "
                             "one minisnu step stands for, in seconds)")
        dt = float(np.asarray(meta["dt"]))
    dt = _check_dt(dt)
    chain = _chain(nir, graph)
    layers, k = [], 0
    while k < len(chain):
        name, node = chain[k]
        following = chain[k + 1][1] if k + 1 < len(chain) else None
        if isinstance(node, (nir.Linear, nir.Affine)) and isinstance(following, (nir.LIF, nir.IF)):
            recurrent = _recurrent_node(nir, graph, chain[k + 1][0])
            layers.append(_load_snu(name, node, chain[k + 1][0], following, recurrent, dt))
            k += 2
        elif isinstance(node, nir.Conv2d) and isinstance(following, (nir.LIF, nir.IF)):
            layers.append(_load_conv_snu(name, node, chain[k + 1][0], following, dt))
            k += 2
        elif isinstance(node, nir.SumPool2d) and isinstance(following, nir.Threshold):
            layers.append(MaxPool2d(_window(name, node)))
            _check_max_threshold(chain[k + 1][0], following)
            k += 2
        elif isinstance(node, (nir.Linear, nir.Affine)):
            layers.append(_load_dense(node))
            k += 1
        elif isinstance(node, nir.AvgPool2d):
            layers.append(AvgPool2d(_window(name, node)))
            k += 1
        elif isinstance(node, nir.Flatten):
            layers.append(_load_flatten(name, node))
            k += 1
        else:
            raise InputError(f"NIR node {name!r} ({type(node).__name__}) has no minisnu layer; "
                             "loadable: Linear or Affine alone or into a LIF (reset to zero, no "
                             "leak voltage), Conv2d into a LIF, AvgPool2d, SumPool2d into a "
                             "Threshold (max pooling of spikes), Flatten")
    readout = str(np.asarray(meta.get("readout", "")))
    if readout:
        layers.append(Readout(readout))
    return Sequential(*layers)


def _read(nir, source):
    if isinstance(source, nir.NIRGraph):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise InputTypeError(f"load takes a nir.NIRGraph or the path of a NIR file, got "
                             f"{type(source).__name__}")
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{path}: no such NIR file")
    try:
        return nir.read(path)
    except Exception as err:              # h5py and nir raise many kinds on a damaged file
        raise InputError(f"{path}: not a readable NIR file ({type(err).__name__}: {err})") from None


def _chain(nir, graph) -> list:
    """The graph's nodes from input to output as [(name, node)], without Input and Output,
    recurrent loops (a Linear node from a LIF back into it) left aside; or an error saying
    why the graph is not a chain."""
    successors = {}
    for source, target in graph.edges:
        successors.setdefault(source, []).append(target)
    inputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise InputError(f"a loadable NIR graph has one Input node, this one has {len(inputs)}")
    chain, name, seen = [], inputs[0], set()
    while True:
        seen.add(name)
        nexts = [t for t in successors.get(name, []) if not _is_loop_back(nir, graph, name, t)]
        if not nexts:
            raise InputError(f"NIR node {name!r} leads nowhere: the graph does not reach an "
                             "Output node")
        if len(nexts) > 1:
            raise InputError(f"NIR node {name!r} feeds {len(nexts)} nodes ({', '.join(nexts)}); "
                             "minisnu loads chains of layers")
        name = nexts[0]
        if name in seen:
            raise InputError(f"NIR node {name!r} is reached twice: a loop minisnu cannot load")
        node = graph.nodes[name]
        if isinstance(node, nir.Output):
            return chain
        if isinstance(node, nir.NIRGraph):
            raise InputError(f"NIR node {name!r} is a subgraph; minisnu loads flat graphs")
        chain.append((name, node))


def _is_loop_back(nir, graph, neuron, target) -> bool:
    """Whether ``target`` is the recurrent weight of the LIF ``neuron``: a Linear or Affine
    node whose only input is the neuron and whose only output goes back into it."""
    if not isinstance(graph.nodes.get(neuron), (nir.LIF, nir.IF)):
        return False
    node = graph.nodes.get(target)
    if not isinstance(node, (nir.Linear, nir.Affine)):
        return False
    into = [s for s, t in graph.edges if t == target]
    out_of = [t for s, t in graph.edges if s == target]
    return into == [neuron] and out_of == [neuron]


def _recurrent_node(nir, graph, neuron):
    loops = [t for s, t in graph.edges if s == neuron and _is_loop_back(nir, graph, neuron, t)]
    if len(loops) > 1:
        raise InputError(f"NIR node {neuron!r} has {len(loops)} recurrent weights; an SNU has one")
    return (loops[0], graph.nodes[loops[0]]) if loops else None


def _float_dtype(dtype) -> np.dtype:
    """The layer dtype for weights of ``dtype``: float32 or float64 as they are, else float32."""
    return np.dtype(dtype) if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def _neuron_values(lif, kind, decay, kappa, v_threshold, weight_dtype):
    """(decay, b, dtype, options, κ) of the layer a LIF or IF node becomes. From minisnu's own
    export, its exact values and training options (κ None: nothing to fold); from another
    tool, the NIR parameters, with κ to fold into the incoming weights."""
    meta = _own_metadata(lif, kind, decay, kappa, v_threshold)
    if meta:
        given = np.asarray(meta["decay"], np.float64)
        decay = float(given) if given.ndim == 0 else given
        b = -v_threshold if meta["normalized"] else np.asarray(meta["b"])
        return decay, b, np.dtype(str(meta["dtype"])), _options(meta, kind), None
    decay = float(decay[0]) if np.all(decay == decay[0]) else decay   # one for all: a number
    return decay, -v_threshold, _float_dtype(weight_dtype), {"g": "identity"}, kappa


def _load_dense(node) -> Dense:
    W = np.asarray(node.weight)
    dtype = _float_dtype(W.dtype)
    bias = getattr(node, "bias", None)
    layer = Dense(W.shape[1], W.shape[0], bias=bias is not None, dtype=dtype)
    layer.params["W"][...] = W.T
    if bias is not None:
        layer.params["b"][...] = np.broadcast_to(np.asarray(bias), W.shape[:1])
    return layer


def _per_unit(name, node, field, n) -> np.ndarray:
    """A LIF parameter as one float64 value per unit (NIR allows a scalar for all); as it is
    when n is None (a convolution's (O, H', W'), for ``_per_channel``)."""
    value = np.asarray(getattr(node, field), np.float64)
    if n is None:
        return value
    if value.size == 1:
        return np.full(n, value.reshape(-1)[0])
    if value.shape != (n,):
        raise InputError(f"NIR node {name!r}: {field} has shape {value.shape}, but the layer has "
                         f"{n} units")
    return value


def _load_snu(weights_name, weights, name, lif, recurrent, dt) -> SNU:
    """The SNU of a Linear node into a LIF node (and a recurrent Linear node, if any)."""
    W = np.asarray(weights.weight).T                      # (inputs, outputs)
    n_in, n = W.shape
    for node_name, node in [(weights_name, weights), *([recurrent] if recurrent else [])]:
        bias = getattr(node, "bias", None)
        if bias is not None and np.any(np.asarray(bias) != 0):
            raise InputError(f"NIR node {node_name!r} adds a bias into the LIF {name!r}: a "
                             "constant input current, which an SNU does not have")
    H = None if recurrent is None else np.asarray(recurrent[1].weight).T
    decay, b, dtype, options, kappa = _neuron_values(lif, "SNU", *_lif_as_snu(name, lif, n, dt),
                                                     W.dtype)
    if kappa is not None:                 # another tool's graph: κ folded into the weights
        W = W * kappa
        H = None if H is None else H * kappa
    layer = SNU(n_in, n, recurrent=H is not None, decay=decay, dtype=dtype, **options)
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    if H is not None:
        layer.params["H"][...] = H
    return layer


def _lif_as_snu(name, lif, n, dt):
    """(l, κ, v_threshold) per unit of a LIF node stepped at dt: l = 1 − dt/τ, κ = dt R / τ;
    of an IF node (no leak): l = 1, κ = dt R."""
    r, v_threshold = _per_unit(name, lif, "r", n), _per_unit(name, lif, "v_threshold", n)
    v_reset = _per_unit(name, lif, "v_reset", n)
    if not hasattr(lif, "tau"):                            # IF: dv/dt = R I
        if np.any(v_reset != 0):
            raise InputError(f"NIR node {name!r}: an SNU resets to 0; this IF has v_reset in "
                             f"[{v_reset.min():g}, {v_reset.max():g}]")
        return np.ones_like(r), dt * r, v_threshold
    tau, v_leak = _per_unit(name, lif, "tau", n), _per_unit(name, lif, "v_leak", n)
    if np.any(v_leak != 0) or np.any(v_reset != 0):
        raise InputError(f"NIR node {name!r}: an SNU has v_leak = 0 and resets to 0; this LIF "
                         f"has v_leak in [{v_leak.min():g}, {v_leak.max():g}] and v_reset in "
                         f"[{v_reset.min():g}, {v_reset.max():g}]")
    if np.any(~np.isfinite(tau)) or np.any(tau < dt):
        raise InputError(f"NIR node {name!r}: τ must be finite and at least dt = {dt:g} s (decay "
                         f"l = 1 − dt/τ in [0, 1)); got τ in [{tau.min():g}, {tau.max():g}]")
    return 1 - dt / tau, dt * r / tau, v_threshold


def _own_metadata(lif, kind, decay, kappa, v_threshold) -> dict:
    """The values minisnu's ``export`` stored in the node, if they are all there and agree with
    its NIR parameters (to ``AGREE``); else {} (the graph is read from its parameters)."""
    meta = lif.metadata.get("minisnu", {}) if isinstance(lif.metadata, dict) else {}
    own = {"decay", "b", "normalized", "dtype", *OPTIONS[kind]}
    if not isinstance(meta, dict) or not own <= set(meta):
        return {}
    agree = (np.allclose(np.asarray(meta["decay"], np.float64), decay, rtol=AGREE, atol=AGREE)
             and np.allclose(kappa, 1, rtol=AGREE, atol=0))
    if agree and not bool(meta["normalized"]):
        agree = np.allclose(-np.asarray(meta["b"], np.float64), v_threshold, rtol=AGREE, atol=AGREE)
    return dict(meta, normalized=bool(meta["normalized"])) if agree else {}


def _load_conv_snu(conv_name, conv, name, lif, dt) -> ConvSNU:
    """The ConvSNU of a Conv2d node into a LIF node of shape (O, H', W') whose parameters are the
    same over each channel's pixels."""
    weight = np.asarray(conv.weight)
    O, C, kh, kw = weight.shape
    if conv.groups != 1 or tuple(np.atleast_1d(conv.dilation)) not in ((1,), (1, 1)):
        raise InputError(f"NIR node {conv_name!r}: a ConvSNU has groups = 1 and no dilation; this "
                         f"Conv2d has groups = {conv.groups}, dilation = {conv.dilation}")
    if isinstance(conv.padding, str):
        if conv.padding != "valid":
            raise InputError(f"NIR node {conv_name!r}: padding {conv.padding!r}; give it as numbers")
        padding = (0, 0)
    else:
        padding = tuple(int(p) for p in np.broadcast_to(conv.padding, 2))
    stride = tuple(int(v) for v in np.broadcast_to(conv.stride, 2))
    if np.any(np.asarray(conv.bias) != 0):
        raise InputError(f"NIR node {conv_name!r} adds a bias into the LIF {name!r}: a constant "
                         "input current, which a ConvSNU does not have")
    per_channel = (_per_channel(name, value, O) for value in _lif_as_snu(name, lif, None, dt))
    decay, b, dtype, options, kappa = _neuron_values(lif, "ConvSNU", *per_channel, weight.dtype)
    if kappa is not None:                 # another tool's graph: κ folded into the kernels
        weight = weight * kappa[:, None, None, None]
    layer = ConvSNU(C, O, (kh, kw), stride=stride, padding=padding, decay=decay, dtype=dtype,
                    **options)
    layer.params["W"][...] = weight
    layer.params["b"][...] = b
    return layer


def _per_channel(name, value, channels) -> np.ndarray:
    """A LIF parameter over (O, H', W') as one value per channel; refused if it varies over a
    channel's pixels (a ConvSNU shares its decay and threshold over them)."""
    value = np.asarray(value, np.float64)
    if value.size == 1:
        return np.full(channels, value.reshape(-1)[0])
    if value.shape[:1] != (channels,):
        raise InputError(f"NIR node {name!r}: parameters of shape {value.shape} for "
                         f"{channels} channels")
    flat = value.reshape(channels, -1)
    if np.any(flat != flat[:, :1]):
        raise InputError(f"NIR node {name!r}: its parameters differ between the pixels of a "
                         "channel; a ConvSNU shares them over each channel")
    return flat[:, 0].copy()


def _window(name, node) -> int:
    """k of a k × k pooling with stride k and no padding (minisnu's only kind)."""
    kernel, stride = np.broadcast_to(node.kernel_size, 2), np.broadcast_to(node.stride, 2)
    if kernel[0] != kernel[1] or np.any(stride != kernel) or np.any(np.asarray(node.padding) != 0):
        raise InputError(f"NIR node {name!r}: minisnu pools k × k windows with stride k and no "
                         f"padding; this one has kernel {kernel.tolist()}, stride "
                         f"{stride.tolist()}, padding {np.asarray(node.padding).tolist()}")
    return int(kernel[0])


def _check_max_threshold(name, node) -> None:
    threshold = np.asarray(node.threshold, np.float64)
    if np.any(threshold <= 0) or np.any(threshold >= 1):
        raise InputError(f"NIR node {name!r}: a sum pooling into a threshold is max pooling of "
                         f"spikes only for thresholds in (0, 1); got [{threshold.min():g}, "
                         f"{threshold.max():g}]")


def _load_flatten(name, node) -> Flatten:
    shape = node.input_type.get("input")
    rank = None if shape is None else len(np.atleast_1d(shape))
    if node.start_dim != 0 or node.end_dim not in (-1, (rank or 0) - 1):
        raise InputError(f"NIR node {name!r}: minisnu flattens a whole sample (start_dim 0, "
                         f"end_dim −1); this Flatten has start_dim {node.start_dim}, end_dim "
                         f"{node.end_dim}")
    return Flatten()
