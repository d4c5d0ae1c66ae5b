"""Extracellular K+ accumulation next to the LFP, recorded on the same probe (NEURON rxd).

Sixteen ball-and-stick cells (Hodgkin-Huxley soma, passive dendrite; built-in mechanisms only,
no compiled mod files) fire under noisy synaptic drive. K+ is an ``rxd`` species in the cytosol
and in an ``rxd.Extracellular`` grid around the cells (volume fraction 0.2, tortuosity 1.6,
K+ diffusion 2.62 µm²/ms, 2.5 mM bath at the walls): the K+ current of the ``hh`` channels is
the rxd K+ flux out of each segment into its voxel, and the cells' K+ reversal potential
follows the Nernst potential of the changing concentrations. One laminar probe records the
LFP (mV) and the extracellular K+ concentration (mM) on the same time axis; the somatic
intracellular K+ of four cells and the whole K+ grid every ``--snapshot-every`` ms (for slices
and movies) go into the same run file. Run::

    python examples/rxd_potassium.py [--tstop 300] [--out rxd_run.nc] [--snapshot-every 10]
    MPI_LIB_NRN_PATH=.venv/lib/libmpi.so.12 mpiexec -n 2 python examples/rxd_potassium.py

Writes the run file and, next to it, ``*_ko.png`` (K+ at each contact), ``*_ko_slice.png`` (the
K+ grid through the somata at the end) and ``*_ko_lfp.png`` (K+ next to the LFP at one contact).
"""

import argparse
import os

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")  # before NEURON loads: no DISPLAY warning

from pathlib import Path

import numpy as np
from neuron import h, rxd

import signals
from signals import init_mpi_if_launched
from signals.recorders import LFP, Spikes
from signals.recorders.concentration import Concentration, IntracellularConcentration

#: Hodgkin-Huxley's K+ concentrations (mM), NEURON's defaults for ``hh``.
K_IN, K_OUT = 54.4, 2.5


class BallAndStick:
    """Soma (hh) and a 250 µm dendrite (pas) along +z, driven by a noisy NetStim synapse."""

    def __init__(self, gid, x, y, z):
        self.gid = gid
        self.population = "pyr"
        self.soma = h.Section(name="soma", cell=self)
        self.dend = h.Section(name="dend", cell=self)
        self.dend.connect(self.soma(1))
        self.soma.pt3dadd(x, y, z - 10, 20)
        self.soma.pt3dadd(x, y, z + 10, 20)
        self.dend.pt3dadd(x, y, z + 10, 2)
        self.dend.pt3dadd(x, y, z + 260, 1)
        self.dend.nseg = 9
        self.soma.insert("hh")
        self.dend.insert("pas")
        self.all = [self.soma, self.dend]
        self.syn = h.ExpSyn(self.dend(0.2))
        self.syn.tau = 2.0
        self.stim = h.NetStim()
        self.stim.start, self.stim.number, self.stim.interval, self.stim.noise = 2, 1e9, 6, 0.7
        self.stim.noiseFromRandom123(gid, 0, 7)
        self.nc = h.NetCon(self.stim, self.syn)
        self.nc.weight[0] = 0.03

    def __repr__(self):
        return f"BallAndStick[{self.gid}]"


def build(rank: int = 0, nhost: int = 1):
    """This rank's cells (round-robin by gid) and the K+ species on every rank."""
    pc = h.ParallelContext()
    rng = np.random.default_rng(0)
    xy = np.array([(x, y) for x in (-45, -15, 15, 45) for y in (-45, -15, 15, 45)], dtype=float)
    z = rng.uniform(-15, 15, len(xy))
    cells = []
    for gid, ((x, y), z0) in enumerate(zip(xy, z, strict=True)):
        if gid % nhost != rank:
            continue
        cell = BallAndStick(gid, x, y, z0)
        pc.set_gid2node(gid, rank)
        pc.cell(gid, h.NetCon(cell.soma(0.5)._ref_v, None, sec=cell.soma))
        cells.append(cell)
    # The same grid on every rank: rxd sums the K+ currents of all ranks into it.
    ecs = rxd.Extracellular(-150, -150, -100, 150, 150, 350, dx=25, volume_fraction=0.2,
                            tortuosity=1.6)
    cyt = rxd.Region([sec for cell in cells for sec in cell.all], nrn_region="i")
    k = rxd.Species([cyt, ecs], name="k", d=2.62, charge=1, ecs_boundary_conditions=K_OUT,
                    initial=lambda node: K_IN if node.region == cyt else K_OUT)
    return cells, (ecs, cyt, k)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tstop", type=float, default=300.0, help="duration (ms)")
    parser.add_argument("--out", default="rxd_run.nc", help="run file to write")
    parser.add_argument("--snapshot-every", type=float, default=10.0,
                        help="interval of the whole-grid K+ snapshots (ms)")
    args = parser.parse_args(argv)

    nhost = init_mpi_if_launched()
    pc = h.ParallelContext()
    rank = int(pc.id())
    cells, rxd_objects = build(rank, nhost)  # noqa: F841  (keep the rxd objects alive)
    net = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=0.0, y=0.0, z=np.arange(-50.0, 301.0, 50.0))  # µm
    recorders = [LFP(probe, sigma=0.3),
                 Concentration(probe, species="k", snapshot_every=args.snapshot_every),
                 IntracellularConcentration([0, 5, 10, 15], ion="k"), Spikes()]
    attrs = {"model": "16 ball-and-sticks with extracellular K+ (neuron.rxd)"}
    # chunks of one snapshot interval: a grid snapshot at every chunk end (ms: 9.975, 19.975, ...)
    signals.record(net, recorders, tstop=args.tstop, dt=0.025, path=args.out, attrs=attrs,
                   progress=False, chunk_samples=round(args.snapshot_every / 0.025))
    if rank == 0:
        save_figures(args.out)
    pc.barrier()  # no rank may leave before rank 0 is done: NEURON would end the whole MPI job


def save_figures(out):
    """Draw the three figures from the run file."""
    import matplotlib

    matplotlib.use("Agg")

    from signals.plots import plot_concentration, plot_concentration_lfp, plot_concentration_slice

    ds = signals.open_run(out)
    ko = ds["ko"]
    rise = (ko.isel(time=-1) - ko.isel(time=0)).values
    contact = str(ds["electrode"].values[int(np.argmax(rise))])
    print(f"{ds.sizes['spike']} spikes in {float(ds['time'][-1]):g} ms; extracellular K+ rose by up to "
          f"{rise.max():.3f} mM at the probe (contact {contact}) and "
          f"{float(ds['ko_grid'].isel(ko_snapshot=-1).max()) - 2.5:.3f} mM in the grid")
    stem = Path(out).with_suffix("")
    figs = {"ko": plot_concentration(ds),
            "ko_slice": plot_concentration_slice(ds, view="xy"),
            "ko_lfp": plot_concentration_lfp(ds, contact)}
    for name, fig in figs.items():
        fig.savefig(f"{stem}_{name}.png", dpi=110)
        print(f"figure: {stem}_{name}.png")
    ds.close()


if __name__ == "__main__":
    main()
