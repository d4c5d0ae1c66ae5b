"""A long recording for the signal tests (driven by test_reliability.py).

    [mpiexec -n 2] python _kill_run.py OUT.nc [--mode record|attach] [--tstop MS] [--handler]

Prints "RECORDING" (flushed) once the first chunk is in the file, so the parent can signal a
run that is known to be under way.
"""

from __future__ import annotations

import argparse
import signal
import sys

import numpy as np

from signals import init_mpi_if_launched


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--mode", default="record")
    parser.add_argument("--tstop", type=float, default=1e6)
    parser.add_argument("--handler", action="store_true", help="install a SIGTERM handler")
    parser.add_argument("--ignore-hup", action="store_true")
    args = parser.parse_args()
    init_mpi_if_launched()
    from neuron import h

    import signals
    from signals.demo import build_network
    from signals.recorders import LFP, Spikes

    pc = h.ParallelContext()
    rank, nhost = int(pc.id()), int(pc.nhost())
    if args.handler:
        def handler(signum, frame):
            print(f"USER HANDLER {signum}", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, handler)
    if args.ignore_hup:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    class Announce(signals.Recorder):
        name = "announce"

        def variables(self):
            return {"ok": signals.VariableSpec(("time",), "1", "chunk marker")}

        def on_chunk(self, chunk):
            if chunk.start == 100 and rank == 0:
                print("RECORDING", flush=True)  # the first chunk (0-99) is written by now
            return {"ok": np.ones(chunk.t.size)}

    net = build_network(seed=1, scale=0.2)
    cells = [c for members in net.populations.values() for c in members]
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=0.0, y=0.0, z=np.linspace(-500, 0, 4))
    recorders = [LFP(probe), Spikes(), Announce()]
    if args.mode == "record":
        signals.record(table, recorders, tstop=args.tstop, dt=0.025, path=args.out,
                       chunk_samples=100, progress=False)
    else:
        if nhost > 1:
            pc.set_maxstep(10)
        with signals.attach(table, recorders, path=args.out, chunk_samples=100):
            h.finitialize(-65)
            if nhost > 1:
                pc.psolve(args.tstop)
            else:
                h.continuerun(args.tstop)
    print("FINISHED", flush=True)
    if signal.getsignal(signal.SIGTERM) is not (handler if args.handler else signal.SIG_DFL):
        print("HANDLER NOT RESTORED", flush=True)


if __name__ == "__main__":
    main()
