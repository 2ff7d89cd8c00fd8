"""
08 · A crossbar: the matrix product in memory
=============================================

**What this teaches:** how a crossbar of PCM devices computes a matrix
product where the weights are stored (Ohm's and Kirchhoff's laws), how a
signed weight becomes a differential pair of conductances, and what each
analog effect (converters, noise, drift) costs, switched on one at a time
with ``pcm.Crossbar`` (``program``, ``matvec``, ``conductances``) and
``pcm.CrossbarEffects``.

Put PCM devices at the crossings of a grid of wires, one device per weight.
Apply input voltages x_i to the rows: device (i, j) passes the current
x_i·G_ij (Ohm's law), and the currents meeting on column j add up
(Kirchhoff's law): y_j = Σ_i x_i G_ij. The whole product x·G happens in one
step, where the weights are stored, with no weight ever moved. That is the
point of in-memory computing, and the reason the paper runs its SNUs on PCM.

Two facts shape the design. A conductance is never negative, so a signed
weight is the difference of two devices, a *differential pair*::

    W = (G⁺ − G⁻) / scale,        scale = g_max / max|W|

(a positive weight on G⁺ with G⁻ at 0, a negative one the other way round).
And the product is analog, so it is approximate: the inputs pass through a
digital-to-analog converter (DAC) with few bits, the devices carry
programming noise, read noise and drift, the column currents pick up noise,
and an analog-to-digital converter (ADC) quantizes and clips the outputs.
``minisnu.pcm.Crossbar`` simulates each of these with aihwkit's defaults,
and lets you switch each one on or off. This chapter measures what each
costs.
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
from minisnu import pcm, viz

# Figures go to tutorials/output/ (untracked); `--out figures` regenerates the committed ones.
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
N_IN, N_OUT = 32, 16


# %%
# A weight matrix and its conductances
# ------------------------------------
#
# The weights of an SNU layer with 32 inputs and 16 units (Glorot-uniform, as
# a freshly built layer has them), stored in a crossbar of 2 × 32 × 16 PCM
# devices with aihwkit's one-shot programming (g_max = 25 µS). G⁺ holds the
# positive weights (red in W) and G⁻ the negative ones (blue); where one is
# in use the other sits near 0. The last panel is the programming error: the weights read back
# right after programming minus the intended ones, about 1 µS of noise per
# device, largest on the largest weights.

# %%
def weights(seed):
    """The Glorot-uniform W (N_IN, N_OUT) of a fresh SNU layer, float64."""
    return ms.SNU(N_IN, N_OUT, dtype=np.float64, rng=seed).params["W"]


@viz.style()
def plot_conductances(W, xb, path):
    g_plus, g_minus = xb.conductances()                     # (devices per side, n_in, n_out)
    fig, axes = plt.subplots(1, 4, figsize=(13.5, 4))
    fig.get_layout_engine().set(wspace=0.12)           # room between a colour bar and the next panel
    viz.heatmap(W, ax=axes[0], symmetric=True, colorbar="weight $W$", title="weights $W$",
                xlabel="output (column)", ylabel="input (row)")
    for ax, g, name in [(axes[1], g_plus[0], "$G^+$"), (axes[2], g_minus[0], "$G^-$")]:
        viz.heatmap(g, ax=ax, cmap="magma", vmin=0, vmax=xb.noise_model.g_max, colorbar="conductance (µS)",
                    title=f"{name} as programmed", xlabel="output (column)", ylabel="")
    error = xb.weights(0.0) - W
    viz.heatmap(error, ax=axes[3], symmetric=True, colorbar="weight error",
                title="read back $-$ $W$: programming noise", xlabel="output (column)", ylabel="")
    viz.save(fig, path)


# %%
# The product, in memory and exact
# --------------------------------
#
# 256 random input vectors x ∈ [−1, 1]³² through the crossbar with every effect
# on (aihwkit's defaults), against the exact x·W. Right after programming the
# points scatter around the diagonal (left). A day later every device has drifted
# down by about a third, so the outputs shrink: the cloud tilts below the
# diagonal (right). *Global drift compensation* fixes the tilt: at programming time
# the crossbar measures its mean output \|y| on a fixed probe input, and later
# it measures the same again and scales every output by the ratio. The noise
# that remains is what the network must tolerate.

# %%
@viz.style()
def plot_matvec(W, x, seed, path):
    exact = x @ W
    fig, (ax_0, ax_day) = plt.subplots(1, 2, figsize=(10, 5), sharex=True, sharey=True)
    cases = [(ax_0, "all effects", 0.0, True, viz.BLUE),
             (ax_day, "no compensation", viz.DAY, False, viz.VERMILLION),
             (ax_day, "compensated", viz.DAY, True, viz.GREEN)]
    for ax, label, t, compensate, color in cases:
        xb = pcm.Crossbar(N_IN, N_OUT, rng=seed, effects=pcm.CrossbarEffects(drift_compensation=compensate))
        xb.program(W)
        viz.parity(exact, xb.matvec(x, t), ax=ax, color=color, label=label,
                   xlabel="exact product $xW$", ylabel="in-memory product" if ax is ax_0 else "")
    ax_0.set_title("right after programming")
    ax_day.set_title("one day later")
    viz.save(fig, path)


# %%
# What each effect costs
# ----------------------
#
# Now one effect at a time, all others off, measured as the relative error
# ‖y − xW‖ / ‖xW‖ over the 256 inputs (averaged over several programmings of
# the crossbar). The converters are cheap at aihwkit's resolutions (a 7-bit
# DAC rounds each input, scaled into [−1, 1], to a step of 2/126; at 4 bits
# the error grows tenfold). Noise of the devices, at programming and at every
# read, costs a few percent each. Drift is the big one, 22 % after an hour and 34 % after a
# day, and almost all of it goes away with the compensation, because drift
# scales all devices by nearly the same factor. (With spike inputs, x ∈ {0, 1},
# the DAC is exact: 0 and 1 are both on its grid.)

# %%
def relative_error(W, x, seed, t=0.0, **effects):
    """‖y − xW‖ / ‖xW‖ of a crossbar with only ``effects`` on, t seconds after programming.

    ``pcm.CrossbarEffects.only(...)`` switches every effect off but those given: the
    crossbar is then exact up to rounding (but still maps W to conductances).
    """
    xb = pcm.Crossbar(N_IN, N_OUT, rng=seed, effects=pcm.CrossbarEffects.only(**effects))
    xb.program(W)
    return viz.relative_error(x @ W, xb.matvec(x, t))


EFFECTS = {                                   # name: (t, the effects switched on)
    "DAC, 7 bits": (0.0, {"dac_bits": 7}),
    "DAC, 4 bits": (0.0, {"dac_bits": 4}),
    "ADC, 9 bits, bound 12": (0.0, {"adc_bits": 9, "out_bound": 12.0}),
    "output noise, σ = 0.06": (0.0, {"out_noise": 0.06}),
    "programming noise": (0.0, {"prog_noise": True}),
    "read noise, t = 0": (0.0, {"read_noise": True}),
    "drift, 1 h": (viz.HOUR, {"drift": True}),
    "drift, 1 day": (viz.DAY, {"drift": True}),
    "drift, 1 day, compensated": (viz.DAY, {"drift": True, "drift_compensation": True}),
    "all effects, t = 0": (0.0, None),                  # None: the Crossbar's defaults, all on
    "all effects, 1 day, compensated": (viz.DAY, None),
}


def full_crossbar_error(W, x, seed, t):
    """The relative error with every effect on (the Crossbar's defaults, aihwkit's values)."""
    xb = pcm.Crossbar(N_IN, N_OUT, rng=seed)
    xb.program(W)
    return viz.relative_error(x @ W, xb.matvec(x, t))


def effect_errors(W, x, seeds):
    """{effect: relative error averaged over programmings with the given seeds}."""
    errors = {}
    for name, (t, effects) in EFFECTS.items():
        runs = [full_crossbar_error(W, x, seed, t) if effects is None
                else relative_error(W, x, seed, t, **effects) for seed in seeds]
        errors[name] = float(np.mean(runs))
    return errors


@viz.style()
def plot_effects(errors, path):
    percent = {name: 100 * e for name, e in errors.items()}
    ax = viz.bars(percent, fmt="{:.1f} %", highlight=[k for k in percent if k.startswith("all")],
                  title="crossbar error: one effect at a time, then all together",
                  xlabel="relative error $\\|y - xW\\| / \\|xW\\|$ (%)")
    ax.figure.set_size_inches(7, 4.6)
    viz.save(ax.figure, path)


# %%
# Over a year
# -----------
#
# The error of the full crossbar (every effect on) against the time since
# programming, on a log axis, with and without drift compensation. Without
# it the error follows the drift power law up to about 50 % after a year;
# with it the error still grows slowly: devices drift at different rates (ν
# differs from device to device and with the conductance), a spread one
# global factor cannot undo, and the 1/f read noise grows with time too.
# Periodic re-programming, or training that makes the network tolerant of
# it, handles the rest.

# %%
@viz.style()
def plot_error_vs_time(W, x, seeds, path):
    times = np.logspace(0, np.log10(viz.YEAR), 25)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for compensate, color, label in [(False, viz.VERMILLION, "no drift compensation"),
                                     (True, viz.GREEN, "global drift compensation")]:
        errors = np.zeros((len(times), len(seeds)))
        for j, seed in enumerate(seeds):
            effects = pcm.CrossbarEffects(drift_compensation=compensate)
            xb = pcm.Crossbar(N_IN, N_OUT, rng=seed, effects=effects)
            xb.program(W)
            errors[:, j] = [viz.relative_error(x @ W, xb.matvec(x, t)) for t in times]
        ax.plot(times, 100 * errors.mean(axis=1), marker="o", markersize=3, color=color, label=label)
    viz.log_time_axis(ax)
    ax.set(title="crossbar error over time (all effects on)", xlabel="time since programming",
           ylabel="relative error (%)", ylim=(0, None))
    ax.legend(loc="upper left")
    viz.save(fig, path)


# %%
def main(argv=None):
    parser = argparse.ArgumentParser(description="A PCM crossbar: conductances, product, error budget.")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=OUTPUT, help="folder for the PNG figures (default tutorials/output)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    W = weights(args.seed)
    x = rng.uniform(-1, 1, (64 if args.quick else 256, N_IN))
    seeds = [args.seed + k for k in range(1 if args.quick else 5)]

    ideal = pcm.Crossbar(N_IN, N_OUT, ideal=True)
    ideal.program(W)
    assert np.array_equal(ideal.matvec(x), x @ W)
    print("ideal crossbar: matvec(x) == x @ W exactly")
    spikes = (rng.random((64, N_IN)) < 0.2).astype(np.float64)
    print(f"spike input through a 7-bit DAC alone: relative error "
          f"{relative_error(W, spikes, args.seed, dac_bits=7):.1e}")

    xb = pcm.Crossbar(N_IN, N_OUT, rng=args.seed)
    xb.program(W)
    plot_conductances(W, xb, os.path.join(args.out, "08_conductances.png"))
    plot_matvec(W, x, args.seed, os.path.join(args.out, "08_matvec.png"))
    errors = effect_errors(W, x, seeds)
    for name, error in errors.items():
        print(f"  {name:<33s} {100 * error:6.2f} %")
    plot_effects(errors, os.path.join(args.out, "08_effects.png"))
    plot_error_vs_time(W, x, seeds, os.path.join(args.out, "08_error_vs_time.png"))
    print(f"figures written to {os.path.abspath(args.out)} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

# %%
# The page above ran the quick mode: 64 input vectors instead of 256, and one
# programming of the crossbar instead of an average over five. Its errors
# differ from the full run's by a few tenths of a percent (seed 0, all effects
# at t = 0: 8.29 % against 8.54 %), not more.
#
# Exercises
# ---------
#
# 1. **One weight much larger than the rest.** In ``main``, add
#    ``W[0, 0] = 5 * np.abs(W).max()`` after ``W = weights(args.seed)``. Every
#    other weight now gets a fifth of the conductance range (scale = g_max /
#    max|W|), while the output noise, the ADC step and the programming noise
#    of a device stay as large as they were: with all effects on, the error at
#    t = 0 goes from 8.5 % to 25.1 % (full run, seed 0), output noise alone
#    from 3.1 % to 14.2 %. This is why weights are often clipped before they
#    are programmed.
# 2. **Four devices per side.** In ``full_crossbar_error``, build the crossbar
#    with ``pcm.Crossbar(N_IN, N_OUT, rng=seed, devices_per_side=4)``. Summing
#    more devices should average their noise, yet the error with all effects
#    on grows, from 8.5 % to 10.4 % at t = 0 and from 12.2 % to 13.9 % after
#    a compensated day (full run, seed 0). The largest weight still maps to
#    25 µS per side, now split over four devices, and the programming noise of
#    a device shrinks little with its target: it is at least 0.26 µS, even for
#    a device programmed to 0 (chapter 07). Four devices add four noise floors
#    and no signal.
# 3. **Spikes for inputs.** In ``main``, replace
#    ``x = rng.uniform(-1, 1, (64 if args.quick else 256, N_IN))`` by
#    ``x = (rng.random((64 if args.quick else 256, N_IN)) < 0.2).astype(np.float64)``:
#    spikes, as an SNU layer receives them (20 % of the rows active). Both DAC rows
#    drop to 0.00 %: 0 and 1 are on its grid. The output noise costs more
#    (3.1 % → 4.1 %, full run, seed 0): with a fifth of the rows driven, the
#    column currents are smaller, and the noise added to them is not.
