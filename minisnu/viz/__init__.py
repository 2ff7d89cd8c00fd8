r"""Plotting helpers for spiking units and phase-change memory, with Matplotlib.

Every plotting function draws on the Matplotlib ``Axes`` passed as ``ax`` (a new
figure when ``ax`` is None) and returns the axes it drew on, so calls compose
and a figure is saved in one line (a helper that draws a grid of panels,
:func:`~minisnu.viz.spikes.feature_maps`, takes a ``fig`` instead and returns the figure)::

    >>> from minisnu import viz
    >>> y = layer.forward(x)                      # (T, B, units)
    >>> ax = viz.raster(y[:, 0])                  # the spikes of sample 0
    >>> viz.save(ax.figure, "figures/spikes.png")

What is here, one module per subject (each name is also here, ``viz.raster``):

- :mod:`.spikes`, spiking units: :func:`~minisnu.viz.spikes.raster`,
  :func:`~minisnu.viz.spikes.membrane_trace`, :func:`~minisnu.viz.spikes.surrogates`,
  and :func:`~minisnu.viz.spikes.feature_maps`, a convolutional layer's spikes as a grid
  of channels × time steps;
- :mod:`.music`, JSB piano rolls: :func:`~minisnu.viz.music.piano_roll`,
  :func:`~minisnu.viz.music.note_probabilities`, :func:`~minisnu.viz.music.note_name`;
- :mod:`.pcm`, phase-change memory: :func:`~minisnu.viz.pcm.conductance_evolution`,
  :func:`~minisnu.viz.pcm.drift`, :func:`~minisnu.viz.pcm.log_time_axis`, and the time
  spans :data:`~minisnu.core.timespans.MINUTE` ... :data:`~minisnu.core.timespans.YEAR`;
- :mod:`.charts`, any numbers: :func:`~minisnu.viz.charts.heatmap`,
  :func:`~minisnu.viz.charts.histogram`, :func:`~minisnu.viz.charts.parity` (with
  :func:`~minisnu.viz.charts.relative_error`), :func:`~minisnu.viz.charts.bars`;
- :mod:`.training`: :func:`~minisnu.viz.training.training_curves`,
  :func:`~minisnu.viz.training.run_curves` (the ``curves.png`` of a ``minisnu train``
  run), and :func:`~minisnu.viz.training.metric_vs_steps` (a trained run's score
  against T, ``minisnu eval --test-steps``);
- :mod:`.memristive`, the all-memristive network of :mod:`minisnu.memristive`:
  :func:`~minisnu.viz.memristive.membrane_conductance`,
  :func:`~minisnu.viz.memristive.stdp_window`, :func:`~minisnu.viz.memristive.weights_over_time`,
  :func:`~minisnu.viz.memristive.weight_histogram`, :func:`~minisnu.viz.memristive.synapse_map`,
  :func:`~minisnu.viz.memristive.detection_quality`;
- :mod:`.sweeps`: the figures of ``minisnu sweep``, :func:`~minisnu.viz.sweeps.sweep_history`
  and :func:`~minisnu.viz.sweeps.sweep_options`;
- :mod:`.experiments`: the figures of ``minisnu drift``, ``pcm-train`` and
  ``robustness`` (:func:`~minisnu.viz.experiments.drift_figure`,
  :func:`~minisnu.viz.experiments.pcm_train_figure`,
  :func:`~minisnu.viz.experiments.robustness_figure`), each drawn from the command's metrics;
- :mod:`.figure`, the look and the files: :func:`~minisnu.viz.figure.style`, the colours,
  :func:`~minisnu.viz.figure.legend`, :func:`~minisnu.viz.figure.save`.

Conventions, the same as the rest of minisnu: arrays are time-major, (T, units);
time steps are numbered t = 1..T as in the equations; conductances are in µS and
times in seconds.

Look. The functions draw under :func:`~minisnu.viz.figure.style` (a
``matplotlib.rc_context``), so their fonts, colours and line widths agree wherever
they are called; wrap your own figures in ``with viz.style():`` to match them.
Importing this package does not import ``matplotlib.pyplot`` (and so picks no
backend): pyplot is imported only when a function has to make a new figure for you;
the figures the commands write are bare Matplotlib figures, without pyplot. Nothing
here calls ``plt.show()``.

The package sits at the top of minisnu's layers: it may import any other part
of minisnu, and no part of the library below the command line imports it.
"""
from .charts import bars, heatmap, histogram, parity, relative_error
from .experiments import FIGURES, correlations_figure, drift_figure, pcm_train_figure, robustness_figure
from .figure import (
    BLUE,
    DPI,
    GREEN,
    ORANGE,
    PALETTE,
    PURPLE,
    SKY,
    SPIKE,
    STYLE,
    THRESHOLD,
    VERMILLION,
    YELLOW,
    legend,
    save,
    style,
)
from .memristive import (
    detection_quality,
    membrane_conductance,
    stdp_window,
    synapse_map,
    weight_histogram,
    weights_over_time,
)
from .music import LOWEST_NOTE, NOTE_NAMES, note_name, note_probabilities, piano_roll
from .pcm import (
    DAY,
    HOUR,
    MINUTE,
    MONTH,
    TIME_TICKS,
    YEAR,
    conductance_evolution,
    drift,
    log_time_axis,
)
from .spikes import feature_maps, membrane_trace, raster, surrogates
from .sweeps import sweep_history, sweep_options
from .training import metric_vs_steps, run_curves, training_curves

__all__ = [
    "BLUE",
    "DAY",
    "DPI",
    "FIGURES",
    "GREEN",
    "HOUR",
    "LOWEST_NOTE",
    "MINUTE",
    "MONTH",
    "NOTE_NAMES",
    "ORANGE",
    "PALETTE",
    "PURPLE",
    "SKY",
    "SPIKE",
    "STYLE",
    "THRESHOLD",
    "TIME_TICKS",
    "VERMILLION",
    "YEAR",
    "YELLOW",
    "bars",
    "conductance_evolution",
    "correlations_figure",
    "detection_quality",
    "drift",
    "drift_figure",
    "feature_maps",
    "heatmap",
    "histogram",
    "legend",
    "log_time_axis",
    "membrane_conductance",
    "membrane_trace",
    "metric_vs_steps",
    "note_name",
    "note_probabilities",
    "parity",
    "pcm_train_figure",
    "piano_roll",
    "raster",
    "relative_error",
    "robustness_figure",
    "run_curves",
    "save",
    "stdp_window",
    "style",
    "surrogates",
    "sweep_history",
    "sweep_options",
    "synapse_map",
    "training_curves",
    "weight_histogram",
    "weights_over_time",
]
