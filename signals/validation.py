"""Small input checks shared by the public entry points (they raise, never assert)."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Real
from typing import Any

import numpy as np


def as_positions(value: Any, what: str) -> np.ndarray:
    """``value`` as a finite float array of shape (n, 3), n >= 1 (µm)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be numbers of shape (n, 3) in µm: {err}") from None
    if arr.ndim == 1 and arr.size == 3:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise ValueError(f"{what} must have shape (n, 3) in µm, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains non-finite values (NaN or inf)")
    return arr


def check_positive(value: Any, what: str) -> float:
    """``value`` as a float > 0 (ints accepted)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    out = _as_float(value, what)
    if not np.isfinite(out) or out <= 0:
        raise ValueError(f"{what} must be > 0, got {value}")
    return out


def _as_float(value: Real, what: str) -> float:
    try:
        return float(value)
    except OverflowError:  # a Python int beyond the float range
        raise ValueError(f"{what} is too large: {value}") from None


def check_option(value: Any, what: str, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(map(repr, allowed))}")
    return value


def ensure_int(value: Any, what: str, *, minimum: int | None = None,
               maximum: int | None = None) -> int:
    """``value`` as an int (numpy integers accepted; bools, floats and strings refused)."""
    import operator

    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {type(value).__name__} {value!r}") from None
    if not -(2**63) <= out < 2**63:
        raise ValueError(f"{what} does not fit a 64-bit integer: {out}")
    if minimum is not None and out < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{what} must be <= {maximum}, got {out}")
    return out


def check_real(value: Any, what: str) -> float:
    """``value`` as a finite float (ints accepted; bools and strings refused)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    out = _as_float(value, what)
    if not np.isfinite(out):
        raise ValueError(f"{what} must be finite, got {value}")
    return out


def check_path(value: Any, what: str = "path"):
    """``value`` as a ``Path`` (str or os.PathLike, not empty)."""
    import os
    from pathlib import Path

    if not isinstance(value, str | os.PathLike) or isinstance(value, bytes):
        raise TypeError(f"{what} must be a file name (str or Path), got {type(value).__name__}")
    if not os.fspath(value):
        raise ValueError(f"{what} must not be empty")
    return Path(value)


#: Dimensions a run file may hold; a recorder or coordinate named like one would clash with it.
RESERVED_NAMES = frozenset({"time", "spike", "electrode", "component", "population", "cell",
                            "segment", "connection", "eeg_sensor", "meg_sensor", "frequency"})


def check_name(value: Any, what: str, *, reserved: Iterable[str] = RESERVED_NAMES) -> str:
    """``value`` if it is usable as a netCDF variable or attribute name.

    netCDF names must not be empty, contain ``/`` or control characters, start with a digit,
    ``_`` (reserved by the library) or a space, or end with a space; a name must also not be
    one of the run file's dimension names (``reserved``).
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    bad = [c for c in value if c == "/" or ord(c) < 32 or ord(c) == 127]
    if bad or not value[0].isalpha() or value[-1] == " ":
        raise ValueError(f"{what} {value!r} is not a legal netCDF name: start with a letter, "
                         "no '/' or control characters, no trailing space")
    if value in set(reserved):
        raise ValueError(f"{what} {value!r} clashes with the run file's dimension {value!r}; "
                         "choose another name")
    return value


def check_iterable(value: Any, what: str) -> list:
    """``value`` as a list; a string or a lone number is refused, not iterated or wrapped."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a sequence, got {type(value).__name__} {value!r}")
    return list(value)


def as_gids(values: Any, where: str) -> np.ndarray:
    """``values`` as int64 gids: integral numbers that fit int64 (no bools, NaN, inf, strings)."""
    try:
        arr = np.asarray(values)
        if arr.dtype == object:
            arr = np.asarray(values, dtype=float)  # Python ints beyond int64 become floats
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: gids must be integers") from None
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"{where}: gids must be integers, got {arr.dtype} values")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{where}: gids must be integers, found non-integral or non-finite "
                             "values")
        if arr.size and (arr.max() >= 2.0**63 or arr.min() < -(2.0**63)):
            raise ValueError(f"{where}: a gid does not fit a 64-bit integer")
    elif arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{where}: a gid does not fit a 64-bit integer")
    return arr.astype(np.int64).ravel()


def as_times(values: Any, where: str) -> np.ndarray:
    """``values`` as finite, non-negative float times (ms)."""
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: times must be numbers (ms)") from None
    if np.asarray(values).dtype.kind in "bUSO" and arr.size and np.asarray(values).dtype != object:
        raise ValueError(f"{where}: times must be numbers (ms), got {np.asarray(values).dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: {int(np.sum(~np.isfinite(arr)))} times are not finite")
    if arr.size and (arr.min() < 0 or arr.max() > 1e15):
        raise ValueError(f"{where}: times must lie in [0, 1e15] ms, found {arr.min()} .. {arr.max()}")
    return arr
