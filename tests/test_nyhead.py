"""The NY Head path on a small file in the layout of ``sa_nyhead.mat``, written here.

The real file is 710 MB and never downloaded; this one has a handful of cortex vertices and
electrodes with a lead field made up here, so the expected EEG is computed independently: the
network's dipole rotated from +z onto the cortical normal at the vertex LFPykit picks (by name
or by position), times the lead field there.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import signals
from signals.head import NYHead
from signals.recorders import EEG, Dipole

N_VERTICES, N_ELECTRODES = 6, 5
#: LFPykit's named location "motorsensory_cortex" (mm, NY Head coordinates)
MOTOR = np.array([18.0, 8.0, 71.0])


def _write_nyhead(path, rng):
    """sa/cortex75K/{vc, V_fem, V_fem_normal, normals} and sa/locs_3D as LFPykit reads them."""
    import h5py

    vc = rng.uniform(-60, 60, (3, N_VERTICES))
    vc[:, 2] = MOTOR  # the vertex nearest the named location
    vc[:, 4] = [-30.0, 40.0, 20.0]
    normals = rng.normal(size=(3, N_VERTICES))
    normals /= np.linalg.norm(normals, axis=0)
    # (component, vertex, electrode), as h5py reads the MATLAB v7.3 file (transposed)
    lead = rng.normal(size=(3, N_VERTICES, N_ELECTRODES))
    with h5py.File(path, "w") as f:
        sa = f.create_group("sa")
        cortex = sa.create_group("cortex75K")
        cortex["vc"] = vc
        cortex["V_fem"] = lead
        cortex["V_fem_normal"] = np.einsum("kve,kv->ve", lead, normals)
        cortex["normals"] = normals
        sa["locs_3D"] = np.vstack([rng.uniform(-90, 90, (3, N_ELECTRODES)),
                                   np.zeros((3, N_ELECTRODES))])
    return vc, normals, lead


def _rotation_z_to(n: np.ndarray) -> np.ndarray:
    """Rotation taking +z to the unit vector n (axis-angle, written out)."""
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(z, n)
    s, c = np.linalg.norm(axis), float(z @ n)
    if s < 1e-12:
        return np.eye(3)
    k = axis / s
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * K + (1 - c) * K @ K


@pytest.mark.parametrize("location, vertex", [("motorsensory_cortex", 2),
                                               ((-29.0, 41.0, 19.0), 4)])
def test_nyhead_eeg_is_the_lead_field_of_the_rotated_dipole(ball_and_stick, tmp_path, location,
                                                             vertex):
    vc, normals, lead = _write_nyhead(tmp_path / "sa_nyhead.mat", np.random.default_rng(3))
    table = signals.network.from_neuron([ball_and_stick()])
    head = NYHead(tmp_path / "sa_nyhead.mat", location=location)
    signals.record(table, [EEG(head), Dipole(per_population=False)], tstop=12,
                   path=tmp_path / "e.nc", progress=False)
    ds = signals.open_run(tmp_path / "e.nc")
    p = ds["dipole"].values  # (time, 3) nA µm, the origin does not matter (Kirchhoff)
    assert np.abs(p).max() > 1.0
    rotated = p @ _rotation_z_to(normals[:, vertex]).T
    expected = rotated @ lead[:, vertex, :] * 1e-9  # LFPykit's lead-field scaling to mV
    assert ds.sizes["eeg_sensor"] == N_ELECTRODES
    assert_allclose(ds["eeg"].values, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    assert ds["eeg"].attrs["head_location"] == str(location)
    # sensor positions in µm, from the file's mm
    with signals.open_run(tmp_path / "e.nc") as again:
        assert np.abs(again["eeg_sensor_x"].values).max() > 1000


def test_nyhead_file_in_the_wrong_layout_is_named(tmp_path, ball_and_stick):
    import h5py

    with h5py.File(tmp_path / "sa_nyhead.mat", "w") as f:
        f.create_group("sa")
    table = signals.network.from_neuron([ball_and_stick()])
    with pytest.raises(ValueError, match="cannot be read as sa_nyhead.mat"):
        signals.record(table, [EEG(NYHead(tmp_path / "sa_nyhead.mat"))], tstop=1,
                       path=tmp_path / "x.nc", progress=False)
