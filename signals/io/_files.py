"""What a file is, from its first bytes, and opening HDF5 files with a clear error."""

from __future__ import annotations

from pathlib import Path

_PICKLE_MAGIC = (b"\x80",)
_GZIP_MAGIC = b"\x1f\x8b"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_NETCDF3_MAGIC = b"CDF"


def sniff(path: Path) -> str:
    """``json``, ``pickle``, ``gzip``, ``hdf5``, ``netcdf3``, ``empty`` or ``unknown``, from the
    first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        if not head:
            return "empty"
        if head.startswith(_HDF5_MAGIC):
            return "hdf5"
        if head.startswith(_NETCDF3_MAGIC):
            return "netcdf3"
        if head.startswith(_GZIP_MAGIC):
            return "gzip"
        if head[:1] in _PICKLE_MAGIC:
            return "pickle"
        fh.seek(0)
        start = fh.read(4096).lstrip()
    if start[:1] in (b"{", b"["):
        return "json"
    return "unknown"


def require_h5py():
    """The h5py module, or an ImportError naming the extra to install."""
    try:
        import h5py
    except ImportError:
        raise ImportError("SONATA/BMTK files need h5py: pip install \"neuro-signals[sonata]\"") from None
    return h5py


def h5py_or_none():
    """The h5py module, or None if it is not installed."""
    try:
        import h5py
    except ImportError:
        return None
    return h5py


def open_h5(path: Path, what: str):
    """``path`` opened read-only with h5py; errors say the file is not a ``what``."""
    h5py = require_h5py()
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {str(path)!r}")
    if sniff(path) != "hdf5":
        raise ValueError(f"{str(path)!r} is not an HDF5 file: not a {what}")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{str(path)!r} is not a readable HDF5 file (truncated?): {err}") from None
