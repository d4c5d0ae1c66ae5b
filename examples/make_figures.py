"""Every figure of the NetPyNE paper (and a few more), from a run file alone.

Records the built-in demo network (120 five-compartment cells in two layers, gamma activity)
to a run file, then reopens that file — nothing else — and writes the figures next to it:
connectivity matrix, stacked bar graph, 2-D network, voltage traces, spike raster, firing-rate
boxplots, LFP traces/PSD/spectrogram by depth, CSD, electrode locations, firing-rate PSD,
dipole, coherence, band power and functional connectivity. Run::

    python examples/make_figures.py [--tstop 1000] [--out figures/run.nc]

With ``--run EXISTING.nc`` it skips the simulation and plots that file.
"""

import argparse
import os

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")  # before NEURON loads: no DISPLAY warning

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import signals
from signals import plots
from signals.demo import record_demo


def figures(ds, tstop: float) -> dict:
    """Figure name → function making it from the run ``ds``."""
    t0 = max(0.0, tstop - 200.0)  # a 200 ms window for the detailed time plots
    window = (t0, tstop)
    return {
        # NetPyNE paper Fig. 6: network and spiking
        "conn_probability": lambda: plots.plot_connectivity(ds, feature="probability"),
        "conn_weight": lambda: plots.plot_connectivity(ds, feature="weight"),
        "conn_stackedbar": lambda: plots.plot_stacked_bar(ds, feature="convergence"),
        "net2d": lambda: plots.plot_network_2d(ds),
        "traces": lambda: plots.plot_traces(ds, cells=ds["v_cell"].values[:3], time=window),
        "raster": lambda: plots.plot_raster(ds),
        "rates_boxplot": lambda: plots.plot_rates(ds, statistic="rate"),
        "isi_cv_boxplot": lambda: plots.plot_rates(ds, statistic="cv"),
        "population_rate": lambda: plots.plot_population_rate(ds),
        # Fig. 7: LFP by depth, and where the electrodes are
        "lfp": lambda: plots.plot_lfp(ds),
        "lfp_summary": lambda: plots.plot_lfp_summary(ds),
        "lfp_psd": lambda: plots.plot_psd(ds, fmax=200),
        "lfp_spectrogram": lambda: plots.plot_spectrogram(ds, fmax=100),
        "lfp_wavelet": lambda: plots.plot_spectrogram(ds, method="wavelet", fmax=100, time=window),
        "electrodes": lambda: plots.plot_electrodes(ds),
        "csd": lambda: plots.plot_csd(ds, time=window),
        "csd_spline": lambda: plots.plot_csd(ds, method="spline", time=window),
        "band_power": lambda: plots.plot_band_power(ds),
        "coherence": lambda: plots.plot_coherence(ds, fmax=100),
        # Fig. 8: firing-rate PSD; and dipoles, functional connectivity
        "rate_psd": lambda: plots.plot_rate_psd(ds, fmax=200),
        "dipole": lambda: plots.plot_dipole(ds),
        "spike_correlation": lambda: plots.plot_spike_correlation(ds),
        "granger": lambda: plots.plot_granger(ds),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tstop", type=float, default=1000.0, help="simulated time (ms)")
    parser.add_argument("--out", default="figures/run.nc", help="run file to write; figures go next to it")
    parser.add_argument("--run", help="plot this existing run file instead of simulating")
    args = parser.parse_args(argv)

    run = Path(args.run or args.out)
    if args.run is None:
        run.parent.mkdir(parents=True, exist_ok=True)
        record_demo(run, tstop=args.tstop)
    ds = signals.open_run(run)
    tstop = float(ds["time"][-1])
    for name, make in figures(ds, tstop).items():
        try:
            fig = make()
        except ValueError as err:  # e.g. a run too short for 2 ms-bin Granger causality
            print(f"skipped {name}: {err}")
            continue
        path = run.with_name(f"{run.stem}_{name}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        print(f"figure: {path}")
    ds.close()


if __name__ == "__main__":
    main()
