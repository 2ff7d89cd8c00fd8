"""SNU, sSNU, RNN, LSTM and GRU networks on imperfect weights, without retraining.

The paper reports that the SNU is more robust to the imperfections of
in-memory hardware than LSTM and GRU units (Fig. 4, "performance under limited
weight precision"). This command measures it on the JSB chorales. For each
unit (``--models``) and seed (``--seeds``) an 88 → 150 → 88 network is trained
in software (Adam, lr :math:`0.01 · γ^{epoch}`, γ = ``--lr-decay``), and then, with the
trained weights only perturbed, never retrained, its test NLL is measured under
three kinds of imperfection of every weight matrix
(:mod:`minisnu.experiments.deploy`; biases and decays stay digital):

- ``bits``: the weights quantized to 8, 7, ..., 2 bits (``--bits``), a
  symmetric uniform grid per matrix;
- ``noise``: W + level·max|W|·z, z ~ N(0, 1), at each level of ``--noise``;
- ``pcm``: programmed into PCM (aihwkit's statistical model) and read 1 s to
  1 year later, with global drift compensation.

What is reported is the *degradation*: a network's NLL under the imperfection
minus its own software NLL, averaged over the noise draws (``--draws``; the
same draws serve every level, so a curve scales one noise pattern) and then
over seeds (mean ± std). Random draws come from generators seeded
``[seed, stream, draw]``, with one stream per kind.

Trained networks are saved in ``OUT/networks/MODEL-seedS.npz``; a later call
with the same model, seed, epochs, learning rate, data and ``--quick`` loads
them instead of training again (``--retrain`` forces training).

Writes ``OUT/metrics.json`` (every number, the options, the wall time) and
``FIGURES/robustness.png``, and prints, from the numbers, which unit degrades
least under each kind of imperfection.

Examples::

    minisnu robustness
    minisnu robustness --models snu lstm --seeds 0 1 --epochs 20 --draws 5
    minisnu robustness --quick --out /tmp/rob --figures /tmp/figures
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..core.errors import RunError
from ..core.options import Option
from ..core.timespans import DAY, HOUR, MONTH, YEAR
from ..data import describe_jsb_source
from ..layers.sequential import Sequential
from ..pcm import PCMNoiseModel
from ..tasks import jsb
from ..tasks.common import MODELS
from ..tasks.jsb import LR
from ..training.run_folder import write_json
from . import deploy
from .drift import EPOCHS, LR_DECAY, PCM_STREAM, mean_std

NAME = "robustness"
SUMMARY = "SNU, sSNU, RNN, LSTM, GRU under fewer weight bits, weight noise and PCM (no retraining)"

BITS, QUICK_BITS = (8, 7, 6, 5, 4, 3, 2), (8, 4, 2)
NOISE, QUICK_NOISE = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2), (0.0, 0.05, 0.2)
PCM_TIMES = {"1 s": 1.0, "1 h": HOUR, "1 day": DAY, "1 month": MONTH, "1 year": YEAR}
QUICK_PCM_TIMES = ("1 s", "1 year")
DRAWS, QUICK_DRAWS = 3, 1
QUICK_MODELS, QUICK_EPOCHS, QUICK_SEEDS = ("snu", "lstm"), 1, (0, 1)
SEEDS = (0, 1, 2)
#: The second entry of the weight-noise generators' seed [seed, NOISE_STREAM, draw]
#: (PCM programming uses drift.PCM_STREAM: draw 0 is the devices of `minisnu drift`).
NOISE_STREAM = 2
KINDS = {"bits": "weight precision", "noise": "relative weight noise", "pcm": "PCM with drift compensation"}
NAMES = {"snu": "SNU", "ssnu": "sSNU", "rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


OPTIONS = (
    Option("models", str, list(MODELS), "the units to compare", choices=MODELS, many=True,
           distinct=True, quick=list(QUICK_MODELS), metavar="MODEL"),
    Option("seeds", int, list(SEEDS), "one trained network per model and seed", many=True,
           distinct=True, low=0, quick=list(QUICK_SEEDS), metavar="S"),
    Option("epochs", int, EPOCHS, "software training epochs", low=1, quick=QUICK_EPOCHS),
    Option("lr_decay", float, LR_DECAY, f"learning rate {LR}·GAMMA^epoch", low=0, open_low=True,
           metavar="GAMMA"),
    Option("bits", int, list(BITS), "weight bits to quantize to (a sign and at least one level)",
           many=True, low=2, quick=list(QUICK_BITS), metavar="B"),
    Option("noise", float, list(NOISE), "relative weight-noise levels, std/max|W|", many=True, low=0,
           quick=list(QUICK_NOISE), metavar="LEVEL"),
    Option("draws", int, DRAWS, "noise draws and PCM programmings per network", low=1,
           quick=QUICK_DRAWS),
    Option("g_max", float, PCMNoiseModel().g_max, "the largest programmable conductance of the "
           "statistical PCM model (µS)", low=0, open_low=True),
    Option("retrain", bool, False, "train again even if OUT/networks holds networks of these options"),
    Option("data", str, None, "the JSB chorales file", metavar="PATH", none="$MINISNU_DATA"),
    Option("out", str, "runs/robustness", "run folder: metrics.json and the trained networks",
           metavar="DIR"),
    Option("figures", str, "figures", "folder for robustness.png", metavar="DIR"),
    Option("quick", bool, False, "snu and lstm, a few chorales, 1 epoch, 2 seeds, few levels: seconds"),
)


def run_settings(options: dict) -> dict:
    """What the run measures, from its options: the levels sorted, the PCM times of the mode."""
    times = {label: PCM_TIMES[label] for label in QUICK_PCM_TIMES} if options["quick"] else PCM_TIMES
    return {"models": options["models"], "seeds": options["seeds"], "epochs": options["epochs"],
            "lr": LR, "lr_decay": options["lr_decay"],
            "bits": sorted(set(options["bits"]), reverse=True),
            "noise": sorted(set(options["noise"])),
            "pcm_time_labels": list(times), "pcm_times_s": list(times.values()),
            "draws": options["draws"], "g_max": options["g_max"], "quick": options["quick"]}


def figure_name(options: dict) -> str:
    return "robustness.png"


def run(given: dict) -> dict:
    """Train (or load) every network, measure every imperfection; write and return the metrics."""
    start = time.perf_counter()
    options = run_settings(given)
    out = Path(given["out"])
    rolls, found = jsb.find_rolls(given["data"], jsb.QUICK_CHORALES if options["quick"] else None)
    source = describe_jsb_source(found)
    if not rolls["test"] or not rolls["train"]:
        raise RunError(f"{source} has no training or no test chorales")
    options["data"] = source
    print(f"robustness: {' '.join(options['models'])}, seeds {options['seeds']}, "
          f"{options['epochs']} epochs; data: {source}", flush=True)

    models = {}
    for model in options["models"]:
        models[model] = measure_model(model, rolls, options, out / "networks", given["retrain"])
    metrics = {"command": NAME, "options": options, "models": models,
               "levels": {"bits": options["bits"], "noise": options["noise"],
                          "pcm": options["pcm_times_s"]}}
    metrics["degradation"] = degradation(metrics)
    metrics["summary"] = summarize(metrics)
    print(tables(metrics))
    print("\n".join(metrics["summary"]["text"]))
    metrics["wall_time_s"] = time.perf_counter() - start
    write_json(out / "metrics.json", metrics)
    print(f"wrote {out / 'metrics.json'} in {metrics['wall_time_s']:.1f} s")
    return metrics


# --- the networks ------------------------------------------------------------------------------


def trained_network(model: str, seed: int, rolls: dict, options: dict, folder: Path, retrain: bool):
    """``(net, info)``: the network of ``model`` and ``seed``, loaded from ``folder`` or trained.

    A saved network is reused when its metadata records the same model, seed,
    epochs, learning rate, learning-rate decay, data and quick setting.
    ``info`` holds that metadata, the training history and whether it was reused.
    """
    path = folder / f"{model}-seed{seed}.npz"
    wanted = {"model": model, "seed": seed, "epochs": options["epochs"], "lr": options["lr"],
              "lr_decay": options["lr_decay"], "data": options["data"], "quick": options["quick"]}
    if path.is_file() and not retrain:
        stored = Sequential.load_metadata(path)
        if all(stored.get(key) == value for key, value in wanted.items()):
            return Sequential.load(path), {**stored, "reused": True}
    t0 = time.perf_counter()
    network = jsb.network_options(model, seed=seed, epochs=options["epochs"], lr=options["lr"],
                                  lr_decay=options["lr_decay"])
    net, history = jsb.train_network(network, rolls)
    info = {**wanted, "history": history, "train_seconds": time.perf_counter() - t0}
    folder.mkdir(parents=True, exist_ok=True)
    net.save(path, metadata=info)
    return net, {**info, "reused": False}


def measure_model(model: str, rolls: dict, options: dict, folder: Path, retrain: bool) -> dict:
    """Every seed's network of ``model``: its software NLL and its NLL at every level of every kind.

    ``nll[kind]`` is a nested list [seed][level][draw] (one draw for ``bits``:
    quantization is deterministic).
    """
    result = {"software_nll": [], "train_seconds": [], "reused": [],
              "nll": {kind: [] for kind in KINDS}}
    network = jsb.network_options(model)  # the JSB setup: what the metric needs

    def score(net) -> float:
        """The test NLL of ``net``."""
        return jsb.nll(net, rolls["test"], network)

    for seed in options["seeds"]:
        t0 = time.perf_counter()
        net, info = trained_network(model, seed, rolls, options, folder, retrain)
        software = score(net)
        result["software_nll"].append(software)
        result["train_seconds"].append(info.get("train_seconds"))
        result["reused"].append(info["reused"])
        result["nll"]["bits"].append([[score(deploy.quantized_network(net, b))] for b in options["bits"]])
        result["nll"]["noise"].append(sweep_noise(net, score, options["noise"], seed, options["draws"]))
        result["nll"]["pcm"].append(sweep_pcm(net, score, options["pcm_times_s"], seed, options["draws"],
                                                       PCMNoiseModel(g_max=options["g_max"])))
        print(f"  {model:<4} seed {seed}: {'loaded' if info['reused'] else 'trained'}, software "
              f"test NLL {software:.3f} ({time.perf_counter() - t0:.1f} s)", flush=True)
    weights = sum(net.params[name].size for name in deploy.weight_names(net))
    result.update(n_params=net.n_params, n_weights=weights, n_devices=2 * weights)
    return result


def sweep_noise(net, score, levels, seed: int, draws: int) -> list:
    """``score`` [level][draw] under relative weight noise; draw d uses the same z at every level."""
    return [[score(deploy.noisy_network(net, level, np.random.default_rng([seed, NOISE_STREAM, d])))
             for d in range(draws)] for level in levels]


def sweep_pcm(net, score, times, seed: int, draws: int, noise_model: PCMNoiseModel) -> list:
    """``score`` [time][draw] in PCM with drift compensation; draw d is one programming, read at
    every time."""
    nlls = [[None] * draws for _ in times]
    for d in range(draws):
        deployment = deploy.program_pcm(net, np.random.default_rng([seed, PCM_STREAM, d]),
                                        noise_model=noise_model)
        for i, t in enumerate(times):
            weights = deploy.compensate(deployment, deploy.read_weights(deployment, t))
            nlls[i][d] = score(deploy.with_weights(net, weights))
    return nlls


# --- the numbers -------------------------------------------------------------------------------


def degradation(metrics: dict) -> dict:
    """{kind: {model: {"mean", "std"}}}: NLL − the network's software NLL, per level.

    Per seed, the NLL is averaged over the draws first; mean and std (ddof = 1)
    are then taken over seeds.
    """
    result = {kind: {} for kind in KINDS}
    for model, m in metrics["models"].items():
        software = np.asarray(m["software_nll"])[:, None]
        for kind in KINDS:
            increase = np.asarray(m["nll"][kind], dtype=np.float64).mean(axis=2) - software
            mean, std = mean_std(increase)                      # over seeds
            result[kind][model] = {"mean": mean.tolist(), "std": std.tolist()}
    return result


def level_label(kind: str, level) -> str:
    if kind == "bits":
        return f"{level} bits"
    if kind == "noise":
        return f"noise {level:g}"
    labels = {t: label for label, t in PCM_TIMES.items()}
    return labels.get(level, f"{level:g} s")


def summarize(metrics: dict) -> dict:
    """Which unit degrades least under each kind of imperfection; in words, from the numbers.

    Per level, the unit of the smallest mean degradation (over seeds) is the
    least degraded there; over a kind, the unit least degraded at the most
    levels (ties broken by the mean degradation over the levels). Counting
    levels rather than averaging them keeps the harshest levels, where every
    network is broken and the increases are tens of nats, from deciding alone.
    Sentences also test the paper's claim where an SNU model and a gated unit
    (LSTM, GRU) were both measured: at how many levels the SNU degrades less.
    """
    deg, levels = metrics["degradation"], metrics["levels"]
    summary, text = {}, []
    for kind, label in KINDS.items():
        means = {model: np.asarray(d["mean"]) for model, d in deg[kind].items()}
        average = {model: float(m.mean()) for model, m in means.items()}
        per_level = [least_at(means, i) for i in range(len(levels[kind]))]
        wins = {model: per_level.count(model) for model in means}
        ranking = sorted(means, key=lambda model: (-wins[model], average[model]))
        compared = len(per_level) - per_level.count("tie")        # noise 0 changes no network
        summary[kind] = {"least_degraded": ranking[0], "ranking": ranking, "levels_least": wins,
                         "mean_increase": average, "least_degraded_per_level": per_level}
        text.append(f"{label}: {NAMES[ranking[0]]} degrades least, at {wins[ranking[0]]} of {compared} "
                    "levels (" + ", ".join(f"{level_label(kind, v)}: {NAMES[w]}"
                                           for v, w in zip(levels[kind], per_level) if w != "tie")
                    + "); mean NLL increase over the levels: "
                    + ", ".join(f"{NAMES[m]} {average[m]:+.3f}" for m in sorted(average, key=average.get))
                    + ".")
        for unit in ("snu", "ssnu"):
            versus = [(gated, means[unit] - means[gated]) for gated in ("lstm", "gru")
                      if unit in means and gated in means]
            if versus:
                text.append(f"  {NAMES[unit]} degrades less than " + ", and than ".join(
                    f"{NAMES[gated]} at {int(np.sum(diff < 0))} of {int(np.sum(diff != 0))} levels"
                    for gated, diff in versus) + ".")
    summary["text"] = text
    return summary


def least_at(means: dict, i: int) -> str:
    """The model of the smallest mean degradation at level ``i``; "tie" if all are equal (noise 0)."""
    values = {model: m[i] for model, m in means.items()}
    best = min(values, key=values.get)
    return "tie" if len(values) > 1 and len(set(values.values())) == 1 else best


def tables(metrics: dict) -> str:
    """Parameter counts, software NLL, then the degradation (mean ± std) per kind and level."""
    models = metrics["models"]
    lines = ["unit   parameters  weights (PCM devices)  software test NLL"]
    for model, m in models.items():
        mean, std = mean_std(m["software_nll"])
        lines.append(f"{NAMES[model]:<6} {m['n_params']:>10,}  {m['n_weights']:>7,} ({m['n_devices']:>7,})"
                     f"  {float(mean):8.3f} ± {float(std):.3f}")
    for kind, label in KINDS.items():
        lines.append(f"\nNLL increase over software, {label} (mean ± std over seeds)")
        lines.append(f"{'':>12}" + "".join(f"{NAMES[m]:>17}" for m in models))
        for i, level in enumerate(metrics["levels"][kind]):
            d = metrics["degradation"][kind]
            lines.append(f"{level_label(kind, level):>12}" + "".join(
                f"{d[m]['mean'][i]:>10.3f} ± {d[m]['std'][i]:<5.3f}" for m in models))
    return "\n".join(lines)
