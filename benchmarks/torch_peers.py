"""PyTorch peers of minisnu's layers, for the benchmarks: the same math, in eager PyTorch.

A benchmark with a PyTorch counterpart builds it from the minisnu network it times (the same
weights, so both compute the same function) and runs both in the same rounds. PyTorch is
optional (``pip install "minisnu[bench]"``); without it ``torch_or_none()`` is None and the
benchmarks print that the peer is skipped. The package itself never imports PyTorch.

The SNU here is written the way a student would write it in PyTorch, one time step per
Python iteration with autograd taping every operation (as snnTorch and Norse do on the CPU):

    a_t = x_t W (+ y_{t-1} H),   s_t = ReLU(a_t + l ⊙ s_{t-1} ⊙ (1 − y_{t-1})),
    y_t = step(s_t + b) with the tanh pseudo-derivative 1 − tanh²(s_t + b) going back,
          or σ(s_t + b) for the sSNU.

x_t W is one product for all steps of a feed-forward layer, as in minisnu.
"""

from __future__ import annotations

import os

import numpy as np


def torch_or_none():
    """The torch module with as many threads as NumPy's BLAS was given (OPENBLAS_NUM_THREADS,
    else PyTorch's default), or None when PyTorch is not installed.

    PyTorch's OpenMP threads are made to sleep between operations (OMP_WAIT_POLICY=PASSIVE,
    unless set already): by default they spin on the cores for a while after each one, and in
    interleaved rounds the next variant (minisnu's, NumPy's) then shares its cores with them.
    With the default, every variant ran slower, PyTorch's own included."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # read when torch loads its OpenMP
    try:
        import torch
    except ImportError:
        return None
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    return torch


SKIPPED = "PyTorch is not installed: its peer is skipped (pip install \"minisnu[bench]\")"


def _spike_function(torch):
    class Spike(torch.autograd.Function):
        """step(v) forward, 1 − tanh²(v) backward: minisnu's default surrogate (k = 1)."""

        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v > 0).to(v.dtype)

        @staticmethod
        def backward(ctx, grad):
            (v,) = ctx.saved_tensors
            return grad * (1 - torch.tanh(v) ** 2)

    return Spike.apply


def _snu_time_loop(torch, spike, a, decay, b, soft, H=None):
    """s_t, y_t for every t from the currents a (T, ...) of all steps; y_{t-1} H added when H is given."""
    s = y = torch.zeros(a.shape[1:], dtype=a.dtype)
    out = []
    for t in range(a.shape[0]):
        u = a[t] + decay * s * (1 - y)
        if H is not None:
            u = u + y @ H
        s = torch.relu(u)
        y = torch.sigmoid(s + b) if soft else spike(s + b)
        out.append(y)
    return torch.stack(out)


def snu_module(torch, layer):
    """An eager PyTorch module computing the minisnu ``SNU`` ``layer`` (its weights copied):
    (T, B, n_in) -> (T, B, n_out)."""
    spike = _spike_function(torch)

    class TorchSNU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            p = layer.params
            self.W = torch.nn.Parameter(torch.from_numpy(np.array(p["W"])))
            self.b = torch.nn.Parameter(torch.from_numpy(np.array(p["b"])))
            self.H = torch.nn.Parameter(torch.from_numpy(np.array(p["H"]))) if layer.recurrent else None
            self.register_buffer("decay", torch.from_numpy(np.array(layer.decay)))
            self.soft = layer.soft

        def forward(self, x):
            T, B, _ = x.shape
            a = (x.reshape(T * B, -1) @ self.W).reshape(T, B, -1)     # x_t W, all t at once
            return _snu_time_loop(torch, spike, a, self.decay, self.b, self.soft, self.H)

    return TorchSNU()


def classifier_peer(torch, net, x, labels):
    """(model, Adam, x, labels) in PyTorch for a minisnu classifier ``net`` with its weights as they
    are now (build it before the first step), or None without PyTorch."""
    if torch is None:
        return None
    model = sequential_module(torch, net)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3), torch.from_numpy(x), torch.from_numpy(labels)


def peer_ratio(torch, times: dict, ours: str) -> str:
    """The line that ends a benchmark: PyTorch's median time over ``ours``, or that it was skipped."""
    if "pytorch eager" not in times:
        return SKIPPED
    ratio = np.median(times["pytorch eager"]) / np.median(times[ours])
    return (f"pytorch eager / minisnu: {ratio:.2f}x "
            f"(PyTorch {torch.__version__}, {torch.get_num_threads()} threads)")


def classifier_step(torch, model, optimizer, x, labels) -> float:
    """The PyTorch twin of ``timing.training_step``: softmax cross-entropy on 10 × the rates."""
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x) * 10, labels)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def lstm_module(torch, layer):
    """``torch.nn.LSTM`` with the weights of the minisnu ``LSTM`` ``layer`` (the same gate order
    i, f, g, o; PyTorch's second bias is zero): its own fused C++ kernels, not an eager loop."""
    lstm = torch.nn.LSTM(layer.n_in, layer.n_out)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(np.array(layer.params["W"].T)))
        lstm.weight_hh_l0.copy_(torch.from_numpy(np.array(layer.params["U"].T)))
        lstm.bias_ih_l0.copy_(torch.from_numpy(np.array(layer.params["b"])))
        lstm.bias_hh_l0.zero_()
    return lambda x: lstm(x)[0]


def forward_backward(model, x, dy) -> None:
    """The peer of ``layer.forward(x); layer.backward(dy)``: y = model(x), then ∂(Σ y ⊙ dy)."""
    model(x).backward(dy)


def conv_snu_module(torch, layer):
    """An eager PyTorch module computing the minisnu ``ConvSNU`` ``layer`` (weights copied,
    PyTorch's (O, C, kh, kw) layout, no padding, stride 1): (T, B, C, H, W) -> (T, B, O, H', W')."""
    spike = _spike_function(torch)

    class TorchConvSNU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.Parameter(torch.from_numpy(np.array(layer.params["W"])))
            self.b = torch.nn.Parameter(torch.from_numpy(np.array(layer.params["b"])).view(-1, 1, 1))
            self.register_buffer("decay", torch.from_numpy(np.array(layer.decay)).view(-1, 1, 1))
            self.soft = layer.soft

        def forward(self, x):
            T, B = x.shape[:2]
            a = torch.nn.functional.conv2d(x.reshape(T * B, *x.shape[2:]), self.W)   # all t at once
            a = a.reshape(T, B, *a.shape[1:])
            return _snu_time_loop(torch, spike, a, self.decay, self.b, self.soft)

    return TorchConvSNU()


def sequential_module(torch, net):
    """A minisnu ``Sequential`` of Embedding, SNU, ConvSNU, MaxPool2d, Flatten, Dense and
    mean-Readout layers as PyTorch modules with the same weights, applied in order."""
    return torch.nn.Sequential(*[_module(torch, layer) for layer in net.layers])


def _module(torch, layer):
    kind = type(layer).__name__
    if kind == "SNU":
        return snu_module(torch, layer)
    if kind == "ConvSNU":
        return conv_snu_module(torch, layer)
    if kind == "Embedding":
        module = torch.nn.Embedding(*layer.params["W"].shape)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(np.array(layer.params["W"])))
        return module
    if kind == "Dense":
        module = torch.nn.Linear(*layer.params["W"].shape)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(np.array(layer.params["W"].T)))
            module.bias.copy_(torch.from_numpy(np.array(layer.params["b"])))
        return module
    if kind == "MaxPool2d":                         # over the images of every step at once
        size = layer.k
        return _Function(torch, lambda x: torch.nn.functional.max_pool2d(
            x.reshape(-1, *x.shape[2:]), size).reshape(*x.shape[:3], *(n // size for n in x.shape[3:])))
    if kind == "Flatten":                           # (T, B, C, H, W) -> (T, B, C·H·W), the same order
        return _Function(torch, lambda x: x.reshape(*x.shape[:2], -1))
    if kind == "Readout" and layer.mode == "mean":  # rates: the mean over time
        return _Function(torch, lambda x: x.mean(dim=0))
    raise TypeError(f"no PyTorch peer for a {kind} layer")


def _Function(torch, function):
    class Function(torch.nn.Module):
        def forward(self, x):
            return function(x)

    return Function()
