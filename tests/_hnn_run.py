"""hnn-core's own model run by hnn-core and recorded by signals in the same run.

Run by ``tests/test_hnn.py`` as ``python _hnn_run.py SCENARIO OUTDIR`` in a process of its own:
importing hnn-core switches NEURON to legacy units and its runs set ``h.celsius``, loaded
mechanisms and ParallelContext state, which must not leak into other tests. Writes the run
files ``OUTDIR/erp_{trial}.nc`` and hnn-core's own results of that run to ``OUTDIR/hnn.npz``,
in the order of hnn-core's examples: ``jones_2009_model``, ``add_erp_drives_to_jones_model``,
``add_electrode_array``, ``simulate_dipole``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

TSTOP = 170.0  # ms, hnn-core's ERP example
N_TRIALS = 2
MESH = (3, 3)
CONTACTS = [(135.0, 0.0, float(z)) for z in range(-325, 2150, 100)]  # µm, hnn-core's example shank


def network():
    """``jones_2009_model(mesh_shape=(3, 3))`` with the ERP drives and hnn-core's example shank."""
    from hnn_core import jones_2009_model
    from hnn_core.network_models import add_erp_drives_to_jones_model

    net = jones_2009_model(mesh_shape=MESH)
    add_erp_drives_to_jones_model(net)
    net.add_electrode_array("shank", CONTACTS, conductivity=0.3, method="psa")
    return net


def raw_dipoles(dpl):
    """hnn-core's L2 and L5 dipoles (fAm) before its fitted offset and nAm conversion, undone
    with its own code: the offset ``_baseline_renormalize`` subtracts does not depend on the
    data (it is what it makes of a zero dipole), and ``_convert_fAm_to_nAm`` is ×1e-6."""
    from hnn_core.dipole import Dipole

    zero = Dipole(dpl.times, np.zeros((dpl.times.size, 3)))
    zero._baseline_renormalize(*MESH)
    zero._convert_fAm_to_nAm()
    return {k: (dpl.data[k] - zero.data[k]) * 1e6 for k in ("L2", "L5")}


def _erp(out: Path, backend=None) -> dict:
    from hnn_core import simulate_dipole

    import signals
    from signals.recorders import EEG, LFP, Dipole, Spikes

    net = network()
    probe = signals.electrodes.points(CONTACTS)
    recorders = [Dipole(), LFP(probe, method="pointsource", sigma=0.3), EEG(), Spikes()]
    with signals.network.record_hnn_core(net, recorders, path=out / "erp_{trial}.nc") as rec:
        if backend is None:
            dpls = simulate_dipole(net, tstop=TSTOP, n_trials=N_TRIALS)
        else:
            with backend:
                dpls = simulate_dipole(net, tstop=TSTOP, n_trials=N_TRIALS)
    arrays = {}
    for trial, dpl in enumerate(dpls):
        raw = raw_dipoles(dpl)
        arrays[f"times_{trial}"] = dpl.times
        arrays[f"L2_{trial}"], arrays[f"L5_{trial}"] = raw["L2"], raw["L5"]
        arrays[f"lfp_{trial}"] = np.asarray(net.rec_arrays["shank"].voltages[trial]).T  # µV
        arrays[f"spike_times_{trial}"] = np.asarray(net.cell_response.spike_times[trial])
        arrays[f"spike_gids_{trial}"] = np.asarray(net.cell_response.spike_gids[trial])
    np.savez(out / "hnn.npz", **arrays)
    return {"paths": [str(p) for p in rec.paths], "cell_types": list(net.cell_types),
            "gid_ranges": {k: list(v) for k, v in net.gid_ranges.items() if k in net.cell_types}}


def _scenario_serial(out: Path) -> dict:
    return _erp(out)


def _scenario_mpi(out: Path) -> dict:
    from hnn_core import MPIBackend

    # mpich's mpiexec knows neither of the Open MPI options hnn-core may add
    return _erp(out, MPIBackend(n_procs=2, override_hwthreading_option=False,
                                override_oversubscribe_option=False))


def _scenario_t0(out: Path) -> dict:
    """Membrane currents of the first step for ever smaller hnn-core time steps."""
    from hnn_core import simulate_dipole

    import signals
    from signals.recorders import MembraneCurrents

    net = network()
    paths = {}
    for dt in (0.025, 1e-4, 1e-5, 1e-6):  # ms
        with signals.network.record_hnn_core(net, [MembraneCurrents()],
                                             path=out / f"dt{dt}.nc") as rec:
            simulate_dipole(net, tstop=2 * dt, dt=dt, n_trials=1)
        paths[str(dt)] = str(rec.paths[0])
    return {"paths": paths}


def _scenario_errors(out: Path) -> dict:
    """Misuses of record_hnn_core: the message each raises, and whether a file was left."""
    from hnn_core import JoblibBackend, simulate_dipole

    import signals
    from signals.recorders import Dipole

    net = network()
    messages = {}

    def attempt(name, run):
        try:
            run()
        except Exception as err:  # noqa: BLE001 - the test checks type and message
            messages[name] = f"{type(err).__name__}: {err}"

    def several_trials_one_path():
        with signals.network.record_hnn_core(net, [Dipole()], path=out / "one.nc"):
            simulate_dipole(net, tstop=5.0, n_trials=2)

    def joblib_workers():
        with signals.network.record_hnn_core(net, [Dipole()], path=out / "r_{trial}.nc"):
            with JoblibBackend(n_jobs=2):
                simulate_dipole(net, tstop=5.0, n_trials=2)

    def another_network():
        with signals.network.record_hnn_core(net, [Dipole()], path=out / "r_{trial}.nc"):
            simulate_dipole(network(), tstop=5.0, n_trials=1)

    def two_calls():
        with signals.network.record_hnn_core(net, [Dipole()], path=out / "twice_{trial}.nc"):
            simulate_dipole(net, tstop=1.0, n_trials=1)
            simulate_dipole(net, tstop=1.0, n_trials=1)

    attempt("trials", several_trials_one_path)
    attempt("twice", two_calls)
    attempt("joblib", joblib_workers)
    attempt("network", another_network)
    attempt("type", lambda: signals.network.record_hnn_core(object(), [Dipole()],
                                                           path=out / "x.nc"))

    def failing_recorder():
        from conftest import FailingRecorder  # tests/ is this script's sys.path[0]

        with signals.network.record_hnn_core(net, [FailingRecorder()], path=out / "failing_{trial}.nc",
                                             chunk_samples=100):
            simulate_dipole(net, tstop=20.0, n_trials=1)

    attempt("callback", failing_recorder)  # last: hnn-core's run was cut short
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file is incomplete, as it should be
        failed = signals.open_run(out / "failing_0.nc")
    return {"messages": messages, "files": sorted(p.name for p in out.glob("*.nc")),
            "failed_file": {k: failed.attrs.get(k) for k in ("run_status", "run_error")}}


def main() -> None:
    scenario, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    result = globals()[f"_scenario_{scenario}"](out)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
