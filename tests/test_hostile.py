"""Hostile arguments get a clear signals error naming the parameter, never a raw library error.

Property-based (hypothesis) over the public constructors and ``record`` arguments, plus the
silently-wrong cases of the past, each pinned to what it does now.
"""

from __future__ import annotations

import math

import netCDF4
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signals
import signals.io
from signals.electrodes import laminar, mea, points
from signals.recorders import LFP, Dipole, Spikes, Traces

#: Few examples: each one may build a NEURON run; the suite must stay fast.
FEW = settings(max_examples=25, deadline=None, derandomize=True,  # reproducible in CI
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

anything = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.lists(st.integers(-3, 3), max_size=3), st.just(object()), st.just(b"x"),
)
SIGNALS_ERRORS = (TypeError, ValueError)


def _clear(err: BaseException, *words: str) -> None:
    """A signals error: the right type and naming the parameter (no raw library text)."""
    msg = str(err)
    assert isinstance(err, SIGNALS_ERRORS), repr(err)
    assert any(w in msg for w in words), msg
    for raw in ("NetCDF:", "hocobj_call", "operands could not", "ufunc", "h5py", "threadpoolctl"):
        assert raw not in msg, msg


@pytest.fixture
def table(ball_and_stick):
    return signals.network.from_neuron([ball_and_stick()])


def _record(table, path, **kwargs):
    args = {"tstop": 0.5, "progress": False, **kwargs}
    recorders = args.pop("recorders", [LFP([[30, 0, 0]])])
    return signals.record(table, recorders, path=path, **args)


@FEW
@given(value=anything)
def test_chunk_samples(table, tmp_path, value):
    try:
        _record(table, tmp_path / "r.nc", chunk_samples=value)
    except Exception as err:  # noqa: BLE001 - the property is about which errors
        _clear(err, "chunk_samples")
    else:
        assert value is None or (isinstance(value, int) and not isinstance(value, bool)
                                 and value >= 1)


@FEW
@given(value=anything)
def test_blas_threads(table, tmp_path, value):
    try:
        _record(table, tmp_path / "r.nc", blas_threads=value)
    except Exception as err:  # noqa: BLE001
        _clear(err, "blas_threads")
    else:
        assert value is None or (type(value) is int and value >= 1)


@FEW
@given(name=st.one_of(st.text(max_size=6), st.sampled_from(["electrode", "time", "a/b", "",
                                                              "cell", " x", "1a", "lfp"])))
def test_recorder_names(table, tmp_path, name):
    try:
        _record(table, tmp_path / "r.nc", recorders=[LFP([[30, 0, 0]], name=name)])
    except Exception as err:  # noqa: BLE001
        _clear(err, "name")
    else:  # what was accepted is readable under that name
        with netCDF4.Dataset(tmp_path / "r.nc") as nc:
            assert name in nc.variables


@FEW
@given(key=st.text(max_size=6), value=anything)
def test_attrs(table, tmp_path, key, value):
    try:
        _record(table, tmp_path / "r.nc", attrs={key: value})
    except Exception as err:  # noqa: BLE001
        _clear(err, "attribute name", "attrs")


@FEW
@given(tstop=anything, dt=st.one_of(st.none(), anything), v_init=anything)
def test_record_times(table, tmp_path, tstop, dt, v_init):
    try:
        _record(table, tmp_path / "r.nc", tstop=tstop, dt=dt, v_init=v_init)
    except Exception as err:  # noqa: BLE001
        _clear(err, "tstop", "dt", "v_init", "time step")


@FEW
@given(rows=anything, cols=st.integers(-2, 3), pitch=anything,
       center=st.one_of(anything, st.lists(st.floats(), max_size=4)))
def test_mea(rows, cols, pitch, center):
    try:
        arr = mea(rows, cols, pitch, center=center)
    except Exception as err:  # noqa: BLE001
        _clear(err, "rows", "cols", "pitch", "center")
    else:
        assert len(arr) == rows * cols and np.all(np.isfinite(arr.positions))


@FEW
@given(value=anything)
def test_recorder_constructors(value):
    for make, words in ((lambda v: Spikes(threshold=v), ("threshold",)),
                        (lambda v: Traces([v]), ("gids",)),
                        (lambda v: Traces(v), ("gids",)),
                        (lambda v: LFP([[0, 0, 0]], sigma=v), ("sigma",)),
                        (lambda v: Dipole(cells=v), ("cells", "gid"))):
        try:
            make(value)
        except Exception as err:  # noqa: BLE001
            _clear(err, *words)


@pytest.mark.parametrize("call, words", [
    (lambda t, p: _record(t, None), "path"),
    (lambda t, p: _record(t, p, chunk_samples=10**9), "chunk_samples"),
    (lambda t, p: _record(t, p, blas_threads="x"), "blas_threads"),
    (lambda t, p: _record(t, p, blas_threads=-3), "blas_threads"),
    (lambda t, p: _record(t, p, recorders=[LFP([[30, 0, 0]], name="electrode")]), "clashes"),
    (lambda t, p: _record(t, p, attrs={"a/b": 1}), "attribute name"),
    (lambda t, p: mea(2, 2, 10, center=(0, 0)), "center"),
    (lambda t, p: mea(10**5, 10**5, 1), "contacts"),
    (lambda t, p: mea(2.5, 2, 10), "rows"),
    (lambda t, p: Spikes(threshold="a"), "threshold"),
    (lambda t, p: Traces([0.7]), "gids"),
    (lambda t, p: signals.head.NYHead(p.parent / "garbage.mat"), "NY Head file"),
])
def test_formerly_raw_errors(table, tmp_path, call, words):
    (tmp_path / "garbage.mat").write_bytes(b"not a mat file at all" * 100)
    with pytest.raises(SIGNALS_ERRORS) as info:
        call(table, tmp_path / "r.nc")
    _clear(info.value, words)


def test_writing_to_a_directory_says_so(table, tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        _record(table, tmp_path)


# -- no silent substitutions, complete provenance ---------------------------------------------

def test_tstop_off_the_dt_grid_records_the_time_reached(table, tmp_path):
    path = _record(table, tmp_path / "r.nc", tstop=10.01, dt=0.025)
    ds = signals.open_run(path)
    assert ds.attrs["tstop_requested"] == 10.01
    assert ds.attrs["tstop"] == pytest.approx(float(ds["time"][-1]), abs=1e-9)
    assert math.isclose(ds.attrs["tstop"], 10.0, abs_tol=1e-9)
    assert ds.attrs["v_init"] == -65.0 and ds.attrs["v_init_units"] == "mV"
    for key in ("dt", "record_dt", "t_start", "tstop", "tstop_requested"):
        assert ds.attrs[f"{key}_units"] == "ms"


def test_attached_run_stores_time_reached_v_init_and_versions(table, tmp_path):
    import netpyne  # noqa: F401 - imported by the model: its version belongs to the run
    from neuron import h

    with signals.attach(table, [LFP([[30, 0, 0]])], path=tmp_path / "r.nc"):
        h.finitialize(-70)
        h.continuerun(3)
    ds = signals.open_run(tmp_path / "r.nc")
    assert ds.attrs["run_status"] == "complete"
    assert ds.attrs["tstop"] == pytest.approx(3.0) and ds.attrs["v_init"] == pytest.approx(-70)
    from importlib.metadata import version

    assert ds.attrs["netpyne_version"] == version("netpyne")
    for key in ("signals_version", "neuron_version", "lfpykit_version"):
        assert ds.attrs[key] not in ("", "unknown")


def test_every_numeric_variable_has_units(table, tmp_path):
    from signals.recorders import Connections

    path = _record(table, tmp_path / "r.nc", tstop=20,
                   recorders=[LFP([[30, 0, 0]]), Spikes(), Traces([0]), Dipole(), Connections()])
    with netCDF4.Dataset(path) as nc:
        missing = [n for n, v in nc.variables.items()
                   if v.dtype != str and "units" not in v.ncattrs()]
    assert missing == []


def test_attach_and_close_without_finitialize_is_not_complete(table, tmp_path):
    session = signals.attach(table, [LFP([[30, 0, 0]])], path=tmp_path / "r.nc")
    session.close()
    with pytest.warns(UserWarning, match="incomplete: RuntimeError: no samples"):
        ds = signals.open_run(tmp_path / "r.nc")
    assert ds.sizes["time"] == 0


def test_second_finitialize_stops_the_run_and_says_so(table, tmp_path):
    from neuron import h

    with signals.attach(table, [LFP([[30, 0, 0]])], path=tmp_path / "r.nc", chunk_samples=10):
        h.finitialize(-65)
        h.continuerun(1)
        h.finitialize(-65)
        h.continuerun(1)
    with pytest.warns(UserWarning, match="h.finitialize was called again after the sample at t = 1 ms"):
        ds = signals.open_run(tmp_path / "r.nc")
    assert ds.attrs["run_status"] == "incomplete" and ds.sizes["time"] == 41


def test_points_reject_hostile_positions():
    for bad in ([[1e400, 0, 0]], [[0, 0]], "abc", [[None, 0, 0]]):
        with pytest.raises(ValueError, match="electrode|positions|µm"):
            points(bad)
    with pytest.raises(ValueError):
        laminar(x=0, y=0, z=[np.nan])


# -- importers validate what they read ---------------------------------------------------------

def _netpyne_json(path, *, spkt=(1.0, 2.5), spkid=(0, 1), gids=(0, 1), raw=None):
    import json

    data = {"simConfig": {"dt": 0.025, "recordStep": 0.1, "duration": 10.0},
            "simData": {"spkt": list(spkt), "spkid": list(spkid)},
            "net": {"cells": [{"gid": g, "tags": {"pop": "E", "x": 0.0, "y": 0.0, "z": 0.0}}
                              for g in gids]}}
    path.write_text(raw if raw is not None else json.dumps(data))
    return path


def test_a_plain_netpyne_json_imports(tmp_path):
    ds = signals.io.from_netpyne(_netpyne_json(tmp_path / "ok.json"))
    assert ds["spike_time"].values.tolist() == [1.0, 2.5]
    assert ds["spike_gid"].values.tolist() == [0, 1]


@pytest.mark.parametrize("kwargs, match", [
    ({"spkt": (float("inf"), 1.0)}, r"simData.spkt/spkid \(spike times\): 1 times are not finite"),
    ({"spkt": (-1.0, 1.0)}, r"spike times\): times must lie in \[0"),
    ({"spkt": (1e308, 1.0)}, r"spike times\): times must lie in \[0"),
    ({"spkid": (1e300, 0)}, r"spike gids\): a gid does not fit a 64-bit integer"),
    ({"spkid": (0.7, 0)}, r"spike gids\): gids must be integers"),
    ({"gids": (1e300, 0)}, r"net.cells\[\].gid: a gid does not fit"),
    ({"gids": ("a", 0)}, r"net.cells\[\].gid: gids must be integers"),
    ({"spkt": (1.0,)}, "1 spike times but 2 spike gids"),
    ({"raw": '{"simData": [], "net": {}}'}, "simData must be an object"),
    ({"raw": '{"simData": {"spkt": {"a": 1}}, "net": {"cells": 5}}'}, "not valid NetPyNE output"),
    ({"raw": '{"net": {"cells": [{"gid": ' + "9" * 400 + '}]}}'}, "gid"),
    ({"raw": '{"net": ' + "[" * 100000 + "]" * 100000 + "}"}, "nested too deeply"),
    ({"raw": '{"simConfig": {"dt": "x"}, "simData": {}, "net": {}}'}, "simConfig.dt"),
])
def test_hostile_netpyne_files(tmp_path, kwargs, match):
    import subprocess
    import sys

    path = _netpyne_json(tmp_path / "bad.json", **kwargs)
    with pytest.raises(ValueError, match=match) as info:
        signals.io.from_netpyne(path)
    assert "bad.json" in str(info.value)
    res = subprocess.run([sys.executable, "-m", "signals.cli", "convert", str(path),
                          str(tmp_path / "out.nc")], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert not (tmp_path / "out.nc").exists()


def test_hostile_sonata_spikes(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "spikes.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("/spikes/E/node_ids", data=np.array([0, 1]))
        f.create_dataset("/spikes/E/timestamps", data=np.array([b"1.0", b"2.0"]))
    with pytest.raises(ValueError, match="timestamps holds .* values, expected numbers"):
        signals.io.from_sonata(path)
    with h5py.File(path, "w") as f:
        f.create_dataset("/spikes/E/node_ids", data=np.array([0, 1]))
        f.create_dataset("/spikes/E/timestamps", data=np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="spikes.h5.*/spikes \\(spike times\\): 1 times are not finite"):
        signals.io.from_sonata(path)


@pytest.mark.parametrize("args, match", [
    (["poprate", "--bin", "0"], "argument --bin: must be > 0"),
    (["psd", "--freq", "-5", "10"], "argument --freq: must be a finite number >= 0"),
    (["psd", "--freq", "50", "10"], "FMIN must be below FMAX"),
    (["ratepsd", "--bin", "1e-8"], "bin_size = 1e-08 ms makes"),  # 2e9 bins: 16 GB of counts
])
def test_cli_refuses_bad_plot_arguments(table, tmp_path, args, match):
    import subprocess
    import sys

    path = _record(table, tmp_path / "r.nc", tstop=20, recorders=[LFP([[30, 0, 0]]), Spikes()])
    res = subprocess.run([sys.executable, "-m", "signals.cli", "plot", args[0], str(path),
                          "-o", str(tmp_path / "f.png"), *args[1:]],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and match in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "f.png").exists()
