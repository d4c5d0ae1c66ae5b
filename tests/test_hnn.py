"""hnn-core's own model recorded by signals, against hnn-core's own dipole and LFP of the same run.

hnn-core 0.6.1 runs on NEURON <= 8.2.7 only (it cannot be imported on NEURON 9), so these tests
run in CI's NEURON 8.2.7 environment (``make test-nrn82``) and skip elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BIN, LIBMPI
from numpy.testing import assert_allclose, assert_array_equal

import signals
from signals.recorders import EEG, LFP, Dipole, Spikes

try:
    import hnn_core  # noqa: F401
    HNN_ERROR = None
except Exception as err:  # noqa: BLE001 - on NEURON 9 the import itself raises
    HNN_ERROR = f"{type(err).__name__}: {err}"

needs_hnn = pytest.mark.skipif(HNN_ERROR is not None,
                               reason=f"hnn-core 0.6.1 cannot be imported here ({HNN_ERROR}); "
                                      "it needs NEURON <= 8.2.7: run `make test-nrn82`")

TSTOP = 170.0  # ms, hnn-core's ERP example
N_TRIALS = 2
CONTACTS = [(135.0, 0.0, float(z)) for z in range(-325, 2150, 100)]  # µm, hnn-core's example shank
PYRAMIDAL = {"L2": "L2_pyramidal", "L5": "L5_pyramidal"}


def _network():
    """``jones_2009_model(mesh_shape=(3, 3))`` with the ERP drives and hnn-core's example shank."""
    from hnn_core import jones_2009_model
    from hnn_core.network_models import add_erp_drives_to_jones_model

    net = jones_2009_model(mesh_shape=(3, 3))
    add_erp_drives_to_jones_model(net)
    net.add_electrode_array("shank", CONTACTS, conductivity=0.3, method="psa")
    return net


def _recorders():
    probe = signals.electrodes.points(CONTACTS)
    return [Dipole(), LFP(probe, method="pointsource", sigma=0.3), EEG(), Spikes()]


def _raw_dipoles(dpls, mesh=(3, 3)):
    """hnn-core's dipoles (fAm) before its fitted offset and nAm conversion, undone with its own
    code: the offset of ``_baseline_renormalize`` does not depend on the data (it is what it makes
    of a zero dipole), and ``_convert_fAm_to_nAm`` is ×1e-6."""
    from hnn_core.dipole import Dipole as HnnDipole

    out = []
    for dpl in dpls:
        zero = HnnDipole(dpl.times, np.zeros((dpl.times.size, 3)))
        zero._baseline_renormalize(*mesh)
        zero._convert_fAm_to_nAm()
        out.append({k: (dpl.data[k] - zero.data[k]) * 1e6 for k in ("L2", "L5")})
    return out


def _simulate(tmp_path, backend=None):
    from hnn_core import simulate_dipole

    net = _network()
    with signals.network.record_hnn_core(net, _recorders(), path=tmp_path / "erp_{trial}.nc") as rec:
        if backend is None:
            dpls = simulate_dipole(net, tstop=TSTOP, n_trials=N_TRIALS)
        else:
            with backend:
                dpls = simulate_dipole(net, tstop=TSTOP, n_trials=N_TRIALS)
    return net, dpls, [signals.open_run(p) for p in rec.paths]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    if HNN_ERROR is not None:
        pytest.skip(HNN_ERROR)
    return _simulate(tmp_path_factory.mktemp("hnn_serial"))


@pytest.fixture(scope="module")
def parallel(tmp_path_factory, mpi_available):
    """The same trials with hnn-core's MPIBackend on 2 processes (mpiexec of the mpich wheel)."""
    if HNN_ERROR is not None:
        pytest.skip(HNN_ERROR)
    from hnn_core import MPIBackend

    with pytest.MonkeyPatch.context() as mp:
        # hnn-core starts `mpiexec ... nrniv` by name; NEURON needs mpich's real libmpi
        mp.setenv("PATH", f"{BIN}:{__import__('os').environ['PATH']}")
        if LIBMPI.exists():
            mp.setenv("MPI_LIB_NRN_PATH", str(LIBMPI))
        # mpich's mpiexec knows neither of the Open MPI options hnn-core may add
        backend = MPIBackend(n_procs=2, override_hwthreading_option=False,
                             override_oversubscribe_option=False)
        return _simulate(tmp_path_factory.mktemp("hnn_mpi"), backend)


def _check_against_hnn(net, dpls, runs):
    """Per trial: signals' dipoles and LFP against hnn-core's own of the same run."""
    errors = {}
    for trial, (raw, ds) in enumerate(zip(_raw_dipoles(dpls), runs, strict=True)):
        assert ds.attrs["trial"] == trial and ds.attrs["hnn_core_version"] == "0.6.1"
        assert_allclose(ds["time"].values, dpls[trial].times, rtol=0, atol=1e-9)
        for key, pop in PYRAMIDAL.items():
            ours = ds["dipole_population"].sel(population=pop, component="z").values
            peak = np.abs(raw[key]).max()
            assert peak > 100.0  # fAm: the ERP is there
            # hnn-core defines its dipole as 0 at t = 0; from the first step on they agree
            # (measured 8.0e-8 of the peak for L2, 7.9e-9 for L5: NEURON's float32 3-D points)
            err = np.abs(ours[1:] - raw[key][1:]).max() / peak
            assert err < 1e-6, (trial, pop, err)
            errors[pop] = max(err, errors.get(pop, 0.0))
        # hnn-core's LFP (µV, all cells, psa) against signals' point source (mV)
        hnn_lfp = np.asarray(net.rec_arrays["shank"].voltages[trial]).T
        peak = np.abs(hnn_lfp).max()
        assert peak > 10.0  # µV
        err = np.abs(1e3 * ds["lfp"].values[1:] - hnn_lfp[1:]).max() / peak
        assert err < 1e-12, (trial, err)  # measured 5e-15
        assert_array_equal(hnn_lfp[0], 0.0)  # hnn-core's stated t = 0 convention
        errors["lfp"] = max(err, errors.get("lfp", 0.0))
    return errors


@needs_hnn
def test_serial_trials_equal_hnn_cores_dipole_and_lfp(serial):
    net, dpls, runs = serial
    assert len(runs) == N_TRIALS
    _check_against_hnn(net, dpls, runs)
    # trials differ (hnn-core draws new drive events per trial)
    assert np.abs(runs[0]["lfp"].values - runs[1]["lfp"].values).max() > 1e-3 * np.abs(
        runs[0]["lfp"].values).max()


@needs_hnn
def test_populations_gids_and_spikes_are_hnn_cores(serial):
    net, _, runs = serial
    ds = runs[0]
    assert list(ds["population"].values) == list(net.cell_types)
    for pop in net.cell_types:
        gids = ds["cell"].values[ds["cell_population"].values == pop]
        assert_array_equal(gids, list(net.gid_ranges[pop]))
    for trial, run in enumerate(runs):
        theirs = np.array(net.cell_response.spike_times[trial])
        their_gids = np.array(net.cell_response.spike_gids[trial])
        cells = np.isin(their_gids, run["cell"].values)  # hnn-core also lists drive spikes
        assert cells.sum() > 10
        order = np.lexsort((their_gids[cells], theirs[cells]))
        assert_array_equal(run["spike_gid"].values, their_gids[cells][order])
        assert_allclose(run["spike_time"].values, theirs[cells][order], rtol=0, atol=1e-9)


@needs_hnn
def test_dipole_conventions_of_the_readme(serial):
    """What hnn-core's dipole leaves out: basket cells (single compartments: no dipole) and the
    x component (measured 22-29 % of the peak z)."""
    _, dpls, runs = serial
    ds = runs[0]
    raw = _raw_dipoles(dpls)[0]
    total_z = ds["dipole"].sel(component="z").values
    pyr_z = sum(ds["dipole_population"].sel(population=p, component="z").values
                for p in PYRAMIDAL.values())
    assert_allclose(pyr_z[1:], (raw["L2"] + raw["L5"])[1:], rtol=0,
                    atol=1e-6 * np.abs(pyr_z).max())
    baskets = total_z - pyr_z
    assert np.abs(baskets).max() < 1e-12 * np.abs(pyr_z).max()  # measured 2e-15
    assert np.abs(ds["dipole"].sel(component="x").values).max() > 1e-3 * np.abs(total_z).max()
    # EEG comes with it: finite and driven by the same currents
    assert np.all(np.isfinite(ds["eeg"].values)) and np.abs(ds["eeg"].values).max() > 0


@needs_hnn
def test_t0_sample_is_physical_for_hnn_cores_initial_potentials(tmp_path):
    """hnn-core's cells start at section-specific potentials (−72 … −67 mV in L5): the t = 0
    membrane currents are the axial currents these drive. They sum to zero in every cell and are
    what NEURON's own i_membrane_ after one step tends to as hnn-core's dt shrinks."""
    from hnn_core import simulate_dipole

    from signals.recorders import MembraneCurrents

    net = _network()
    imem = {}
    for dt in (0.025, 1e-4, 1e-5, 1e-6):  # ms
        with signals.network.record_hnn_core(net, [MembraneCurrents()],
                                             path=tmp_path / f"dt{dt}.nc") as rec:
            simulate_dipole(net, tstop=2 * dt, dt=dt, n_trials=1)
        ds = signals.open_run(rec.paths[0])
        imem[dt] = ds["imem"].values
    i0, gid = imem[0.025][0], ds["segment_gid"].values
    scale = np.abs(i0).max()
    assert scale > 0.1  # nA: the L5 cells' initial gradients drive real currents
    for g in np.unique(gid):
        assert abs(i0[gid == g].sum()) < 1e-12 * scale, g  # Kirchhoff, per cell
    errors = [np.abs(imem[dt][1] - i0).max() / scale for dt in (1e-4, 1e-5, 1e-6)]
    # measured 1.8e-2, 1.8e-3, 1.8e-4: first order in dt, towards the t = 0 sample
    assert errors[-1] < 1e-3, errors
    assert_allclose(np.diff(np.log10(errors)), -1.0, atol=0.1)


@needs_hnn
def test_mpi_backend_trials_equal_serial_and_hnn_core(serial, parallel):
    net, dpls, runs = parallel
    errors = _check_against_hnn(net, dpls, runs)
    assert errors
    for one, two in zip(serial[2], runs, strict=True):
        assert two.attrs["mpi_ranks"] == 2 and one.attrs["mpi_ranks"] == 1
        for name in ("lfp", "dipole_population", "eeg"):
            ref = one[name].values
            assert np.abs(two[name].values - ref).max() <= 1e-12 * np.ptp(ref), name
        assert_array_equal(two["spike_gid"].values, one["spike_gid"].values)


@needs_hnn
def test_bad_use_is_refused(tmp_path):
    from hnn_core import JoblibBackend, simulate_dipole

    net = _network()
    with pytest.raises(ValueError, match=r"\{trial\}"):
        with signals.network.record_hnn_core(net, [Dipole()], path=tmp_path / "one.nc"):
            simulate_dipole(net, tstop=5.0, n_trials=2)
    with pytest.raises(ValueError, match="n_jobs=1 or MPIBackend"):
        with signals.network.record_hnn_core(net, [Dipole()], path=tmp_path / "r_{trial}.nc"):
            with JoblibBackend(n_jobs=2):
                simulate_dipole(net, tstop=5.0, n_trials=2)
    with pytest.raises(ValueError, match="another Network"):
        with signals.network.record_hnn_core(net, [Dipole()], path=tmp_path / "r_{trial}.nc"):
            simulate_dipole(_network(), tstop=5.0, n_trials=1)
    with pytest.raises(TypeError, match="hnn_core.Network"):
        signals.network.record_hnn_core(object(), [Dipole()], path=tmp_path / "x.nc")
    assert not list(tmp_path.glob("*.nc"))


@pytest.mark.skipif(HNN_ERROR is None, reason="hnn-core is importable here")
def test_without_hnn_core_the_error_says_what_to_install(tmp_path):
    with pytest.raises(ImportError, match=r"neuron==8\.2\.7"):
        signals.network.record_hnn_core(None, [Dipole()], path=tmp_path / "x.nc")
