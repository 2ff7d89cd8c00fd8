r"""Looking inside a trained network: what each layer does, how far back the gradient reaches,
and how sharp its output layer can make the softmax at all.

A model that learns worse than it should (the SNU language models on Penn Treebank, say)
is diagnosed before it is tuned. Three measurements, each on a checkpoint and a few
batches of a split (``minisnu inspect RUN``):

**Layer activity** (:func:`layer_activity`). For every temporal layer, over the batches:

- the mean output: the firing rate of a spiking layer (y ∈ {0, 1}), the mean rate of a
  soft one (y ∈ (0, 1)), the mean hidden value of an RNN, LSTM or GRU;
- the silent units, which never output more than ½ (a spiking unit that never fires:
  it passes no signal and, far under threshold, almost no gradient), and the
  always-on units, which always do;
- for an SNU, the share of unit-steps whose membrane s is at or below 0 (with g = ReLU the
  unit is *closed* there: s_t = g(u_t) passes no gradient to W, to H or to the layer below),
  the drive v = s + b against the threshold at 0 (y = h(v): the unit fires
  when v > 0), as its 1st, 50th and 99th percentiles, and the mean local derivative
  ∂y/∂v that backpropagation passes through the unit: the pseudo-derivative h'(v) of a
  spiking unit, σ(v)(1 − σ(v)) ≤ ¼ of a soft one;
- for an LSTM, the largest :math:`|c|` (cell states that grow along a carried stream).

For the network's output, when it is a score per class or word (logits): the mean
spread max_v z_v − mean_v z_v and the mean probability of the top choice.

**Gradient reach** (:func:`gradient_reach`). Truncated BPTT lets the loss at step T
teach the weights through every earlier step of the window, but only as far as the
gradient survives. With the loss's gradient kept at the last step only,
g_t = ‖∂L_T/∂x_t‖ at the input of the first temporal layer shows how much of it is
left t steps back; ``reach`` is the largest lag at which g_t is still 1 % of g_T.
An SNU forgets through its decay l (:math:`∂s_t/∂s_{t−1} = l (1 − y_{t−1})` with the reset):
at l = 0.8, 0.8²⁰ ≈ 1 %, so 20 steps back at most, fewer where units fire.

**The output ceiling** (:func:`output_ceiling`). An output layer z = y W + b fed by SNU
outputs sees y in [0, 1]^d only. For a word (or class) w, the most probability it can
ever give w is

.. math::

    p^*_w = \max_{y ∈ [0, 1]^d} \mathrm{softmax}(y W + b)_w,

a concave maximisation of log p_w (z_w is linear in y, log Σ_v exp z_v convex), solved by
spectral projected gradient ascent from the corner y_k = 1[W_kw > 0] until a certificate
(the Frank–Wolfe gap, below) proves it within 1e-8 of the maximum. The mean of
−log p* over tokens of the text is a floor under the cross-entropy that *no* hidden
activity can beat: if exp of it is, say, 80, the model cannot reach a perplexity of 80
before its output weights grow. With weight tying, W is the embedding table (W = Eᵀ).
The same holds for an LSTM's output layer with y ∈ [−1, 1]^d (its h = o tanh c).
"""

from __future__ import annotations

import numpy as np

from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.readout import Readout
from ..layers.tied_dense import TiedDense
from ..units.gru import GRU
from ..units.lstm import LSTM
from ..units.rnn import RNN
from ..units.snu import SNU
from ..units.surrogate import pseudo_derivative
from ..units.temporal import TemporalLayer
from .loop import reset_states

#: values of the drive v kept per batch and layer for its percentiles (evenly strided)
DRIVE_SAMPLES = 20_000
#: the gradient is "still there" t steps back while it is at least this fraction of g_T
REACH_FRACTION = 0.01


# ---------------------------------------------------------------------------
# layer activity


def layer_activity(net, batches, *, max_batches: int | None = None) -> dict:
    """What every temporal layer of ``net`` does on ``batches`` (eval mode, states reset).

    Returns ``{"layers": [...], "output": {...}, "batches": n}``: one dict per temporal
    layer (``index``, ``layer``, ``mean_output``, ``silent_units``, ``always_on_units``,
    and for SNUs ``closed``, ``drive_p1``, ``drive_p50``, ``drive_p99``, ``mean_derivative``, for LSTMs
    ``max_abs_cell``), and for logits ``logit_spread`` and ``top_probability``.
    """
    net.eval()
    reset_states(net)
    tallies: dict[int, _Tally] = {}
    output = {"logit_spread": 0.0, "top_probability": 0.0, "rows": 0}
    n = 0
    for batch in batches:
        if max_batches is not None and n >= max_batches:
            break
        z = net.forward(batch.x)
        for i, layer in enumerate(net.layers):
            if isinstance(layer, TemporalLayer) or hasattr(layer, "membrane"):
                tallies.setdefault(i, _Tally(i, layer)).add(layer)
        if _scores_classes(net, batch):
            _add_logits(output, z)
        n += 1
    reset_states(net)
    net.train()
    rows = output.pop("rows")
    if rows:
        output = {key: value / rows for key, value in output.items()}
    return {"batches": n, "layers": [t.summary() for t in tallies.values()],
            "output": output if rows else None}


class _Tally:
    """Running sums of one layer's records over batches."""

    def __init__(self, index: int, layer):
        self.index, self.name = index, _short_name(layer)
        self.total, self.count = 0.0, 0
        self.ever_on = self.ever_off = None   # per unit: output > ½ at some step / ≤ ½ at some step
        self.drive, self.derivative, self.closed, self.cell = [], 0.0, 0, 0.0

    def add(self, layer) -> None:
        y = layer.output.astype(np.float64)
        self.total += y.sum()
        self.count += y.size
        on = y > 0.5
        units_on, units_off = on.any(axis=(0, 1)), (~on).any(axis=(0, 1))
        self.ever_on = units_on if self.ever_on is None else self.ever_on | units_on
        self.ever_off = units_off if self.ever_off is None else self.ever_off | units_off
        if hasattr(layer, "membrane"):
            self.closed += int(np.count_nonzero(layer.membrane <= 0))
            v = layer.membrane + _channel_bias(layer, y.ndim)   # v = s + b: above 0 it fires
            self.drive.append(v.ravel()[:: max(1, v.size // DRIVE_SAMPLES)].astype(np.float64))
            slope = (y * (1 - y) if layer.soft   # the sSNU's y = σ(v)
                     else pseudo_derivative(v, layer.surrogate, layer.surrogate_k))
            self.derivative += float(np.sum(slope, dtype=np.float64))
        if hasattr(layer, "cell"):
            self.cell = max(self.cell, float(np.abs(layer.cell).max()))

    def summary(self) -> dict:
        row = {"index": self.index, "layer": self.name, "mean_output": self.total / self.count,
               "silent_units": float(np.mean(~self.ever_on)),
               "always_on_units": float(np.mean(~self.ever_off))}
        if self.drive:
            p1, p50, p99 = np.percentile(np.concatenate(self.drive), [1, 50, 99])
            row.update(closed=self.closed / self.count,
                       drive_p1=float(p1), drive_p50=float(p50), drive_p99=float(p99),
                       mean_derivative=self.derivative / self.count)
        if self.cell:
            row["max_abs_cell"] = self.cell
        return row


def _short_name(layer) -> str:
    sizes = [getattr(layer, name) for name in ("n_in", "n_out", "in_channels", "out_channels")
             if hasattr(layer, name)]
    kind = type(layer).__name__
    if getattr(layer, "soft", False):
        kind = "sSNU" if kind == "SNU" else f"{kind}(soft)"
    if getattr(layer, "recurrent", False):
        kind += ", recurrent"
    return f"{kind} {'-'.join(map(str, sizes))}"


def _channel_bias(layer, ndim: int) -> np.ndarray:
    """b shaped to broadcast over the records: over features (T, B, n), or over channels
    (T, B, C, H, W) for a convolutional SNU."""
    b = layer.params["b"]
    return b.reshape(b.shape + (1,) * (ndim - 3)) if ndim > 3 else b


def _scores_classes(net, batch) -> bool:
    """Is the output a softmax's logits: integer targets (a class or word id each), scored by
    a Dense, TiedDense or Readout last layer (not JSB's independent notes)?"""
    target = getattr(batch, "target", None)
    return (isinstance(target, np.ndarray) and target.dtype.kind in "iu"
            and isinstance(net.layers[-1], (Dense, TiedDense, Readout)))


def _add_logits(output: dict, z: np.ndarray) -> None:
    """Add each row's logit spread and top softmax probability (rows: every leading index)."""
    z = z.reshape(-1, z.shape[-1]).astype(np.float64)
    top = z.max(axis=1)
    output["logit_spread"] += float(np.sum(top - z.mean(axis=1)))
    output["top_probability"] += float(np.sum(1.0 / np.exp(z - top[:, None]).sum(axis=1)))
    output["rows"] += len(z)


# ---------------------------------------------------------------------------
# gradient reach


def gradient_reach(net, batch, loss) -> dict | None:
    """g_t = ‖∂L_T/∂x_t‖ at the first temporal layer's input, for the loss of the last step only.

    ``loss(output, batch)`` returns (value, ∂value/∂output, ...) as a task's loss does; its
    gradient is zeroed at every step but the last (the output must be time-major: (T, ...)).
    The network runs in eval mode from reset states; its gradients are zeroed afterwards.
    Returns ``{"norms": [g_1 … g_T] / g_T, "reach": lag}``, or None when the network has no
    temporal layer or its output has no time axis (a readout summed over time).
    """
    first = next((i for i, layer in enumerate(net.layers) if isinstance(layer, TemporalLayer)), None)
    if first is None:
        return None
    net.eval()
    reset_states(net)
    try:
        z = net.forward(batch.x)
        if z.ndim < 3:
            return None
        grad = np.array(loss(z, batch)[1])
        grad[:-1] = 0.0                              # only the last step's loss L_T
        for layer in net.layers[:first:-1]:          # down to just above the first temporal layer
            grad = layer.backward(grad)
        dx = net.layers[first].backward(grad)        # ∂L_T/∂x_t, (T, B, n_in)
    finally:
        net.zero_grad()
        reset_states(net)
        net.train()
    norms = np.sqrt(np.sum(dx.astype(np.float64) ** 2, axis=tuple(range(1, dx.ndim))))
    norms = norms / norms[-1] if norms[-1] > 0 else norms
    alive = np.nonzero(norms >= REACH_FRACTION)[0]
    return {"norms": norms.tolist(), "reach": int(len(norms) - 1 - alive[0]) if len(alive) else 0}


# ---------------------------------------------------------------------------
# output ceiling


def output_weights(net):
    """(W, b) of the output layer as z = y W + b with W of shape (d, V): a Dense layer's own,
    or a TiedDense's embedding table transposed (times its learned scale α, if it has one);
    None for any other last layer."""
    last = net.layers[-1]
    if isinstance(last, TiedDense):
        W = last.embedding.params["W"].T
        return (last.params["scale"][0] * W if last.scale else W), last.params.get("b")
    if isinstance(last, Dense):
        return last.params["W"], last.params.get("b")
    return None


def output_ceiling(W, b, targets, *, low: float = 0.0, high: float = 1.0, tol: float = 1e-8,
                   steps: int = 1000, return_gap: bool = False):
    r"""log p*_w = max over y ∈ [low, high]^d of log softmax(y W + b)_w, for each w in ``targets``.

    The box is [0, 1] for SNU outputs, [−1, 1] for the tanh-bounded outputs of an RNN,
    LSTM or GRU. f(y) = log p_w(y) = z_w − log Σ_v exp z_v is concave, with gradient

    .. math:: \nabla f(y) = W_{:w} - W p, \qquad p = \mathrm{softmax}(y W + b).

    Spectral projected gradient ascent (Birgin, Martínez & Raydan 2000), every target at
    once, one row each, from the corner y = high where :math:`W_{:w} > 0` and low elsewhere:

    .. math:: d = \Pi(y + \lambda \nabla f) - y, \qquad y \leftarrow y + t\,d,

    Π the clip to the box, t halved from 1 until f gains at least 10⁻⁴ t ∇f·d (Armijo),
    λ the Barzilai–Borwein step Δyᵀ Δy / (−Δyᵀ Δ∇f) of the last move: the curvature along
    it, so flat directions near p_w = 1 get long steps and steep ones short.

    A row stops when its Frank–Wolfe gap, the most any point of the box could gain over
    the linearisation,

    .. math:: \text{gap}(y) &= \max_{u \in \text{box}} \nabla f(y)^\top (u - y) \\
              &= \sum_k \max\big(\partial_k f\,(\text{high} - y_k),\ \partial_k f\,(\text{low} - y_k)\big),

    is at most ``tol``: by concavity f* ≤ f(y) + gap(y), so the answer is certified, not
    just a value where the steps ran out. Returns log p* per target (float64), and with
    ``return_gap`` the gaps too (each ≤ ``tol`` unless ``steps`` ran out or float64
    rounding stopped the row first).
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.zeros(W.shape[1]) if b is None else np.asarray(b, dtype=np.float64)
    targets = np.asarray(targets)
    Wt = W[:, targets].T                          # (n, d): the column of each target
    y = np.where(Wt > 0, high, low)
    f, g = _ceiling_objective(W, b, Wt, targets, y)
    lam = np.full(len(targets), 1.0 / max(float(np.max(np.sum(W * W, axis=0))), 1e-12))
    gap = _box_gap(y, g, low, high)
    rows = np.flatnonzero(gap > tol)              # the rows still moving
    for _ in range(steps):
        if len(rows) == 0:
            break
        d = np.clip(y[rows] + lam[rows, None] * g[rows], low, high) - y[rows]
        moved, y_new, f_new, g_new = _armijo(W, b, Wt[rows], targets[rows], y[rows], f[rows], g[rows], d)
        step, change = y_new - y[rows], g_new - g[rows]
        curvature = -np.sum(step * change, axis=1)   # > 0 along any move of a concave f
        lam[rows] = np.where(curvature > 0, np.sum(step * step, axis=1) / np.maximum(curvature, 1e-300),
                             LAMBDA_MAX)
        lam[rows] = np.clip(lam[rows], LAMBDA_MIN, LAMBDA_MAX)
        y[rows], f[rows], g[rows] = y_new, f_new, g_new
        gap[rows] = _box_gap(y_new, g_new, low, high)
        rows = rows[moved & (gap[rows] > tol)]      # a row that cannot gain in float64 stops too
    return (f, gap) if return_gap else f


#: bounds on the spectral step λ, which a vanishing curvature would send to infinity
LAMBDA_MIN, LAMBDA_MAX = 1e-10, 1e10


def _ceiling_objective(W, b, Wt, targets, y):
    """f = log softmax(y W + b)_w per row, and its gradient W_{:w} − W p."""
    f, p = _log_softmax_at(y @ W + b, targets)
    return f, Wt - p @ W.T


def _box_gap(y, g, low, high):
    """The Frank–Wolfe gap of each row: max over the box of g·(u − y), ≥ 0, 0 at the optimum."""
    return np.sum(np.maximum(g * (high - y), g * (low - y)), axis=1)


def _armijo(W, b, Wt, targets, y, f, g, d, halvings: int = 60):
    """Backtrack along d, each row on its own: t = 1, ½, ¼, … until f(y + t d) ≥ f + 10⁻⁴ t g·d.

    Returns (moved, y, f, g) with moved False for a row no t satisfied (its gain is below
    float64 rounding); such a row keeps its point.
    """
    y, f, g = y.copy(), f.copy(), g.copy()
    slope = np.sum(g * d, axis=1)                  # ≥ 0: d points uphill within the box
    t = np.ones(len(y))
    todo = np.arange(len(y))
    for _ in range(halvings):
        trial = y[todo] + t[todo, None] * d[todo]
        f_trial, p_trial = _log_softmax_at(trial @ W + b, targets[todo])
        ok = f_trial >= f[todo] + 1e-4 * t[todo] * slope[todo]
        done = todo[ok]            # the gradient W_{:w} − W p only where the step is taken
        y[done], f[done], g[done] = trial[ok], f_trial[ok], Wt[done] - p_trial[ok] @ W.T
        todo = todo[~ok]
        if len(todo) == 0:
            break
        t[todo] *= 0.5
    moved = np.ones(len(y), dtype=bool)
    moved[todo] = False
    return moved, y, f, g


#: the box each kind of layer's outputs live in: SNUs [0, 1], the tanh-bounded baselines [−1, 1]
OUTPUT_BOXES = {SNU: (0.0, 1.0), RNN: (-1.0, 1.0), LSTM: (-1.0, 1.0), GRU: (-1.0, 1.0)}
#: target tokens the ceiling is computed for, evenly strided over the targets given
CEILING_TOKENS = 500


def target_ceiling(net, targets) -> dict | None:
    """The output ceiling over (up to CEILING_TOKENS of) the integer ``targets``: the floor it
    sets under the mean loss, and the median and lowest best probability of a distinct
    target. None when the last layer is not a Dense or TiedDense fed (through dropout at
    most) by SNUs or RNN, LSTM or GRU units, or the targets are not class or word ids."""
    weights = output_weights(net)
    below = [layer for layer in net.layers[:-1] if not isinstance(layer, Dropout)]
    box = OUTPUT_BOXES.get(type(below[-1])) if below else None
    targets = np.asarray(targets)
    if weights is None or box is None or targets.dtype.kind not in "iu":
        return None
    tokens = targets[:: max(1, len(targets) // CEILING_TOKENS)]
    words, counts = np.unique(tokens, return_counts=True)
    log_p = output_ceiling(*weights, words, low=box[0], high=box[1])
    return {"tokens": int(counts.sum()), "words": len(words), "low": box[0], "high": box[1],
            "floor_loss": float(-(counts * log_p).sum() / counts.sum()),
            "p_min": float(np.exp(log_p.min())), "p_median": float(np.exp(np.median(log_p)))}


def _log_softmax_at(z: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log softmax(z)_target per row, softmax(z))."""
    top = z.max(axis=1, keepdims=True)
    e = np.exp(z - top)
    total = e.sum(axis=1)
    log_p = z[np.arange(len(z)), targets] - top[:, 0] - np.log(total)
    return log_p, e / total[:, None]


# ---------------------------------------------------------------------------
# text


def format_activity(activity: dict) -> str:
    """The activity as a table, one line per temporal layer, then the output's line."""
    lines = [f"{'layer':<28} {'mean out':>8} {'silent':>7} {'always':>7} {'s <= 0':>7}   "
             f"{'drive v = s + b: p1 / p50 / p99':>31}  {'dy/dv':>6}"]
    for row in activity["layers"]:
        drive = (f"{row['drive_p1']:9.2f} / {row['drive_p50']:6.2f} / {row['drive_p99']:6.2f}"
                 if "drive_p1" in row else "")
        slope = f"{row['mean_derivative']:6.3f}" if "mean_derivative" in row else ""
        closed = f"{row['closed']:7.1%}" if "closed" in row else ""
        line = (f"{row['index']:>2} {row['layer']:<25} {row['mean_output']:8.3f} "
                f"{row['silent_units']:7.1%} {row['always_on_units']:7.1%} {closed:>7}   {drive:>31}  "
                f"{slope:>6}")
        if "max_abs_cell" in row:
            line += f"  max |c| {row['max_abs_cell']:.1f}"
        lines.append(line)
    if activity["output"] is not None:
        out = activity["output"]
        lines.append(f"output: logit spread (max − mean) {out['logit_spread']:.2f}, "
                     f"top probability {out['top_probability']:.3f}")
    return "\n".join(lines)


def format_reach(reach: dict) -> str:
    """One line: the gradient left at a few lags, and the reach."""
    norms = reach["norms"]
    lags = [lag for lag in (1, 2, 5, 10, 20, 30) if lag < len(norms)]
    shown = ", ".join(f"{lag}: {norms[-1 - lag]:.3g}" for lag in lags)
    return (f"gradient of the last step's loss, t steps back (g_t / g_T): {shown}; "
            f"reach (≥ {REACH_FRACTION:.0%}): {reach['reach']} steps")


def format_ceiling(ceiling: dict) -> str:
    """One line: the floor under the loss that the output layer's weights set."""
    return (f"output ceiling over {ceiling['tokens']} target tokens ({ceiling['words']} distinct): "
            f"the best any y in [{ceiling['low']:g}, {ceiling['high']:g}]^d can do is a loss of "
            f"{ceiling['floor_loss']:.3f} "
            f"(exp: {np.exp(ceiling['floor_loss']):.3g}); best probability of a target: "
            f"median {ceiling['p_median']:.3f}, lowest {ceiling['p_min']:.3g}")
