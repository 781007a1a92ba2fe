"""Axis helpers shared by the plot modules."""

from __future__ import annotations

import numpy as np

#: The range a log axis is kept in, and the most decades it spans. Matplotlib's log locator rounds its
#: tick stride outward and computes powers of ten beyond the limits: it overflows (an OverflowError
#: while drawing, or silently wrong limits) from ~1e290, or when the axis spans ~500 decades.
LOG_RANGE = (1e-250, 1e250)
MAX_DECADES = 400


def log_yaxis(ax, *arrays) -> None:
    """Make the y-axis logarithmic, fitted to the finite positive values of ``arrays`` (a decade of
    margin each side) within :data:`LOG_RANGE` and :data:`MAX_DECADES`; values beyond run off the axis
    instead of breaking it."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # autoscaling data near 1e308
        ax.set_yscale("log")
    vals = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays]) if arrays else np.zeros(0)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        return
    lo = max(np.log10(vals.min()) - 1.0, np.log10(LOG_RANGE[0]))
    hi = min(np.log10(vals.max()) + 1.0, np.log10(LOG_RANGE[1]))
    lo = max(lo, hi - MAX_DECADES)  # the largest values are kept in view: growth is what overflows
    if lo >= hi:
        lo = hi - 2.0
    ax.set_ylim(10.0 ** lo, 10.0 ** hi)
