"""The embedded demo network: 120 five-compartment cells in two layers with gamma activity.

Modelled on the NetPyNE paper's LFP example (120 five-compartment neurons in layers producing
oscillatory activity), built in plain NEURON with built-in mechanisms only (``hh``, ``pas``,
``ExpSyn``, ``NetStim``): no downloads, no compiled mod files.

Cortical depth is along ``z`` (µm): the pial surface is at ``z = 0`` and deeper is more negative.
Pyramidal cells point their apical dendrite towards the surface (+z); it ends below the surface.

With the default parameters the network oscillates in the gamma band (PING, ~35-40 Hz):
pyramidal cells (E2, E5) fire at ~5-10 Hz, interneurons (I2, I5) at ~35 Hz in volleys. The LFP
is dominated by the rhythmic synaptic currents of the pyramidal cells (perisomatic inhibition,
excitation on the apical dendrites) and so varies with depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DemoNetwork", "build_network", "record_demo", "POPULATIONS"]

#: name → (number of cells, soma depth range in µm, kind)
POPULATIONS = {
    "E2": (40, (-450.0, -250.0), "pyr"),
    "I2": (20, (-450.0, -250.0), "bas"),
    "E5": (40, (-900.0, -650.0), "pyr"),
    "I5": (20, (-900.0, -650.0), "bas"),
}

# The activity is PING-style gamma: the background drives the pyramidal cells, hardly the
# interneurons; the interneurons fire in volleys recruited by the pyramidal cells (strong, fast E→I),
# and their strong, slow perisomatic inhibition (I→E, tau 8 ms) silences the pyramidal cells until it
# decays, which sets the period (~27 ms, ~35-40 Hz). Pyramidal cells fire on a fraction of the cycles.
# (pre, post) → (probability, weight in µS, target section, reversal mV, tau ms)
_RULES = {
    ("E2", "E2"): (0.10, 0.0020, "apic1", 0.0, 3.0),
    ("E2", "I2"): (0.40, 0.0040, "soma", 0.0, 2.0),
    ("I2", "E2"): (0.50, 0.0200, "soma", -80.0, 8.0),
    ("I2", "I2"): (0.20, 0.0010, "soma", -80.0, 8.0),
    ("E5", "E5"): (0.10, 0.0020, "apic1", 0.0, 3.0),
    ("E5", "I5"): (0.40, 0.0040, "soma", 0.0, 2.0),
    ("I5", "E5"): (0.50, 0.0200, "soma", -80.0, 8.0),
    ("I5", "I5"): (0.20, 0.0010, "soma", -80.0, 8.0),
    ("E2", "E5"): (0.15, 0.0030, "apic2", 0.0, 3.0),
}

# Poisson background, excitatory: population → (rate as a fraction of drive_hz, weight in µS, target
# section). Without recurrent synapses it makes pyramidal cells fire at ~50 Hz, interneurons at ~7 Hz.
_BACKGROUND = {
    "E2": (1.0, 0.0022, "apic0"),
    "I2": (1.0, 0.0003, "soma"),
    "E5": (1.0, 0.0022, "apic0"),
    "I5": (1.0, 0.0003, "soma"),
}
_BACKGROUND_TAU = 2.0  # ms
_RAMP_MS = 50.0  # background inputs switch on at random times within the first _RAMP_MS
_APICAL_TOP = -20.0  # µm: apical tufts end at or below this depth, under the pial surface


class _Cell:
    """A five-compartment cell with 3-D points (µm)."""

    def __init__(self, gid: int, population: str, kind: str, pos: np.ndarray) -> None:
        from neuron import h

        self.gid = gid
        self.population = population
        self.kind = kind
        x, y, z = pos
        names = (("soma", "basal", "apic0", "apic1", "apic2") if kind == "pyr"
                 else ("soma", "dend0", "dend1", "dend2", "dend3"))
        self.secs = {n: h.Section(name=n, cell=self) for n in names}
        self.all = list(self.secs.values())
        soma = self.secs["soma"]
        soma.pt3dadd(x, y, z - 10, 20 if kind == "pyr" else 15)
        soma.pt3dadd(x, y, z + 10, 20 if kind == "pyr" else 15)
        soma.insert("hh")
        if kind == "pyr":
            # basal dendrite down; apical dendrite in three pieces up towards the surface, 400 µm
            # long unless that would cross _APICAL_TOP (shallow cells get a shorter apical)
            c = min(1.0, (_APICAL_TOP - z - 10.0) / 400.0)
            layout = [("basal", soma(0), -10, -160, 2.0),
                      ("apic0", soma(1), 10, 10 + 150 * c, 3.0),
                      ("apic1", self.secs["apic0"](1), 10 + 150 * c, 10 + 300 * c, 2.0),
                      ("apic2", self.secs["apic1"](1), 10 + 300 * c, 10 + 400 * c, 1.5)]
            for name, parent, z0, z1, diam in layout:
                sec = self.secs[name]
                sec.connect(parent)
                sec.pt3dadd(x, y, z + z0, diam)
                sec.pt3dadd(x, y, z + z1, diam)
                sec.nseg = 3
        else:
            for k, (dx, dy) in enumerate(((1, 0), (-1, 0), (0, 1), (0, -1))):
                sec = self.secs[f"dend{k}"]
                sec.connect(soma(0.5))
                sec.pt3dadd(x, y, z, 1.0)
                sec.pt3dadd(x + 80 * dx, y + 80 * dy, z, 1.0)
                sec.nseg = 2
        for sec in self.all:
            sec.Ra = 150.0
            sec.cm = 1.0
            if sec is not soma:
                sec.insert("pas")
                for seg in sec:
                    seg.pas.g = 1e-4
                    seg.pas.e = -65.0

    def __repr__(self) -> str:
        return f"{self.population}[{self.gid}]"


@dataclass
class DemoNetwork:
    """The instantiated demo network; keep it alive while NEURON runs.

    Attributes
    ----------
    cells : list
        Cell objects with ``gid``, ``population`` and an ``all`` list of sections.
    populations : dict of str to list
        This rank's cells by population, for :func:`signals.network.from_neuron`.
    connections : ndarray, shape (n, 4)
        ``(pre gid, post gid, weight µS, delay ms)`` of every recurrent connection of the whole
        network (on every rank).
    """

    cells: list
    populations: dict
    connections: np.ndarray
    _keep: list = field(default_factory=list, repr=False)


def build_network(*, seed: int = 1, scale: float = 1.0, drive_hz: float = 1000.0) -> DemoNetwork:
    """Instantiate the demo network in NEURON.

    Parameters
    ----------
    seed : int
        Seed of positions, connectivity and background noise.
    scale : float > 0
        Multiplies the number of cells of each population (1 → 120 cells); recurrent weights are
        divided by it, so that the activity stays roughly the same.
    drive_hz : float > 0
        Rate (Hz) of the Poisson background input to each cell (summed over its inputs). It drives
        the pyramidal cells strongly and the interneurons weakly.

    Returns
    -------
    DemoNetwork

    Notes
    -----
    Cells are registered with ``ParallelContext`` (``set_gid2node``, ``cell``, ``gid_connect``)
    and distributed round-robin over MPI ranks; the network, and therefore the recorded run, is
    the same for any number of ranks. Building clears this process's gids (``pc.gid_clear()``).
    """
    from neuron import h

    if not scale > 0 or not drive_hz > 0:
        raise ValueError("scale and drive_hz must be > 0")
    pc = h.ParallelContext()
    rank, nhost = int(pc.id()), int(pc.nhost())
    pc.gid_clear()  # the demo owns the gid space of this process
    # Every rank draws the same random numbers in the same order and instantiates only its own
    # cells (round-robin by gid), so the network is the same for any number of ranks.
    rng = np.random.default_rng(seed)
    cells, pops, keep = [], {}, []
    gid = 0
    for pop, (n, (zlo, zhi), kind) in POPULATIONS.items():
        n = max(1, round(n * scale))
        pops[pop] = []
        for _ in range(n):
            pos = np.array([rng.uniform(-200, 200), rng.uniform(-200, 200), rng.uniform(zlo, zhi)])
            if gid % nhost == rank:
                cell = _Cell(gid, pop, kind, pos)
                pc.set_gid2node(gid, rank)
                spike_source = h.NetCon(cell.secs["soma"](0.5)._ref_v, None, sec=cell.secs["soma"])
                spike_source.threshold = 0.0
                pc.cell(gid, spike_source)
                cells.append(cell)
                pops[pop].append(cell)
            else:
                pops[pop].append(None)  # placeholder: only the gid is needed here
            gid += 1
    gids = {}
    start_gid = 0
    for pop, members in pops.items():
        gids[pop] = list(range(start_gid, start_gid + len(members)))
        start_gid += len(members)
    conns = []
    for (pre, post), (p, w, target, erev, tau) in _RULES.items():
        # weights scale inversely with the size of the presynaptic population, so that the mean
        # recurrent input per cell, and hence the activity, does not depend on ``scale``
        w = w * POPULATIONS[pre][0] / len(gids[pre])
        for dst_gid, dst in zip(gids[post], pops[post], strict=True):
            syn = None
            if dst is not None:
                syn = h.ExpSyn(dst.secs[target](0.5))
                syn.e, syn.tau = erev, tau
                keep.append(syn)
            for src_gid in gids[pre]:
                if src_gid == dst_gid or rng.random() >= p:
                    continue
                delay = 1.0 + rng.uniform(0, 2)
                conns.append((src_gid, dst_gid, w, delay))
                if syn is not None:
                    nc = pc.gid_connect(src_gid, syn)
                    nc.weight[0], nc.delay = w, delay
                    keep.append(nc)
    for pop, members in pops.items():
        frac, w, target = _BACKGROUND[pop]
        for cell_gid, cell in zip(gids[pop], members, strict=True):
            # start times spread over the first _RAMP_MS so that the network does not begin with
            # one synchronous volley of all cells
            start = rng.uniform(0.0, _RAMP_MS)
            if cell is None:
                continue
            # Poisson background: excitatory onto the dendrites (soma of interneurons)
            syn = h.ExpSyn(cell.secs[target](0.5))
            syn.e, syn.tau = 0.0, _BACKGROUND_TAU
            stim = h.NetStim()
            stim.interval, stim.number, stim.start, stim.noise = (1000.0 / (frac * drive_hz), 1e9,
                                                                  start, 1.0)
            stim.noiseFromRandom123(cell_gid, 7, seed)
            nc = h.NetCon(stim, syn)
            nc.weight[0] = w
            nc.delay = 0.0
            keep.extend([syn, stim, nc])
    pops = {pop: [c for c in members if c is not None] for pop, members in pops.items()}
    return DemoNetwork(cells, pops, np.array(conns, dtype=float).reshape(-1, 4), keep)


def record_demo(path, *, tstop: float = 1000.0, seed: int = 1, scale: float = 1.0,
                progress: bool | None = None):
    """Build the demo network and record everything the figures use into a run file.

    The run of ``signals demo``: a 10-contact laminar probe along z (-950 to -50 µm) with
    per-population LFP, spikes, the voltage of the first cell of each population, dipoles
    (total and per population), EEG under Cz (network centre 1 mm below the brain surface) and
    the connections.

    Parameters
    ----------
    path : str or Path
        Run file to write (netCDF).
    tstop : float > 0
        Duration (ms).
    seed : int
        Seed of positions, connectivity and background noise.
    scale : float > 0
        Multiplies the number of cells (1 → 120 cells; 7.5 → 900, the benchmark network).
    progress : bool, optional
        Progress bar (default: on a terminal, for runs longer than a few seconds).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from neuron import h

    import signals
    from signals.recorders import EEG, LFP, Connections, Dipole, Spikes, Traces

    net = build_network(seed=seed, scale=scale)
    table = signals.network.from_neuron([c for cells in net.populations.values() for c in cells])
    probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-950, -50, 10))
    sizes = [len(cells) for cells in net.populations.values()]
    first_gids = np.cumsum([0] + sizes)[:-1]  # one traced cell per population
    h.dt = 0.025
    recorders = [LFP(probe, per_population=True), Spikes(), Traces(first_gids), Dipole(),
                 EEG(under="Cz", depth=1000.0), Connections()]
    return signals.record(table, recorders, tstop=tstop, path=path, progress=progress,
                          attrs={"model": f"signals demo network ({sum(sizes)} five-compartment cells)",
                                 "seed": seed})
