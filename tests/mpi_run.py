"""Record the demo network under any number of MPI ranks (driven by test_mpi.py).

    mpiexec -n 2 python mpi_run.py OUT.nc [--tstop 100] [--fail-rank R] [--electrodes N]
        [--pipeline on|off]

Prints one JSON line from rank 0: peak RSS (MB) and rank count.
"""

from __future__ import annotations

import argparse
import json
import resource

import numpy as np

from signals import init_mpi_if_launched


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--tstop", type=float, default=100.0)
    parser.add_argument("--fail-rank", type=int, default=-1)
    parser.add_argument("--electrodes", type=int, default=10)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--empty-rank", type=int, default=-1, help="this rank records no cells")
    parser.add_argument("--pipeline", choices=("on", "off"), default="off")
    args = parser.parse_args()
    nhost = init_mpi_if_launched()
    from neuron import h

    import signals
    from signals.demo import build_network
    from signals.recorders import LFP, Connections, Dipole, Spikes, Traces

    rank = int(h.ParallelContext().id())

    class FailOnRank(signals.Recorder):
        name = "fail"

        def variables(self):
            return {"ok": signals.VariableSpec(("time",), "1", "samples that went fine")}

        def on_chunk(self, chunk):
            if rank == args.fail_rank and chunk.start >= 400:
                raise RuntimeError(f"deliberate failure on rank {rank}")
            return {"ok": np.ones(chunk.t.size)}

    net = build_network(seed=3, scale=args.scale)
    cells = [c for members in net.populations.values() for c in members]
    if rank == args.empty_rank:
        cells = []
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=10.0, y=-20.0, z=np.linspace(-1000, 0, args.electrodes))
    # a gate of one cell: only the rank owning gid 0 has state-phase pointers
    recorders = [LFP(probe, per_population=True), Spikes(), Traces([0, 1, 5, 30]), Connections(),
                 Traces([0], variable="m_hh", units="1", name="m")]
    if args.empty_rank >= 0:
        recorders.append(Dipole(cells=[0, 1]))
    if args.fail_rank >= 0:
        recorders.append(FailOnRank())
    try:
        signals.record(table, recorders, tstop=args.tstop, dt=0.025, path=args.out,
                       chunk_samples=200, progress=False, mpi_backend=args.backend,
                       pipeline=args.pipeline == "on")
    finally:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if rank == 0:
            print(json.dumps({"peak_rss_mb": peak, "nhost": nhost}), flush=True)
    h.ParallelContext().barrier()
    h.quit()  # NEURON finalizes MPI: a rank that leaves without it may be SIGKILLed by mpiexec (exit 9)


if __name__ == "__main__":
    main()
