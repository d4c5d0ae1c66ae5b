"""Current source density (CSD) from the LFP of a laminar probe.

Methods:

- ``"standard"``: the second spatial difference along depth (Nicholson & Freeman 1975),
  ``CSD_i = -sigma (phi_{i+1} - 2 phi_i + phi_{i-1}) / h^2``, with Vaknin et al. (1988) padding
  (the end contacts duplicated) so that every contact gets an estimate.
- ``"delta"``, ``"step"``, ``"spline"``: inverse CSD (Pettersen et al. 2006) through elephant's
  iCSD implementation, for cylindrical sources of diameter ``diameter``.
- ``"kcsd"``: kernel CSD (Potworowski et al. 2012) through elephant's ``KCSD1D``: Gaussian basis
  sources of width ``R`` in cylinders of diameter ``diameter``, ridge regularisation ``lambd``;
  both chosen by leave-one-contact-out cross-validation unless given.

:func:`csd_error` compares an estimate with the model's true CSD (the recorder
:class:`signals.recorders.LaminarCSD`) depth by depth.

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

from signals.analysis.data import BLOCK_BYTES, electrode_axis, iter_blocks, samples_per_block, select_time
from signals.validation import check_option, check_positive

__all__ = ["METHODS", "csd", "csd_error", "csd_operator"]

#: CSD methods: standard second difference, elephant's inverse CSD variants and kernel CSD.
METHODS = ("standard", "delta", "step", "spline", "kcsd")

#: kCSD: number of basis sources, spread evenly from the top contact to the bottom one.
KCSD_N_SRC = 300
#: kCSD cross-validation: at most this many time samples (evenly spaced) are used.
KCSD_CV_SAMPLES = 1000

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
                 num_steps: int = 200, tol: float = 1e-6, R: float | None = None,
                 lambd: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The linear map from contact potentials (mV) to CSD (µA/mm³).

    Parameters
    ----------
    depth : array of float
        Depths of evenly spaced contacts (µm), increasing (from the surface down).
    method : {"standard", "delta", "step", "spline", "kcsd"}
        Estimator (see the module docstring).
    sigma : float > 0
        Extracellular conductivity (S/m).
    vaknin : bool
        Standard method only: pad with duplicated end contacts (Vaknin) so that the end
        contacts get an estimate; otherwise only the inner contacts do.
    diameter : float > 0
        iCSD and kCSD methods: diameter of the assumed cylindrical sources (µm).
    sigma_top : float > 0, optional
        iCSD methods: conductivity above depth 0 (S/m); default ``sigma`` (infinite medium).
    smooth : bool
        Apply elephant's 3-point Gaussian spatial filter to the estimate.
    num_steps : int
        Spline and kCSD methods: number of depths of the (upsampled) output.
    tol : float
        iCSD methods: tolerance of the numerical integration.
    R : float > 0
        kCSD only (required): width of the Gaussian basis sources, three standard deviations
        (µm, elephant's ``R``).
    lambd : float >= 0
        kCSD only (required): ridge regularisation relative to the mean diagonal of the kernel
        matrix (dimensionless; elephant's ``lambd`` is this times that mean).

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
    if method == "kcsd":
        if R is None or lambd is None:
            raise ValueError("kcsd needs R (µm) and lambd (relative); csd() cross-validates them")
        if sigma_top is not None:
            raise ValueError("kcsd assumes an infinite medium: sigma_top is not supported")
        lam = _check_lambd(lambd)
        est = _kcsd_model(depth, out_depth=np.linspace(depth[0], depth[-1], _num_steps(num_steps)),
                          sigma=sigma, diameter=diameter, R=check_positive(R, "R (µm)"))
        op = _kcsd_solve(est, lam)
        return (_smooth(op) if smooth else op), est.estm_x * 1e3
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


def _num_steps(num_steps) -> int:
    from signals.validation import ensure_int

    return ensure_int(num_steps, "num_steps", minimum=2)


def _check_lambd(lambd) -> float:
    from signals.validation import check_real

    out = check_real(lambd, "lambd")
    if out < 0:
        raise ValueError(f"lambd must be >= 0, got {lambd}")
    return out


def _kcsd_model(depth, *, out_depth, sigma, diameter, R):
    """elephant's ``KCSD1D`` on the contacts (µm) with its estimates at ``out_depth`` (µm).

    Positions go in mm and potentials in mV, so the estimate is in µA/mm³ (as elephant's
    ``estimate_csd`` labels it). Only the kernel matrices are used: the potentials given here
    are zeros.
    """
    from elephant.current_source_density_src.KCSD import KCSD1D

    check_positive(diameter, "diameter (µm)")

    class _OnGrid(KCSD1D):  # estimates exactly at out_depth (elephant derives a grid from gdx)
        def estimate_at(self):
            self.estm_x = np.asarray(out_depth, dtype=float) * 1e-3
            self.n_estm = self.estm_x.size
            self.ngx = self.estm_x.size

    ele = np.asarray(depth, dtype=float)[:, None] * 1e-3
    return _OnGrid(ele, np.zeros((ele.shape[0], 1)), sigma=float(sigma), h=float(diameter) / 2 * 1e-3,
                   R_init=float(R) * 1e-3, n_src_init=KCSD_N_SRC, lambd=0.0, src_type="gauss")


def _kcsd_solve(est, lambd_relative: float) -> np.ndarray:
    """(n_out, n_contacts) kCSD operator ``K~ (K + lambda I)^-1`` of a ``KCSD1D`` (Potworowski eq. 18)."""
    k = est.k_pot
    lam = lambd_relative * float(np.mean(np.diag(k)))
    return np.linalg.solve(k + lam * np.eye(k.shape[0]), est.k_interp_cross.T).T


def _loo_error(k: np.ndarray, pots: np.ndarray, lam: float) -> float:
    """elephant's ``KCSD.compute_cverror``, vectorised: the summed norm (over time) of each
    contact's potential predicted from the others."""
    n = k.shape[0]
    err = 0.0
    for i in range(n):
        train = np.r_[0:i, i + 1:n]
        beta = np.linalg.solve(k[np.ix_(train, train)] + lam * np.eye(n - 1), pots[train])
        err += float(np.linalg.norm(k[i, train] @ beta - pots[i]))
    return err


def _kcsd_cross_validate(depth, pots, *, sigma, diameter, Rs, lambdas, num_steps):
    """Leave-one-contact-out cross-validation of (R, lambd) as elephant's ``KCSD.cross_validate``
    (its error, its grid search, the first minimum), on ``pots`` (n_contacts, n_samples) in mV."""
    out_depth = np.linspace(depth[0], depth[-1], num_steps)
    best = None
    for R in Rs:
        est = _kcsd_model(depth, out_depth=out_depth, sigma=sigma, diameter=diameter, R=R)
        scale = float(np.mean(np.diag(est.k_pot)))
        for lr in lambdas:
            err = _loo_error(est.k_pot, pots, lr * scale)
            if best is None or err < best[0]:
                best = (err, float(R), float(lr), est)
    return best


def _candidates(value, default, what: str, *, positive: bool) -> np.ndarray:
    vals = np.atleast_1d(np.asarray(default if value is None else value, dtype=float))
    if vals.ndim != 1 or vals.size == 0 or not np.all(np.isfinite(vals)) \
            or np.any(vals <= 0 if positive else vals < 0):
        raise ValueError(f"{what} must be one or more finite numbers {'> 0' if positive else '>= 0'}, "
                         f"got {value!r}")
    return vals


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
        num_steps: int = 200, R=None, lambd=None, time: tuple[float, float] | None = None,
        block_bytes: int = BLOCK_BYTES):
    """Current source density of a laminar LFP.

    Parameters
    ----------
    lfp : xarray.DataArray
        Potential (mV) with an ``electrode`` dimension and coordinates ``electrode_x``,
        ``electrode_y``, ``electrode_z`` (µm); other dimensions (``time``, ``population``) are
        kept. Contacts must be evenly spaced on one straight line, in any direction.
    method : {"standard", "delta", "step", "spline", "kcsd"}
        Estimator (see the module docstring).
    sigma : float > 0, optional
        Extracellular conductivity (S/m); default the LFP's own ``sigma`` attribute.
    vaknin : bool
        Standard method: estimate at the end contacts too, by Vaknin padding.
    diameter : float > 0
        iCSD and kCSD methods: source diameter (µm).
    sigma_top : float > 0, optional
        iCSD methods: conductivity above the pial surface, position 0 on the probe axis (S/m);
        default ``sigma``.
    smooth : bool
        Apply elephant's 3-point Gaussian spatial filter.
    num_steps : int
        Spline and kCSD methods: number of output depths between the first and last contact.
    R : float or sequence of float > 0, optional
        kCSD: width of the Gaussian basis sources (three standard deviations, µm), or the
        candidates cross-validated; default 1, 2, 4 and 8 contact spacings (a narrower basis
        is not resolved by the contacts, yet leave-one-out error of the potential favours it).
    lambd : float or sequence of float >= 0, optional
        kCSD: ridge regularisation relative to the mean diagonal of the kernel matrix
        (dimensionless), or the candidates cross-validated; default ``1e-12`` to ``10``
        (one per decade). With several candidates of ``R`` or ``lambd`` the pair with the least
        leave-one-contact-out error of the potential is taken (elephant's
        ``KCSD.cross_validate``, on at most :data:`KCSD_CV_SAMPLES` evenly spaced samples, all
        populations).
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
        that is. kCSD adds the parameters used: ``R`` (``R_units`` µm), ``lambd`` (relative,
        ``lambd_units`` 1), ``lambd_absolute`` (elephant's ``lambd``, mm and mV units) and
        ``cv_error`` (``cv_error_units`` mV; NaN when nothing was cross-validated).
    """
    import xarray as xr

    check_option(method, "CSD method", METHODS)
    lfp = select_time(lfp, time) if "time" in lfp.dims else lfp
    axis, order, depth, h = _probe_depths(lfp)
    sig = _sigma(lfp, sigma)
    kcsd_attrs = {}
    if method == "kcsd":
        op, out_depth, kcsd_attrs = _kcsd(lfp.isel(electrode=order), depth, h, sigma=sig,
                                          diameter=diameter, sigma_top=sigma_top, smooth=smooth,
                                          num_steps=num_steps, R=R, lambd=lambd)
    else:
        op, out_depth = csd_operator(depth, method=method, sigma=sig, vaknin=vaknin, diameter=diameter,
                                     sigma_top=sigma_top, smooth=smooth, num_steps=num_steps)
    lfp = lfp.isel(electrode=order)
    other = [d for d in lfp.dims if d != "electrode"]
    if method in ("spline", "kcsd"):
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
    if method == "standard":
        extra = {"vaknin": int(vaknin)}
    elif method == "kcsd":
        extra = {"diameter": float(diameter), "diameter_units": "um", **kcsd_attrs}
    else:
        extra = {"diameter": float(diameter), "diameter_units": "um",
                 "sigma_top": float(sig if sigma_top is None else sigma_top), "sigma_top_units": "S/m"}
    out.attrs.update(units=_UNITS, long_name="current source density (sources positive)",
                     method=method, sigma=sig, sigma_units="S/m", probe_axis=axis.name,
                     probe_direction=axis.direction.tolist(), **extra)
    return out.transpose(*[d if d != "electrode" else out_dim for d in lfp.dims])


def _kcsd(lfp, depth, h, *, sigma, diameter, sigma_top, smooth, num_steps, R, lambd):
    """kCSD operator of ``lfp`` (contacts sorted top down), R and lambd cross-validated on it."""
    if sigma_top is not None:
        raise ValueError("kcsd assumes an infinite medium: sigma_top is not supported")
    check_positive(diameter, "diameter (µm)")
    n_steps = _num_steps(num_steps)
    # no basis narrower than the pitch: the contacts cannot resolve it, and on simulated
    # (noise-free) LFPs leave-one-out favours the narrowest basis offered, the worst CSD
    # (benchmarks/csd_estimators.py)
    Rs = _candidates(R, h * 2.0 ** np.arange(0, 4), "R (µm)", positive=True)
    lambdas = _candidates(lambd, 10.0 ** np.arange(-12, 2), "lambd", positive=False)
    if Rs.size == 1 and lambdas.size == 1:
        est = _kcsd_model(depth, out_depth=np.linspace(depth[0], depth[-1], n_steps), sigma=sigma,
                          diameter=diameter, R=float(Rs[0]))
        cv_error, R_best, lam_best = float("nan"), float(Rs[0]), float(lambdas[0])
    else:
        cv_error, R_best, lam_best, est = _kcsd_cross_validate(
            depth, _cv_sample(lfp), sigma=sigma, diameter=diameter, Rs=Rs, lambdas=lambdas,
            num_steps=n_steps)
    op = _kcsd_solve(est, lam_best)
    if smooth:
        op = _smooth(op)
    attrs = {"R": R_best, "R_units": "um", "lambd": lam_best, "lambd_units": "1",
             "lambd_absolute": lam_best * float(np.mean(np.diag(est.k_pot))), "cv_error": cv_error,
             "cv_error_units": "mV"}
    return op, est.estm_x * 1e3, attrs


def _cv_sample(lfp) -> np.ndarray:
    """(n_contacts, n) potentials (mV) for cross-validation: at most KCSD_CV_SAMPLES time samples,
    evenly spaced, every other dimension (populations) as further columns."""
    if "time" in lfp.dims and lfp.sizes["time"] > KCSD_CV_SAMPLES:
        lfp = lfp.isel(time=np.unique(np.linspace(0, lfp.sizes["time"] - 1, KCSD_CV_SAMPLES).round()
                                      .astype(int)))
    vals = np.asarray(lfp.transpose("electrode", ...).values, dtype=float).reshape(lfp.sizes["electrode"], -1)
    if not np.all(np.isfinite(vals)):
        raise ValueError("kcsd: the LFP contains non-finite values (NaN or inf)")
    if not np.any(vals):
        raise ValueError("kcsd: the LFP is zero everywhere; give R and lambd (nothing to cross-validate)")
    return vals


def _on_depth(da, what: str):
    """``da`` with one dimension ``depth`` (µm, increasing downwards) and only dimension coords.

    A :func:`csd` result has a ``depth`` coordinate (on ``depth`` or ``electrode``); a
    :class:`~signals.recorders.LaminarCSD` variable has the dimension ``<name>_depth`` holding
    positions along the probe (depth is minus that, as in :func:`csd`).
    """
    import xarray as xr

    if not isinstance(da, xr.DataArray):
        raise TypeError(f"csd_error: {what} must be an xarray.DataArray, got {type(da).__name__}")
    if "time" not in da.dims:
        raise ValueError(f"csd_error: {what} needs a 'time' dimension, got dims {da.dims}")
    if "depth" in da.coords:
        dim = da["depth"].dims
        if len(dim) != 1:
            raise ValueError(f"csd_error: {what}'s depth coordinate must be 1-D, got dims {dim}")
        depth = np.asarray(da["depth"].values, dtype=float)
        da = da.drop_vars([c for c in da.coords if c not in da.dims or c == dim[0]])
        if dim[0] != "depth":
            da = da.rename({dim[0]: "depth"})
    else:
        dims = [d for d in da.dims if d.endswith("_depth")]
        if len(dims) != 1:
            raise ValueError(f"csd_error: {what} needs a 'depth' coordinate (a csd() result) or one "
                             f"'<name>_depth' dimension of positions along the probe (LaminarCSD), "
                             f"got dims {da.dims}")
        depth = -np.asarray(da[dims[0]].values, dtype=float)
        da = da.drop_vars([c for c in da.coords if c not in da.dims or c == dims[0]])
        da = da.rename({dims[0]: "depth"})
    if np.unique(depth).size != depth.size or not np.all(np.isfinite(depth)):
        raise ValueError(f"csd_error: {what} has repeated or non-finite depths")
    units = da.attrs.get("units")
    da = da.assign_coords(depth=depth).sortby("depth").astype(float)
    da.attrs = {}
    return da, units


def csd_error(estimate, truth, *, on: str = "truth"):
    """Error of a CSD estimate against the true CSD, per depth and overall.

    Both are brought onto one set of depths by linear interpolation along depth: with
    ``on="truth"`` (default) the estimate is interpolated onto the truth's depths (e.g. the
    contacts of a :class:`~signals.recorders.LaminarCSD`, so that estimators with different
    output grids are compared at the same depths); with ``on="estimate"`` the truth onto the
    estimate's. Depths outside the other's span are left out (never extrapolated). Only the
    time samples both share are compared.

    .. math::

        e(z) = \\sqrt{\\langle (\\hat C(z, t) - C(z, t))^2 \\rangle_t}, \\qquad
        \\epsilon(z) = e(z) / \\sqrt{\\langle C^2 \\rangle_{z,t}}

    The normalisation is the truth's RMS over all compared depths and times, the same for every
    depth, so that depths where the truth is nearly zero do not blow up.

    Parameters
    ----------
    estimate : xarray.DataArray
        A :func:`csd` result (µA/mm³): dims ``time`` and ``depth`` or ``electrode`` with a
        ``depth`` coordinate (µm).
    truth : xarray.DataArray
        The true CSD (µA/mm³): a ``LaminarCSD`` variable (dims ``time``, ``<name>_depth`` of
        positions along the probe, µm; depth is minus the position), or any DataArray shaped like
        ``estimate``. Other dimensions (``population``) are matched by label.
    on : {"truth", "estimate"}
        Whose depths the comparison is made at.

    Returns
    -------
    xarray.Dataset
        Over ``depth`` (µm; and any other shared dimension but time): ``rms_error`` (µA/mm³),
        ``relative_error`` (1, :math:`\\epsilon(z)`), ``correlation`` (1, Pearson over time; NaN
        where either is constant); overall: ``relative_error_total`` (1, RMS error over depths
        and times over the truth's RMS), ``correlation_total`` (1, over depths and times) and
        ``truth_rms`` (µA/mm³).

    Raises
    ------
    ValueError
        Without shared time samples or depths, for different ``units``, or a truth that is zero.
    """
    import xarray as xr

    check_option(on, "csd_error on", ("truth", "estimate"))
    est, est_units = _on_depth(estimate, "estimate")
    tru, tru_units = _on_depth(truth, "truth")
    if est_units and tru_units and est_units != tru_units:
        raise ValueError(f"csd_error: different units, estimate in {est_units!r} but truth in {tru_units!r}")
    est, tru = xr.align(est, tru, join="inner", exclude=["depth"])
    if est.sizes["time"] < 2:
        raise ValueError("csd_error: estimate and truth share fewer than 2 time samples")
    target, other = (tru, est) if on == "truth" else (est, tru)
    d, span = target["depth"].values, other["depth"].values
    keep = d[(d >= span.min()) & (d <= span.max())]
    if keep.size == 0:
        raise ValueError("csd_error: the estimate's and the truth's depths do not overlap")
    target, other = target.sel(depth=keep), other.interp(depth=keep)
    tru, est = (target, other) if on == "truth" else (other, target)
    diff = est - tru
    truth_rms = np.sqrt((tru**2).mean(["time", "depth"]))
    if not np.all(truth_rms > 0):
        raise ValueError("csd_error: the true CSD is zero everywhere; no relative error")
    rms = np.sqrt((diff**2).mean("time"))

    def corr(a, b, dims):
        a, b = a - a.mean(dims), b - b.mean(dims)
        den = np.sqrt((a**2).sum(dims) * (b**2).sum(dims))
        return ((a * b).sum(dims) / den.where(den > 0)).clip(-1, 1)

    depth_attrs = {"units": "um", "long_name": "depth along the probe (minus the position along it)"}
    out = xr.Dataset(
        {"rms_error": rms.assign_attrs(units=_UNITS, long_name="RMS error over time"),
         "relative_error": (rms / truth_rms).assign_attrs(
             units="1", long_name="RMS error over time / RMS of the true CSD over depths and times"),
         "correlation": corr(est, tru, "time").assign_attrs(
             units="1", long_name="correlation over time of estimate and true CSD"),
         "relative_error_total": (np.sqrt((diff**2).mean(["time", "depth"])) / truth_rms).assign_attrs(
             units="1", long_name="RMS error over depths and times / RMS of the true CSD"),
         "correlation_total": corr(est, tru, ["time", "depth"]).assign_attrs(
             units="1", long_name="correlation over depths and times of estimate and true CSD"),
         "truth_rms": truth_rms.assign_attrs(units=_UNITS, long_name="RMS of the true CSD over depths "
                                                                      "and times")})
    out["depth"].attrs.update(depth_attrs)
    out.attrs.update(on=on, method=str(estimate.attrs.get("method", "")), n_times=int(est.sizes["time"]))
    return out
