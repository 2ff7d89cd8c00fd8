"""A software-trained JSB network programmed into PCM, scored from 1 second to 1 year later.

The network (88 → 150 units → 88, ``--model``) is trained in software with
Adam, lr 0.01·γ^epoch (γ = ``--lr-decay``), then every weight matrix is
programmed once into PCM crossbars (aihwkit's statistical model: programming
noise, a drift exponent per device, 1/f read noise; see
:mod:`minisnu.experiments.deploy`). Biases and decays stay digital. The
conductances then drift down, g(t) = g_prog·((t + t0)/t0)^(−ν), and the test
NLL is measured on the weights read at each time t:

- without compensation: the drifted weights as read;
- with global drift compensation: each matrix scaled by
  α = mean|P·W(0)| / mean|P·W(t)| for a fixed probe input P.

Both come from the same devices and the same read, so their difference is the
compensation alone.

Seeds: seed s trains its own network (``build_network(model, s)``, chorale
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

import json
import time
from pathlib import Path

import numpy as np

from .. import viz
from ..core.io import atomic_write
from ..tasks.common import positive_float, positive_int
from ..training.trainer import RunError, finite_or_none
from . import deploy
from .jsb_network import LR, MODELS, load_rolls, nll, train_software

NAME = "drift"
SUMMARY = "a trained JSB network in PCM: test NLL from 1 second to 1 year, with and without drift compensation"

#: The times (s after programming) scored: log-spaced, the named ticks of viz among them.
TIMES = {"1 s": 1.0, "10 s": 10.0, "1 min": viz.MINUTE, "10 min": 10 * viz.MINUTE,
         "1 h": viz.HOUR, "10 h": 10 * viz.HOUR, "1 day": viz.DAY, "1 week": 7 * viz.DAY,
         "1 month": viz.MONTH, "1 year": viz.YEAR}
QUICK_TIMES = ("1 s", "1 day", "1 year")
EPOCHS, QUICK_EPOCHS = 40, 2
SEEDS, QUICK_SEEDS = (0, 1, 2), (0, 1)
LR_DECAY = 0.9
#: The second entry of the programming generator's seed, [seed, PCM_STREAM, draw]: it keeps
#: the devices' draws apart from the training's, which uses default_rng(seed).
PCM_STREAM = 1
CASES = ("uncompensated", "compensated")


def add_arguments(parser) -> None:
    parser.add_argument("--model", choices=MODELS, default="snu",
                        help="the hidden units: snu (default), ssnu, rnn, lstm or gru")
    parser.add_argument("--epochs", type=positive_int,
                        help=f"software training epochs (default {EPOCHS}; {QUICK_EPOCHS} with --quick)")
    parser.add_argument("--lr-decay", type=positive_float, default=LR_DECAY, metavar="GAMMA",
                        help=f"learning rate {LR}·GAMMA^epoch (default {LR_DECAY})")
    parser.add_argument("--seeds", type=int, nargs="+", metavar="S",
                        help="one trained network and one programming per seed "
                             f"(default {' '.join(map(str, SEEDS))}; "
                             f"{' '.join(map(str, QUICK_SEEDS))} with --quick)")
    parser.add_argument("--data", metavar="PATH",
                        help="the JSB chorales file (default: $MINISNU_DATA, the usual places)")
    parser.add_argument("--out", metavar="DIR", help="folder for metrics.json (default runs/drift-MODEL)")
    parser.add_argument("--figures", metavar="DIR", default="figures",
                        help="folder for drift_MODEL.png (default figures)")
    parser.add_argument("--quick", action="store_true",
                        help="a few chorales, 2 epochs, 3 times, 2 seeds: seconds")


def check_seeds(seeds) -> list[int]:
    """Distinct seeds >= 0, as a list; ValueError naming the problem otherwise."""
    if any(seed < 0 for seed in seeds):
        raise ValueError(f"seeds must be >= 0, got {list(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    return list(seeds)


def run(args) -> int:
    start = time.perf_counter()
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else EPOCHS)
    seeds = check_seeds(args.seeds or (QUICK_SEEDS if args.quick else SEEDS))
    times = {label: TIMES[label] for label in QUICK_TIMES} if args.quick else TIMES
    out = Path(args.out or f"runs/drift-{args.model}")
    figure = Path(args.figures) / f"drift_{args.model}.png"
    rolls, source = load_rolls(args.data, quick=args.quick)
    if not rolls["test"] or not rolls["train"]:
        raise RunError(f"{source} has no training or no test chorales")
    print(f"drift: --model {args.model}, {epochs} epochs, seeds {seeds}; data: {source}", flush=True)

    per_seed = [measure_seed(args.model, rolls, seed, epochs, args.lr_decay, times) for seed in seeds]
    metrics = {
        "command": NAME,
        "options": {"model": args.model, "epochs": epochs, "lr": LR, "lr_decay": args.lr_decay,
                    "seeds": seeds, "quick": args.quick, "data": source},
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
    plot(metrics, figure)
    print(f"wrote {out / 'metrics.json'} and {figure} in {metrics['wall_time_s']:.1f} s")
    return 0


def measure_seed(model: str, rolls: dict, seed: int, epochs: int, lr_decay: float, times: dict) -> dict:
    """Train one network (seed ``seed``), program it once, and score it at every time.

    Returns the software test NLL, the test NLL per time with and without
    compensation, and the compensation factors α per time and matrix.
    """
    t0 = time.perf_counter()
    net, _ = train_software(model, rolls, epochs, seed, lr_decay=lr_decay)
    trained = time.perf_counter() - t0
    software = nll(net, rolls["test"])
    print(f"  seed {seed}: trained in {trained:.1f} s, software test NLL {software:.3f}", flush=True)
    deployment = deploy.program_pcm(net, np.random.default_rng([seed, PCM_STREAM, 0]))
    result = {"n_params": net.n_params, "software_nll": software, "train_seconds": trained,
              "uncompensated": [], "compensated": [], "alpha": []}
    for t in times.values():
        drifted = deploy.read_weights(deployment, t)
        compensated = deploy.compensate(deployment, drifted)
        result["uncompensated"].append(nll(deploy.with_weights(net, drifted), rolls["test"]))
        result["compensated"].append(nll(deploy.with_weights(net, compensated), rolls["test"]))
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


def write_json(path: Path, content: dict) -> None:
    """``content`` as JSON at ``path`` (NaN and inf become null), atomically; folders are made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(finite_or_none(content), indent=1) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


@viz.style()
def plot(metrics: dict, path: Path) -> None:
    """Test NLL against time since programming (log axis), mean ± std over seeds; software as a line."""
    # A bare Figure (as in minisnu.training.trainer): no pyplot, no backend, no global state.
    from matplotlib.figure import Figure

    s, times = metrics["summary"], np.asarray(metrics["times_s"])
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.subplots()
    ax.axhline(s["software_mean"], color="black", linestyle="--", linewidth=1.0,
               label=f"software, {s['software_mean']:.2f}")
    ax.axhspan(s["software_mean"] - s["software_std"], s["software_mean"] + s["software_std"],
               color="black", alpha=0.08, linewidth=0)
    for case, color, marker in (("uncompensated", viz.VERMILLION, "s"), ("compensated", viz.GREEN, "o")):
        ax.errorbar(times, s[f"{case}_mean"], yerr=s[f"{case}_std"], color=color, marker=marker,
                    capsize=3, label=f"PCM, {'global drift compensation' if case == 'compensated' else 'no compensation'}")
    viz.log_time_axis(ax, start=min(times) / 1.5, stop=max(times) * 1.5)
    o = metrics["options"]
    ax.set(title=f"{o['model'].upper()} network in PCM: test NLL after programming "
                 f"({len(o['seeds'])} seeds)",
           xlabel="time since programming", ylabel="test NLL per time step")
    ax.legend(loc="upper left")
    viz.save(fig, path)
