"""Time the paper's tasks end to end: a JSB training epoch and a Penn Treebank training window,
minisnu against its PyTorch peer with the same weights, in the same run.

- **JSB epoch**: the task's network (88 → 150 SNUs → 88 Dense logits, ``tasks.jsb.build_network``),
  one chorale per step (the task's batch size), forward, binary cross-entropy on the logits,
  backward, Adam. The chorales are random piano rolls with the standard training split's size
  (229 pieces of 20 to 100 steps, the real split's 13,578 steps in all give about 60 a piece;
  4 % of the keys on), or the real ones with
  ``--jsb FILE`` (any file ``minisnu train jsb --data`` reads).
- **PTB window**: the task's feed-forward SNU network (embedding 200 → 200 → 200 SNUs → 10,000
  logits), one BPTT window of 35 words × 20 columns, forward, cross-entropy, backward, Adam;
  random word ids (the cost does not depend on which words).

PyTorch runs eager (``torch_peers.py``: the SNU's time loop in Python with autograd), with as
many threads as NumPy's BLAS; without PyTorch its column is skipped. Rounds interleave the two;
medians are reported with the ratio PyTorch / minisnu. Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_tasks.py [--rounds 5] [--jsb FILE]
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import numpy as np
from timing import interleaved  # benchmarks/timing.py
from torch_peers import SKIPPED, sequential_module, torch_or_none

import minisnu as ms
from minisnu.core.options import resolve, run_options
from minisnu.data.jsb import load_jsb, piano_rolls
from minisnu.tasks import jsb, ptb

N_CHORALES, N_NOTES = 229, 88
PTB_VOCAB, PTB_STEPS, PTB_COLUMNS = 10_000, 35, 20


def random_chorales(rng) -> list:
    return [(rng.random((int(n), N_NOTES)) < 0.04).astype(np.float32)
            for n in rng.integers(20, 101, N_CHORALES)]


def real_chorales(path) -> list:
    return piano_rolls(load_jsb(path)["train"])


def jsb_epoch(net, optimizer, chorales) -> None:
    for roll in chorales:
        optimizer.zero_grad()
        z = net.forward(roll[:-1, None, :])                           # (T, 1, 88) logits
        _, grad = ms.losses.bce_with_logits(z, roll[1:, None, :])
        net.backward(grad)
        optimizer.step()


def jsb_epoch_torch(torch, model, optimizer, chorales) -> None:
    for roll in chorales:
        optimizer.zero_grad()
        z = model(roll[:-1, None, :])
        torch.nn.functional.binary_cross_entropy_with_logits(z, roll[1:, None, :]).backward()
        optimizer.step()


def ptb_network(rng):
    options = run_options(ptb.OPTIONS, resolve(ptb.OPTIONS, {"model": "snu"}))
    return ptb.build_model(options, SimpleNamespace(n_vocab=PTB_VOCAB), rng)


def ptb_window(net, optimizer, words, targets) -> None:
    optimizer.zero_grad()
    _, grad = ms.losses.lm_cross_entropy(net.forward(words), targets)
    net.backward(grad)
    optimizer.step()


def ptb_window_torch(torch, model, optimizer, words, targets) -> None:
    optimizer.zero_grad()
    z = model(words)
    torch.nn.functional.cross_entropy(z.reshape(-1, PTB_VOCAB), targets.reshape(-1)).backward()
    optimizer.step()


def report(title: str, result: dict) -> None:
    line = f"{title}: minisnu {result['minisnu']:.1f} ms"
    if "pytorch" in result:
        line += (f", pytorch eager {result['pytorch']:.1f} ms, "
                 f"pytorch / minisnu {result['pytorch'] / result['minisnu']:.2f}x")
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median is reported)")
    parser.add_argument("--jsb", metavar="FILE", help="the JSB chorales (default: random ones)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    torch = torch_or_none()

    chorales = real_chorales(args.jsb) if args.jsb else random_chorales(rng)
    net = jsb.build_network("snu", seed=0)
    variants = {"minisnu": (jsb_epoch, net, ms.optim.Adam(net, lr=1e-3), chorales)}
    if torch is not None:
        model = sequential_module(torch, net)
        variants["pytorch"] = (jsb_epoch_torch, torch, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                               [torch.from_numpy(roll) for roll in chorales])
    steps = sum(len(roll) - 1 for roll in chorales)
    report(f"JSB epoch, 88-150-88 SNU, {len(chorales)} chorales, {steps:,} steps, batch 1",
           interleaved(variants, args.rounds))

    net = ptb_network(rng)
    words = rng.integers(0, PTB_VOCAB, (PTB_STEPS, PTB_COLUMNS))
    targets = rng.integers(0, PTB_VOCAB, (PTB_STEPS, PTB_COLUMNS))
    variants = {"minisnu": (ptb_window, net, ms.optim.Adam(net, lr=1e-3), words, targets)}
    if torch is not None:
        model = sequential_module(torch, net)
        variants["pytorch"] = (ptb_window_torch, torch, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                               torch.from_numpy(words), torch.from_numpy(targets))
    report(f"PTB window, 200-200-200 SNU + 10,000 logits, {PTB_STEPS} words × {PTB_COLUMNS} columns",
           interleaved(variants, args.rounds * 4))
    if torch is None:
        print(SKIPPED)


if __name__ == "__main__":
    main()
