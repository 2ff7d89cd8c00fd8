"""``minisnu pcm-train``: the paper's 52,800-device network, trained with the hardware in the loop.

The experiment
--------------
The JSB network 88 → 150 → 88 (:mod:`minisnu.tasks.jsb`) with both weight matrices
in differential pairs of PCM devices: 2 × (88·150 + 150·88) = 52,800 devices
of Nandakumar et al.'s model (:class:`minisnu.pcm.device.PCMArray`), wrapped by
:class:`minisnu.pcm.training.InMemory`. Training is mixed precision (Nandakumar et al.
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
Adam, lr :math:`0.01 × 0.95^{epoch}`, 40 epochs. A decaying rate lets the accumulators
settle (at a constant 0.01 the in-memory network ends ~0.5 nats behind its
twin), but not too fast: the devices drift, and a rate that has died away no
longer pulls the weights back (at :math:`0.9^{epoch}` the sSNU's gap grows again late
in training). β, the µS per unit of weight: for the SNU the library's default (the
largest initial :math:`|W|` maps to 5 µS, β ≈ 31: a pair stores :math:`|W| ≲ 0.3`); the
sSNU wants larger weights and gets β = 8 µS (:math:`|W| ≲ 1.1`). 0.1 s per pass.

Writes ``metrics.json`` (every number, the options, the times) in ``--out``
and ``pcm_train.png`` (validation NLL per epoch, in memory against software)
in ``--figures``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import pcm
from ..core.options import Option
from ..data import describe_jsb_source
from ..layers.sequential import Sequential
from ..tasks import jsb
from ..tasks.common import SNU_MODELS
from ..tasks.jsb import LR
from ..training import loop
from ..training.run_folder import write_json

NAME = "pcm-train"
SUMMARY = "train the 52,800-device JSB network with the PCM devices in the loop"
#: µS per weight unit (None: the largest initial :math:`|W|` maps to 5 µS). Measured on
#: the validation split (seed 0): the SNU does best at the default (β = 10 and 15
#: are worse), the sSNU between 8 and 12 (the default is worse by 0.3-0.5).
BETA = {"snu": None, "ssnu": 8.0}
DEFAULTS = {"epochs": 40, "lr_decay": 0.95, "seconds_per_pass": 0.1}


OPTIONS = (
    Option("model", str, list(SNU_MODELS), "the hidden units", choices=SNU_MODELS, many=True,
           distinct=True),
    Option("epochs", int, 40, "epochs of each network", low=1, quick=2),
    Option("seeds", int, [0], "one run per seed: initial weights, chorale order, device draws",
           many=True, distinct=True, low=0),
    Option("lr", float, LR, "Adam's learning rate", low=0, open_low=True),
    Option("lr_decay", float, 0.95, "lr·γ^epoch", low=0, high=1, open_low=True, metavar="γ"),
    Option("beta", float, None, "µS per unit of weight, for every model", low=0, open_low=True,
           none="per model, see the background"),
    Option("devices_per_side", int, 1, "PCM devices per side of a pair (1: 52,800 devices in all)",
           low=1),
    Option("seconds_per_pass", float, 0.1, "the chip's clock per chorale, for the drift (s)", low=0),
    Option("g_max", float, pcm.NandakumarDevice().g_max, "the devices' saturation conductance (µS)",
           low=0, open_low=True),
    Option("epsilon", float, pcm.MixedPrecision().epsilon_us, "ε, the accumulator's pulse step (µS)",
           low=0, open_low=True),
    Option("refresh", float, pcm.MixedPrecision().refresh_us, "refresh a pair when a pulse takes a "
           "device above this (µS)", low=0, open_low=True),
    Option("drift", bool, True, "devices that do not drift"),
    Option("read_noise", bool, True, "read the devices exactly"),
    Option("data", str, None, "a JSB JSON/pickle file or a folder holding one", metavar="PATH",
           none="$MINISNU_DATA"),
    Option("out", str, "runs/pcm-train", "folder for metrics.json", metavar="DIR"),
    Option("figures", str, "figures", "folder for pcm_train.png", metavar="DIR"),
    Option("quick", bool, False, "a few chorales, 2 epochs: seconds, for tests"),
)


def device_options(options: dict, model: str) -> dict:
    """The keywords of ``pcm.InMemory`` for ``model`` under the command's options."""
    beta = options["beta"] if options["beta"] is not None else BETA[model]
    keywords = {"devices_per_side": options["devices_per_side"], "read_noise": options["read_noise"],
                "drift": options["drift"], "seconds_per_pass": options["seconds_per_pass"],
                "device": pcm.NandakumarDevice(g_max=options["g_max"]),
                "mixed_precision": pcm.MixedPrecision(epsilon_us=options["epsilon"],
                                                      refresh_us=options["refresh"])}
    return keywords if beta is None else keywords | {"beta": beta}


def build_in_memory(model: str, seed: int, options: dict) -> Sequential:
    """The software network of ``seed`` with its two W matrices moved into PCM devices."""
    hidden, output = jsb.build_network(model, seed).layers
    return Sequential(pcm.InMemory(hidden, rng=seed + 1, **options),
                      pcm.InMemory(output, rng=seed + 2, **options))


def device_counts(net) -> dict:
    r"""Devices, SET pulses, refreshes and the bookkeeping residual of an in-memory network.

    The residual is :math:`\max |Σ ΔW − ε · (\text{pulses}^+ − \text{pulses}^-) − χ|` over
    the weights: every update asked for is in the pulses sent or still in the accumulator.
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


def train_twins(model: str, seed: int, rolls: dict, options: dict, log=print, on_epoch=None) -> dict:
    """Train the software and in-memory networks of ``seed`` side by side; their numbers.

    Each epoch, both take the training chorales in the same order
    (:func:`minisnu.tasks.jsb.chorale_orders`) through the same loop, with Adam
    at the same learning rate. ``on_epoch(epoch, valid_nll_in_memory)``, if given, is
    called after each epoch (a sweep's pruner; it may stop the training by raising).
    """
    network = jsb.network_options(model)  # the JSB setup: what the loss and the metric need
    nets = {"software": jsb.build_network(model, seed),
            "in_memory": build_in_memory(model, seed, device_options(options, model))}
    optimizers = {name: loop.make_optimizer("adam", net, lr=options["lr"]) for name, net in nets.items()}
    result = {name: {"train": [], "valid": [], "train_seconds": 0.0} for name in nets}
    orders = jsb.chorale_orders(seed, options["epochs"], len(rolls["train"]))
    for epoch, order in enumerate(orders, start=1):
        for name, net in nets.items():
            optimizers[name].lr = loop.learning_rate(options["lr"], options["lr_decay"], epoch)
            start = time.perf_counter()
            result[name]["train"].append(jsb.train_epoch(net, optimizers[name], rolls["train"], order,
                                                         network))
            result[name]["train_seconds"] += time.perf_counter() - start
            result[name]["valid"].append(jsb.nll(net, rolls["valid"], network))
        log(f"  {model} seed {seed} epoch {epoch:3d}   valid NLL: software "
            f"{result['software']['valid'][-1]:.3f}, in memory {result['in_memory']['valid'][-1]:.3f}")
        if on_epoch is not None:
            on_epoch(epoch, result["in_memory"]["valid"][-1])
    for name, net in nets.items():
        result[name]["test"] = jsb.nll(net, rolls["test"], network)
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


def figure_name(options: dict) -> str:
    return "pcm_train.png"


def run(options: dict) -> dict:
    """Train every model's twins for every seed; write and return the metrics."""
    start = time.perf_counter()
    rolls, source = jsb.find_rolls(options["data"], jsb.QUICK_CHORALES if options["quick"] else None)
    print(jsb.describe_data(source, rolls))
    results = {}
    for model in options["model"]:
        results[model] = [train_twins(model, seed, rolls, options) for seed in options["seeds"]]
    summary = {model: summarize(runs) for model, runs in results.items()}
    print(f"{'model':>6} {'software':>9} {'in memory':>10} {'gap':>6} {'SET pulses':>11} {'refreshes':>10}"
          f" {'epoch time':>10}")
    for model, s in summary.items():
        print(f"{model:>6} {s['test_software']:9.3f} {s['test_in_memory']:10.3f} {s['gap']:+6.3f}"
              f" {s['set_pulses']:11,.0f} {s['refreshes']:10,.0f} {s['epoch_time_ratio']:9.2f}×")
    metrics = {"command": NAME, "data": describe_jsb_source(source), "options": options,
               "summary": summary, "runs": results, "seconds": time.perf_counter() - start}
    out = Path(options["out"])
    write_json(out / "metrics.json", metrics)
    print(f"wrote {out / 'metrics.json'} in {metrics['seconds']:.0f} s")
    return metrics


# -- one trial of `minisnu sweep --task pcm-train` ---------------------------------------------

#: What a sweep of this experiment optimises: the in-memory network's validation NLL after its
#: last epoch (it cannot go back to an earlier state of its devices: no best epoch to pick).
SWEEP_METRIC, SWEEP_LOWER_IS_BETTER = "nll", True

#: The options of one trial: one model and one seed (the sweep gives each trial its own), and no
#: folders (the trial's folder holds its metrics.json).
#:
#: :meta hide-value:
SWEEP_OPTIONS = tuple(
    replace(option, many=False, distinct=False, default="ssnu") if option.name == "model" else option
    for option in OPTIONS if option.name not in ("seeds", "out", "figures")
) + (Option("seed", int, 0, "the seed: initial weights, chorale order, device draws", low=0),)


def sweep_trial(options: dict, folder, on_epoch=None) -> dict:
    """One trial of a sweep: the twins of ``options["model"]`` for ``options["seed"]``.

    ``on_epoch(epoch, valid_nll)`` gets the in-memory network's validation NLL after
    every epoch (the sweep's pruner). Writes ``metrics.json`` (the run's numbers) in
    ``folder``; returns the in-memory network's ``valid`` NLL after the last epoch, its
    ``test`` NLL, the ``epochs`` and the training ``seconds`` of both twins.
    """
    rolls, source = jsb.find_rolls(options["data"], jsb.QUICK_CHORALES if options["quick"] else None)
    result = train_twins(options["model"], options["seed"], rolls, options, log=lambda line: None,
                         on_epoch=on_epoch)
    write_json(Path(folder) / "metrics.json", {"command": NAME, "data": describe_jsb_source(source),
                                               "options": options, "run": result})
    return {"valid": result["in_memory"]["valid"][-1], "test": result["in_memory"]["test"],
            "epochs": len(result["in_memory"]["valid"]),
            "seconds": result["software"]["train_seconds"] + result["in_memory"]["train_seconds"]}
