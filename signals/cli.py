"""The ``signals`` command line: ``signals demo``, ``signals info RUN.nc``, ``signals plot KIND RUN.nc``."""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

EPILOG = """examples:
  signals demo --out demo_output            # run the built-in network, write run.nc + figures
  signals demo --tstop 200 --out quick      # a shorter run
  signals info demo_output/run.nc           # what a run file holds
  signals convert netpyne_out.json run.nc   # NetPyNE/SONATA/BMTK output -> run file
  signals convert run.nc run.nwb            # a run -> NWB (.nwb), neo (.nix) or MNE (.fif)
  signals plot raster demo_output/run.nc -o raster.png    # figures from a run file
  signals plot --help                       # the figure kinds and their options
"""


def _cmd_demo(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from neuron import h

    import signals
    from signals.demo import POPULATIONS, record_demo
    from signals.engine.parallel import init_mpi_if_launched
    from signals.plots import plot_lfp, plot_raster

    nhost = init_mpi_if_launched()
    rank = int(h.ParallelContext().id())
    say = print if rank == 0 else (lambda *a, **k: None)
    out = Path(args.out)
    run = out / "run.nc"
    if run.exists() and not args.force:
        raise FileExistsError(f"{run} exists; give another --out, or --force to replace it")
    out.mkdir(parents=True, exist_ok=True)
    n_cells = sum(n for n, _, _ in POPULATIONS.values())
    say(f"demo network: {n_cells} cells on {nhost} rank(s), populations {', '.join(POPULATIONS)}; "
        f"simulating {args.tstop:g} ms")
    record_demo(run, tstop=args.tstop, seed=args.seed)
    if rank == 0:
        ds = signals.open_run(run)
        figs = {"lfp.png": plot_lfp(ds), "raster.png": plot_raster(ds)}
        for name, fig in figs.items():
            fig.savefig(out / name, dpi=120)
        ds.close()
        say(f"run file: {run}")
        for name in figs:
            say(f"figure:   {out / name}")
    # Other ranks wait: a rank leaving early makes NEURON end the whole MPI job.
    h.ParallelContext().barrier()
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from signals.io import convert

    out = convert(args.input, args.output, fmt=args.format, allow_pickle=args.allow_pickle)
    print(f"wrote {out}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import signals

    ds = signals.open_run(args.run)
    print(f"{args.run}: {ds.attrs.get('run_status')} run, "
          f"{ds.sizes.get('time', 0)} samples, dt {ds.attrs.get('record_dt', '?')} ms")
    for name, var in ds.data_vars.items():
        dims = ", ".join(f"{d}={ds.sizes[d]}" for d in var.dims)
        print(f"  {name:<18} ({dims}) [{var.attrs.get('units', '')}] {var.attrs.get('long_name', '')}")
    aux = [n for n, c in ds.coords.items() if n not in ds.dims]
    for name in aux:
        var = ds[name]
        dims = ", ".join(f"{d}={ds.sizes[d]}" for d in var.dims)
        print(f"  {name:<18} ({dims}) [{var.attrs.get('units', '')}] {var.attrs.get('long_name', '')}")
    if "population" in ds.coords:
        print(f"  populations: {', '.join(map(str, ds['population'].values))}")
    _print_extent(ds)
    for key in ("signals_version", "neuron_version", "model", "tstop"):
        if key in ds.attrs:
            print(f"  {key}: {ds.attrs[key]}")
    ds.close()
    return 0


def _print_extent(ds) -> None:
    """The network's bounding box and where the probe lies relative to it."""
    import numpy as np

    from signals.sanity import electrode_offsets

    if "network_extent_min" not in ds.attrs:
        return
    lo = np.asarray(ds.attrs["network_extent_min"], dtype=float)
    hi = np.asarray(ds.attrs["network_extent_max"], dtype=float)
    box = ", ".join(f"{k} {a:.0f}..{b:.0f}" for k, a, b in zip("xyz", lo, hi, strict=True))
    print(f"  network extent (µm): {box}")
    if "electrode_x" in ds.coords:
        el = np.column_stack([ds[f"electrode_{k}"].values for k in "xyz"])
        span = ", ".join(f"{k} {a:.0f}..{b:.0f}" for k, a, b in
                         zip("xyz", el.min(0), el.max(0), strict=True))
        dist = electrode_offsets(el, lo, hi)
        inside = int(np.count_nonzero(dist == 0))
        print(f"  electrodes (µm): {span}; {inside} of {len(el)} inside the network's box, "
              f"farthest {dist.max():.0f} µm outside")


PLOT_EPILOG = """kinds (variables each needs):
  raster       spike raster by population            (spike_time, spike_gid)
  traces       membrane potential of traced cells     (v; --variable, --cells)
  lfp          LFP traces by electrode depth          (lfp; --variable, --electrodes)
  psd          PSD per electrode                      (lfp; --method welch|multitaper, --freq)
  spectrogram  spectrogram per electrode              (lfp; --method stft|wavelet, --freq)
  csd          current source density + LFP           (lfp on a laminar probe; --method
                                                       standard|delta|step|spline)
  conn         connectivity matrix                    (connection_*; --feature, --by)
  stackedbar   inputs per cell, stacked by source     (connection_*; --feature)
  net2d        cells and connections in 2-D           (cell_x/y/z, connection_*; --view)
  rates        boxplots of per-cell rate/CV/Fano      (spikes; --statistic)
  ratepsd      PSD of the population rates            (spikes; --bin, --freq)
  poprate      population rate histograms             (spikes; --bin)
  electrodes   electrode positions among the cells    (electrode_x/y/z; --view)
  dipole       current dipole moment                  (dipole)
  lfpsummary   traces + PSD + spectrogram by depth    (lfp)
  coherence    coherence between electrodes           (lfp; --freq)
  bandpower    band power by depth                    (lfp)
  spikecorr    spike-count correlation of populations (spikes)
  granger      Granger causality of population rates  (spikes; --bin)
  conc         concentration traces (mM)              (ko or ki; --variable, --electrodes/--cells)
  concslice    extracellular grid slice (mM, µm axes) (ko_grid; --view, --at, --position)
  conclfp      concentration above the LFP            (ko, lfp; --electrodes E)
  stlfp        spike-triggered LFP by depth           (spikes, lfp; --window, --populations)
  sfc          spike-field coherence + PPC by depth   (spikes, lfp; --freq, --band)
  pac          comodulogram (Tort MI) per electrode   (lfp; --phase-freqs, --amp-freqs,
                                                       --surrogates)
  aperiodic    PSD with fooof aperiodic fit, exponent (lfp; --freq, --method fixed|knee)
  erp          event average + 95 % bootstrap band    (lfp; --events POP,... or --times T,...;
                                                       --window)

several runs: psd takes several run files (or a quoted glob), opened with signals.open_runs
and overlaid per electrode, coloured by a run parameter (--color-by NAME); without -o the
figure is runs_psd.png next to the first run

examples:
  signals plot raster run.nc -o raster.png --time 200 600 --populations E2,I2
  signals plot psd run.nc -o psd.png --freq 1 100 --electrodes e02,e07
  signals plot spectrogram run.nc -o spec.png --method wavelet --freq 5 80
  signals plot csd run.nc -o csd.png --method spline --time 400 600
  signals plot conn run.nc -o conn.png --feature convergence
  signals plot rates run.nc -o cv.png --statistic cv
  signals plot stlfp run.nc -o stlfp.png --window -25 25 --populations E2,I2
  signals plot pac run.nc --phase-freqs 4,6,8,10 --amp-freqs 40,60,80,100 --surrogates 100
  signals plot erp run.nc --events I2 --window -10 30      # the spikes of I2 as events
  signals plot erp run.nc --times 100,300,500 --window -20 80   # your stimulus times (ms)
  signals plot psd "scan/*.nc" -o scan_psd.png --color-by seed

Times are in ms, frequencies in Hz. Without -o the figure is written next to the run file as
<run>_<kind>.png.
"""

_LFP_KINDS = ("lfp", "psd", "spectrogram", "csd", "lfpsummary", "coherence", "bandpower")


def _plot_kinds():
    """Kind → function(ds, args) returning a Figure."""
    from signals import plots as P

    def freq(args, default_max=None):
        lo, hi = args.freq if args.freq is not None else (None, default_max)
        return lo, hi

    def variable(args, default):
        return args.variable or default

    def population(args):
        """--populations for a per-population signal (lfp_population): exactly one name."""
        if args.variable is None or not args.variable.endswith("_population"):
            return None
        if not args.populations or len(args.populations) != 1:
            raise ValueError(f"--variable {args.variable} holds one signal per population: "
                             "give one with --populations NAME")
        return args.populations[0]

    def feature(args, default):
        # per cell only count, weight and delay exist: the per-population default would fail
        return args.feature or ("count" if getattr(args, "by", None) == "cell" else default)

    return {
        "raster": lambda ds, a: P.plot_raster(ds, time=a.time, populations=a.populations),
        "traces": lambda ds, a: P.plot_traces(ds, variable=variable(a, "v"), time=a.time, cells=a.cells),
        "lfp": lambda ds, a: P.plot_lfp(ds, variable=variable(a, "lfp"), time=a.time,
                                        electrodes=a.electrodes, population=population(a)),
        "psd": lambda ds, a: P.plot_psd(ds, variable=variable(a, "lfp"), electrodes=a.electrodes,
                                        time=a.time, fmin=freq(a, 200.0)[0], fmax=freq(a, 200.0)[1],
                                        method=a.method or "welch", population=population(a),
                                        color_by=a.color_by),
        "spectrogram": lambda ds, a: P.plot_spectrogram(
            ds, variable=variable(a, "lfp"), electrodes=a.electrodes, time=a.time,
            fmin=freq(a, 100.0)[0], fmax=freq(a, 100.0)[1], method=a.method or "stft",
            population=population(a)),
        "csd": lambda ds, a: P.plot_csd(ds, variable=variable(a, "lfp"), method=a.method or "standard",
                                        time=a.time, population=population(a)),
        "conn": lambda ds, a: P.plot_connectivity(ds, feature=feature(a, "probability"), by=a.by,
                                                  populations=a.populations,
                                                  include_external=a.external),
        "stackedbar": lambda ds, a: P.plot_stacked_bar(ds, feature=a.feature or "convergence",
                                                       populations=a.populations),
        "net2d": lambda ds, a: P.plot_network_2d(ds, view=a.view, populations=a.populations),
        "rates": lambda ds, a: P.plot_rates(ds, statistic=a.statistic, populations=a.populations,
                                            time=a.time, bin_size=a.bin or 100.0),
        "ratepsd": lambda ds, a: P.plot_rate_psd(ds, bin_size=a.bin or 1.0, populations=a.populations,
                                                 time=a.time, fmin=freq(a, 200.0)[0],
                                                 fmax=freq(a, 200.0)[1]),
        "poprate": lambda ds, a: P.plot_population_rate(ds, bin_size=a.bin or 5.0,
                                                        populations=a.populations, time=a.time),
        "electrodes": lambda ds, a: P.plot_electrodes(ds, view=a.view),
        "dipole": lambda ds, a: P.plot_dipole(ds, variable=variable(a, "dipole"), time=a.time),
        "lfpsummary": lambda ds, a: P.plot_lfp_summary(ds, variable=variable(a, "lfp"),
                                                       electrodes=a.electrodes, time=a.time,
                                                       fmax=freq(a, 100.0)[1] or 100.0,
                                                       population=population(a)),
        "coherence": lambda ds, a: P.plot_coherence(ds, variable=variable(a, "lfp"),
                                                    electrodes=a.electrodes, time=a.time,
                                                    fmin=freq(a, 100.0)[0], fmax=freq(a, 100.0)[1],
                                                    population=population(a)),
        "bandpower": lambda ds, a: P.plot_band_power(ds, variable=variable(a, "lfp"), time=a.time,
                                                     population=population(a)),
        "spikecorr": lambda ds, a: P.plot_spike_correlation(ds, bin_size=a.bin or 5.0,
                                                            populations=a.populations, time=a.time),
        "granger": lambda ds, a: P.plot_granger(ds, bin_size=a.bin or 2.0, populations=a.populations,
                                                time=a.time),
        "conc": lambda ds, a: P.plot_concentration(
            ds, variable=variable(a, "ko"), time=a.time,
            electrodes=a.electrodes or (None if a.cells is None else [str(g) for g in a.cells])),
        "concslice": lambda ds, a: P.plot_concentration_slice(
            ds, variable=variable(a, "ko_grid"), time=a.at, view=a.view or "xz", position=a.position),
        "conclfp": lambda ds, a: P.plot_concentration_lfp(
            ds, a.electrodes[0] if a.electrodes else None, concentration=variable(a, "ko"),
            time=a.time),
        "stlfp": lambda ds, a: P.plot_stlfp(ds, variable=variable(a, "lfp"), window=a.window or (-50.0, 50.0),
                                            populations=a.populations, electrodes=a.electrodes,
                                            time=a.time),
        "sfc": lambda ds, a: P.plot_sfc(ds, variable=variable(a, "lfp"), populations=a.populations,
                                        electrodes=a.electrodes, time=a.time, fmin=freq(a, 200.0)[0],
                                        fmax=freq(a, 200.0)[1], band=a.band or (30.0, 80.0)),
        "pac": lambda ds, a: P.plot_pac(ds, variable=variable(a, "lfp"), electrodes=a.electrodes,
                                        phase_freqs=a.phase_freqs, amp_freqs=a.amp_freqs,
                                        n_surrogates=200 if a.surrogates is None else a.surrogates,
                                        time=a.time, population=population(a)),
        "aperiodic": lambda ds, a: P.plot_aperiodic(ds, variable=variable(a, "lfp"), electrodes=a.electrodes,
                                                    time=a.time, freq_range=a.freq,
                                                    aperiodic_mode=a.method or "fixed",
                                                    population=population(a)),
        "erp": lambda ds, a: P.plot_erp(ds, a.times, event_populations=a.events,
                                        variable=variable(a, "lfp"), window=a.window or (-20.0, 50.0),
                                        electrodes=a.electrodes, time=a.time,
                                        population=population(a)),
    }


KINDS = ("raster", "traces", "lfp", "psd", "spectrogram", "csd", "conn", "stackedbar", "net2d", "rates",
         "ratepsd", "poprate", "electrodes", "dipole", "lfpsummary", "coherence", "bandpower", "spikecorr",
         "granger", "conc", "concslice", "conclfp", "stlfp", "sfc", "pac", "aperiodic", "erp")

#: Kinds that take several run files (opened with :func:`signals.open_runs`, one figure of them all).
MULTI_RUN_KINDS = ("psd",)


def _cmd_plot(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import netCDF4

    import signals

    if args.kind not in KINDS:
        raise ValueError(f"unknown plot kind {args.kind!r}; choose from {', '.join(KINDS)}")
    # Figures read the file in sequential blocks: a small HDF5 chunk cache (the library default is
    # 64 MiB per variable) keeps the memory of a figure of a long run low.
    netCDF4.set_chunk_cache(16 * 2**20, 1009, 0.75)
    several = len(args.run) > 1 or any(c in args.run[0] for c in "*?[")
    if several and args.kind not in MULTI_RUN_KINDS:
        raise ValueError(f"plot kind {args.kind!r} takes one run file, got {len(args.run)} (or a glob); "
                         f"several runs: {', '.join(MULTI_RUN_KINDS)}")
    ds = signals.open_runs(args.run if len(args.run) > 1 else args.run[0]) if several \
        else signals.open_run(args.run[0])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig = _plot_kinds()[args.kind](ds, args)
        # what the figure had to adapt (a clipped window, a shorter spectral window) is part of
        # reading it: one line each on stderr, not Python's file:line warning format
        for message in dict.fromkeys(str(w.message) for w in caught
                                     if issubclass(w.category, UserWarning)):
            print(f"signals: warning: {message}", file=sys.stderr)
        run = Path(str(ds["run_path"].values[0])) if several else Path(args.run[0])
        stem = "runs" if several else run.stem
        out = Path(args.out) if args.out else run.with_name(f"{stem}_{args.kind}.png")
        fig.savefig(out, dpi=args.dpi)
        plt.close(fig)
    finally:
        ds.close()
    print(f"figure: {out}")
    return 0


def _names(text: str) -> list[str]:
    """A comma-separated list option."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names")
    return names


def _gids(text: str) -> list[int]:
    """A comma-separated list of gids."""
    try:
        return [int(n) for n in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integer gids, got {text!r}") from None


def _add_plot_parser(sub) -> None:
    plot = sub.add_parser(
        "plot", help="make a figure from a run file",
        description="Make a figure from a run file (no simulation needed).",
        epilog=PLOT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    plot.add_argument("kind", help="figure kind (listed below)")
    plot.add_argument("run", nargs="+", help="run file (netCDF); psd takes several, or a quoted glob")
    plot.add_argument("-o", "--out", help="figure file (.png, .pdf, .svg); default <run>_<kind>.png")
    plot.add_argument("--time", nargs=2, type=float, metavar=("T0", "T1"), help="time window (ms)")
    # comma-separated lists: a list option with nargs="+" would swallow the run path after it
    plot.add_argument("--populations", type=_names, metavar="POP,...", help="populations to show")
    plot.add_argument("--electrodes", type=_names, metavar="LABEL,...",
                      help="electrode labels, e.g. e00,e05")
    plot.add_argument("--cells", type=_gids, metavar="GID,...", help="traced cells to show (gids)")
    plot.add_argument("--freq", nargs=2, type=_nonnegative, metavar=("FMIN", "FMAX"),
                      help="frequency range (Hz); default 0-200 (psd, ratepsd), 0-100 (spectrogram)")
    plot.add_argument("--variable", help="variable to plot (default lfp, v for traces, dipole)")
    plot.add_argument("--method", help="psd: welch|multitaper; spectrogram: stft|wavelet; "
                                       "csd: standard|delta|step|spline")
    plot.add_argument("--feature", help="conn: probability|count|weight|strength|delay|convergence|"
                                        "divergence; stackedbar: convergence|count|divergence")
    plot.add_argument("--by", default="population", choices=("population", "cell"),
                      help="conn: group by population (default) or cell")
    plot.add_argument("--external", action="store_true", help="conn: add a row for external sources")
    plot.add_argument("--statistic", default="rate", choices=("rate", "cv", "fano"),
                      help="rates: firing rate (default), ISI CV or Fano factor")
    plot.add_argument("--bin", type=_positive, metavar="MS",
                      help="rate bin (ms) for ratepsd, poprate, spikecorr, granger; counting "
                           "window of rates --statistic fano (default 100)")
    plot.add_argument("--view", choices=("xz", "xy", "yz", "zy", "zx", "yx"),
                      help="projection, horizontal then vertical axis, for electrodes and net2d "
                           "(default: the view along the probe; net2d without one: xz) and "
                           "concslice (default xz)")
    plot.add_argument("--at", type=float, metavar="MS", help="concslice: snapshot time (default: last)")
    plot.add_argument("--position", type=float, metavar="UM",
                      help="concslice: slice position along the third axis (default: the maximum)")
    plot.add_argument("--window", nargs=2, type=_number, metavar=("T0", "T1"),
                      help="window around each spike or event (ms): stlfp (default -50 50), "
                           "erp (default -20 50)")
    plot.add_argument("--events", type=_names, metavar="POP,...",
                      help="erp: the spikes of these populations are the events")
    plot.add_argument("--times", type=_times, metavar="T,...",
                      help="erp: event times (ms), comma-separated (e.g. stimulus onsets)")
    plot.add_argument("--band", nargs=2, type=_positive, metavar=("FLO", "FHI"),
                      help="sfc: band of the phase locking (Hz; default 30 80)")
    plot.add_argument("--phase-freqs", type=_freqs, metavar="F,...",
                      help="pac: phase band centres (Hz; default from 4 Hz)")
    plot.add_argument("--amp-freqs", type=_freqs, metavar="F,...",
                      help="pac: amplitude band centres (Hz; default up to 200 Hz)")
    plot.add_argument("--surrogates", type=_count, metavar="N",
                      help="pac: time-shift surrogates of the significance contour (default 200; 0: none)")
    plot.add_argument("--color-by", metavar="NAME",
                      help="psd of several runs: the run parameter the colours follow "
                           "(default the first that differs between the runs)")
    plot.add_argument("--dpi", type=_positive, default=120.0, help="resolution (default 120)")
    plot.set_defaults(func=_cmd_plot)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``signals`` command."""
    parser = argparse.ArgumentParser(
        prog="signals", description="LFP/EEG and spikes from NEURON network simulations.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the built-in demo network and plot it")
    demo.add_argument("--out", default="demo_output", help="output folder (default demo_output)")
    demo.add_argument("--tstop", type=float, default=1000.0, help="duration in ms (default 1000)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--force", action="store_true", help="replace an existing run file in --out")
    demo.set_defaults(func=_cmd_demo)
    info = sub.add_parser("info", help="describe a run file")
    info.add_argument("run", help="run file (netCDF)")
    info.set_defaults(func=_cmd_info)
    conv = sub.add_parser(
        "convert", help="NetPyNE/SONATA/BMTK output -> run file (.nc), or a run -> .nwb/.nix/.fif",
        description="Convert another tool's saved output into a signals run file, or export a run.")
    conv.add_argument("input", help="NetPyNE .json (or pickle), SONATA spikes .h5, BMTK ecp.h5, or a run")
    conv.add_argument("output", help=".nc (run file), .nwb (NWB), .nix (neo) or .fif (MNE)")
    from signals.io import list_readers

    conv.add_argument("--format", choices=tuple(list_readers()),
                      help="input format (default: from the file's content)")
    conv.add_argument("--allow-pickle", action="store_true",
                      help="read NetPyNE pickles (unpickling runs code from the file: trusted files only)")
    conv.set_defaults(func=_cmd_convert)
    _add_plot_parser(sub)
    return parser


def _positive(text: str) -> float:
    """argparse type: a finite number > 0 (so that 0 is refused, not replaced by a default)."""
    value = _nonnegative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _number(text: str) -> float:
    """argparse type: a finite number (negative allowed: times relative to an event)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _times(text: str) -> list[float]:
    """argparse type: comma-separated finite times (ms)."""
    try:
        return [_number(n) for n in _names(text)]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated times in ms, got {text!r}") from None


def _freqs(text: str) -> list[float]:
    """argparse type: comma-separated frequencies > 0 (Hz)."""
    try:
        return [_positive(n) for n in _names(text)]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated frequencies > 0 in Hz, got {text!r}") \
            from None


def _count(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _nonnegative(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``signals`` console script."""
    import os

    # before NEURON loads: a headless machine would otherwise print "no DISPLAY environment
    # variable" on every command that runs a model (an option the user set wins)
    os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")
    parser = build_parser()
    args = parser.parse_args(argv)
    freq = getattr(args, "freq", None)
    if freq is not None and freq[0] >= freq[1]:
        parser.error(f"argument --freq: FMIN must be below FMAX, got {freq[0]:g} {freq[1]:g}")
    for option, pair in (("--window", "T0 must be below T1"), ("--band", "FLO must be below FHI")):
        value = getattr(args, option[2:], None)
        if value is not None and value[0] >= value[1]:
            parser.error(f"argument {option}: {pair}, got {value[0]:g} {value[1]:g}")
    try:
        return args.func(args)
    except (FileNotFoundError, FileExistsError, ValueError, KeyError, OSError, ImportError) as err:
        # KeyError's str() quotes its message; show the message itself, on one line
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"signals: error: {' '.join(str(message).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
