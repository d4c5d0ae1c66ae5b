"""Structural and functional connectivity of a recorded network, from the run file alone.

Structural: matrices over (presynaptic, postsynaptic) populations or cells, from the run's
``connection_*`` variables (dim ``connection``: ``connection_pre`` gid, -1 for an external
source such as a NetStim; ``connection_post`` gid; ``connection_weight`` µS;
``connection_delay`` ms). Features follow NetPyNE's ``plotConn``:

=========== ===================================================================== ============
feature     definition (pre population A → post population B)                     units
=========== ===================================================================== ============
count       number of connections (NetCons)                                       1
probability connected (pre, post) cell pairs / possible pairs (no self pairs      1
            unless ``autapses=True``)
weight      mean weight of the connections                                        µS
strength    mean weight × probability                                             µS
delay       mean delay of the connections                                         ms
convergence connections / number of post cells (inputs per post cell from A)      1
divergence  connections / number of pre cells (outputs per pre cell onto B)       1
=========== ===================================================================== ============

Functional: spike-count correlation between cells or populations (elephant), and pairwise
Granger causality between the channels of any signal, e.g. population rates or LFP contacts
(elephant).

Every result is a matrix over the pair dimensions ``source`` (rows) and ``target``
(columns): directed measures go from source to target (presynaptic to postsynaptic for the
structural features, source to target channel for Granger causality); the symmetric
spike-count correlation uses the same names. The coordinates' ``long_name`` says what they
label (``"presynaptic population"``, ``"cell"``...) and the attribute ``pair_of`` names the
dimension paired (``"population"``, ``"cell"``, or Granger's channel dimension).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence

import numpy as np

from signals.analysis.data import cell_table, population_names, require, run_window, spikes
from signals.validation import check_option, check_positive

__all__ = ["FEATURES", "EXTERNAL", "connectivity_matrix", "granger_causality", "spike_count_correlation"]

#: Structural features and their units.
FEATURES = {
    "count": "1",
    "probability": "1",
    "weight": "uS",
    "strength": "uS",
    "delay": "ms",
    "convergence": "1",
    "divergence": "1",
}
#: Label of external sources (``connection_pre == -1``) in population matrices.
EXTERNAL = "external"

_LONG = {
    "count": "number of connections",
    "probability": "connection probability",
    "weight": "mean synaptic weight",
    "strength": "connection strength (mean weight × probability)",
    "delay": "mean synaptic delay",
    "convergence": "convergence (inputs per postsynaptic cell)",
    "divergence": "divergence (outputs per presynaptic cell)",
}


def _connections(ds, feature: str):
    hint = "record with the Connections recorder"
    require(ds, "connection_pre", "connection_post", what="connectivity", hint=hint)
    if feature in ("weight", "strength"):
        require(ds, "connection_weight", what=f"the {feature} matrix", hint=hint)
    if feature == "delay":
        require(ds, "connection_delay", what="the delay matrix", hint=hint)
    pre = np.asarray(ds["connection_pre"].values, dtype=np.int64)
    post = np.asarray(ds["connection_post"].values, dtype=np.int64)
    value = None
    if feature in ("weight", "strength"):
        value = np.asarray(ds["connection_weight"].values, dtype=float)
    elif feature == "delay":
        value = np.asarray(ds["connection_delay"].values, dtype=float)
    return pre, post, value


def _codes(gid: np.ndarray, gids: np.ndarray, cell_pops: np.ndarray, names: list[str]) -> np.ndarray:
    """Index in ``names`` of the population of each gid; -1 for gids not in those populations."""
    pop_index = {p: i for i, p in enumerate(names)}
    cell_code = np.array([pop_index.get(p, -1) for p in cell_pops.tolist()], dtype=np.int64)
    order = np.argsort(gids)
    pos = np.clip(np.searchsorted(gids[order], gid), 0, gids.size - 1)
    found = gids[order][pos] == gid
    return np.where(found, cell_code[order][pos], -1)


def connectivity_matrix(ds, *, feature: str = "probability", by: str = "population",
                        populations: Sequence[str] | None = None, include_external: bool = False,
                        autapses: bool = False):
    """Connectivity between presynaptic and postsynaptic populations (or cells).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``connection_pre``/``connection_post`` (and ``connection_weight`` µS or
        ``connection_delay`` ms for those features) and the cell table (``cell``,
        ``cell_population``).
    feature : str
        One of :data:`FEATURES` (see the module docstring for definitions).
    by : {"population", "cell"}
        Population × population, or cell × cell (gid); per cell only ``count``, ``weight``
        (summed weight, µS) and ``delay`` (mean, ms) are defined.
    populations : sequence of str, optional
        Restrict pre and post to these populations (default all, in the run's order).
    include_external : bool
        By population: add a presynaptic row ``"external"`` for connections from sources
        without a gid (NetStims, ``connection_pre == -1``); its probability and divergence are NaN.
    autapses : bool
        Whether a cell may connect to itself: counts the self pairs as possible pairs for
        ``probability``.

    Returns
    -------
    xarray.DataArray
        Dims (``source``, ``target``): presynaptic rows, postsynaptic columns, labeled by
        population names (or gids), with ``units``, ``long_name`` and ``pair_of`` (``by``); NaN
        where the feature is undefined (mean over no connection).
    """

    check_option(by, "grouping", ("population", "cell"))
    check_option(feature, "connectivity feature", tuple(FEATURES))
    pre, post, value = _connections(ds, feature)
    gids, cell_pops = cell_table(ds)
    names = population_names(ds, populations)
    in_pops = np.isin(cell_pops, names)
    if by == "cell":
        if feature not in ("count", "weight", "delay"):
            raise ValueError(f"feature {feature!r} is defined per population; by='cell' supports "
                             "'count', 'weight' and 'delay'")
        cells = gids[in_pops]
        keep = np.isin(pre, cells) & np.isin(post, cells)
        order = np.argsort(cells)
        i = order[np.searchsorted(cells[order], pre[keep])]
        j = order[np.searchsorted(cells[order], post[keep])]
        n = cells.size
        count = np.zeros((n, n))
        np.add.at(count, (i, j), 1.0)
        if feature == "count":
            mat = count
        else:
            total = np.zeros((n, n))
            np.add.at(total, (i, j), value[keep])
            with np.errstate(invalid="ignore"):
                mat = total if feature == "weight" else total / count
        labels_pre = labels_post = cells
        long_name = {"count": _LONG["count"], "weight": "summed synaptic weight",
                     "delay": _LONG["delay"]}[feature]
    else:
        pre_names = names + ([EXTERNAL] if include_external else [])
        n_pre, n_post = len(pre_names), len(names)
        size = np.array([np.sum(cell_pops == p) for p in names], dtype=float)
        pre_code = _codes(pre, gids, cell_pops, names)
        post_code = _codes(post, gids, cell_pops, names)
        if include_external:
            pre_code[pre < 0] = n_pre - 1
        keep = (pre_code >= 0) & (post_code >= 0)
        pc, qc = pre_code[keep], post_code[keep]
        count = np.zeros((n_pre, n_post))
        np.add.at(count, (pc, qc), 1.0)
        total = np.zeros((n_pre, n_post))
        if value is not None:
            np.add.at(total, (pc, qc), value[keep])
        # distinct connected pairs (several NetCons between two cells count once)
        internal = keep & (pre >= 0)
        pairs = np.unique(np.stack([pre[internal], post[internal]], axis=1), axis=0)
        pair_code = (_codes(pairs[:, 0], gids, cell_pops, names), _codes(pairs[:, 1], gids, cell_pops, names))
        n_pairs = np.zeros((n_pre, n_post))
        np.add.at(n_pairs, pair_code, 1.0)
        size_pre = np.concatenate([size, [np.nan]]) if include_external else size
        possible = size_pre[:, None] * size[None, :]
        if not autapses:
            possible[np.arange(n_post), np.arange(n_post)] -= size
        with np.errstate(invalid="ignore", divide="ignore"):
            prob = np.where(possible > 0, n_pairs / possible, np.nan)
            mean = total / count
            mat = {
                "count": lambda: count,
                "probability": lambda: prob,
                "weight": lambda: mean,
                "delay": lambda: mean,
                "strength": lambda: np.where(count > 0, mean, 0.0) * prob,
                "convergence": lambda: count / size[None, :],
                "divergence": lambda: count / size_pre[:, None],
            }[feature]()
        labels_pre, labels_post = np.array(pre_names), np.array(names)
        long_name = _LONG[feature]
    out = _pairs(mat, labels_pre, labels_post, by, source=f"presynaptic {by}", target=f"postsynaptic {by}",
                 name=f"connectivity_{feature}")
    units = FEATURES[feature]
    if by == "cell" and feature == "weight":
        units = "uS"
    out.attrs.update(units=units, long_name=long_name, feature=feature, by=by)
    return out


def _pairs(values, source_labels, target_labels, pair_of: str, *, source: str, target: str, name: str):
    """A (``source``, ``target``) matrix with each coordinate's ``long_name`` and ``pair_of``."""
    import xarray as xr

    out = xr.DataArray(values, dims=("source", "target"),
                       coords={"source": np.asarray(source_labels), "target": np.asarray(target_labels)},
                       name=name, attrs={"pair_of": str(pair_of)})
    out["source"].attrs["long_name"] = source
    out["target"].attrs["long_name"] = target
    return out


def spike_count_correlation(ds, *, bin_size: float = 5.0, by: str = "population",
                            populations: Sequence[str] | None = None,
                            time: tuple[float, float] | None = None, max_cells: int | None = 200):
    """Pearson correlation of spike counts in time bins (elephant ``correlation_coefficient``).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes (``spike_time`` ms, ``spike_gid``) and the cell table.
    bin_size : float > 0
        Bin width (ms).
    by : {"population", "cell"}
        ``"cell"``: the cell × cell matrix. ``"population"``: population × population, the mean
        of the pairwise cell correlations between the two populations (pairs of a cell with
        itself excluded; silent cells, whose correlation is undefined, ignored).
    populations : sequence of str, optional
        Populations included (default all).
    time : (float, float), optional
        Window analysed (ms); default the whole run.
    max_cells : int, optional
        By population: use at most this many cells per population (evenly spread over its
        gids), to bound the cost; None for all.

    Returns
    -------
    xarray.DataArray
        Dimensionless, dims (``source``, ``target``)—symmetric—labeled by population or gid;
        ``pair_of`` is ``by``.
    """
    import neo
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient

    check_option(by, "grouping", ("population", "cell"))
    bin_size = check_positive(bin_size, "bin_size (ms)")
    t0, t1 = run_window(ds, time)
    names = population_names(ds, populations)
    gids, pops = cell_table(ds)
    chosen, chosen_pop = [], []
    for p in names:
        members = gids[pops == p]
        if by == "population" and max_cells is not None and members.size > max_cells:
            members = members[np.linspace(0, members.size - 1, int(max_cells)).round().astype(int)]
        chosen.extend(members.tolist())
        chosen_pop.extend([p] * members.size)
    if len(chosen) < 2:
        raise ValueError("spike_count_correlation needs at least two cells")
    t, gid = spikes(ds, time=(t0, t1))
    order = np.argsort(gid, kind="stable")
    t, gid = t[order], gid[order]
    trains = []
    for g in chosen:
        lo, hi = np.searchsorted(gid, [g, g + 1])
        trains.append(neo.SpikeTrain(np.sort(t[lo:hi]) * pq.ms, t_start=t0 * pq.ms, t_stop=t1 * pq.ms))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # silent cells: elephant warns and returns NaN
        binned = BinnedSpikeTrain(trains, bin_size=bin_size * pq.ms, t_start=t0 * pq.ms, t_stop=t1 * pq.ms,
                                  tolerance=None)
        cc = np.asarray(correlation_coefficient(binned), dtype=float)
    if by == "cell":
        labels = np.asarray(chosen)
        out = _pairs(cc, labels, labels, "cell", source="cell", target="cell", name="spike_count_correlation")
    else:
        member = np.asarray(chosen_pop)
        np.fill_diagonal(cc, np.nan)
        mat = np.full((len(names), len(names)), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
            for a, pa in enumerate(names):
                for b, pb in enumerate(names):
                    mat[a, b] = np.nanmean(cc[np.ix_(member == pa, member == pb)])
        out = _pairs(mat, names, names, "population", source="population", target="population",
                     name="spike_count_correlation")
    out.attrs.update(units="1", long_name=f"spike count correlation ({bin_size:g} ms bins)",
                     bin_size=bin_size, bin_size_units="ms", by=by)
    return out


def granger_causality(da, *, dim: Hashable | None = None, max_order: int | None = 20,
                      information_criterion: str = "aic"):
    """Pairwise directional Granger causality between the channels of a signal (elephant).

    Parameters
    ----------
    da : xarray.DataArray
        Signal of dims (``time``, ``dim``), e.g. population rates (Hz) from
        :func:`signals.analysis.rates.population_rate` or an LFP (mV) downsampled to a few
        hundred Hz first (the autoregressive order is counted in samples).
    dim : str, optional
        Channel dimension; default the only dimension other than ``time``.
    max_order : int >= 1, optional
        Largest autoregressive model order tried (samples). None: 20, but at most a tenth of
        the number of samples (and at least 1), so that a short signal gets a model it can fit.
    information_criterion : {"aic", "bic"}
        Order selection.

    Returns
    -------
    xarray.DataArray
        Dims (``source``, ``target``) labeled by the channels (``pair_of``: ``dim``; the
        coordinates' ``long_name`` "source <dim>", "target <dim>"): ``log(var_target|target /
        var_target|target,source)``, dimensionless, >= 0 up to estimation error; NaN on the
        diagonal, and for a pair whose autoregressive fit is singular (with a warning).
        elephant rounds each value to the significant figures its standard error
        (``1/sqrt(n_samples)``) allows.
    """
    from elephant.causality.granger import pairwise_granger

    check_option(information_criterion, "information criterion", ("aic", "bic"))
    if "time" not in da.dims:
        raise ValueError(f"granger_causality needs a 'time' dimension, got dims {da.dims}")
    others = [d for d in da.dims if d != "time"]
    if dim is None:
        if len(others) != 1:
            raise ValueError(f"granger_causality needs dims (time, channel); give dim= among {others}")
        dim = others[0]
    elif dim not in others or len(others) != 1:
        raise ValueError(f"granger_causality needs dims (time, {dim!r}), got {da.dims}")
    if max_order is None:
        max_order = max(1, min(20, da.sizes["time"] // 10))
    if int(max_order) < 1:
        raise ValueError(f"max_order must be >= 1, got {max_order}")
    x = np.asarray(da.transpose("time", dim).values, dtype=float)
    if x.shape[0] <= 4 * int(max_order):
        raise ValueError(f"granger_causality needs many more samples ({x.shape[0]}) "
                         f"than max_order ({max_order})")
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    labels = da[dim].values
    n = labels.size
    mat = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(i + 1, n):
            if not (np.ptp(x[:, i]) > 0 and np.ptp(x[:, j]) > 0):
                continue  # a constant channel (e.g. a silent population) has no causality
            with warnings.catch_warnings():
                # elephant warns when log det(residual covariance) <= 1e-7, which holds for any
                # standardised pair: not a problem of the data
                warnings.filterwarnings("ignore", message="The value of the log determinant")
                try:
                    res = pairwise_granger(x[:, [i, j]], max_order=int(max_order),
                                           information_criterion=information_criterion)
                except ValueError as err:  # a singular residual covariance: no estimate
                    if "Determinant" not in str(err):
                        raise
                    warnings.warn(f"Granger causality between {labels[i]!r} and {labels[j]!r} could not "
                                  f"be estimated ({err}); it is NaN. Use more samples or a lower "
                                  "max_order.", RuntimeWarning, stacklevel=2)
                    continue
            mat[i, j] = res.directional_causality_x_y
            mat[j, i] = res.directional_causality_y_x
    out = _pairs(mat, labels, labels, str(dim), source=f"source {dim}", target=f"target {dim}",
                 name="granger_causality")
    out.attrs.update(units="1", long_name="directional Granger causality (source → target)",
                     max_order=int(max_order), information_criterion=information_criterion,
                     # elephant's rounding step, 10^-round(log10(sqrt(n))): the values' resolution
                     resolution=float(10.0 ** -np.around(np.log10(np.sqrt(x.shape[0])))))
    return out
