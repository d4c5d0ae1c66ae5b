"""The run file's conventions (signals.schema): one builder per label, one units rule."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import signals
from signals import schema

ROOT = Path(__file__).resolve().parents[1]


def test_electrode_coords_as_the_probe_names_them():
    probe = signals.electrodes.points([[0, 0, 0], [1, 2, 3], [4, 5, 6]])
    coords = schema.electrode_coords(probe.positions)
    assert_array_equal(coords["electrode"][1], probe.names)
    assert coords["electrode"][0] == ("electrode",)
    for k, axis in enumerate("xyz"):
        dims, values, attrs = coords[f"electrode_{axis}"]
        assert dims == ("electrode",) and attrs["units"] == "um"
        assert_array_equal(values, probe.positions[:, k])
        assert "missing" not in attrs


def test_positions_not_known_are_marked():
    coords = schema.electrode_coords([[0, 0, np.nan], [1, 1, 1]], ["a", "b"], comment="here")
    assert "missing" not in coords["electrode_x"][2] and coords["electrode_x"][2]["comment"] == "here"
    assert "not known" in coords["electrode_z"][2]["missing"]
    cells = schema.cell_coords([1], ["E"], [[np.nan] * 3], ["E"])
    assert all("missing" in cells[f"cell_{a}"][2] for a in "xyz")


def test_cell_table_sorted_by_gid_and_gids_unique():
    coords = schema.cell_coords([5, 1, 3], ["I", "E", "E"], [[5, 0, 0], [1, 0, 0], [3, 0, 0]],
                                ["E", "I"], comment="somata")
    assert_array_equal(coords["cell"][1], [1, 3, 5])
    assert_array_equal(coords["cell_population"][1], ["E", "E", "I"])
    assert_array_equal(coords["cell_x"][1], [1.0, 3.0, 5.0])
    assert coords["cell_x"][2] == {"units": "um", "comment": "somata", "long_name": "soma x position"}
    assert_array_equal(coords["population"][1], ["E", "I"])
    with pytest.raises(ValueError, match="cell gids repeat: \\[3\\]"):
        schema.cell_coords([3, 3], ["E", "E"], np.zeros((2, 3)), ["E"])
    with pytest.raises(ValueError, match="2 gids, 1 populations"):
        schema.cell_coords([1, 2], ["E"], np.zeros((2, 3)), ["E"])


def test_spike_events_sorted_by_time_then_gid():
    events = schema.spike_events([2.0, 1.0, 1.0], [0, 7, 3])
    spec, times = events["spike_time"]
    assert spec.dims == ("spike",) and spec.units == "ms" and spec.reduce == "gather"
    assert_array_equal(times, [1.0, 1.0, 2.0])
    assert_array_equal(events["spike_gid"][1], [3, 7, 0])
    assert events["spike_gid"][0].dtype == "i8"
    with pytest.raises(ValueError, match="2 spike times but 1 spike gids"):
        schema.spike_events([1.0, 2.0], [0])


def test_component_and_connection_tables():
    comp = schema.component_coord()["component"]
    assert comp[0] == ("component",) and list(comp[1]) == list(schema.COMPONENTS) == ["x", "y", "z"]
    table = schema.connection_table([(0, 1, 0.5, 1.0, "ExpSyn", "soma")], comments={"connection_pre": "c"})
    assert table["connection_weight"][2]["units"] == "uS" and table["connection_pre"][2]["comment"] == "c"
    assert table["connection_synapse"][1].tolist() == ["ExpSyn"]
    assert schema.connection_table([])["connection_post"][1].shape == (0,)


def test_store_and_recorders_use_the_schema():
    import signals.store
    from signals.recorders import connections

    assert signals.store.KNOWN_DIMS is schema.KNOWN_DIMS
    assert signals.store.UNLIMITED is schema.UNLIMITED
    assert signals.store.FORMAT_NAME == schema.FORMAT_NAME == "signals-run"
    assert connections.connection_table is schema.connection_table


def test_units_rule():
    assert schema.with_units("head_radii", [1.0], "um") == {"head_radii": [1.0], "head_radii_units": "um"}
    assert schema.units_in_name("depth_um") == "um" and schema.units_in_name("sigma_units") is None
    assert schema.units_in_name("head_sigmas_S_per_m") == "S_per_m"
    assert schema.units_in_name("n_samples") is None
    with pytest.raises(ValueError, match="'depth_um' -> 'depth' with 'depth_units' = 'um'"):
        schema.with_units("depth_um", 1.0, "um")
    # files written before the rule: the old spelling is still read
    assert schema.read_attr({"head_radii_um": [2.0]}, "head_radii") == [2.0]
    assert schema.read_attr({"head_radii": [3.0], "head_radii_um": [2.0]}, "head_radii") == [3.0]
    assert schema.read_attr({}, "head_radii", "none") == "none"


@pytest.mark.parametrize("head", ["FourSphere", "InfiniteHead"])
def test_head_models_follow_the_units_rule(head):
    import signals.head

    attrs = getattr(signals.head, head)().describe()
    schema.check_attr_names(attrs)
    units = {k: v for k, v in attrs.items() if k.endswith("_units")}
    assert units and all(k[:-len("_units")] in attrs for k in units)


def test_no_attribute_carries_its_units():
    """Every string literal used as a dict key in the package that looks like ``<name>_<unit>``."""
    found = set()
    for path in [*(ROOT / "signals").rglob("*.py"), *(ROOT / "recorders").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                found |= {k for k in keys if isinstance(k, str) and schema.units_in_name(k)}
    assert not found, f"attribute names with units: {sorted(found)}"


def test_io_and_schema_import_no_plugin_nor_private_names_of_other_packages():
    """Core code never imports ``signals.recorders``; the io package imports no private name
    from outside itself."""
    files = [ROOT / "signals" / "schema.py", ROOT / "signals" / "store.py",
             *(ROOT / "signals" / "io").glob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("signals.recorders"), (path.name, node.module)
                inside = node.module.startswith("signals.io")
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert inside or not private, (path.name, node.module, private)


@pytest.mark.parametrize("name", ["to_mne", "from_netpyne", "from_sonata", "to_neo", "to_nwb",
                                  "convert"])
def test_public_io_names(name):
    import signals.io

    assert callable(getattr(signals.io, name)) and name in signals.io.__all__


def test_every_package_directory_is_in_the_wheel():
    """A wheel holds only the packages pyproject names: every directory with an __init__.py."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    where = {name: ROOT / path for name, path in config["package-dir"].items()}
    found = set()
    for name, path in where.items():
        found |= {".".join([name, *p.parent.relative_to(path).parts]) for p in path.rglob("__init__.py")}
    assert found <= set(config["packages"]), sorted(found - set(config["packages"]))
