"""Checks every recorder should pass, for built-ins and third-party plugins alike.

>>> from signals.testing import check_recorder
>>> from signals.recorders import Dipole
>>> check_recorder(Dipole())  # doctest: +SKIP
"""

from __future__ import annotations

import pickle

import numpy as np

from signals.recorder import Chunk, Context, Recorder

__all__ = ["check_recorder"]


class _TestCell:
    """A soma (hh) and a 5-segment dendrite along z (µm)."""

    def __init__(self, gid: int, x: float) -> None:
        from neuron import h

        self.gid, self.population = gid, ("A", "B")[gid % 2]
        self.soma = h.Section(name="soma", cell=self)
        self.dend = h.Section(name="dend", cell=self)
        self.dend.connect(self.soma(1))
        self.soma.pt3dadd(x, 0, -10, 20)
        self.soma.pt3dadd(x, 0, 10, 20)
        self.dend.pt3dadd(x, 0, 10, 2)
        self.dend.pt3dadd(x, 0, 310, 2)
        self.dend.nseg = 5
        self.soma.insert("hh")  # ions (na, k) for recorders of concentrations
        self.all = [self.soma, self.dend]

    def __repr__(self) -> str:
        return f"TestCell[{self.gid}]"


def check_recorder(recorder: Recorder, *, n_samples: int = 7, seed: int = 0) -> None:
    """Raise ``AssertionError`` if ``recorder`` breaks the Recorder contract.

    Checks, on two small cells built in NEURON (soma with ``hh``, populations ``A`` and ``B``,
    gids 0 and 1, spanning x 0-60 µm, z -10-310 µm):

    - it pickles before ``setup`` (parameters only in ``__init__``);
    - every declared variable has a ``units`` string, a ``long_name``, a growing first dim
      (``time``, ``spike`` or its own, not sized by a coordinate) and a ``reduce`` of ``sum``,
      ``gather`` or ``concat``;
    - ``on_chunk`` returns exactly the declared variables, with the declared number of dims,
      ``n_samples`` rows along ``time``, and sizes matching the recorder's coordinates; a chunk
      of zero samples (the last call of a run) gives zero rows;
    - sampled (``time``) variables reduced by ``sum`` (or ``concat``) are linear in the
      membrane currents (as the MPI reduction assumes):
      ``f(a·I1 + b·I2) = a·f(I1) + b·f(I2)`` to 1e-9 relative.

    Parameters
    ----------
    recorder : Recorder
        A fresh instance (not yet set up).
    n_samples : int
        Samples per synthetic chunk.
    seed : int
        Seed of the synthetic currents (nA).
    """
    from signals.network import from_neuron

    if not isinstance(recorder, Recorder):
        raise TypeError(f"expected a Recorder instance, got {recorder!r}")
    pickle.loads(pickle.dumps(recorder))
    specs = recorder.variables()
    for name, spec in specs.items():
        assert isinstance(spec.units, str) and spec.units, f"{name}: no units"
        assert spec.long_name, f"{name}: no long_name"
        assert spec.dims, f"{name}: no dims"
        assert spec.reduce in ("sum", "gather", "concat"), f"{name}: reduce {spec.reduce!r}"

    cells = [_TestCell(0, 0.0), _TestCell(1, 60.0)]
    table = from_neuron(cells)
    ctx = Context(segments=table, populations=("A", "B"),
                  network_center=table.cell_position.mean(axis=0))
    recorder.setup(ctx)
    coords = recorder.coords(ctx)
    sizes = {dims[0]: np.shape(values)[0] for dims, values, _ in coords.values() if len(dims) == 1}
    sizes["population"] = 2
    for name, spec in specs.items():  # the first dim grows: time, spike or the recorder's own
        assert spec.dims[0] not in sizes, f"{name}: first dim {spec.dims[0]!r} has a fixed size"

    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) * 0.025

    def run(imem):
        pointers = [np.zeros((len(segs), n_samples)) for segs, _, _ in ctx.pointer_groups]
        return recorder.on_chunk(Chunk(imem=imem, t=t, start=0, pointers=pointers))

    # the last call of a run may hold no samples (events after the last sample)
    empty = recorder.on_chunk(Chunk(imem=np.zeros((len(table), 0)), t=np.zeros(0), start=0,
                                    pointers=[np.zeros((len(segs), 0))
                                              for segs, _, _ in ctx.pointer_groups]))
    for name, spec in specs.items():
        if spec.dims[0] == "time":
            assert np.shape(empty[name])[0] == 0, f"{name}: rows for an empty chunk"

    i1, i2 = rng.normal(size=(2, len(table), n_samples))
    out1, out2 = run(i1), run(i2)
    assert set(out1) == set(specs), f"returned {sorted(out1)}, declared {sorted(specs)}"
    out_mix = run(2.0 * i1 - 0.5 * i2)
    for name, spec in specs.items():
        arr = np.asarray(out1[name])
        assert arr.ndim == len(spec.dims), f"{name}: {arr.ndim} dims, declared {spec.dims}"
        if spec.dims[0] == "time":
            assert arr.shape[0] == n_samples, f"{name}: {arr.shape[0]} rows for {n_samples} samples"
        for dim, size in zip(spec.dims[1:], arr.shape[1:], strict=True):
            if dim in sizes:
                assert size == sizes[dim], f"{name}: dim {dim!r} has {size}, coordinate {sizes[dim]}"
        if spec.reduce in ("sum", "concat") and spec.dims[0] == "time":
            expected = 2.0 * arr - 0.5 * np.asarray(out2[name])
            scale = max(np.abs(expected).max(), 1e-300)
            err = np.abs(np.asarray(out_mix[name]) - expected).max() / scale
            assert err < 1e-9, f"{name}: not linear in the membrane currents (error {err:.2e})"
