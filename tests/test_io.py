"""Imports (NetPyNE, SONATA/BMTK) and exports (neo, NWB, MNE) of run files.

The NetPyNE run is made and saved by NetPyNE itself in a subprocess (``tests/_netpyne_save.py``):
NetPyNE keeps a module-global ``sim``, so building it here would leak into other tests.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import signals
from signals.io import convert, from_netpyne, from_sonata, to_mne, to_neo, to_nwb
from signals.recorders import EEG, LFP, MEG, Dipole, Spikes, Traces

HELPER = Path(__file__).with_name("_netpyne_save.py")


# -- NetPyNE -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def netpyne_saved(tmp_path_factory):
    """NetPyNE's saved files, its own allSimData (npz) and signals' live run of the same run."""
    pytest.importorskip("netpyne")
    out = tmp_path_factory.mktemp("netpyne_save")
    proc = subprocess.run([sys.executable, str(HELPER), str(out)], cwd=out, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"NetPyNE run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    with np.load(out / "reference.npz") as data:
        ref = {k: data[k] for k in data.files}
    return out, ref


def test_from_netpyne_json_equals_netpyne_simdata(netpyne_saved, tmp_path):
    """JSON saved by NetPyNE -> from_netpyne: NetPyNE's own allSimData values, exactly."""
    out, ref = netpyne_saved
    ds = from_netpyne(out / "netpyne_data.json", out=tmp_path / "np.nc")
    try:
        assert ds.attrs["signals_format"] == "signals-run" and ds.attrs["run_status"] == "complete"
        assert ds.attrs["source_format"] == "netpyne" and ds.attrs["record_dt"] == 0.025
        # spikes: NetPyNE's spkt/spkid, stored sorted by (time, gid) like a live run
        spkt, spkid = ref["spkt"], ref["spkid"].astype(np.int64)
        assert spkt.size >= 10
        order = np.lexsort([spkid, spkt])
        assert_array_equal(ds["spike_time"].values, spkt[order])
        assert_array_equal(ds["spike_gid"].values, spkid[order])
        assert ds["spike_time"].attrs["units"] == "ms"
        # LFP (mV): NetPyNE's rows are its samples at t = recordStep, 2 recordStep, ...
        assert ds["lfp"].attrs["units"] == "mV" and ds["lfp"].dims == ("time", "electrode")
        assert np.abs(ref["lfp"]).max() > 1e-3
        assert_array_equal(ds["lfp"].values[1:], ref["lfp"])
        assert_array_equal(ds["lfp"].values[0], 0.0)
        assert_array_equal(ds["lfp_population"].sel(population="E").values[1:], ref["lfp_E"])
        assert_array_equal(ds["dipole"].values[1:], ref["dipole"])
        assert ds["dipole"].attrs["units"] == "nA um"
        assert_array_equal(ds["dipole_population"].sel(population="I").values[1:], ref["dipole_I"])
        for gid in range(10):
            assert_array_equal(ds["v"].sel(v_cell=gid).values, ref[f"V_soma/cell_{gid}"])
        assert ds["v"].attrs["units"] == "mV"
        # time axis from the step count; NetPyNE's recorded h.t agrees to its round-off
        assert_allclose(ds["time"].values, ref["t"], rtol=0, atol=1e-9)
        # electrodes in NEURON's coordinates: NetPyNE's contact [x, y, z] is (x, -y, z)
        from _netpyne_run import NETPYNE_ELECTRODES

        el = np.array(NETPYNE_ELECTRODES, dtype=float)
        assert_array_equal(np.column_stack([ds[f"electrode_{a}"].values for a in "xyz"]),
                           el * [1, -1, 1])
        assert ds.sizes["cell"] == 10 and ds.sizes["connection"] == int(ref["n_conns"])
        assert set(ds["connection_synapse"].values) == {"ExpSyn"}
        assert (ds["connection_pre"].values == -1).sum() == 10  # one NetStim per cell
    finally:
        ds.close()
    # the file is a valid run for open_run
    with signals.open_run(tmp_path / "np.nc") as again:
        assert again.sizes["time"] == ref["t"].size


def test_from_netpyne_means_what_live_recording_means(netpyne_saved):
    """Units, electrode flip, dipole frame and cell positions: equal to signals' live run.

    signals recorded LFP at (x, -y, z), Dipole() and the cell table in the same run. NetPyNE
    files some samples one row early (its floor(h.t / recordStep)); the logged call times
    say where each went, as in test_netpyne.py.
    """
    out, ref = netpyne_saved
    ds = from_netpyne(out / "netpyne_data.json")
    with signals.open_run(out / "live.nc") as live:
        t = live["time"].values
        for name, key in (("lfp", "lfp_call_times"), ("dipole", "dipole_call_times")):
            calls = ref[key]
            k = np.round(calls / (t[1] - t[0])).astype(int)
            rows = np.floor(calls / 0.025).astype(int) - 1
            expected = np.zeros((ds.sizes["time"] - 1, live[name].shape[1]))
            np.add.at(expected, rows, live[name].values[k])
            got = ds[name].values[1:]
            # Same formula (line source / LFPykit dipole) on the same currents and geometry:
            # measured 1.6e-15 of the peak; a unit, flip or frame error is >= 1e-2.
            assert np.abs(got - expected).max() <= 1e-11 * np.abs(got).max(), name
        for axis in "xyz":
            assert_allclose(ds[f"cell_{axis}"].values, live[f"cell_{axis}"].values, rtol=0, atol=1e-9)
        assert_array_equal(ds["cell_population"].values, live["cell_population"].values)


def test_imported_run_works_with_analysis_and_plots(netpyne_saved):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from signals.analysis.spectral import psd
    from signals.plots import plot_lfp, plot_raster

    out, _ = netpyne_saved
    ds = from_netpyne(out / "netpyne_data.json")
    power = psd(ds["lfp"])
    assert np.all(np.isfinite(power.values)) and power.values.max() > 0
    for fig in (plot_raster(ds), plot_lfp(ds)):
        assert fig.axes
        plt.close(fig)


def test_netpyne_pickle_only_with_allow_pickle(netpyne_saved, tmp_path):
    out, _ = netpyne_saved
    pkl = out / "netpyne_data.pkl"
    with pytest.raises(ValueError, match="pickle.*allow_pickle"):
        from_netpyne(pkl)
    # told by content, not by name: a pickle named .json is refused too
    disguised = tmp_path / "data.json"
    disguised.write_bytes(pkl.read_bytes())
    with pytest.raises(ValueError, match="unpickling runs code"):
        from_netpyne(disguised)
    with pytest.raises(ValueError, match="allow_pickle"):
        convert(pkl, tmp_path / "x.nc")
    from_pickle = from_netpyne(pkl, allow_pickle=True)
    from_json = from_netpyne(out / "netpyne_data.json")
    for name in ("lfp", "dipole", "v", "spike_time", "spike_gid", "cell_x", "connection_pre"):
        assert_array_equal(from_pickle[name].values, from_json[name].values)


def test_netpyne_bad_input(netpyne_saved, tmp_path):
    out, _ = netpyne_saved
    text = (out / "netpyne_data.json").read_text()
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="truncated"):
        from_netpyne(truncated)
    other = tmp_path / "other.json"  # JSON of another tool
    other.write_text(json.dumps({"cells": [], "tstop": 100}))
    with pytest.raises(ValueError, match="not NetPyNE saved output"):
        from_netpyne(other)
    with pytest.raises(ValueError, match="not NetPyNE output.*open_run"):
        from_netpyne(out / "live.nc")  # a signals run file
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        from_netpyne(empty)
    with pytest.raises(FileNotFoundError):
        from_netpyne(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="not a readable pickle"):
        bad = tmp_path / "bad.pkl"
        bad.write_bytes(pickle.dumps({"simData": {}})[:-5])
        from_netpyne(bad, allow_pickle=True)


def test_convert_netpyne_json_to_run_file(netpyne_saved, tmp_path):
    out, ref = netpyne_saved
    dst = convert(out / "netpyne_data.json", tmp_path / "converted.nc")
    with signals.open_run(dst) as ds:
        assert_array_equal(ds["lfp"].values[1:], ref["lfp"])
    with pytest.raises(ValueError, match="unknown output type"):
        convert(out / "netpyne_data.json", tmp_path / "x.csv")


# -- SONATA / BMTK -------------------------------------------------------------------------------


def _write_bmtk_ecp(path, data, *, t_start=0.0, dt=0.1, layout="time_channel"):
    """An ecp.h5 laid out as BMTK's EcpMod writes it (bmtk/simulator/bionet/modules/ecp.py)."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f.attrs["magic"] = np.uint32(0x0A7A)
        f.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        f.create_dataset("/ecp/data", data=data if layout == "time_channel" else data.T)
        f["/ecp/data"].attrs["units"] = "mV"
        f.create_dataset("/ecp/time", data=(t_start, t_start + data.shape[0] * dt, dt))
        f["/ecp/time"].attrs["units"] = "ms"
        f.create_dataset("/ecp/channel_id", data=np.arange(data.shape[1]))


def _write_sonata_spikes(path, populations):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        for pop, (ids, times) in populations.items():
            f.create_dataset(f"/spikes/{pop}/node_ids", data=np.asarray(ids, dtype=np.int64))
            f.create_dataset(f"/spikes/{pop}/timestamps", data=np.asarray(times, dtype=float))
            f[f"/spikes/{pop}/timestamps"].attrs["units"] = "ms"
            f[f"/spikes/{pop}"].attrs["sorting"] = "none"


@pytest.mark.parametrize("layout", ["time_channel", "channel_time"])
def test_from_sonata_ecp_either_layout(tmp_path, layout):
    rng = np.random.default_rng(0)
    data = rng.normal(scale=0.01, size=(250, 6))  # (time, channel) mV
    _write_bmtk_ecp(tmp_path / "ecp.h5", data, t_start=0.0, dt=0.1, layout=layout)
    (tmp_path / "electrodes.csv").write_text(
        "channel x_pos y_pos z_pos\n" + "".join(f"{c} {10.0 * c} {-5.0 * c} {100.0 - c}\n" for c in range(6)))
    ds = from_sonata(ecp=tmp_path / "ecp.h5", electrodes=tmp_path / "electrodes.csv",
                     out=tmp_path / "ecp.nc")
    try:
        assert_array_equal(ds["lfp"].values, data)
        assert ds["lfp"].attrs["units"] == "mV" and ds["lfp"].attrs["source_layout"] == layout
        assert_allclose(ds["time"].values, np.arange(250) * 0.1, rtol=0, atol=1e-12)
        assert_array_equal(ds["electrode_x"].values, 10.0 * np.arange(6))
        assert_array_equal(ds["electrode_y"].values, -5.0 * np.arange(6))
        assert ds.attrs["record_dt"] == 0.1
    finally:
        ds.close()


def test_from_sonata_spikes_and_nodes(tmp_path):
    h5py = pytest.importorskip("h5py")
    # two populations whose node ids overlap: gids are offset per population
    _write_sonata_spikes(tmp_path / "spikes.h5", {"V1": ([0, 2, 0], [5.0, 1.5, 9.0]),
                                                  "LGN": ([1, 0], [2.0, 3.0])})
    with h5py.File(tmp_path / "nodes.h5", "w") as f:
        for pop, n in (("V1", 3), ("LGN", 2)):
            f.create_dataset(f"/nodes/{pop}/node_id", data=np.arange(n))
            f.create_dataset(f"/nodes/{pop}/node_group_id", data=np.zeros(n, dtype=int))
            f.create_dataset(f"/nodes/{pop}/node_group_index", data=np.arange(n))
            for k, a in enumerate("xyz"):
                f.create_dataset(f"/nodes/{pop}/0/{a}", data=np.arange(n) * 10.0 + k)
    ds = from_sonata(tmp_path / "spikes.h5", nodes=tmp_path / "nodes.h5", tstop=20.0)
    assert ds.attrs["tstop"] == 20.0
    # populations in the nodes file's order (HDF5 lists groups by name): LGN 0-1, V1 2-4
    assert_array_equal(ds["cell"].values, [0, 1, 2, 3, 4])
    assert_array_equal(ds["cell_node_id"].values, [0, 1, 0, 1, 2])
    assert_array_equal(ds["cell_population"].values, ["LGN", "LGN", "V1", "V1", "V1"])
    assert_array_equal(ds["cell_y"].values, [1.0, 11.0, 1.0, 11.0, 21.0])
    assert_array_equal(ds["spike_time"].values, [1.5, 2.0, 3.0, 5.0, 9.0])
    assert_array_equal(ds["spike_gid"].values, [4, 1, 0, 2, 2])
    assert json.loads(ds.attrs["gid_offsets"]) == {"LGN": 0, "V1": 2}


def test_from_sonata_unknown_positions_are_nan_and_marked(tmp_path):
    """Without a nodes file or electrode file the positions are NaN, marked ``missing``, and
    the run file opens (open_run refuses unmarked non-finite coordinates)."""
    _write_sonata_spikes(tmp_path / "spikes.h5", {"E": ([2, 0], [1.0, 4.0])})
    ds = from_sonata(tmp_path / "spikes.h5", out=tmp_path / "spikes.nc")
    try:
        assert_array_equal(ds["cell"].values, [0, 2])
        assert np.isnan(ds["cell_x"].values).all() and "not known" in ds["cell_x"].attrs["missing"]
        assert_array_equal(ds["spike_gid"].values, [2, 0])
    finally:
        ds.close()
    _write_bmtk_ecp(tmp_path / "ecp.h5", np.zeros((20, 3)))
    dst = convert(tmp_path / "ecp.h5", tmp_path / "ecp.nc")
    with signals.open_run(dst) as ds:
        assert np.isnan(ds["electrode_z"].values).all() and "missing" in ds["electrode_z"].attrs
        assert ds.sizes["time"] == 20


def test_readers_guess_each_format(tmp_path):
    """convert's format guess goes through the readers' guess_can_open, in order."""
    from signals.io import guess_reader, list_readers

    assert list(list_readers()) == ["netpyne", "sonata", "ecp", "signals"]
    _write_sonata_spikes(tmp_path / "spikes.h5", {"E": ([0], [1.0])})
    _write_bmtk_ecp(tmp_path / "ecp.h5", np.zeros((4, 2)))
    (tmp_path / "np.json").write_text(json.dumps({"simData": {}}))
    (tmp_path / "np.pkl").write_bytes(pickle.dumps({"simData": {}}))
    run = convert(tmp_path / "spikes.h5", tmp_path / "run.nc")
    (tmp_path / "other.txt").write_text("hello")
    for name, kind in (("spikes.h5", "sonata"), ("ecp.h5", "ecp"), ("np.json", "netpyne"),
                       ("np.pkl", "netpyne"), ("run.nc", "signals")):
        assert guess_reader(tmp_path / name).name == kind, name
    assert guess_reader(run).name == "signals"
    with pytest.raises(ValueError, match="cannot tell the format.*other.txt.*netpyne"):
        guess_reader(tmp_path / "other.txt")
    with pytest.raises(ValueError, match="unknown input format 'csv'"):
        convert(tmp_path / "spikes.h5", tmp_path / "x.nc", fmt="csv")


def test_a_reader_failing_while_guessing_warns_and_is_skipped(tmp_path, monkeypatch):
    import signals.io.readers as readers

    class Broken(readers.Reader):
        name = "broken"

        def guess_can_open(self, path):
            raise RuntimeError("boom")

    table = {"broken": Broken(), **readers.list_readers()}
    monkeypatch.setattr(readers, "list_readers", lambda: table)
    (tmp_path / "np.json").write_text(json.dumps({"simData": {}}))
    with pytest.warns(UserWarning, match="'broken' failed while guessing.*boom"):
        assert readers.guess_reader(tmp_path / "np.json").name == "netpyne"


@pytest.mark.parametrize("text", [
    "channel x_pos y_pos z_pos\n1 4 5 6\n0 1 2 3\n",
    "channel\tx_pos\ty_pos\tz_pos\n1\t4\t5\t6\n0\t1\t2\t3\n",
    "channel, x_pos, y_pos, z_pos\r\n1, 4, 5, 6\r\n\r\n0, 1, 2, 3\r\n",
    "\ufeffchannel,x_pos,y_pos,z_pos\n1,4,5,6\n0,1,2,3\n",  # byte-order mark
    '"channel","x_pos","y_pos","z_pos"\n1,4,5,6\n0,1,2,3\n',  # quoted names
    ",channel,x_pos,y_pos,z_pos\n0,1,4,5,6\n1,0,1,2,3\n",  # pandas' index column
], ids=["spaces", "tabs", "comma-space-crlf", "bom", "quoted", "index-column"])
def test_bmtk_electrode_files_as_written(tmp_path, text):
    """Electrode tables as tools write them; the channel column orders the rows."""
    _write_bmtk_ecp(tmp_path / "ecp.h5", np.zeros((5, 2)))
    (tmp_path / "el.csv").write_text(text, newline="")
    ds = from_sonata(ecp=tmp_path / "ecp.h5", electrodes=tmp_path / "el.csv")
    assert_array_equal(np.column_stack([ds[f"electrode_{a}"].values for a in "xyz"]),
                       [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "short.csv").write_text("channel x_pos y_pos z_pos\n0 1 2 3\n1 4 5\n")
    with pytest.raises(ValueError, match="every row must have the 4 columns"):
        from_sonata(ecp=tmp_path / "ecp.h5", electrodes=tmp_path / "short.csv")


@pytest.mark.parametrize("units, factor", [("ms", 1.0), ("millisecond", 1.0), ("s", 1e3),
                                           ("second", 1e3), (b"sec", 1e3)])
def test_sonata_spike_time_units(tmp_path, units, factor):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "spikes.h5", "w") as f:
        f.create_dataset("/spikes/E/node_ids", data=np.array([0, 1]))
        f.create_dataset("/spikes/E/timestamps", data=np.array([0.5, 1.5]))
        f["/spikes/E/timestamps"].attrs["units"] = units
    assert_allclose(from_sonata(tmp_path / "spikes.h5")["spike_time"].values,
                    np.array([0.5, 1.5]) * factor, rtol=1e-15)


@pytest.mark.parametrize("units, factor", [("mV", 1.0), ("uV", 1e-3), ("µV", 1e-3),
                                           ("microvolt", 1e-3), ("V", 1e3)])
def test_ecp_voltage_units(tmp_path, units, factor):
    h5py = pytest.importorskip("h5py")
    data = np.arange(8.0).reshape(4, 2)
    _write_bmtk_ecp(tmp_path / "ecp.h5", data)
    with h5py.File(tmp_path / "ecp.h5", "a") as f:
        f["/ecp/data"].attrs["units"] = units
    assert_allclose(from_sonata(ecp=tmp_path / "ecp.h5")["lfp"].values, data * factor, rtol=1e-15)
    with h5py.File(tmp_path / "ecp.h5", "a") as f:
        f["/ecp/data"].attrs["units"] = "furlong"
    with pytest.raises(ValueError, match="ECP units 'furlong' not understood"):
        from_sonata(ecp=tmp_path / "ecp.h5")


def test_from_sonata_spikes_written_by_bmtk(tmp_path):
    pytest.importorskip("bmtk")
    from bmtk.utils.reports.spike_trains import SpikeTrains

    trains = SpikeTrains(population="cortex")
    trains.add_spikes(node_ids=[3, 0, 3], timestamps=[7.25, 1.5, 2.0])
    trains.to_sonata(str(tmp_path / "spikes.h5"))
    ds = from_sonata(tmp_path / "spikes.h5")
    assert_array_equal(ds["spike_time"].values, [1.5, 2.0, 7.25])
    assert_array_equal(ds["spike_gid"].values, [0, 3, 3])
    assert_array_equal(ds["cell_population"].values, ["cortex", "cortex"])


def test_from_sonata_bad_input(tmp_path):
    pytest.importorskip("h5py")
    _write_bmtk_ecp(tmp_path / "ecp.h5", np.zeros((10, 2)))
    with pytest.raises(ValueError, match="no /spikes group"):
        from_sonata(tmp_path / "ecp.h5")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        from_sonata(ecp=tmp_path / "x.json")
    _write_sonata_spikes(tmp_path / "spikes.h5", {"V1": ([0], [1.0])})
    with pytest.raises(ValueError, match="not a BMTK ECP file"):
        from_sonata(ecp=tmp_path / "spikes.h5")
    with pytest.raises(FileNotFoundError):
        from_sonata(tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="give a SONATA spike file"):
        from_sonata()
    (tmp_path / "el.csv").write_text("a b c\n1 2 3\n")
    with pytest.raises(ValueError, match="x_pos y_pos z_pos"):
        from_sonata(ecp=tmp_path / "ecp.h5", electrodes=tmp_path / "el.csv")


# -- exports -------------------------------------------------------------------------------------


@pytest.fixture
def live_run(ball_and_stick, tmp_path):
    cells = [ball_and_stick(0, (0, 0, 0), population="E"),
             ball_and_stick(1, (60, 20, 0), population="I", start=5)]
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=25, y=5, z=np.linspace(-100, 500, 4))
    signals.record(table, [LFP(probe), Dipole(), EEG(), MEG([[0, 0, 100000.0]]), Spikes(),
                           Traces([0, 1])], tstop=15, path=tmp_path / "run.nc", progress=False)
    ds = signals.open_run(tmp_path / "run.nc")
    yield ds
    ds.close()


def test_neo_export_reopens_with_nixio(live_run, tmp_path):
    pytest.importorskip("nixio")
    import quantities as pq
    from neo.io import NixIO

    ds = live_run
    with NixIO(str(tmp_path / "run.nix"), mode="ow") as io:
        io.write_block(to_neo(ds))
    with NixIO(str(tmp_path / "run.nix"), mode="ro") as io:
        block = io.read_block()
    signals_by_name = {s.name: s for s in block.segments[0].analogsignals}
    assert set(signals_by_name) == {"lfp", "dipole", "dipole_population", "eeg", "meg", "v"}
    units = {"lfp": pq.mV, "dipole": pq.nA * pq.um, "eeg": pq.mV, "v": pq.mV}
    for name, unit in units.items():
        sig = signals_by_name[name]
        assert sig.units == pq.Quantity(1.0, unit).units, name
        assert_array_equal(sig.magnitude, ds[name].values)
        assert float(sig.sampling_period.rescale(pq.ms)) == ds.attrs["record_dt"]
    meg = signals_by_name["meg"]  # (time, sensor, component) flattened to channels, fT
    assert_array_equal(meg.magnitude, ds["meg"].values.reshape(ds.sizes["time"], -1))
    assert float((1.0 * meg.units).rescale(pq.T)) == pytest.approx(1e-15, rel=1e-12)
    assert_array_equal(meg.array_annotations["component"], ["x", "y", "z"])
    assert_array_equal(signals_by_name["lfp"].array_annotations["electrode_z_um"],
                       ds["electrode_z"].values)
    trains = {int(st.annotations["gid"]): st for st in block.segments[0].spiketrains}
    assert set(trains) == {0, 1}
    for gid, st in trains.items():
        assert st.units == pq.ms
        assert_array_equal(st.magnitude, ds["spike_time"].values[ds["spike_gid"].values == gid])


def test_nwb_export_reopens_with_pynwb(live_run, tmp_path):
    pynwb = pytest.importorskip("pynwb")
    ds = live_run
    to_nwb(ds, tmp_path / "run.nwb")
    with pynwb.NWBHDF5IO(str(tmp_path / "run.nwb"), "r") as io:
        nwb = io.read()
        lfp = nwb.acquisition["lfp"]
        assert type(lfp).__name__ == "ElectricalSeries"
        assert lfp.unit == "volts" and lfp.conversion == 1e-3  # stored in mV, as recorded
        assert_array_equal(lfp.data[:], ds["lfp"].values)
        assert lfp.rate == pytest.approx(1000.0 / ds.attrs["record_dt"], rel=1e-12)
        table = lfp.electrodes.to_dataframe()
        assert_array_equal(table["rel_z"].values, ds["electrode_z"].values)
        assert list(table["label"]) == list(ds["electrode"].values)
        eeg = nwb.acquisition["eeg"]
        assert_array_equal(eeg.data[:], ds["eeg"].values)
        assert list(eeg.electrodes.to_dataframe()["group_name"].unique()) == ["eeg_sensor"]
        dip = nwb.acquisition["dipole"]
        assert dip.unit == "A m" and dip.conversion == 1e-15  # nA µm = 1e-15 A m
        assert_array_equal(dip.data[:], ds["dipole"].values)
        units = nwb.units.to_dataframe()
        for gid in (0, 1):
            # NWB spike times are in seconds: ms × 1e-3 (one rounding)
            assert_allclose(np.asarray(units.loc[gid, "spike_times"]) * 1e3,
                            ds["spike_time"].values[ds["spike_gid"].values == gid], rtol=1e-15)


def test_nwb_export_passes_nwbinspector(live_run, tmp_path):
    """No CRITICAL or BEST_PRACTICE_VIOLATION message (DANDI's bar): a subject (unknown sex,
    age and species, or the model's), the units' resolution, a timezone-aware start."""
    pytest.importorskip("pynwb")
    nwbinspector = pytest.importorskip("nwbinspector")
    import pynwb

    bad = {"CRITICAL", "BEST_PRACTICE_VIOLATION"}
    for subject, location in ((None, "simulated network"),
                              ({"species": "Mus musculus", "age": "P8W"}, "VISp")):
        path = to_nwb(live_run, tmp_path / "run.nwb", subject=subject, location=location)
        messages = list(nwbinspector.inspect_nwbfile(nwbfile_path=str(path)))
        assert not [f"{m.importance.name}: {m.message}" for m in messages if m.importance.name in bad]
        with pynwb.NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            assert nwb.session_start_time.tzinfo is not None
            assert nwb.units.resolution == pytest.approx(live_run.attrs["dt"] * 1e-3, rel=1e-12)
            assert nwb.subject.sex == "U"
            assert nwb.subject.species == ("Mus musculus" if subject else
                                           "http://purl.obolibrary.org/obo/NCBITaxon_32644")


def test_mne_export_of_lfp(live_run):
    raw = to_mne(live_run, "lfp")
    assert raw.get_channel_types() == ["seeg"] * 4
    assert_allclose(raw.get_data(), live_run["lfp"].values.T * 1e-3, rtol=1e-15)
    with pytest.raises(ValueError, match="expected .'time', 'dipole_sensor'"):
        to_mne(live_run, "dipole")
    with pytest.raises(KeyError, match="no variable"):
        to_mne(live_run, "csd")


def test_convert_run_file_to_nwb_and_nix(live_run, tmp_path):
    pytest.importorskip("pynwb")
    pytest.importorskip("nixio")
    src = live_run.encoding["source"]
    assert convert(src, tmp_path / "x.nwb").exists()
    assert convert(src, tmp_path / "x.nix").exists()
    with pytest.raises(ValueError, match="already a signals run"):
        convert(src, tmp_path / "y.nc")
