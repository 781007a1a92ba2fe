"""Drawing norm growth: data in (results of :mod:`rnndyn.analysis.growth`), Figure out, no numerics.

Smerity's post: ‖W^t‖ against t and heatmaps of W^t for a
vanishing, an exploding and an orthogonal matrix; the Fibonacci matrix and its
eigendecomposition. CSC321 L15: the scalar products w^T and the tanh
"cliff". Dive into Deep Learning §5.4: the sigmoid's gradient,
products of 100 random matrices, Xavier's variances.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from rnndyn._validate import _describe
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.plots._axes import log_yaxis
from rnndyn.plots._results import require

__all__ = [
    "plot_activation_gradient",
    "plot_fibonacci",
    "plot_init_variance",
    "plot_matrix_products",
    "plot_norm_growth",
    "plot_power_heatmaps",
    "plot_scalar_products",
]

_CELL_TITLES = {
    "linear": "linear RNN $h_t = W h_{t-1}$: $\\|W^t\\|_2$",
    "vanilla": "vanilla RNN $h_t = \\phi(W h_{t-1})$",
    "euler": "Euler RNN $h_t = h_{t-1} + \\epsilon\\,\\phi((W-\\gamma I) h_{t-1})$",
    "antisymmetric": "antisymmetric RNN",
}


#: What the plots read of each result of :mod:`rnndyn.analysis.growth`.
_FIELDS = {
    "NormGrowth": ("inits", "times", "matrix_norms", "jacobian_norms", "spectral_radius", "cell", "size", "norms"),
    "PowerSnapshots": ("times", "states", "norms"),
    "FibonacciPowers": ("n", "by_multiplication", "by_eigendecomposition", "eigenvalues", "eigenvalue_powers",
                        "numbers", "golden_check", "golden_ratio"),
    "ProductGrowth": ("norms", "final", "max_abs"),
    "ScalarProducts": ("w", "times", "jacobians"),
    "Cliff": ("param", "values", "steps", "final", "loss", "w", "b", "target"),
    "VarianceCheck": ("method", "n_in", "n_out", "weight_var", "forward_var", "backward_var",
                      "predicted_forward_var", "predicted_backward_var"),
}


def _need(x, kind, name):
    require(x, _FIELDS[kind], name, kind, "rnndyn.analysis.growth")


def _positive(y):
    """Values a log axis can show (0 and non-finite left out as NaN)."""
    y = np.asarray(y, dtype=float).copy()
    y[~(np.isfinite(y) & (y > 0))] = np.nan
    return y


def plot_norm_growth(*results, figsize=None) -> Figure:
    """Norm against t on a log axis, one line per initialisation, one panel per result.

    Parameters
    ----------
    *results : NormGrowth
        From :func:`rnndyn.analysis.growth.norm_growth`. A linear result shows ‖W^t‖₂; a
        nonlinear one ‖∂h_t/∂h_0‖₂ (solid) over ‖W^t‖₂ (thin dotted).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from rnndyn.analysis.growth import norm_growth
    >>> fig = plot_norm_growth(norm_growth(size=8, steps=16))
    >>> len(fig.axes[0].get_lines()) >= 3
    True
    """
    if not results:
        raise ValidationError("results: expected at least one NormGrowth")
    for i, r in enumerate(results):
        _need(r, "NormGrowth", f"results[{i}]")
    k = len(results)
    fig = Figure(figsize=figsize or (5.2 * k, 4.2), layout="constrained")
    axes = fig.subplots(1, k, squeeze=False)[0]
    for ax, r in zip(axes, results):
        ax.axhline(1.0, color="0.6", linewidth=1, linestyle="--")
        for j, spec in enumerate(r.inits):
            color = f"C{j}"
            label = f"{spec}  ($\\rho(W)$ = {r.spectral_radius[j]:.2f})"
            if r.jacobian_norms is not None:
                ax.plot(r.times, _positive(r.matrix_norms[j]), color=color, linewidth=0.9, linestyle=":")
            ax.plot(r.times, _positive(r.norms[j]), color=color, linewidth=2, label=label)
        log_yaxis(ax, r.norms, r.matrix_norms if r.jacobian_norms is not None else ())
        ax.set_xlim(r.times[0], r.times[-1])
        ax.set_xlabel("time step $t$")
        if r.cell == "linear":
            ax.set_ylabel("$\\|W^t\\|_2$")
        else:
            ax.set_ylabel("$\\|\\partial h_t / \\partial h_0\\|_2$ (solid), $\\|W^t\\|_2$ (dotted)")
        ax.set_title(f"{_CELL_TITLES[r.cell]}, n = {r.size}", fontsize="medium")
        ax.legend(loc="best", fontsize="small")
        ax.grid(True, which="major", alpha=0.3)
    return fig


def plot_power_heatmaps(snapshots: Mapping, *, vmax=None, figsize=None) -> Figure:
    """Heatmaps of W^t h_0, one row per matrix, one column per t, on one colour scale.

    Parameters
    ----------
    snapshots : mapping of str -> PowerSnapshots
        Row label -> :func:`rnndyn.analysis.growth.power_snapshots` result; every entry
        must have the same ``times``.
    vmax : float, optional
        Colour limit (symmetric, ±vmax); by default 3/sqrt(n), a few times the
        typical entry of an n x n orthogonal matrix. Larger entries saturate.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        ``len(snapshots) * len(times)`` image axes and a colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> from rnndyn.analysis.growth import power_snapshots
    >>> fig = plot_power_heatmaps({"I": power_snapshots(np.eye(4), [0, 2])})
    >>> len(fig.axes)
    3
    """
    if not isinstance(snapshots, Mapping) or not snapshots:
        raise ArgumentTypeError(
            f"snapshots: expected a non-empty mapping of label -> PowerSnapshots, got {_describe(snapshots)}"
        )
    rows = list(snapshots.items())
    for label, s in rows:
        _need(s, "PowerSnapshots", f"snapshots[{label!r}]")
    times = rows[0][1].times
    if any(not np.array_equal(s.times, times) for _, s in rows):
        raise ValidationError("snapshots: every entry must have the same times")
    n = rows[0][1].states.shape[1]
    vmax = 3.0 / np.sqrt(n) if vmax is None else float(vmax)
    nr, nc = len(rows), len(times)
    fig = Figure(figsize=figsize or (2.1 * nc + 1.2, 2.25 * nr + 0.4), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False)
    im = None
    for i, (label, s) in enumerate(rows):
        for j, t in enumerate(times):
            ax = axes[i, j]
            img = np.where(np.isfinite(s.states[j]), s.states[j], np.nan)
            im = ax.imshow(img, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"$\\|W^{{{t}}} h_0\\|_2$ = {s.norms[j]:.2g}", fontsize="small")
            if i == 0:
                ax.set_title(f"t = {t}")
            if j == 0:
                ax.set_ylabel(label, fontsize="medium")
    fig.colorbar(im, ax=axes, shrink=0.8, label=f"entry (clipped to ±{vmax:.2g})")
    fig.suptitle("$W^t h_0$ with $h_0 = I$: repeated multiplication over "
                 f"{int(times[-1])} steps")
    return fig


def _annotated_matrix(ax, A, title):
    ax.imshow(np.zeros_like(A), cmap="Greys", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(A):
        ax.text(j, i, f"{v:.12g}", ha="center", va="center", fontsize="large")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize="medium")


def plot_fibonacci(fib, n_show=10, *, figsize=None) -> Figure:
    """The Fibonacci matrix, two ways: F^n by multiplication and Q Λ^n Q⁻¹, eigenvalue powers, φ.

    Parameters
    ----------
    fib : FibonacciPowers
        From :func:`rnndyn.analysis.growth.fibonacci`.
    n_show : int
        The power shown as a 2x2 matrix by both routes.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        Five axes: F^n (multiplication), F^n (eigendecomposition), λ_i^n,
        Fib(n) by both routes, and Fib(n+1)/Fib(n) → φ.

    Examples
    --------
    >>> from rnndyn.analysis.growth import fibonacci
    >>> len(plot_fibonacci(fibonacci(20)).axes)
    5
    """
    _need(fib, "FibonacciPowers", "fib")
    N = int(fib.n[-1])
    if not 0 <= n_show <= N:
        raise ValidationError(f"n_show: expected 0 <= n_show <= {N}, got {n_show!r}")
    fig = Figure(figsize=figsize or (13, 7.5), layout="constrained")
    ax = fig.subplot_mosaic([["mult", "eig", "lam"], ["fib", "fib", "ratio"]],
                            gridspec_kw={"height_ratios": [0.8, 1.2]})
    _annotated_matrix(ax["mult"], fib.by_multiplication[n_show],
                      f"$F^{{{n_show}}}$ by repeated multiplication\n(a linear RNN from $h_0 = I$)")
    diff = np.max(np.abs(fib.by_eigendecomposition - fib.by_multiplication) / np.maximum(1.0, fib.by_multiplication))
    _annotated_matrix(ax["eig"], fib.by_eigendecomposition[n_show],
                      f"$F^{{{n_show}}} = Q\\Lambda^{{{n_show}}}Q^{{-1}}$, "
                      f"$\\lambda$ = {fib.eigenvalues[0]:.6f}, {fib.eigenvalues[1]:.6f}\n"
                      f"(all n ≤ {N}: max relative difference {diff:.1e})")

    a = ax["lam"]
    lam = fib.eigenvalue_powers
    a.plot(fib.n, _positive(np.abs(lam[:, 0])), "o-", color="tab:red", markersize=3,
           label=f"$|\\lambda_1|^n$, $\\lambda_1$ = {fib.eigenvalues[0]:.4f} (explodes)")
    a.plot(fib.n, _positive(np.abs(lam[:, 1])), "o-", color="tab:blue", markersize=3,
           label=f"$|\\lambda_2|^n$, $\\lambda_2$ = {fib.eigenvalues[1]:.4f} (vanishes)")
    a.axhline(1.0, color="0.6", linestyle="--", linewidth=1)
    a.set_yscale("log")
    a.set_xlabel("$n$")
    a.set_title("Diagonal of $\\Lambda^n$", fontsize="medium")
    a.legend(fontsize="small")

    a = ax["fib"]
    a.plot(fib.n, _positive(fib.by_multiplication[:, 0, 1]), "o", color="black", markersize=6,
           markerfacecolor="none", label="$F^n[0,1]$ by repeated multiplication")
    a.plot(fib.n, _positive(fib.by_eigendecomposition[:, 0, 1]), "-", color="tab:orange", linewidth=1.5,
           label="$(Q\\Lambda^nQ^{-1})[0,1]$")
    a.plot(fib.n, _positive(fib.golden_ratio ** fib.n / np.sqrt(5)), ":", color="tab:red",
           label="$\\varphi^n/\\sqrt{5}$ (the exploding eigenvalue alone)")
    a.set_yscale("log")
    a.set_xlabel("$n$")
    a.set_ylabel("Fib($n$)")
    a.set_title("Fibonacci numbers from $F^n$, both routes", fontsize="medium")
    a.legend(fontsize="small", loc="upper left")

    a = ax["ratio"]
    f = fib.numbers
    n1 = np.arange(1, N)
    a.plot(n1, f[2:] / f[1:-1], "o-", markersize=3, color="black", label="Fib($n$+1) / Fib($n$)")
    a.axhline(fib.golden_ratio, color="tab:red", linestyle="--", linewidth=1,
              label=f"$\\varphi$ = {_legend_number(fib.golden_ratio)}")
    a.set_xlabel("$n$")
    a.set_title("The dominant eigenvalue is the golden ratio", fontsize="medium")
    check = ", ".join(str(int(v)) for v in fib.golden_check)
    a.text(0.97, 0.05, f"round(13 $\\varphi^i$), i = 0..4:\n{check}", transform=a.transAxes,
           ha="right", va="bottom", fontsize="medium",
           bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7"})
    a.legend(fontsize="small", loc="upper right")
    fig.suptitle("The Fibonacci matrix $F = [[1, 1], [1, 0]]$: $F^n = Q\\Lambda^nQ^{-1}$")
    return fig


def plot_scalar_products(products, cliff, *, figsize=None) -> Figure:
    """CSC321 L15 in one dimension: w^t against t, and the tanh RNN's cliff.

    Parameters
    ----------
    products : ScalarProducts
        From :func:`rnndyn.analysis.growth.scalar_products`.
    cliff : Cliff
        From :func:`rnndyn.analysis.growth.tanh_cliff`.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        Three axes: |∂h_t/∂h_0| (log), h_T against the parameter, the loss
        against the parameter (one line per horizon T).

    Examples
    --------
    >>> import numpy as np
    >>> from rnndyn.analysis.growth import scalar_products, tanh_cliff
    >>> fig = plot_scalar_products(scalar_products(), tanh_cliff(np.linspace(-2, 0, 50)))
    >>> len(fig.axes)
    3
    """
    _need(products, "ScalarProducts", "products")
    _need(cliff, "Cliff", "cliff")
    fig = Figure(figsize=figsize or (15, 4.4), layout="constrained")
    a0, a1, a2 = fig.subplots(1, 3)
    T = int(products.times[-1])
    for i, w in enumerate(products.w):
        y = products.jacobians[i]
        a0.plot(products.times, _positive(np.abs(y)), linewidth=2, color=f"C{i}",
                label=f"$w$ = {w:g}: $\\partial h_{{{T}}}/\\partial h_0$ = {y[-1]:.4g}")
        a0.plot([T], [abs(y[-1])], "o", color=f"C{i}")
    a0.axhline(1.0, color="0.6", linestyle="--", linewidth=1)
    a0.set_yscale("log")
    a0.set_xlabel("$t$")
    a0.set_ylabel("$|\\partial h_t / \\partial h_0| = |w|^t$")
    a0.set_title("Linear 1-D RNN $h_t = w\\,h_{t-1}$ (rd.tangent)", fontsize="medium")
    a0.legend(fontsize="small")

    p = "$b$" if cliff.param == "b" else "$w$"
    fixed = f"$w$ = {cliff.w:g}" if cliff.param == "b" else f"$b$ = {cliff.b:g}"
    S = len(cliff.steps)
    for j, Ts in enumerate(cliff.steps):
        lw = 1.2 + 1.3 * (S - 1 - j) / max(S - 1, 1)  # earlier horizons wider, so coinciding curves stay visible
        a1.plot(cliff.values, cliff.final[j], linewidth=lw, color=f"C{j}", label=f"T = {Ts}")
        a2.plot(cliff.values, cliff.loss[j], linewidth=lw, color=f"C{j}", label=f"T = {Ts}")
    for a in (a1, a2):
        a.set_xlabel(f"parameter {p}")
        a.set_xlim(cliff.values[0], cliff.values[-1])
        a.legend(fontsize="small")
    a1.set_ylabel("$h_T$")
    a1.set_title(f"$h_t = \\tanh(w h_{{t-1}} + b)$, {fixed}, $h_0$ = {cliff.h0:g}", fontsize="medium")
    a2.set_ylabel(f"loss $\\frac{{1}}{{2}}(h_T - {cliff.target:g})^2$")
    a2.set_title("The cliff: the loss jumps, sharper with every step", fontsize="medium")
    return fig


def plot_activation_gradient(x, y, dy, name="sigmoid", *, figsize=None) -> Figure:
    """An activation and its derivative on one axes (d2l §5.4.1.1).

    Parameters
    ----------
    x, y, dy : array_like, shape (m,)
        Inputs, activation values and derivatives.
    name : str
        Legend label of the activation.
    figsize : (float, float), optional
        Default (5.5, 3.2).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-8, 8, 9)
    >>> y = 1 / (1 + np.exp(-x))
    >>> len(plot_activation_gradient(x, y, y * (1 - y)).axes[0].get_lines())
    2
    """
    x, y, dy = (np.asarray(v, dtype=float) for v in (x, y, dy))
    if not (x.ndim == 1 and x.shape == y.shape == dy.shape):
        raise ValidationError(
            f"x, y, dy: expected three 1-D arrays of one length, got {x.shape}, {y.shape}, {dy.shape}"
        )
    fig = Figure(figsize=figsize or (5.5, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, y, color="tab:blue", linewidth=2, label=name)
    ax.plot(x, dy, color="tab:purple", linewidth=2, linestyle="--", label="gradient")
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("$x$")
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(f"{name} and its gradient (max {np.max(dy):.3g})", fontsize="medium")
    return fig


def _legend_number(x: float, digits: int = 4) -> str:
    r"""``x`` for a legend: ``digits`` significant digits, as m×10^e (mathtext) when huge or tiny.

    Examples
    --------
    >>> _legend_number(1.0000000000002), _legend_number(8.6317e25), _legend_number(4.4e-16), _legend_number(0.0)
    ('1.000', '$8.632\\times10^{25}$', '$4.400\\times10^{-16}$', '0')
    """
    x = float(x)
    if x == 0 or not np.isfinite(x):
        return "0" if x == 0 else str(x)
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:#.{digits}g}".rstrip(".")
    mant, exp = f"{x:.{digits - 1}e}".split("e")
    return f"${mant}\\times10^{{{int(exp)}}}$"


def _matrix_table(ax, A, title):
    ax.axis("off")
    cells = [[f"{v:.3e}" for v in row] for row in A]
    table = ax.table(cellText=cells, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    table.scale(1.0, 1.5)
    ax.set_title(title, fontsize="medium")


def plot_matrix_products(gaussian, orthogonal, *, rate=None, figsize=None) -> Figure:
    """d2l §5.4.1.2: norm of a product of random matrices against its length, and the final products.

    Parameters
    ----------
    gaussian, orthogonal : ProductGrowth
        From :func:`rnndyn.analysis.growth.gaussian_product` / :func:`rnndyn.analysis.growth.orthogonal_product`.
    rate : float, optional
        A growth rate (per factor) drawn as a dashed reference ``e^{rate k}``.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        Three axes: the norms (log), the final Gaussian product and the final
        orthogonal product as tables.

    Examples
    --------
    >>> from rnndyn.analysis.growth import gaussian_product, orthogonal_product
    >>> len(plot_matrix_products(gaussian_product(), orthogonal_product()).axes)
    3
    """
    _need(gaussian, "ProductGrowth", "gaussian")
    _need(orthogonal, "ProductGrowth", "orthogonal")
    fig = Figure(figsize=figsize or (14, 4.6), layout="constrained")
    gs = fig.add_gridspec(2, 2, width_ratios=[1, 1.25])
    ax = fig.add_subplot(gs[:, 0])
    k = np.arange(1, gaussian.norms.size + 1)
    ax.plot(k, _positive(gaussian.norms), color="tab:red", linewidth=2,
            label=f"Gaussian N(0, 1) factors: final {_legend_number(gaussian.norms[-1])}")
    ko = np.arange(1, orthogonal.norms.size + 1)
    ax.plot(ko, _positive(orthogonal.norms), color="tab:green", linewidth=2,
            label=f"orthogonal factors: final {_legend_number(orthogonal.norms[-1])} "
                  f"(differs from 1 by {_legend_number(abs(orthogonal.norms[-1] - 1.0), 2)})")
    if rate is not None:
        ax.plot(k, gaussian.norms[0] * np.exp(rate * (k - 1)), color="0.4", linestyle="--", linewidth=1,
                label=f"$e^{{{rate:.3f}\\,k}}$ (top Lyapunov exponent)")
    ax.set_yscale("log")
    ax.set_xlabel("number of factors $k$")
    ax.set_ylabel("$\\|M_1 M_2 \\cdots M_k\\|_2$")
    n = gaussian.final.shape[0]
    ax.set_title(f"Products of random {n}x{n} matrices", fontsize="medium")
    ax.legend(fontsize="small", loc="upper left")
    ax.grid(True, alpha=0.3)
    _matrix_table(fig.add_subplot(gs[0, 1]), gaussian.final,
                  f"a Gaussian matrix after multiplying {gaussian.norms.size - 1} more "
                  f"(max |entry| {gaussian.max_abs:.2e})")
    _matrix_table(fig.add_subplot(gs[1, 1]), orthogonal.final,
                  f"an orthogonal matrix after multiplying {orthogonal.norms.size - 1} more")
    return fig


def _method_label(method: str) -> str:
    """An initialisation method's name for a legend: ``xavier_normal`` as ``Xavier normal``."""
    words = str(method).replace("_", " ").split()
    return " ".join([words[0].capitalize(), *words[1:]]) if words else str(method)


def plot_init_variance(*checks, figsize=None) -> Figure:
    """Measured against predicted variances of initialised layers (d2l §5.4.2.2).

    Parameters
    ----------
    *checks : VarianceCheck
        From :func:`rnndyn.analysis.growth.init_variance`, one per method.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: a parity plot (forward Var[o] = n_in σ², backward n_out σ²,
        weights σ²) and the weight variance against n_in + n_out.

    Examples
    --------
    >>> from rnndyn.analysis.growth import init_variance
    >>> len(plot_init_variance(init_variance([8, 32], [32, 8], samples=64)).axes)
    2
    """
    if not checks:
        raise ValidationError("checks: expected at least one VarianceCheck")
    for i, c in enumerate(checks):
        _need(c, "VarianceCheck", f"checks[{i}]")
    fig = Figure(figsize=figsize or (11, 4.6), layout="constrained")
    a0, a1 = fig.subplots(1, 2)
    lo, hi = np.inf, 0.0
    for i, c in enumerate(checks):
        col = f"C{i}"
        for pred, meas, marker, what in (
            (c.predicted_forward_var, c.forward_var, "o", "forward Var[$o_i$]"),
            (c.predicted_backward_var, c.backward_var, "s", "backward Var[$(W^T g)_j$]"),
        ):
            a0.plot(pred, meas, marker, color=col, markerfacecolor="none" if marker == "s" else col,
                    linestyle="none", label=f"{_method_label(c.method)}: {what}")
            lo, hi = min(lo, pred.min(), meas.min()), max(hi, pred.max(), meas.max())
        s = c.n_in + c.n_out
        order = np.argsort(s, kind="stable")
        a1.plot(s[order], c.weight_var[order], "o", color=col, label=f"{_method_label(c.method)}: Var[$w_{{ij}}$]")
    s_all = np.unique(np.concatenate([c.n_in + c.n_out for c in checks]))
    a1.plot(s_all, 2.0 / s_all, "k--", linewidth=1, label="$2/(n_{in} + n_{out})$")
    a0.plot([lo * 0.8, hi * 1.25], [lo * 0.8, hi * 1.25], "k--", linewidth=1, label="measured = predicted")
    for a in (a0, a1):
        a.set_xscale("log")
        a.set_yscale("log")
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize="small")
    a0.set_xlabel("predicted: $n_{in}\\sigma^2$ (forward), $n_{out}\\sigma^2$ (backward)")
    a0.set_ylabel("measured variance")
    a0.set_title("Layer outputs and gradients: measured vs $n\\sigma^2$ (d2l eq. 5.4.5)", fontsize="medium")
    a1.set_xlabel("$n_{in} + n_{out}$")
    a1.set_ylabel("weight variance $\\sigma^2$")
    a1.set_title("$\\sigma^2 = 2/(n_{in}+n_{out})$", fontsize="medium")
    return fig
