"""CSD recovers known sources from their closed-form or numerically integrated potentials."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose
from scipy.integrate import quad
from scipy.special import erf

from signals.analysis import csd as csd_mod
from signals.analysis.csd import csd

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


def disc_potential(z, radius):
    """Potential (mV) on the axis of a cylinder (radius µm) with the Gaussian source profile.

    Pettersen et al. (2006) eq. for a disc: dphi = C dz' / (2 sigma) (sqrt((z-z')² + R²) - |z-z'|),
    integrated numerically in SI units.
    """
    r = radius * 1e-6

    def dphi(zp, zz):
        d = (zz - zp) * 1e-6
        return source(zp) * 1e3 * (np.sqrt(d**2 + r**2) - abs(d)) / (2 * SIGMA) * 1e-6  # per µm of zp

    lo, hi = Z0 - 8 * WIDTH, Z0 + 8 * WIDTH
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
        csd(lfp, sigma=SIGMA, method="kcsd")
