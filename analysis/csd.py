"""Current source density (CSD) from the LFP of a laminar probe.

Methods:

- ``"standard"``: the second spatial difference along depth (Nicholson & Freeman 1975),
  ``CSD_i = -sigma (phi_{i+1} - 2 phi_i + phi_{i-1}) / h^2``, with Vaknin et al. (1988) padding
  (the end contacts duplicated) so that every contact gets an estimate.
- ``"delta"``, ``"step"``, ``"spline"``: inverse CSD (Pettersen et al. 2006) through elephant's
  iCSD implementation, for cylindrical sources of diameter ``diameter``.

Sign convention: positive CSD is a current source (current leaving cells into the tissue),
negative a sink. Units µA/mm³. Every method is linear in the LFP: its (output × contact)
operator is built once and applied to blocks of time, so a long recording is never loaded whole.

The probe must be laminar: contacts evenly spaced on one straight line, in any direction (the
axis is found from ``electrode_x/y/z`` by :func:`signals.electrodes.probe_axis`; NetPyNE's
depth axis is y, most hand-built models use z). Depth is minus the position along that axis
(NEURON's coordinates, pial surface at position 0), which matters only for ``sigma_top``.
"""

from __future__ import annotations

import numpy as np

from signals._validation import check_option, check_positive
from signals.analysis.data import BLOCK_BYTES, electrode_axis, iter_blocks, samples_per_block, select_time

__all__ = ["METHODS", "csd", "csd_operator"]

#: CSD methods: standard second difference and elephant's inverse CSD variants.
METHODS = ("standard", "delta", "step", "spline")

_UNITS = "uA/mm3"
_V_PER_UM2_TO = 1e6  # S/m · mV/µm² → µA/mm³ (1 mV/µm² = 1e9 V/m²; 1 A/m³ = 1e-3 µA/mm³)


def _probe_depths(lfp):
    """(probe axis, order of contacts from the top down, depths in µm, spacing in µm), checked."""
    if "electrode" not in lfp.dims:
        raise ValueError(f"csd needs an 'electrode' dimension, got dims {lfp.dims}")
    n = lfp.sizes["electrode"]
    if n < 3:
        raise ValueError(f"csd needs at least 3 contacts on a laminar probe, got {n}")
    try:
        axis = electrode_axis(lfp, what="csd")
    except ValueError as err:
        raise ValueError(f"csd needs a laminar probe: {err}") from None
    order = axis.order
    depth = -axis.position[order]
    spacing = np.diff(depth)
    if not np.all(spacing > 0):
        raise ValueError("csd needs contacts at distinct depths (two share the same position on the probe)")
    h = float(spacing.mean())
    if np.ptp(spacing) > 1e-6 * h:
        raise ValueError(f"csd needs evenly spaced contacts; spacings are {np.unique(spacing.round(6))} µm")
    return axis, order, depth, h


def _position_attrs(axis) -> dict:
    return {"units": "um", "long_name": f"position along the probe ({axis.label.removesuffix(' (µm)')})"}


def _depth_attrs(axis) -> dict:
    along = f"minus electrode {axis.name}" if axis.name in ("x", "y", "z") else "minus the position along it"
    return {"units": "um", "long_name": f"depth along the probe ({along})"}


def _sigma(lfp, sigma: float | None) -> float:
    if sigma is None:
        if "sigma" not in lfp.attrs:
            raise ValueError("the LFP does not state its conductivity (attribute 'sigma'); "
                             "give sigma= in S/m")
        sigma = float(lfp.attrs["sigma"])
    return check_positive(sigma, "sigma (S/m)")


def csd_operator(depth, *, method: str = "standard", sigma: float, vaknin: bool = True,
                 diameter: float = 500.0, sigma_top: float | None = None, smooth: bool = False,
                 num_steps: int = 200, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The linear map from contact potentials (mV) to CSD (µA/mm³).

    Parameters
    ----------
    depth : array of float
        Depths of evenly spaced contacts (µm), increasing (from the surface down).
    method : {"standard", "delta", "step", "spline"}
        Estimator (see the module docstring).
    sigma : float > 0
        Extracellular conductivity (S/m).
    vaknin : bool
        Standard method only: pad with duplicated end contacts (Vaknin) so that the end
        contacts get an estimate; otherwise only the inner contacts do.
    diameter : float > 0
        iCSD methods: diameter of the assumed cylindrical sources (µm).
    sigma_top : float > 0, optional
        iCSD methods: conductivity above depth 0 (S/m); default ``sigma`` (infinite medium).
    smooth : bool
        Apply elephant's 3-point Gaussian spatial filter to the estimate.
    num_steps : int
        Spline method: number of depths of the (upsampled) output.
    tol : float
        iCSD methods: tolerance of the numerical integration.

    Returns
    -------
    operator : ndarray, shape (n_out, n_contacts)
        CSD (µA/mm³) = ``operator @ phi`` (mV).
    out_depth : ndarray, shape (n_out,)
        Depths of the estimates (µm).
    """
    check_option(method, "CSD method", METHODS)
    sigma = check_positive(sigma, "sigma (S/m)")
    depth = np.asarray(depth, dtype=float)
    n = depth.size
    h = float(np.diff(depth).mean())
    if method == "standard":
        lap = np.zeros((n + 2, n + 2))
        for i in range(1, n + 1):
            lap[i, i - 1: i + 2] = (1.0, -2.0, 1.0)
        pad = np.zeros((n + 2, n))
        pad[1:-1] = np.eye(n)
        if vaknin:
            pad[0, 0] = pad[-1, -1] = 1.0
        rows = slice(1, n + 1) if vaknin else slice(2, n)
        op = -sigma / h**2 * (lap @ pad)[rows] * _V_PER_UM2_TO
        out_depth = depth if vaknin else depth[1:-1]
        if smooth:
            op = _smooth(op)
        return op, out_depth
    return _icsd_operator(depth, h, method=method, sigma=sigma, diameter=diameter,
                          sigma_top=sigma if sigma_top is None else sigma_top, smooth=smooth,
                          num_steps=num_steps, tol=tol)


def _smooth(op: np.ndarray) -> np.ndarray:
    """elephant's default spatial filter (normalised 3-point Gaussian, sd 1 contact) along rows."""
    from scipy.signal import convolve
    from scipy.signal.windows import gaussian

    kernel = gaussian(3, 1)
    kernel = kernel / kernel.sum()
    return np.apply_along_axis(lambda col: convolve(col, kernel, mode="same"), 0, op)


def _icsd_operator(depth, h, *, method, sigma, diameter, sigma_top, smooth, num_steps, tol):
    import quantities as pq
    from elephant.current_source_density_src import icsd

    check_positive(diameter, "diameter (µm)")
    check_positive(sigma_top, "sigma_top (S/m)")
    n = depth.size
    coords = depth * pq.um
    common = dict(diam=float(diameter) * pq.um, sigma=sigma * pq.S / pq.m,
                  sigma_top=float(sigma_top) * pq.S / pq.m, f_type="identity", f_order=None)
    unit_lfp = np.zeros(n) * pq.mV
    if method == "delta":
        est = icsd.DeltaiCSD(lfp=unit_lfp, coord_electrode=coords, **common)
    elif method == "step":
        est = icsd.StepiCSD(lfp=unit_lfp, coord_electrode=coords, h=h * pq.um, tol=tol, **common)
    else:
        est = icsd.SplineiCSD(lfp=unit_lfp, coord_electrode=coords, tol=tol, num_steps=int(num_steps),
                              **common)
    cols = []
    for j in range(n):  # the estimate of each unit potential; the spline method takes one at a time
        phi = np.zeros(n)
        phi[j] = 1.0
        est.lfp = phi * pq.mV
        col = est.get_csd()
        if method == "delta":
            # delta sources are current sheets: elephant returns A/m²; per volume, divide by h
            col = col / (h * pq.um)
        cols.append(np.asarray(col.rescale(pq.uA / pq.mm**3).magnitude, dtype=float))
    op = np.stack(cols, axis=1)
    out_depth = depth if method != "spline" else np.linspace(depth[0], depth[-1], int(num_steps))
    if smooth:
        op = _smooth(op)
    return op, out_depth


def csd(lfp, *, method: str = "standard", sigma: float | None = None, vaknin: bool = True,
        diameter: float = 500.0, sigma_top: float | None = None, smooth: bool = False,
        num_steps: int = 200, time: tuple[float, float] | None = None, block_bytes: int = BLOCK_BYTES):
    """Current source density of a laminar LFP.

    Parameters
    ----------
    lfp : xarray.DataArray
        Potential (mV) with an ``electrode`` dimension and coordinates ``electrode_x``,
        ``electrode_y``, ``electrode_z`` (µm); other dimensions (``time``, ``population``) are
        kept. Contacts must be evenly spaced on one straight line, in any direction.
    method : {"standard", "delta", "step", "spline"}
        Estimator (see the module docstring).
    sigma : float > 0, optional
        Extracellular conductivity (S/m); default the LFP's own ``sigma`` attribute.
    vaknin : bool
        Standard method: estimate at the end contacts too, by Vaknin padding.
    diameter : float > 0
        iCSD methods: source diameter (µm).
    sigma_top : float > 0, optional
        iCSD methods: conductivity above the pial surface, position 0 on the probe axis (S/m);
        default ``sigma``.
    smooth : bool
        Apply elephant's 3-point Gaussian spatial filter.
    num_steps : int
        Spline method: number of output depths between the first and last contact.
    time : (float, float), optional
        Time window (ms).
    block_bytes : int
        Largest block read at once (bytes).

    Returns
    -------
    xarray.DataArray
        CSD in µA/mm³ (sources positive). Standard, delta and step methods: the ``electrode``
        dimension (contacts sorted from the top down; only inner contacts without Vaknin
        padding) with its coordinates. Spline: a ``depth`` dimension of ``num_steps`` depths
        from the top contact to the bottom one. Either way the coordinates ``depth`` (µm,
        minus the position along the probe, increasing downwards) and ``probe_position`` (µm
        along the probe) give where each estimate is. Attributes ``probe_axis`` (``"x"``,
        ``"y"``, ``"z"`` or ``"probe"``) and ``probe_direction`` (unit vector) say which axis
        that is.
    """
    import xarray as xr

    check_option(method, "CSD method", METHODS)
    lfp = select_time(lfp, time) if "time" in lfp.dims else lfp
    axis, order, depth, _ = _probe_depths(lfp)
    sig = _sigma(lfp, sigma)
    op, out_depth = csd_operator(depth, method=method, sigma=sig, vaknin=vaknin, diameter=diameter,
                                 sigma_top=sigma_top, smooth=smooth, num_steps=num_steps)
    lfp = lfp.isel(electrode=order)
    other = [d for d in lfp.dims if d != "electrode"]
    if method == "spline":
        out_dim, keep_el = "depth", None
    elif method == "standard" and not vaknin:
        out_dim, keep_el = "electrode", np.arange(1, depth.size - 1)
    else:
        out_dim, keep_el = "electrode", np.arange(depth.size)

    def apply(values: np.ndarray) -> np.ndarray:  # (..., electrode) → (..., out)
        return np.asarray(values, dtype=float) @ op.T

    if "time" in other:
        inner = [d for d in other if d != "time"]
        src = lfp
        n = samples_per_block(src, block_bytes)
        # blocks come as (dims but time..., time) in lfp's order → (time, inner..., electrode)
        el_axis = [d for d in lfp.dims if d != "time"].index("electrode")
        parts = [apply(np.moveaxis(v, [-1, el_axis], [0, -1]))
                 for _, v in iter_blocks(src, range(0, src.sizes["time"], n), n)]
        data = np.concatenate(parts, axis=0)
        dims = ("time", *inner, out_dim)
    else:
        src = lfp.transpose(*other, "electrode")
        data = apply(src.values)
        dims = (*other, out_dim)
    coords = {name: c for name, c in src.coords.items() if "electrode" not in c.dims}
    if out_dim == "electrode":
        sub = src.isel(electrode=keep_el)
        coords.update({name: c for name, c in sub.coords.items() if "electrode" in c.dims})
        coords["depth"] = xr.DataArray(depth[keep_el], dims="electrode", attrs=_depth_attrs(axis))
        coords["probe_position"] = xr.DataArray(-depth[keep_el], dims="electrode",
                                                attrs=_position_attrs(axis))
    else:
        coords["depth"] = xr.DataArray(out_depth, dims="depth", attrs=_depth_attrs(axis))
        coords["probe_position"] = xr.DataArray(-out_depth, dims="depth", attrs=_position_attrs(axis))
    out = xr.DataArray(data, dims=dims, coords=coords, name="csd")
    out.attrs.update(units=_UNITS, long_name="current source density (sources positive)",
                     method=method, sigma=sig, sigma_units="S/m", probe_axis=axis.name,
                     probe_direction=axis.direction.tolist(),
                     **({"vaknin": int(vaknin)} if method == "standard" else
                        {"diameter": float(diameter), "diameter_units": "um",
                         "sigma_top": float(sig if sigma_top is None else sigma_top),
                         "sigma_top_units": "S/m"}))
    return out.transpose(*[d if d != "electrode" else out_dim for d in lfp.dims])
