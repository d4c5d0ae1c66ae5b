"""Ground-truth CSD recorders against closed forms and LFPykit, on real runs."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import signals
from signals.recorders import LaminarCSD, MembraneCurrents, VolumetricCSD


def test_laminar_csd_is_current_over_cylinder_volume(ball_and_stick, tmp_path):
    """Each cylinder's CSD is the summed current of the segment parts inside it, over π r² L;
    the soma and a dendrite piece are in known cylinders (closed form, µA/mm³)."""
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    spacing, radius = 50.0, 200.0
    probe = signals.electrodes.laminar(x=0.0, y=0.0, z=np.arange(-100.0, 601.0, spacing))
    signals.record(table, [LaminarCSD(probe, radius=radius), MembraneCurrents()], tstop=10,
                   path=tmp_path / "c.nc", progress=False)
    ds = signals.open_run(tmp_path / "c.nc")
    csd = ds["csd_true"]
    assert csd.attrs["units"] == "uA/mm3"
    assert csd.dims == ("time", "csd_true_depth")
    imem = ds["imem"].values  # nA
    volume_mm3 = np.pi * radius**2 * spacing * 1e-9
    # each segment's current, spread uniformly along it, into the cylinders it crosses
    z0, z1 = table.z[:, 0], table.z[:, 1]
    expected = np.zeros((imem.shape[0], probe.z.size))
    for k, zc in enumerate(probe.z):
        lo, hi = zc - spacing / 2, zc + spacing / 2
        frac = np.clip((np.minimum(np.maximum(z0, z1), hi) - np.maximum(np.minimum(z0, z1), lo))
                       / np.abs(z1 - z0), 0, 1)
        expected[:, k] = imem @ frac * 1e-3 / volume_mm3  # nA → µA
    assert np.abs(expected).max() > 0.05
    assert_allclose(csd.values, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    # every current is in some cylinder: the total sums to zero (no electrode current)
    assert np.abs(csd.values.sum(axis=1)).max() < 1e-9 * np.abs(csd.values).max()


def test_laminar_csd_along_y_equals_along_z_rotated(ball_and_stick, tmp_path):
    """A probe along y on a cell along y gives the CSD of the same probe along z on the cell
    along z."""
    out = []
    for direction in ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)):
        cell = ball_and_stick(direction=direction)
        table = signals.network.from_neuron([cell])
        s = np.arange(-100.0, 601.0, 100.0)
        pos = np.outer(s, direction)
        signals.record(table, [LaminarCSD(pos, radius=150.0)], tstop=8,
                       path=tmp_path / f"{direction[1]}.nc", progress=False)
        with signals.open_run(tmp_path / f"{direction[1]}.nc") as ds:
            out.append(ds["csd_true"].values)
            assert_allclose(ds["csd_true_depth"].values, s)
        del cell, table
    assert np.abs(out[0]).max() > 0.05
    assert_allclose(out[1], out[0], rtol=0, atol=1e-8 * np.abs(out[0]).max())


def test_volumetric_csd_is_current_over_box_volume(tmp_path):
    """A straight cable in one box: its whole current over the box volume (µA/mm³)."""
    from neuron import h

    sec = h.Section(name="cable")
    sec.pt3dadd(10, 10, 20, 2)
    sec.pt3dadd(10, 10, 80, 2)
    sec.nseg = 3
    sec.insert("hh")
    stim = h.IClamp(sec(0.5))
    stim.delay, stim.dur, stim.amp = 1.0, 2.0, 0.5
    table = signals.network.from_neuron([[sec]])
    edges = ([0.0, 50.0], [0.0, 50.0], [0.0, 100.0, 200.0])
    signals.record(table, [VolumetricCSD(*edges), MembraneCurrents()], tstop=6,
                   path=tmp_path / "v.nc", progress=False)
    ds = signals.open_run(tmp_path / "v.nc")
    v = ds["csd_volume"]
    assert v.dims == ("time", "csd_volume_x", "csd_volume_y", "csd_volume_z")
    box_mm3 = 50 * 50 * 100 * 1e-9
    expected = ds["imem"].values.sum(axis=1) * 1e-3 / box_mm3
    assert np.abs(expected).max() > 0.05  # the clamp current leaves through the membrane
    assert_allclose(v.values[:, 0, 0, 0], expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    assert np.all(v.values[:, 0, 0, 1] == 0)


def test_true_csd_recomputes_offline(ball_and_stick, tmp_path):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    probe = signals.electrodes.laminar(x=0.0, y=0.0, z=np.arange(-100.0, 601.0, 100.0))
    signals.record(table, [LaminarCSD(probe), MembraneCurrents()], tstop=8,
                   path=tmp_path / "a.nc", progress=False)
    out = signals.recompute(tmp_path / "a.nc", [LaminarCSD(probe)])
    with signals.open_run(tmp_path / "a.nc") as live:
        assert_allclose(out["csd_true"].values, live["csd_true"].values, rtol=1e-12,
                        atol=1e-12 * np.abs(live["csd_true"].values).max())


def test_true_csd_checks_input():
    with pytest.raises(ValueError, match="one line|distinct"):
        LaminarCSD([[0.0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="increasing"):
        VolumetricCSD([0, 0], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="> 0"):
        LaminarCSD([[0.0, 0, 0], [0, 0, 100]], radius=0)
