"""Electrode layouts: points, laminar probes, 2-D grids, planar multi-electrode arrays and real
probes (Neuropixels, Neuronexus, ...: :func:`probe`), and their exchange with probeinterface.

All positions are in µm, in NEURON's coordinate system (no axis flips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from signals.validation import as_positions, check_option, check_positive, ensure_int

#: Most contacts a generated layout may have (large CMOS arrays have ~26,000).
_MAX_CONTACTS = 100_000

#: Contact surfaces: potentials are averaged over a disc or a square.
SHAPES = ("circle", "square")

__all__ = ["Electrodes", "ProbeAxis", "SHAPES", "points", "laminar", "grid", "mea", "probe",
           "probe_names", "rotation_matrix", "from_probeinterface", "to_probeinterface",
           "from_run", "probe_axis"]


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
        Contact radius (µm) for surface-averaged potentials (LFPykit ``RecExtElectrode``): the
        disc's radius, or half the side of a square (its inscribed circle's radius, MEAutility's
        ``size``); None for point contacts.
    normal : ndarray, shape (n, 3) or None
        Unit normal of each contact surface; required when ``radius`` is given.
    n_points : int
        Number of random points averaged over each contact (only with ``radius``).
    shape : {"circle", "square"}
        Contact surface (only with ``radius``).
    edge : ndarray, shape (n, 3) or None
        For squares: unit vector along one pair of each square's sides, perpendicular to
        ``normal``; the other pair runs along ``normal × edge``.
    """

    positions: np.ndarray
    names: tuple[str, ...]
    radius: float | None = None
    normal: np.ndarray | None = None
    n_points: int = 50
    shape: str = "circle"
    edge: np.ndarray | None = None

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
    shape: str = "circle",
    edge: Sequence[float] | np.ndarray | None = None,
) -> Electrodes:
    """Contacts at arbitrary positions.

    Parameters
    ----------
    positions : array-like, shape (n, 3)
        Contact centres (µm); must be finite.
    names : sequence of str, optional
        Contact names; default ``e00``, ``e01``, ...
    radius : float > 0, optional
        Contact radius (µm): of a disc, or half the side of a square. The potential is then
        averaged over ``n_points`` random points on each contact (LFPykit ``RecExtElectrode``).
    normal : array-like, shape (3,) or (n, 3), optional
        Contact normal(s); default ``(1, 0, 0)`` when ``radius`` is given.
    n_points : int > 1
        Points averaged per contact.
    shape : {"circle", "square"}
        Contact surface.
    edge : array-like, shape (3,) or (n, 3), optional
        Squares only: direction of one pair of sides (made perpendicular to the normal); default
        the first in-plane axis of the disc sampling (``normal × (1, 0, 0)``, or
        ``normal × (0, 1, 0)`` for normals near x).

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
    check_option(shape, "contact shape", SHAPES)
    nrm = edg = None
    if radius is not None:
        check_positive(radius, "radius (µm)")
        nrm = _unit_vectors((1.0, 0.0, 0.0) if normal is None else normal, n, "normal")
        if int(n_points) < 2:
            raise ValueError(f"n_points must be at least 2, got {n_points}")
        if shape == "square":
            edg = (np.array([_in_plane(v) for v in nrm]) if edge is None
                   else _unit_vectors(edge, n, "edge"))
            edg = edg - np.sum(edg * nrm, axis=1)[:, None] * nrm  # perpendicular to the normal
            lengths = np.linalg.norm(edg, axis=1)
            if np.any(lengths < 1e-9):
                raise ValueError("edge must not be parallel to the contact normal")
            edg /= lengths[:, None]
        elif edge is not None:
            raise ValueError("edge is only used with shape='square'")
    elif normal is not None or edge is not None or shape != "circle":
        raise ValueError("normal, edge and shape are only used with a contact radius")
    return Electrodes(pos, names, None if radius is None else float(radius), nrm, int(n_points),
                      str(shape), edg)


def _unit_vectors(value, n: int, what: str) -> np.ndarray:
    """``value`` (3,) or (n, 3) as n unit vectors; raises if not finite or zero."""
    try:
        v = np.broadcast_to(np.asarray(value, dtype=float), (n, 3)).copy()
    except ValueError:
        raise ValueError(f"{what} must be a 3-vector or one per contact ({n}, 3), got shape "
                         f"{np.shape(value)}") from None
    lengths = np.linalg.norm(v, axis=1)
    if not np.all(np.isfinite(v)) or np.any(lengths == 0):
        raise ValueError(f"{what} must be finite, non-zero 3-vectors")
    return v / lengths[:, None]


def _in_plane(normal: np.ndarray) -> np.ndarray:
    """The first in-plane unit vector the disc sampling uses (``recorders.lfp._disc_points``)."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(normal, helper)
    return u / np.linalg.norm(u)


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


def rotation_matrix(axis: str | Sequence[float], angle: float) -> np.ndarray:
    """Rotation by ``angle`` degrees about ``axis``, counterclockwise looking down the axis.

    The right-hand rule, as MEAutility's ``MEA.rotate(axis, theta)``; compose rotations by
    matrix product (``rotation_matrix("y", 30) @ rotation_matrix("z", 90)`` turns about z
    first).

    Parameters
    ----------
    axis : {"x", "y", "z"} or 3 floats
        Rotation axis (any length).
    angle : float
        Angle (degrees).

    Returns
    -------
    ndarray, shape (3, 3)
        ``R`` such that ``R @ v`` is ``v`` rotated.

    Examples
    --------
    >>> rotation_matrix("z", 90).round(12) @ [1, 0, 0]
    array([0., 1., 0.])
    """
    if isinstance(axis, str):
        check_option(axis, "rotation axis", ("x", "y", "z"))
        axis = np.eye(3)["xyz".index(axis)]
    a = np.asarray(axis, dtype=float).reshape(-1)
    if a.shape != (3,) or not np.all(np.isfinite(a)) or not np.linalg.norm(a):
        raise ValueError(f"axis must be 'x', 'y', 'z' or a non-zero 3-vector, got {axis!r}")
    a = a / np.linalg.norm(a)
    theta = np.deg2rad(float(angle))
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + np.sin(theta) * k + (1.0 - np.cos(theta)) * (k @ k)  # Rodrigues


def _check_rotation(rotation) -> np.ndarray:
    """``rotation`` as a proper 3 × 3 rotation matrix (identity for None)."""
    if rotation is None:
        return np.eye(3)
    R = np.asarray(rotation, dtype=float)
    if R.shape != (3, 3) or not np.all(np.isfinite(R)):
        raise ValueError(f"rotation must be a 3 x 3 matrix (see rotation_matrix), got shape {R.shape}")
    if np.abs(R @ R.T - np.eye(3)).max() > 1e-9 or np.linalg.det(R) < 0:
        raise ValueError("rotation must be a rotation matrix (orthonormal, determinant +1)")
    return R


def _placed(pos, vectors, position, rotation):
    """Contacts rotated about their centre by ``rotation`` and centred on ``position``."""
    R = _check_rotation(rotation)
    centre = pos.mean(axis=0)
    if position is None:
        position = centre
    position = as_positions(position, "position (µm)")
    if position.shape[0] != 1:
        raise ValueError(f"position must be 3 numbers (x, y, z) in µm, got shape {position.shape}")
    placed = position[0] + (pos - centre) @ R.T
    return placed, [None if v is None else v @ R.T for v in vectors]


def probe_names() -> list[str]:
    """The probes :func:`probe` knows: MEAutility's definitions (installed with LFPykit).

    Returns
    -------
    list of str
        E.g. ``"Neuropixels-384"`` (1.0, 4 staggered columns), ``"Neuropixels2-384"``
        (2.0, 2 columns), the 24-, 64- and 128-contact variants, ``"Neuronexus-32"``,
        ``"Neuroseeker-128"``, square MEAs ``"SqMEA-10-15"``, ``"tetrode"``.
    """
    import MEAutility as mu

    return list(mu.return_mea_list())


def probe(name: str, position: Sequence[float] = (0.0, 0.0, 0.0), rotation=None, *,
          n_points: int | None = 50) -> Electrodes:
    """A real probe layout from MEAutility's definitions, placed and rotated; offline.

    In its own frame (MEAutility's) a probe's contacts lie in the ``yz`` plane facing ``-x`` or
    ``+x``, its long axis along ``z``; ``rotation`` turns it about the centre of its contacts,
    which then goes to ``position``.

    Parameters
    ----------
    name : str
        A name of :func:`probe_names`, e.g. ``"Neuropixels-384"``, ``"Neuronexus-32"``.
    position : 3 floats
        Where the centre (mean) of the contacts goes (µm).
    rotation : array-like, shape (3, 3), optional
        Rotation applied first, e.g. ``rotation_matrix("x", 90)`` (which puts the long axis
        along ``-y``, NetPyNE's depth axis) or a product of them.
    n_points : int > 1 or None
        Points averaged over each contact surface (disc or square, of MEAutility's size); None
        for point contacts at the centres.

    Returns
    -------
    Electrodes
        Contacts ``e00``, ``e01``, ... (``e000`` from 100 contacts on) in MEAutility's order,
        with their normals, shape and radius (half the side of a square): a Neuropixels probe
        has 12 µm squares (``radius`` 6), their sides along and across the probe.

    Examples
    --------
    >>> npx = probe("Neuropixels-384", position=(50, 0, -500), rotation=rotation_matrix("z", 90))
    >>> len(npx), npx.shape, npx.radius
    (384, 'square', 6.0)
    """
    import MEAutility as mu

    check_option(name, "probe name", probe_names())
    mea = mu.return_mea(name)
    shape = str(mea.shape)
    if shape not in SHAPES:
        raise ValueError(f"probe {name!r} has {shape!r} contacts; signals averages over {SHAPES}")
    pos = np.asarray(mea.positions, dtype=float).reshape(-1, 3)
    axes = np.asarray(mea.main_axes, dtype=float)
    normal = []
    for el in mea.electrodes:
        nrm = None if el.normal is None else np.asarray(el.normal, dtype=float)
        if nrm is None or not np.all(np.isfinite(nrm)) or not np.linalg.norm(nrm):
            nrm = np.cross(axes[0], axes[1])
        normal.append(nrm / np.linalg.norm(nrm))
    normal = np.array(normal)
    edge = np.broadcast_to(axes[0], pos.shape)
    pos, (normal, edge) = _placed(pos, [normal, edge], position, rotation)
    if n_points is None:
        return points(pos)
    return points(pos, radius=float(mea.size), normal=normal, n_points=n_points, shape=shape,
                  edge=edge if shape == "square" else None)


def to_probeinterface(electrodes: Electrodes, *, name: str | None = None):
    """Contacts as a 3-D ``probeinterface.Probe`` (µm), for SpikeInterface and probeinterface.

    Parameters
    ----------
    electrodes : Electrodes
        Contacts (µm).
    name : str, optional
        The probe's ``name`` annotation.

    Returns
    -------
    probeinterface.Probe
        ``ndim=3``, ``si_units="um"``; contact ids = the contact names, device channel index
        ``i`` for the ``i``-th contact (the run's channel order); shapes ``"circle"``
        (``{"radius": r}``) or ``"square"`` (``{"width": 2 r}``); ``contact_plane_axes`` the
        square's sides (``edge``, ``normal × edge``), whose cross product is the normal. Point
        contacts become 1 µm discs facing ``+x``, annotated ``signals_contacts="point"`` so that
        :func:`from_probeinterface` makes them points again.
    """
    import probeinterface

    if not isinstance(electrodes, Electrodes):
        raise TypeError(f"electrodes must be signals.electrodes.Electrodes, got {type(electrodes)}")
    n = len(electrodes)
    point = electrodes.radius is None
    normal = np.tile([1.0, 0.0, 0.0], (n, 1)) if point else electrodes.normal
    edge = (electrodes.edge if electrodes.edge is not None
            else np.array([_in_plane(v) for v in normal]))
    plane_axes = np.stack([edge, np.cross(normal, edge)], axis=1)
    if point or electrodes.shape == "circle":
        shape, params = "circle", {"radius": 0.5 if point else electrodes.radius}
    else:
        shape, params = "square", {"width": 2 * electrodes.radius}
    pr = probeinterface.Probe(ndim=3, si_units="um", name=name)
    pr.set_contacts(positions=electrodes.positions, shapes=shape, shape_params=params,
                    plane_axes=plane_axes, contact_ids=list(electrodes.names))
    pr.set_device_channel_indices(np.arange(n))
    if point:
        pr.annotate(signals_contacts="point")
    else:
        pr.annotate(signals_n_points=int(electrodes.n_points))
    return pr


def from_probeinterface(probe, position: Sequence[float] | None = None, rotation=None, *,
                        n_points: int | None = None) -> Electrodes:
    """A ``probeinterface.Probe`` (or one from SpikeInterface) as contacts (µm).

    Parameters
    ----------
    probe : probeinterface.Probe
        A 2-D probe (put in the ``yz`` plane, as :func:`probe` puts MEAutility's: its x is
        our y, its y our z) or a 3-D one, in µm (``si_units="um"``).
    position : 3 floats, optional
        Where the centre of the contacts goes (µm); default where they are.
    rotation : array-like, shape (3, 3), optional
        Rotation about the contacts' centre (see :func:`rotation_matrix`).
    n_points : int > 1, optional
        Points averaged per contact; default the probe's ``signals_n_points`` annotation, else 50.

    Returns
    -------
    Electrodes
        In the channel map's order: by ``device_channel_indices`` where the probe has them
        (contacts wired to no channel, index -1, are left out), else in contact order. Names:
        the contact ids where they are unique, else ``e000``, .... Circles keep their radius,
        squares get half their ``width``; the normal is ``plane_axes[0] × plane_axes[1]``.

    Raises
    ------
    ValueError
        Mixed shapes or sizes (an :class:`Electrodes` has one), ``"rect"`` contacts, units
        other than µm.
    """
    if getattr(probe, "si_units", "um") != "um":
        raise ValueError(f"the probe is in {probe.si_units!r}; signals needs µm ('um')")
    if probe.ndim == 2:
        probe = probe.to_3d(axes="yz")
    order = np.arange(probe.get_contact_count())
    channels = probe.device_channel_indices
    if channels is not None:
        channels = np.asarray(channels)
        order = np.array([i for i in np.argsort(channels, kind="stable") if channels[i] >= 0], dtype=int)
    pos = np.asarray(probe.contact_positions, dtype=float)[order]
    ids = [str(c) for c in np.asarray(probe.contact_ids)[order]]
    names = ids if all(ids) and len(set(ids)) == len(ids) else None
    annotations = getattr(probe, "annotations", {}) or {}
    if annotations.get("signals_contacts") == "point":
        pos, _ = _placed(pos, [], position, rotation)
        return points(pos, names=names)
    shapes = {str(s) for s in np.asarray(probe.contact_shapes)[order]}
    if len(shapes) > 1 or not shapes <= set(SHAPES):
        raise ValueError(f"contacts of shapes {sorted(shapes)}: signals takes one shape of {SHAPES}")
    shape = shapes.pop() if shapes else "circle"
    key = "radius" if shape == "circle" else "width"
    sizes = {float(p[key]) for p in np.asarray(probe.contact_shape_params)[order]}
    if len(sizes) > 1:
        raise ValueError(f"contacts of different sizes {sorted(sizes)} µm: signals takes one size")
    radius = sizes.pop() / (1 if shape == "circle" else 2)
    axes = np.asarray(probe.contact_plane_axes, dtype=float)[order]
    normal, edge = np.cross(axes[:, 0], axes[:, 1]), axes[:, 0]
    pos, (normal, edge) = _placed(pos, [normal, edge], position, rotation)
    if n_points is None:
        n_points = int(annotations.get("signals_n_points", 50))
    return points(pos, names=names, radius=radius, normal=normal, n_points=n_points, shape=shape,
                  edge=edge if shape == "square" else None)


def from_run(ds, variable: str = "lfp", *, dim: str = "electrode") -> Electrodes:
    """The contacts a run's variable was recorded on (the LFP recorder's coordinates and attributes).

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run, or one of its variables, with ``<dim>`` and ``<dim>_x/y/z`` (µm). A variable
        averaged over contact surfaces has the attributes ``contact_shape``, ``contact_radius``
        (µm) and ``contact_points``, and the run the normals ``<dim>_normal_x/y/z`` (and for
        squares ``<dim>_edge_x/y/z``) (:func:`signals.schema.electrode_coords`,
        :func:`signals.schema.contact_attrs`); other variables were recorded at points.
    variable : str
        The variable of a Dataset, e.g. ``"lfp"``; a DataArray is that variable itself.
    dim : str
        The contact dim.

    Returns
    -------
    Electrodes

    Raises
    ------
    KeyError
        No such variable, or no contact positions.
    """
    from signals import schema

    if hasattr(ds, "data_vars"):
        if variable not in ds.variables:
            raise KeyError(f"the run has no variable {variable!r}")
        da = ds[variable]
    else:
        da = ds
    coords = da.coords.to_dataset()
    pos = schema.positions(coords, dim)
    if pos is None:
        raise KeyError(f"the run has no contact positions {dim}_x/y/z")
    names = [str(v) for v in np.asarray(coords[dim].values)]
    attrs = da.attrs
    if "contact_radius" not in attrs:
        return points(pos, names=names)
    radius = float(schema.read_attr(attrs, "contact_radius"))
    shape = str(attrs.get("contact_shape", "circle"))
    normal = schema.positions(coords, f"{dim}_normal")
    if normal is None:
        raise KeyError(f"{da.name!r} was averaged over contact surfaces but the run has no "
                       f"normals {dim}_normal_x/y/z")
    edge = schema.positions(coords, f"{dim}_edge") if shape == "square" else None
    return points(pos, names=names, radius=radius, normal=normal,
                  n_points=int(attrs.get("contact_points", 50)), shape=shape, edge=edge)


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
