"""Ground truth for spike sorting: a run as a SpikeInterface recording and sorting."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import signals
from signals.electrodes import probe
from signals.io import to_spikeinterface
from signals.recorders import LFP, Spikes

si = pytest.importorskip("spikeinterface.core")


@pytest.fixture
def npx_run(ball_and_stick, tmp_path):
    """Three cells next to a Neuropixels probe, sampled at 20 kHz; cell 2 never spikes."""
    cells = [ball_and_stick(0, (0, 0, 0), population="E"),
             ball_and_stick(1, (40, 30, 50), population="E", start=4),
             ball_and_stick(2, (-50, 0, 0), population="I", weight=0.0)]
    table = signals.network.from_neuron(cells)
    e = probe("Neuropixels-64", position=(20, 0, 200))
    signals.record(table, [LFP(e), Spikes()], tstop=25, record_dt=0.05, path=tmp_path / "run.nc",
                   progress=False)
    ds = signals.open_run(tmp_path / "run.nc")
    yield ds, e
    ds.close()


def test_recording_and_sorting_read_back_through_spikeinterface(npx_run):
    ds, e = npx_run
    recording, sorting = to_spikeinterface(ds)
    assert recording.get_sampling_frequency() == pytest.approx(20_000.0, rel=1e-12)
    assert sorting.get_sampling_frequency() == recording.get_sampling_frequency()
    assert recording.get_num_samples() == ds.sizes["time"]
    assert list(recording.get_channel_ids()) == list(ds["electrode"].values)
    traces = recording.get_traces()  # µV
    assert traces.dtype == np.float32
    assert_allclose(traces, ds["lfp"].values * 1000.0, rtol=1e-6, atol=1e-6 * np.abs(traces).max())
    assert_array_equal(recording.get_traces(return_in_uV=True), traces)
    assert np.abs(traces).max() > 1.0  # spikes next to the probe: µV-sized
    # the probe: positions, shapes and channel map
    pr = recording.get_probe()
    assert pr.ndim == 3
    assert_allclose(pr.contact_positions, e.positions, atol=1e-12)
    assert_allclose(recording.get_channel_locations(axes="xyz"), e.positions, atol=1e-12)
    assert set(pr.contact_shapes) == {"square"}
    assert {p["width"] for p in pr.contact_shape_params} == {12.0}
    assert_array_equal(pr.contact_ids, e.names)
    flat = recording.planarize("yz")  # the 2-D probe sorters take
    assert_allclose(flat.get_channel_locations(), e.positions[:, 1:], atol=1e-12)
    # the sorting: unit ids = gids, frames at the recording's rate
    assert list(sorting.get_unit_ids()) == [0, 1, 2]
    assert list(sorting.get_property("population")) == ["E", "E", "I"]
    st, sg = ds["spike_time"].values, ds["spike_gid"].values
    assert st.size > 2
    for gid in (0, 1, 2):
        frames = sorting.get_unit_spike_train(gid)
        assert_array_equal(frames, np.rint(np.sort(st[sg == gid]) / 0.05).astype(int))
        assert_allclose(frames / 20_000.0, np.sort(st[sg == gid]) * 1e-3, rtol=0, atol=0.5 / 20_000)
    assert sorting.get_unit_spike_train(2).size == 0


def test_a_run_without_spikes_or_with_another_layout_is_refused(npx_run):
    ds, _ = npx_run
    with pytest.raises(KeyError, match="no spikes"):
        to_spikeinterface(ds.drop_vars(["spike_time", "spike_gid"]))
    with pytest.raises(KeyError, match="no variable"):
        to_spikeinterface(ds, "eeg")


def test_unknown_positions_give_a_recording_without_probe(npx_run):
    ds, _ = npx_run
    nan = ds.assign_coords(electrode_x=("electrode", np.full(ds.sizes["electrode"], np.nan)))
    with pytest.warns(UserWarning, match="no probe"):
        recording, sorting = to_spikeinterface(nan)
    assert not recording.has_probe()
    assert_array_equal(sorting.get_unit_spike_train(0), to_spikeinterface(ds)[1].get_unit_spike_train(0))
