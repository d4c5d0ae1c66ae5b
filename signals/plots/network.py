"""Figures of the network's structure: labeled matrices, connectivity, stacked bars of connections,
cells and connections in 2-D.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from signals.analysis.data import cell_table, population_names, require
from signals.plots._base import _VIEWS, _axes, _label, _run_colors, fill_doc
from signals.plots.lfp import electrode_view

__all__ = ["matrix_format", "plot_connectivity", "plot_matrix", "plot_network_2d", "plot_stacked_bar"]


def matrix_format(values) -> str:
    """One number format for every cell of a matrix: fixed decimals, three significant at the largest.

    ``[0.0897, 0.002]`` → ``"{:.4f}"`` (0.0897, 0.0020); ``[12.3, 0.4]`` → ``"{:.1f}"``; a mix
    of "0.002" and "0.0897" reads as two kinds of number.
    """
    vals = np.abs(np.asarray(values, dtype=float))
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if not vals.size:
        return "{:.0f}"
    if np.all(vals == np.round(vals)) and vals.max() < 1e6:  # counts
        return "{:.0f}"
    decimals = int(np.clip(2 - np.floor(np.log10(vals.max())), 0, 6))
    # values on a coarser grid (e.g. rounded to 0.1) keep their own decimals: 0.2, not 0.200
    grid = next((k for k in range(decimals + 1)
                 if np.allclose(vals * 10**k, np.round(vals * 10**k), rtol=0, atol=1e-9)), decimals)
    return "{:.%sf}".replace("%s", str(grid))


@fill_doc
def plot_matrix(da, *, cmap: str | None = None, annotate: bool | None = None, center: float | None = None,
                colors: Mapping[str, tuple] | None = None, ax=None):
    """A labeled matrix (e.g. connectivity or correlation) as a heatmap; rows are the first dim.

    Parameters
    ----------
    da : xarray.DataArray
        Two dims; ``units`` and ``long_name`` go on the colour bar.
    cmap : str, optional
        Colormap; default ``viridis`` (``RdBu_r`` when ``center`` is given).
    annotate : bool, optional
        Write the values in the cells; default when the matrix has at most 12 rows and columns.
    center : float, optional
        Value at the centre of a diverging colormap (symmetric limits).
    colors : mapping, optional
        Label colours for the tick labels (e.g. :func:`population_colors`).
    %(ax_figure)s
    """
    if da.ndim != 2:
        raise ValueError(f"plot_matrix needs a 2-D DataArray, got dims {da.dims}")
    rows, cols = da.dims
    vals = np.asarray(da.values, dtype=float)
    fig, ax = _axes(ax, figsize=(6.5, 5.5))
    finite = vals[np.isfinite(vals)]
    kw = {}
    if center is not None:
        span = float(np.max(np.abs(finite - center))) if finite.size else 1.0
        kw = dict(vmin=center - span, vmax=center + span)
        cmap = cmap or "RdBu_r"
    im = ax.imshow(vals, cmap=cmap or "viridis", aspect="auto", interpolation="nearest", **kw)
    cb_label = _label(da.attrs.get("long_name", da.name or ""), da.attrs.get("units"))
    fig.colorbar(im, ax=ax, label=cb_label)
    n_r, n_c = vals.shape
    if annotate is None:
        annotate = n_r <= 12 and n_c <= 12
    if n_r <= 40:
        ax.set_yticks(range(n_r), [str(v) for v in da[rows].values])
    if n_c <= 40:
        ax.set_xticks(range(n_c), [str(v) for v in da[cols].values])
    if colors:
        for lab in (*ax.get_xticklabels(), *ax.get_yticklabels()):
            lab.set_color(colors.get(lab.get_text(), "k"))
            lab.set_fontweight("bold")
    if annotate and finite.size:
        fmt = matrix_format(finite)
        mid = 0.5 * (im.norm.vmin + im.norm.vmax)
        for i in range(n_r):
            for j in range(n_c):
                v = vals[i, j]
                text = "–" if not np.isfinite(v) else "0" if v == 0 else fmt.format(v)
                dark = np.isfinite(v) and (v < mid if center is None else abs(v - center) > 0.5 * (
                    im.norm.vmax - center))
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set_ylabel(da[rows].attrs.get("long_name", rows))
    ax.set_xlabel(da[cols].attrs.get("long_name", cols))
    return fig


@fill_doc
def plot_connectivity(ds, *, feature: str | None = None, by: str = "population",
                      populations: Sequence[str] | None = None, include_external: bool = False, ax=None):
    """Connectivity matrix, presynaptic rows × postsynaptic columns (NetPyNE paper Fig. 6A).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``connection_*`` variables and the cell table.
    feature : str, optional
        ``probability``, ``count``, ``weight`` (µS), ``strength`` (µS), ``delay`` (ms),
        ``convergence`` or ``divergence`` (:func:`signals.analysis.connectivity.connectivity_matrix`);
        default ``probability`` by population, ``count`` by cell (per cell only ``count``,
        ``weight`` and ``delay`` are defined).
    by : {"population", "cell"}
        Grouping.
    %(populations)s
    include_external : bool
        Add a row for sources outside the network (NetStims).
    %(ax_figure)s
    """
    from signals.analysis.connectivity import connectivity_matrix

    if feature is None:
        feature = "count" if by == "cell" else "probability"
    m = connectivity_matrix(ds, feature=feature, by=by, populations=populations,
                            include_external=include_external)
    fig = plot_matrix(m, colors=_run_colors(ds) if by == "population" else None, ax=ax)
    fig.axes[0].set_title(f"connectivity: {m.attrs['long_name']}")
    return fig


#: Additive connectivity features → the pair dimension of the bars (the other one is stacked).
_ADDITIVE = {"count": "target", "convergence": "target", "divergence": "source"}


@fill_doc
def plot_stacked_bar(ds, *, feature: str = "convergence", populations: Sequence[str] | None = None,
                     include_external: bool = True, ax=None):
    """Stacked bar graph of connections (NetPyNE paper Fig. 6B).

    ``count`` and ``convergence``: one bar per postsynaptic population, stacked by presynaptic
    population; ``divergence``: one bar per presynaptic population, stacked by postsynaptic.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``connection_*`` variables and the cell table.
    feature : {"convergence", "count", "divergence"}
        An additive feature.
    %(populations)s
    include_external : bool
        Stack inputs from external sources (NetStims) too (not for divergence).
    %(ax_figure)s
    """
    from signals.analysis.connectivity import connectivity_matrix

    if feature not in _ADDITIVE:
        raise ValueError(f"a stacked bar needs an additive feature: one of {sorted(_ADDITIVE)}, "
                         f"got {feature!r}")
    bar_dim = _ADDITIVE[feature]
    m = connectivity_matrix(ds, feature=feature, populations=populations,
                            include_external=include_external and bar_dim == "target")
    stack_dim = "source" if bar_dim == "target" else "target"
    m = m.transpose(stack_dim, bar_dim)
    colors = _run_colors(ds)
    fig, ax = _axes(ax, figsize=(7, 5))
    bars = [str(v) for v in m[bar_dim].values]
    bottom = np.zeros(len(bars))
    for src in m[stack_dim].values:
        vals = np.nan_to_num(m.sel({stack_dim: src}).values)
        ax.bar(bars, vals, bottom=bottom, color=colors.get(str(src), "k"), label=str(src),
               edgecolor="white", lw=0.5)
        bottom += vals
    for i, total in enumerate(bottom):
        ax.text(i, total, f"{total:.3g}", ha="center", va="bottom", fontsize=9)
    ax.legend(title=m[stack_dim].attrs["long_name"], frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))
    ax.set_xlabel(m[bar_dim].attrs["long_name"])
    ylabel = {"count": "connections", "convergence": "inputs per postsynaptic cell",
              "divergence": "outputs per presynaptic cell"}[feature]
    ax.set_ylabel(f"{ylabel} (count)")
    ax.set_title(m.attrs["long_name"])
    ax.margins(y=0.1)
    return fig


@fill_doc
def plot_network_2d(ds, *, view: str | None = None, populations: Sequence[str] | None = None,
                    max_connections: int = 3000, ax=None):
    """Cells at their soma positions and their connections as lines (NetPyNE paper Fig. 6C).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with the cell table (``cell_x/y/z``, µm) and, for lines, ``connection_*``.
    view : {"xz", "xy", "yz", "zy", "zx", "yx"}, optional
        Projection plane, horizontal then vertical axis; ``xz`` shows z vertically (``xy``: y,
        NetPyNE's depth axis). Default: the view along the run's probe
        (:func:`electrode_view`) if it has one, else ``xz``.
    %(populations)s
    max_connections : int
        At most this many connections are drawn (an evenly spaced subset).
    %(ax_figure)s
    """
    from matplotlib.collections import LineCollection

    from signals.validation import check_option

    if view is None:
        has_probe = all(f"electrode_{c}" in ds.variables for c in "xyz") and ds.sizes.get("electrode", 0) > 1
        view = electrode_view(ds) if has_probe else "xz"
    check_option(view, "view", tuple(_VIEWS))
    a, b = _VIEWS[view]
    require(ds, f"cell_{a}", f"cell_{b}", what="the network figure")
    gids, pops = cell_table(ds)
    names = population_names(ds, populations)
    pos = {c: np.asarray(ds[f"cell_{c}"].values, dtype=float) for c in (a, b)}
    colors = _run_colors(ds)
    fig, ax = _axes(ax, figsize=(7, 6))
    title = "network"
    if "connection_pre" in ds.variables:
        pre = np.asarray(ds["connection_pre"].values, dtype=np.int64)
        post = np.asarray(ds["connection_post"].values, dtype=np.int64)
        shown = gids[np.isin(pops, names)]
        keep = np.flatnonzero(np.isin(pre, shown) & np.isin(post, shown))
        n_all = keep.size
        if keep.size > max_connections:
            keep = keep[np.linspace(0, keep.size - 1, int(max_connections)).round().astype(int)]
        order = np.argsort(gids)
        i = order[np.searchsorted(gids[order], pre[keep])]
        j = order[np.searchsorted(gids[order], post[keep])]
        segs = np.stack([np.stack([pos[a][i], pos[b][i]], -1), np.stack([pos[a][j], pos[b][j]], -1)], 1)
        ax.add_collection(LineCollection(segs, colors=[colors[p] for p in pops[i]], linewidths=0.3,
                                         alpha=0.25, zorder=1))
        title += f": {keep.size} of {n_all} connections drawn, coloured by presynaptic population"
    for p in names:
        sel = pops == p
        ax.scatter(pos[a][sel], pos[b][sel], s=22, color=colors[p], edgecolor="k", lw=0.4,
                   label=f"{p} ({int(sel.sum())})", zorder=2)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(f"{a} (µm)")
    ax.set_ylabel(f"{b} (µm)")
    ax.legend(title="population", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title, fontsize=10)
    return fig
