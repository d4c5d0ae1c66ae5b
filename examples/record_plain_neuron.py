"""Record LFP, spikes and soma voltage from a small plain-NEURON network.

Five ball-and-stick cells (3-D points in µm) driven by NetStim synapses, a 6-contact laminar
probe along z, and the run file reopened with xarray. Run::

    python examples/record_plain_neuron.py [--tstop 200] [--out example_run.nc]
"""

import argparse
import os

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")  # before NEURON loads: no DISPLAY warning

import numpy as np
from neuron import h

import signals
from signals.plots import plot_lfp
from signals.recorders import LFP, Spikes, Traces


class BallAndStick:
    """Soma (hh) and a 300 µm apical dendrite (pas) pointing up along z."""

    def __init__(self, gid, x, y, z):
        self.gid = gid
        self.population = "pyr"
        self.soma = h.Section(name="soma", cell=self)
        self.dend = h.Section(name="dend", cell=self)
        self.dend.connect(self.soma(1))
        self.soma.pt3dadd(x, y, z - 10, 20)
        self.soma.pt3dadd(x, y, z + 10, 20)
        self.dend.pt3dadd(x, y, z + 10, 2)
        self.dend.pt3dadd(x, y, z + 310, 1)
        self.dend.nseg = 11
        self.soma.insert("hh")
        self.dend.insert("pas")
        self.all = [self.soma, self.dend]
        self.syn = h.ExpSyn(self.dend(0.9))
        self.syn.tau = 2  # ms: NEURON's default 0.1 ms is too brief to make the soma fire
        self.stim = h.NetStim()
        self.stim.start, self.stim.number, self.stim.interval, self.stim.noise = 5, 1e9, 20, 0.5
        self.stim.noiseFromRandom123(gid, 0, 1)
        self.nc = h.NetCon(self.stim, self.syn)
        self.nc.weight[0] = 0.02

    def __repr__(self):
        return f"BallAndStick[{self.gid}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tstop", type=float, default=200.0, help="ms")
    parser.add_argument("--out", default="example_run.nc")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    cells = [BallAndStick(i, *rng.uniform(-50, 50, 2), -400.0) for i in range(5)]
    net = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=20.0, y=0.0, z=np.linspace(-500, 0, 6))  # µm
    signals.record(net, [LFP(probe, sigma=0.3), Spikes(), Traces([0])],
                   tstop=args.tstop, dt=0.025, path=args.out, attrs={"model": "5 ball-and-sticks"})

    ds = signals.open_run(args.out)
    print(ds)
    print(f"{ds.sizes['spike']} spikes; LFP range "
          f"{float(ds.lfp.min()):.4f} to {float(ds.lfp.max()):.4f} {ds.lfp.attrs['units']}")
    fig = plot_lfp(ds)
    fig.savefig(args.out.replace(".nc", ".png"), dpi=100)


if __name__ == "__main__":
    main()
