"""netCDF round trip of the run file writer."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import signals
from signals.recorder import VariableSpec
from signals.store import RunWriter


def test_round_trip_values_dims_coords_units(tmp_path):
    rng = np.random.default_rng(0)
    coords = {
        "electrode": (("electrode",), np.array(["a", "b", "c"], dtype=object), {}),
        "electrode_z": (("electrode",), np.array([-100.0, 0.0, 100.0]), {"units": "um"}),
        "population": (("population",), np.array(["E", "I"], dtype=object), {}),
    }
    specs = {
        "lfp": VariableSpec(("time", "electrode"), "mV", "extracellular potential",
                            attrs={"sigma": 0.3}),
        "lfp_population": VariableSpec(("time", "population", "electrode"), "mV", "per pop"),
        "spike_time": VariableSpec(("spike",), "ms", "spike time", reduce="gather"),
        "spike_gid": VariableSpec(("spike",), "1", "gid", reduce="gather", dtype="i8"),
    }
    w = RunWriter(tmp_path / "r.nc", coords=coords, variables=specs, attrs={"dt": 0.025},
                  chunk_len=4)
    chunks = []
    for k in range(3):
        t = (np.arange(4) + 4 * k) * 0.025
        out = {"lfp": rng.normal(size=(4, 3)), "lfp_population": rng.normal(size=(4, 2, 3)),
               "spike_time": np.sort(rng.uniform(0, 1, k)),
               "spike_gid": rng.integers(0, 9, k).astype(np.int64)}
        w.append(t, out)
        chunks.append((t, out))
    w.close()
    ds = signals.open_run(tmp_path / "r.nc")
    assert_array_equal(ds["time"].values, np.concatenate([c[0] for c in chunks]))
    for name in specs:
        assert_array_equal(ds[name].values, np.concatenate([c[1][name] for c in chunks]))
        assert ds[name].dims == specs[name].dims
        assert ds[name].attrs["units"] == specs[name].units
        assert ds[name].attrs["long_name"] == specs[name].long_name
    assert ds["spike_gid"].dtype == np.int64
    assert list(ds["electrode"].values) == ["a", "b", "c"]
    assert ds["electrode_z"].attrs["units"] == "um"
    assert "electrode_z" in ds["lfp"].coords
    assert ds["lfp"].attrs["sigma"] == 0.3
    assert ds.attrs["run_status"] == "complete" and ds.attrs["dt"] == 0.025
    # and back again through xarray's own writer: nothing is lost
    ds.to_netcdf(tmp_path / "copy.nc")
    again = signals.open_run(tmp_path / "copy.nc")
    for name in specs:
        assert_array_equal(again[name].values, ds[name].values)
        assert again[name].attrs["units"] == ds[name].attrs["units"]


def test_compression_is_lossless_and_validated(tmp_path):
    rng = np.random.default_rng(1)
    spec = {"lfp": VariableSpec(("time", "electrode"), "mV", "potential")}
    coords = {"electrode": (("electrode",), np.array(["a", "b"], dtype=object), {})}
    data = rng.normal(size=(50, 2))
    for level, name in ((None, "plain.nc"), (4, "zlib.nc")):
        w = RunWriter(tmp_path / name, coords=coords, variables=spec, attrs={}, chunk_len=25,
                      compression=level)
        w.append(np.arange(50) * 0.1, {"lfp": data})
        w.close()
        assert_array_equal(signals.open_run(tmp_path / name)["lfp"].values, data)
    import netCDF4

    with netCDF4.Dataset(tmp_path / "zlib.nc") as nc:
        assert nc["lfp"].filters()["zlib"] and nc["lfp"].filters()["complevel"] == 4
    with netCDF4.Dataset(tmp_path / "plain.nc") as nc:
        assert not nc["lfp"].filters()["zlib"]
    with pytest.raises(ValueError, match="zlib level"):
        RunWriter(tmp_path / "bad.nc", coords=coords, variables=spec, attrs={}, chunk_len=25,
                  compression=12)
