"""Membrane currents of every segment, with the geometry to use them without NEURON."""

from __future__ import annotations

import numpy as np

from signals.recorder import Chunk, Context, Recorder, VariableSpec
from signals.validation import check_option

__all__ = ["MembraneCurrents"]


class MembraneCurrents(Recorder):
    """Membrane current of every segment (nA), and the segment geometry, for offline forward models.

    Writes ``<name>`` (time, segment) in nA: NEURON's ``i_membrane_``, the total (capacitive
    plus ionic) current leaving each segment through its membrane, as every forward model of
    signals uses it. Once, with the currents, it writes the geometry of each segment on dim
    ``segment``: ``segment_x/y/z`` (segment, segment_end) start and end points (µm),
    ``segment_diam`` (µm), ``segment_area`` (µm²), ``segment_gid``, ``segment_population``,
    ``segment_section`` (NEURON section name) and ``segment_root`` (1 for the segments of each
    cell's root section, the soma that ``LFP(method="root_as_point")`` treats as a point). The
    network centre used by :class:`~signals.recorders.EEG` and
    :class:`~signals.recorders.MEG` is the attribute ``network_center`` (µm, as its
    ``network_center_units`` says) of the ``segment`` coordinate. With these,
    :func:`signals.recompute` applies any forward model to the saved currents without NEURON
    and gives what recording it live gives.

    Parameters
    ----------
    dtype : {"f8", "f4"}
        Storage type. ``"f8"`` (default) keeps NEURON's doubles, so recomputed signals equal
        live ones to round-off; ``"f4"`` halves the file and keeps ~7 significant digits.
    name : str
        Variable name of the currents.

    Notes
    -----
    Size: 8 bytes per segment per sample (before compression), e.g. 10,000 segments sampled
    every 0.025 ms for 1 s of model time take 3.2 GB. To store the currents on a coarser grid,
    record with ``record_dt`` (e.g. ``signals.record(net, [MembraneCurrents(), Spikes()],
    record_dt=0.5, ...)`` keeps every 20th step at ``dt = 0.025`` ms): every time-sampled
    recorder of a run shares one time grid, so a forward model recomputed from those currents
    equals the same model recorded live at that ``record_dt``. Spikes are recorded at full
    resolution whatever ``record_dt`` is.

    Under MPI each rank sends only its own segments' currents (``reduce="concat"``: no rank
    ever holds a whole-network array except rank 0, which writes it); currents and geometry
    rows are joined in rank order, i.e. in the same order. Rows are therefore in rank order
    (on one rank, the network's order): the same segments, currents and geometry for any
    number of ranks, but in a rank-dependent order when cells are dealt round-robin; sort by
    ``segment_gid`` (stable) for an order that does not depend on it.
    Recomputed signals do not depend on the row order.
    """

    thread_safe = True  # copies of the chunk's buffers only

    def __init__(self, *, dtype: str = "f8", name: str = "imem") -> None:
        self.dtype = check_option(dtype, "MembraneCurrents dtype", ("f8", "f4"))
        self.name = str(name)


    def variables(self) -> dict[str, VariableSpec]:
        return {self.name: VariableSpec(
            ("time", "segment"), "nA", "membrane current of each segment", dtype=self.dtype,
            reduce="concat",
            attrs={"comment": "NEURON i_membrane_ (capacitive + ionic, excludes electrode "
                              "current); segment geometry in the segment_* variables"})}

    def setup(self, ctx: Context) -> None:
        pass  # nothing to precompute: the currents are stored as they are

    def coords(self, ctx: Context) -> dict:
        n_total = int(ctx.n_segments_total) or len(ctx.segments)
        return {
            "segment": (("segment",), np.arange(n_total, dtype=np.int64),
                        {"long_name": "segment index (MPI ranks in order)",
                         "network_center": np.asarray(ctx.network_center, dtype=float),
                         "network_center_units": "um"}),
            "segment_end": (("segment_end",), np.array(["start", "end"], dtype=object),
                            {"long_name": "segment end point"}),
        }

    def static(self, ctx: Context) -> dict:
        seg = ctx.segments
        root = seg.root.astype(np.int8)
        pops = np.array([seg.populations[i] for i in seg.population], dtype=object)
        um = {"units": "um"}
        dims = ("segment",)
        ends = ("segment", "segment_end")
        out = {
            "segment_gid": (dims, np.asarray(seg.gid, dtype=np.int64),
                            {"long_name": "gid of the segment's cell"}),
            "segment_population": (dims, pops, {"long_name": "population of the segment's cell"}),
            "segment_section": (dims, np.asarray(seg.section, dtype=object),
                                {"long_name": "NEURON section name"}),
            "segment_root": (dims, root, {"long_name": "segment of its cell's root (soma) section",
                                          "flag_values": np.array([0, 1], dtype=np.int8),
                                          "flag_meanings": "other root"}),
            "segment_diam": (dims, np.asarray(seg.diam, dtype=float),
                             {**um, "long_name": "segment diameter"}),
            "segment_area": (dims, np.asarray(seg.area, dtype=float),
                             {"units": "um2", "long_name": "segment membrane area"}),
        }
        for axis in "xyz":
            out[f"segment_{axis}"] = (ends, np.asarray(getattr(seg, axis), dtype=float).reshape(-1, 2),
                                      {**um, "long_name": f"segment start and end {axis}"})
        return out

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        # this rank's columns only; a copy, as the session reuses its buffer
        return {self.name: np.array(chunk.imem.T, dtype=self.dtype)}
