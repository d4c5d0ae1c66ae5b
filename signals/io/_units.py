"""Every unit conversion of :mod:`signals.io`, as small tables (one place).

pint (with cf-xarray's UDUNITS registry) was measured against these tables: it reads more
spellings, but loading it costs 1.5-2 s per process (cf-xarray's registry 2 s more) where
``import signals.io`` takes about 1 s and converting a SONATA spike file 0.2 s; the spellings it
added that other tools write are listed here instead. neo needs ``quantities`` units, which
pint cannot give.
"""

from __future__ import annotations

#: Factor to ms of the time units SONATA/BMTK files use (``units`` attribute).
TIME_TO_MS = {"ms": 1.0, "msec": 1.0, "millisecond": 1.0, "milliseconds": 1.0,
              "s": 1000.0, "sec": 1000.0, "second": 1000.0, "seconds": 1000.0}
#: Factor to mV of the voltage units of BMTK's ``ecp.h5`` (``units`` attribute of the data).
VOLTAGE_TO_MV = {"mV": 1.0, "millivolt": 1.0, "millivolts": 1.0,
                 "uV": 1e-3, "µV": 1e-3, "μV": 1e-3, "microvolt": 1e-3, "microvolts": 1e-3,
                 "V": 1e3, "volt": 1e3, "volts": 1e3}
#: NWB stores data as recorded with a conversion factor to its SI unit: run-file units ->
#: (NWB unit, factor). Other units are written as they are, with factor 1.
NWB_UNITS = {"mV": ("volts", 1e-3), "nA um": ("A m", 1e-15), "fT": ("tesla", 1e-15),
             "nA": ("amperes", 1e-9), "ms": ("seconds", 1e-3)}


def units_text(value, default: str) -> str:
    """An HDF5 ``units`` attribute (bytes or str, absent: ``default``) as stripped text."""
    if value is None:
        return default
    return (value.decode() if isinstance(value, bytes) else str(value)).strip()


def quantities_units(units: str):
    """``quantities`` unit of a UDUNITS string used in run files (e.g. ``"nA um"``)."""
    import quantities as pq

    text = {"1": "dimensionless", "": "dimensionless"}.get(units.strip(), units.strip())
    text = "*".join(text.split())
    if text == "fT":
        try:
            return pq.Quantity(1.0, "fT").units
        except LookupError:
            return pq.UnitQuantity("femtotesla", pq.T * 1e-15, symbol="fT")
    try:
        return pq.Quantity(1.0, text).units
    except (LookupError, ValueError, TypeError) as err:
        raise ValueError(f"units {units!r} have no `quantities` equivalent: {err}") from None
