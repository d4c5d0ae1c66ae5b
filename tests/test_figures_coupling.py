"""Figures of the coupling, PAC, aperiodic and event analyses, and the PSD of many runs.

Drawn from a 100 ms demo run (and a probe along y), read back from the artists and compared
with the analysis functions they draw.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
from conftest import signals_cli
from numpy.testing import assert_allclose

import signals
from signals import plots
from signals.analysis import (
    comodulogram,
    event_average,
    event_times,
    parameterize_spectrum,
    psd,
    spike_triggered_average,
)
from signals.analysis.data import pick_electrodes, population_depth_order, sort_electrodes

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory):
    """Three 60 ms demo runs with seeds 1, 2, 3."""
    folder = tmp_path_factory.mktemp("seeds")
    paths = []
    for seed in (1, 2, 3):
        out = folder / f"out{seed}"
        res = signals_cli("demo", "--out", out, "--tstop", 60, "--seed", seed)
        assert res.returncode == 0, res.stderr
        paths.append((out / "run.nc").rename(folder / f"seed{seed}.nc"))
    return paths


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_stlfp_draws_the_spike_triggered_average_by_depth(ds):
    fig = plots.plot_stlfp(ds, window=(-20, 20))
    ax = fig.axes[0]
    names = population_depth_order(ds)
    sta = spike_triggered_average(ds, sort_electrodes(ds.lfp), window=(-20, 20), populations=names)
    n_el = ds.sizes["electrode"]
    traces = [line for line in ax.lines if np.size(line.get_xdata()) == sta.sizes["lag"]]
    assert len(traces) == len(names) * n_el
    colors = plots.population_colors(ds["population"].values)
    spacing = None
    for k, pop in enumerate(names):
        for i in range(n_el):
            line = traces[k * n_el + i]
            v = sta["sta"].sel(population=pop).isel(electrode=i).values
            drawn = line.get_ydata()
            if spacing is None:
                spacing = (drawn - (v - v.mean()))[0] / (n_el - 1)
            assert_allclose(drawn, v - v.mean() + (n_el - 1 - i) * spacing, rtol=1e-9, atol=1e-15)
            assert np.allclose(matplotlib.colors.to_rgba(line.get_color()), colors[pop])
    texts = legend_texts(ax)
    for pop in names:
        n = int(sta["n_spikes"].sel(population=pop))
        assert f"{pop} ({n} spikes)" in texts or (n == 0 and f"{pop} (no spikes)" in texts)
    assert ax.get_ylabel() == "electrode z (µm)" and "(ms)" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "-50"  # top contact first
    assert "mV" in " ".join(t.get_text() for t in ax.texts)  # the scale bar


def test_sfc_panels_and_phase_locking_profile(ds):
    with pytest.warns(UserWarning, match="shorter than 8 coherence segments"):
        fig = plots.plot_sfc(ds, band=(30, 80))
    panels = [a for a in fig.axes if a.get_ylabel() == "coherence"]
    assert len(panels) == 4
    for a in panels:
        assert len(a.lines) == 4
        for line in a.lines:
            y = line.get_ydata()
            assert np.all((y[np.isfinite(y)] >= 0) & (y[np.isfinite(y)] <= 1 + 1e-12))
        assert a.get_xlim()[0] > 0
    (profile,) = [a for a in fig.axes if a.get_xlabel() == "pairwise phase consistency"]
    assert profile.get_ylabel() == "electrode z (µm)"
    lock = signals.analysis.spike_phase_locking(ds, sort_electrodes(ds.lfp), band=(30, 80), edge=20.0,
                                                populations=population_depth_order(ds))
    for line, pop in zip(profile.lines, population_depth_order(ds), strict=False):
        assert_allclose(line.get_xdata(), lock["ppc"].sel(population=pop).values, equal_nan=True)
    assert "Hz resolution" in fig._suptitle.get_text()
    assert fig.legends and "spikes" in fig.legends[0].get_title().get_text()


def test_pac_heat_maps_equal_the_comodulogram(ds):
    pf, af = [40, 60, 80], [200, 260, 320]
    fig = plots.plot_pac(ds, phase_freqs=pf, amp_freqs=af, n_surrogates=20, rng=3)
    da = pick_electrodes(ds.lfp, max_default=4)
    c = comodulogram(da, phase_freqs=pf, amp_freqs=af, n_surrogates=20, rng=3)
    panels = [a for a in fig.axes if a.get_ylabel() == "amplitude frequency (Hz)" or a.get_title()]
    panels = [a for a in panels if any(np.ndim(m.get_array()) == 2 for m in a.collections)]
    assert len(panels) == 4
    for i, a in enumerate(panels):
        (mesh,) = [m for m in a.collections if np.ndim(m.get_array()) == 2]
        assert_allclose(np.asarray(mesh.get_array()), c["mi"].isel(electrode=i).values.T)
        sig = c["mi"].isel(electrode=i) > c["mi_threshold"].isel(electrode=i)
        marks = [m for m in a.collections if isinstance(m, matplotlib.collections.PathCollection)]
        assert sum(m.get_offsets().shape[0] for m in marks) == int(sig.sum())
    assert "modulation index" in " ".join(a.get_ylabel() for a in fig.axes)
    assert "20 time-shift surrogates" in fig._suptitle.get_text()
    assert panels[-1].get_xlabel() == "phase frequency (Hz)"


def test_pac_of_a_short_run_adapts_its_phase_bands(ds):
    with pytest.warns(UserWarning, match="phase bands from 40 Hz"):
        fig = plots.plot_pac(ds, electrodes=["e05"], n_surrogates=0)
    assert "no surrogates" in fig._suptitle.get_text()


def test_aperiodic_fit_and_exponent_by_depth(ds):
    fig = plots.plot_aperiodic(ds)
    a0, a1 = fig.axes[:2]
    assert a0.get_xscale() == "log" and a0.get_yscale() == "log"
    assert "mV²/Hz" in a0.get_ylabel() and a0.get_xlabel() == "frequency (Hz)"
    p = psd(sort_electrodes(ds.lfp), fmax=200.0)
    p = p.isel(frequency=p["frequency"].values > 0)
    res = float(p.attrs["frequency_resolution"])
    f = p["frequency"].values
    fit = parameterize_spectrum(p, freq_range=(max(2.0, f[0]), f[-1]),
                                peak_width_limits=(max(1.0, 2 * res), max(12.0, 6 * res)))
    (points,) = [c for c in a1.collections if c.get_offsets().shape[0] == ds.sizes["electrode"]]
    assert_allclose(points.get_offsets()[:, 0], fit.exponent.values)
    assert_allclose(points.get_offsets()[:, 1], sort_electrodes(ds.lfp).electrode_z.values)
    assert a1.get_ylabel() == "electrode z (µm)" and "exponent" in a1.get_xlabel()
    dashed = [line for line in a0.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 4  # the aperiodic fit of each spectrum shown
    assert len([line for line in a0.lines if line.get_linestyle() == "-"]) == 4
    assert any(t.get_text().endswith(f"{float(fit.exponent[0]):.2f}") for t in a0.get_legend().get_texts())


def test_erp_mean_and_bootstrap_band(ds):
    fig = plots.plot_erp(ds, event_populations=["I2"], window=(-10, 20), n_boot=200, rng=1)
    ax = fig.axes[0]
    da = sort_electrodes(ds.lfp)
    erp = event_average(da, event_times(ds, populations=["I2"]), window=(-10, 20), n_boot=200, rng=1)
    means = [line for line in ax.lines if np.size(line.get_xdata()) == erp.sizes["lag"]]
    assert len(means) == ds.sizes["electrode"]
    m = erp["mean"].values
    offsets = [means[i].get_ydata() - (m[i] - m[i].mean()) for i in range(len(means))]
    for o in offsets:
        assert np.ptp(o) < 1e-12  # the mean, shifted by a constant row offset
    assert len(ax.collections) == ds.sizes["electrode"]  # one band per row
    assert "95% bootstrap CI" in legend_texts(ax)
    title = ax.get_title()
    assert f"{int(erp['n_events'])} events (spikes of I2)" in title and "200 bootstrap" in title
    assert ax.get_ylabel() == "electrode z (µm)" and ax.get_xlabel() == "time relative to the event (ms)"
    fig = plots.plot_erp(ds, [30.0, 50.0, 70.0], window=(-10, 20), baseline=(-10, 0), n_boot=0)
    assert "3 events (given times)" in fig.axes[0].get_title() and not fig.axes[0].collections[:-1]
    with pytest.raises(ValueError, match="needs events"):
        plots.plot_erp(ds)


def test_new_figures_draw_on_given_axes(ds):
    fig, ax = plt.subplots()
    assert plots.plot_stlfp(ds, ax=ax) is fig
    fig, ax = plt.subplots()
    assert plots.plot_erp(ds, [40.0, 60.0], ax=ax, n_boot=10) is fig
    fig, axes = plt.subplots(1, 2)
    assert plots.plot_aperiodic(ds, ax=axes) is fig
    fig, axes = plt.subplots(2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert plots.plot_sfc(ds, electrodes=["e05"], ax=axes) is fig
    fig, ax = plt.subplots()
    assert plots.plot_pac(ds, electrodes=["e05"], phase_freqs=[40, 60], amp_freqs=[200, 300],
                          n_surrogates=0, ax=ax) is fig


def test_psd_of_many_runs_overlays_them_coloured_by_seed(seed_runs):
    runs = signals.open_runs(seed_runs)
    try:
        fig = plots.plot_psd(runs, fmax=200)
        panels = [a for a in fig.axes if a.lines]
        assert len(panels) == 4
        p = psd(pick_electrodes(runs.lfp, max_default=4), fmax=200)
        p = p.isel(frequency=p["frequency"].values > 0)
        for i, a in enumerate(panels):
            assert len(a.lines) == 3
            for k, line in enumerate(a.lines):
                assert_allclose(line.get_ydata(), p.isel(electrode=i, run=k).values)
            assert a.get_yscale() == "log" and "mV²/Hz" in a.get_ylabel()
        legend = panels[0].get_legend()
        assert legend.get_title().get_text() == "seed" and legend_texts(panels[0]) == ["1", "2", "3"]
        assert len({line.get_color() for line in panels[0].lines}) == 3
        assert "3 runs, coloured by seed" in fig._suptitle.get_text()
        fig = plots.plot_psd(runs, electrodes=["e05"], color_by="run")
        assert len(fig.axes[0].lines) == 3 and legend_texts(fig.axes[0])[0] == "seed1"
        with pytest.raises(KeyError, match="not a run coordinate"):
            plots.plot_psd(runs, color_by="nope")
    finally:
        runs.close()
        plt.close("all")


@pytest.mark.parametrize("argv, check", [
    (("stlfp", "--window", "-10", "10", "--populations", "E2,I2"),
     lambda f: len(f.axes[0].get_legend().get_texts()) == 2 and f.axes[0].get_xlim()[0] == -10),
    (("sfc", "--freq", "20", "150", "--band", "20", "60", "--electrodes", "e02"),
     lambda f: "20–60 Hz" in " ".join(a.get_title() for a in f.axes)),
    (("pac", "--phase-freqs", "40,60", "--amp-freqs", "200,300", "--surrogates", "0",
      "--electrodes", "e01,e08"), lambda f: "no surrogates" in f._suptitle.get_text()),
    (("aperiodic", "--freq", "20", "200", "--method", "knee"), lambda f: "knee" in f.axes[1].get_title()),
    (("erp", "--times", "30,50,70", "--window", "-5", "15"),
     lambda f: "3 events (given times)" in f.axes[0].get_title()),
    (("erp", "--events", "E5", "--electrodes", "e00,e09"),
     lambda f: "spikes of E5" in f.axes[0].get_title() and len(f.axes[0].get_yticks()) == 2),
])
def test_new_kinds_options(ds, argv, check):
    from signals.cli import _plot_kinds, build_parser

    args = build_parser().parse_args(["plot", argv[0], "R", *argv[1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = _plot_kinds()[args.kind](ds, args)
    assert check(fig)


@pytest.fixture(scope="module")
def y_run(tmp_path_factory):
    """Ball-and-stick cells with dendrites along +y and a probe along y (NetPyNE's depth axis)."""
    from conftest import BallAndStick

    from signals.electrodes import laminar
    from signals.recorders import LFP, Spikes

    cells = [BallAndStick(gid, origin=(60.0 * (gid % 3) - 60.0, -800.0, 20.0 * gid), direction=(0, 1, 0),
                          population="E" if gid < 4 else "I", start=2.0 + 3 * gid) for gid in range(6)]
    for c in cells:
        c.stim.number, c.stim.interval = 20, 9
    path = tmp_path_factory.mktemp("yprobe") / "y.nc"
    signals.record(signals.network.from_neuron(cells),
                   [LFP(laminar(x=0, y=np.arange(-900.0, -99.0, 100.0), z=0)), Spikes()],
                   tstop=200, dt=0.025, path=path, progress=False)
    del cells
    return path


def test_a_probe_along_y_labels_every_new_figure_by_y(y_run):
    d = signals.open_run(y_run)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            figs = {"stlfp": plots.plot_stlfp(d, window=(-10, 10)),
                    "erp": plots.plot_erp(d, event_populations=["E"], n_boot=50),
                    "aperiodic": plots.plot_aperiodic(d),
                    "sfc": plots.plot_sfc(d)}
        assert figs["stlfp"].axes[0].get_ylabel() == "electrode y (µm)"
        assert [t.get_text() for t in figs["stlfp"].axes[0].get_yticklabels()][0] == "-100"
        assert figs["erp"].axes[0].get_ylabel() == "electrode y (µm)"
        assert figs["aperiodic"].axes[1].get_ylabel() == "electrode y (µm)"
        assert any(a.get_ylabel() == "electrode y (µm)" for a in figs["sfc"].axes)
        assert any("y = -100 µm" in a.get_title(loc="left") for a in figs["sfc"].axes)
    finally:
        d.close()
        plt.close("all")
