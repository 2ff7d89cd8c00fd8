r"""The convolutional SNU: a 2-D convolution whose output feeds an SNU (or sSNU) per pixel and channel.

For images x_t of shape (B, C, H, W), t = 1..T, and weights W of shape
(O, C, kh, kw) (PyTorch's layout), every output channel o and pixel (i, j)
holds one SNU:

.. math::

    a_t[o, i, j] &= Σ_{c, p, q} W[o, c, p, q] · x_t[c,\, i·S + p − P,\, j·S + q − P] \\
                 &\qquad \text{(zero outside } x) \\
    u_t &= a_t + l_o ⊙ s_{t-1} ⊙ (1 − y_{t-1}) \\
    s_t &= g(u_t) \\
    y_t &= h(s_t + b_o)                  \qquad \text{step (SNU) or sigmoid (sSNU)}

S is the stride, P the padding; the output is H' × W' with
H' = ⌊(H + 2P − kh) / S⌋ + 1 (W' likewise). b (minus the threshold) and the
decay l are per channel: shared by the H'·W' units of a channel, as the
weights are.

The convolution as one product (im2col)
----------------------------------------
Gather every kh × kw patch of every input channel under output pixel (i, j)
into one row: cols[(n, i, j), (p, q, c)] = x_n[c, i·S + p − P, j·S + q − P],
for all n = (t, batch) at once. Then, with W2 = W as an (O, kh·kw·C) matrix
(its axes ordered (o, p, q, c) like the columns),

.. math::

    A &= \text{cols}\; W2^\top \\
      &\qquad (T·B·H'·W', O)\text{: } a_t \text{ for every step, image and pixel}

one matrix product for the whole sequence, as ``Dense`` does x W once. Its
rows are ordered (t, batch, i, j) and its columns o: the SNU's units are the
pixels and channels in the order (i, j, o), and the SNU's compiled loops run
on that (T, B, H'·W'·O) view, with b and l repeated over the pixels.

The product is computed in blocks of rows, a few images at a time
(``block_images``): cols is kh·kw times larger than x (393 MB for the second
convolution of the MNIST CNN at batch 64, T = 30), and writing it to memory
and reading it back took as long as the product itself. A block of about
2 MiB (``BLOCK_BYTES``) is gathered and multiplied while it is still in the
cache. Backward gathers each block again, which costs less than keeping cols.

Backward
--------
The SNU's loop gives δa_t = ∂L/∂a_t (``snu_backward_loop``, derived in
``snu_reference.py``). Because a parameter shared by many units receives the
sum of their gradients:

.. math::

    ∂L/∂W2 &= δA^\top\, \text{cols} \\
           &\qquad \text{(a sum of one product per block; } ∂L/∂W \text{ = it reshaped)} \\
    ∂L/∂b_o &= Σ_{\text{pixels}} ∂L/∂b_{(i, j, o)} \qquad ∂L/∂l_o \text{ likewise} \\
    ∂L/∂\text{cols} &= δA\, W2 \qquad \text{(block by block)} \\
    ∂L/∂x &= \text{col2im}(∂L/∂\text{cols})

col2im is im2col's adjoint: each entry of ∂L/∂cols is added back to the input
pixel it was copied from (patches overlap when S < kh, so a pixel collects
several terms; padding pixels are dropped).

Memory layout
-------------
The units are stored in the order (t, batch, i, j, o), the GEMM's, so the
(T, B, O, H', W') output is a transposed view of that memory, not a copy;
pooling reads it in that order and hands on arrays ordered the same way, and
∂L/∂x is returned channel-last in memory too. The large work arrays (the
patches of a block, δu) are kept from call to call (``_scratch_array``).

The reference
-------------
``engine="reference"`` runs a NumPy loop over time, in the (B, O, H', W')
layout: each step computes a_t with ``conv2d`` (a direct sum over the kh·kw
kernel offsets), then the SNU step; backward runs the same steps in reverse,
with ``conv2d_weight_gradient`` and ``conv2d_input_gradient``. The tests prove
the two engines equal and both equal to finite differences.

Example
-------
>>> conv = ConvSNU(1, 32, 5, rng=0)          # 5×5 kernels, 1 -> 32 channels
>>> y = conv.forward(x)      # x: (T, B, 1, 28, 28) -> y: (T, B, 32, 24, 24)
>>> dx = conv.backward(dy)   # adds into conv.grads["W"], ["b"]
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.errors import InputError, InputTypeError
from ..core.functions import sigmoid
from ..core.init import glorot_uniform
from ..core.layout import channels_last
from ..core.registry import register_layer
from ..core.validate import (
    as_rng,
    check_array,
    check_choice,
    check_gradient,
    check_params,
    check_size,
)
from . import snu_reference
from .snu import DECAY, add_decay
from .snu_engine import negative_slope, snu_backward_loop, snu_forward_loop
from .surrogate import pseudo_derivative, surrogate_code
from .temporal import TemporalLayer

#: the negative-side slope of g = "leaky_relu" (the SNU's default g_slope)
G_SLOPE = 0.01

#: the size of a block of patches, gathered and multiplied while in the cache (about an L2)
BLOCK_BYTES = 2 * 2**20


def _pair(name, value) -> tuple[int, int]:
    """An int or a pair of ints (rows, columns), as PyTorch's conv accepts."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              for v in items):
        raise InputTypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(items[0]), int(items[1])


def block_images(patch_bytes: int) -> int:
    """How many images' patches make one block of about ``BLOCK_BYTES`` (at least one)."""
    return max(1, BLOCK_BYTES // patch_bytes)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """⌊(size + 2·padding − kernel) / stride⌋ + 1: the pixels a convolution produces."""
    return (size + 2 * padding - kernel) // stride + 1


# -- the NumPy reference convolution ------------------------------------------------------


def conv2d(x, W, stride, padding):
    r"""The convolution of x (B, C, H, W) with W:

    .. math::

        a[b, o, i, j] = Σ_{c,p,q} W[o, c, p, q]\, x[b, c,\, i·S + p − P,\, j·S + q − P]

    Written as a sum over the kernel offsets (p, q): each adds one (B, H', W', C)
    slice of the padded input times W[:, :, p, q].
    """
    (kh, kw), (sh, sw), (ph, pw) = W.shape[2:], stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = output_size(x.shape[2], kh, sh, ph), output_size(x.shape[3], kw, sw, pw)
    a = np.zeros((x.shape[0], W.shape[0], Ho, Wo), x.dtype)
    for p in range(kh):
        for q in range(kw):
            patch = xp[:, :, p:p + sh * (Ho - 1) + 1:sh, q:q + sw * (Wo - 1) + 1:sw]   # (B, C, H', W')
            a += np.einsum("bcij,oc->boij", patch, W[:, :, p, q])
    return a


def conv2d_weight_gradient(x, da, kernel, stride, padding):
    r"""The gradient of the convolution's weights:

    .. math::

        ∂L/∂W[o, c, p, q] = Σ_{b,i,j} da[b, o, i, j]\, x[b, c,\, i·S + p − P,\, j·S + q − P]
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = da.shape[2:]
    dW = np.zeros((da.shape[1], x.shape[1], kh, kw), x.dtype)
    for p in range(kh):
        for q in range(kw):
            patch = xp[:, :, p:p + sh * (Ho - 1) + 1:sh, q:q + sw * (Wo - 1) + 1:sw]
            dW[:, :, p, q] = np.einsum("boij,bcij->oc", da, patch)
    return dW


def conv2d_input_gradient(da, W, x_shape, stride, padding):
    """∂L/∂x[b, c, r, v] = Σ over the (o, i, j, p, q) with r = i·S + p − P, v = j·S + q − P
    of da[b, o, i, j] W[o, c, p, q]: each kernel offset adds its share back where it read."""
    (kh, kw), (sh, sw), (ph, pw) = W.shape[2:], stride, padding
    B, C, H, Wd = x_shape
    Ho, Wo = da.shape[2:]
    dxp = np.zeros((B, C, H + 2 * ph, Wd + 2 * pw), da.dtype)
    for p in range(kh):
        for q in range(kw):
            dxp[:, :, p:p + sh * (Ho - 1) + 1:sh, q:q + sw * (Wo - 1) + 1:sw] += \
                np.einsum("boij,oc->bcij", da, W[:, :, p, q])
    return dxp[:, :, ph:ph + H, pw:pw + Wd]


# -- the compiled im2col and col2im ----------------------------------------------------------


@njit(cache=True)
def im2col(x, sh, sw, ph, pw, cols):
    """cols[n, i, j, p, q, c] = x[n, i·sh + p − ph, j·sw + q − pw, c], 0 in the padding.

    Parameters
    ----------
    x : (N, H, W, C)
        channel-last images (N = T·B, or a block of them).
    cols : (N, H', W', kh, kw, C)
        filled here; as a (N·H'·W', kh·kw·C) matrix its rows are the patches.

    Notes
    -----
    The channel is the innermost axis of both, so each pixel of a patch is one
    contiguous run of C numbers, copied in order.
    """
    N, H, W, C = x.shape
    _, Ho, Wo, kh, kw, _ = cols.shape
    zero = cols.dtype.type(0)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for p in range(kh):
                    r = i * sh + p - ph
                    for q in range(kw):
                        v = j * sw + q - pw
                        inside = r >= 0 and r < H and v >= 0 and v < W
                        if C == 1:   # an image: without a channel loop of length 1, 3× faster
                            cols[n, i, j, p, q, 0] = x[n, r, v, 0] if inside else zero
                        elif inside:
                            for c in range(C):
                                cols[n, i, j, p, q, c] = x[n, r, v, c]
                        else:
                            for c in range(C):
                                cols[n, i, j, p, q, c] = zero


@njit(cache=True)
def col2im(dcols, sh, sw, ph, pw, dx):
    """im2col's adjoint: dx[n, r, v, c] += dcols[n, i, j, p, q, c] wherever im2col read x[n, r, v, c].

    Parameters
    ----------
    dcols : (N, H', W', kh, kw, C)
    dx : (N, H, W, C)
        channel-last, zeroed by the caller.
    """
    N, H, W, C = dx.shape
    _, Ho, Wo, kh, kw, _ = dcols.shape
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for p in range(kh):
                    r = i * sh + p - ph
                    if r < 0 or r >= H:
                        continue
                    for q in range(kw):
                        v = j * sw + q - pw
                        if v >= 0 and v < W:
                            for c in range(C):
                                dx[n, r, v, c] += dcols[n, i, j, p, q, c]


# -- the layer --------------------------------------------------------------------------------


@register_layer
class ConvSNU(TemporalLayer):
    """A convolutional layer of SNUs (or sSNUs): one unit per output channel and pixel.

    Parameters
    ----------
    in_channels, out_channels : int
        C and O.
    kernel_size, stride, padding : int or (int, int)
        an int or a pair (rows, columns), as in PyTorch;
        padding adds that many zero pixels on each side.
    soft, decay, g, surrogate, detach_reset, train_decay, dtype, rng
        as for :class:`~minisnu.units.snu.SNU`;
        ``decay`` is a number or one value per output channel, and ``train_decay``
        makes it a per-channel parameter (params gain ``"decay"``, clipped into [0, 1]
        at each forward pass).
    engine : str
        ``"numba"`` (im2col, one product, the SNU's compiled loops) or
        ``"reference"`` (NumPy, a direct convolution per step).
    stateful : bool
        carry (s, y) over from one forward pass to the next.

    Notes
    -----
    Attribute ``input_gradient`` (True): set it to False when x is data (the first
    layer of a network); backward then skips ∂L/∂cols and col2im and returns None.

    Parameters are ``W`` (O, C, kh, kw), PyTorch's layout, Glorot uniform for the
    (C·kh·kw) × O matrix that multiplies each patch; ``b`` (O,) at −1 (threshold 1).
    ``state`` is (s_0, y_0), each (B, O, H', W'), or None for zeros.
    g = "leaky_relu" has the SNU's default slope 0.01. Lateral inhibition, recurrence,
    bias_init and surrogate_k are the dense SNU's only.
    """

    state_names = ("s", "y")
    output_state = "y"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, soft=False,
                 decay=DECAY, g="relu", surrogate="tanh", detach_reset=False, train_decay=False,
                 dtype=np.float32, rng=0, *, engine="numba", stateful=False):
        super().__init__(check_size("in_channels", in_channels),
                         check_size("out_channels", out_channels),
                         stateful=stateful, dtype=dtype, engine=engine)
        self.in_channels, self.out_channels = self.n_in, self.n_out
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.stride = _pair("stride", stride)
        self.padding = _pair("padding", padding)
        if min(self.kernel_size) < 1:
            raise InputError(f"kernel_size must be positive, got {kernel_size!r}")
        if min(self.stride) < 1:
            raise InputError(f"stride must be positive, got {stride!r}")
        if min(self.padding) < 0:
            raise InputError(f"padding must be >= 0, got {padding!r}")
        check_choice("g", g, snu_reference.G_FUNCTIONS)
        self._surrogate_code, self.surrogate_k = surrogate_code(surrogate)
        self.soft, self.g, self.surrogate = bool(soft), g, surrogate
        self.detach_reset, self.train_decay = bool(detach_reset), bool(train_decay)
        kh, kw = self.kernel_size
        fan_in = self.n_in * kh * kw
        W = glorot_uniform(as_rng(rng), fan_in, self.n_out, self.dtype)    # the patch matrix
        self.add_param("W", W.T.reshape(self.n_out, self.n_in, kh, kw))
        self.add_param("b", np.full(self.n_out, -1.0, self.dtype))
        self._scratch = {}                          # see _scratch_array
        add_decay(self, decay, per="output channel")

    @property
    def decay(self) -> np.ndarray:
        """l, one value per output channel (a parameter when ``train_decay``)."""
        return self.params["decay"] if self.train_decay else self.decay_fixed

    def output_shape(self, H: int, W: int) -> tuple[int, int]:
        """(H', W'), the output pixels for H × W input images."""
        return tuple(output_size(n, k, s, p) for n, k, s, p in
                     zip((H, W), self.kernel_size, self.stride, self.padding))

    # -- the carried state, (B, O, H', W') per array -----------------------------------

    # ``state`` is the base's: (s_0, y_0), each (B, O, H', W'), or None for zeros.

    def _checked_first_state(self, name, value) -> np.ndarray:
        """s_0 of a given state, checked: (B, O, H', W'); y_0 must match its shape."""
        s0 = check_array(name, value, ndim=4, dtype=self.dtype)
        if s0.shape[1] != self.n_out:
            raise InputError(f"{name} must have {self.n_out} channels on axis 1, got shape {s0.shape}")
        return s0

    def _initial_state(self, shape):
        """(s_0, y_0) of shape (B, O, H', W'): the carried or given one, or zeros."""
        if self._state is None:
            return tuple(np.zeros(shape, self.dtype) for _ in self.state_names)
        if self._state[0].shape != shape:
            raise InputError(
                f"this ConvSNU carries a state of shape {self._state[0].shape} but x needs {shape} "
                "(batch, channels, H', W'); call reset_state() before a new batch or image size")
        return self._state

    @property
    def membrane(self) -> np.ndarray:
        """s_t of the last forward pass, (T, B, O, H', W')."""
        return self._record("s")

    # -- forward --------------------------------------------------------------------------

    def forward(self, x):
        """x: (T, B, C, H, W) -> y: (T, B, O, H', W'), spikes (SNU) or rates (sSNU)."""
        x = check_array("x", x, ndim=5, dtype=self.dtype)
        if x.shape[2] != self.n_in:
            raise InputError(f"x must have {self.n_in} channels on axis 2 (T, B, C, H, W), "
                             f"got shape {x.shape}")
        Ho, Wo = self.output_shape(*x.shape[3:])
        if Ho < 1 or Wo < 1:
            raise InputError(f"x's images of {x.shape[3]}×{x.shape[4]} pixels are smaller than "
                             f"kernel_size {self.kernel_size} with padding {self.padding}")
        check_params(self)       # first: a diverged decay is named, not clipped into range
        if self.train_decay:     # as the SNU: projected gradient descent keeps l in [0, 1]
            np.clip(self.params["decay"], 0, 1, out=self.params["decay"])
        initial = self._initial_state((x.shape[1], self.n_out, Ho, Wo))
        if self.engine == "reference":
            states, saved = self._forward_reference(x, initial)
        else:
            states, saved = self._forward_numba(x, initial)
        self._cache = (x, states, saved)
        self._recorded = tuple(s[1:] for s in states)
        if self.stateful:
            self._state = tuple(s[-1].copy() for s in states)
        return self._record(self.output_state)

    def _per_channel(self):
        """The decay l and b as (O, 1, 1): per channel, broadcast over (B, O, H', W')."""
        return self.decay[:, None, None], self.params["b"][:, None, None]

    def _forward_reference(self, x, initial):
        decay, b = self._per_channel()
        s, y = [initial[0]], [initial[1]]
        for t in range(len(x)):
            a = conv2d(x[t], self.params["W"], self.stride, self.padding)
            u = a + decay * s[-1] * (1 - y[-1])
            s.append(snu_reference.g_forward(u, self.g, G_SLOPE))
            v = s[-1] + b
            y.append(sigmoid(v) if self.soft else (v > 0).astype(self.dtype))
        return (np.stack(s), np.stack(y)), None

    def _forward_numba(self, x, initial):
        T, B = x.shape[:2]
        O, (Ho, Wo) = self.n_out, self.output_shape(*x.shape[3:])
        P = Ho * Wo
        # the SNU's loops on the units (i, j, o); index 0 of s and y: the initial state
        s, y = (np.empty((T + 1, B, Ho, Wo, O), self.dtype) for _ in range(2))
        s[0], y[0] = (v.transpose(0, 2, 3, 1) for v in initial)
        # every a_t, written where s_t goes: step t reads a_t there just before it writes s_t
        a, W2 = s[1:].reshape(T * B, P, O), self._patch_matrix()
        for images, cols in self._patch_blocks(x):
            np.matmul(cols, W2.T, out=a[images].reshape(-1, O))          # A = cols W2ᵀ
        units = (T + 1, B, P * O)
        b, decay = np.tile(self.params["b"], P), np.tile(self.decay, P)   # per unit
        no_shared_gate = np.empty((T + 1, B), self.dtype)          # (no lateral inhibition)
        snu_forward_loop(s[1:].reshape(T, B, P * O), b, decay, self.soft,
                         negative_slope(self.g, G_SLOPE), False,
                         s.reshape(units), y.reshape(units), no_shared_gate, 0, T)
        channels_first = (0, 1, 4, 2, 3)
        return (s.transpose(channels_first), y.transpose(channels_first)), (s, y, no_shared_gate)

    def _patch_blocks(self, x):
        """For each block of images (``block_images``): their slice of the T·B images and
        their patches as a (rows, kh·kw·C) matrix, gathered by ``im2col`` into a buffer that
        the next block overwrites."""
        T, B, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = self.output_shape(H, W)
        x = channels_last(x.reshape(T * B, C, H, W))
        n = block_images(Ho * Wo * kh * kw * C * self.dtype.itemsize)
        cols = self._scratch_array("cols", (min(n, T * B), Ho, Wo, kh, kw, C))
        for start in range(0, T * B, n):
            images = slice(start, min(start + n, T * B))
            block = cols[:images.stop - start]
            im2col(x[images], sh, sw, ph, pw, block)
            yield images, block.reshape(-1, kh * kw * C)

    def _patch_matrix(self):
        """W2: W (O, C, kh, kw) as the (O, kh·kw·C) matrix that multiplies the patches (a copy)."""
        return self.params["W"].transpose(0, 2, 3, 1).reshape(self.n_out, -1)

    def _scratch_array(self, name, shape):
        """A work array kept from call to call while its shape stays: the large temporaries
        (the patches of a block, δu) are not allocated anew each step, which costs
        more than the work in them (the system zeroes every fresh page). Not for anything a
        caller may keep: the outputs, the membrane and ∂L/∂x are always new arrays."""
        array = self._scratch.get(name)
        if array is None or array.shape != shape:
            array = self._scratch[name] = np.empty(shape, self.dtype)
        return array

    # -- backward -------------------------------------------------------------------------

    def backward(self, dy):
        """dy: (T, B, O, H', W') = ∂L/∂y -> ∂L/∂x (T, B, C, H, W), or None when
        ``input_gradient`` is False (x is data); adds into ``grads``."""
        self._need_forward(self._cache)
        x, states, saved = self._cache
        dy = check_gradient(self, dy, states[1][1:].shape, self.dtype)
        if self.engine == "reference":
            dx = self._backward_reference(dy, x, states)
            return dx if self.input_gradient else None
        return self._backward_numba(dy, x, saved)

    def _backward_reference(self, dy, x, states):
        """BPTT as in ``snu_reference.snu_step_backward``, with the convolution's gradients."""
        s, y = states
        decay, b = self._per_channel()
        dx = np.zeros_like(x)
        du_next = np.zeros_like(s[0])                    # δu_{T+1} = 0
        for t in reversed(range(len(x))):
            gy = dy[t].copy()                                        # ∂L/∂y_t
            if not self.detach_reset:
                gy -= du_next * decay * s[t + 1]                     # reset path into u_{t+1}
            if self.soft:
                h_prime = y[t + 1] * (1 - y[t + 1])
            else:
                h_prime = pseudo_derivative(s[t + 1] + b, self.surrogate).astype(self.dtype)
            gv = gy * h_prime                                        # ∂L/∂v_t
            gs = gv + du_next * decay * (1 - y[t + 1])               # decay path into u_{t+1}
            du = gs * snu_reference.g_derivative(s[t + 1], self.g, G_SLOPE)   # δu_t = δa_t
            self.grads["W"] += conv2d_weight_gradient(x[t], du, self.kernel_size, self.stride,
                                                      self.padding)
            self.grads["b"] += gv.sum(axis=(0, 2, 3))
            if self.train_decay:
                self.grads["decay"] += (du * s[t] * (1 - y[t])).sum(axis=(0, 2, 3))
            dx[t] = conv2d_input_gradient(du, self.params["W"], x.shape[1:], self.stride,
                                          self.padding)
            du_next = du
        return dx

    def _backward_numba(self, dy, x, saved):
        s, y, no_shared_gate = saved
        T, (_, B, Ho, Wo, O) = len(x), s.shape
        P = Ho * Wo
        units = (T + 1, B, P * O)
        s, y = s.reshape(units), y.reshape(units)
        dy = dy.transpose(0, 1, 3, 4, 2)            # units (i, j, o); a view if dy is channel-last
        if not dy.flags.c_contiguous:
            contiguous = self._scratch_array("dy", dy.shape)
            contiguous[...] = dy
            dy = contiguous
        dy = dy.reshape(T, B, P * O)
        b, decay = np.tile(self.params["b"], P), np.tile(self.decay, P)
        du = self._scratch_array("du", (T, B, P * O))
        db = np.zeros(P * O, self.dtype)
        snu_backward_loop(dy, s, y, no_shared_gate, b, self.soft, self._surrogate_code,
                          self.surrogate_k, decay, negative_slope(self.g, G_SLOPE),
                          self.detach_reset, False, du, db, 0, T)
        self.grads["b"] += db.reshape(P, O).sum(axis=0)              # the channel's pixels
        if self.train_decay:             # ∂L/∂l = Σ δu_t ⊙ s_{t-1} ⊙ (1 − y_{t-1}), per channel
            per_unit = (du * s[:-1] * (1 - y[:-1])).sum(axis=(0, 1), dtype=np.float64)
            self.grads["decay"] += per_unit.reshape(P, O).sum(axis=0).astype(self.dtype)
        return self._convolution_gradients(du.reshape(T * B, P, O), x)

    def _convolution_gradients(self, da, x):
        """From δA (T·B, H'·W', O): ∂L/∂W2 = δAᵀ cols added into grads["W"], and ∂L/∂x =
        col2im(δA W2) (None when ``input_gradient`` is False), block by block."""
        T, B, C, H, W = x.shape
        O, (kh, kw), (Ho, Wo) = self.n_out, self.kernel_size, self.output_shape(H, W)
        W2 = self._patch_matrix()
        dW2 = np.zeros(W2.shape, self.dtype)
        dx = None
        if self.input_gradient:          # x is data (the first layer): no ∂L/∂cols, no col2im
            dx = np.zeros((T * B, H, W, C), self.dtype)
        for images, cols in self._patch_blocks(x):
            d = da[images].reshape(-1, O)
            dW2 += d.T @ cols                                          # δAᵀ cols
            if dx is not None:
                dcols = (d @ W2).reshape(-1, Ho, Wo, kh, kw, C)               # ∂L/∂cols = δA W2
                col2im(dcols, *self.stride, *self.padding, dx[images])
        self.grads["W"] += dW2.reshape(O, kh, kw, C).transpose(0, 3, 1, 2)
        return None if dx is None else dx.transpose(0, 3, 1, 2).reshape(x.shape)   # a view

    # -- checkpoints ----------------------------------------------------------------------

    def config(self) -> dict:
        def plain(pair):
            return pair[0] if pair[0] == pair[1] else list(pair)

        decay = self._decay_given
        decay = float(decay) if np.ndim(decay) == 0 else np.asarray(decay, float).tolist()
        return {"in_channels": self.n_in, "out_channels": self.n_out,
                "kernel_size": plain(self.kernel_size), "stride": plain(self.stride),
                "padding": plain(self.padding), "soft": self.soft, "decay": decay, "g": self.g,
                "surrogate": self.surrogate, "detach_reset": self.detach_reset,
                "train_decay": self.train_decay, "dtype": self.dtype.name, "engine": self.engine,
                "stateful": self.stateful}
