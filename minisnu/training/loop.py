r"""The training loop: one step, one epoch over batches, evaluation, the learning-rate schedule.

These are plain functions of a network, an optimizer and an iterable of
batches. They write no file and print nothing, so every caller uses the same
loop: ``minisnu train`` (through :mod:`minisnu.training.run_folder`), the
in-memory experiments, a tutorial, a script of your own::

    optimizer = make_optimizer("adam", net, lr=0.01)
    for epoch in range(1, epochs + 1):
        optimizer.lr = learning_rate(0.01, 0.95, epoch)
        totals = train_epoch(net, optimizer, my_batches(), my_loss)
        print(epoch, totals["loss"] / totals["count"])

What a caller brings
--------------------
- *batches*: :class:`Batch`\ es (or anything with ``x``, ``target`` and ``mask``),
  made afresh for every epoch (a generator is read once);
- a *loss* ``loss(output, batch) -> (mean loss, ∂loss/∂output, totals)``;
- for evaluation, a *score* ``score(output, batch) -> totals``, no gradient.

*totals* are sums over the batch (loss × count, hits, count, ...) that add up
over an epoch (:func:`add_totals`); the caller divides them into the epoch's
means. Sums rather than means: batches of different sizes (the last one, or
chorales of different lengths) then weigh what they hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import RunError
from ..core.validate import check_choice
from . import optim

OPTIMIZERS = ("adam", "sgd")


@dataclass
class Batch:
    """One minibatch: the network's input, the targets, and a mask of real steps (or None)."""

    x: np.ndarray
    target: np.ndarray
    mask: np.ndarray | None = None


#: A batch's loss above EXPLOSION × max(\|the epoch's first loss|, 1) is divergence (see train_epoch).
EXPLOSION = 1e3


class Diverged(RunError):
    """A training step's loss was not finite, or exploded: the weights are no longer worth training.

    ``limit`` is the bound an exploding (finite) loss crossed, None for a NaN or infinity.
    """

    def __init__(self, batch: int, loss: float, limit: float | None = None):
        why = "" if limit is None else (f" exploded above {limit:.4g} = {EXPLOSION:g} × "
                                        "max(|the epoch's first loss|, 1)")
        super().__init__(f"training diverged at batch {batch} (loss {loss}{why})")
        self.batch, self.loss, self.limit = batch, loss, limit


def make_optimizer(name: str, net, *, lr: float, weight_decay: float = 0.0) -> optim.Optimizer:
    """``"adam"`` or ``"sgd"`` on ``net``; Adam's weight decay is decoupled (AdamW), SGD's is L2."""
    check_choice("optimizer", name, OPTIMIZERS)
    if name == "adam":
        return optim.Adam(net, lr=lr, weight_decay=weight_decay, decoupled=weight_decay > 0)
    return optim.SGD(net, lr=lr, weight_decay=weight_decay)


def learning_rate(lr: float, lr_decay: float, epoch: int, plateaus: int = 0,
                  lr_plateau: float | None = None) -> float:
    """The learning rate of epoch 1, 2, ...: lr · γ^(epoch − 1) · ρ^plateaus, γ = ``lr_decay``,
    ρ = ``lr_plateau`` (1 when None), ``plateaus`` = the earlier epochs whose validation metric
    was not the best so far.

    A function of the epoch and the run's history, so a resumed run continues the same schedule.
    """
    rate = lr * lr_decay ** (epoch - 1)
    return rate if lr_plateau is None else rate * lr_plateau ** plateaus


def plateau_epochs(values, *, lower_is_better: bool = True, threshold: float = 0.0) -> int:
    r"""How many epochs, given their validation metrics in order, were plateaus for
    ``--lr-plateau``: a metric that did not better the best before it by more than the
    fraction ``threshold``,

    .. math::

        \text{plateau} &⇔ \text{not } v < \mathrm{best} · (1 − \mathrm{threshold})
            \qquad \text{(lower is better)} \\
        \text{plateau} &⇔ \text{not } v > \mathrm{best} · (1 + \mathrm{threshold})
            \qquad \text{(higher is better)}

    The first finite value is a best, never a plateau; a value that is not finite is always a
    plateau. With threshold 0 an epoch is a plateau exactly when it is not a new best.
    """
    count, best = 0, None
    for value in values:
        finite = value is not None and math.isfinite(value)
        if finite and best is None:
            best = value
            continue
        if lower_is_better:
            enough, better = finite and value < best * (1 - threshold), finite and value < best
        else:
            enough, better = finite and value > best * (1 + threshold), finite and value > best
        count += not enough
        best = value if better else best
    return count


def train_step(net, optimizer, batch, loss, *, clip: float | None = None) -> tuple[float, dict]:
    """Forward, loss, backward (hand-derived BPTT), optional clipping, update: (loss, totals)."""
    optimizer.zero_grad()
    output = net.forward(batch.x)
    value, grad, totals = loss(output, batch)
    net.backward(grad)
    if clip is not None:
        optim.clip_grad_norm(net.grads, clip)
    optimizer.step()
    return value, totals


def train_epoch(net, optimizer, batches, loss, *, clip: float | None = None, on_batch=None) -> dict:
    r"""One pass over ``batches``, one optimizer step each; the summed totals.

    Carried states start afresh. ``on_batch(totals)``, if given, is called after
    every step with the totals so far (a progress bar).

    Raises :class:`Diverged` at the first step whose loss is NaN or infinite, or
    *explodes*: with L₁ the epoch's first loss,

    .. math::

        L_i > \mathrm{EXPLOSION} · \max(|L_1|, 1) \qquad (\mathrm{EXPLOSION} = 1000)

    A jump of three orders of magnitude within one epoch is not noise: on the
    paper's tasks (``minisnu train jsb|mnist|ptb --quick``) no batch's loss
    exceeds twice the epoch's first. The floor of 1 keeps a nearly perfect
    fit (L₁ = 10⁻⁴) from calling an ordinary hard batch an explosion; a mean
    loss in nats above 1000 is a probability of e⁻¹⁰⁰⁰ for the truth, never a
    state worth training on. The rule reads this epoch alone, so a resumed run
    stops exactly where the uninterrupted one would.
    """
    net.train()
    reset_states(net)
    totals: dict = {}
    limit = None
    for i, batch in enumerate(batches):
        value, batch_totals = train_step(net, optimizer, batch, loss, clip=clip)
        if not math.isfinite(value):
            raise Diverged(i + 1, value)
        if limit is None:
            limit = EXPLOSION * max(abs(value), 1.0)
        elif value > limit:
            raise Diverged(i + 1, value, limit)
        add_totals(totals, batch_totals)
        if on_batch is not None:
            on_batch(totals)
    return totals


def evaluate(net, batches, score) -> dict:
    """The summed ``score`` totals of ``net`` over ``batches``: no training, dropout off.

    Carried states start afresh, and are reset again after the pass.
    """
    net.eval()
    reset_states(net)
    totals: dict = {}
    for batch in batches:
        add_totals(totals, score(net.forward(batch.x), batch))
    reset_states(net)
    net.train()
    return totals


def reset_states(net) -> None:
    """Start every stateful layer afresh (a no-op for the others)."""
    for layer in net.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()


def add_totals(totals: dict, new: dict) -> None:
    """Add a batch's sums to ``totals`` (in place)."""
    for key, value in new.items():
        totals[key] = totals.get(key, 0) + value
