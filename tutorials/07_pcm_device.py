"""
07 · A phase-change memory device
=================================

**What this teaches:** how a phase-change memory (PCM) device stores a value
as a conductance, and what happens to it: SET pulses that raise it in random,
saturating steps, an abrupt RESET, a power-law drift and noisy reads. The
reader simulates devices pulse by pulse with ``pcm.PCMArray`` (``set_pulse``,
``reset``, ``read``) and programmed once with ``pcm.PCMNoiseModel``
(``program``, ``read``, ``drift_factor``).

The paper's in-memory experiment stores every weight in phase-change memory
(PCM): a tiny volume of chalcogenide glass between two electrodes. Amorphous,
the glass conducts little; crystalline, it conducts well. Electrical pulses
move it between the two, and the *conductance* G (in microsiemens, µS) is the
stored value, read by applying a small voltage and measuring the current
(Ohm's law: I = G·V).

- A **SET** pulse heats the glass just enough to crystallize a little more of
  it: G rises by a random step that shrinks as G grows.
- A **RESET** pulse melts it and quenches it into the amorphous state: G
  drops at once to about 0.1 µS. It is all or nothing.
- Left alone, the amorphous part relaxes and G slowly **drifts** down, as a
  power law of time.
- Every read is **noisy**.

``minisnu.pcm.PCMArray`` simulates a population of devices with the model of
Nandakumar et al. (J. Appl. Phys. 2018), pulse by pulse: the physics a
training loop sees. ``minisnu.pcm.PCMNoiseModel`` is the statistical model of
IBM's aihwkit, fitted on a million devices, for networks programmed once and
then used: the physics of deployment. This chapter looks at both. (Equations:
``minisnu/pcm/device.py`` and ``minisnu/pcm/noise_model.py``; the constants are
``pcm.NandakumarDevice()`` and ``pcm.PCMNoiseModel()``, with the published values.)
"""

# %%
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")  # write files; no window needed
import matplotlib.pyplot as plt
import numpy as np

from minisnu import pcm, viz

# Figures go to tutorials/output/ (untracked); `--out figures` regenerates the committed ones.
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
#: Nandakumar et al. 2018: mean conductance (µS) after n SET pulses from the RESET state.
PUBLISHED_MEAN = {1: 1.9, 2: 3.3, 3: 4.3, 5: 5.8, 10: 7.8, 20: 9.4}
TIMES = np.logspace(0, np.log10(viz.YEAR), 60)          # 1 s .. 1 year
DEVICE = pcm.NandakumarDevice()                         # the published constants (m1, c1, ...)


# %%
# SET pulses: gradual, random, saturating
# ---------------------------------------
#
# Every device starts RESET (amorphous, G ≈ 0.1 µS) and gets one SET pulse at
# a time. Per pulse the increment is drawn from::
#
#     ΔG ~ N(m1·G + c1 + A1·P,  m2·G + c2 + A2·P),   P ← P·e^(−1/a) at each pulse
#
# The mean m1·G + c1 falls as G grows (m1 < 0) and reaches zero near
# −c1/m1 ≈ 10.5 µS: the device saturates. P is a short memory of recent
# pulses (1 right after a RESET) that makes the first increments larger. The
# spread is as large as the step itself: a single device is a noisy,
# unpredictable thing, and only the population mean follows a smooth curve,
# within about 0.5 µS of the published trajectory (diamonds).
#
# Right: five devices through 20 SET pulses, a RESET, and 10 more: the
# RESET is abrupt and complete, and the climb starts over.

# %%
def set_trajectory(n_devices, n_pulses, rng):
    """G of n_devices after 0, 1, ..., n_pulses SET pulses from RESET: (n_pulses + 1, n_devices)."""
    devices = pcm.PCMArray(n_devices, rng=rng)
    g = [devices.g.copy()]
    for _ in range(n_pulses):
        devices.set_pulse(np.ones(n_devices, bool))         # one pulse on every device
        g.append(devices.g.copy())
    return np.array(g), devices


def set_reset_set(n_devices, rng, first=20, second=10):
    """G through `first` SET pulses, one RESET, and `second` SET pulses: (first + second + 2, n)."""
    g, devices = set_trajectory(n_devices, first, rng)
    devices.reset()
    history = list(g) + [devices.g.copy()]
    for _ in range(second):
        devices.set_pulse(np.ones(n_devices, bool))
        history.append(devices.g.copy())
    return np.array(history)


@viz.style()
def plot_set_pulses(g, sequence, path):
    fig, (ax_mean, ax_seq) = plt.subplots(1, 2, figsize=(11, 3.9))
    viz.conductance_evolution(g, ax=ax_mean, traces=3, reference=PUBLISHED_MEAN,
                              reference_label="published mean (Nandakumar 2018)",
                              title="SET pulses from the RESET state")
    saturation = -DEVICE.c1 / DEVICE.m1
    ax_mean.axhline(saturation, color="gray", linestyle=":", linewidth=1)
    ax_mean.annotate(f"mean increment 0 at $-c_1/m_1 = {saturation:.1f}$ µS", (0, saturation),
                     xytext=(0, 4), textcoords="offset points", fontsize=8.5, color="0.35")
    ax_mean.set_ylim(0, 13)
    steps = np.arange(len(sequence))
    reset_at = len(g)                                          # the operation after the last SET
    viz.conductance_evolution(sequence, steps, ax=ax_seq, traces="all", mean=False,
                              title="five devices: 20 SET, RESET, 10 SET",
                              xlabel="programming operation")
    ax_seq.get_legend().remove()
    ax_seq.axvline(reset_at, color=viz.VERMILLION, linestyle="--", linewidth=1.2)
    ax_seq.annotate("RESET", (reset_at, 11.5), xytext=(4, 0), textcoords="offset points",
                    color=viz.VERMILLION, fontsize=9)
    ax_seq.set_ylim(0, 13)
    viz.save(fig, path)


# %%
# Drift: the stored value creeps down
# -----------------------------------
#
# After programming, the amorphous glass relaxes and the conductance falls as
# a power law of the time since programming::
#
#     Nandakumar:  G(t) = G_prog · (t / t0)^(−ν),   t0 = 38.6 s   (flat before t0)
#     aihwkit:     g(t) = g_prog · ((t + t0) / t0)^(−ν),   t0 = 20 s
#
# with a drift exponent ν ≈ 0.05 drawn once per device. On a logarithmic time
# axis a power law is a straight line: the loss per decade of time is the same
# from 1 minute to 10 minutes as from a month to ten months, and after a year
# a device holds only about half its programmed conductance (ν = 0.05: 0.77
# after 1 h, 0.66 after 1 day, 0.49 after 1 year). In the aihwkit model ν also
# depends on the conductance: low conductances drift faster (larger ν, and
# more spread between devices). The bands are the spread of single noisy
# reads over the devices.

# %%
def nandakumar_drift(levels, n_devices, rng):
    """{G_prog: reads (times, devices)}: devices set to G_prog, read (drift + noise) at TIMES."""
    out = {}
    for level in levels:
        devices = pcm.PCMArray(n_devices, rng=rng)
        devices.g = level                                      # start the devices at a chosen state
        out[level] = np.array([devices.read(t) for t in TIMES])
    return out


def aihwkit_drift(model, targets, n_devices, rng):
    """{target: reads (times, devices)}: devices programmed once to the target, read at TIMES."""
    out = {}
    for target in targets:
        g_prog, nu = model.program(np.full(n_devices, target), rng)
        out[target] = np.array([model.read(g_prog, nu, t, rng) for t in TIMES])
    return out


@viz.style()
def plot_drift(nandakumar, aihwkit, path):
    fig, (ax_n, ax_a) = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for level, reads in nandakumar.items():
        viz.drift(TIMES, reads, ax=ax_n, label=f"$G_{{prog}}$ = {level:g} µS")
    ax_n.set_title("Nandakumar model (PCMArray)")
    for target, reads in aihwkit.items():
        viz.drift(TIMES, reads, ax=ax_a, label=f"target {target:g} µS", ylabel="")
    ax_a.set_title("aihwkit statistical model (PCMNoiseModel)")
    for ax in (ax_n, ax_a):
        viz.legend(ax, loc="upper right", fontsize=8)
        ax.set_ylim(0, 26)
    viz.save(fig, path)


# %%
# Read noise, and the programming noise of deployment
# ---------------------------------------------------
#
# Left: each read of a Nandakumar device adds Gaussian noise of standard
# deviation m3·G + c3 (3 % of G plus 0.13 µS): reading the same devices many
# times gives the histograms, and the dashed curves are that normal density.
#
# Right: in the aihwkit model a device never lands exactly on its target in
# the first place (programming noise, σ up to 1.2 µS), and one hour later it
# has drifted down (the dotted lines mark the targets) and reads with 1/f
# noise on top. This is what a network programmed once meets at inference.

# %%
def nandakumar_reads(levels, n_reads, rng):
    """{G: n_reads noisy reads of devices programmed to G} (no drift: read at t = 0)."""
    out = {}
    for level in levels:
        devices = pcm.PCMArray(n_reads, rng=rng)
        devices.g = level
        out[level] = devices.read(0.0)
    return out


@viz.style()
def plot_noise(reads, model, n_devices, rng, path):
    fig, (ax_n, ax_a) = plt.subplots(1, 2, figsize=(11, 3.6))
    for i, (level, values) in enumerate(reads.items()):
        std = DEVICE.m3 * level + DEVICE.c3
        viz.histogram(values, ax=ax_n, color=viz.PALETTE[i], normal=(level, std),
                      label=f"$G$ = {level:g} µS, σ = {std:.2f} µS")
    ax_n.set_title("Nandakumar: read noise $N(0,\\ m_3 G + c_3)$")
    for i, target in enumerate([4.0, 12.0, 20.0]):
        g_prog, nu = model.program(np.full(n_devices, target), rng)
        hour = model.read(g_prog, nu, viz.HOUR, rng)
        viz.histogram(hour, ax=ax_a, color=viz.PALETTE[i], bins=80,
                      label=f"target {target:g} µS: mean {hour.mean():.1f}, s.d. {hour.std():.1f} µS")
        ax_a.axvline(target, ymax=0.7, color=viz.PALETTE[i], linestyle=":", linewidth=1.5)
    ax_a.set(title="aihwkit: 1 h after programming (dotted: target)", ylabel="")
    ax_a.set_ylim(0, ax_a.get_ylim()[1] * 1.4)                 # room for the legend
    ax_a.legend(loc="upper right")
    viz.save(fig, path)


# %%
# The statistical model's ingredients
# -----------------------------------
#
# The three functions aihwkit fitted, against the normalized conductance
# ĝ = g / g_max (g_max = 25 µS): the programming noise grows with the target;
# the drift exponent ν is largest for small conductances (its mean and
# spread, clipped to fitted ranges); the 1/f read noise Q is large
# *relative* to a small conductance. Small weights are the fragile ones.

# %%
@viz.style()
def plot_noise_model(model, path):
    g = np.linspace(0.25, model.g_max, 200)
    fig, (ax_p, ax_nu, ax_q) = plt.subplots(1, 3, figsize=(12, 3.3))
    ax_p.plot(g, model.programming_std(g), color=viz.BLUE)
    ax_p.set(title="programming noise", xlabel="target $g_T$ (µS)", ylabel="$\\sigma_{prog}$ (µS)")
    mean, std = model.drift_mean(g), model.drift_std(g)
    ax_nu.plot(g, mean, color=viz.VERMILLION, label="mean $\\mu_\\nu$")
    ax_nu.fill_between(g, np.maximum(mean - std, 0), mean + std, color=viz.VERMILLION, alpha=0.2,
                       linewidth=0, label="$\\pm\\,\\sigma_\\nu$")
    ax_nu.set(title="drift exponent $\\nu$", xlabel="target $g_T$ (µS)", ylabel="$\\nu$")
    ax_nu.legend(loc="upper right")
    for t, name in [(viz.HOUR, "1 h"), (viz.YEAR, "1 year")]:
        ax_q.plot(g, 100 * model.read_noise_std(g, t), label=f"after {name}")
    ax_q.set(title="1/f read noise", xlabel="programmed $g_{prog}$ (µS)",
             ylabel="σ relative to $g(t)$ (%)")
    ax_q.legend(loc="upper right")
    viz.save(fig, path)


# %%
def main(argv=None):
    parser = argparse.ArgumentParser(description="A PCM device: SET, RESET, drift and noise.")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=OUTPUT, help="folder for the PNG figures (default tutorials/output)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    n = 500 if args.quick else 10_000
    model = pcm.PCMNoiseModel(g_max=25.0)

    g, _ = set_trajectory(n, 20, rng)
    print(f"mean G after n SET pulses ({n} devices) against the published trajectory:")
    for pulses, published in PUBLISHED_MEAN.items():
        print(f"  {pulses:2d} pulses: {g[pulses].mean():5.2f} µS (s.d. {g[pulses].std():.2f})"
              f"  published {published}")
    print("drift factor for ν = 0.05 (aihwkit model): " + ", ".join(
        f"{name} {model.drift_factor(0.05, t):.2f}" for name, t in
        [("1 h", viz.HOUR), ("1 day", viz.DAY), ("1 year", viz.YEAR)]))

    plot_set_pulses(g, set_reset_set(5, rng), os.path.join(args.out, "07_set_pulses.png"))
    m = n // 5
    plot_drift(nandakumar_drift([2.0, 5.0, 10.0], m, rng),
               aihwkit_drift(model, [4.0, 12.0, 20.0], m, rng),
               os.path.join(args.out, "07_drift.png"))
    plot_noise(nandakumar_reads([1.0, 4.0, 8.0], n, rng), model, n, rng,
               os.path.join(args.out, "07_read_noise.png"))
    plot_noise_model(model, os.path.join(args.out, "07_noise_model.png"))
    print(f"figures written to {os.path.abspath(args.out)} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

# %%
# Exercises
# ---------
#
# 1. **Switch off the pulse memory.** In ``set_trajectory``, build the devices
#    with ``pcm.PCMArray(n_devices, device=pcm.NandakumarDevice(A1=0.0, A2=0.0), rng=rng)``
#    and run again. The first steps shrink, and so does their spread: after one
#    pulse the mean is 0.97 µS (s.d. 0.27) instead of 2.06 µS (s.d. 1.53), and
#    after 20 pulses 8.49 instead of 8.92 µS (full run, seed 0). The pulse
#    memory P is what makes the first pulses after a RESET large and
#    unpredictable.
# 2. **Pulse on until the devices saturate.** In ``main``, change
#    ``g, _ = set_trajectory(n, 20, rng)`` to 100 pulses. The mean levels off
#    at 9.3 µS (full run, seed 0: 9.25 after 30 pulses, 9.30 after 100), not at
#    −c1/m1 ≈ 10.5 µS, with 11 % of the devices at g_max = 12 µS. Why? The
#    steps there are random with a spread of about 1.2 µS, and a step that
#    would take G past g_max is clipped: the ceiling cuts the top off the
#    distribution and pulls its mean down. Check it with
#    ``device=pcm.NandakumarDevice(g_max=20.0)`` in ``set_trajectory``: the
#    mean after 100 pulses is then 10.4 µS.
# 3. **Average the reads.** In ``nandakumar_reads``, replace
#    ``out[level] = devices.read(0.0)`` by
#    ``out[level] = np.mean([devices.read(0.0) for _ in range(16)], axis=0)``.
#    The histograms narrow fourfold (at G = 4 µS, s.d. 0.251 µS for one read,
#    0.063 µS for the mean of 16; full run, seed 0) and no longer follow the
#    dashed curves, which are drawn for a single read. Each read draws its
#    noise afresh, so the mean of n reads has √n times less of it; the drift of
#    a device, or its programming error, is the same at every read, and no
#    averaging removes it.
