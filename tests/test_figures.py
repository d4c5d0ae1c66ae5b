"""What the figures draw on short runs: read back from the artists, compared with the analysis.

A 100 ms demo run (the shortest the issue reports as coming out empty), through the plot
functions in process and the ``signals plot`` command.
"""

from __future__ import annotations

import sys
import warnings

import matplotlib
import numpy as np
import pytest
from conftest import rxd_run_file, signals_cli
from numpy.testing import assert_allclose

import signals
from signals import plots
from signals.analysis import band_power, population_rate, psd, spectrogram
from signals.analysis.data import pick_electrodes, population_depth_order, sort_electrodes

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

run = signals_cli


def meshes(ax):
    return [c for c in ax.collections if hasattr(c, "get_array") and c.get_array() is not None
            and np.ndim(c.get_array()) == 2]


def test_spectrogram_of_a_short_run_fills_its_panels(ds):
    with pytest.warns(UserWarning, match=r"shorter than 4 spectrogram windows.*Hz resolution"):
        fig = plots.plot_spectrogram(ds)
    panels = [a for a in fig.axes if a.get_ylabel() == "frequency (Hz)"]
    assert len(panels) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = spectrogram(pick_electrodes(ds.lfp, max_default=4), fmax=100.0)
    for i, a in enumerate(panels):
        (mesh,) = meshes(a)
        data = np.asarray(mesh.get_array())
        assert data.shape[1] >= 4  # a time axis, not a single 6 ms column
        assert_allclose(data, expected.isel(electrode=i).values, rtol=1e-12)
        assert a.get_xlim() == pytest.approx((0.0, 100.0))
        assert a.get_ylim()[0] >= 0.0
    assert "ms windows" in fig._suptitle.get_text() and "Hz resolution" in fig._suptitle.get_text()


def test_lfp_summary_spectrogram_column_is_drawn(ds):
    with pytest.warns(UserWarning, match="spectrogram windows"):
        fig = plots.plot_lfp_summary(ds)
    column = [a for a in fig.axes if a.get_ylabel() == "frequency (Hz)"]
    assert len(column) == 4
    for a in column:
        (mesh,) = meshes(a)
        assert np.asarray(mesh.get_array()).shape[1] >= 4
        assert np.all(np.asarray(mesh.get_array()) > 0)
        assert a.get_xlim() == pytest.approx((0.0, 100.0))


def test_spectrogram_refuses_a_signal_too_short():
    import xarray as xr

    da = xr.DataArray(np.ones(10), dims="time", coords={"time": np.arange(10) * 0.1})
    with pytest.raises(ValueError, match="at least 16 samples"):
        spectrogram(da)


def test_numerically_zero_dipole_components_say_so(ds):
    with pytest.warns(UserWarning, match="spectrogram windows"):
        fig = plots.plot_spectrogram(ds, variable="dipole")
    texts = [t.get_text() for a in fig.axes for t in a.texts]
    assert sum("numerically zero" in t for t in texts) == 2  # px, py: round-off only
    fig = plots.plot_dipole(ds)
    axes = [a for a in fig.axes if a.get_ylabel().startswith("p")]
    assert len({a.get_ylim() for a in axes}) == 1  # one scale for the three components
    notes = [t.get_text() for a in axes for t in a.texts]
    assert any(n.startswith("px is numerically zero") for n in notes)
    assert any(n.startswith("py is numerically zero") for n in notes)
    assert not any(n.startswith("pz") for n in notes)
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert "I2 (numerically zero)" in labels and "E2" in labels
    # the total's trace is the recorded dipole
    pz = [line for line in axes[2].lines if line.get_label() == "total"][0]
    assert_allclose(pz.get_ydata(), ds.dipole.sel(component="z").values)


def test_band_power_of_a_short_run_draws_every_band_it_lists(ds):
    fig = plots.plot_band_power(ds)
    ax = fig.axes[0]
    bp = band_power(sort_electrodes(ds.lfp))
    assert list(bp["band"].values) == ["alpha", "beta", "gamma", "high_gamma"]  # no delta, theta bin
    assert [t.get_text().split()[0] for t in ax.get_legend().get_texts()] == list(bp["band"].values)
    for line, band in zip(ax.lines, bp["band"].values, strict=True):
        assert_allclose(line.get_xdata(), bp.sel(band=band).values)
        assert np.all(line.get_xdata() > 0)
    assert "no frequency bin in: delta, theta" in ax.get_title()


def test_psd_lines_equal_the_analysis(ds):
    fig = plots.plot_psd(ds, fmax=200)
    ax = fig.axes[0]
    p = psd(sort_electrodes(ds.lfp), fmax=200)
    p = p.isel(frequency=p["frequency"].values > 0)
    assert len(ax.lines) == 10
    for i, line in enumerate(ax.lines):
        assert_allclose(line.get_ydata(), p.isel(electrode=i).values)
    colors = [tuple(line.get_color()) for line in ax.lines]
    assert len(set(colors)) == 10
    # no pale (yellow) lines on white: relative luminance well below white's 1 (viridis ends at 0.87)
    assert all(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] < 0.7 for c in colors)


def test_many_sensors_are_never_a_repeating_cycle(ds):
    fig = plots.plot_psd(ds, variable="eeg")
    ax = fig.axes[0]
    p = psd(ds.eeg, fmax=200)
    strongest = str(p["eeg_sensor"].values[int(np.argmax(p.sum("frequency").values))])
    coloured = [line for line in ax.lines if line.get_label() and not line.get_label().startswith("_")
                and "others" not in line.get_label()]
    assert len(coloured) <= 8
    assert len({line.get_color() for line in coloured}) == len(coloured)
    assert coloured[0].get_label() == strongest == "Cz"
    greys = [line for line in ax.lines if line.get_color() == "0.7" and line.get_xdata().size]
    assert len(coloured) + len(greys) == ds.sizes["eeg_sensor"]


def test_raster_orders_by_depth_and_fits_what_is_shown(ds):
    fig = plots.plot_raster(ds, populations=["E2", "I2"])
    ax = fig.axes[0]
    n = int(np.isin(ds.cell_population.values, ["E2", "I2"]).sum())
    assert ax.get_ylim() == (-0.5, n - 0.5)
    # independently: mean soma z per population, the highest on top
    z = {p: ds.cell_z.values[ds.cell_population.values == p].mean() for p in ("E2", "I2", "E5", "I5")}
    expected = sorted(z, key=lambda p: -z[p])
    assert population_depth_order(ds) == expected
    ticks = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert (ticks["E2"] > ticks["I2"]) == (z["E2"] > z["I2"])
    offsets = {c.get_label().split()[0]: c.get_offsets() for c in ax.collections if c.get_label()[0] != "_"}
    t, gid = signals.analysis.rates.spikes(ds, populations=["E2", "I2"])
    assert sum(len(o) for o in offsets.values()) == t.size
    assert_allclose(np.sort(np.concatenate([o[:, 0] for o in offsets.values()])), np.sort(t))
    fig = plots.plot_raster(ds)
    ax = fig.axes[0]
    by_height = sorted(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()], strict=True))
    assert [name for _, name in by_height[::-1]] == expected  # top to bottom


def test_population_rate_small_multiples(ds):
    fig = plots.plot_population_rate(ds, bin_size=5.0)
    r = population_rate(ds, bin_size=5.0)
    order = population_depth_order(ds)
    assert len(fig.axes) == len(order)
    for a, p in zip(fig.axes, order, strict=True):
        (line,) = a.lines
        assert_allclose(line.get_ydata(), r.sel(population=p).values)
        assert a.texts[0].get_text().startswith(f"{p}:")
        assert a.get_ylim()[1] >= r.values.max()  # no panel clipped by another's scale


def test_scale_bars_are_1_2_5_and_clear_of_the_traces(ds):
    fig = plots.plot_lfp(ds)
    ax = fig.axes[0]
    bar = ax.lines[-1]
    text = [t.get_text() for t in ax.texts][0]
    value = float(text.split()[0])
    mantissa = value / 10 ** np.floor(np.log10(value))
    assert round(mantissa, 9) in (1.0, 2.0, 5.0)
    assert bar.get_xdata()[0] > ds.time.values[-1]  # right of the last sample
    assert np.ptp(bar.get_ydata()) == pytest.approx(value)
    fig = plots.plot_csd(ds)
    title = fig.axes[0].get_title()
    per = float(title.split("LFP, ")[1].split()[0])
    assert round(per / 10 ** np.floor(np.log10(per)), 9) in (1.0, 2.0, 5.0)


def test_matrix_numbers_share_one_format():
    assert plots.matrix_format([0.0897, 0.002]) == "{:.4f}"
    assert plots.matrix_format([12.3, 0.4]) == "{:.1f}"
    assert plots.matrix_format([3.0, 12.0]) == "{:.0f}"


def test_connectivity_annotations_and_by_cell(ds, short_run):
    fig = plots.plot_connectivity(ds)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text() not in ("0", "–")]
    assert len({len(t.split(".")[1]) for t in texts}) == 1  # one number of decimals
    fig = plots.plot_connectivity(ds, by="cell")
    assert "connections" in fig.axes[0].get_title() or "count" in fig.axes[0].get_title()
    res = run("plot", "conn", short_run, "--by", "cell", "-o", short_run.with_name("cc.png"))
    assert res.returncode == 0, res.stderr


def test_per_population_lfp(ds, short_run):
    with pytest.raises(ValueError, match="choose one with population="):
        plots.plot_lfp(ds, variable="lfp_population")
    fig = plots.plot_lfp(ds, variable="lfp_population", population="E5")
    top = fig.axes[0].lines[0].get_ydata()
    ref = ds.lfp_population.sel(population="E5", electrode="e09").values  # z = -50: the top contact
    assert_allclose(top - top.mean(), ref - ref.mean(), atol=1e-12)
    res = run("plot", "lfp", short_run, "--variable", "lfp_population", "-o", short_run.with_name("x.png"))
    assert res.returncode != 0 and "--populations NAME" in res.stderr
    res = run("plot", "lfp", short_run, "--variable", "lfp_population", "--populations", "E5",
              "-o", short_run.with_name("lp.png"))
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("kind, window", [("raster", (2000, 3000)), ("psd", (150, 300)),
                                          ("lfp", (-300, -100))])
def test_window_outside_the_run_is_an_error(short_run, kind, window):
    res = run("plot", kind, short_run, "--time", *window, "-o", short_run.with_name("w.png"))
    assert res.returncode != 0
    assert "outside" in res.stderr and "0–100 ms" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("kind, window, used", [("raster", (-100, 50), "0–50 ms"),
                                                ("psd", (50, 2000), "50–100 ms"),
                                                ("rates", (-10, 60), "0–60 ms")])
def test_clipped_window_warns_with_the_range_used(short_run, kind, window, used):
    res = run("plot", kind, short_run, "--time", *window, "-o", short_run.with_name("c.png"))
    assert res.returncode == 0, res.stderr
    line = [x for x in res.stderr.splitlines() if x.startswith("signals: warning:")]
    assert line and f"using {used}" in line[0]


def test_clipped_raster_window_is_the_axis(ds):
    with pytest.warns(UserWarning, match="using 0–50 ms"):
        fig = plots.plot_raster(ds, time=(-100, 50))
    assert fig.axes[0].get_xlim() == (0.0, 50.0)


def test_demo_does_not_overwrite_a_run(short_run):
    before = short_run.stat().st_mtime_ns
    res = run("demo", "--out", short_run.parent, "--tstop", "10")
    assert res.returncode != 0 and "exists" in res.stderr and "--force" in res.stderr
    assert short_run.stat().st_mtime_ns == before


def test_granger_figure_states_elephant_rounding(ds):
    fig = plots.plot_granger(ds, bin_size=2.0)
    title = fig.axes[0].get_title()
    assert "rounded by elephant to ±0.1" in title and "50 bins" in title
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text() not in ("–", "0")]
    assert texts and all(len(t.split(".")[1]) == 1 for t in texts)  # 0.2, not 0.200


def test_concentration_figures_name_the_ion_and_keep_electrode_colours(tmp_path):
    """K⁺, not "ko"/"k"; an electrode's colour is the same in both figures."""
    import xarray as xr

    t = np.arange(200) * 0.1
    n = 4
    coords = {"time": t, "electrode": [f"e{i}" for i in range(n)],
              "electrode_x": ("electrode", np.zeros(n)), "electrode_y": ("electrode", np.zeros(n)),
              "electrode_z": ("electrode", -100.0 * np.arange(n))}
    rise = np.outer(t, [0.0, 3e-3, 1e-3, 0.0]) + 2.5
    ds = xr.Dataset({"ko": (("time", "electrode"), rise,
                            {"units": "mM", "long_name": "extracellular k concentration"}),
                     "lfp": (("time", "electrode"), np.sin(t)[:, None] * np.ones(n),
                             {"units": "mV", "long_name": "extracellular potential"})}, coords=coords)
    fig = plots.plot_concentration(ds)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "extracellular K⁺ concentration (mM)"
    assert ax.get_title().startswith("[K⁺]o per electrode")
    color_of = {line.get_label().split()[0]: line.get_color() for line in ax.lines}
    fig = plots.plot_concentration_lfp(ds)  # default: e1, the largest rise
    assert "[K⁺]o" in fig.axes[0].get_title() and "e1" in fig.axes[0].get_title()
    assert fig.axes[0].lines[0].get_color() == color_of["e1"]
    assert_allclose(fig.axes[0].lines[0].get_ydata(), rise[:, 1])
    fig = plots.plot_concentration(ds, electrodes=["e1"])  # a subset keeps the colour
    assert fig.axes[0].lines[0].get_color() == color_of["e1"]


def cli_figure(ds, *argv):
    """The Figure ``signals plot ...`` would save: the CLI's own parser and kind table, in process.

    ``"R"`` stands for the run file's path (the open ``ds`` is plotted).
    """
    from signals.cli import _plot_kinds, build_parser

    args = build_parser().parse_args(["plot", *argv])
    return _plot_kinds()[args.kind](ds, args)


def titles(fig):
    out = [a.get_title() for a in fig.axes] + [a.get_title(loc="left") for a in fig.axes]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    return " | ".join(out)


@pytest.mark.parametrize("argv, check", [
    (("psd", "R", "--method", "multitaper"), lambda f: "multitaper" in titles(f)),
    (("psd", "R", "--method", "welch", "--freq", "5", "50"),
     lambda f: 5.0 <= f.axes[0].get_xlim()[0] and 40.0 < f.axes[0].get_xlim()[1] <= 50.0),
    (("spectrogram", "R", "--method", "wavelet", "--freq", "20", "80"), lambda f: "Morlet" in titles(f)),
    (("spectrogram", "R", "--method", "stft"), lambda f: "STFT" in titles(f)),
    (("csd", "R", "--method", "standard"), lambda f: "(standard" in titles(f)),
    (("csd", "R", "--method", "delta"), lambda f: "(delta" in titles(f)),
    (("csd", "R", "--method", "step"), lambda f: "(step" in titles(f)),
    (("csd", "R", "--method", "spline"), lambda f: "(spline" in titles(f)),
    (("conn", "R", "--by", "cell"), lambda f: len(f.axes[0].images[0].get_array()) == 120),
    (("conn", "R", "--external", "--feature", "weight"),
     lambda f: "external" in [t.get_text() for t in f.axes[0].get_yticklabels()]),
    (("stackedbar", "R", "--feature", "divergence"), lambda f: "presynaptic" in f.axes[0].get_xlabel()),
    (("rates", "R", "--statistic", "cv"), lambda f: "CV" in f.axes[0].get_ylabel()
     or "coefficient" in f.axes[0].get_ylabel()),
    (("rates", "R", "--statistic", "fano", "--bin", "20"), lambda f: "Fano" in f.axes[0].get_ylabel()
     and "20 ms" in f.axes[0].get_ylabel()),
    (("rates", "R", "--statistic", "rate"), lambda f: "(Hz)" in f.axes[0].get_ylabel()),
    (("ratepsd", "R", "--bin", "2", "--freq", "1", "100"), lambda f: "2 ms bins" in titles(f)),
    (("poprate", "R", "--bin", "10"), lambda f: "10 ms bins" in titles(f)),
    (("spikecorr", "R", "--bin", "10"), lambda f: "correlation" in titles(f)),
    (("granger", "R", "--bin", "4"), lambda f: "4 ms bins" in titles(f)),
    (("electrodes", "R", "--view", "yz"), lambda f: (f.axes[0].get_xlabel(), f.axes[0].get_ylabel())
     == ("y (µm)", "z (µm)")),
    (("net2d", "R", "--view", "xy"), lambda f: f.axes[0].get_ylabel() == "y (µm)"),
    (("net2d", "R", "--populations", "E5,I5"), lambda f: len(f.axes[0].get_legend().get_texts()) == 2),
    (("dipole", "R", "--variable", "dipole", "--time", "20", "60"),
     lambda f: f.axes[0].get_xlim() == pytest.approx((20.0, 60.0))),
    (("traces", "R", "--cells", "0,40"), lambda f: len([a for a in f.axes if a.lines]) == 2),
    (("lfp", "R", "--electrodes", "e01,e05", "--time", "20", "60"),
     lambda f: len(f.axes[0].get_yticks()) == 2),
    (("lfpsummary", "R", "--freq", "0", "50", "--electrodes", "e02,e08"),
     lambda f: len([a for a in f.axes if a.get_ylabel() == "frequency (Hz)"]) == 2),
    (("coherence", "R", "--freq", "20", "60"), lambda f: "20" in f.axes[1].get_ylabel()
     or "coherence" in titles(f)),
    (("bandpower", "R", "--variable", "lfp_population", "--populations", "E5"),
     lambda f: f.axes[0].lines),
    (("raster", "R", "--populations", "I5", "--time", "10", "90"),
     lambda f: f.axes[0].get_xlim() == (10.0, 90.0)),
])
def test_every_plot_option(ds, argv, check):
    fig = cli_figure(ds, *argv)
    assert check(fig), titles(fig)
    for a in fig.axes:  # no empty axes: every panel holds data (or says why not)
        assert a.lines or a.collections or a.images or a.patches or a.texts, a


@pytest.mark.parametrize("argv, message", [
    (("psd", "R", "--freq", "-5", "10"), "argument --freq: must be a finite number >= 0"),
    (("psd", "R", "--freq", "50", "10"), "FMIN must be below FMAX"),
    (("poprate", "R", "--bin", "0"), "argument --bin: must be > 0"),
    (("raster", "R", "--dpi", "-1"), "argument --dpi: must be a finite number >= 0"),
])
def test_bad_plot_options(short_run, argv, message):
    res = run("plot", *[short_run if a == "R" else a for a in argv], "-o", short_run.with_name("bad.png"))
    assert res.returncode != 0 and message in res.stderr, res.stderr


def test_dpi_and_convert_format(short_run):
    png = short_run.with_name("small.png")
    res = run("plot", "raster", short_run, "--dpi", "50", "-o", png)
    assert res.returncode == 0, res.stderr
    assert plt.imread(png).shape[1] == 400  # 8 in × 50 dpi
    out = short_run.with_name("copy.nwb")
    res = run("convert", short_run, out, "--format", "signals")
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size > 0


@pytest.fixture(scope="module")
def rxd_short(tmp_path_factory):
    return rxd_run_file(tmp_path_factory.mktemp("rxd_short"), 30)


def test_rxd_plot_options(rxd_short):
    d = signals.open_run(rxd_short)
    try:
        fig = cli_figure(d, "concslice", "R", "--at", "10", "--position", "25", "--view", "xz")
        assert "xz" in titles(fig) or fig.axes[0].get_xlabel() == "x (µm)"
        assert "t = 9.975 ms" in titles(fig) and "25 to 50 µm" in titles(fig)  # snapshot, layer
        fig = cli_figure(d, "conc", "R", "--electrodes", "e01,e02")
        assert len(fig.axes[0].lines) == 2
        fig = cli_figure(d, "conc", "R", "--variable", "ki", "--cells", "0,5")
        assert len(fig.axes[0].lines) == 2
        fig = cli_figure(d, "conclfp", "R", "--electrodes", "e03", "--time", "5", "25")
        assert "e03" in titles(fig) and fig.axes[0].get_xlim() == pytest.approx((5.0, 25.0))
    finally:
        d.close()
        plt.close("all")


def test_more_kinds_draw_the_analysis(ds):
    """traces, stackedbar, net2d, rates, ratepsd, coherence, electrodes: drawn data = analysis."""
    from signals.analysis import coherence, connectivity_matrix, firing_rates, rate_psd

    fig = plots.plot_traces(ds)
    for a, gid in zip([a for a in fig.axes if a.lines], ds.v_cell.values, strict=True):
        assert_allclose(a.lines[0].get_ydata(), ds.v.sel(v_cell=gid).values)

    fig = plots.plot_stacked_bar(ds, feature="convergence")
    m = connectivity_matrix(ds, feature="convergence", include_external=True).fillna(0)
    heights = {}
    for patch in fig.axes[0].patches:
        x = int(round(patch.get_x() + patch.get_width() / 2))
        heights[x] = heights.get(x, 0.0) + patch.get_height()
    assert_allclose([heights[i] for i in range(m.sizes["target"])], m.sum("source").values)

    fig = plots.plot_network_2d(ds, view="xz")
    pts = np.concatenate([c.get_offsets() for c in fig.axes[0].collections if c.get_label()[0] != "_"])
    expected = np.column_stack([ds.cell_x.values, ds.cell_z.values])
    assert_allclose(np.sort(pts, axis=0), np.sort(expected, axis=0))

    fig = plots.plot_rates(ds, statistic="rate")
    rates = firing_rates(ds)
    drawn = np.concatenate([c.get_offsets()[:, 1] for c in fig.axes[0].collections])
    assert_allclose(np.sort(drawn), np.sort(rates.values))

    fig = plots.plot_rate_psd(ds, fmax=200)
    p = rate_psd(ds, fmax=200)
    p = p.isel(frequency=p["frequency"].values > 0)
    for line, pop in zip(fig.axes[0].lines, p["population"].values, strict=True):
        assert_allclose(line.get_ydata(), p.sel(population=pop).values)

    fig = plots.plot_coherence(ds, fmin=20, fmax=60)
    c = coherence(sort_electrodes(ds.lfp), fmin=20, fmax=60).mean("frequency")
    assert_allclose(fig.axes[0].images[0].get_array(), c.values)
    assert fig.axes[0].get_ylabel() == "electrode z (µm)"

    fig = plots.plot_electrodes(ds)  # the demo probe runs along z: the xz view
    (squares,) = [c for c in fig.axes[0].collections if c.get_label() == "electrodes"]
    assert_allclose(squares.get_offsets(), np.column_stack([ds.electrode_x.values, ds.electrode_z.values]))


def test_topomap_shows_the_largest_deflection(ds):
    fig = plots.plot_eeg_topomap(ds)
    eeg = ds.eeg.values
    k = int(np.unravel_index(np.abs(eeg).argmax(), eeg.shape)[0])
    assert fig.axes[0].get_title() == f"EEG at t = {float(ds.time.values[k]):g} ms"
    image = np.asarray(fig.axes[0].images[0].get_array(), dtype=float)
    peak = eeg[k][np.abs(eeg[k]).argmax()] * 1e3  # µV
    extreme = image[np.unravel_index(np.nanargmax(np.abs(image)), image.shape)]
    assert np.sign(extreme) == np.sign(peak) and 0.5 < abs(extreme / peak) < 1.5
    assert "EEG (µV)" in [a.get_ylabel() for a in fig.axes]


def test_progress_in_a_log_is_lines_not_carriage_returns(monkeypatch):
    """stderr redirected to a file (not a terminal): lines, never tqdm's \r frames."""
    import io

    from signals.engine.progress import progress

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with progress(500.0, show=True, delay=0.0) as bar:
        for _ in range(20):
            bar.update(25.0)
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("signals: 100% (500 of 500 ms simulated")
    with progress(500.0, show=False, delay=0.0) as bar:  # progress=False: nothing at all
        bar.update(500.0)
    assert log.getvalue().count("100%") == 1


def test_progress_lines_format():
    import io

    from signals.engine.progress import _Lines

    out = io.StringIO()
    with _Lines(1000.0, delay=0.0, desc="signals", file=out) as bar:
        for _ in range(40):
            bar.update(25.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in out.getvalue()
    assert lines[0].startswith("signals: 10% (100 of 1000 ms simulated")
    assert lines[-1].startswith("signals: 100% (1000 of 1000 ms simulated")
