"""CSD recovers known sources from their closed-form or numerically integrated potentials."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose
from scipy.integrate import quad
from scipy.special import erf

from signals.analysis import csd as csd_mod
from signals.analysis.csd import csd, csd_error

SIGMA = 0.3  # S/m
C0 = 2.0  # µA/mm³, peak of the Gaussian source
Z0, WIDTH = -500.0, 150.0  # µm: centre and standard deviation of the source


def source(z):
    """The true CSD (µA/mm³) at depth z (µm)."""
    return C0 * np.exp(-((z - Z0) ** 2) / (2 * WIDTH**2))


def planar_potential(z):
    """Potential (mV) of the Gaussian source layer in an infinite medium (1-D: sigma phi'' = -C).

    Integrated twice in closed form, in SI units (m, A/m³, V) independently of the CSD code.
    """
    u = (np.asarray(z) - Z0) * 1e-6
    s = WIDTH * 1e-6
    c = C0 * 1e3  # 1 µA/mm³ = 1e3 A/m³
    twice_integrated = (s * np.sqrt(np.pi / 2) * u * erf(u / (s * np.sqrt(2)))
                        + s**2 * np.exp(-(u**2) / (2 * s**2)))
    phi = -(c / SIGMA) * twice_integrated
    return phi * 1e3  # V → mV


def disc_potential(z, radius, profile=None):
    """Potential (mV) on the axis of a cylinder (radius µm) with the Gaussian source profile
    (or ``profile(z)`` in µA/mm³).

    Pettersen et al. (2006) eq. for a disc: dphi = C dz' / (2 sigma) (sqrt((z-z')² + R²) - |z-z'|),
    integrated numerically in SI units.
    """
    r = radius * 1e-6
    profile = source if profile is None else profile

    def dphi(zp, zz):
        d = (zz - zp) * 1e-6
        return profile(zp) * 1e3 * (np.sqrt(d**2 + r**2) - abs(d)) / (2 * SIGMA) * 1e-6  # per µm of zp

    lo, hi = Z0 - 8 * WIDTH - 400.0, Z0 + 8 * WIDTH + 400.0
    return np.array([quad(dphi, lo, hi, args=(zz,), points=[zz] if lo < zz < hi else None, limit=200)[0]
                     for zz in np.atleast_1d(z)]) * 1e3


def laminar(phi, z, n_time=3, sigma=SIGMA):
    """A (time, electrode) LFP with laminar-probe coordinates and the run's sigma attribute."""
    z = np.asarray(z, dtype=float)
    data = np.outer(np.linspace(1.0, 2.0, n_time), phi)  # the same profile, scaled over time
    return xr.DataArray(
        data, dims=("time", "electrode"),
        coords={"time": np.arange(n_time) * 0.1, "electrode": [f"e{i:02d}" for i in range(z.size)],
                "electrode_x": ("electrode", np.zeros(z.size)),
                "electrode_y": ("electrode", np.zeros(z.size)), "electrode_z": ("electrode", z)},
        attrs={"units": "mV", "sigma": sigma}, name="lfp")


Z = np.arange(0.0, -1001.0, -50.0)  # 21 contacts, 50 µm apart, surface first


def test_standard_csd_recovers_gaussian_source():
    out = csd(laminar(planar_potential(Z), Z))
    assert out.attrs["units"] == "uA/mm3" and out.dims == ("time", "electrode")
    assert_allclose(out["electrode_z"].values, Z)
    # second difference error ~ h²/12 · C'''' : < 1 % of the peak for h = 50 µm, width 150 µm
    inner = slice(1, -1)  # Vaknin end contacts see a flat (padded) potential
    assert_allclose(out.values[0, inner], source(Z)[inner], atol=0.01 * C0)
    assert_allclose(out.values[2], 2.0 * out.values[0], rtol=1e-12)  # linear in the LFP
    assert out["electrode_z"].values[int(out.isel(time=0).argmax("electrode"))] == Z0


def test_sources_positive_sinks_negative():
    out = csd(laminar(-planar_potential(Z), Z))  # reversed potential = a sink
    assert float(out.isel(time=0).min()) == pytest.approx(-C0, rel=0.01)


def test_standard_csd_order_and_vaknin():
    phi = planar_potential(Z)
    shuffled = np.random.default_rng(0).permutation(Z.size)
    out = csd(laminar(phi[shuffled], Z[shuffled]))  # contacts in any order: sorted from the surface
    assert_allclose(out["electrode_z"].values, Z)
    h = 50.0
    # by hand, units: S/m · mV/µm² = 1e9 A/m³ = 1e6 µA/mm³
    by_hand = -SIGMA * (phi[2:] - 2 * phi[1:-1] + phi[:-2]) / h**2 * 1e6
    no_pad = csd(laminar(phi, Z), vaknin=False)
    assert no_pad.sizes["electrode"] == Z.size - 2
    assert_allclose(no_pad.values[0], by_hand, rtol=1e-12)
    first = -SIGMA * (phi[1] - phi[0]) / h**2 * 1e6  # Vaknin: phi[-1] := phi[0]
    assert out.values[0, 0] == pytest.approx(first, rel=1e-12)


def test_standard_csd_against_elephant():
    """elephant's StandardCSD divides by h instead of h² (returns A/m²): equal up to that factor."""
    import quantities as pq
    from elephant.current_source_density_src import icsd

    phi = planar_potential(Z)
    depth = -Z * 1e-6 * pq.m
    est = icsd.StandardCSD(lfp=phi[:, None] * pq.mV, coord_electrode=depth, sigma=SIGMA * pq.S / pq.m,
                           vaknin_el=True, f_type="identity", f_order=None)
    theirs = est.get_csd().rescale(pq.A / pq.m**2).magnitude[:, 0] / (50e-6)  # → A/m³
    ours = csd(laminar(phi, Z)).values[0] * 1e3  # µA/mm³ → A/m³
    assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("method, tol", [("delta", 0.02), ("step", 0.01), ("spline", 0.01)])
def test_inverse_csd_recovers_cylindrical_source(method, tol):
    radius = 250.0  # µm
    lfp = laminar(disc_potential(Z, radius), Z, n_time=2)
    out = csd(lfp, method=method, diameter=2 * radius)
    z = out["probe_position"].values
    assert (out.dims[-1] == "depth") == (method == "spline")
    assert out["depth"].attrs["units"] == "um" and "z" not in out.dims
    assert_allclose(out["depth"].values, -z, atol=1e-9)
    assert out.attrs["probe_axis"] == "z"
    assert_allclose(out.values[0], source(z), atol=tol * C0)


def test_standard_csd_misses_a_narrow_cylinder():
    """The standard method assumes infinite layers: on a 250 µm-radius source it is far off."""
    out = csd(laminar(disc_potential(Z, 250.0), Z, n_time=1))
    assert np.max(np.abs(out.values[0] - source(Z))) > 0.3 * C0


def along(direction, lfp):
    """``lfp`` (a z-probe from ``laminar``) with its contacts moved onto a probe along ``direction``,
    position ``z`` along it (the same distances between contacts)."""
    d = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    z = lfp["electrode_z"].values
    shift = np.array([7.0, -3.0, 5.0])
    shift -= (shift @ d) * d  # off the origin, across the probe: positions along it stay z
    return lfp.assign_coords({f"electrode_{c}": ("electrode", z * d[k] + shift[k])
                              for k, c in enumerate("xyz")})


@pytest.mark.parametrize("method", ["standard", "step", "spline"])
@pytest.mark.parametrize("direction, name", [((0, 1, 0), "y"), ((1, 0, 0), "x"), ((0.6, 0, 0.8), "probe"),
                                             ((1, -2, 2), "probe")])
def test_any_probe_direction_gives_the_csd_along_it(method, direction, name):
    """A probe along y (NetPyNE's depth axis), x or an oblique line: the same CSD as along z."""
    lfp = laminar(planar_potential(Z), Z)
    ref = csd(lfp, method=method, diameter=500.0)
    out = csd(along(direction, lfp), method=method, diameter=500.0)
    assert out.attrs["probe_axis"] == name
    assert_allclose(out.values, ref.values, rtol=1e-9, atol=1e-12)
    # positions along the probe: the contacts' y for a y-probe, the distance along the direction
    # otherwise (its largest component positive; z wins the tie of (1, -2, 2))
    assert_allclose(out["probe_position"].values, ref["probe_position"].values, atol=1e-9)


def test_oblique_direction_sign():
    lfp = along((-0.8, 0, 0.6), laminar(planar_potential(Z), Z))  # x dominates: +x is up
    out = csd(lfp)
    assert_allclose(out.attrs["probe_direction"], [0.8, 0, -0.6], atol=1e-12)
    assert_allclose(out["probe_position"].values, -Z[::-1], atol=1e-9)


def test_reversed_probe_along_y_is_sorted_top_down():
    """Contacts listed deepest first along y: the CSD still runs from the top (highest y) down."""
    lfp = along((0, 1, 0), laminar(planar_potential(Z), Z)).isel(electrode=slice(None, None, -1))
    out = csd(lfp)
    assert list(out["electrode"].values) == [f"e{i:02d}" for i in range(Z.size)]
    assert_allclose(out["electrode_y"].values, Z)
    assert_allclose(out.values, csd(laminar(planar_potential(Z), Z)).values, rtol=1e-12)


def test_blockwise_equals_whole_and_extra_dims():
    rng = np.random.default_rng(1)
    z = np.arange(0.0, -500.0, -100.0)
    data = rng.normal(size=(1000, 2, z.size))
    da = xr.DataArray(data, dims=("time", "population", "electrode"),
                      coords={"time": np.arange(1000) * 0.1, "population": ["E", "I"],
                              "electrode": list("abcde"), "electrode_x": ("electrode", np.zeros(5)),
                              "electrode_y": ("electrode", np.zeros(5)), "electrode_z": ("electrode", z)},
                      attrs={"units": "mV", "sigma": SIGMA})
    small = csd(da, block_bytes=2 * 5 * 8 * 37)
    whole = csd(da, block_bytes=2**30)
    assert small.dims == ("time", "population", "electrode")
    assert_allclose(small.values, whole.values, rtol=1e-13)
    op, _ = csd_mod.csd_operator(-z, sigma=SIGMA)
    assert_allclose(whole.values, data @ op.T, rtol=1e-13)


@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda da: da.assign_coords(electrode_x=("electrode", 20.0 * (np.arange(Z.size) % 2))), ValueError,
         "not on one straight line"),
        (lambda da: da.assign_coords(electrode_z=("electrode", Z**2 / -1000)), ValueError, "evenly spaced"),
        (lambda da: da.drop_vars("electrode_z"), KeyError, "electrode_z"),
        (lambda da: da.isel(electrode=[0, 1]), ValueError, "at least 3"),
        (lambda da: da.assign_attrs(sigma=-1.0), ValueError, "sigma"),
    ],
)
def test_bad_probe_raises(change, error, message):
    with pytest.raises(error, match=message):
        csd(change(laminar(planar_potential(Z), Z)))


def test_missing_sigma_and_unknown_method():
    lfp = laminar(planar_potential(Z), Z)
    lfp.attrs.pop("sigma")
    with pytest.raises(ValueError, match="give sigma"):
        csd(lfp)
    assert csd(lfp, sigma=SIGMA).attrs["sigma"] == SIGMA
    with pytest.raises(ValueError, match="CSD method"):
        csd(lfp, sigma=SIGMA, method="kcsd2")


# -- kCSD ------------------------------------------------------------------------------------


def dipole_pair(z):
    """A Gaussian source (at Z0) and sink (300 µm deeper) of equal size (µA/mm³)."""
    return source(z) - source(z + 300.0)


def test_kcsd_recovers_source_sink_pair_in_a_cylinder():
    """Potential of the pair integrated numerically from the disc formula (independent of
    elephant); kCSD with the cylinder's diameter and cross-validated R, lambd recovers it within
    2 % of the peak on the whole probe (the standard method misses it by > 30 %)."""
    radius = 250.0
    lfp = laminar(disc_potential(Z, radius, dipole_pair), Z, n_time=4)
    out = csd(lfp, method="kcsd", diameter=2 * radius)
    assert out.dims == ("time", "depth") and out.sizes["depth"] == 200
    assert out["depth"].attrs["units"] == "um"
    assert_allclose(out["depth"].values[[0, -1]], [0.0, 1000.0])
    z = out["probe_position"].values
    assert_allclose(out.values[0], dipole_pair(z), atol=0.02 * C0)
    assert_allclose(out.values[3], 2.0 * out.values[0], rtol=1e-9)  # linear in the LFP
    # cross-validated parameters, with units, from the default candidates
    assert out.attrs["R_units"] == "um" and out.attrs["lambd_units"] == "1"
    assert out.attrs["R"] in 50.0 * 2.0 ** np.arange(0, 4)
    assert 1e-12 <= out.attrs["lambd"] <= 10 and np.isfinite(out.attrs["cv_error"])
    std = csd(lfp)
    assert np.max(np.abs(std.values[0] - dipole_pair(std["probe_position"].values))) > 0.3 * C0


def test_kcsd_fixed_parameters_equal_the_operator():
    lfp = laminar(disc_potential(Z, 250.0), Z, n_time=2)
    out = csd(lfp, method="kcsd", R=150.0, lambd=1e-6, num_steps=50)
    assert np.isnan(out.attrs["cv_error"]) and out.attrs["R"] == 150.0 and out.attrs["lambd"] == 1e-6
    op, depth = csd_mod.csd_operator(-Z, method="kcsd", sigma=SIGMA, R=150.0, lambd=1e-6, num_steps=50)
    assert_allclose(out["depth"].values, depth)
    assert_allclose(out.values, lfp.values @ op.T, rtol=1e-12)
    # candidates: the chosen pair is one of them
    cv = csd(lfp, method="kcsd", R=[100.0, 200.0], lambd=[1e-9, 1e-3], num_steps=50)
    assert cv.attrs["R"] in (100.0, 200.0) and cv.attrs["lambd"] in (1e-9, 1e-3)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"sigma_top": 0.1}, ValueError, "sigma_top"),
        ({"R": -1.0}, ValueError, "R"),
        ({"R": [100.0, np.nan]}, ValueError, "R"),
        ({"lambd": -1e-3}, ValueError, "lambd"),
        ({"diameter": 0.0}, ValueError, "diameter"),
        ({"num_steps": 1}, ValueError, "num_steps"),
    ],
)
def test_kcsd_bad_input_raises(kwargs, error, message):
    with pytest.raises(error, match=message):
        csd(laminar(planar_potential(Z), Z), method="kcsd", **kwargs)


def test_kcsd_operator_needs_parameters_and_zero_lfp_cannot_be_cross_validated():
    with pytest.raises(ValueError, match="R .* and lambd"):
        csd_mod.csd_operator(-Z, method="kcsd", sigma=SIGMA)
    with pytest.raises(ValueError, match="zero everywhere"):
        csd(laminar(np.zeros(Z.size), Z), method="kcsd")


@pytest.mark.filterwarnings("ignore:All compartments should be shorter:UserWarning")
def test_kcsd_on_a_recorded_run(ball_and_stick, tmp_path):
    """Three ball-and-stick cells, an 8-contact probe: kCSD is finite, on depths in µm, and
    follows the recorded true CSD (correlation over depths and times > 0.7)."""
    import signals
    from signals.recorders import LFP, LaminarCSD

    cells = [ball_and_stick(gid, (30.0 * gid, 0.0, -500.0), start=2.0 + gid) for gid in range(3)]
    probe = signals.electrodes.laminar(x=0.0, y=0.0, z=np.arange(-600.0, -49.0, 75.0))
    path = signals.record(signals.network.from_neuron(cells), [LFP(probe), LaminarCSD(probe, radius=100.0)],
                          tstop=20, path=tmp_path / "k.nc", progress=False)
    with signals.open_run(path) as ds:
        out = csd(ds["lfp"], method="kcsd", diameter=200.0)
        err = csd_error(out, ds["csd_true"])
    assert out.dims == ("time", "depth") and np.all(np.isfinite(out.values))
    assert out["depth"].attrs["units"] == "um" and out.attrs["units"] == "uA/mm3"
    assert_allclose(out["depth"].values[[0, -1]], [75.0, 600.0])
    assert np.abs(out.values).max() > 0
    assert err.sizes["depth"] == probe.z.size
    assert_allclose(err["depth"].values, np.sort(-probe.z))
    assert np.all(np.isfinite(err["relative_error"].values))
    assert float(err["correlation_total"]) > 0.7


# -- csd_error ------------------------------------------------------------------------------


def profile_over_time(depth, dim="electrode", n_time=50):
    """A (time, depth) CSD like a csd() result: a moving Gaussian plus a slow wave (µA/mm³)."""
    t = np.arange(n_time) * 0.5
    depth = np.asarray(depth, dtype=float)
    data = (np.sin(t / 3.0)[:, None] * np.exp(-((depth - 400.0) ** 2) / (2 * 120.0**2))
            + 0.3 * np.cos(t / 7.0)[:, None] * depth / 1000.0)
    coords = {"time": t, "depth": (dim, depth)}
    if dim != "depth":
        coords[dim] = [f"e{i:02d}" for i in range(depth.size)]
    return xr.DataArray(data, dims=("time", dim), coords=coords, attrs={"units": "uA/mm3"}, name="csd")


def as_laminar_truth(da):
    """``da`` as a LaminarCSD variable: dim csd_true_depth of positions along the probe (minus depth)."""
    return xr.DataArray(da.values, dims=("time", "csd_true_depth"),
                        coords={"time": da["time"].values, "csd_true_depth": -da["depth"].values},
                        attrs={"units": "uA/mm3"}, name="csd_true")


DEPTHS = np.arange(50.0, 951.0, 100.0)


def test_csd_error_identical_is_zero():
    est = profile_over_time(DEPTHS)
    err = csd_error(est, as_laminar_truth(est))
    assert_allclose(err["depth"].values, DEPTHS)
    assert_allclose(err["rms_error"].values, 0.0, atol=1e-15)
    assert float(err["relative_error_total"]) == pytest.approx(0.0, abs=1e-15)
    assert_allclose(err["correlation"].values, 1.0, rtol=1e-12)
    assert float(err["correlation_total"]) == pytest.approx(1.0, rel=1e-12)
    assert err["rms_error"].attrs["units"] == "uA/mm3" and err["relative_error"].attrs["units"] == "1"


def test_csd_error_of_scaled_and_shifted_estimates():
    truth = profile_over_time(DEPTHS)
    t = truth.values
    rms_all = np.sqrt(np.mean(t**2))
    # scaled by a: error per depth |a - 1| · RMS over time at that depth / RMS over all; total |a - 1|
    err = csd_error(1.5 * truth, as_laminar_truth(truth))
    assert_allclose(err["relative_error"].values, 0.5 * np.sqrt(np.mean(t**2, axis=0)) / rms_all, rtol=1e-12)
    assert float(err["relative_error_total"]) == pytest.approx(0.5, rel=1e-12)
    assert_allclose(err["correlation"].values, 1.0, rtol=1e-12)
    # shifted by c: RMS error c at every depth, correlation over time still 1 (not over depths)
    err = csd_error(truth + 0.2, as_laminar_truth(truth))
    assert_allclose(err["rms_error"].values, 0.2, rtol=1e-12)
    assert_allclose(err["relative_error"].values, 0.2 / rms_all, rtol=1e-12)
    assert_allclose(err["correlation"].values, 1.0, rtol=1e-12)
    assert float(err["truth_rms"]) == pytest.approx(rms_all, rel=1e-12)
    # sign flipped: correlation -1
    assert_allclose(csd_error(-truth, truth)["correlation"].values, -1.0, rtol=1e-12)


def test_csd_error_on_different_grids():
    """A truth linear in depth is interpolated exactly: a fine estimate of it has zero error on
    either grid; depths outside the other's span are left out."""
    def linear(depth, dim):
        da = profile_over_time(depth, dim)
        return da.copy(data=np.cos(da["time"].values)[:, None] * (1.0 + da["depth"].values[None, :] / 500))

    fine = linear(np.linspace(0.0, 1000.0, 201), "depth")  # spline/kcsd-like output
    coarse = as_laminar_truth(linear(np.arange(-50.0, 1001.0, 100.0), "electrode"))  # -50 is above 0
    on_truth = csd_error(fine, coarse)
    assert_allclose(on_truth["depth"].values, np.arange(50.0, 951.0, 100.0))
    assert_allclose(on_truth["rms_error"].values, 0.0, atol=1e-12)
    on_est = csd_error(fine, coarse, on="estimate")
    assert on_est.sizes["depth"] == 191  # 50 … 950 µm of the 201 estimate depths
    assert_allclose(on_est["rms_error"].values, 0.0, atol=1e-12)
    assert on_est.attrs["on"] == "estimate"


def test_csd_error_matches_shared_times_and_populations():
    truth = profile_over_time(DEPTHS, n_time=60)
    est = truth.isel(time=slice(10, 40)) * 2.0
    err = csd_error(est, as_laminar_truth(truth))
    assert err.attrs["n_times"] == 30
    t = truth.isel(time=slice(10, 40)).values
    assert float(err["truth_rms"]) == pytest.approx(np.sqrt(np.mean(t**2)), rel=1e-12)
    both = xr.concat([truth, 2 * truth], dim=xr.DataArray(["E", "I"], dims="population"))
    err = csd_error(both, xr.concat([as_laminar_truth(truth)] * 2,
                                    dim=xr.DataArray(["E", "I"], dims="population")))
    assert_allclose(err["relative_error_total"].values, [0.0, 1.0], atol=1e-12)


@pytest.mark.parametrize(
    "estimate, truth, error, message",
    [
        (lambda e: e.values, lambda t: t, TypeError, "DataArray"),
        (lambda e: e.isel(time=0), lambda t: t, ValueError, "time"),
        (lambda e: e.drop_vars("depth"), lambda t: t, ValueError, "depth"),
        (lambda e: e, lambda t: t.assign_coords(csd_true_depth=t["csd_true_depth"] - 5000), ValueError,
         "do not overlap"),
        (lambda e: e, lambda t: t.assign_coords(time=t["time"] + 1000), ValueError, "time samples"),
        (lambda e: e, lambda t: t.assign_attrs(units="nA/um3"), ValueError, "units"),
        (lambda e: e, lambda t: 0 * t, ValueError, "zero everywhere"),
    ],
)
def test_csd_error_bad_input(estimate, truth, error, message):
    est = profile_over_time(DEPTHS)
    with pytest.raises(error, match=message):
        csd_error(estimate(est), truth(as_laminar_truth(est)))


def test_csd_error_option():
    est = profile_over_time(DEPTHS)
    with pytest.raises(ValueError, match="csd_error on"):
        csd_error(est, est, on="both")


def test_kcsd_cross_validation_error_equals_elephants():
    """The vectorised leave-one-out error is elephant's ``KCSD.compute_cverror``."""
    from elephant.current_source_density_src.KCSD import KCSD1D

    rng = np.random.default_rng(0)
    depth = -Z
    pots = rng.normal(size=(Z.size, 7)) * 1e-3  # mV
    ref = KCSD1D(depth[:, None] * 1e-3, pots, sigma=SIGMA, h=0.25, R_init=0.1, n_src_init=csd_mod.KCSD_N_SRC)
    folds = [([j for j in range(Z.size) if j != i], [i]) for i in range(Z.size)]
    model = csd_mod._kcsd_model(depth, out_depth=depth, sigma=SIGMA, diameter=500.0, R=100.0)
    assert_allclose(model.k_pot, ref.k_pot, rtol=1e-12)
    lam = 1e-4 * float(np.mean(np.diag(ref.k_pot)))
    assert csd_mod._loo_error(model.k_pot, pots, lam) == pytest.approx(ref.compute_cverror(lam, folds),
                                                                        rel=1e-9)
