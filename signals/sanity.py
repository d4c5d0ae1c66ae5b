"""Geometry sanity report: the silent mistakes that make an LFP wrong without an error.

A network whose cells all sit at one point (placement never applied), cells stacked on one
another, or a probe millimetres away from every cell still gives numbers; these checks say so,
once per run, with the numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["geometry_warnings", "electrode_offsets"]

#: Farther than this from the network's bounding box (µm), an electrode sees no local field.
FAR_UM = 3000.0


def electrode_offsets(electrodes: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance (µm) of each electrode from the box ``lo``..``hi`` (0 inside), shape (n,)."""
    gap = np.maximum(np.maximum(lo - electrodes, electrodes - hi), 0.0)
    return np.linalg.norm(gap, axis=1)


def geometry_warnings(cell_gid: np.ndarray, cell_position: np.ndarray, lo: np.ndarray,
                      hi: np.ndarray, electrodes: np.ndarray | None = None) -> list[str]:
    """What looks degenerate about a network and its probe.

    Parameters
    ----------
    cell_gid : ndarray of int, shape (n_cell,)
        gids of every cell of the network.
    cell_position : ndarray, shape (n_cell, 3)
        Soma positions (µm).
    lo, hi : ndarray, shape (3,)
        Bounding box of every segment (µm).
    electrodes : ndarray, shape (n, 3), optional
        Electrode positions (µm).

    Returns
    -------
    list of str
        One sentence per problem found (empty if none).
    """
    out = []
    pos = np.asarray(cell_position, dtype=float).reshape(-1, 3)
    if len(pos) > 1:
        spread = np.ptp(pos, axis=0).max()
        if spread < 1e-6:
            out.append(f"all {len(pos)} somata are at one point {np.round(pos[0], 3).tolist()} µm: "
                       "were the cells ever positioned?")
        else:
            _, inverse, counts = np.unique(np.round(pos, 3), axis=0, return_inverse=True,
                                           return_counts=True)
            stacked = np.flatnonzero(counts[inverse.ravel()] > 1)
            if stacked.size:
                out.append(f"{stacked.size} of {len(pos)} cells share their soma position with "
                           f"another cell (e.g. gids {np.asarray(cell_gid)[stacked[:4]].tolist()})")
    if electrodes is not None and len(electrodes):
        dist = electrode_offsets(np.asarray(electrodes, dtype=float), lo, hi)
        if dist.min() > FAR_UM:
            out.append(f"every electrode is more than {FAR_UM / 1000:g} mm from the network "
                       f"(nearest {dist.min():.0f} µm from its bounding box "
                       f"{np.round(lo).tolist()}..{np.round(hi).tolist()} µm): check units and "
                       "coordinates (signals uses NEURON's µm, with no axis flips)")
    return out
