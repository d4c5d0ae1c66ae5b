"""`signals plot KIND RUN.nc` through the real console script, and the plot functions in process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import demo_run_file, rxd_run_file, signals_cli

from signals.cli import KINDS

PNG = b"\x89PNG\r\n\x1a\n"


run = signals_cli


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    return demo_run_file(tmp_path_factory.mktemp("demo"), 300)


RXD_KINDS = ("conc", "concslice", "conclfp")
#: Options a kind cannot do without (erp: its events).
REQUIRED = {"erp": ("--events", "I2")}


@pytest.fixture(scope="module")
def rxd_run(tmp_path_factory):
    """A short run of the rxd K+ example: ko, ki, ko_grid and lfp on one probe."""
    return rxd_run_file(tmp_path_factory.mktemp("rxd"), 40)


@pytest.fixture(scope="module")
def plotted(demo_run, rxd_run):
    """Every kind plotted from the demo run (rxd kinds from the rxd example's run), in parallel
    processes: kind → (result, png path)."""
    def one(kind):
        source = rxd_run if kind in RXD_KINDS else demo_run
        png = source.with_name(f"fig_{kind}.png")
        return kind, (run("plot", kind, source, "-o", png, *REQUIRED.get(kind, ())), png)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, KINDS))


@pytest.fixture(scope="module")
def lfp_only_run(tmp_path_factory):
    """A valid run file holding only an LFP (written with the store's RunWriter)."""
    from signals.recorder import VariableSpec
    from signals.store import RunWriter

    path = tmp_path_factory.mktemp("lfp_only") / "lfp.nc"
    coords = {"electrode": (("electrode",), np.array(["e0", "e1", "e2"]), {}),
              "electrode_x": (("electrode",), np.zeros(3), {"units": "um"}),
              "electrode_y": (("electrode",), np.zeros(3), {"units": "um"}),
              "electrode_z": (("electrode",), np.array([0.0, -100.0, -200.0]), {"units": "um"})}
    spec = VariableSpec(("time", "electrode"), "mV", "potential", attrs={"sigma": 0.3})
    w = RunWriter(path, coords=coords, variables={"lfp": spec}, attrs={"record_dt": 0.1, "tstop": 99.9},
                  chunk_len=100)
    rng = np.random.default_rng(0)
    for k in range(0, 1000, 100):
        w.append(np.arange(k, k + 100) * 0.1, {"lfp": rng.normal(size=(100, 3)) * 1e-3})
    w.close()
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_a_png(plotted, kind):
    res, png = plotted[kind]
    assert res.returncode == 0, res.stderr
    assert f"figure: {png}" in res.stdout
    data = png.read_bytes()
    assert data[:8] == PNG and len(data) > 10_000


@pytest.mark.parametrize(
    "kind, variable",
    [("raster", "spike_time"), ("conn", "connection_pre"), ("stackedbar", "connection_pre"),
     ("dipole", "dipole"), ("rates", "spike_time"), ("traces", "'v'"), ("net2d", "cell"),
     ("ratepsd", "spike_time")],
)
def test_run_without_the_variable(lfp_only_run, kind, variable, tmp_path):
    res = run("plot", kind, lfp_only_run, "-o", tmp_path / "x.png")
    assert res.returncode != 0
    line = res.stderr.strip()
    assert variable in line and "\n" not in line and "Traceback" not in line
    assert not (tmp_path / "x.png").exists()


def test_lfp_kinds_work_on_a_minimal_run(lfp_only_run, tmp_path):
    for kind in ("lfp", "psd", "csd"):
        res = run("plot", kind, lfp_only_run, "-o", tmp_path / f"{kind}.png")
        assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("plot", "raster", "missing.nc"), "not found"),
        (("plot", "histogram", "RUN"), "unknown plot kind 'histogram'"),
        (("plot", "psd", "RUN", "--electrodes", "e99"), "unknown electrode"),
        (("plot", "raster", "RUN", "--populations", "L23"), "unknown population"),
        (("plot", "lfp", "RUN", "--time", "50", "10"), "start < stop"),
        (("plot", "psd", "RUN", "--method", "burg"), "PSD method"),
        (("plot", "conn", "RUN", "--feature", "entropy"), "connectivity feature"),
        (("plot", "raster", "NOT_A_RUN"), "not a signals run file"),
        (("plot", "erp", "RUN"), "needs events"),
        (("plot", "erp", "RUN", "--events", "L23"), "unknown population"),
        (("plot", "aperiodic", "RUN", "--method", "lorentz"), "aperiodic_mode"),
        (("plot", "stlfp", "RUN", "RUN"), "takes one run file"),
        (("plot", "psd", "missing_*.nc"), "no file matches"),
    ],
)
def test_bad_invocations_exit_nonzero_with_one_line(demo_run, tmp_path, args, message):
    import netCDF4

    foreign = tmp_path / "foreign.nc"
    netCDF4.Dataset(foreign, "w").close()
    args = [{"RUN": demo_run, "NOT_A_RUN": foreign}.get(a, a) for a in args]
    res = run(*args, "-o", tmp_path / "x.png", cwd=tmp_path)
    assert res.returncode != 0
    line = res.stderr.strip()
    assert message in line, line
    assert "\n" not in line and "Traceback" not in line


@pytest.mark.parametrize(
    "args, message",
    [
        (("erp", "--times", "10,x"), "argument --times: expected comma-separated times"),
        (("stlfp", "--window", "5", "-5"), "argument --window: T0 must be below T1"),
        (("pac", "--surrogates", "-1"), "argument --surrogates: must be >= 0"),
        (("pac", "--phase-freqs", "0,4"), "argument --phase-freqs: expected comma-separated frequencies"),
        (("sfc", "--band", "80", "30"), "argument --band: FLO must be below FHI"),
    ],
)
def test_bad_option_values_are_usage_errors(demo_run, tmp_path, args, message):
    """Checked by the option's argparse type: usage, then one error line; nothing drawn."""
    res = run("plot", args[0], demo_run, *args[1:], "-o", tmp_path / "x.png")
    assert res.returncode == 2
    assert message in res.stderr.strip().splitlines()[-1], res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "x.png").exists()


def test_help_lists_kinds_and_examples():
    res = run("plot", "--help")
    assert res.returncode == 0
    for kind in KINDS:
        assert f"  {kind} " in res.stdout
    assert "examples:" in res.stdout and "--time T0 T1" in res.stdout and "--freq FMIN FMAX" in res.stdout


def test_info_shows_network_and_dipoles(demo_run):
    res = run("info", demo_run)
    assert res.returncode == 0, res.stderr
    for name in ("connection_pre", "connection_weight", "dipole", "cell_population", "populations:"):
        assert name in res.stdout


def test_default_output_next_to_the_run(demo_run):
    res = run("plot", "electrodes", demo_run)
    assert res.returncode == 0, res.stderr
    assert demo_run.with_name("run_electrodes.png").read_bytes()[:8] == PNG


def test_plot_functions_draw_on_given_axes_with_labels(demo_run):
    """Each function draws into the Axes it is given, returns its Figure, and labels its axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import signals
    from signals import plots

    ds = signals.open_run(demo_run)
    single = {
        "raster": lambda ax: plots.plot_raster(ds, ax=ax),
        "lfp": lambda ax: plots.plot_lfp(ds, ax=ax),
        "psd": lambda ax: plots.plot_psd(ds, fmax=100, ax=ax),
        "csd": lambda ax: plots.plot_csd(ds, ax=ax),
        "conn": lambda ax: plots.plot_connectivity(ds, feature="weight", ax=ax),
        "stackedbar": lambda ax: plots.plot_stacked_bar(ds, ax=ax),
        "net2d": lambda ax: plots.plot_network_2d(ds, ax=ax),
        "rates": lambda ax: plots.plot_rates(ds, statistic="cv", ax=ax),
        "ratepsd": lambda ax: plots.plot_rate_psd(ds, ax=ax),
        "electrodes": lambda ax: plots.plot_electrodes(ds, ax=ax),
        "bandpower": lambda ax: plots.plot_band_power(ds, ax=ax),
    }
    for name, draw in single.items():
        fig, ax = plt.subplots()
        assert draw(ax) is fig, name
        assert ax.get_xlabel() and ax.get_ylabel(), name
        plt.close(fig)
    fig, axes = plt.subplots(3, 1)
    assert plots.plot_dipole(ds, ax=axes) is fig
    assert all("nA·µm" in a.get_ylabel() for a in axes)
    plt.close(fig)
    fig = plots.plot_spectrogram(ds, electrodes=["e00", "e05"])
    assert sum("frequency (Hz)" == a.get_ylabel() for a in fig.axes) == 2
    assert any("mV²/Hz" in a.get_ylabel() for a in fig.axes)  # the colour bar
    plt.close(fig)
    colors = plots.population_colors(ds["population"].values)
    fig = plots.plot_raster(ds)
    legend = {t.get_text().split()[0]: h.get_facecolor()[0] if hasattr(h, "get_facecolor") else None
              for t, h in zip(fig.axes[0].get_legend().get_texts(), fig.axes[0].get_legend().legend_handles,
                              strict=True)}
    for pop, color in legend.items():
        assert np.allclose(color, colors[pop])
    plt.close("all")
    ds.close()


def test_list_options_are_comma_separated_and_leave_the_run_path_alone(demo_run):
    png = demo_run.with_name("psd_subset.png")
    res = run("plot", "psd", "--electrodes", "e02,e07", "--populations", "E2,I2", demo_run, "-o", png)
    assert res.returncode == 0, res.stderr
    assert png.read_bytes()[:8] == PNG
    res = run("plot", "traces", demo_run, "--cells", "0,x")
    assert res.returncode != 0 and "integer gids" in res.stderr


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory):
    """Two 50 ms demo runs with seeds 1 and 2."""
    folder = tmp_path_factory.mktemp("seeds")
    for seed in (1, 2):
        res = run("demo", "--out", folder / f"out{seed}", "--tstop", 50, "--seed", seed)
        assert res.returncode == 0, res.stderr
        (folder / f"out{seed}" / "run.nc").rename(folder / f"seed{seed}.nc")
    return folder


def test_psd_of_several_runs_from_a_list_or_a_glob(seed_runs):
    res = run("plot", "psd", seed_runs / "seed1.nc", seed_runs / "seed2.nc", "-o", seed_runs / "two.png",
              "--electrodes", "e02,e07")
    assert res.returncode == 0, res.stderr
    assert (seed_runs / "two.png").read_bytes()[:8] == PNG
    res = run("plot", "psd", str(seed_runs / "seed*.nc"), "--color-by", "seed")  # quoted glob
    assert res.returncode == 0, res.stderr
    assert (seed_runs / "runs_psd.png").read_bytes()[:8] == PNG  # default: next to the first run
    res = run("plot", "psd", str(seed_runs / "seed*.nc"), "--color-by", "sigma")
    assert res.returncode != 0 and "not a run coordinate" in res.stderr and "Traceback" not in res.stderr
