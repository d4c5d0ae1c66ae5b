"""Record membrane currents of the demo network under any number of MPI ranks (test_recompute.py).

    mpiexec -n 2 python _mpi_membrane.py OUT.nc

Records MembraneCurrents, an LFP and dipoles; prints one JSON line from rank 0 with the rank count.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from signals.engine.parallel import init_mpi_if_launched

PROBE_Z = np.linspace(-1000, 0, 6)  # µm, at x = 10, y = -20


def main(out: str) -> None:
    nhost = init_mpi_if_launched()
    from neuron import h

    import signals
    from signals.demo import build_network
    from signals.recorders import LFP, Dipole, MembraneCurrents, Spikes

    net = build_network(seed=3, scale=0.25)
    cells = [c for members in net.populations.values() for c in members]
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=10.0, y=-20.0, z=PROBE_Z)
    signals.record(table, [MembraneCurrents(), LFP(probe, per_population=True), Dipole(), Spikes()],
                   tstop=40.0, dt=0.025, path=out, chunk_samples=150, progress=False)
    if int(h.ParallelContext().id()) == 0:
        print(json.dumps({"nhost": nhost}), flush=True)
    h.ParallelContext().barrier()
    h.quit()  # NEURON finalizes MPI: a rank that leaves without it may be SIGKILLed by mpiexec (exit 9)


if __name__ == "__main__":
    main(sys.argv[1])
