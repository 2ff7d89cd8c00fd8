"""
03 · Backpropagation through time, by hand
==========================================

**What this teaches:** the backward pass of the SNU derived with the chain
rule and run one time step at a time (``snu_step`` and ``snu_step_backward``
of ``minisnu.units.snu_reference``), how far back in time its gradient
reaches with and without the reset path (``detach_reset``), the
pseudo-derivatives that stand in for the step's, and how to prove a gradient
right with finite differences (``check_layer`` of
``minisnu.training.gradcheck``).

minisnu has no automatic differentiation: the gradient of every layer is
derived on paper and written next to its forward pass. This chapter walks
through that derivation for the SNU, runs it one time step at a time, shows
the pseudo-derivative that stands in for the step function, and then proves
the result right with finite differences, and a wrong one wrong.

The forward pass of one layer, for t = 1..T (s₀ = y₀ = 0)::

    u_t = x_t W + l ⊙ s_{t−1} ⊙ (1 − y_{t−1})
    s_t = g(u_t)
    y_t = h(s_t + b)

Going backwards, write δu_t = ∂L/∂u_t and dY_t = ∂L/∂y_t for what the loss
(or the layer above) says about the output directly. The output y_t reaches
the loss directly and through the reset gate of step t + 1; the potential
s_t reaches it through y_t and through the decay term of u_{t+1}. The chain
rule, with δu_{T+1} = 0::

    gy_t = dY_t − δu_{t+1} ⊙ l ⊙ s_t                      ∂L/∂y_t (2nd term: reset path)
    gs_t = gy_t ⊙ h'(s_t + b) + δu_{t+1} ⊙ l ⊙ (1 − y_t)  ∂L/∂s_t
    δu_t = gs_t ⊙ g'(u_t)

    ∂L/∂W = Σ_t x_tᵀ δu_t    ∂L/∂b = Σ_t gy_t ⊙ h'(s_t + b)    ∂L/∂x_t = δu_t Wᵀ

``minisnu/units/snu_reference.py`` holds exactly these lines (``snu_step`` and
``snu_step_backward``); read it beside this chapter.
"""

# %%
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")  # write files; no window needed
import matplotlib.pyplot as plt
import numpy as np

import minisnu as ms
from minisnu import viz
from minisnu.training.gradcheck import check_layer
from minisnu.units import snu_reference

# Figures go to tutorials/output/ (untracked); `--out figures` regenerates the committed ones.
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
np.set_printoptions(precision=4, suppress=True)


# %%
# Forward, one step at a time
# ---------------------------
#
# A layer of 2 SNUs with 3 inputs, 6 time steps, one example. The reference
# step function gives each step's (s_t, y_t); the layer's compiled engine
# must give the same.

# %%
def small_layer(rng):
    """2 SNUs, 3 inputs, float64; positive weights so that the units fire in 6 steps."""
    layer = ms.SNU(3, 2, decay=0.8, dtype=np.float64)
    layer.params["W"][:] = rng.uniform(0.2, 0.9, (3, 2))
    return layer


def forward_by_hand(layer, x):
    """Run snu_reference.snu_step over t = 1..T; return the lists of s_t and y_t."""
    p = layer.params
    s, y = [np.zeros((x.shape[1], layer.n_out))], [np.zeros((x.shape[1], layer.n_out))]  # s_0, y_0
    for t in range(len(x)):
        s_t, y_t = snu_reference.snu_step(x[t], s[-1], y[-1], p["W"], p["b"], layer.decay)
        s.append(s_t)
        y.append(y_t)
    return s, y          # index t holds step t; index 0 is the initial state


# %%
# Backward, one step at a time
# ----------------------------
#
# The loss asks each unit to fire a target number of spikes:
# L = ½ Σ_i (Σ_t y_{t,i} − target_i)², so dY_t = count − target at every step.
# Backpropagation through time runs the steps in reverse, each step taking
# δu_{t+1} from the step after it and handing δu_t to the step before.
# ``snu_step_backward`` adds the step's share into the gradients of W and b
# and returns δu_t and ∂L/∂x_t. Watch δu_t: while a unit is silent, δu_t
# includes δu_{t+1} carried back through the decay, l ⊙ (1 − y_t); where it
# fired the reset gate (1 − y_t) = 0 cuts that path, and only the terms
# through the pseudo-derivative h' remain. The signs follow the loss: unit 0
# fired too often (its gradient pushes W down), unit 1 too rarely.

# %%
def backward_by_hand(layer, x, s, y, dY):
    """snu_step_backward for t = T..1; prints δu_t; returns the gradients of W and b."""
    p = layer.params
    grads = {"W": np.zeros_like(p["W"]), "b": np.zeros_like(p["b"])}
    du_next = np.zeros_like(s[0])                                      # δu_{T+1} = 0
    print(" t   y_t        δu_t")
    for t in range(len(x), 0, -1):
        du_next, _ = snu_reference.snu_step_backward(
            dY[t - 1], du_next, x[t - 1], s[t - 1], y[t - 1], s[t], y[t],
            p["W"], p["b"], layer.decay, grads)                         # tanh surrogate (paper)
        print(f"{t:2d}   {y[t][0]}   {du_next[0]}")
    return grads


def walk_through(rng):
    layer = small_layer(rng)
    x = (rng.random((6, 1, 3)) < 0.6).astype(np.float64)              # input spikes (T, B, n_in)
    s, y = forward_by_hand(layer, x)
    assert np.array_equal(np.stack(y[1:]), layer.forward(x))           # the engine agrees
    print("input spikes x_t:\n", x[:, 0])
    print("membrane s_t:\n", np.stack(s[1:])[:, 0])
    print("output y_t:\n", np.stack(y[1:])[:, 0])

    target = np.array([1.0, 5.0])                                      # unit 0: fewer, unit 1: more
    counts = np.stack(y[1:]).sum(axis=0)                               # (B, n_out)
    print(f"spike counts {counts[0]}, targets {target}, "
          f"loss L = {0.5 * np.sum((counts - target) ** 2):.2f}")
    dY = np.broadcast_to(counts - target, (len(x), *counts.shape))     # ∂L/∂y_t, every step
    grads = backward_by_hand(layer, x, s, y, dY)
    layer.zero_grad()
    layer.backward(np.ascontiguousarray(dY))                           # the engine's BPTT
    for name in grads:
        assert np.allclose(grads[name], layer.grads[name])
        print(f"∂L/∂{name} by hand:\n{grads[name]}\n   the layer's backward agrees")


# %%
# How far back does a gradient reach?
# -----------------------------------
#
# One unit under a constant current 0.3 fires every 5th step. Let the loss
# look only at the last step's output (dY_T = 1, every other dY_t = 0) and
# follow δu_t backwards (the y axis is logarithmic).
#
# With the reset gate detached (``detach_reset=True``: the reset path of gy_t
# dropped), δu shrinks by exactly l = 0.8 per step and stops dead at the
# previous spike: the reset emptied the membrane, so nothing before it
# reaches s_T. With the reset path (the paper's choice), backward also asks
# how a change of s_t would change the *reset* at step t: raising s_t brings
# the unit closer to firing, and through the pseudo-derivative that means
# losing its potential. That term mostly cancels the decay path (δu drops to
# 0.1 in the first step), but it also crosses every spike, so the gradient
# reaches far back, fading by about a factor 10 every two to three steps. The
# sSNU, whose reset is never complete, behaves much the same, smoothly.

# %%
def gradient_in_time(soft, detach_reset, T):
    """δu_t of one unit under a constant current 0.3 when the loss is y_T; also its s and y."""
    layer = ms.SNU(1, 1, soft=soft, detach_reset=detach_reset, decay=0.8, dtype=np.float64)
    layer.params["W"][:] = 1.0
    x = np.full((T, 1, 1), 0.3)
    y = layer.forward(x)
    s_all = [np.zeros((1, 1))] + list(layer.membrane)
    y_all = [np.zeros((1, 1))] + list(y)
    grads = {"W": np.zeros((1, 1)), "b": np.zeros(1)}
    du = np.zeros((1, 1))
    trace = np.zeros(T)
    for t in range(T, 0, -1):
        dY = np.full((1, 1), 1.0 if t == T else 0.0)
        du, _ = snu_reference.snu_step_backward(
            dY, du, x[t - 1], s_all[t - 1], y_all[t - 1], s_all[t], y_all[t],
            layer.params["W"], layer.params["b"], layer.decay, grads, soft=soft,
            detach_reset=detach_reset)
        trace[t - 1] = du[0, 0]
    return trace, layer.membrane[:, 0, 0], y[:, 0, 0]


@viz.style()
def plot_gradient_in_time(path, T=30):
    fig, (ax_s, ax_g) = plt.subplots(2, 1, figsize=(7.5, 5.4), sharex=True,
                                     gridspec_kw={"height_ratios": [1.4, 2]})
    _, s, y = gradient_in_time(False, False, T)
    viz.membrane_trace(s, y, threshold=1.0, ax=ax_s, xlabel="",
                       title="the SNU in the forward pass (current 0.3, $l = 0.8$)")
    ax_s.set_ylim(0, 1.5)
    viz.legend(ax_s, loc="upper left", ncol=3, fontsize=8)
    steps = np.arange(1, T + 1)
    cases = [(False, True, "SNU, detach_reset: stops at the last spike", viz.VERMILLION, "s"),
             (False, False, "SNU, with the reset path (paper)", viz.BLUE, "o"),
             (True, False, "sSNU", viz.GREEN, "^")]
    for soft, detach, label, color, marker in cases:
        du, _, _ = gradient_in_time(soft, detach, T)
        size = np.where(np.abs(du) > 0, np.abs(du), np.nan)            # a zero has no logarithm
        ax_g.plot(steps, size, marker=marker, color=color, label=label, markersize=4)
    ax_g.set_yscale("log")
    ax_g.set_ylim(1e-9, 3)
    ax_g.set(xlabel="time step $t$", ylabel="$|\\delta u_t| = |\\partial L / \\partial u_t|$",
             title="the gradient of $L = y_T$ flowing back in time")
    ax_g.legend(loc="lower right")
    viz.save(fig, path)


# %%
# The pseudo-derivative
# ---------------------
#
# The spiking SNU's step has derivative 0 everywhere except at the threshold,
# where it is infinite (a Dirac δ): used as is, h' = 0 would stop every
# gradient. The backward pass therefore puts a smooth bump h'(v), v = s + b,
# in its place: the derivative of a soft step P(v) that looks like the real
# step near the threshold. The paper uses tanh: h'(v) = 1 − tanh²(v).
# ``minisnu.units.surrogate`` has five choices; with their default widths each bump
# peaks at 1 at the threshold, so they differ in how far from the threshold a
# unit still receives gradient (straight-through: everywhere, equally).

# %%
@viz.style()
def plot_surrogates(path):
    fig, (ax_p, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8))
    viz.surrogates("primitive", ax=ax_p)
    viz.surrogates("derivative", ax=ax_d)
    ax_d.annotate("true derivative of the step:\n0, and a Dirac δ at $v = 0$", (0, 1.08),
                  xytext=(1.2, 1.0), fontsize=8.5, arrowprops={"arrowstyle": "->", "color": "gray"})
    viz.save(fig, path)


# %%
# Proof: finite differences
# -------------------------
#
# A gradient derived by hand is only as good as its check. For a smooth
# function the central difference (L(θ + ε) − L(θ − ε)) / 2ε approximates
# ∂L/∂θ to about ε² ; in float64 with ε = 1e−6 a correct gradient agrees to
# about 1e−8 relative, and a wrong one is off by order 1.
# ``minisnu.training.gradcheck.check_layer`` perturbs every entry of every parameter
# and of the input, one at a time, with L = Σ y ⊙ dy for a random dy.
#
# The sSNU is smooth, so it can be checked directly: the feed-forward layer,
# the recurrent one and one with a trainable decay. (The spiking SNU cannot:
# a small nudge does not change a step's output at all. Its backward is
# proven in the tests against a smooth twin instead.)
#
# Then a deliberately wrong gradient: ``detach_reset=True`` makes backward
# forget the reset path, the term −δu_{t+1} ⊙ l ⊙ s_t of gy_t, while the
# forward pass still resets. That is a legitimate modelling choice (snnTorch
# makes it by default), but it is no longer the gradient of the forward pass,
# and the check says so at once.

# %%
def gradient_checks(rng, quick):
    x = rng.normal(0, 1, (5 if quick else 8, 2, 4))
    layers = {
        "sSNU": {"soft": True},
        "sSNU, recurrent": {"soft": True, "recurrent": True},
        "sSNU, trainable decay": {"soft": True, "train_decay": True},
        "sSNU, reset path forgotten (wrong)": {"soft": True, "detach_reset": True},
    }
    worst = {}
    for name, options in layers.items():
        layer = ms.SNU(4, 3, dtype=np.float64, rng=rng, **options)
        report = check_layer(layer, x, rng=rng)
        verdict = "PASS" if report.passed(1e-6) else "FAIL"
        print(f"\n{name}: {verdict} (tolerance 1e-6)\n{report}")
        worst[name] = report.errors
    return worst


@viz.style()
def plot_gradcheck(worst, path):
    names = list(worst)
    fig, axes = plt.subplots(1, len(names), figsize=(11, 2.6), sharex=True)
    for ax, name in zip(axes, names):
        wrong = "wrong" in name
        viz.bars(worst[name], ax=ax, log=True, fmt="{:.0e}", color=viz.VERMILLION if wrong else viz.BLUE,
                 title=name.replace(" (wrong)", "").replace(", reset", ",\nreset"),
                 xlabel="worst relative error")
        ax.axvline(1e-6, color="black", linestyle="--", linewidth=1)
        ax.set_xlim(1e-12, 1e2)
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(numticks=4))
    fig.suptitle("gradient check against central finite differences (float64); "
                 "dashed: tolerance $10^{-6}$")
    viz.save(fig, path)


# %%
def main(argv=None):
    parser = argparse.ArgumentParser(description="BPTT of the SNU by hand, and its proof.")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=OUTPUT, help="folder for the PNG figures (default tutorials/output)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    walk_through(rng)
    plot_gradient_in_time(os.path.join(args.out, "03_gradient_in_time.png"))
    plot_surrogates(os.path.join(args.out, "03_surrogates.png"))
    worst = gradient_checks(rng, args.quick)
    plot_gradcheck(worst, os.path.join(args.out, "03_gradcheck.png"))
    print(f"figures written to {os.path.abspath(args.out)} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

# %%
# The page above ran the quick mode, whose only difference is a shorter input
# in the gradient checks (5 steps instead of 8): the errors differ a little,
# the verdicts not.
#
# Exercises
# ---------
#
# 1. **Meet one target.** In ``walk_through``, set
#    ``target = np.array([3.0, 5.0])``, so that unit 0 is asked for the 3
#    spikes it already fires (seed 0). Its dY_t is then 0 at every step, and
#    so are, exactly, its δu_t, the first column of ∂L/∂W and the first entry
#    of ∂L/∂b, while unit 1's numbers do not change (L drops from 4.00 to
#    2.00). The two units share their inputs but no state (this layer has no
#    recurrent weights H): a unit's gradient comes only from what the loss
#    says about its own output.
# 2. **A stronger current.** In ``gradient_in_time``, drive the unit with
#    ``x = np.full((T, 1, 1), 0.6)``: it now fires every 2nd step (the
#    figure's title still says 0.3). With ``detach_reset`` the gradient stops
#    sooner, after two steps, at the previous spike (step 28). With the reset
#    path it now reaches all the way back: δu_1 is 8e−8 in size, against
#    6e−14 with the current 0.3 (nothing here is random). At a silent step
#    the two paths together pass on δu_{t+1} ⊙ l ⊙ (1 − s_t h'(s_t + b)),
#    which is smallest when s_t sits just below θ, where s_t ≈ 1 and h' ≈ 1;
#    under 0.6 the potential waits at 0.6 between spikes, far from θ, so less
#    of the decay path is cancelled.
# 3. **Check the spiking SNU.** In ``gradient_checks``, add
#    ``"SNU (spiking)": {},`` to ``layers``. It fails, with a worst relative
#    error of exactly 1.000 for W, b and x (seed 0): a nudge of ε = 1e−6
#    moves no potential across the threshold, so every finite difference is
#    0, while backward returns the gradient through the pseudo-derivative;
#    the relative error :math:`|a - n| / (|a| + |n|)` with n = 0 is 1. The
#    pseudo-derivative is not the derivative of the forward pass, by design,
#    which is why the tests check the SNU's backward against a smooth twin.
