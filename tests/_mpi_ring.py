"""NEURON's canonical parallel ring network, recorded by signals (driven by test_real_models.py).

    [mpiexec -n 2] python _mpi_ring.py OUT.nc

Written as NEURON's ParallelContext tutorial writes it: each rank builds the cells of its own
gids (``gid % nhost == rank``), registers them with ``pc.set_gid2node`` and ``pc.cell`` (an
axonal detector with a threshold of its own) and connects them with ``pc.gid_connect``. No
object has a ``gid`` attribute: signals must take the gids from the ParallelContext. Rank 0
also writes ``OUT.npz`` with the spikes NEURON's own ``pc.spike_record`` saw.
"""

from __future__ import annotations

import sys

import numpy as np

from signals import init_mpi_if_launched

N_CELLS = 6


class RingCell:
    """Soma, axon and dendrite at (x, y) µm, no ``gid`` attribute; the spike detector sits near
    the far end of the axon with its own ``threshold`` (mV), as NEURON's ring tutorial keeps it
    (``self._spike_detector``, handed to ``pc.cell``)."""

    def __init__(self, x: float, y: float = 0.0, threshold: float = -15.0) -> None:
        from neuron import h

        self.soma = h.Section(name="soma", cell=self)
        self.axon = h.Section(name="axon", cell=self)
        self.dend = h.Section(name="dend", cell=self)
        self.axon.connect(self.soma(0))
        self.dend.connect(self.soma(1))
        for sec, pts, diam in ((self.soma, [(x, y, 0), (x, y, 20)], 20),
                               (self.axon, [(x, y, 0), (x, y, -400)], 1),
                               (self.dend, [(x, y, 20), (x + 30, y, 320)], 2)):
            for p in pts:
                sec.pt3dadd(*p, diam)
        self.axon.nseg, self.dend.nseg = 21, 9
        for sec in (self.soma, self.axon):
            sec.insert("hh")
        self.dend.insert("pas")
        self.all = [self.soma, self.axon, self.dend]
        self.syn = h.ExpSyn(self.dend(0.5))
        self.syn.tau = 2
        self._spike_detector = h.NetCon(self.axon(0.95)._ref_v, None, sec=self.axon)
        self._spike_detector.threshold = threshold


def main() -> None:
    init_mpi_if_launched()
    from neuron import h

    import signals
    from signals.recorders import LFP, Connections, Dipole, Spikes

    out = sys.argv[1]
    pc = h.ParallelContext()
    rank, nhost = int(pc.id()), int(pc.nhost())
    cells = {}
    for gid in range(rank, N_CELLS, nhost):
        angle = 2 * np.pi * gid / N_CELLS
        cells[gid] = RingCell(200 * np.cos(angle), 200 * np.sin(angle))
        pc.set_gid2node(gid, rank)
        pc.cell(gid, cells[gid]._spike_detector)
    netcons = []
    for gid, cell in cells.items():
        nc = pc.gid_connect((gid - 1) % N_CELLS, cell.syn)
        nc.weight[0], nc.delay = 0.05, 1.0
        netcons.append(nc)
    stim = h.NetStim()
    stim.number, stim.start = 1, 1.0
    kick = None
    if 0 in cells:
        kick = h.NetCon(stim, cells[0].syn)
        kick.weight[0] = 0.05
    tvec, idvec = h.Vector(), h.Vector()
    pc.spike_record(-1, tvec, idvec)

    probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-300, 400, 8))
    signals.record(signals.network.from_neuron(), [LFP(probe), Dipole(), Spikes(), Connections()],
                   tstop=60, dt=0.025, path=out, progress=False)
    spikes = pc.py_gather((np.array(tvec), np.array(idvec)), 0)
    if rank == 0:
        t = np.concatenate([s[0] for s in spikes])
        g = np.concatenate([s[1] for s in spikes]).astype(int)
        order = np.lexsort([g, t])
        np.savez(out.replace(".nc", ".npz"), t=t[order], gid=g[order])
    pc.barrier()
    del kick
    h.quit()  # NEURON finalizes MPI: a rank that leaves without it may be SIGKILLed by mpiexec (exit 9)


if __name__ == "__main__":
    main()
