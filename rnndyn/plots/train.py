"""Pictures of training runs and of the slow points of a trained network.

Drawing only: learning curves from the history of :func:`rnndyn.train` (or of
saved runs), and the first three principal components of a network's
trajectories with its slow points coloured by kind (as in Sussillo & Barak
2013, Fig. 2). Each function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from rnndyn._validate import as_real_array
from rnndyn.errors import ValidationError

__all__ = ["plot_learning_curves", "plot_slow_points"]

#: Colour of each fixed-point kind.
KIND_COLORS = {"sink": "tab:blue", "saddle": "tab:orange", "source": "tab:red", "neutral": "tab:green"}

_PANELS = (("loss", "training loss", True), ("test_loss", "test loss", True),
           ("grad_ratio", "log10 ‖∂L/∂h_0‖ / ‖∂L/∂h_T‖", False), ("max_lyapunov", "max Lyapunov exponent", False))


def _history(run):
    h = run.get("history") if isinstance(run, dict) else getattr(run, "history", None)
    if not isinstance(h, dict) or "loss" not in h:
        raise ValidationError("runs: expected training runs (results of rd.train or rd.load_run) with a history")
    return h


def plot_learning_curves(runs, labels=None, baselines=None, accuracy=None) -> Figure:
    """Learning curves of several runs: losses with the input-blind baselines, gradient ratio, Lyapunov exponent.

    Parameters
    ----------
    runs : sequence of TrainResult (or dicts with a ``"history"``)
    labels : sequence of str, optional
    baselines : sequence of float, optional
        The loss of the best input-blind predictor of each run's task, drawn
        dashed in the loss panels (one line per distinct value).
    accuracy : bool, optional
        Add a test-accuracy panel; default: when some run has a finite one.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> h = {k: np.linspace(1, 0.1, 5) for k in ("loss", "test_loss", "grad_ratio", "max_lyapunov")}
    >>> fig = plot_learning_curves([{"history": h}], labels=["run"], baselines=[0.167])
    >>> len(fig.axes)
    4
    """
    runs = list(runs)
    if not runs:
        raise ValidationError("runs: expected at least one run")
    hists = [_history(r) for r in runs]
    labels = [f"run {i + 1}" for i in range(len(runs))] if labels is None else list(labels)
    if len(labels) != len(runs):
        raise ValidationError(f"labels: expected {len(runs)} labels (one per run), got {len(labels)}")
    if accuracy is None:
        accuracy = any(np.isfinite(np.asarray(h.get("test_accuracy", [np.nan]), float)).any() for h in hists)
    panels = list(_PANELS) + ([("test_accuracy", "test accuracy", False)] if accuracy else [])
    cols = 3 if len(panels) > 4 else 2
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(5.0 * cols, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (key, title, logy) in zip(axes, panels):
        for h, lb in zip(hists, labels):
            y = np.asarray(h.get(key, []), dtype=float)
            if not y.size:
                continue
            e = np.arange(1, y.size + 1)
            ok = np.isfinite(y) & ((y > 0) if logy else True)
            ax.plot(e[ok], y[ok], marker="o" if ok.sum() < 30 else None, ms=3, label=lb)
        if key in ("loss", "test_loss") and baselines is not None:
            for i, b in enumerate(sorted({float(b) for b in baselines if b is not None and np.isfinite(b)})):
                ax.axhline(b, color="k", ls="--", lw=1, label="baseline" if i == 0 else None)
        if logy:
            ax.set_yscale("log")
        if key == "max_lyapunov":
            ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_title(title)
        ax.set_xlabel("epoch")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    return fig


def plot_slow_points(slow, trajectories=None, title=None) -> Figure:
    """Trajectories and slow points in the first three principal components, points coloured by kind.

    Parameters
    ----------
    slow : SlowPoints
        From :func:`rnndyn.slow_points` (its ``states`` and ``kinds``).
    trajectories : array_like, shape (B, T+1, n), optional
        States of the network on its task; the principal components are those
        of these states (of the points when absent).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        A 3-D axes (2-D when n < 3) with grey trajectories and one marker per
        point: filled circles for sinks, crosses for saddles, triangles for
        sources, diamonds for neutral points.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> sp = rd.slow_points(rd.VanillaRNN(2.0 * np.eye(3)), n_starts=300)
    >>> fig = plot_slow_points(sp)
    >>> fig.axes[0].get_title()
    'slow points: 8 sink, 18 saddle, 1 source'
    """
    P = as_real_array(slow.states, "slow.states", ndim=2)
    kinds = list(slow.kinds)
    n = P.shape[1]
    X = None
    if trajectories is not None:
        X = as_real_array(trajectories, "trajectories", allow_nonfinite=True)
        if X.ndim == 2:
            X = X[None]
        if X.ndim != 3 or X.shape[2] != n:
            raise ValidationError(f"trajectories: expected shape (B, T+1, {n}), got {X.shape}")
    basis_data = X.reshape(-1, n) if X is not None else P
    basis_data = basis_data[np.isfinite(basis_data).all(axis=1)]
    mean = basis_data.mean(axis=0) if len(basis_data) else np.zeros(n)
    k = min(3, n)
    if len(basis_data) > 1:
        _, s, Vt = np.linalg.svd(basis_data - mean, full_matrices=False)
        comps = Vt[:k]
        var = (s ** 2 / max(np.sum(s ** 2), 1e-300))[:k]
    else:
        comps, var = np.eye(n)[:k], np.full(k, np.nan)
    fig = Figure(figsize=(7, 6), layout="constrained")
    ax = fig.add_subplot(projection="3d" if k == 3 else None)

    def proj(A):
        return (A - mean) @ comps.T

    if X is not None:
        for traj in X:
            Y = proj(traj[np.isfinite(traj).all(axis=1)])
            ax.plot(*Y.T, color="0.6", lw=0.6, alpha=0.6)
    markers = {"sink": "o", "saddle": "x", "source": "^", "neutral": "D"}
    Q = proj(P) if len(P) else np.zeros((0, k))
    for kind in ("sink", "saddle", "source", "neutral"):
        sel = [i for i, kd in enumerate(kinds) if kd == kind]
        if sel:
            ax.scatter(*Q[sel].T, color=KIND_COLORS[kind], marker=markers[kind], s=50, label=f"{kind} ({len(sel)})",
                       **({"depthshade": False} if k == 3 else {}))
    names = ["PC1", "PC2", "PC3"][:k]
    ax.set_xlabel(f"{names[0]} ({100 * var[0]:.0f} %)" if np.isfinite(var[0]) else names[0])
    if k > 1:
        ax.set_ylabel(f"{names[1]} ({100 * var[1]:.0f} %)" if np.isfinite(var[1]) else names[1])
    if k == 3:
        ax.set_zlabel(f"{names[2]} ({100 * var[2]:.0f} %)" if np.isfinite(var[2]) else names[2])
    counts = {}
    for kd in kinds:
        counts[kd] = counts.get(kd, 0) + 1
    summary = ", ".join(f"{counts[kd]} {kd}" for kd in ("sink", "saddle", "source", "neutral") if kd in counts)
    ax.set_title(title or f"slow points: {summary or 'none found'}")
    if kinds:
        ax.legend(fontsize=8, loc="upper left")
    return fig
