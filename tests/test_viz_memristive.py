"""minisnu.viz.memristive: each plot of the all-memristive network draws the expected artists on an
Agg figure and refuses bad input with an error that names it."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from minisnu import viz
from minisnu.memristive import STDPConfig
from minisnu.memristive.stdp import potentiation_pulses
from minisnu.viz.memristive import GROUP_COLORS, INDEPENDENT_COLOR, group_color, group_name

G_FIRE = 5.0


pytestmark = pytest.mark.usefixtures("close_figures")   # conftest.py: pyplot figures closed after each test


def groups_of(M=20, sizes=(4, 3)):
    """The (M,) groups of correlated_spikes: the groups in blocks at the start, then −1."""
    groups = np.full(M, -1, np.int64)
    start = 0
    for k, size in enumerate(sizes):
        groups[start:start + size] = k
        start += size
    return groups


# --- colours and names -----------------------------------------------------------------------


def test_each_group_keeps_its_colour_and_independent_inputs_are_grey():
    assert group_color(-1) == INDEPENDENT_COLOR
    assert [group_color(k) for k in range(len(GROUP_COLORS))] == list(GROUP_COLORS)
    assert group_color(len(GROUP_COLORS)) == GROUP_COLORS[0]
    assert group_name(-1, 2) == "independent"
    assert group_name(0, 1) == "correlated"
    assert group_name(1, 3) == "group 2"


# --- the membrane ----------------------------------------------------------------------------


def test_membrane_conductance_drops_to_the_reset_level_at_each_spike():
    g = np.array([1.0, 2.5, 4.0, 5.5, 2.0, 4.2, 5.1, 1.5])
    spikes = np.array([3, 6])
    ax = viz.membrane_conductance(g, spikes, G_FIRE, g_reset=0.1)
    trace, threshold, marks, resets = ax.get_lines()
    x, y = trace.get_data()
    assert len(x) == len(g) + len(spikes)                      # one extra point per RESET
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 3, 4, 5, 6, 6, 7])
    np.testing.assert_allclose(y, [1.0, 2.5, 4.0, 5.5, 0.1, 2.0, 4.2, 5.1, 0.1, 1.5])
    assert threshold.get_ydata()[0] == G_FIRE
    np.testing.assert_array_equal(marks.get_xdata(), spikes)
    np.testing.assert_allclose(marks.get_ydata(), [5.5, 5.1])
    np.testing.assert_allclose(resets.get_ydata(), [0.1, 0.1])
    labels = ax.get_legend_handles_labels()[1]
    assert any("5 µS" in label for label in labels) and any("RESET" in label for label in labels)
    assert ax.get_ylim()[0] == 0 and ax.get_xlabel() and ax.get_ylabel()


def test_membrane_conductance_of_a_subsampled_trace_marks_unrecorded_spikes_on_the_threshold():
    g = np.array([1.0, 3.0, 2.0, 4.0])
    time = np.array([0, 2, 4, 6])
    ax = viz.membrane_conductance(g, [3], G_FIRE, time=time)
    trace, _, marks, resets = ax.get_lines()
    assert len(trace.get_xdata()) == 4                        # no drop: the spike's step was not traced
    np.testing.assert_array_equal(marks.get_xdata(), [3])
    np.testing.assert_allclose(marks.get_ydata(), [G_FIRE])
    assert len(resets.get_xdata()) == 0


def test_membrane_conductance_draws_on_the_given_axes_without_spikes():
    _, ax = plt.subplots()
    assert viz.membrane_conductance(np.linspace(0, 4, 10), ax=ax) is ax
    assert ax.get_legend_handles_labels()[1] == ["membrane: conductance $G$ of the neuron's cell"]


@pytest.mark.parametrize("kwargs, match", [
    ({"conductance": np.ones((3, 2))}, "conductance must have shape"),
    ({"conductance": [1.0, np.nan]}, "conductance must be finite"),
    ({"conductance": ["a", "b"]}, "conductance must hold real numbers"),
    ({"time": [0, 1]}, "time must have one value per conductance"),
    ({"g_fire": np.inf}, "g_fire must be a finite"),
    ({"spike_times": [[1]]}, "spike_times must have shape"),
])
def test_membrane_conductance_refuses_bad_input(kwargs, match):
    args = {"conductance": [1.0, 2.0, 3.0], "spike_times": [], "g_fire": G_FIRE} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        viz.membrane_conductance(**args)


# --- the STDP rule ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", [None, STDPConfig(window=3, pulses_max=3)])
def test_stdp_window_shows_the_rule_s_pulses_and_the_depression(config):
    ax = viz.stdp_window(config)
    rule = STDPConfig() if config is None else config
    tau = rule.window
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and np.isclose(p.get_width(), 0.7)]
    up = sorted((round(b.get_x() + 0.35), b.get_height()) for b in bars if b.get_height() > 0)
    down = [b for b in bars if b.get_height() < 0]
    since = np.arange(tau)
    assert up == sorted(zip(-since, potentiation_pulses(since, rule)))   # bars at t_in − t_out = −Δ
    assert len(down) == 3 and all(b.get_height() == -1 for b in down)     # τ + 3 steps shown
    assert ax.get_yticklabels()[0].get_text() == "RESET"
    labels = ax.get_legend_handles_labels()[1]
    assert f"= {rule.depression_misses} misses" in labels[1]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_stdp_window_span():
    ax = viz.stdp_window(span=10)
    assert sum(p.get_height() < 0 for p in ax.patches if isinstance(p, Rectangle)) == 10 - 2


@pytest.mark.parametrize("kwargs, error, match", [
    ({"config": "stdp"}, TypeError, "config must be an STDPConfig"),
    ({"span": 0}, ValueError, "span must be an int >= 1"),
    ({"span": 2.5}, ValueError, "span must be an int"),
])
def test_stdp_window_refuses_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        viz.stdp_window(**kwargs)


# --- the weights -----------------------------------------------------------------------------


def test_weights_over_time_draws_one_line_per_synapse_coloured_by_group(rng):
    groups = groups_of()
    weights = rng.uniform(0, 10, (6, 2, 20))
    times = np.arange(0, 60, 10)
    ax = viz.weights_over_time(times, weights, groups, neuron=1)
    collections = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in collections] == [13, 4, 3]      # independent first: behind
    independent, first = collections[0].get_segments(), collections[1].get_segments()
    np.testing.assert_allclose(independent[0], np.column_stack([times, weights[:, 1, 7]]))
    np.testing.assert_allclose(first[3], np.column_stack([times, weights[:, 1, 3]]))
    means = ax.get_lines()
    assert len(means) == 3
    np.testing.assert_allclose(means[1].get_ydata(), weights[:, 1, :4].mean(axis=1))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "group 1: 4 inputs", "group 2: 3 inputs", "independent: 13 inputs"]
    assert ax.get_xlim() == (0, 50)


def test_weights_over_time_without_a_legend(rng):
    ax = viz.weights_over_time(np.arange(4), rng.uniform(0, 10, (4, 8)), groups_of(8, (3,)), legend=None)
    assert ax.get_legend() is None


def test_weights_over_time_of_one_neuron_without_means(rng):
    ax = viz.weights_over_time(np.arange(4), rng.uniform(0, 10, (4, 8)), groups_of(8, (3,)), means=False)
    assert not ax.get_lines()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["correlated: 3 inputs",
                                                                   "independent: 5 inputs"]


@pytest.mark.parametrize("kwargs, match", [
    ({"times": np.arange(5)}, "times must have one value per snapshot"),
    ({"weights": np.ones(6)}, "weights must have shape"),
    ({"groups": np.zeros(19)}, "groups must have one entry per input"),
    ({"groups": np.full(20, -2)}, "groups must be >= -1"),
    ({"groups": np.full(20, 0.5)}, "groups must hold whole numbers"),
    ({"neuron": 2}, "neuron must be an int in"),
])
def test_weights_over_time_refuses_bad_input(kwargs, match):
    args = {"times": np.arange(6), "weights": np.ones((6, 2, 20)), "groups": groups_of()} | kwargs
    with pytest.raises(ValueError, match=match):
        viz.weights_over_time(**args)


def test_weight_histogram_counts_each_group_on_shared_bins(rng):
    groups = groups_of(30, (10,))
    w = np.where(groups >= 0, rng.uniform(8, 10, 30), rng.uniform(0, 2, 30))
    ax = viz.weight_histogram(np.stack([np.zeros(30), w]), groups, neuron=1, bins=10)
    assert len(ax.patches) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["correlated (10)", "independent (20)"]
    assert ax.get_ylabel() == "synapses"


@pytest.mark.parametrize("weights, groups, match", [
    (np.ones(5), groups_of(6, (2,)), "groups must have one entry per input"),
    (np.ones((2, 2, 5)), groups_of(5, (2,)), "final_weights must have shape"),
    (np.ones((0,)), np.ones(0), "final_weights holds no synapse"),
])
def test_weight_histogram_refuses_bad_input(weights, groups, match):
    with pytest.raises(ValueError, match=match):
        viz.weight_histogram(weights, groups)


def test_synapse_map_shows_the_weights_and_marks_each_group(rng):
    groups = groups_of(20, (4, 3, 5))
    w = rng.uniform(0, 10, (3, 20))
    ax = viz.synapse_map(w, groups, neuron_labels=["a", "b", "c"])
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    np.testing.assert_array_equal(image.get_array(), w)
    strips = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [(p.get_x() + 0.5, p.get_width()) for p in strips] == [(0, 4), (4, 3), (7, 5)]
    assert [matplotlib.colors.to_hex(p.get_facecolor()) for p in strips] == [
        c.lower() for c in GROUP_COLORS[:3]]
    assert [t.get_text() for t in ax.texts] == ["group 1", "group 2", "group 3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert len(ax.figure.axes) == 2                                     # the colour bar


def test_synapse_map_default_labels_and_no_colour_bar(rng):
    ax = viz.synapse_map(rng.uniform(0, 10, (2, 9)), groups_of(9, (3,)), colorbar=None)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["neuron 1", "neuron 2"]
    assert len(ax.figure.axes) == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"final_weights": np.ones(20)}, "final_weights must have shape"),
    ({"groups": groups_of(21)}, "groups must have one entry per input"),
    ({"neuron_labels": ["only one"]}, "neuron_labels must name the 2 neurons"),
])
def test_synapse_map_refuses_bad_input(kwargs, match):
    args = {"final_weights": np.ones((2, 20)), "groups": groups_of()} | kwargs
    with pytest.raises(ValueError, match=match):
        viz.synapse_map(**args)


# --- the detection quality -------------------------------------------------------------------


def test_detection_quality_draws_mean_and_spread_over_seeds_and_the_lines_once():
    c = np.array([0.5, 0.1, 0.3])
    auc = np.array([[1.0, 0.98], [0.6, 0.5], [0.9, 0.94]])
    ax = viz.detection_quality(c, auc, label="PCM devices", color=viz.VERMILLION)
    viz.detection_quality(c, [1.0, 0.7, 1.0], ax=ax, label="ideal devices", color=viz.BLUE)
    pcm, ideal = ax.containers
    x, y = pcm.lines[0].get_data()
    np.testing.assert_allclose(x, [0.1, 0.3, 0.5])                      # sorted by c
    np.testing.assert_allclose(y, [0.55, 0.92, 0.99])
    (bars,) = pcm.lines[2]
    np.testing.assert_allclose([seg[1, 1] - seg[0, 1] for seg in bars.get_segments()],
                               2 * auc[[1, 2, 0]].std(axis=1))
    assert not ideal.lines[2]                                           # one seed: no error bars
    gids = [line.get_gid() for line in ax.get_lines()]
    assert gids.count("target") == 1 and gids.count("chance") == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "PCM devices (2 seeds)", "ideal devices", "detected: AUC 0.9", "chance: 0.5"]
    assert ax.get_ylim() == (0.45, 1.02)


def test_detection_quality_extends_below_chance():
    ax = viz.detection_quality([0.1], [[0.3, 0.4]], target=None)
    assert ax.get_ylim()[0] < 0.3
    assert [line.get_gid() for line in ax.get_lines()].count("target") == 0


@pytest.mark.parametrize("c, auc, match", [
    ([0.5, 1.5], [1.0, 1.0], r"c must lie in \[0, 1\]"),
    ([], [], "c holds no correlation"),
    ([0.5, 0.2], [1.0], "auc must have one row per c"),
    ([0.5], [1.2], r"auc must hold AUC values in \[0, 1\]"),
    ([0.5], np.ones((1, 0)), "auc holds no seed"),
    ([[0.5]], [1.0], "c must have shape"),
])
def test_detection_quality_refuses_bad_input(c, auc, match):
    with pytest.raises(ValueError, match=match):
        viz.detection_quality(c, auc)
