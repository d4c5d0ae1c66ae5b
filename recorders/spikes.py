"""Spike times of every recorded cell."""

from __future__ import annotations

import numpy as np

from signals.recorder import Chunk, Context, Recorder, VariableSpec

__all__ = ["Spikes"]


class Spikes(Recorder):
    """Spike times (ms) and gids, stored as ragged arrays ``spike_time(spike)``, ``spike_gid(spike)``.

    Cells registered with ``ParallelContext`` (NetPyNE, ``pc.cell``) are recorded with
    ``pc.spike_record`` and keep their own threshold; other cells get a ``NetCon`` watching
    ``v`` at the middle of their root (soma) section.

    Parameters
    ----------
    threshold : float
        Spike threshold (mV) for cells not registered with ``ParallelContext``.
    """

    name = "spikes"
    description = "spike times and gids"

    def __init__(self, *, threshold: float = 10.0) -> None:
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite voltage (mV), got {threshold}")
        self.threshold = float(threshold)

    def __repr__(self) -> str:
        return f"Spikes(threshold={self.threshold} mV)"

    def variables(self) -> dict[str, VariableSpec]:
        return {
            "spike_time": VariableSpec(("spike",), "ms", "spike time", reduce="gather"),
            "spike_gid": VariableSpec(("spike",), "1", "gid of the spiking cell",
                                      reduce="gather", dtype="i8"),
        }

    def setup(self, ctx: Context) -> None:
        from neuron import h

        pc = h.ParallelContext()
        self.tvec_ = h.Vector()
        self.idvec_ = h.Vector()
        self.netcons_ = []
        for gid, root in zip(ctx.segments.cell_gid, ctx.segments.roots, strict=True):
            if pc.gid_exists(int(gid)):
                pc.spike_record(int(gid), self.tvec_, self.idvec_)
            else:
                nc = h.NetCon(root(0.5)._ref_v, None, sec=root)
                nc.threshold = self.threshold
                nc.record(self.tvec_, self.idvec_, int(gid))
                self.netcons_.append(nc)

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        # Hand over what was recorded so far and empty the vectors: memory stays per chunk.
        t = np.array(self.tvec_.as_numpy(), copy=True)
        gid = np.array(self.idvec_.as_numpy(), copy=True).astype(np.int64)
        self.tvec_.resize(0)
        self.idvec_.resize(0)
        return {"spike_time": t, "spike_gid": gid}
