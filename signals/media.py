"""Volume conductors other than the infinite homogeneous medium, for :class:`~signals.recorders.LFP`.

- An anisotropic medium is given to the LFP as ``sigma=(σx, σy, σz)`` (S/m).
- :class:`Slice`: an in vitro slice on a microelectrode array, solved by the method of images
  (LFPykit's ``RecMEAElectrode``; Ness et al. 2015, Neuroinformatics 13:403).
"""

from __future__ import annotations

from dataclasses import dataclass

from signals.validation import check_positive, ensure_int

__all__ = ["Slice"]


@dataclass(frozen=True)
class Slice:
    """A tissue slice of ``thickness`` µm lying on an MEA, under saline.

    The MEA plane is ``z = bottom`` (µm); the tissue fills ``bottom < z < bottom + thickness``
    and the saline bath lies above. Every current source must be inside the tissue.

    Parameters
    ----------
    thickness : float > 0
        Slice thickness (µm).
    sigma_tissue, sigma_saline : float > 0
        Conductivities (S/m) of the tissue and the saline bath.
    sigma_glass : float >= 0
        Conductivity (S/m) of the MEA plate; 0 (non-conducting glass, the usual case) is
        required by the line-source and root-as-point methods.
    bottom : float
        z of the MEA plane (µm); LFPykit's ``z_shift``.
    squeeze : float in (0, 1), optional
        Cells that cross a slice boundary are compressed along z about their root (soma)
        segment by this factor (LFPykit's ``squeeze_cell_factor``) for the potentials only; the
        simulation is unchanged. A warning says how many segments of how many cells moved.
        None: such cells are an error.
    steps : int >= 1
        Terms of the image series.
    """

    thickness: float = 300.0
    sigma_tissue: float = 0.3
    sigma_saline: float = 1.5
    sigma_glass: float = 0.0
    bottom: float = 0.0
    squeeze: float | None = None
    steps: int = 20

    def __post_init__(self) -> None:
        check_positive(self.thickness, "Slice thickness (µm)")
        check_positive(self.sigma_tissue, "Slice sigma_tissue (S/m)")
        check_positive(self.sigma_saline, "Slice sigma_saline (S/m)")
        if not float(self.sigma_glass) >= 0:
            raise ValueError(f"Slice sigma_glass must be >= 0 S/m, got {self.sigma_glass!r}")
        if self.squeeze is not None and not 0 < float(self.squeeze) < 1:
            raise ValueError(f"Slice squeeze must be in (0, 1) or None, got {self.squeeze!r}")
        ensure_int(self.steps, "Slice steps (terms of the image series)", minimum=1)
