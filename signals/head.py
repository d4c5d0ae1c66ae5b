"""Head models, EEG sensor positions and the placement of a network inside the head.

Head coordinates are in µm with the origin at the centre of the head sphere(s), ``+z`` towards
the vertex, ``+x`` towards the right ear and ``+y`` towards the nose (MNE's "head" frame
orientation). The network keeps its own coordinates; :class:`Placement` maps them into the head:
the network centre goes to a point ``depth`` µm below the brain surface under a chosen 10-20
electrode, and the network's ``+z`` axis (towards the pial surface in signals' convention)
points radially outwards there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from signals.schema import with_units
from signals.validation import check_positive

__all__ = [
    "FourSphere", "InfiniteHead", "NYHead", "Placement", "placement", "sensors_1020",
    "CLASSIC_1020",
]

#: The 21 electrodes of the classic 10-20 system (10-10 names for T7/T8/P7/P8).
CLASSIC_1020 = ("Fp1", "Fpz", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
                "P7", "P3", "Pz", "P4", "P8", "O1", "Oz", "O2")

NYHEAD_URL = "https://www.parralab.org/nyhead/sa_nyhead.mat"


@dataclass(frozen=True)
class FourSphere:
    """Four concentric spheres: brain, CSF, skull, scalp (Næss et al. 2017, LFPykit).

    Parameters
    ----------
    radii : 4 floats
        Outer radii (µm), strictly increasing. Default 79, 80, 85 and 90 mm.
    sigmas : 4 floats
        Conductivities (S/m) of brain, CSF, skull and scalp; default 0.3, 1.5, 0.015, 0.3
        (the values of Næss et al. 2017, Front. Neuroinform. 11:8, used by LFPy/LFPykit).
    """

    radii: tuple[float, float, float, float] = (79000.0, 80000.0, 85000.0, 90000.0)
    sigmas: tuple[float, float, float, float] = (0.3, 1.5, 0.015, 0.3)

    def __post_init__(self) -> None:
        radii = np.asarray(self.radii, dtype=float)
        sigmas = np.asarray(self.sigmas, dtype=float)
        if radii.shape != (4,) or sigmas.shape != (4,):
            raise ValueError("FourSphere needs 4 radii (µm) and 4 conductivities (S/m)")
        if not np.all(np.isfinite(radii)) or radii[0] <= 0 or np.any(np.diff(radii) <= 0):
            raise ValueError(f"radii must be positive and strictly increasing (µm), got {self.radii}")
        if not np.all(np.isfinite(sigmas)) or np.any(sigmas <= 0):
            raise ValueError(f"conductivities must be > 0 (S/m), got {self.sigmas}")
        object.__setattr__(self, "radii", tuple(radii.tolist()))
        object.__setattr__(self, "sigmas", tuple(sigmas.tolist()))

    @property
    def brain_radius(self) -> float:
        """Radius of the brain sphere (µm)."""
        return self.radii[0]

    @property
    def scalp_radius(self) -> float:
        """Radius of the scalp surface (µm)."""
        return self.radii[-1]

    def check_sensors(self, sensors: np.ndarray) -> None:
        """Sensors must lie outside the brain and on or inside the scalp surface."""
        r = np.linalg.norm(sensors, axis=1)
        if np.any(r <= self.radii[0]):
            raise ValueError(f"{int(np.sum(r <= self.radii[0]))} sensor(s) inside the brain sphere "
                             f"(radius {self.radii[0]:g} µm); EEG sensors belong on the scalp")
        if np.any(r > self.radii[-1] * (1 + 1e-9)):
            raise ValueError(f"sensor(s) outside the scalp (radius {self.radii[-1]:g} µm)")

    def transfer(self, sensors: np.ndarray, location: np.ndarray) -> np.ndarray:
        """(n_sensors, 3) matrix from a dipole (nA µm) at ``location`` (µm) to potentials (mV)."""
        from lfpykit.eegmegcalc import FourSphereVolumeConductor

        self.check_sensors(sensors)
        # Sensors on the scalp: keep round-off from putting them outside it (LFPykit refuses).
        r = np.linalg.norm(sensors, axis=1, keepdims=True)
        limit = self.radii[-1] * (1 - 1e-10)
        sensors = np.where(r > limit, sensors * (limit / r), sensors)
        model = FourSphereVolumeConductor(sensors, radii=list(self.radii), sigmas=list(self.sigmas))
        return model.get_transformation_matrix(np.asarray(location, dtype=float))

    def describe(self) -> dict:
        """Attributes for the run file."""
        return {"head_model": "four concentric spheres (lfpykit.FourSphereVolumeConductor)",
                **with_units("head_radii", list(self.radii), "um"),
                **with_units("head_sigmas", list(self.sigmas), "S/m")}


@dataclass(frozen=True)
class InfiniteHead:
    """An infinite homogeneous conductor (σ in S/m); radii (µm) only place sensors and dipole.

    Parameters
    ----------
    sigma : float > 0
        Conductivity (S/m).
    brain_radius, scalp_radius : float > 0
        Where the cortex surface and the sensors are put (µm).
    """

    sigma: float = 0.3
    brain_radius: float = 79000.0
    scalp_radius: float = 90000.0

    def __post_init__(self) -> None:
        check_positive(self.sigma, "sigma (S/m)")
        check_positive(self.brain_radius, "brain_radius (µm)")
        if check_positive(self.scalp_radius, "scalp_radius (µm)") <= self.brain_radius:
            raise ValueError("scalp_radius must exceed brain_radius")

    def check_sensors(self, sensors: np.ndarray) -> None:
        """Sensors must lie outside the brain sphere."""
        if np.any(np.linalg.norm(sensors, axis=1) <= self.brain_radius):
            raise ValueError(f"sensor(s) inside the brain sphere (radius {self.brain_radius:g} µm)")

    def transfer(self, sensors: np.ndarray, location: np.ndarray) -> np.ndarray:
        """(n_sensors, 3) matrix from a dipole (nA µm) at ``location`` (µm) to potentials (mV).

        :math:`\\phi = \\mathbf p \\cdot \\mathbf R / (4 \\pi \\sigma R^3)` (LFPykit's
        ``InfiniteVolumeConductor``, whose docstring says S/cm but computes with S/m).
        """
        from lfpykit.eegmegcalc import InfiniteVolumeConductor

        self.check_sensors(sensors)
        return InfiniteVolumeConductor(sigma=self.sigma).get_transformation_matrix(
            sensors - np.asarray(location, dtype=float))

    def describe(self) -> dict:
        """Attributes for the run file."""
        return {"head_model": "infinite homogeneous conductor (lfpykit.InfiniteVolumeConductor)",
                **with_units("head_sigma", self.sigma, "S/m")}


@dataclass(frozen=True)
class NYHead:
    """The New York Head model (Huang et al. 2016) from a local ``sa_nyhead.mat``.

    signals never downloads it: get the file (710 MB) from the Parra lab and pass its path.

    Parameters
    ----------
    path : str or Path
        The ``sa_nyhead.mat`` file.
    location : 3 floats or str
        Dipole position in the NY Head's coordinates (mm), or one of LFPykit's named
        locations (e.g. ``"motorsensory_cortex"``, ``"parietal_lobe"``).
    """

    path: str | os.PathLike
    location: Sequence[float] | str = "motorsensory_cortex"
    _model: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        path = Path(self.path)
        if not path.is_file():
            raise FileNotFoundError(
                f"NY Head file not found: {str(path)!r}. Download sa_nyhead.mat (710 MB) from "
                f"{NYHEAD_URL} and pass its path; signals never downloads it at run time.")
        # sa_nyhead.mat is MATLAB v7.3, i.e. HDF5 (signature at 0 or after a 512·2^k user block)
        with open(path, "rb") as fh:
            head = fh.read(4096 + 8)
        if not any(head[k:k + 8] == b"\x89HDF\r\n\x1a\n" for k in (0, 512, 1024, 2048, 4096)):
            raise ValueError(f"NY Head file {str(path)!r} is not the MATLAB v7.3 (HDF5) file "
                             f"sa_nyhead.mat from {NYHEAD_URL}")

    def load(self):
        """LFPykit's ``NYHeadModel`` with the dipole at :attr:`location`."""
        from lfpykit.eegmegcalc import NYHeadModel

        try:
            model = NYHeadModel(nyhead_file=str(self.path))
        except (OSError, KeyError, ValueError, TypeError) as err:
            raise ValueError(f"NY Head file {str(self.path)!r} cannot be read as sa_nyhead.mat: "
                             f"{err}") from None
        model.set_dipole_pos(self.location if isinstance(self.location, str)
                             else np.asarray(self.location, dtype=float))
        return model

    def describe(self) -> dict:
        """Attributes for the run file."""
        return {"head_model": "New York Head (lfpykit.NYHeadModel)", "head_file": str(self.path),
                "head_location": str(self.location)}


@dataclass(frozen=True)
class Placement:
    """Where the network sits in the head.

    Attributes
    ----------
    location : ndarray, shape (3,)
        Head position (µm) of the network centre.
    rotation : ndarray, shape (3, 3)
        Maps network-frame vectors to head-frame vectors (``p_head = rotation @ p_net``);
        its third column is the outward radial direction at ``location``.
    """

    location: np.ndarray
    rotation: np.ndarray


def _montage_directions(names: Sequence[str]) -> np.ndarray:
    """Unit vectors of MNE's 10-20 electrodes (``standard_1020``, offline, built into MNE)."""
    import mne

    # MNE 1.13 renamed standard_1020 (deprecated) to colin27_1020: the same positions
    kind = "colin27_1020" if "colin27_1020" in mne.channels.get_builtin_montages() else "standard_1020"
    pos = mne.channels.make_standard_montage(kind).get_positions()["ch_pos"]
    unknown = [n for n in names if n not in pos]
    if unknown:
        raise ValueError(f"not 10-20 electrode names: {unknown}")
    xyz = np.array([pos[n] for n in names], dtype=float)
    return xyz / np.linalg.norm(xyz, axis=1, keepdims=True)


def sensors_1020(names: Sequence[str] = CLASSIC_1020, *, radius: float = 90000.0):
    """EEG sensors at MNE's ``standard_1020`` directions on a sphere of ``radius`` (µm).

    Returns
    -------
    names : tuple of str
    positions : ndarray, shape (n, 3)
        Head coordinates (µm).
    """
    check_positive(radius, "radius (µm)")
    names = tuple(names)
    return names, _montage_directions(names) * radius


def placement(head, *, under: str = "Cz", depth: float = 1000.0) -> Placement:
    """Put the network centre ``depth`` µm below the brain surface under electrode ``under``.

    Parameters
    ----------
    head : FourSphere or InfiniteHead
        Gives the brain radius (µm).
    under : str
        10-20 electrode name (MNE ``standard_1020``).
    depth : float > 0
        Distance of the network centre below the brain surface (µm).
    """
    check_positive(depth, "depth (µm)")
    if depth >= head.brain_radius:
        raise ValueError(f"depth {depth} µm is beyond the brain centre")
    radial = _montage_directions([under])[0]
    location = radial * (head.brain_radius - depth)
    helper = np.array([0.0, 1.0, 0.0]) if abs(radial[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(helper, radial)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(radial, e1)
    return Placement(location=location, rotation=np.column_stack([e1, e2, radial]))
