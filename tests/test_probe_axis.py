"""Probes along any direction: NetPyNE's depth axis is y, and nothing may assume z.

A tiny real network (NEURON, LFPykit) with its cells and a laminar probe along y, recorded into
a run file; every laminar figure and the CSD must then work without options, label contacts by
their y and name the axis.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import signals
from signals.analysis.csd import csd
from signals.electrodes import laminar, probe_axis
from signals.recorders import LFP, Spikes

SCRIPT = Path(sys.executable).with_name("signals")
Y = np.arange(-900.0, -99.0, 100.0)  # 9 contacts along y, NetPyNE-style (y = -depth)


@pytest.fixture(scope="module")
def y_run(tmp_path_factory):
    """Three ball-and-stick cells whose dendrites run along +y, and a probe along y."""
    from conftest import BallAndStick

    cells = [BallAndStick(gid, origin=(60.0 * gid - 60.0, -800.0, 20.0 * gid), direction=(0, 1, 0),
                          population="E" if gid < 2 else "I", start=2.0 + 3 * gid) for gid in range(3)]
    net = signals.network.from_neuron(cells)
    path = tmp_path_factory.mktemp("yprobe") / "y.nc"
    signals.record(net, [LFP(laminar(x=0, y=Y, z=0)), Spikes()],
                   tstop=60, dt=0.025, path=path, progress=False)
    del cells
    return path


def plot(*args):
    return subprocess.run([str(SCRIPT), "plot", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_probe_axis_in_any_direction():
    a = probe_axis(laminar(x=0, y=Y, z=0).positions)
    assert a.name == "y" and a.label == "electrode y (µm)"
    assert_allclose(a.position, Y)
    assert list(a.order) == list(range(Y.size))[::-1]  # top (highest y) first
    oblique = probe_axis(laminar(x=0.6 * Y, y=5.0, z=0.8 * Y).positions)
    assert oblique.name == "probe" and "along the probe" in oblique.label
    assert_allclose(oblique.direction, [0.6, 0, 0.8], atol=1e-12)
    assert_allclose(oblique.position, Y, atol=1e-9)
    with pytest.raises(ValueError, match="not on one straight line"):
        probe_axis(signals.electrodes.mea(3, 2, 25.0).positions)
    with pytest.raises(ValueError, match="two contacts"):
        probe_axis([[0, 0, 0], [0, 0, 0]])


def test_electrodes_sorted_and_picked_from_the_top_down():
    """Any listing order: top (highest y) first; a subset keeps that order; spread picks."""
    import xarray as xr

    from signals.analysis.data import pick_electrodes, sort_electrodes

    rng = np.random.default_rng(0)
    shuffled = rng.permutation(Y.size)
    pos = laminar(x=0, y=Y, z=0).positions[shuffled]
    labels = [f"e{i:02d}" for i in shuffled]
    da = xr.DataArray(np.zeros((3, Y.size)), dims=("time", "electrode"),
                      coords={"time": [0.0, 1.0, 2.0], "electrode": labels,
                              **{f"electrode_{c}": ("electrode", pos[:, k]) for k, c in enumerate("xyz")}})
    top_down = [f"e{i:02d}" for i in range(Y.size)][::-1]
    assert list(sort_electrodes(da)["electrode"].values) == top_down
    assert list(pick_electrodes(da, ["e01", "e05", "e03"])["electrode"].values) == ["e05", "e03", "e01"]
    four = pick_electrodes(da, max_default=4)["electrode"].values
    assert list(four) == [top_down[i] for i in (0, 3, 5, 8)]  # 9 contacts, evenly spread
    with pytest.raises(KeyError, match="unknown electrode"):
        pick_electrodes(da, ["e99"])


def test_csd_of_a_y_probe(y_run):
    ds = signals.open_run(y_run)
    c = csd(ds.lfp)
    assert c.attrs["probe_axis"] == "y"
    assert_allclose(c["electrode_y"].values, Y[::-1])
    assert_allclose(c["probe_position"].values, Y[::-1])
    assert np.abs(c.values).max() > 0
    ds.close()


def test_laminar_figures_of_a_y_probe(y_run):
    """plot lfp, csd, lfpsummary: contacts labelled by y, axis named y, plotted data = analysis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from signals import plots

    ds = signals.open_run(y_run)
    labels = [f"{v:.0f}" for v in Y[::-1]]
    fig = plots.plot_lfp(ds)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    assert ax.get_ylabel() == "electrode y (µm)"
    top = ax.lines[0].get_ydata()  # first trace: the top contact, offset to the top row
    lfp_top = ds.lfp.sel(electrode=ds.electrode.values[-1]).values
    assert_allclose(top - top.mean(), lfp_top - lfp_top.mean(), atol=1e-12)
    plt.close(fig)

    fig = plots.plot_csd(ds, max_columns=10_000)  # every sample: the image is the CSD itself
    ax = fig.axes[0]
    assert ax.get_ylabel() == "electrode y (µm)"
    image = ax.images[0]
    c = csd(ds.lfp).transpose("electrode", "time").values
    assert_allclose(np.asarray(image.get_array()), c[::-1], rtol=1e-12)  # lowest y at the bottom
    lo, hi = image.get_extent()[2:]
    assert lo == pytest.approx(Y.min() - 50) and hi == pytest.approx(Y.max() + 50)
    plt.close(fig)

    fig = plots.plot_lfp_summary(ds)
    titles = [a.get_title(loc="left") for a in fig.axes if a.get_title(loc="left")]
    assert len(titles) == 4 and len(set(titles)) == 4
    assert all("(y = " in t for t in titles), titles
    plt.close(fig)
    ds.close()


def test_electrode_figure_picks_the_view_along_the_probe(y_run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from signals import plots

    ds = signals.open_run(y_run)
    assert plots.electrode_view(ds) == "xy"
    fig = plots.plot_electrodes(ds)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (µm)", "y (µm)")
    texts = [t.get_text() for t in ax.texts]
    assert texts == [str(e) for e in ds.electrode.values]  # one label per contact, apart
    assert len({t.xy for t in ax.texts}) == Y.size
    plt.close(fig)
    fig = plots.plot_network_2d(ds)  # the same view for the cells: y (depth) vertical
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("x (µm)", "y (µm)")
    plt.close(fig)
    fig = plots.plot_electrodes(ds, view="xz")  # looking down the probe: one point, one label
    assert [t.get_text() for t in fig.axes[0].texts] == ["e00…e08 (9 contacts)"]
    plt.close(fig)
    ds.close()


@pytest.mark.parametrize("kind", ["lfp", "csd", "lfpsummary", "electrodes", "psd", "bandpower",
                                  "coherence", "spectrogram"])
def test_cli_needs_no_flags_for_a_y_probe(y_run, kind):
    png = y_run.with_name(f"y_{kind}.png")
    res = plot(kind, y_run, "-o", png)
    assert res.returncode == 0, res.stderr
    assert png.stat().st_size > 0


def test_cli_view_option_overrides(y_run):
    png = y_run.with_name("y_electrodes_zy.png")
    res = plot("electrodes", y_run, "--view", "zy", "-o", png)
    assert res.returncode == 0, res.stderr
