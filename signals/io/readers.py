"""Readers of other tools' files, found by asking each whether it can open a file.

Like xarray's backends (``xarray/backends/plugins.py``): every reader is a small class with a
``name``, a ``description``, ``guess_can_open(path) -> bool`` and ``open(path, ...)``.
Built-ins are listed here; third-party packages add theirs through the entry-point group
``signals.readers`` (``name = "package.module:Class"``). :func:`list_readers` lists both,
:func:`guess_reader` picks the first that can open a file, and :func:`convert` (the
``signals convert`` command) goes through them.
"""

from __future__ import annotations

import functools
import os
import warnings
from importlib.metadata import entry_points
from pathlib import Path

from signals.io._files import sniff

__all__ = ["Reader", "SignalsReader", "list_readers", "guess_reader", "convert"]

#: Output types of :func:`convert`, by suffix.
OUTPUT_SUFFIXES = (".nc", ".nwb", ".nix", ".fif")


class Reader:
    """A file format signals can read (the plugin point of :mod:`signals.io`).

    Attributes
    ----------
    name : str
        Format name (``signals convert --format NAME``).
    description : str
        One line for listings.
    """

    name: str = ""
    description: str = ""

    def guess_can_open(self, path: Path) -> bool:
        """Whether ``path`` looks like this format, from its content (cheap: a few bytes or
        HDF5 group names). Return False when unsure; never raise for a foreign file."""
        return False

    def open(self, path: Path, *, out: Path | None = None, allow_pickle: bool = False):
        """``path`` as a signals run (``xarray.Dataset``).

        Parameters
        ----------
        path : Path
            The file.
        out : Path, optional
            Also write the run file there and return it opened lazily.
        allow_pickle : bool
            Allow pickled input (only readers of pickled formats use it).
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class SignalsReader(Reader):
    """A signals run file (netCDF): last in the search, it takes any netCDF/HDF5 file no other
    reader claims, so :func:`signals.open_run` says what is wrong with a foreign one."""

    name = "signals"
    description = "signals run file (netCDF)"

    def guess_can_open(self, path: Path) -> bool:
        return sniff(path) in ("netcdf3", "hdf5")

    def open(self, path: Path, *, out: Path | None = None, allow_pickle: bool = False):
        from signals.store import open_run

        if out is not None:
            raise ValueError(f"{str(path)!r} is already a signals run file")
        return open_run(path)


def _builtins() -> dict[str, Reader]:
    from signals.io.netpyne import NetpyneReader
    from signals.io.sonata import EcpReader, SonataReader

    return {r.name: r for r in (NetpyneReader(), SonataReader(), EcpReader(), SignalsReader())}


@functools.lru_cache(maxsize=1)
def list_readers() -> dict[str, Reader]:
    """The readers by name, in the order :func:`guess_reader` asks them: the built-ins
    (``netpyne``, ``sonata``, ``ecp``), third-party readers, then ``signals``.

    A plugin that fails to load, or reuses a built-in's name, is skipped with a warning.
    """
    builtins = _builtins()
    found = {k: v for k, v in builtins.items() if k != "signals"}
    for ep in entry_points(group="signals.readers"):
        if ep.name in builtins:
            warnings.warn(f"reader plugin {ep.value!r} reuses the built-in name {ep.name!r}; "
                          "the built-in is used", stacklevel=2)
            continue
        try:
            reader = ep.load()()
        except Exception as err:  # a broken plugin must not break signals
            warnings.warn(f"reader plugin {ep.name!r} ({ep.value}) failed to load: {err}",
                          stacklevel=2)
            continue
        if ep.name in found:
            warnings.warn(f"two reader plugins are named {ep.name!r}; keeping the first",
                          stacklevel=2)
            continue
        found[ep.name] = reader
    found["signals"] = builtins["signals"]
    return found


def guess_reader(path: str | os.PathLike) -> Reader:
    """The first reader of :func:`list_readers` that can open ``path``.

    A reader that fails while guessing is skipped with a warning.

    Raises
    ------
    ValueError
        If no reader recognises the file.
    """
    path = Path(path)
    readers = list_readers()
    for reader in readers.values():
        try:
            if reader.guess_can_open(path):
                return reader
        except Exception as err:
            warnings.warn(f"reader {reader.name!r} failed while guessing the format of "
                          f"{str(path)!r}: {err}", stacklevel=2)
    raise ValueError(f"cannot tell the format of {str(path)!r}; pass fmt= (one of {tuple(readers)})")


def convert(src: str | os.PathLike, dst: str | os.PathLike, *, fmt: str | None = None,
            allow_pickle: bool = False) -> Path:
    """Convert between signals run files and other tools' files.

    Parameters
    ----------
    src : str or Path
        Input: NetPyNE output (``.json``; ``.pkl``/``.dpk`` with ``allow_pickle``), a SONATA
        spike file or BMTK ``ecp.h5`` (needs h5py), or a signals run file (``.nc``).
    dst : str or Path
        Output, by suffix: ``.nc`` (signals run file), ``.nwb`` (NWB, needs pynwb), ``.nix``
        (neo's NixIO, needs nixio), ``.fif`` (MNE raw of the EEG, or of the LFP when the run
        has no EEG).
    fmt : {"netpyne", "sonata", "ecp", "signals"}, optional
        Input format (a name of :func:`list_readers`); default: told from the file's content
        (:func:`guess_reader`).
    allow_pickle : bool
        Allow NetPyNE pickles (unpickling runs code: only for files you trust).

    Returns
    -------
    Path
        ``dst``.

    Raises
    ------
    FileNotFoundError
        If ``src`` does not exist.
    ValueError
        Unknown formats, or input the importers reject (see :func:`signals.io.from_netpyne`,
        :func:`signals.io.from_sonata`).
    """
    from signals.io.export import to_mne, to_neo, to_nwb

    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise FileNotFoundError(f"input file not found: {str(src)!r}")
    suffix = dst.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"unknown output type {dst.suffix!r}: use .nc (signals run), .nwb, .nix "
                         "(neo) or .fif (MNE)")
    readers = list_readers()
    if fmt is None:
        reader = guess_reader(src)
    elif fmt in readers:
        reader = readers[fmt]
    else:
        raise ValueError(f"unknown input format {fmt!r}; expected one of {tuple(readers)}")
    ds = reader.open(src, out=dst if suffix == ".nc" else None, allow_pickle=allow_pickle)
    try:
        if suffix == ".nwb":
            to_nwb(ds, dst)
        elif suffix == ".nix":
            from neo.io import NixIO

            if dst.exists():
                dst.unlink()
            with NixIO(str(dst), mode="ow") as io:
                io.write_block(to_neo(ds))
        elif suffix == ".fif":
            variable = "eeg" if "eeg" in ds else "lfp"
            to_mne(ds, variable).save(dst, overwrite=True, verbose="error")
    finally:
        ds.close()
    return dst
