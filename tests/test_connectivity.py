"""Connectivity matrices against NEURON's own NetCons; functional connectivity against closed forms."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from signals.analysis.connectivity import connectivity_matrix, granger_causality, spike_count_correlation


@pytest.fixture
def small_run(tmp_path, ball_and_stick):
    """A plain-NEURON network with known rules, recorded with the Connections recorder.

    A (4 cells) → B (3 cells) all-to-all; B[k] → A[k] one-to-one (k < 3); A0 → A1 twice (a
    multapse); every cell also gets its own NetStim (an external source).
    """
    from neuron import h

    import signals
    from signals.recorders import Connections, Spikes

    a = [ball_and_stick(i, (40.0 * i, 0, 0), population="A") for i in range(4)]
    b = [ball_and_stick(4 + i, (40.0 * i, 0, -300.0), population="B") for i in range(3)]
    keep = []

    def connect(src, dst, weight, delay):
        syn = h.ExpSyn(dst.dend(0.5))
        nc = h.NetCon(src.soma(0.5)._ref_v, syn, sec=src.soma)
        nc.weight[0], nc.delay = weight, delay
        keep.extend([syn, nc])

    for src in a:
        for dst in b:
            connect(src, dst, 0.001, 2.0)
    for k in range(3):
        connect(b[k], a[k], 0.002, 1.0)
    connect(a[0], a[1], 0.003, 1.5)
    connect(a[0], a[1], 0.005, 2.5)
    net = signals.network.from_neuron(populations={"A": a, "B": b})
    path = tmp_path / "run.nc"
    signals.record(net, [Connections(), Spikes()], tstop=5.0, path=path)
    truth = _netcons_by_population({id(c): c for c in a + b})
    ds = signals.open_run(path)
    yield ds, truth, keep
    ds.close()


def _netcons_by_population(cells):
    """Connections read directly from NEURON: (pre pop or 'external', post pop) → [(pre, post, w, d)]."""
    from neuron import h

    out = defaultdict(list)
    for nc in h.List("NetCon"):
        syn = nc.syn()
        if syn is None:
            continue
        post = syn.get_segment().sec.cell()
        if id(post) not in cells:
            continue
        pre_seg = nc.preseg()
        pre = pre_seg.sec.cell() if pre_seg is not None else None
        key = (pre.population if pre is not None else "external", post.population)
        out[key].append((pre.gid if pre is not None else -1, post.gid, nc.weight[0], nc.delay))
    return out


def test_matrices_match_netcons(small_run):
    ds, truth, _ = small_run
    size = {"A": 4, "B": 3}
    feats = {f: connectivity_matrix(ds, feature=f, include_external=True)
             for f in ("count", "probability", "weight", "delay", "convergence", "divergence", "strength")}
    assert list(feats["count"]["source"].values) == ["A", "B", "external"]
    assert list(feats["count"]["target"].values) == ["A", "B"]
    assert feats["count"].attrs["pair_of"] == "population"
    assert feats["count"]["source"].attrs["long_name"] == "presynaptic population"
    assert feats["count"]["target"].attrs["long_name"] == "postsynaptic population"
    for pre in ("A", "B", "external"):
        for post in ("A", "B"):
            conns = truth.get((pre, post), [])
            at = dict(source=pre, target=post)
            assert float(feats["count"].sel(at)) == len(conns)
            assert float(feats["convergence"].sel(at)) == pytest.approx(len(conns) / size[post])
            if conns:
                assert float(feats["weight"].sel(at)) == pytest.approx(np.mean([c[2] for c in conns]))
                assert float(feats["delay"].sel(at)) == pytest.approx(np.mean([c[3] for c in conns]))
            else:
                assert np.isnan(float(feats["weight"].sel(at)))
            if pre == "external":
                assert np.isnan(float(feats["probability"].sel(at)))
                assert np.isnan(float(feats["divergence"].sel(at)))
                continue
            pairs = {(c[0], c[1]) for c in conns}
            possible = size[pre] * size[post] - (size[pre] if pre == post else 0)
            assert float(feats["probability"].sel(at)) == pytest.approx(len(pairs) / possible)
            assert float(feats["divergence"].sel(at)) == pytest.approx(len(conns) / size[pre])
    # the known rules
    assert float(feats["probability"].sel(source="A", target="B")) == 1.0
    assert float(feats["probability"].sel(source="A", target="A")) == pytest.approx(1 / 12)  # multapse
    assert float(feats["count"].sel(source="A", target="A")) == 2
    assert float(feats["count"].sel(source="external", target="B")) == 3
    assert float(feats["strength"].sel(source="B", target="A")) == pytest.approx(0.002 * 3 / 12)
    assert feats["weight"].attrs["units"] == "uS" and feats["delay"].attrs["units"] == "ms"


def test_by_cell_matches_netcons(small_run):
    ds, truth, _ = small_run
    counts = Counter()
    weights = Counter()
    for conns in truth.values():
        for pre, post, w, _ in conns:
            if pre >= 0:
                counts[pre, post] += 1
                weights[pre, post] += w
    m = connectivity_matrix(ds, feature="count", by="cell")
    w = connectivity_matrix(ds, feature="weight", by="cell")
    assert list(m["source"].values) == list(range(7))
    assert m.attrs["pair_of"] == "cell" and m["target"].attrs["long_name"] == "postsynaptic cell"
    for i in range(7):
        for j in range(7):
            assert float(m.sel(source=i, target=j)) == counts[i, j]
            assert float(w.sel(source=i, target=j)) == pytest.approx(weights[i, j])
    assert float(m.sum()) == sum(counts.values())
    with pytest.raises(ValueError, match="per population"):
        connectivity_matrix(ds, feature="probability", by="cell")


def synthetic(**overrides):
    """A run-like Dataset with exactly the connection schema (no NEURON)."""
    ds = xr.Dataset(
        coords={"cell": np.arange(5), "cell_population": ("cell", ["E", "E", "E", "I", "I"]),
                "population": ["E", "I"]},
        data_vars={"connection_pre": ("connection", np.array([0, 0, 1, 3, -1, -1])),
                   "connection_post": ("connection", np.array([1, 3, 0, 4, 0, 3])),
                   "connection_weight": ("connection", np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                                         {"units": "uS"}),
                   "connection_delay": ("connection", np.array([1.0, 1.0, 2.0, 3.0, 0.5, 0.5]),
                                        {"units": "ms"})})
    return ds.assign(**overrides)


def test_synthetic_schema_autapses_and_selection():
    ds = synthetic()
    p = connectivity_matrix(ds, feature="probability")
    assert float(p.sel(source="E", target="E")) == pytest.approx(2 / 6)  # 0→1, 1→0 of 3·2 pairs
    with_autapses = connectivity_matrix(ds, feature="probability", autapses=True)
    assert float(with_autapses.sel(source="E", target="E")) == pytest.approx(2 / 9)
    assert float(p.sel(source="I", target="I")) == pytest.approx(1 / 2)
    only_i = connectivity_matrix(ds, feature="count", populations=["I"])
    assert only_i.shape == (1, 1) and only_i.item() == 1
    with pytest.raises(KeyError, match="unknown population"):
        connectivity_matrix(ds, populations=["X"])
    with pytest.raises(KeyError, match="connection_weight"):
        connectivity_matrix(ds.drop_vars("connection_weight"), feature="weight")
    with pytest.raises(KeyError, match="connection_pre"):
        connectivity_matrix(ds.drop_vars(["connection_pre"]))
    with pytest.raises(ValueError, match="connectivity feature"):
        connectivity_matrix(ds, feature="entropy")


def spiking_run(trains: dict[int, np.ndarray], pops: list[str], tstop: float):
    gid = np.concatenate([np.full(t.size, g) for g, t in trains.items()])
    t = np.concatenate(list(trains.values()))
    order = np.argsort(t, kind="stable")
    return xr.Dataset(
        coords={"cell": np.arange(len(pops)), "cell_population": ("cell", pops),
                "population": list(dict.fromkeys(pops)), "time": [0.0, tstop]},
        data_vars={"spike_time": ("spike", t[order], {"units": "ms"}), "spike_gid": ("spike", gid[order])},
        attrs={"tstop": tstop})


def test_spike_count_correlation_of_shared_input():
    """Cells keeping each spike of a common Poisson train with probability p, plus their own:
    count correlation p² λc / (p λc + λi) (thinning), 0 between independent cells."""
    rng = np.random.default_rng(0)
    tstop, lam_c, lam_i, p = 100_000.0, 40.0, 10.0, 0.5  # ms, Hz, Hz
    mother = np.sort(rng.uniform(0, tstop, rng.poisson(lam_c * tstop / 1000)))
    trains = {}
    for g in range(6):  # population S: shared input
        own = rng.uniform(0, tstop, rng.poisson(lam_i * tstop / 1000))
        trains[g] = np.sort(np.concatenate([mother[rng.random(mother.size) < p], own]))
    for g in range(6, 12):  # population N: independent Poisson at the same rate
        trains[g] = np.sort(rng.uniform(0, tstop, rng.poisson((p * lam_c + lam_i) * tstop / 1000)))
    ds = spiking_run(trains, ["S"] * 6 + ["N"] * 6, tstop)
    m = spike_count_correlation(ds, bin_size=10.0)
    expected = p**2 * lam_c / (p * lam_c + lam_i)  # 1/3
    assert float(m.sel(source="S", target="S")) == pytest.approx(expected, abs=0.02)
    assert float(m.sel(source="N", target="N")) == pytest.approx(0.0, abs=0.02)
    assert float(m.sel(source="S", target="N")) == pytest.approx(0.0, abs=0.02)
    assert m.dims == ("source", "target") and m.attrs["pair_of"] == "population"
    assert m.attrs["bin_size"] == 10.0 and m.attrs["bin_size_units"] == "ms"
    # per cell: numpy's corrcoef of histogram counts on the same bins
    cells = spike_count_correlation(ds, bin_size=10.0, by="cell")
    edges = np.arange(0.0, tstop + 5.0, 10.0)
    counts = np.array([np.histogram(trains[g], edges)[0] for g in range(12)])
    assert_allclose(cells.values, np.corrcoef(counts), rtol=1e-9, atol=1e-12)


def test_granger_causality_of_a_lagged_pair():
    """y_t = b x_(t-1) + e_t with x, e white: GC x→y = log(1 + b²), y→x = 0."""
    rng = np.random.default_rng(1)
    n, b = 5000, 0.8
    x = rng.normal(size=n + 1)
    y = b * x[:-1] + rng.normal(size=n)
    da = xr.DataArray(np.stack([x[1:], y], axis=1), dims=("time", "population"),
                      coords={"time": np.arange(n) * 1.0, "population": ["X", "Y"]}, attrs={"units": "Hz"})
    g = granger_causality(da, max_order=5)
    assert g.dims == ("source", "target")
    assert g.attrs["pair_of"] == "population" and g["source"].attrs["long_name"] == "source population"
    assert float(g.sel(source="X", target="Y")) == pytest.approx(np.log(1 + b**2), abs=0.03)
    assert float(g.sel(source="Y", target="X")) == pytest.approx(0.0, abs=0.01)
    assert np.isnan(float(g.sel(source="X", target="X")))


@pytest.mark.parametrize("n, order", [(5000, 20), (120, 12), (30, 3)])
def test_granger_default_order_fits_the_samples(n, order):
    """max_order=None: 20, at most a tenth of the samples (the figure's default)."""
    rng = np.random.default_rng(2)
    da = xr.DataArray(rng.normal(size=(n, 2)), dims=("time", "electrode"),
                      coords={"time": np.arange(n) * 1.0, "electrode": ["a", "b"]})
    g = granger_causality(da, max_order=None)
    assert g.attrs["max_order"] == order
    assert g.attrs["pair_of"] == "electrode" and g["target"].attrs["long_name"] == "target electrode"
