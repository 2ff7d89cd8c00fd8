"""One training epoch of the 88-150-88 JSB network: in software against weights in PCM devices.

The network of the paper's in-memory experiment: 88 piano-roll inputs, 150
SNUs (decay 0.8), 88 sigmoid outputs predicting the next step's notes; binary
cross-entropy, Adam (lr 0.01), one chorale per batch. In memory, both weight
matrices live in differential pairs of Nandakumar PCM devices
(2 × (88·150 + 150·88) = 52,800 devices), read (with read noise) at every
forward pass and updated through accumulators and SET pulses; the networks are
those of ``minisnu pcm-train`` (``minisnu.experiments``). Two in-memory
variants: devices without drift, and drifting devices on a clock of 0.1 s per
chorale (the ``pcm-train`` default).

Needs the JSB chorales JSON (train/valid/test lists of sequences of lists of
MIDI notes): pass its path, or set MINISNU_JSB; by default it looks for the
development copy beside the repository (../shared/data/jsb-chorales-quarter.json).

    python benchmarks/bench_pcm_training.py [PATH] [--chorales N] [--epochs E]

Both networks train side by side, an epoch of one then an epoch of the other,
so that the machine's load affects both alike; it reports the median epoch time
of each, their ratio, and the validation NLL per time step (summed over notes)
after the last epoch.

The matrices here are small (88 × 150, one chorale per batch): BLAS threads
cannot speed them up, and on a busy 2-core machine they wait for each other, so
this script runs BLAS on one thread (set OPENBLAS_NUM_THREADS to override).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")        # before NumPy loads its BLAS

import numpy as np

import minisnu as ms
from minisnu import pcm
from minisnu.experiments.jsb_network import build_network
from minisnu.experiments.pcm_train import build_in_memory

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "jsb-chorales-quarter.json"


def piano_rolls(path, split="train"):
    """Each chorale as a (T, 1, 88) 0/1 float32 roll of MIDI notes 21..108."""
    with open(path) as f:
        chorales = json.load(f)[split]
    rolls = []
    for chorale in chorales:
        roll = np.zeros((len(chorale), 1, 88), np.float32)
        for t, notes in enumerate(chorale):
            roll[t, 0, [n - 21 for n in notes]] = 1
        rolls.append(roll)
    return rolls


VARIANTS = {"software": None,
            "in memory": {"drift": False},
            "+ drift": {"drift": True, "seconds_per_pass": 0.1}}


def build(device_options):
    """The SNU network of seed 0, in software (None) or with these ``pcm.InMemory`` options."""
    net = build_network("snu", 0) if device_options is None else build_in_memory("snu", 0, device_options)
    return net, ms.optim.Adam(net, lr=0.01)


def epoch(net, opt, rolls):
    """One pass over the chorales; returns the mean NLL per step (summed over notes)."""
    total, steps = 0.0, 0
    for roll in rolls:
        opt.zero_grad()
        logits = net.forward(roll[:-1])                      # predict step t+1 from step t
        loss, grad = ms.losses.bce_with_logits(logits, roll[1:])
        net.backward(grad)
        opt.step()
        total += loss * 88 * (len(roll) - 1)
        steps += len(roll) - 1
    return total / steps


def validation_nll(net, rolls):
    """NLL per time step, summed over the 88 notes, over all steps of the chorales."""
    net.eval()
    total = sum(ms.losses.polyphonic_nll(net.forward(r[:-1]), r[1:]) * (len(r) - 1)
                for r in rolls)
    net.train()
    return total / sum(len(r) - 1 for r in rolls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=os.environ.get("MINISNU_JSB", str(DEFAULT)))
    parser.add_argument("--chorales", type=int, default=None, help="use only the first N chorales")
    parser.add_argument("--epochs", type=int, default=3, help="epochs to train and time (median reported)")
    args = parser.parse_args()
    if not Path(args.path).exists():
        raise SystemExit(f"JSB chorales JSON not found at {args.path}: pass its path or set MINISNU_JSB")
    rolls = piano_rolls(args.path)[: args.chorales]
    valid = piano_rolls(args.path, "valid")

    for options in VARIANTS.values():                        # warm-up: Numba compilation
        epoch(*build(options), rolls[:2])
    nets = {name: build(options) for name, options in VARIANTS.items()}
    seconds = {name: [] for name in VARIANTS}
    train_nll = {}
    for _ in range(args.epochs):                             # interleaved: the same load on both
        for name, (net, opt) in nets.items():
            start = time.perf_counter()
            train_nll[name] = epoch(net, opt, rolls)
            seconds[name].append(time.perf_counter() - start)

    base = float(np.median(seconds["software"]))
    print(f"88-150-88 JSB network, {len(rolls)} chorales, one per batch, {args.epochs} epoch(s) each")
    print(f"{'variant':<11} {'median epoch s':>15} {'ratio':>7} {'train NLL':>10} {'valid NLL':>10}")
    for name, (net, _) in nets.items():
        median = float(np.median(seconds[name]))
        print(f"{name:<11} {median:>15.3f} {median / base:>6.2f}x {train_nll[name]:>10.2f} "
              f"{validation_nll(net, valid):>10.2f}")
    for name in list(VARIANTS)[1:]:
        layers = [layer for layer in nets[name][0] if isinstance(layer, pcm.InMemory)]
        pulses = sum(int(layer.synapses.pulses.sum()) for layer in layers)
        refreshes = sum(int(layer.synapses.refreshes.sum()) for layer in layers)
        devices = sum(layer.synapses.devices.size for layer in layers)
        print(f"{name}: {devices} devices, {pulses} SET pulses from updates, {refreshes} refreshes")


if __name__ == "__main__":
    main()
