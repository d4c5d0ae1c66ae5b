"""Electrode layouts: points, laminar probes, 2-D grids and planar multi-electrode arrays.

All positions are in µm, in NEURON's coordinate system (no axis flips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from signals._validation import as_positions, check_option, check_positive, ensure_int

#: Most contacts a generated layout may have (large CMOS arrays have ~26,000).
_MAX_CONTACTS = 100_000

__all__ = ["Electrodes", "points", "laminar", "grid", "mea"]


@dataclass(frozen=True, eq=False)
class Electrodes:
    """A set of recording contacts.

    Attributes
    ----------
    positions : ndarray, shape (n, 3)
        Contact centres (µm).
    names : tuple of str
        One name per contact, e.g. ``"e00"``.
    radius : float or None
        Contact radius (µm) for disc-averaged potentials (LFPykit ``RecExtElectrode``), or None
        for point contacts.
    normal : ndarray, shape (n, 3) or None
        Unit normal of each contact disc; required when ``radius`` is given.
    n_points : int
        Number of random points averaged over each disc (only with ``radius``).
    """

    positions: np.ndarray
    names: tuple[str, ...]
    radius: float | None = None
    normal: np.ndarray | None = None
    n_points: int = 50

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @property
    def x(self) -> np.ndarray:
        """Contact x coordinates (µm)."""
        return self.positions[:, 0]

    @property
    def y(self) -> np.ndarray:
        """Contact y coordinates (µm)."""
        return self.positions[:, 1]

    @property
    def z(self) -> np.ndarray:
        """Contact z coordinates (µm)."""
        return self.positions[:, 2]


def points(
    positions: Sequence[Sequence[float]] | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    radius: float | None = None,
    normal: Sequence[float] | np.ndarray | None = None,
    n_points: int = 50,
) -> Electrodes:
    """Contacts at arbitrary positions.

    Parameters
    ----------
    positions : array-like, shape (n, 3)
        Contact centres (µm); must be finite.
    names : sequence of str, optional
        Contact names; default ``e00``, ``e01``, ...
    radius : float > 0, optional
        Contact disc radius (µm). The potential is then averaged over ``n_points`` random points
        on each disc (LFPykit ``RecExtElectrode``).
    normal : array-like, shape (3,) or (n, 3), optional
        Disc normal(s); default ``(1, 0, 0)`` when ``radius`` is given.
    n_points : int > 1
        Points averaged per disc.

    Returns
    -------
    Electrodes
    """
    pos = as_positions(positions, "positions")
    n = pos.shape[0]
    if names is None:
        width = max(2, len(str(n - 1)))
        names = [f"e{i:0{width}d}" for i in range(n)]
    names = tuple(str(s) for s in names)
    if len(names) != n or len(set(names)) != n:
        raise ValueError(f"names must be {n} unique strings, got {len(names)} ({len(set(names))} unique)")
    nrm = None
    if radius is not None:
        check_positive(radius, "radius (µm)")
        nrm = np.broadcast_to(
            np.asarray((1.0, 0.0, 0.0) if normal is None else normal, dtype=float), (n, 3)
        ).copy()
        lengths = np.linalg.norm(nrm, axis=1)
        if not np.all(np.isfinite(nrm)) or np.any(lengths == 0):
            raise ValueError("normal must be finite, non-zero 3-vectors")
        nrm /= lengths[:, None]
        if int(n_points) < 2:
            raise ValueError(f"n_points must be at least 2, got {n_points}")
    elif normal is not None:
        raise ValueError("normal is only used with a contact radius")
    return Electrodes(pos, names, None if radius is None else float(radius), nrm, int(n_points))


def laminar(
    x: float | Sequence[float] = 0.0,
    y: float | Sequence[float] = 0.0,
    z: float | Sequence[float] = 0.0,
    **kwargs,
) -> Electrodes:
    """A straight probe: coordinates given as scalars or equal-length sequences (µm).

    Examples
    --------
    >>> probe = laminar(x=0, y=0, z=range(-1000, 1, 100))  # 11 contacts, 100 µm apart along z
    """
    arrs = [np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, y, z)]
    n = max(a.size for a in arrs)
    if any(a.size not in (1, n) for a in arrs):
        raise ValueError("x, y and z must be scalars or sequences of the same length")
    return points(np.column_stack([np.broadcast_to(a, (n,)) for a in arrs]), **kwargs)


def grid(
    x: Sequence[float],
    y: Sequence[float],
    z: float = 0.0,
    **kwargs,
) -> Electrodes:
    """A 2-D grid of contacts in the plane ``z = const`` (µm); row-major in ``y`` then ``x``."""
    xx, yy = np.meshgrid(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return points(np.column_stack([xx.ravel(), yy.ravel(), np.full(xx.size, float(z))]), **kwargs)


def mea(
    rows: int,
    cols: int,
    pitch: float,
    *,
    center: Sequence[float] = (0.0, 0.0, 0.0),
    plane: str = "xz",
    radius: float | None = None,
    **kwargs,
) -> Electrodes:
    """A planar multi-electrode array (like a Neuropixels/Utah layout) of ``rows × cols`` contacts.

    Parameters
    ----------
    rows, cols : int
        Contacts per column and per row.
    pitch : float > 0
        Centre-to-centre distance (µm).
    center : 3 floats
        Array centre (µm).
    plane : {"xy", "xz", "yz"}
        Plane of the array; the disc normal is the remaining axis.
    radius : float > 0, optional
        Contact radius (µm) for disc-averaged potentials.
    """
    check_positive(pitch, "pitch (µm)")
    check_option(plane, "plane", ("xy", "xz", "yz"))
    rows = ensure_int(rows, "rows", minimum=1)
    cols = ensure_int(cols, "cols", minimum=1)
    if rows * cols > _MAX_CONTACTS:
        raise ValueError(f"mea(rows={rows}, cols={cols}) would make {rows * cols} contacts; at most "
                         f"{_MAX_CONTACTS} (each needs a row of the transfer matrix)")
    center = as_positions(center, "center (µm)")
    if center.shape[0] != 1:
        raise ValueError(f"center must be 3 numbers (x, y, z) in µm, got shape {center.shape}")
    a, b = ("xyz".index(plane[0]), "xyz".index(plane[1]))
    u = (np.arange(cols) - (cols - 1) / 2) * pitch
    v = (np.arange(rows) - (rows - 1) / 2) * pitch
    uu, vv = np.meshgrid(u, v)
    pos = np.tile(center[0], (uu.size, 1))
    pos[:, a] += uu.ravel()
    pos[:, b] += vv.ravel()
    normal = None
    if radius is not None:
        normal = np.zeros(3)
        normal[3 - a - b] = 1.0
    return points(pos, radius=radius, normal=normal, **kwargs)
