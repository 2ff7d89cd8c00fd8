"""``minisnu correlations``: the all-memristive network finds hidden correlations among its inputs.

The experiment of Pantazi, Woźniak, Tuma and Eleftheriou (Nanotechnology 27,
355205, 2016): phase-change neurons with PCM synapses that learn by STDP
(:mod:`minisnu.memristive`) read M parallel spike streams, some of which are
secretly correlated (:func:`minisnu.data.correlated.correlated_spikes`). Nobody tells the
network which; after learning, the synapses of the correlated inputs should be
strong and the others weak. Detection quality is the area under the ROC curve
(AUC) of "the final weight separates the inputs of a group from the others":
1 is perfect, 0.5 chance.

The settings (``--setting``), each over several seeds, with PCM and ideal devices
(``--devices``) on the same input and seed:

- ``single``: one neuron, M inputs, one group of ``--group-size`` inputs at each
  correlation of ``--c`` (0.5 down to where detection fails). Reported: the AUC
  per c, and the lowest c at which the mean AUC stays ≥ 0.9.
- ``groups``: K groups (``--group-sizes``, ``--group-c``), N = K neurons, level-tuned
  (each neuron integrates only the input activity of its band, the bands placed by
  :func:`minisnu.memristive.network.level_bands`) against winner-take-all lateral
  inhibition on the same input. Each group is assigned the neuron that holds it
  best (the assignment of distinct neurons with the largest total AUC); reported:
  each group's AUC on its neuron, whether every group reaches 0.95, and the
  neurons' pulses (SET and RESET on the neuron cells: their operations).

Seeds: seed s draws the input from ``[s, 0]`` and the network (initial weights,
every device draw) from ``[s, 1]``, so the PCM and the ideal network of a seed see
the same input.

Writes in ``--out``: ``metrics.json`` (every number, the options, the wall time),
``weights.npz`` (``final_weights`` (N, M) µS and ``groups`` (M,), −1 for
independent inputs, of the headline run: level-tuned, PCM, the first seed; or
the single neuron at the first c), and ``weights-RUN.npz`` for every run. The
figure ``correlations.png`` goes to ``--figures``.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.io import save_npz_atomic
from ..core.options import Option
from ..data.correlated import correlated_spikes
from ..memristive import MemristiveNetwork, level_bands
from ..training.run_folder import write_json

NAME = "correlations"
SUMMARY = "the all-memristive network (PCM neurons, PCM synapses with STDP) finds correlated inputs"
SETTINGS = ("single", "groups")
DEVICES = ("pcm", "ideal")
INHIBITIONS = ("level", "wta")
DETECTED = 0.9          # the mean AUC at which a correlation counts as found (setting single)
HELD = 0.95             # the AUC at which a group counts as held by its neuron (setting groups)

OPTIONS = (
    Option("setting", str, list(SETTINGS), "the settings to run", choices=SETTINGS, many=True,
           distinct=True),
    Option("seeds", int, [0, 1, 2], "one input and one network per seed", many=True, distinct=True,
           low=0, quick=[0], metavar="S"),
    Option("devices", str, list(DEVICES), "PCM devices, ideal devices, or both on the same input",
           choices=DEVICES, many=True, distinct=True),
    Option("inputs", int, 1000, "M, the input streams", low=2),
    Option("steps", int, 50_000, "T, the time steps of each run", low=1, quick=8_000),
    Option("rate", float, 0.01, "r, the firing probability of every input per step", low=0, high=1,
           open_low=True, open_high=True),
    Option("group_size", int, 100, "inputs of the correlated group (setting single)", low=1),
    Option("c", float, [0.5, 0.3, 0.2, 0.1, 0.05, 0.02], "correlations of the group (setting single)",
           low=0, high=1, many=True, distinct=True, quick=[0.5]),
    Option("group_sizes", int, [50, 100, 200], "the size of each group (setting groups: K groups, "
           "K neurons)", low=1, many=True, metavar="SIZE"),
    Option("group_c", float, [0.5], "the correlation of each group, or one for all (setting groups)",
           low=0, high=1, many=True, metavar="C"),
    Option("out", str, "runs/correlations", "run folder: metrics.json and the weights", metavar="DIR"),
    Option("figures", str, "figures", "folder for correlations.png", metavar="DIR"),
    Option("quick", bool, False, "8,000 steps, one seed, c = 0.5: seconds"),
)


# --- the measure --------------------------------------------------------------------------------


def roc_auc(scores, positive) -> float:
    r"""The area under the ROC curve of ``scores`` for telling ``positive`` from the rest.

    AUC = P(a positive scores above a negative), ties counting one half: the
    Mann-Whitney U statistic over n₊·n₋,

    .. math::

        \text{AUC} = \frac{\text{Σ ranks of the positives} − n_+ (n_+ + 1)/2}{n_+ · n_-}

    with the scores ranked 1..n, tied scores given their average rank.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    positive = np.asarray(positive, dtype=bool).ravel()
    if scores.shape != positive.shape:
        raise InputError(f"scores and positive differ in size: {scores.size} and {positive.size}")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise InputError("the AUC needs positives and negatives, got only one kind")
    order = np.argsort(scores, kind="stable")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)      # average rank of each tie block
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def assign_groups(weights: np.ndarray, group: np.ndarray) -> tuple[list[int], list[float]]:
    """The neuron that holds each group: distinct neurons, the largest total AUC.

    AUC[n, k] tells group k's inputs from all others by the weights of neuron n.
    With K ≤ N groups, every assignment of K distinct neurons is tried (K is small).

    Parameters
    ----------
    weights : array (N, M), µS
    group : array (M,)
        The group of each input, −1 for none.

    Returns
    -------
    neurons : list of int
        The neuron of each group.
    aucs : list of float
        Its AUC.
    """
    K = int(group.max()) + 1
    auc = np.array([[roc_auc(w, group == k) for k in range(K)] for w in weights])
    best = max(itertools.permutations(range(len(weights)), K),
               key=lambda neurons: sum(auc[n, k] for k, n in enumerate(neurons)))
    return list(best), [float(auc[n, k]) for k, n in enumerate(best)]


# --- the runs -----------------------------------------------------------------------------------


def run_single(options: dict, c: float, seed: int, devices: str) -> tuple:
    """One neuron, one group at correlation ``c``: (result, final weights, groups)."""
    M, T, rate = options["inputs"], options["steps"], options["rate"]
    groups = [(options["group_size"], c)]
    x, group = correlated_spikes(T, M, rate, groups, rng=np.random.default_rng([seed, 0]))
    net = MemristiveNetwork(M, 1, devices=devices, rng=np.random.default_rng([seed, 1]))
    record = net.run(x)
    weights = record.final_weights
    correlated = group == 0
    result = {"c": c, "seed": seed, "devices": devices,
              "auc": roc_auc(weights[0], correlated),
              "mean_weight_correlated": float(weights[0, correlated].mean()),
              "mean_weight_independent": float(weights[0, ~correlated].mean()),
              "spikes": len(record.spike_times[0]), "neuron_pulses": record.neuron_pulses,
              "synapse_set_pulses": int(record.synapse_set_pulses.sum()),
              "synapse_depressions": int(record.synapse_depressions.sum())}
    return result, weights, group


def group_specs(options: dict) -> list[tuple[int, float]]:
    """The (size, c) of each group of the setting groups: ``--group-c`` one value for all, or one each."""
    sizes, cs = options["group_sizes"], options["group_c"]
    if len(cs) == 1:
        cs = cs * len(sizes)
    if len(cs) != len(sizes):
        raise InputError(f"--group-c gives {len(cs)} correlations for {len(sizes)} groups (--group-sizes): "
                         "give one for all, or one each")
    return list(zip(sizes, cs))


def run_groups(options: dict, seed: int, devices: str, inhibition: str) -> tuple:
    """K groups, K neurons, level-tuned or winner-take-all: (result, final weights, groups)."""
    M, T, rate = options["inputs"], options["steps"], options["rate"]
    groups = group_specs(options)
    x, group = correlated_spikes(T, M, rate, groups, rng=np.random.default_rng([seed, 0]))
    K = len(groups)
    levels = level_bands(M, rate, groups) if inhibition == "level" else None
    net = MemristiveNetwork(M, K, inhibition=inhibition, levels=levels, devices=devices,
                            rng=np.random.default_rng([seed, 1]))
    record = net.run(x)
    neurons, aucs = assign_groups(record.final_weights, group)
    result = {"seed": seed, "devices": devices, "inhibition": inhibition, "neuron_of_group": neurons,
              "auc": aucs, "held": bool(min(aucs) >= HELD),
              "spikes": [len(t) for t in record.spike_times], "neuron_pulses": record.neuron_pulses,
              "neuron_set_pulses": record.neuron_set_pulses.tolist(),
              "neuron_resets": record.neuron_resets.tolist(),
              "synapse_set_pulses": int(record.synapse_set_pulses.sum()),
              "synapse_depressions": int(record.synapse_depressions.sum())}
    return result, record.final_weights, group


# --- the summary --------------------------------------------------------------------------------


def mean_std(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std())}


def summarize_single(results: list, options: dict) -> dict:
    """Per device: the AUC per c (mean ± std over seeds) and the lowest c still detected."""
    summary = {}
    for devices in options["devices"]:
        per_c = {}
        for c in options["c"]:
            aucs = [r["auc"] for r in results if r["devices"] == devices and r["c"] == c]
            per_c[str(c)] = mean_std(aucs)
        detected = [c for c in options["c"] if per_c[str(c)]["mean"] >= DETECTED]
        summary[devices] = {"auc": per_c, "lowest_c_detected": min(detected) if detected else None}
    return summary


def summarize_groups(results: list, options: dict) -> dict:
    """Per device and inhibition: each group's AUC on its neuron, how often all are held, the pulses."""
    summary = {}
    for devices in options["devices"]:
        for inhibition in INHIBITIONS:
            runs = [r for r in results if r["devices"] == devices and r["inhibition"] == inhibition]
            summary[f"{devices}-{inhibition}"] = {
                "auc": [mean_std([r["auc"][k] for r in runs]) for k in range(len(group_specs(options)))],
                "min_auc": mean_std([min(r["auc"]) for r in runs]),
                "all_held": sum(r["held"] for r in runs), "seeds": len(runs),
                "neuron_pulses": mean_std([r["neuron_pulses"] for r in runs])}
    return summary


def table(metrics: dict) -> str:
    lines = []
    if "single" in metrics:
        for devices, s in metrics["single"]["summary"].items():
            aucs = "  ".join(f"c={c}: {v['mean']:.3f}±{v['std']:.3f}" for c, v in s["auc"].items())
            lines.append(f"single, {devices:5}  AUC  {aucs}   lowest c detected: {s['lowest_c_detected']}")
    if "groups" in metrics:
        for name, s in metrics["groups"]["summary"].items():
            aucs = ", ".join(f"{v['mean']:.3f}±{v['std']:.3f}" for v in s["auc"])
            lines.append(f"groups, {name:11}  AUC per group {aucs}; all held in {s['all_held']}/{s['seeds']} "
                         f"seeds; neuron pulses {s['neuron_pulses']['mean']:,.0f}")
    return "\n".join(lines)


def headline_run(weights: dict) -> str:
    """The run whose weights go to weights.npz: level-tuned with PCM devices if it ran, else the
    first run (the first c, seed and devices)."""
    level_pcm = [name for name in weights if name.startswith("groups-pcm-level")]
    return level_pcm[0] if level_pcm else next(iter(weights))


# --- the command --------------------------------------------------------------------------------


def figure_name(options: dict) -> str:
    return "correlations.png"


def run(options: dict) -> dict:
    """Run every setting for every seed and device; write and return the metrics, and the weights."""
    start = time.perf_counter()
    if "groups" in options["setting"]:
        groups = group_specs(options)
        if len(groups) > 4:
            raise InputError("--group-sizes: at most 4 groups (one neuron each)")
        if sum(size for size, _ in groups) > options["inputs"]:
            raise InputError(f"--group-sizes {' '.join(map(str, options['group_sizes']))} hold more "
                             f"inputs than --inputs {options['inputs']}")
    if options["group_size"] > options["inputs"]:
        raise InputError(f"--group-size {options['group_size']} exceeds --inputs {options['inputs']}")
    out = Path(options["out"])
    metrics = {"command": NAME, "options": options}
    weights = {}
    if "single" in options["setting"]:
        results = []
        for c, seed, devices in itertools.product(options["c"], options["seeds"], options["devices"]):
            result, w, group = run_single(options, c, seed, devices)
            results.append(result)
            weights[f"single-{devices}-c{c}-seed{seed}"] = (w, group)
            print(f"single  c={c} seed {seed} {devices:5}: AUC {result['auc']:.3f}", flush=True)
        metrics["single"] = {"runs": results, "summary": summarize_single(results, options)}
    if "groups" in options["setting"]:
        results = []
        for seed, devices, inhibition in itertools.product(options["seeds"], options["devices"], INHIBITIONS):
            result, w, group = run_groups(options, seed, devices, inhibition)
            results.append(result)
            weights[f"groups-{devices}-{inhibition}-seed{seed}"] = (w, group)
            print(f"groups  seed {seed} {devices:5} {inhibition:5}: AUC per group "
                  f"{', '.join(f'{a:.3f}' for a in result['auc'])}, neuron pulses "
                  f"{result['neuron_pulses']:,}", flush=True)
        metrics["groups"] = {"runs": results, "summary": summarize_groups(results, options)}
    print(table(metrics))
    metrics["wall_time_s"] = time.perf_counter() - start
    write_json(out / "metrics.json", metrics)
    for name, (w, group) in weights.items():
        save_npz_atomic(out / f"weights-{name}.npz", {"final_weights": w, "groups": group})
    headline = headline_run(weights)
    w, group = weights[headline]
    save_npz_atomic(out / "weights.npz", {"final_weights": w, "groups": group})
    print(f"wrote {out / 'metrics.json'} and the weights ({headline} in weights.npz) "
          f"in {metrics['wall_time_s']:.1f} s")
    return metrics
