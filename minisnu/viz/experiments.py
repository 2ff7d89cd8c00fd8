"""The figures of the in-memory experiments, each drawn from the metrics its command writes.

- :func:`drift_figure`: ``minisnu drift``, test NLL against time since
  programming, with and without global drift compensation;
- :func:`pcm_train_figure`: ``minisnu pcm-train``, NLL per epoch of the
  network trained in PCM devices beside its software twin;
- :func:`robustness_figure`: ``minisnu robustness``, each unit's NLL increase
  under fewer weight bits, weight noise and PCM;
- :func:`correlations_figure`: ``minisnu correlations``, the detection quality
  (AUC) against the correlation, and level tuning against lateral inhibition.

Each takes the dict the command writes to its ``metrics.json`` (see
:mod:`minisnu.experiments`) and the PNG file to write, so a figure can be
redrawn from a finished run's metrics alone.
"""

from __future__ import annotations

import numpy as np

from .figure import BLUE, GREEN, ORANGE, PURPLE, VERMILLION, legend, new_figure, save, style
from .memristive import DEVICE_COLORS, detection_quality
from .pcm import log_time_axis

#: One colour per unit of ``minisnu robustness``.
UNIT_COLORS = {"snu": BLUE, "ssnu": PURPLE, "rnn": ORANGE, "lstm": VERMILLION, "gru": GREEN}


@style()
def drift_figure(metrics: dict, path) -> str:
    """Test NLL against time since programming (log axis), mean ± std over seeds; software as a line."""
    s, times = metrics["summary"], np.asarray(metrics["times_s"])
    fig, ax = new_figure((6.4, 3.8))
    ax.axhline(s["software_mean"], color="black", linestyle="--", linewidth=1.0,
               label=f"software, {s['software_mean']:.2f}")
    ax.axhspan(s["software_mean"] - s["software_std"], s["software_mean"] + s["software_std"],
               color="black", alpha=0.08, linewidth=0)
    for case, color, marker, label in (("uncompensated", VERMILLION, "s", "no compensation"),
                                       ("compensated", GREEN, "o", "global drift compensation")):
        ax.errorbar(times, s[f"{case}_mean"], yerr=s[f"{case}_std"], color=color, marker=marker,
                    capsize=3, label=f"PCM, {label}")
    log_time_axis(ax, start=min(times) / 1.5, stop=max(times) * 1.5)
    o = metrics["options"]
    ax.set(title=f"{o['model'].upper()} network in PCM: test NLL after programming "
                 f"({len(o['seeds'])} seeds)",
           xlabel="time since programming", ylabel="test NLL per time step")
    ax.legend(loc="upper left")
    return save(fig, path)


@style()
def pcm_train_figure(metrics: dict, path) -> str:
    """Validation NLL per epoch, one panel per model: software twin and in memory (mean over seeds)."""
    results, summary = metrics["runs"], metrics["summary"]
    fig, axes = new_figure((5.2 * len(results), 3.8), 1, len(results), squeeze=False)
    for ax, (model, runs) in zip(axes[0], results.items()):
        for name, color, label in (("software", BLUE, "software"),
                                   ("in_memory", VERMILLION, "52,800 PCM devices")):
            valid = np.array([r[name]["valid"] for r in runs])
            epochs = np.arange(1, valid.shape[1] + 1)
            ax.plot(epochs, valid.mean(axis=0), color=color, label=f"{label} (valid)")
            train = np.array([r[name]["train"] for r in runs]).mean(axis=0)
            ax.plot(epochs, train, color=color, linestyle="--", linewidth=1, label=f"{label} (train)")
        test = summary[model]
        ax.set(title=f"{model.upper() if model == 'snu' else 'sSNU'}: test NLL {test['test_software']:.2f}"
                     f" software, {test['test_in_memory']:.2f} in memory",
               xlabel="epoch", ylabel="NLL per time step")
        if len(epochs) > 3:  # the first epochs' values would squash the rest
            late = [np.mean([r[n]["valid"][2:] for r in runs], axis=0) for n in ("software", "in_memory")]
            ax.set_ylim(top=max(float(np.max(v)) for v in late) + 0.4)
        legend(ax)
    return save(fig, path)


@style()
def robustness_figure(metrics: dict, path) -> str:
    """Three panels, NLL increase against the imperfection; one line per unit, mean ± std over seeds.

    The y axis is symmetric-logarithmic (linear within ±0.1): the increases
    span from hundredths to tens of nats.
    """
    from ..experiments.robustness import KINDS, NAMES  # on call: importing viz loads no experiment

    fig, axes = new_figure((13, 4.2), 1, 3, sharey=True)
    levels, o = metrics["levels"], metrics["options"]
    for ax, (kind, label) in zip(axes, KINDS.items()):
        for model, d in metrics["degradation"][kind].items():
            ax.errorbar(levels[kind], d["mean"], yerr=d["std"], color=UNIT_COLORS[model], marker="o",
                        capsize=3, label=NAMES[model])
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_title(label)
    axes[0].set(xlabel="bits per weight", ylabel="test NLL − software test NLL")
    axes[0].invert_xaxis()                                      # fewer bits to the right
    axes[1].set(xlabel="noise std / max|W|")
    log_time_axis(axes[2], start=min(levels["pcm"]) / 2, stop=max(levels["pcm"]) * 2)
    axes[2].set(xlabel="time since programming")
    axes[0].legend(loc="upper left")
    fig.suptitle(f"JSB networks on imperfect weights, no retraining ({len(o['seeds'])} seeds, "
                 f"{o['epochs']} epoch{'s' if o['epochs'] > 1 else ''}; error bars: std over seeds)")
    return save(fig, path)


@style()
def correlations_figure(metrics: dict, path) -> str:
    """Left: AUC against c for one neuron (mean ± std over seeds), PCM and ideal devices, with
    the detection line at 0.9. Right: each group's AUC on its neuron, level-tuned against
    winner-take-all, with the neurons' pulses in the labels. A panel per setting that ran."""
    panels = [name for name in ("single", "groups") if name in metrics]
    if not panels:
        raise ValueError("the metrics hold neither setting (single, groups)")
    fig, axes = new_figure((6.2 * len(panels), 4.8), 1, len(panels), squeeze=False)
    axes = dict(zip(panels, axes[0]))
    o = metrics["options"]
    if "single" in axes:
        runs = metrics["single"]["runs"]
        for devices in o["devices"]:     # AUC (c, seed) of each kind of device
            auc = [[r["auc"] for r in runs if r["devices"] == devices and r["c"] == c] for c in o["c"]]
            detection_quality(o["c"], auc, axes["single"], label=f"{devices} devices",
                              color=DEVICE_COLORS[devices],
                              title=f"one neuron, {o['inputs']} inputs, {o['group_size']} correlated")
    if "groups" in axes:
        ax = axes["groups"]
        summary = metrics["groups"]["summary"]
        K = len(o["group_sizes"])
        cs = o["group_c"] * K if len(o["group_c"]) == 1 else o["group_c"]
        width = 0.8 / len(summary)
        for i, (name, s) in enumerate(summary.items()):
            devices, inhibition = name.split("-")
            mean = [v["mean"] for v in s["auc"]]
            std = [v["std"] for v in s["auc"]]
            label = (f"{'level-tuned' if inhibition == 'level' else 'winner-take-all'}, {devices}: "
                     f"{s['neuron_pulses']['mean']:,.0f} neuron pulses")
            ax.bar(np.arange(K) + (i - (len(summary) - 1) / 2) * width, mean, width, yerr=std, capsize=2,
                   color=DEVICE_COLORS[devices], alpha=1.0 if inhibition == "level" else 0.45,
                   hatch=None if inhibition == "level" else "//", label=label)
        ax.axhline(0.95, color="black", linestyle=":", linewidth=1.0)
        ticks = [f"{size} inputs\nc = {c}" for size, c in zip(o["group_sizes"], cs)]
        ax.set_xticks(np.arange(K), ticks)
        ax.set(ylabel="AUC of the group on its neuron", ylim=(0.0, 1.05),
               title=f"{K} groups, {K} neurons")
        legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize="small")
    return save(fig, path)


#: The figure of each experiment command, by its name on the command line.
FIGURES = {"drift": drift_figure, "pcm-train": pcm_train_figure, "robustness": robustness_figure,
           "correlations": correlations_figure}
