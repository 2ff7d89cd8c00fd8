"""
01 · One spiking neuron
=======================

**What this teaches:** what a Spiking Neural Unit computes at each time step
(integrate, fire, reset), what its decay l and threshold θ = −b do, and how
its firing rate grows with a constant input current above the rheobase
θ(1 − l). On the way you drive an ``ms.SNU`` layer by hand (its
``params["W"]`` and ``params["b"]``), read its ``.membrane`` and ``.output``
after ``forward``, and draw them with ``minisnu.viz``.

A Spiking Neural Unit (SNU) is the leaky integrate-and-fire neuron written as
a recurrent unit, so that it can sit in a deep network and be trained with
backpropagation through time. For every time step t = 1..T, starting from
s₀ = 0 and y₀ = 0::

    a_t = x_t W                                    input current
    s_t = g(a_t + l ⊙ s_{t−1} ⊙ (1 − y_{t−1}))     membrane potential
    y_t = h(s_t + b)                               output: 1 = spike

Read the second line from the inside out. The neuron keeps a fraction l of
its previous potential (the *decay*, a leak: l = 1 − Δt/τ for a membrane time
constant τ), but only if it did not fire at the last step: the *reset gate*
(1 − y_{t−1}) is 0 right after a spike and empties the membrane. Then it adds
the new input current a_t, and g = ReLU keeps the potential non-negative.
The output h is the Heaviside step: y_t = 1 when s_t exceeds the threshold
θ = −b (b is the bias, initialised at −1, so θ = 1).

This chapter follows one neuron. We give it a current directly (one input,
W = 1, so a_t = x_t), watch it integrate, fire and reset, then change its
decay and threshold and see what each does. Run it with
``python tutorials/01_one_neuron.py`` (a few seconds; ``--quick`` for tests,
``--out DIR`` for the figures, ``--seed N`` for the random input of the last
figure).
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


# %%
# A neuron you can drive by hand
# ------------------------------
#
# ``ms.SNU(1, n)`` is a layer of n units with one input. Setting W = 1 makes
# the input current equal to the input, and ``bias_init = −θ`` sets the
# threshold. ``decay`` and the bias may differ per unit, which the last
# figures use to run several neurons side by side. Layers take time-major
# input (T, B, n_in): T steps, a batch of B examples. After ``forward`` the
# layer keeps every step's potential and output in ``.membrane`` and
# ``.output`` (T, B, units), for plots like the ones below.
#
# The figures are drawn with ``minisnu.viz``; each plotting function here is
# decorated with ``@viz.style()`` so that what it adds itself (titles,
# legends) matches the look of the helpers.

# %%
def neurons(decay=0.8, threshold=1.0, n=1):
    """n SNUs with one input and W = 1: each unit's input current a_t is the input x_t itself."""
    layer = ms.SNU(1, n, decay=decay, dtype=np.float64)
    layer.params["W"][:] = 1.0
    layer.params["b"][:] = -np.asarray(threshold, float)     # b = −θ, one per unit
    return layer


def run(layer, current):
    """Feed the current (T,) or (T, B); return the layer's membrane s and output y, (T, B, units)."""
    x = np.asarray(current, np.float64).reshape(len(current), -1, 1)
    layer.forward(x)
    return layer.membrane, layer.output


# %%
# Integrate, fire, reset
# ----------------------
#
# The input is a staircase of constant currents. Without a threshold the
# potential under a constant current x would settle where the leak balances
# the input, s = l·s + x, that is s* = x / (1 − l): with l = 0.8 the current
# 0.15 settles at 0.75, below the threshold, so the neuron never fires however
# long the current lasts. The current 0.3 would settle at 1.5: the potential
# crosses θ = 1 on the way (at the 5th step: 0.3·(1 + 0.8 + … + 0.8⁴) = 1.008),
# the neuron fires, the reset empties it and the climb starts again, so it
# fires every 5 steps. Twice the current fires every 2 steps. When the input
# stops, the potential leaks away by a factor l per step.

# %%
def staircase():
    """Input current: silence, then 0.15, 0.3, 0.6, then silence (80 steps)."""
    x = np.zeros(80)
    x[10:30], x[30:50], x[50:64] = 0.15, 0.3, 0.6
    return x


def print_first_steps(x, s, y, decay, threshold, first=35, last=40):
    """Recompute s_t and y_t with the equations, next to the layer's values, for a few steps."""
    print(" t    x_t    s_t by hand   s_t layer   y_t")
    s_prev = y_prev = 0.0
    for t in range(last):
        s_hand = max(x[t] + decay * s_prev * (1 - y_prev), 0.0)   # s_t = g(a_t + l s (1 − y))
        y_hand = float(s_hand - threshold > 0)                     # y_t = h(s_t + b)
        assert np.isclose(s_hand, s[t]) and y_hand == y[t]
        if t >= first:
            print(f"{t + 1:2d}   {x[t]:.2f}   {s_hand:10.4f}   {s[t]:9.4f}   {y[t]:3.0f}")
        s_prev, y_prev = s_hand, y_hand


@viz.style()
def plot_one_neuron(x, s, y, decay, threshold, path):
    fig, (ax_in, ax_s, ax_y) = plt.subplots(3, 1, figsize=(7.5, 5.6), sharex=True,
                                            gridspec_kw={"height_ratios": [1.3, 3, 0.6]})
    steps = np.arange(1, len(x) + 1)
    ax_in.plot(steps, x, drawstyle="steps-mid", color=viz.GREEN)
    ax_in.set(ylabel="current $a_t$", ylim=(0, 0.7), title="one SNU: integrate, fire, reset")
    viz.membrane_trace(s, y, threshold=threshold, ax=ax_s, xlabel="")
    s_star = 0.15 / (1 - decay)                              # where the 0.15 current settles
    ax_s.hlines(s_star, 11, 30, color="gray", linestyle=":", linewidth=1.2)
    ax_s.annotate(f"settles at $x/(1-l) = {s_star:.2f} < \\theta$:\nnever fires", (20, s_star),
                  xytext=(0, 10), textcoords="offset points", ha="center", fontsize=8.5)
    ax_s.set_ylim(0, 1.45)
    viz.legend(ax_s, loc="upper left", ncol=3)
    viz.raster(y[:, None], ax=ax_y, ylabel="$y_t$")
    ax_y.set_yticks([])
    viz.save(fig, path)


# %%
# What the decay and the threshold do
# -----------------------------------
#
# The same constant current 0.3 into neurons that differ in one parameter.
# Left, the decay: with l = 0 the neuron forgets everything at each step and
# its potential is just the current, always below threshold; a larger l
# integrates over a longer past, so the neuron reaches the threshold sooner
# and fires more often (l = 0.5 settles at 0.6 and never fires). Right, the
# threshold: a higher θ takes more steps to reach, and one above the settling
# point x/(1 − l) = 1.5 is never reached. Triangles mark the spikes; the
# dashed lines are the thresholds.

# %%
@viz.style()
def plot_decay_threshold(path, T=25, current=0.3):
    x = np.full(T, current)
    fig, (ax_l, ax_th) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for i, decay in enumerate([0.0, 0.5, 0.8, 0.95]):
        s, y = run(neurons(decay=decay), x)
        viz.membrane_trace(s[:, 0, 0], y[:, 0, 0], threshold=1.0 if i == 0 else None, ax=ax_l,
                           color=viz.PALETTE[i], spike_color=viz.PALETTE[i], threshold_color="black",
                           label=f"$l = {decay}$", spike_label=None, ylabel="membrane potential $s_t$")
    ax_l.set_title(f"decay $l$ (threshold $\\theta = 1$, current {current})")
    ax_l.legend(loc="upper left", ncol=3)
    for i, threshold in enumerate([0.5, 1.0, 1.4, 2.0]):
        s, y = run(neurons(threshold=threshold), x)
        color = viz.PALETTE[i]
        viz.membrane_trace(s[:, 0, 0], y[:, 0, 0], ax=ax_th, color=color, spike_color=color,
                           label=f"$\\theta = {threshold}$", spike_label=None, ylabel="")
        ax_th.axhline(threshold, color=color, linestyle="--", linewidth=1.1)   # its own threshold
    ax_th.set_title(f"threshold $\\theta$ (decay $l = 0.8$, current {current})")
    ax_th.set_ylim(0, 2.3)
    ax_th.legend(loc="upper left", ncol=4)
    viz.save(fig, path)


# %%
# Firing rate against input current
# ---------------------------------
#
# Counting spikes over many steps turns the neuron into a rate unit. Each
# curve is one neuron (one unit of a layer with a per-unit decay or threshold)
# driven by 121 constant currents at once (the batch). Below the *rheobase*
# x = θ(1 − l), where the settling point meets the threshold, the rate is
# zero; above it the rate climbs in steps (fire every n-th step: 1/n) to one
# spike per step. A leakier neuron (smaller l) needs a larger current to fire
# at all.

# %%
@viz.style()
def plot_rate_vs_input(path, T):
    currents = np.linspace(0, 1.2, 121)
    x = np.tile(currents, (T, 1))                          # (T, B): one constant current per example
    decays, thresholds = [0.0, 0.5, 0.8, 0.95], [0.5, 1.0, 1.5]
    fig, (ax_l, ax_th) = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    _, y = run(neurons(decay=decays, n=len(decays)), x)
    for i, decay in enumerate(decays):
        ax_l.plot(currents, y[:, :, i].mean(axis=0), label=f"$l = {decay}$, rheobase {1 - decay:.2f}")
    ax_l.set(title="rate against current, $\\theta = 1$", xlabel="constant input current $x$",
             ylabel="spikes per step")
    ax_l.legend(loc="upper left")
    _, y = run(neurons(threshold=thresholds, n=len(thresholds)), x)
    for threshold, rate in zip(thresholds, y.mean(axis=0).T):
        ax_th.plot(currents, rate, label=f"$\\theta = {threshold}$, rheobase {0.2 * threshold:.2f}")
    ax_th.set(title="rate against current, $l = 0.8$", xlabel="constant input current $x$")
    ax_th.legend(loc="upper left")
    viz.save(fig, path)


# %%
# Driven by spikes
# ----------------
#
# In a network the input is not a smooth current but spikes from other
# neurons, weighted by W: a_t = x_t W is a sum of the weights of the inputs
# that spiked at step t. Here 20 inputs fire at random (probability 0.1 per
# step), with weights drawn around zero: excitatory inputs push the potential
# up, inhibitory ones pull it down (ReLU stops it at 0).

# %%
@viz.style()
def plot_spike_input(path, rng, T=60, n_in=20):
    layer = ms.SNU(n_in, 1, decay=0.8, dtype=np.float64, rng=rng)
    layer.params["W"][:] = rng.normal(0.1, 0.3, (n_in, 1))
    x = (rng.random((T, 1, n_in)) < 0.1).astype(np.float64)
    layer.forward(x)
    a = x[:, 0] @ layer.params["W"][:, 0]
    fig, (ax_x, ax_a, ax_s) = plt.subplots(3, 1, figsize=(7.5, 6), sharex=True,
                                           gridspec_kw={"height_ratios": [2, 1.2, 2.2]})
    viz.raster(x[:, 0], ax=ax_x, xlabel="", ylabel="input", title="one SNU driven by 20 spiking inputs")
    steps = np.arange(1, T + 1)
    ax_a.bar(steps, a, color=np.where(a >= 0, viz.GREEN, viz.PURPLE), width=0.8)
    ax_a.axhline(0, color="black", linewidth=0.6)
    ax_a.set(ylabel="$a_t = x_t W$")
    viz.membrane_trace(layer.membrane[:, 0, 0], layer.output[:, 0, 0], threshold=1.0, ax=ax_s)
    viz.legend(ax_s, loc="upper left", ncol=3)
    ax_s.set_ylim(0, max(1.5, layer.membrane.max() * 1.25))
    viz.save(fig, path)


# %%
def main(argv=None):
    parser = argparse.ArgumentParser(description="One SNU: integrate, fire, reset; decay and threshold.")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for tests")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random spike input")
    parser.add_argument("--out", default=OUTPUT, help="folder for the PNG figures (default tutorials/output)")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    decay, threshold = 0.8, 1.0
    x = staircase()
    s, y = run(neurons(decay, threshold), x)
    s, y = s[:, 0, 0], y[:, 0, 0]
    print("The layer against the equations, steps 36-40 (current 0.3: fires every 5th step):")
    print_first_steps(x, s, y, decay, threshold)
    print(f"spikes at steps {np.flatnonzero(y) + 1}")

    plot_one_neuron(x, s, y, decay, threshold, os.path.join(args.out, "01_one_neuron.png"))
    plot_decay_threshold(os.path.join(args.out, "01_decay_threshold.png"))
    plot_rate_vs_input(os.path.join(args.out, "01_rate_vs_input.png"), T=50 if args.quick else 400)
    plot_spike_input(os.path.join(args.out, "01_spike_input.png"), np.random.default_rng(args.seed))
    print(f"figures written to {os.path.abspath(args.out)} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

# %%
# The page above ran the quick mode, which counts the spikes of the rate
# figure over 50 steps instead of 400: the curves are the same but for
# rounding (a spike every third step shows as 0.32, not 0.33). The other
# figures are the same in both modes.
#
# Exercises
# ---------
#
# 1. **Feed a current just above the rheobase.** In ``staircase()``, make the
#    first current 0.21 instead of 0.15
#    (``x[10:30], x[30:50], x[50:64] = 0.21, 0.3, 0.6``). It now settles at
#    0.21 / (1 − 0.8) = 1.05, above θ, so the neuron fires, but only once in
#    its 20 steps, at step 24: the potential 1.05 (1 − 0.8ⁿ) needs n = 14 steps
#    to pass 1. (The dotted line and its note are drawn for 0.15 and stay
#    where they are.) Then try 0.2, exactly the rheobase: the potential creeps
#    up to θ = 1 without ever exceeding it, so no spike, yet the charge it
#    carries over brings the first spike of the 0.3 current forward from step
#    32 to step 31.
# 2. **Take the leak away.** In ``plot_rate_vs_input``, add a neuron with
#    l = 1 (``decays, thresholds = [0.0, 0.5, 0.8, 0.95, 1.0], [0.5, 1.0, 1.5]``).
#    Its rheobase θ(1 − l) is 0: it forgets nothing, so any positive current
#    fires it in the end, and its rate grows almost in proportion to the
#    current. Measured over the full run's 400 steps: 0.09 spikes per step at
#    x = 0.1 (a spike every 11th step) and 0.165 at x = 0.2 (every 6th step).
#    Why a little below x/θ? The reset throws away whatever charge was above
#    θ, and a potential that reaches exactly θ does not fire (y_t = 1 needs
#    s_t > θ): five steps of 0.2 make exactly 1.
# 3. **Drive it harder with spikes.** In ``plot_spike_input``, raise the
#    inputs' firing probability from 0.1 to 0.2
#    (``x = (rng.random((T, 1, n_in)) < 0.2).astype(np.float64)``). With the
#    defaults the mean input current is 20 inputs × 0.1 × a mean weight of
#    0.1 = 0.2, exactly the rheobase θ(1 − l), so the neuron fires only when
#    the random input happens to bunch up: 8 spikes in 60 steps with seed 0
#    (5 to 13 over ``--seed`` 0 to 4). At 0.2 the mean current is twice the
#    rheobase: 19 spikes with seed 0 (10 to 19 over seeds 0 to 4). Then keep
#    0.1 and set the weights' mean to 0 (``rng.normal(0.0, 0.3, (n_in, 1))``):
#    inhibition now balances excitation and the neuron fires once (seed 0).
