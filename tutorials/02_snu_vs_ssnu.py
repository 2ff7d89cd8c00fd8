"""
02 · The spiking SNU and the soft sSNU
======================================

**What this teaches:** what changes when the SNU's step output is replaced by
a sigmoid: a graded output in (0, 1) instead of a spike, and a proportional
reset instead of a full one, and what each does to the membrane potential,
the output and the rate against input. Both units are ``ms.SNU`` layers,
driven side by side; ``soft=True`` makes the sSNU.

The SNU of chapter 01 outputs spikes: y_t = step(s_t + b) is 0 or 1. Its
soft twin, the sSNU, keeps every equation and replaces only the step by the
logistic sigmoid σ(v) = 1 / (1 + e^(−v))::

    s_t = g(x_t W + l ⊙ s_{t−1} ⊙ (1 − y_{t−1}))
    y_t = step(s_t + b)      SNU:  y_t ∈ {0, 1}
    y_t = σ(s_t + b)         sSNU: y_t ∈ (0, 1)

Two things change. The output is a number between 0 and 1, which a reader
may take as a firing probability or a rate. And the reset gate (1 − y_{t−1})
is no longer all or nothing: the sSNU keeps the fraction 1 − y of its
potential at every step, a *proportional reset*: a little when it is far
below the threshold, most of it near the threshold, and little above it.

Why have both? The sSNU is differentiable everywhere, so backpropagation
needs no pseudo-derivative, and it is the better unit where the output must
be graded (the paper's music model predicts note probabilities with an sSNU
output layer). The SNU's binary output is what neuromorphic hardware
transmits cheaply. In minisnu the two are one class: ``ms.SNU(..., soft=True)``
is the sSNU.
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

# Figures go to tutorials/output/ (untracked); `--out figures` regenerates the committed ones.
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
DECAY, THRESHOLD = 0.8, 1.0


# %%
# Two neurons, one input
# ----------------------
#
# One unit of each kind, input weight W = 1 (so the input current is the input
# itself), decay 0.8, threshold 1 (bias −1), driven by the staircase of
# currents of chapter 01.

# %%
def neuron(soft, n=1):
    """An SNU (soft=False) or sSNU (soft=True) layer with one input, W = 1, decay 0.8, threshold 1."""
    layer = ms.SNU(1, n, soft=soft, decay=DECAY, bias_init=-THRESHOLD, dtype=np.float64)
    layer.params["W"][:] = 1.0
    return layer


def run(layer, current):
    """Feed a current (T,) or (T, B); return (membrane s, output y), each (T, B, units)."""
    layer.forward(np.asarray(current, np.float64).reshape(len(current), -1, 1))
    return layer.membrane, layer.output


def staircase():
    """Silence, then constant currents 0.15, 0.3 and 0.6, then silence: 60 steps."""
    x = np.zeros(60)
    x[5:20], x[20:35], x[35:48] = 0.15, 0.3, 0.6
    return x


# %%
# In the membrane plots the trace drops at each step from s_t to s_t (1 − y_t),
# what the reset gate passes on to the next step (before the decay). The SNU
# drops to zero after a spike and not at all otherwise. The sSNU drops a
# little at every step, more the closer it is to the threshold, and so it
# never fires a clean spike: under a constant current its potential settles
# into a steady saw-tooth where the input, the leak and the proportional reset
# balance, higher for a stronger current but never far above θ, and its
# output is a graded value that follows the current. Note the sSNU's output
# without any input: σ(0 + b) = σ(−1) = 0.27, not 0. A trained sSNU layer
# learns a bias that puts this resting output where it helps.

# %%
@viz.style()
def plot_snu_vs_ssnu(x, path):
    fig, axes = plt.subplot_mosaic([["x_snu", "x_ssnu"], ["s_snu", "s_ssnu"], ["y_snu", "y_ssnu"]],
                                   figsize=(10, 6.4), sharex=True,
                                   gridspec_kw={"height_ratios": [1, 2.6, 1.3]})
    steps = np.arange(1, len(x) + 1)
    for soft, name in [(False, "snu"), (True, "ssnu")]:
        title = "sSNU: $y_t = \\sigma(s_t + b)$, proportional reset" if soft else \
            "SNU: $y_t = \\mathrm{step}(s_t + b)$, full reset"
        axes[f"x_{name}"].plot(steps, x, drawstyle="steps-mid", color=viz.GREEN)
        axes[f"x_{name}"].set(ylabel="" if soft else "current $a_t$", ylim=(0, 0.7), title=title)
        s, y = (v[:, 0, 0] for v in run(neuron(soft), x))
        viz.membrane_trace(s, y, threshold=THRESHOLD, ax=axes[f"s_{name}"], xlabel="",
                           ylabel="membrane $s_t$" if not soft else "")
        axes[f"s_{name}"].set_ylim(0, 1.5)
        viz.legend(axes[f"s_{name}"], loc="upper left", fontsize=8)
        ax_y = axes[f"y_{name}"]
        ax_y.bar(steps, y, width=0.7, color=viz.BLUE if soft else viz.SPIKE)
        ax_y.set(ylim=(0, 1.05), xlabel="time step $t$", ylabel="output $y_t$" if not soft else "")
        ax_y.text(0.01, 0.93, f"$\\Sigma_t\\, y_t = {y.sum():.1f}$", transform=ax_y.transAxes,
                  va="top", fontsize=9)
    viz.save(fig, path)


# %%
# The proportional reset, in one picture
# --------------------------------------
#
# Left: the output as a function of the potential, y = h(s + b). Right: what
# the reset gate keeps, s (1 − h(s + b)), the potential the next step starts
# from (before the decay multiplies it by l). The SNU keeps everything below
# the threshold and nothing above it; the sSNU's sigmoid turns that cliff into
# a smooth hump: far below θ it keeps almost all, at θ half, and far above
# almost nothing. The hump peaks a little above θ and then falls, so a
# strongly driven sSNU cannot charge up without bound: the higher its
# potential, the more it resets.

# %%
@viz.style()
def plot_proportional_reset(path):
    s = np.linspace(0, 4, 801)
    step = (s - THRESHOLD > 0).astype(float)
    sigma = 1 / (1 + np.exp(-(s - THRESHOLD)))
    fig, (ax_h, ax_k) = plt.subplots(1, 2, figsize=(9.5, 3.4))
    ax_h.plot(s, step, color=viz.SPIKE, label="SNU: step$(s + b)$")
    ax_h.plot(s, sigma, color=viz.BLUE, label="sSNU: $\\sigma(s + b)$")
    ax_h.set(title="output $y = h(s + b)$", xlabel="membrane potential $s$", ylabel="output $y$")
    ax_k.plot(s, s * (1 - step), color=viz.SPIKE, label="SNU: $s\\,(1 - \\mathrm{step}(s + b))$")
    ax_k.plot(s, s * (1 - sigma), color=viz.BLUE, label="sSNU: $s\\,(1 - \\sigma(s + b))$")
    ax_k.plot(s, s, color="gray", linestyle=":", linewidth=1, label="no reset: $s$")
    ax_k.set(title="what the reset gate keeps", xlabel="membrane potential $s$",
             ylabel="kept potential $s\\,(1 - y)$", ylim=(0, 2.2))
    for ax in (ax_h, ax_k):
        ax.axvline(THRESHOLD, color=viz.THRESHOLD, linestyle="--", linewidth=1.1,
                   label=f"threshold $\\theta = {THRESHOLD:g}$")
    ax_h.legend(loc="lower right")
    ax_k.legend(loc="upper left")
    viz.save(fig, path)


# %%
# Rate against input
# ------------------
#
# Averaged over many steps, both units turn a constant current into an
# output rate. The SNU's spike rate is zero below the rheobase θ(1 − l) = 0.2
# and climbs in steps (every n-th step a spike). The sSNU's mean output is
# smooth: never exactly zero (σ is never 0) and rising with the current. The
# two curves are not the same function: the sSNU is not an "average SNU" but a
# unit of its own, trained as such.

# %%
@viz.style()
def plot_rate_vs_input(path, T):
    currents = np.linspace(0, 1.2, 121)
    x = np.tile(currents, (T, 1))                       # (T, B): one constant current per example
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for soft, color, label in [(False, viz.SPIKE, "SNU: spikes per step"),
                               (True, viz.BLUE, "sSNU: mean output $y_t$")]:
        _, y = run(neuron(soft), x)
        ax.plot(currents, y[:, :, 0].mean(axis=0), color=color, label=label)
    ax.axvline(THRESHOLD * (1 - DECAY), color="gray", linestyle=":", linewidth=1,
               label="rheobase $\\theta(1 - l)$")
    ax.set(title=f"output rate, decay $l = {DECAY}$, threshold $\\theta = {THRESHOLD:g}$",
           xlabel="constant input current $x$", ylabel="output per step", ylim=(0, 1.05))
    ax.legend(loc="upper left")
    viz.save(fig, path)


# %%
def main(argv=None):
    parser = argparse.ArgumentParser(description="The SNU and the sSNU on the same input.")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for tests")
    parser.add_argument("--seed", type=int, default=0,
                        help="unused: this chapter draws nothing at random")
    parser.add_argument("--out", default=OUTPUT, help="folder for the PNG figures (default tutorials/output)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    x = staircase()
    for soft in (False, True):
        s, y = (v[:, 0, 0] for v in run(neuron(soft), x))
        kept = s * (1 - y)
        name = "sSNU" if soft else "SNU "
        print(f"{name} steps 31-35: s_t {np.round(s[30:35], 3)}  y_t {np.round(y[30:35], 3)}  "
              f"kept s(1-y) {np.round(kept[30:35], 3)}")
    plot_snu_vs_ssnu(x, os.path.join(args.out, "02_snu_vs_ssnu.png"))
    plot_proportional_reset(os.path.join(args.out, "02_proportional_reset.png"))
    plot_rate_vs_input(os.path.join(args.out, "02_rate_vs_input.png"), T=50 if args.quick else 400)
    print(f"figures written to {os.path.abspath(args.out)} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

# %%
# The page above ran the quick mode, which averages the rates of the last
# figure over 50 steps instead of 400: the curves are the same but for
# rounding. The other figures are the same in both modes.
#
# Exercises
# ---------
#
# 1. **Raise the threshold.** Set ``DECAY, THRESHOLD = 0.8, 2.0``. The SNU's
#    rheobase θ(1 − l) becomes 0.4: the currents 0.15 and 0.3 no longer fire
#    it at all, and it spikes 3 times (steps 37, 42 and 47, all under 0.6)
#    instead of 10. The sSNU still answers every current: its resting output
#    drops to σ(−2) = 0.12 and its Σ_t y_t from 22.1 to 12.4, but its output
#    still rises with each step of the staircase (0.17, 0.23 and 0.33 at the
#    end of each). For the SNU a threshold is a wall; for the sSNU, only a
#    shift along the sigmoid.
# 2. **Take the memory away.** Set ``DECAY, THRESHOLD = 0.0, 1.0``. Now
#    s_t = g(x_t W): the potential is just the present current, the reset
#    gate has nothing left to reset, and the two units differ only in h. The
#    SNU never fires, since no current of the staircase exceeds θ = 1; the
#    sSNU's output is σ(x − 1) at every step, 0.30, 0.33 and 0.40 for the
#    three currents (Σ_t y_t = 19.3). Without a decay neither unit
#    integrates: the output says nothing about the past.
# 3. **Push the currents further.** In ``plot_rate_vs_input``, widen the range
#    to ``currents = np.linspace(0, 5, 501)``. The SNU fires at every step
#    from x = 1.01 on and cannot tell 1.2 from 5. The sSNU keeps grading:
#    its mean output reaches 0.9 only at x = 2.95, and 0.98 at x = 5 (full
#    run, 400 steps). The sigmoid approaches 1 but never reaches it, and the
#    proportional reset (the hump of the second figure) stops the potential
#    from running away, so a stronger current raises the output less and
#    less, but always a little.
