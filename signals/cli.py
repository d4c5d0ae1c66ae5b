"""The ``signals`` command line: ``signals demo`` and ``signals info RUN.nc``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  signals demo --out demo_output            # run the built-in network, write run.nc + figures
  signals demo --tstop 200 --out quick      # a shorter run
  signals info demo_output/run.nc           # what a run file holds
"""


def _cmd_demo(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from neuron import h

    import signals
    from signals._parallel import Comm, init_mpi_if_launched
    from signals.demo import POPULATIONS, build_network
    from signals.plots import plot_lfp, plot_raster
    from signals.recorders import EEG, LFP, Connections, Dipole, Spikes, Traces

    nhost = init_mpi_if_launched()
    rank = int(h.ParallelContext().id())
    say = print if rank == 0 else (lambda *a, **k: None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    net = build_network(seed=args.seed)
    table = signals.network.from_neuron([c for cells in net.populations.values() for c in cells])
    probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-950, -50, 10))
    first_gids = np.cumsum([0] + [n for n, _, _ in POPULATIONS.values()])[:-1]
    run = out / "run.nc"
    n_seg = Comm.from_neuron().gather_objects(len(table))
    n_cells = sum(n for n, _, _ in POPULATIONS.values())
    say(f"demo network: {n_cells} cells, {sum(n_seg or [0])} segments on {nhost} rank(s), "
        f"populations {', '.join(POPULATIONS)}; simulating {args.tstop:g} ms")
    h.dt = 0.025
    recorders = [LFP(probe, per_population=True), Spikes(), Traces(first_gids), Dipole(),
                 EEG(under="Cz", depth=1000.0), Connections()]
    signals.record(table, recorders,
                   tstop=args.tstop, path=run,
                   attrs={"model": "signals demo network (120 five-compartment cells)",
                          "seed": args.seed})
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


def _cmd_info(args: argparse.Namespace) -> int:
    import signals

    ds = signals.open_run(args.run)
    print(f"{args.run}: {ds.attrs.get('run_status')} run, "
          f"{ds.sizes.get('time', 0)} samples, dt {ds.attrs.get('record_dt', '?')} ms")
    for name, var in ds.data_vars.items():
        dims = ", ".join(f"{d}={ds.sizes[d]}" for d in var.dims)
        print(f"  {name:<18} ({dims}) [{var.attrs.get('units', '')}] {var.attrs.get('long_name', '')}")
    for key in ("signals_version", "neuron_version", "model", "tstop"):
        if key in ds.attrs:
            print(f"  {key}: {ds.attrs[key]}")
    ds.close()
    return 0


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
    demo.set_defaults(func=_cmd_demo)
    info = sub.add_parser("info", help="describe a run file")
    info.add_argument("run", help="run file (netCDF)")
    info.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``signals`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError, OSError) as err:
        print(f"signals: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
