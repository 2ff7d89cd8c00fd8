"""minisnu.viz: each helper draws on an Agg figure, makes the expected artists, refuses bad input;
the figures of the commands are drawn from their metrics alone."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from helpers import PNG_SIGNATURE
from matplotlib.collections import LineCollection, PolyCollection

from minisnu import viz
from minisnu.units.surrogate import SURROGATES

pytestmark = pytest.mark.usefixtures("close_figures")   # conftest.py: pyplot figures closed after each test


def test_import_does_not_load_pyplot_nor_the_experiments():
    code = ("import sys, minisnu.viz; assert 'matplotlib.pyplot' not in sys.modules; "
            "assert not any(m.startswith('minisnu.experiments') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- raster --------------------------------------------------------------------------------


def test_raster_draws_one_tick_per_spike(rng):
    spikes = rng.random((30, 12)) < 0.2
    ax = viz.raster(spikes)
    (ticks,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segments = ticks.get_segments()
    assert len(segments) == spikes.sum()
    t, unit = np.nonzero(spikes)
    starts = np.array([seg[0] for seg in segments])
    np.testing.assert_allclose(starts[:, 0], t + 1)          # time steps are numbered 1..T
    np.testing.assert_allclose(starts[:, 1], unit - 0.4)
    assert ax.get_ylim() == (-0.5, 11.5)
    assert ax.get_xlabel() and ax.get_ylabel()


def test_raster_of_silence_and_of_given_time():
    ax = viz.raster(np.zeros((5, 3)), time=np.arange(5) * 2.0)
    assert len(ax.collections[0].get_segments()) == 0
    assert ax.get_xlim() == (-1.0, 9.0)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 3, 4))])
def test_raster_needs_2d(bad):
    with pytest.raises(ValueError, match=r"spikes must have shape \(T, units\)"):
        viz.raster(bad)


def test_raster_rejects_a_wrong_time_and_a_non_axes():
    with pytest.raises(ValueError, match="one value per step"):
        viz.raster(np.zeros((5, 2)), time=np.arange(4))
    with pytest.raises(TypeError, match="Axes"):
        viz.raster(np.zeros((5, 2)), ax="not an axes")


# --- feature maps --------------------------------------------------------------------------


def test_feature_maps_draws_one_panel_per_channel_and_step(rng):
    spikes = (rng.random((6, 5, 4, 3)) < 0.3).astype(np.float32)   # H' ≠ W': rows stay rows
    fig = viz.feature_maps(spikes, steps=[1, 4, 6], channels=[3, 0])
    assert len(fig.axes) == 2 * 3                                     # channels × steps, row by row
    panels = iter(fig.axes)
    for c in (3, 0):
        for t in (1, 4, 6):
            ax = next(panels)
            np.testing.assert_array_equal(ax.images[0].get_array(), spikes[t - 1, c])  # t numbered 1..T
    assert [ax.get_title() for ax in fig.axes[:3]] == ["$t = 1$", "$t = 4$", "$t = 6$"]
    assert fig.axes[0].get_ylabel() == "channel 3" and fig.axes[3].get_ylabel() == "channel 0"


def test_feature_maps_with_the_image_and_the_counts_on_a_given_figure(rng):
    spikes = (rng.random((20, 10, 5, 5)) < 0.3).astype(np.float32)
    image = rng.random((7, 7))
    fig = plt.figure()
    assert viz.feature_maps(spikes, fig, image=image, counts=True) is fig
    # the image, then 8 rows (the first 8 channels) of a count and 8 steps (1..20), then the colour bar
    assert len(fig.axes) == 1 + 8 * (1 + 8) + 1
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), image)
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), spikes[:, 0].sum(axis=0))
    titles = [ax.get_title() for ax in fig.axes[2:10]]
    assert titles[0] == "$t = 1$" and titles[-1] == "$t = 20$"
    np.testing.assert_array_equal(fig.axes[10].images[0].get_array(), spikes[:, 1].sum(axis=0))


@pytest.mark.parametrize("bad", [np.zeros((5, 3, 4)), np.zeros((5, 1, 2, 3, 4))])
def test_feature_maps_needs_4d(bad):
    with pytest.raises(ValueError, match=r"spikes must have shape \(T, channels, H', W'\).*-d\)$"):
        viz.feature_maps(bad)


def test_feature_maps_rejects_bad_steps_channels_image_and_figure():
    spikes = np.zeros((5, 2, 3, 3))
    with pytest.raises(ValueError, match="steps must be time steps t between 1 and 5"):
        viz.feature_maps(spikes, steps=[0, 1])
    with pytest.raises(ValueError, match="channels must be channel indices between 0 and 1"):
        viz.feature_maps(spikes, channels=[2])
    with pytest.raises(ValueError, match="steps must be a non-empty list of integers"):
        viz.feature_maps(spikes, steps=[1.5])
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\)"):
        viz.feature_maps(spikes, image=np.zeros((1, 3, 3)))
    with pytest.raises(TypeError, match="Figure"):
        viz.feature_maps(spikes, fig=plt.gca())


# --- membrane trace ------------------------------------------------------------------------


def test_membrane_trace_has_threshold_spikes_and_resets():
    s = np.array([0.3, 0.54, 0.73, 0.89, 1.01, 0.3, 0.54])
    y = (s > 1.0).astype(float)
    ax = viz.membrane_trace(s, y, threshold=1.0)
    lines = {line.get_label(): line for line in ax.get_lines()}
    threshold = next(line for label, line in lines.items() if label.startswith("threshold"))
    assert np.all(np.asarray(threshold.get_ydata()) == 1.0)
    spikes = next(line for label, line in lines.items() if label.startswith("spike"))
    assert list(spikes.get_xdata()) == [5]
    trace = lines["membrane potential $s_t$"]
    # every step draws s_t then what the reset gate keeps, s_t (1 − y_t): 0 after the spike
    assert list(trace.get_ydata()[8:10]) == [1.01, 0.0]


def test_membrane_trace_of_a_soft_unit_marks_no_spikes():
    s = np.linspace(0, 1, 6)
    ax = viz.membrane_trace(s, 1 / (1 + np.exp(-(s - 1))), threshold=1.0, spike_label="spike")
    assert "spike" not in [line.get_label() for line in ax.get_lines()]


def test_membrane_trace_without_outputs():
    ax = viz.membrane_trace(np.linspace(0, 1, 6))
    assert len(ax.get_lines()) == 1


def test_membrane_trace_checks_shapes():
    with pytest.raises(ValueError, match=r"s must have shape \(T,\)"):
        viz.membrane_trace(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="y must have the shape of s"):
        viz.membrane_trace(np.zeros(4), np.zeros(5))


# --- surrogates ----------------------------------------------------------------------------


def test_surrogates_draws_every_surrogate():
    ax = viz.surrogates("derivative")
    assert len(ax.get_lines()) == len(SURROGATES) + 1          # + the threshold marker
    ax = viz.surrogates("primitive", names=["tanh"])
    labels = [line.get_label() for line in ax.get_lines()]
    assert "tanh" in labels and any("Heaviside" in label for label in labels)
    with pytest.raises(ValueError, match="kind"):
        viz.surrogates("integral")


# --- piano rolls ---------------------------------------------------------------------------


def test_note_name():
    assert viz.note_name(60) == "C4"
    assert viz.note_name(21) == "A0"
    assert viz.note_name(108) == "C8"


def test_piano_roll_labels_the_c_notes(rng):
    roll = rng.random((40, 88)) < 0.05
    ax = viz.piano_roll(roll)
    (image,) = ax.get_images()
    assert image.get_array().shape == (88, 40)                       # pitch up, time along x
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"C{octave} ({12 * (octave + 1)})" for octave in range(1, 9)]


def test_piano_roll_auto_range_crops_to_the_notes():
    roll = np.zeros((10, 88))
    roll[:, 60 - 21] = 1                                             # only C4
    ax = viz.piano_roll(roll, note_range="auto")
    assert ax.get_ylim() == (57.5, 62.5)


def test_piano_roll_needs_2d():
    with pytest.raises(ValueError, match="roll must have shape"):
        viz.piano_roll(np.zeros(88))


def test_note_probabilities_marks_every_target(rng):
    probs = rng.random((20, 88))
    target = rng.random((20, 88)) < 0.04
    ax = viz.note_probabilities(probs, target)
    (played,) = [line for line in ax.get_lines() if line.get_label() == "note played"]
    assert len(played.get_xdata()) == target.sum()
    assert len(ax.figure.axes) == 2                                  # the plot and its colour bar


def test_note_probabilities_checks_input():
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        viz.note_probabilities(np.full((3, 88), 2.0))
    with pytest.raises(ValueError, match="target must have the shape of probs"):
        viz.note_probabilities(np.zeros((3, 88)), np.zeros((3, 87)))


# --- PCM -----------------------------------------------------------------------------------


def test_conductance_evolution_band_traces_and_reference(rng):
    g = np.cumsum(rng.random((21, 200)), axis=0)
    ax = viz.conductance_evolution(g, traces=3, reference={1: 1.9, 2: 3.3})
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels.count("single devices") == 1 and len(ax.get_lines()) == 3 + 1 + 1
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert "s.d." in band.get_label()
    mean = next(line for line in ax.get_lines() if line.get_label() == "mean")
    np.testing.assert_allclose(mean.get_ydata(), g.mean(axis=1))
    assert "µS" in ax.get_ylabel()


def test_conductance_evolution_checks_input():
    with pytest.raises(ValueError, match="g must have shape"):
        viz.conductance_evolution(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="one value per row"):
        viz.conductance_evolution(np.zeros((5, 3)), steps=np.arange(4))
    with pytest.raises(ValueError, match="band"):
        viz.conductance_evolution(np.zeros((5, 3)), band="iqr")


def test_drift_axis_is_logarithmic_with_named_ticks(rng):
    t = np.logspace(0, np.log10(viz.YEAR), 30)
    ax = viz.drift(t, 5 * t[:, None] ** -rng.normal(0.05, 0.005, 50), label="5 µS")
    assert ax.get_xscale() == "log"
    ax.figure.canvas.draw()
    assert [tick.get_text() for tick in ax.get_xticklabels()] == list(viz.TIME_TICKS)
    np.testing.assert_allclose(ax.get_xlim(), (1.0, viz.YEAR))


def test_drift_refuses_non_positive_times_and_mismatched_rows():
    with pytest.raises(ValueError, match="> 0 seconds"):
        viz.drift(np.array([0.0, 1.0]), np.ones(2))
    with pytest.raises(ValueError, match="one row per time"):
        viz.drift(np.array([1.0, 2.0]), np.ones(3))
    with pytest.raises(ValueError, match="g must have shape"):
        viz.drift(np.array([1.0, 2.0]), np.ones((2, 2, 2)))


def test_histogram_with_normal_density(rng):
    ax = viz.histogram(rng.normal(3, 0.2, 500), normal=(3, 0.2), label="3 µS", bins=30)
    (outline,) = ax.patches                                          # one filled outline
    assert outline.get_label() == "3 µS"
    (pdf,) = ax.get_lines()
    assert pdf.get_ydata().max() == pytest.approx(1 / (0.2 * np.sqrt(2 * np.pi)), rel=0.05)


def test_heatmap_symmetric_colours(rng):
    matrix = rng.normal(size=(6, 4))
    ax = viz.heatmap(matrix, symmetric=True, colorbar="weight")
    (image,) = ax.get_images()
    low, high = image.get_clim()
    assert low == -high == -np.abs(matrix).max()
    assert len(ax.figure.axes) == 2
    with pytest.raises(ValueError, match="matrix must have shape"):
        viz.heatmap(np.zeros(3))


def test_parity_reports_the_relative_error(rng):
    exact = rng.normal(size=100)
    ax = viz.parity(exact, 1.1 * exact, label="scaled")
    assert ax.collections[0].get_label() == "scaled: relative error 10 %"
    viz.parity(exact, exact, ax=ax)
    assert sum(line.get_gid() == "diagonal" for line in ax.get_lines()) == 1   # drawn once
    with pytest.raises(ValueError, match="same size"):
        viz.parity(np.zeros(3), np.zeros(4))


def test_bars_in_order_with_labels():
    ax = viz.bars({"a": 1.0, "b": 0.5, "c": 2.0}, highlight=["c"], fmt="{:.1f}")
    assert [p.get_width() for p in ax.patches] == [1.0, 0.5, 2.0]
    assert [t.get_text() for t in ax.texts] == ["1.0", "0.5", "2.0"]
    with pytest.raises(TypeError, match="non-empty dict"):
        viz.bars([1, 2])


# --- training curves -----------------------------------------------------------------------


def test_training_curves_one_panel_per_metric():
    history = {"train_loss": [3, 2, 1], "valid_loss": [3, 2.5, 2], "valid_accuracy": [0.2, 0.4, 0.5]}
    axes = viz.training_curves(history)
    assert len(axes) == 2
    assert [line.get_label() for line in axes[0].get_lines()] == ["train", "valid"]
    assert list(axes[0].get_lines()[0].get_xdata()) == [1, 2, 3]     # epochs from 1
    assert axes[1].get_title() == "accuracy"


def test_training_curves_nested_history_on_a_given_axes():
    _, ax = plt.subplots()
    out = viz.training_curves({"train": {"nll": [9, 8]}, "valid": {"nll": [9.5, 8.7]}}, ax=ax)
    assert out is ax and len(ax.get_lines()) == 2


def test_training_curves_checks_input():
    with pytest.raises(TypeError, match="non-empty dict"):
        viz.training_curves([1, 2, 3])
    with pytest.raises(ValueError, match="one number per epoch"):
        viz.training_curves({"loss": [[1, 2], [3, 4]]})
    with pytest.raises(ValueError, match="no metric"):
        viz.training_curves({"loss": [1, 2]}, metrics=["accuracy"])
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="one Axes per metric"):
        viz.training_curves({"loss": [1], "accuracy": [0.5]}, ax=ax)



def test_training_curves_labels_name_the_panels():
    axes = viz.training_curves({"train_nll": [9, 8], "train_loss": [3, 2]}, metrics=["loss", "nll"],
                               labels={"nll": "NLL per time step"})
    assert [ax.get_title() for ax in axes] == ["loss", "NLL per time step"]
    assert axes[1].get_ylabel() == "NLL per time step"


# --- the figures the commands write, from their metrics alone ---------------------------------


@pytest.fixture
def drawn(monkeypatch):
    """The figures that viz's command figures save (they are saved too)."""
    figures = []

    def save(fig, path):
        figures.append(fig)
        return viz.save(fig, path)

    monkeypatch.setattr(viz.training, "save", save)
    monkeypatch.setattr(viz.experiments, "save", save)
    return figures


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def run_rows(metric, values):
    """The per-epoch rows of a training run, as its metrics.json has them."""
    return [{"epoch": e + 1, "train_loss": 2.0 - e / 10, f"train_{metric}": None if v is None else v + 0.5,
             "valid_loss": 2.1 - e / 10, f"valid_{metric}": v, f"test_{metric}": v - 0.1 if e == 1 else None,
             "best": e == 1}
            for e, v in enumerate(values)]


def test_run_curves_draws_the_rows_and_the_best_test_score(tmp_path, drawn):
    rows = run_rows("nll", [9.0, 8.5, float("nan"), None])
    path = viz.run_curves(rows, tmp_path / "curves.png", metric="nll", metric_label="NLL per time step",
                          best=rows[1], title="jsb, snu, seed 0")
    assert path == str(tmp_path / "curves.png")
    assert_png(tmp_path / "curves.png")
    (fig,) = drawn
    ax_loss, ax_metric = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["loss", "NLL per time step"]
    assert fig.get_suptitle() == "jsb, snu, seed 0"
    lines = {line.get_label(): line for line in ax_metric.get_lines()}
    np.testing.assert_array_equal(lines["valid"].get_ydata(), [9.0, 8.5, np.nan, np.nan])   # gaps
    np.testing.assert_array_equal(lines["train"].get_ydata(), [9.5, 9.0, np.nan, np.nan])
    np.testing.assert_array_equal(lines["valid"].get_xdata(), [1, 2, 3, 4])
    star = lines["test, at the best valid epoch"]
    assert list(star.get_xdata()) == [2] and list(star.get_ydata()) == [8.4]
    np.testing.assert_allclose(ax_loss.get_lines()[0].get_ydata(), [2.0, 1.9, 1.8, 1.7])
    assert ax_metric.get_yscale() == "linear"


def test_run_curves_of_perplexity_on_a_log_axis_without_a_best_epoch(tmp_path, drawn):
    viz.run_curves(run_rows("perplexity", [900.0, float("inf")]), tmp_path / "curves.png",
                   metric="perplexity")
    (fig,) = drawn
    assert fig.axes[1].get_yscale() == "log" and fig.axes[1].get_title() == "perplexity"
    assert len(fig.axes[1].get_lines()) == 2                          # no star


def test_drift_figure_from_its_metrics(tmp_path, drawn):
    times = [1.0, viz.HOUR, viz.YEAR]
    summary = {"software_mean": 8.0, "software_std": 0.1, "uncompensated_mean": [8.1, 8.5, 12.0],
               "uncompensated_std": [0.1, 0.2, 0.5], "compensated_mean": [8.1, 8.2, 8.4],
               "compensated_std": [0.1, 0.1, 0.2]}
    metrics = {"summary": summary, "times_s": times, "options": {"model": "snu", "seeds": [0, 1]}}
    viz.drift_figure(metrics, tmp_path / "drift.png")
    assert_png(tmp_path / "drift.png")
    (ax,) = drawn[0].axes
    assert ax.get_xscale() == "log" and "2 seeds" in ax.get_title()
    curves = [line for line in ax.get_lines() if line.get_marker() in ("s", "o")]
    np.testing.assert_array_equal([c.get_ydata() for c in curves],
                                  [summary["uncompensated_mean"], summary["compensated_mean"]])


def test_pcm_train_figure_from_its_metrics(tmp_path, drawn):
    def run(offset):
        return {"valid": [3.0 + offset, 2.5 + offset], "train": [3.2 + offset, 2.4 + offset]}

    runs = {"snu": [{"software": run(0.0), "in_memory": run(0.2)},
                    {"software": run(0.1), "in_memory": run(0.3)}]}
    summary = {"snu": {"test_software": 2.61, "test_in_memory": 2.82}}
    viz.pcm_train_figure({"runs": runs, "summary": summary}, tmp_path / "pcm_train.png")
    assert_png(tmp_path / "pcm_train.png")
    (ax,) = drawn[0].axes
    assert ax.get_title() == "SNU: test NLL 2.61 software, 2.82 in memory"
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["software (valid)"].get_ydata(), [3.05, 2.55])
    np.testing.assert_allclose(lines["52,800 PCM devices (train)"].get_ydata(), [3.45, 2.65])


def test_robustness_figure_from_its_metrics(tmp_path, drawn):
    levels = {"bits": [8, 4], "noise": [0.0, 0.1], "pcm": [1.0, viz.YEAR]}
    degradation = {kind: {"snu": {"mean": [0.0, 0.5], "std": [0.0, 0.1]},
                          "lstm": {"mean": [0.01, 2.0], "std": [0.0, 0.3]}} for kind in levels}
    metrics = {"levels": levels, "degradation": degradation, "options": {"seeds": [0], "epochs": 1}}
    viz.robustness_figure(metrics, tmp_path / "robustness.png")
    assert_png(tmp_path / "robustness.png")
    axes = drawn[0].axes
    assert len(axes) == 3 and axes[2].get_xscale() == "log"
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["SNU", "LSTM"]
    assert "1 epoch;" in drawn[0].get_suptitle()


# --- style, legend and save ----------------------------------------------------------------


def test_style_is_a_context_and_restores_the_settings():
    before = matplotlib.rcParams["axes.spines.top"]
    with viz.style():
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["savefig.dpi"] == viz.DPI
    assert matplotlib.rcParams["axes.spines.top"] == before


def test_legend_lists_each_label_once_shared_ones_last():
    ax = viz.membrane_trace(np.linspace(0, 1.2, 5), np.array([0, 0, 0, 0, 1.0]), label="a")
    viz.membrane_trace(np.linspace(0, 1.2, 5), np.array([0, 0, 0, 0, 1.0]), ax=ax, label="b")
    texts = [t.get_text() for t in viz.legend(ax).get_texts()]
    assert texts == ["a", "b", "spike $y_t = 1$, then reset"]


def test_save_writes_a_png_atomically_and_closes(tmp_path, rng):
    ax = viz.raster(rng.random((10, 4)) < 0.3)
    fig = ax.figure
    path = viz.save(ax, tmp_path / "sub" / "raster.png")             # an Axes is fine too
    data = (tmp_path / "sub" / "raster.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    assert path == str(tmp_path / "sub" / "raster.png")
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["raster.png"]   # no temporary file left


def test_save_refuses_other_formats(tmp_path):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match=r"\.png"):
        viz.save(fig, tmp_path / "figure.pdf")
