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

Needs the JSB chorales, found as ``minisnu train jsb`` finds them
(:func:`minisnu.data.locate_jsb`): PATH (the file, or a folder holding
jsb-chorales-quarter.json), else ``$MINISNU_DATA``, else the cache folder that
``minisnu download jsb`` fills.

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
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")        # before NumPy loads its BLAS

import numpy as np

import minisnu as ms
from minisnu import pcm
from minisnu.experiments.pcm_train import build_in_memory
from minisnu.tasks import jsb

SETUP = jsb.network_options()  # the JSB task's defaults: what the loss and the metric need


VARIANTS = {"software": None,
            "in memory": {"drift": False},
            "+ drift": {"drift": True, "seconds_per_pass": 0.1}}


def build(device_options):
    """The SNU network of seed 0, in software (None) or with these ``pcm.InMemory`` options."""
    if device_options is None:
        net = jsb.build_network("snu", 0)
    else:
        net = build_in_memory("snu", 0, device_options)
    return net, ms.optim.Adam(net, lr=SETUP["lr"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=None,
                        help="the JSB chorales file (default: $MINISNU_DATA, the cache folder)")
    parser.add_argument("--chorales", type=int, default=None, help="use only the first N chorales")
    parser.add_argument("--epochs", type=int, default=3, help="epochs to train and time (median reported)")
    args = parser.parse_args()
    try:
        data, _ = jsb.find_rolls(args.path)
    except FileNotFoundError as err:
        raise SystemExit(str(err)) from None
    rolls, valid = data["train"][: args.chorales], data["valid"]

    for options in VARIANTS.values():                        # warm-up: Numba compilation
        jsb.train_epoch(*build(options), rolls[:2], range(2), SETUP)
    nets = {name: build(options) for name, options in VARIANTS.items()}
    seconds = {name: [] for name in VARIANTS}
    train_nll = {}
    for _ in range(args.epochs):                             # interleaved: the same load on both
        for name, (net, opt) in nets.items():
            start = time.perf_counter()
            train_nll[name] = jsb.train_epoch(net, opt, rolls, range(len(rolls)), SETUP)
            seconds[name].append(time.perf_counter() - start)

    base = float(np.median(seconds["software"]))
    print(f"88-150-88 JSB network, {len(rolls)} chorales, one per batch, {args.epochs} epoch(s) each")
    print(f"{'variant':<11} {'median epoch s':>15} {'ratio':>7} {'train NLL':>10} {'valid NLL':>10}")
    for name, (net, _) in nets.items():
        median = float(np.median(seconds[name]))
        print(f"{name:<11} {median:>15.3f} {median / base:>6.2f}x {train_nll[name]:>10.2f} "
              f"{jsb.nll(net, valid, SETUP):>10.2f}")
    for name in list(VARIANTS)[1:]:
        layers = [layer for layer in nets[name][0] if isinstance(layer, pcm.InMemory)]
        pulses = sum(int(layer.synapses.pulses.sum()) for layer in layers)
        refreshes = sum(int(layer.synapses.refreshes.sum()) for layer in layers)
        devices = sum(layer.synapses.devices.size for layer in layers)
        print(f"{name}: {devices} devices, {pulses} SET pulses from updates, {refreshes} refreshes")


if __name__ == "__main__":
    main()
