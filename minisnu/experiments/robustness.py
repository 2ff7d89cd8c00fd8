"""SNU, sSNU, RNN, LSTM and GRU networks on imperfect weights, without retraining.

The paper reports that the SNU is more robust to the imperfections of
in-memory hardware than LSTM and GRU units (Fig. 4, "performance under limited
weight precision"). This command measures it on the JSB chorales. For each
unit (``--models``) and seed (``--seeds``) an 88 → 150 → 88 network is trained
in software (Adam, lr 0.01·γ^epoch, γ = ``--lr-decay``), and then, with the
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

import argparse
import time
from pathlib import Path

import numpy as np

from .. import viz
from ..layers.sequential import Sequential
from ..tasks.common import non_negative_float, positive_float, positive_int
from ..training.trainer import RunError
from . import deploy
from .drift import EPOCHS, LR_DECAY, PCM_STREAM, check_seeds, mean_std, write_json
from .jsb_network import LR, MODELS, load_rolls, nll, train_software

NAME = "robustness"
SUMMARY = "SNU, sSNU, RNN, LSTM, GRU under fewer weight bits, weight noise and PCM (no retraining)"

BITS, QUICK_BITS = (8, 7, 6, 5, 4, 3, 2), (8, 4, 2)
NOISE, QUICK_NOISE = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2), (0.0, 0.05, 0.2)
PCM_TIMES = {"1 s": 1.0, "1 h": viz.HOUR, "1 day": viz.DAY, "1 month": viz.MONTH, "1 year": viz.YEAR}
QUICK_PCM_TIMES = ("1 s", "1 year")
DRAWS, QUICK_DRAWS = 3, 1
QUICK_MODELS, QUICK_EPOCHS, QUICK_SEEDS = ("snu", "lstm"), 1, (0, 1)
SEEDS = (0, 1, 2)
#: The second entry of the weight-noise generators' seed [seed, NOISE_STREAM, draw]
#: (PCM programming uses drift.PCM_STREAM: draw 0 is the devices of `minisnu drift`).
NOISE_STREAM = 2
KINDS = {"bits": "weight precision", "noise": "relative weight noise", "pcm": "PCM with drift compensation"}
COLORS = {"snu": viz.BLUE, "ssnu": viz.PURPLE, "rnn": viz.ORANGE, "lstm": viz.VERMILLION, "gru": viz.GREEN}
NAMES = {"snu": "SNU", "ssnu": "sSNU", "rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def bits_value(text: str) -> int:
    """A number of weight bits: an int >= 2 (one bit holds no sign and magnitude)."""
    try:
        bits = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2, got {text!r}") from None
    if bits < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2 (a sign and at least one level), got {text}")
    return bits


def add_arguments(parser) -> None:
    parser.add_argument("--models", nargs="+", choices=MODELS, metavar="MODEL",
                        help=f"the units to compare, of {', '.join(MODELS)} (default all; "
                             f"{' '.join(QUICK_MODELS)} with --quick)")
    parser.add_argument("--seeds", type=int, nargs="+", metavar="S",
                        help=f"one trained network per model and seed (default {' '.join(map(str, SEEDS))}; "
                             f"{' '.join(map(str, QUICK_SEEDS))} with --quick)")
    parser.add_argument("--epochs", type=positive_int,
                        help=f"software training epochs (default {EPOCHS}; {QUICK_EPOCHS} with --quick)")
    parser.add_argument("--lr-decay", type=positive_float, default=LR_DECAY, metavar="GAMMA",
                        help=f"learning rate {LR}·GAMMA^epoch (default {LR_DECAY})")
    parser.add_argument("--bits", type=bits_value, nargs="+", metavar="B",
                        help=f"weight bits to quantize to (default {' '.join(map(str, BITS))})")
    parser.add_argument("--noise", type=non_negative_float, nargs="+", metavar="LEVEL",
                        help="relative weight-noise levels, std/max|W| "
                             f"(default {' '.join(map(str, NOISE))})")
    parser.add_argument("--draws", type=positive_int,
                        help=f"noise draws and PCM programmings per network (default {DRAWS}; "
                             f"{QUICK_DRAWS} with --quick)")
    parser.add_argument("--retrain", action="store_true",
                        help="train again even if OUT/networks holds networks of these options")
    parser.add_argument("--data", metavar="PATH",
                        help="the JSB chorales file (default: $MINISNU_DATA, the usual places)")
    parser.add_argument("--out", metavar="DIR", default="runs/robustness",
                        help="run folder: metrics.json and the trained networks (default runs/robustness)")
    parser.add_argument("--figures", metavar="DIR", default="figures",
                        help="folder for robustness.png (default figures)")
    parser.add_argument("--quick", action="store_true",
                        help="snu and lstm, a few chorales, 1 epoch, 2 seeds, few levels: seconds")


def resolve_options(args) -> dict:
    """The options of the run: the given ones, else the (quick) defaults; ValueError if inconsistent."""
    quick = args.quick
    models = list(args.models or (QUICK_MODELS if quick else MODELS))
    if len(set(models)) != len(models):
        raise ValueError(f"models must be distinct, got {models}")
    times = {label: PCM_TIMES[label] for label in QUICK_PCM_TIMES} if quick else PCM_TIMES
    return {"models": models,
            "seeds": check_seeds(args.seeds or (QUICK_SEEDS if quick else SEEDS)),
            "epochs": args.epochs or (QUICK_EPOCHS if quick else EPOCHS),
            "lr": LR, "lr_decay": args.lr_decay,
            "bits": sorted(set(args.bits or (QUICK_BITS if quick else BITS)), reverse=True),
            "noise": sorted(set(args.noise or (QUICK_NOISE if quick else NOISE))),
            "pcm_time_labels": list(times), "pcm_times_s": list(times.values()),
            "draws": args.draws or (QUICK_DRAWS if quick else DRAWS),
            "quick": quick}


def run(args) -> int:
    start = time.perf_counter()
    options = resolve_options(args)
    out, figure = Path(args.out), Path(args.figures) / "robustness.png"
    rolls, source = load_rolls(args.data, quick=options["quick"])
    if not rolls["test"] or not rolls["train"]:
        raise RunError(f"{source} has no training or no test chorales")
    options["data"] = source
    print(f"robustness: {' '.join(options['models'])}, seeds {options['seeds']}, "
          f"{options['epochs']} epochs; data: {source}", flush=True)

    models = {}
    for model in options["models"]:
        models[model] = measure_model(model, rolls, options, out / "networks", args.retrain)
    metrics = {"command": NAME, "options": options, "models": models,
               "levels": {"bits": options["bits"], "noise": options["noise"],
                          "pcm": options["pcm_times_s"]}}
    metrics["degradation"] = degradation(metrics)
    metrics["summary"] = summarize(metrics)
    print(tables(metrics))
    print("\n".join(metrics["summary"]["text"]))
    metrics["wall_time_s"] = time.perf_counter() - start
    write_json(out / "metrics.json", metrics)
    plot(metrics, figure)
    print(f"wrote {out / 'metrics.json'} and {figure} in {metrics['wall_time_s']:.1f} s")
    return 0


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
    net, history = train_software(model, rolls, options["epochs"], seed, lr=options["lr"],
                                  lr_decay=options["lr_decay"])
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
    test = rolls["test"]
    for seed in options["seeds"]:
        t0 = time.perf_counter()
        net, info = trained_network(model, seed, rolls, options, folder, retrain)
        software = nll(net, test)
        result["software_nll"].append(software)
        result["train_seconds"].append(info.get("train_seconds"))
        result["reused"].append(info["reused"])
        result["nll"]["bits"].append([[nll(deploy.quantized_network(net, b), test)]
                                      for b in options["bits"]])
        result["nll"]["noise"].append(sweep_noise(net, test, options["noise"], seed, options["draws"]))
        result["nll"]["pcm"].append(sweep_pcm(net, test, options["pcm_times_s"], seed, options["draws"]))
        print(f"  {model:<4} seed {seed}: {'loaded' if info['reused'] else 'trained'}, software "
              f"test NLL {software:.3f} ({time.perf_counter() - t0:.1f} s)", flush=True)
    weights = sum(net.params[name].size for name in deploy.weight_names(net))
    result.update(n_params=net.n_params, n_weights=weights, n_devices=2 * weights)
    return result


def sweep_noise(net, test, levels, seed: int, draws: int) -> list:
    """NLL [level][draw] under relative weight noise; draw d uses the same z at every level."""
    return [[nll(deploy.noisy_network(net, level, np.random.default_rng([seed, NOISE_STREAM, d])), test)
             for d in range(draws)] for level in levels]


def sweep_pcm(net, test, times, seed: int, draws: int) -> list:
    """NLL [time][draw] in PCM with drift compensation; draw d is one programming, read at every time."""
    nlls = [[None] * draws for _ in times]
    for d in range(draws):
        deployment = deploy.program_pcm(net, np.random.default_rng([seed, PCM_STREAM, d]))
        for i, t in enumerate(times):
            weights = deploy.compensate(deployment, deploy.read_weights(deployment, t))
            nlls[i][d] = nll(deploy.with_weights(net, weights), test)
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


# --- the figure --------------------------------------------------------------------------------


@viz.style()
def plot(metrics: dict, path: Path) -> None:
    """Three panels, NLL increase against the imperfection; one line per unit, mean ± std over seeds.

    The y axis is symmetric-logarithmic (linear within ±0.1): the increases
    span from hundredths to tens of nats.
    """
    # A bare Figure (as in minisnu.training.trainer): no pyplot, no backend, no global state.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4.2))
    axes = fig.subplots(1, 3, sharey=True)
    levels, o = metrics["levels"], metrics["options"]
    for ax, (kind, label) in zip(axes, KINDS.items()):
        for model, d in metrics["degradation"][kind].items():
            ax.errorbar(levels[kind], d["mean"], yerr=d["std"], color=COLORS[model], marker="o",
                        capsize=3, label=NAMES[model])
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_title(label)
    axes[0].set(xlabel="bits per weight", ylabel="test NLL − software test NLL")
    axes[0].invert_xaxis()                                      # fewer bits to the right
    axes[1].set(xlabel="noise std / max|W|")
    viz.log_time_axis(axes[2], start=min(levels["pcm"]) / 2, stop=max(levels["pcm"]) * 2)
    axes[2].set(xlabel="time since programming")
    axes[0].legend(loc="upper left")
    fig.suptitle(f"JSB networks on imperfect weights, no retraining ({len(o['seeds'])} seeds, "
                 f"{o['epochs']} epoch{'s' if o['epochs'] > 1 else ''}; error bars: std over seeds)")
    viz.save(fig, path)
