"""``minisnu pcm-train``: the paper's 52,800-device network, trained with the hardware in the loop.

The experiment
--------------
The JSB network 88 → 150 → 88 (:mod:`.jsb_network`) with both weight matrices
in differential pairs of PCM devices: 2 × (88·150 + 150·88) = 52,800 devices
of Nandakumar et al.'s model (:class:`minisnu.pcm.PCMArray`), wrapped by
:class:`minisnu.pcm.InMemory`. Training is mixed precision (Nandakumar et al.
2020): Adam computes ΔW in high precision, ΔW goes into a digital accumulator
χ per weight, and whole steps ε = 0.75 µS of it reach the devices as SET
pulses; a pair whose device passes 9 µS is refreshed (RESET both, program the
difference again, open loop). The forward and backward passes use the
weights *read* from the devices at that step: read noise, and drift since
each device was last programmed (the chip's clock moves on by
``--seconds-per-pass`` at every chorale, trained or scored). The initial
weights are random (Glorot), programmed open loop into freshly RESET devices.

Beside it trains its *software twin*: the same network from the same initial
weights, the same chorales in the same order, the same optimizer and
schedule, with its weights in floating point. Both report their validation
NLL after every epoch and their test NLL after the last (no early stopping:
the in-memory network cannot go back to an earlier state of its devices).

The defaults
------------
Adam, lr 0.01 × 0.95^epoch, 40 epochs. A decaying rate lets the accumulators
settle (at a constant 0.01 the in-memory network ends ~0.5 nats behind its
twin), but not too fast: the devices drift, and a rate that has died away no
longer pulls the weights back (at 0.9^epoch the sSNU's gap grows again late in
training). β, the µS per unit of weight: for the SNU the library's default (the
largest initial |W| maps to 5 µS, β ≈ 31: a pair stores |W| ≲ 0.3); the sSNU
wants larger weights and gets β = 8 µS (|W| ≲ 1.1). 0.1 s per pass.

Writes ``metrics.json`` (every number, the options, the times) in ``--out``
and ``pcm_train.png`` (validation NLL per epoch, in memory against software)
in ``--figures``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .. import pcm
from ..core.io import atomic_write
from ..layers.sequential import Sequential
from ..training import optim
from .jsb_network import LR, chorale_orders, load_rolls, nll, train_epoch
from .jsb_network import build_network as build_software_network

NAME = "pcm-train"
SUMMARY = "train the 52,800-device JSB network with the PCM devices in the loop"
MODELS = ("snu", "ssnu")
#: µS per weight unit (None: the largest initial |W| maps to 5 µS). Measured on
#: the validation split (seed 0): the SNU does best at the default (β = 10 and 15
#: are worse), the sSNU between 8 and 12 (the default is worse by 0.3-0.5).
BETA = {"snu": None, "ssnu": 8.0}
DEFAULTS = {"epochs": 40, "lr_decay": 0.95, "seconds_per_pass": 0.1}


def add_arguments(parser) -> None:
    parser.add_argument("--model", nargs="+", choices=MODELS, default=list(MODELS),
                        help="the hidden units (default: both)")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                        help=f"epochs of each network (default {DEFAULTS['epochs']})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="one run per seed: initial weights, chorale order, device draws (default 0)")
    parser.add_argument("--lr", type=float, default=LR, help=f"Adam's learning rate (default {LR})")
    parser.add_argument("--lr-decay", type=float, default=DEFAULTS["lr_decay"],
                        help=f"lr·γ^epoch (default γ = {DEFAULTS['lr_decay']})")
    parser.add_argument("--beta", type=float, default=None,
                        help="µS per unit of weight, for every model (default: per model, see above)")
    parser.add_argument("--devices-per-side", type=int, default=1,
                        help="PCM devices per side of a pair (default 1: 52,800 devices in all)")
    parser.add_argument("--seconds-per-pass", type=float, default=DEFAULTS["seconds_per_pass"],
                        help="the chip's clock per chorale, for the drift (default 0.1 s)")
    parser.add_argument("--no-drift", action="store_true", help="devices that do not drift")
    parser.add_argument("--no-read-noise", action="store_true", help="read the devices exactly")
    parser.add_argument("--data", metavar="PATH", help="a JSB JSON/pickle file or a folder holding one")
    parser.add_argument("--out", metavar="DIR", default="runs/pcm-train",
                        help="folder for metrics.json (default runs/pcm-train)")
    parser.add_argument("--figures", metavar="DIR", default="figures",
                        help="folder for pcm_train.png (default figures)")
    parser.add_argument("--quick", action="store_true",
                        help="a few chorales, 2 epochs: seconds, for tests")


def check_options(args) -> None:
    """Clear errors for values argparse lets through."""
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if not args.lr > 0:
        raise ValueError(f"--lr must be positive, got {args.lr}")
    if not 0 < args.lr_decay <= 1:
        raise ValueError(f"--lr-decay must be in (0, 1], got {args.lr_decay}")
    if args.beta is not None and not args.beta > 0:
        raise ValueError(f"--beta must be positive, got {args.beta}")
    if args.devices_per_side < 1:
        raise ValueError(f"--devices-per-side must be at least 1, got {args.devices_per_side}")
    if not args.seconds_per_pass >= 0:
        raise ValueError(f"--seconds-per-pass must be >= 0, got {args.seconds_per_pass}")


def device_options(args, model: str) -> dict:
    """The keywords of ``pcm.InMemory`` for ``model`` under the command's options."""
    beta = args.beta if args.beta is not None else BETA[model]
    options = {"devices_per_side": args.devices_per_side, "read_noise": not args.no_read_noise,
               "drift": not args.no_drift, "seconds_per_pass": args.seconds_per_pass}
    return options if beta is None else options | {"beta": beta}


def build_in_memory(model: str, seed: int, options: dict) -> Sequential:
    """The software network of ``seed`` with its two W matrices moved into PCM devices."""
    hidden, output = build_software_network(model, seed).layers
    return Sequential(pcm.InMemory(hidden, rng=seed + 1, **options),
                      pcm.InMemory(output, rng=seed + 2, **options))


def device_counts(net) -> dict:
    """Devices, SET pulses, refreshes and the bookkeeping residual of an in-memory network.

    The residual is max |Σ ΔW − ε·(pulses⁺ − pulses⁻) − χ| over the weights: every
    update asked for is in the pulses sent or still in the accumulator.
    """
    synapses = [layer.synapses for layer in net]
    residual = max(float(np.abs(s.requested - s.epsilon * (s.pulses[0] - s.pulses[1]) - s.chi).max())
                   for s in synapses)
    return {"devices": sum(s.devices.size for s in synapses),
            "set_pulses": sum(int(s.pulses.sum()) for s in synapses),
            "refreshes": sum(int(s.refreshes.sum()) for s in synapses),
            "device_set_pulses": sum(int(s.devices.n_pulses.sum()) for s in synapses),
            "beta": [s.beta for s in synapses],
            "chip_seconds": float(synapses[0].time),
            "bookkeeping_residual": residual}


def train_twins(model: str, seed: int, rolls: dict, args, log=print) -> dict:
    """Train the software and in-memory networks of ``seed`` side by side; their numbers."""
    nets = {"software": build_software_network(model, seed),
            "in_memory": build_in_memory(model, seed, device_options(args, model))}
    optimizers = {name: optim.Adam(net, lr=args.lr) for name, net in nets.items()}
    result = {name: {"train": [], "valid": [], "train_seconds": 0.0} for name in nets}
    for epoch, order in enumerate(chorale_orders(seed, args.epochs, len(rolls["train"]))):
        for name, net in nets.items():
            optimizers[name].lr = args.lr * args.lr_decay**epoch
            start = time.perf_counter()
            result[name]["train"].append(train_epoch(net, optimizers[name], rolls["train"], order))
            result[name]["train_seconds"] += time.perf_counter() - start
            result[name]["valid"].append(nll(net, rolls["valid"]))
        log(f"  {model} seed {seed} epoch {epoch + 1:3d}   valid NLL: software "
            f"{result['software']['valid'][-1]:.3f}, in memory {result['in_memory']['valid'][-1]:.3f}")
    for name, net in nets.items():
        result[name]["test"] = nll(net, rolls["test"])
    result["in_memory"] |= device_counts(nets["in_memory"])
    return result


def summarize(runs: list) -> dict:
    """Means over the seeds of a model's runs: test NLL of both twins, the gap, the traffic."""
    def mean(f):
        return float(np.mean([f(r) for r in runs]))
    summary = {"test_software": mean(lambda r: r["software"]["test"]),
               "test_in_memory": mean(lambda r: r["in_memory"]["test"]),
               "set_pulses": mean(lambda r: r["in_memory"]["set_pulses"]),
               "refreshes": mean(lambda r: r["in_memory"]["refreshes"]),
               "epoch_time_ratio": mean(lambda r: r["in_memory"]["train_seconds"]
                                        / r["software"]["train_seconds"])}
    summary["gap"] = summary["test_in_memory"] - summary["test_software"]
    summary["test_std_in_memory"] = float(np.std([r["in_memory"]["test"] for r in runs]))
    summary["test_std_software"] = float(np.std([r["software"]["test"] for r in runs]))
    return summary


def plot(results: dict, path) -> None:
    """Validation NLL per epoch, one panel per model: software twin and in memory (mean over seeds)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import viz

    with viz.style():
        fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), squeeze=False)
        for ax, (model, runs) in zip(axes[0], results.items()):
            for name, color, label in (("software", viz.BLUE, "software"),
                                       ("in_memory", viz.VERMILLION, "52,800 PCM devices")):
                valid = np.array([r[name]["valid"] for r in runs])
                epochs = np.arange(1, valid.shape[1] + 1)
                ax.plot(epochs, valid.mean(axis=0), color=color, label=f"{label} (valid)")
                train = np.array([r[name]["train"] for r in runs]).mean(axis=0)
                ax.plot(epochs, train, color=color, linestyle="--", linewidth=1, label=f"{label} (train)")
            test = summarize(runs)
            ax.set(title=f"{model.upper() if model == 'snu' else 'sSNU'}: test NLL {test['test_software']:.2f}"
                         f" software, {test['test_in_memory']:.2f} in memory",
                   xlabel="epoch", ylabel="NLL per time step")
            if len(epochs) > 3:  # the first epochs' values would squash the rest
                late = [np.mean([r[n]["valid"][2:] for r in runs], axis=0) for n in ("software", "in_memory")]
                ax.set_ylim(top=max(float(np.max(v)) for v in late) + 0.4)
            viz.legend(ax)
        viz.save(fig, path)


def run(args) -> int:
    check_options(args)
    if args.quick:
        args.epochs = min(args.epochs, 2)
    start = time.perf_counter()
    rolls, source = load_rolls(args.data, quick=args.quick)
    print(f"{source}: " + ", ".join(f"{len(rolls[s])} {s}" for s in rolls) + " chorales")
    results = {}
    for model in args.model:
        results[model] = [train_twins(model, seed, rolls, args) for seed in args.seeds]
    summary = {model: summarize(runs) for model, runs in results.items()}
    print(f"{'model':>6} {'software':>9} {'in memory':>10} {'gap':>6} {'SET pulses':>11} {'refreshes':>10}"
          f" {'epoch time':>10}")
    for model, s in summary.items():
        print(f"{model:>6} {s['test_software']:9.3f} {s['test_in_memory']:10.3f} {s['gap']:+6.3f}"
              f" {s['set_pulses']:11,.0f} {s['refreshes']:10,.0f} {s['epoch_time_ratio']:9.2f}×")
    metrics = {"command": NAME, "data": str(source), "options": {k: v for k, v in vars(args).items()
                                                                   if k not in ("handler",)},
               "summary": summary, "runs": results, "seconds": time.perf_counter() - start}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "metrics.json", lambda f: f.write(json.dumps(metrics, indent=1).encode()))
    figure = Path(args.figures) / "pcm_train.png"
    figure.parent.mkdir(parents=True, exist_ok=True)
    plot(results, figure)
    print(f"metrics: {out / 'metrics.json'}; figure: {figure} ({metrics['seconds']:.0f} s)")
    return 0


def main(argv=None) -> int:
    """``python -m minisnu.experiments.pcm_train``: the same as ``minisnu pcm-train``."""
    parser = argparse.ArgumentParser(prog="minisnu pcm-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
