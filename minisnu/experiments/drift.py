"""A software-trained JSB network programmed into PCM, scored from 1 second to 1 year later.

The network (88 → 150 units → 88, ``--model``) is trained in software with
Adam, lr :math:`0.01 · γ^{epoch}` (γ = ``--lr-decay``), then every weight matrix is
programmed once into PCM crossbars (aihwkit's statistical model: programming
noise, a drift exponent per device, 1/f read noise; see
:mod:`minisnu.experiments.deploy`). Biases and decays stay digital. The
conductances then drift down, :math:`g(t) = g_{prog} · ((t + t_0)/t_0)^{−ν}`, and the
test NLL is measured on the weights read at each time t:

- without compensation: the drifted weights as read;
- with global drift compensation: each matrix scaled by
  α = mean|P·W(0)| / mean|P·W(t)| for a fixed probe input P.

Both come from the same devices and the same read, so their difference is the
compensation alone.

Seeds: seed s trains its own network (``jsb.build_network(model, s)``, chorale
order from s) and programs it with its own draw of the devices (the generator
``[s, PCM_STREAM, 0]``), so the error bars (mean ± std over seeds) hold both
the spread of training and that of programming.

Writes ``OUT/metrics.json`` (every number plotted, the options, the wall time)
and ``FIGURES/drift_MODEL.png``.

Examples::

    minisnu drift --model snu
    minisnu drift --model ssnu --seeds 0 1 2 3 --epochs 30
    minisnu drift --quick --out /tmp/drift --figures /tmp/figures
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..core.errors import RunError
from ..core.options import Option
from ..core.timespans import DAY, HOUR, MINUTE, MONTH, YEAR
from ..data import describe_jsb_source
from ..pcm import PCMNoiseModel
from ..tasks import jsb
from ..tasks.common import MODELS
from ..tasks.jsb import LR
from ..training.run_folder import write_json
from . import deploy

NAME = "drift"
SUMMARY = ("a trained JSB network in PCM: test NLL from 1 second to 1 year, with and without drift "
           "compensation")

#: The times (s after programming) scored: log-spaced, the named ticks of viz among them.
TIMES = {"1 s": 1.0, "10 s": 10.0, "1 min": MINUTE, "10 min": 10 * MINUTE,
         "1 h": HOUR, "10 h": 10 * HOUR, "1 day": DAY, "1 week": 7 * DAY,
         "1 month": MONTH, "1 year": YEAR}
QUICK_TIMES = ("1 s", "1 day", "1 year")
EPOCHS, QUICK_EPOCHS = 40, 2
SEEDS, QUICK_SEEDS = (0, 1, 2), (0, 1)
LR_DECAY = 0.9
#: The second entry of the programming generator's seed, [seed, PCM_STREAM, draw]: it keeps
#: the devices' draws apart from the training's, which uses default_rng(seed).
PCM_STREAM = 1
CASES = ("uncompensated", "compensated")


OPTIONS = (
    Option("model", str, "snu", "the hidden units", choices=MODELS),
    Option("epochs", int, EPOCHS, "software training epochs", low=1, quick=QUICK_EPOCHS),
    Option("lr_decay", float, LR_DECAY, f"learning rate {LR}·GAMMA^epoch", low=0, open_low=True,
           metavar="GAMMA"),
    Option("seeds", int, list(SEEDS), "one trained network and one programming per seed", many=True,
           distinct=True, low=0, quick=list(QUICK_SEEDS), metavar="S"),
    Option("g_max", float, PCMNoiseModel().g_max, "the largest programmable conductance of the "
           "statistical PCM model (µS)", low=0, open_low=True),
    Option("data", str, None, "the JSB chorales file", metavar="PATH", none="$MINISNU_DATA"),
    Option("out", str, None, "folder for metrics.json", metavar="DIR", none="runs/drift-MODEL"),
    Option("figures", str, "figures", "folder for drift_MODEL.png", metavar="DIR"),
    Option("quick", bool, False, "a few chorales, 2 epochs, 3 times, 2 seeds: seconds"),
)


def figure_name(options: dict) -> str:
    return f"drift_{options['model']}.png"


def run(options: dict) -> dict:
    """Train, program and score a network per seed; write and return the metrics."""
    start = time.perf_counter()
    model, epochs, seeds, quick = options["model"], options["epochs"], options["seeds"], options["quick"]
    times = {label: TIMES[label] for label in QUICK_TIMES} if quick else TIMES
    out = Path(options["out"] or f"runs/drift-{model}")
    rolls, found = jsb.find_rolls(options["data"], jsb.QUICK_CHORALES if quick else None)
    source = describe_jsb_source(found)
    if not rolls["test"] or not rolls["train"]:
        raise RunError(f"{source} has no training or no test chorales")
    print(f"drift: --model {model}, {epochs} epochs, seeds {seeds}; data: {source}", flush=True)

    noise_model = PCMNoiseModel(g_max=options["g_max"])
    per_seed = [measure_seed(model, rolls, seed, epochs, options["lr_decay"], times, noise_model)
                for seed in seeds]
    metrics = {
        "command": NAME,
        "options": {"model": model, "epochs": epochs, "lr": LR, "lr_decay": options["lr_decay"],
                    "seeds": seeds, "g_max": options["g_max"], "quick": quick, "data": source},
        "n_params": per_seed[0]["n_params"],
        "time_labels": list(times),
        "times_s": list(times.values()),
        "software_nll": [r["software_nll"] for r in per_seed],
        "nll": {case: [r[case] for r in per_seed] for case in CASES},
        "alpha": [r["alpha"] for r in per_seed],
        "train_seconds": [r["train_seconds"] for r in per_seed],
    }
    metrics["summary"] = summarize(metrics)
    print(table(metrics))
    metrics["wall_time_s"] = time.perf_counter() - start
    write_json(out / "metrics.json", metrics)
    print(f"wrote {out / 'metrics.json'} in {metrics['wall_time_s']:.1f} s")
    return metrics


def measure_seed(model: str, rolls: dict, seed: int, epochs: int, lr_decay: float, times: dict,
                 noise_model: PCMNoiseModel) -> dict:
    """Train one network (seed ``seed``), program it once, and score it at every time.

    Returns the software test NLL, the test NLL per time with and without
    compensation, and the compensation factors α per time and matrix.
    """
    t0 = time.perf_counter()
    network = jsb.network_options(model, seed=seed, epochs=epochs, lr_decay=lr_decay)
    net, _ = jsb.train_network(network, rolls)
    trained = time.perf_counter() - t0
    software = jsb.nll(net, rolls["test"], network)
    print(f"  seed {seed}: trained in {trained:.1f} s, software test NLL {software:.3f}", flush=True)
    deployment = deploy.program_pcm(net, np.random.default_rng([seed, PCM_STREAM, 0]),
                                    noise_model=noise_model)
    result = {"n_params": net.n_params, "software_nll": software, "train_seconds": trained,
              "uncompensated": [], "compensated": [], "alpha": []}
    for t in times.values():
        drifted = deploy.read_weights(deployment, t)
        compensated = deploy.compensate(deployment, drifted)
        result["uncompensated"].append(jsb.nll(deploy.with_weights(net, drifted), rolls["test"], network))
        result["compensated"].append(jsb.nll(deploy.with_weights(net, compensated), rolls["test"], network))
        # α per matrix: the ratio of a compensated weight to its read value.
        result["alpha"].append({name: alpha_of(drifted[name], compensated[name]) for name in drifted})
    return result


def alpha_of(read: np.ndarray, compensated: np.ndarray) -> float:
    """The factor α with compensated = α·read (1 for an all-zero matrix)."""
    i = np.argmax(np.abs(read))
    return float(compensated.flat[i] / read.flat[i]) if read.flat[i] != 0 else 1.0


def mean_std(values, axis=0):
    """Mean and sample standard deviation (ddof = 1; 0 for a single value) along ``axis``."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    std = values.std(axis=axis, ddof=1) if n > 1 else np.zeros_like(values.mean(axis=axis))
    return values.mean(axis=axis), std


def summarize(metrics: dict) -> dict:
    """Mean and std over seeds of every curve, and the NLL increase at the last time."""
    summary = {"software_mean": None, "software_std": None}
    summary["software_mean"], summary["software_std"] = map(float, mean_std(metrics["software_nll"]))
    for case in CASES:
        mean, std = mean_std(metrics["nll"][case])
        summary[f"{case}_mean"], summary[f"{case}_std"] = mean.tolist(), std.tolist()
        summary[f"{case}_increase_last"] = float(mean[-1] - summary["software_mean"])
    return summary


def table(metrics: dict) -> str:
    """Test NLL (mean ± std over seeds) per time, software first."""
    s, o = metrics["summary"], metrics["options"]
    lines = [f"test NLL of {o['model']} (mean ± std over {len(o['seeds'])} seeds)",
             f"{'time':>9}  {'uncompensated':>15}  {'compensated':>15}",
             f"{'software':>9}  {s['software_mean']:8.3f} ± {s['software_std']:.3f}"]
    for i, label in enumerate(metrics["time_labels"]):
        lines.append(f"{label:>9}  " + "  ".join(f"{s[f'{c}_mean'][i]:8.3f} ± {s[f'{c}_std'][i]:.3f}"
                                                  for c in CASES))
    return "\n".join(lines)
