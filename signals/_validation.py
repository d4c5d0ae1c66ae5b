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
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be > 0, got {value}")
    return float(value)


def check_option(value: Any, what: str, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(map(repr, allowed))}")
    return value
