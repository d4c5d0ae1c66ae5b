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

__all__ = ["Electrodes", "ProbeAxis", "points", "laminar", "grid", "mea", "probe_axis"]


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


@dataclass(frozen=True, eq=False)
class ProbeAxis:
    """The straight line a laminar probe's contacts lie on (see :func:`probe_axis`).

    Attributes
    ----------
    direction : ndarray, shape (3,)
        Unit vector along the probe, pointing towards the contacts drawn at the top: ``+x``,
        ``+y`` or ``+z`` for a probe along a coordinate axis, otherwise the sign that makes its
        largest component positive.
    position : ndarray, shape (n,)
        Each contact's coordinate along ``direction`` (µm), ``positions @ direction``: for a
        probe along an axis, the contacts' own x, y or z.
    name : str
        ``"x"``, ``"y"`` or ``"z"`` for a probe along that axis, else ``"probe"``.
    """

    direction: np.ndarray
    position: np.ndarray
    name: str

    @property
    def label(self) -> str:
        """Axis label with unit, e.g. ``"electrode y (µm)"``."""
        if self.name in ("x", "y", "z"):
            return f"electrode {self.name} (µm)"
        d = ", ".join(f"{v + 0.0:.2g}" for v in self.direction)
        return f"position along the probe ({d}) (µm)"

    def describe(self, i: int) -> str:
        """Where contact ``i`` is, e.g. ``"y = -250 µm"``."""
        value = float(self.position[i]) + 0.0  # + 0.0: no "-0"
        if self.name in ("x", "y", "z"):
            return f"{self.name} = {value:.0f} µm"
        return f"{value:.0f} µm along the probe"

    @property
    def order(self) -> np.ndarray:
        """Contact indices from the top (highest ``position``) down."""
        return np.argsort(-self.position, kind="stable")


def probe_axis(positions: Sequence[Sequence[float]] | np.ndarray, *, tol: float = 1e-6) -> ProbeAxis:
    """The axis of a straight probe, found from its contact positions (any direction).

    NetPyNE's depth axis is y, other models use z or an oblique insertion; the contacts say
    which: their principal direction, accepted if every contact lies on that line.

    Parameters
    ----------
    positions : array-like, shape (n, 3)
        Contact centres (µm).
    tol : float > 0
        Largest distance of a contact from the line, relative to the probe's length.

    Returns
    -------
    ProbeAxis

    Raises
    ------
    ValueError
        If fewer than two contacts are at distinct positions, or they are not on one line
        (a 2-D array, a multi-shank probe).

    Examples
    --------
    >>> axis = probe_axis(laminar(x=0, y=range(-900, 1, 100), z=0).positions)
    >>> axis.name, axis.position[:2]
    ('y', array([-900., -800.]))
    """
    pos = as_positions(positions, "positions")
    centred = pos - pos.mean(axis=0)
    length = float(np.sqrt((centred**2).sum(axis=1)).max()) if len(pos) else 0.0
    if length == 0.0:
        raise ValueError("a probe axis needs at least two contacts at distinct positions")
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    d = vt[0]
    off = np.linalg.norm(centred - np.outer(centred @ d, d), axis=1).max()
    if off > tol * 2 * length:
        raise ValueError(f"the contacts are not on one straight line (a contact is {off:.3g} µm off "
                         "the best line); select one column of contacts")
    k = int(np.argmax(np.abs(d)))
    if np.abs(d[k]) > 1 - 1e-9:  # along a coordinate axis: exactly that axis, no round-off
        d = np.zeros(3)
        d[k] = 1.0
        name = "xyz"[k]
    else:
        # z, then y, wins a tie: depth is usually one of them
        k = max((2, 1, 0), key=lambda i: round(abs(d[i]), 9))
        d = d * np.sign(d[k])
        name = "probe"
    return ProbeAxis(d, pos @ d, name)
