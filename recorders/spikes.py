"""Spike times of every recorded cell."""

from __future__ import annotations

import numpy as np

from signals.recorder import Chunk, Context, Recorder, VariableSpec
from signals.schema import spike_variables
from signals.validation import check_real

__all__ = ["Spikes"]


class Spikes(Recorder):
    """Spike times (ms) and gids as ragged arrays ``spike_time(spike)``, ``spike_gid(spike)``.

    Spikes are detected where the model detects them: a cell registered with
    ``ParallelContext`` (``pc.cell(gid, netcon)``: NetPyNE, LFPy's ``Network``, plain parallel
    NEURON models) at its detector's source segment (often on the axon) with its threshold,
    ``pc.threshold(gid)`` (see :func:`signals.network.spike_detectors`); any other cell at the
    middle of its root (soma) section with ``threshold``. An ``APCount`` there records upward
    threshold crossings at the time step where they happen: the same step as the model's
    ``NetCon``, whose ``record`` (and ``pc.spike_record``, NetPyNE's ``spkt``) adds NEURON's
    event offset of 1e-10 ms to the step time. NEURON keeps a single record vector per spike
    source, so recording through ``NetCon.record`` or ``pc.spike_record`` would silently take
    over the user's (or NetPyNE's) own spike recording; an ``APCount`` leaves those intact.

    Parameters
    ----------
    threshold : float
        Spike threshold (mV) of cells without a registered detector.
    """

    name = "spikes"

    def __init__(self, *, threshold: float = 10.0) -> None:
        self.threshold = check_real(threshold, "threshold (mV)")


    def variables(self) -> dict[str, VariableSpec]:
        return spike_variables()

    def setup(self, ctx: Context) -> None:
        from neuron import h

        from signals.network import spike_detectors

        detectors = spike_detectors(ctx.segments.cell_gid)
        self.tvecs_, self.counters_ = [], []
        for gid, root in zip(ctx.segments.cell_gid, ctx.segments.roots, strict=True):
            detector = detectors.get(int(gid))
            if detector is not None and h.SectionRef(sec=detector[0].sec).root != root:
                detector = None  # the gid's detector watches another cell (not this one's gid)
            seg, thresh = detector or (root(0.5), self.threshold)
            ap = h.APCount(seg)
            ap.thresh = thresh
            tvec = h.Vector()
            ap.record(tvec)
            self.counters_.append(ap)
            self.tvecs_.append(tvec)
        self.gids_ = np.asarray(ctx.segments.cell_gid, dtype=np.int64)

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        # Hand over what was recorded so far and empty the vectors: memory stays per chunk.
        times, gids = [], []
        for gid, tvec, ap in zip(self.gids_, self.tvecs_, self.counters_, strict=True):
            if tvec.size():
                times.append(np.array(tvec))
                gids.append(np.full(int(tvec.size()), gid, dtype=np.int64))
                tvec.resize(0)
                ap.n = 0  # APCount writes spike k at index k of its vector
        if not times:
            return {"spike_time": np.zeros(0), "spike_gid": np.zeros(0, dtype=np.int64)}
        return {"spike_time": np.concatenate(times), "spike_gid": np.concatenate(gids)}
