"""Parameter sweeps: many configurations of cells, each measured, on one machine or a Dask cluster.

A sweep is the Cartesian product of grid axes (cell kind, size n, step ε,
diffusion γ, init spec, activation) times a number of seeds; every row is one
configuration × seed and every measure a number the library computes for it
(:data:`MEASURES`). The rows are cut into chunks of configurations of the same
shape and run by :mod:`dask.distributed` (a ``LocalCluster`` of worker
processes by default, any cluster through its ``Client``), or in this process
when Dask is not installed.

Every random draw of a row (W, input weights, inputs, h0, the upstream
gradient of ``grad_ratio``) comes from a generator seeded by the row's seed and
by the axes that shape the draws (size, init, inputs), so the table does not
depend on the number of workers, the chunking or the order in which chunks
finish; configurations that differ only in cell, ε, γ or activation see the
same W, inputs and h0 for a seed (common random numbers, which keep a heatmap
over (ε, γ) free of seed-to-seed noise between neighbouring cells).

Names
-----
sweep           run a sweep, return a :class:`SweepResult`
SweepResult     the table (one row per configuration × seed), CSV, pandas, summary
parse_axis      read an axis written ``a,b,c``, ``start:stop:num`` or ``log:start:stop:num``
stability_overlay  the forward-Euler boundary and critical γ(ε) of a sweep's (ε, γ) grid
MEASURES, AXES, CELLS
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import sys
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnndyn._validate import _describe, as_float, as_int, did_you_mean
from rnndyn.errors import ArgumentTypeError, DivergenceWarning, UnknownNameError, ValidationError
from rnndyn.kernels.params import ACTIVATIONS
from rnndyn.matrices import parse_init_spec

__all__ = [
    "AXES",
    "CELLS",
    "MEASURES",
    "SweepResult",
    "SweepSummary",
    "parse_axis",
    "parse_measure",
    "stability_overlay",
    "sweep",
]

#: The grid axes, in the order of the table's columns and of the product (the last varies fastest).
AXES = ("cell", "size", "eps", "gamma", "init", "activation")

#: The value of an axis the grid does not give.
AXIS_DEFAULTS = {"cell": "antisymmetric", "size": 16, "eps": 0.1, "gamma": 0.0, "init": "normal",
                 "activation": "tanh"}

#: The cell kinds of the ``cell`` axis: the library's cells and the gated AntisymmetricRNN.
CELLS = ("vanilla", "euler", "antisymmetric", "antisymmetric-gated")

#: What can be measured (``lyapunov_top`` is written ``lyapunov_top:K``).
MEASURES = ("lyapunov_max", "lyapunov_sum", "lyapunov_top", "jacobian_sv", "grad_ratio", "euler_factor",
            "spectral_radius", "critical_gamma", "diverged_at")

_MEASURE_HELP = {
    "lyapunov_max": "largest Lyapunov exponent (lyapunov_spectrum with k = 1)",
    "lyapunov_sum": "sum of all n exponents (lyapunov_spectrum with k = n)",
    "lyapunov_top": "the K largest exponents, columns lyapunov_top_1 .. lyapunov_top_K (k = K)",
    "jacobian_sv": "log10 of min/max singular value of dh_T/dh_0 (tangent)",
    "grad_ratio": "log10 ||dL/dh_0|| / ||dL/dh_T|| for a unit upstream gradient at T (bptt)",
    "euler_factor": "max |1 + eps lambda| at the origin (stability); nan for a vanilla cell",
    "spectral_radius": "spectral radius of the one-step Jacobian at the origin (stability)",
    "critical_gamma": "smallest gamma >= 0 making forward Euler stable (stability); nan when none",
    "diverged_at": "first step where the trajectory became non-finite, -1 when it did not (simulate)",
}

#: Grammar of the numeric axes, as error messages state it.
AXIS_GRAMMAR = ("a comma list (0.01,0.1), start:stop:num (linspace, num points) or log:start:stop:num "
                "(num points spaced evenly in log10)")

#: Seconds of work a chunk aims at when its size is chosen from the cost estimate, at least: long enough that
#: the scheduler's time per task (:data:`TASK_OVERHEAD`) is under 1 % of the time.
CHUNK_SECONDS = 1.0
#: The scheduler's time per task assumed by the chunk size (about a millisecond for dask.distributed). It
#: handles the tasks one after another while the work is shared by the workers, so a chunk must carry at least
#: 100 · TASK_OVERHEAD · workers seconds of work for the scheduler to stay under 1 %.
TASK_OVERHEAD = 2.0e-3
#: Rough speed of the kernels (multiply-adds per second on one core) used by the cost estimate, and the
#: per-row cost of the Python around them (validation, result objects).
_FLOPS = 1.0e9
_ROW_OVERHEAD = 3.0e-4


# --------------------------------------------------------------------------- specs


def _numbers(name: str, text: str) -> list[float]:
    t = text.strip()
    parts = t.split(":")
    try:
        if parts[0].strip().lower() == "log":
            if len(parts) != 4:
                raise ValueError
            a, b, num = float(parts[1]), float(parts[2]), int(parts[3])
            if a <= 0 or b <= 0 or num < 1:
                raise ValidationError(f"{name}: log:start:stop:num needs start, stop > 0 and num >= 1, got {text!r}")
            return [float(v) for v in np.geomspace(a, b, num)]
        if len(parts) == 3:
            a, b, num = float(parts[0]), float(parts[1]), int(parts[2])
            if num < 1:
                raise ValidationError(f"{name}: start:stop:num needs num >= 1, got {text!r}")
            return [float(v) for v in np.linspace(a, b, num)]
        if len(parts) != 1:
            raise ValueError
        return [float(v) for v in t.split(",")]
    except ValidationError:
        raise
    except ValueError:
        raise ValidationError(f"{name}: cannot read {text!r}; expected {AXIS_GRAMMAR}") from None


def parse_axis(name: str, spec, argname: str | None = None) -> tuple:
    """The values of one grid axis, read from a spec or a list of specs.

    Parameters
    ----------
    name : str
        One of :data:`AXES`.
    spec : str, number or sequence of them
        A numeric axis (size, eps, gamma) takes comma lists ``0.01,0.1``,
        ``start:stop:num`` (``numpy.linspace``) or ``log:start:stop:num``
        (``numpy.geomspace``); ``cell``, ``init`` and ``activation`` take comma
        lists of names (init specs as in :func:`rnndyn.init.from_spec`). A
        sequence is the concatenation of its items; repeated values are kept once.
    argname : str, optional
        How error messages name the axis (the command line's ``--gamma``).

    Returns
    -------
    tuple
        Canonical values: ints for size, floats for eps and gamma, canonical
        init spec texts, names.

    Raises
    ------
    ValidationError
        A spec that does not follow the grammar, or a value out of range; the
        message names ``argname``.

    Examples
    --------
    >>> from rnndyn.analysis.sweep import parse_axis
    >>> parse_axis("gamma", "0:0.5:3")
    (0.0, 0.25, 0.5)
    >>> parse_axis("eps", ["0.01,0.1", "log:0.1:10:3"])
    (0.01, 0.1, 1.0, 10.0)
    >>> parse_axis("init", "orthogonal,normal:std=0.1")
    ('orthogonal', 'normal:std=0.1')
    """
    if name not in AXES:
        raise UnknownNameError(f"grid: unknown axis {name!r}; expected one of {', '.join(AXES)}"
                               f"{did_you_mean(name, AXES)}")
    arg = argname or name
    items = list(spec) if isinstance(spec, (list, tuple, np.ndarray)) else [spec]
    if not items:
        raise ValidationError(f"{arg}: expected at least one value")
    values = []
    for item in items:
        if isinstance(item, str):
            if not item.strip():
                raise ValidationError(f"{arg}: expected a value, got an empty string")
            if name in ("size", "eps", "gamma"):
                values += _numbers(arg, item)
            else:
                values += [s.strip() for s in item.split(",")]
        else:
            values.append(item)
    out = []
    for v in values:
        c = _axis_value(name, v, arg)
        if c not in out:
            out.append(c)
    return tuple(out)


def _axis_value(name, v, arg):
    if name == "size":
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return as_int(v, arg, minimum=1)
    if name == "eps":
        return as_float(v, arg, positive=True)
    if name == "gamma":
        return as_float(v, arg, nonnegative=True)
    if not isinstance(v, str) or not v:
        raise ArgumentTypeError(f"{arg}: expected a name, got {_describe(v)}")
    if name == "init":
        return str(parse_init_spec(v, argname=arg))
    options = CELLS if name == "cell" else tuple(ACTIVATIONS)
    if v not in options:
        raise UnknownNameError(f"{arg}: expected one of {', '.join(options)}, got {v!r}{did_you_mean(v, options)}")
    return "linear" if v == "identity" else v


def parse_measure(spec, argname: str = "measures") -> tuple[str, int]:
    """``"lyapunov_top:3"`` -> ``("lyapunov_top", 3)``, ``"euler_factor"`` -> ``("euler_factor", 0)``.

    Examples
    --------
    >>> from rnndyn.analysis.sweep import parse_measure
    >>> parse_measure("lyapunov_top:3"), parse_measure("grad_ratio")
    (('lyapunov_top', 3), ('grad_ratio', 0))
    """
    if not isinstance(spec, str):
        raise ArgumentTypeError(f"{argname}: expected a measure name, got {_describe(spec)}")
    name, colon, k = spec.strip().partition(":")
    if name not in MEASURES:
        raise UnknownNameError(f"{argname}: unknown measure {spec!r}; expected one of "
                               f"{', '.join(m if m != 'lyapunov_top' else 'lyapunov_top:K' for m in MEASURES)}"
                               f"{did_you_mean(name, MEASURES)}")
    if name == "lyapunov_top":
        try:
            kk = int(k)
        except ValueError:
            raise ValidationError(f"{argname}: lyapunov_top takes the number of exponents, lyapunov_top:K with "
                                  f"K >= 1, got {spec!r}") from None
        if kk < 1:
            raise ValidationError(f"{argname}: lyapunov_top:K needs K >= 1, got {spec!r}")
        return name, kk
    if colon:
        raise ValidationError(f"{argname}: {name} takes no parameter, got {spec!r}")
    return name, 0


def _measure_columns(measures) -> tuple[str, ...]:
    cols = []
    for name, k in measures:
        cols += [f"lyapunov_top_{i}" for i in range(1, k + 1)] if name == "lyapunov_top" else [name]
    return tuple(cols)


def _parse_inputs(inputs):
    if inputs is None or (isinstance(inputs, str) and inputs.strip().lower() == "none"):
        return None
    if isinstance(inputs, str):
        head, colon, std = inputs.strip().partition(":")
        if head == "noise":
            try:
                s = float(std) if colon else 1.0
            except ValueError:
                s = math.nan
            if math.isfinite(s) and s >= 0:
                return f"noise:{s!r}"
    raise ValidationError(f"inputs: expected None, 'none' or 'noise:STD' (Gaussian inputs of standard deviation "
                          f"STD >= 0 in one channel), got {_describe(inputs)}")


@dataclass(frozen=True)
class _Plan:
    axes: dict  # axis -> tuple of values
    measures: tuple  # ((name, k), ...)
    steps: int
    transient: int
    inputs: str | None
    seeds: tuple
    configs: tuple  # tuples in AXES order
    columns: tuple  # measure columns

    @property
    def nrows(self) -> int:
        return len(self.configs) * len(self.seeds)

    def row(self, i: int):
        return self.configs[i // len(self.seeds)], self.seeds[i % len(self.seeds)]

    def manifest(self) -> dict:
        from rnndyn import __version__

        return {"grid": {a: list(v) for a, v in self.axes.items()},
                "measures": [m if not k else f"{m}:{k}" for m, k in self.measures],
                "steps": self.steps, "transient": self.transient, "inputs": self.inputs,
                "seeds": list(self.seeds), "columns": list(self.columns), "rnndyn": __version__}


def _plan(grid, measures, steps, transient, inputs, seeds) -> _Plan:
    if grid is None:
        grid = {}
    if not hasattr(grid, "items"):
        raise ArgumentTypeError(f"grid: expected a mapping of axis -> values, got {_describe(grid)}")
    for a in grid:
        if a not in AXES:
            raise UnknownNameError(f"grid: unknown axis {a!r}; expected one of {', '.join(AXES)}"
                                   f"{did_you_mean(a, AXES)}")
    axes = {a: parse_axis(a, grid[a] if a in grid else AXIS_DEFAULTS[a], f"grid[{a!r}]") for a in AXES}
    if isinstance(measures, str):
        measures = [measures]
    if not isinstance(measures, (list, tuple)) or not measures:
        raise ValidationError(f"measures: expected one or more of {', '.join(MEASURES)}, got {_describe(measures)}")
    ms = []
    for m in measures:
        p = parse_measure(m)
        if p not in ms:
            ms.append(p)
    top = max((k for m, k in ms if m == "lyapunov_top"), default=0)
    if top > min(axes["size"]):
        raise ValidationError(f"measures: lyapunov_top:{top} asks for more exponents than the smallest size "
                              f"n = {min(axes['size'])}")
    steps = as_int(steps, "steps", minimum=1)
    transient = as_int(transient, "transient", minimum=0)
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = tuple(range(as_int(seeds, "seeds", minimum=1)))
    elif isinstance(seeds, (list, tuple, range, np.ndarray)) and len(seeds):
        seeds = tuple(as_int(s, "seeds", minimum=0) for s in seeds)
        if len(set(seeds)) != len(seeds):
            raise ValidationError(f"seeds: expected distinct seeds, got {list(seeds)}")
    else:
        raise ValidationError(f"seeds: expected a number of seeds >= 1 or a list of seeds, got {_describe(seeds)}")
    configs = tuple(itertools.product(*(axes[a] for a in AXES)))
    return _Plan(axes, tuple(ms), steps, transient, _parse_inputs(inputs), seeds, configs, _measure_columns(ms))


# --------------------------------------------------------------------------- one row


def _draw_key(size, init, inputs) -> int:
    # zlib.crc32, not hash(): Python salts str hashes per process, and workers are other processes
    return zlib.crc32(f"{size}|{init}|{inputs}".encode())


def _problem(config, seed, steps, transient, inputs):
    """(cell, h0, inputs, unit upstream gradient) of one row: every draw from (its size, init, inputs, seed)."""
    from rnndyn.systems.build import build_cell, random_problem

    cell, size, eps, gamma, init, activation = config
    g = np.random.default_rng(np.random.SeedSequence([seed, _draw_key(size, init, inputs)]))
    kind = "antisymmetric" if cell == "antisymmetric-gated" else cell
    total = transient + steps
    p = random_problem(kind, size, init=init, d=1 if inputs else 0, steps=total, eps=eps, gamma=gamma,
                       activation=activation, rng=g)
    system, x = p.system, p.inputs
    if cell == "antisymmetric-gated":
        system = build_cell("antisymmetric", system.W, eps=eps, gamma=gamma, activation=activation,
                            V=system.V if inputs else None, gated=True)
    if x is not None:
        x = x * float(inputs.partition(":")[2])
    u = g.standard_normal(size)
    u /= np.linalg.norm(u)
    return system, p.h0, x, u


def measure_row(config, seed, measures, steps, transient=0, inputs=None, backend="auto"):
    """The measured values of one configuration and seed, and its error text ("" when none).

    What :func:`sweep` computes for each row, with the library's own functions:
    ``lyapunov_*`` by :func:`rnndyn.lyapunov_spectrum` (``steps`` accumulated
    after ``transient``), ``jacobian_sv`` by :func:`rnndyn.tangent` and
    ``grad_ratio`` by :func:`rnndyn.bptt` over the ``steps`` steps that follow
    the transient (from the state :func:`rnndyn.simulate` reaches), the
    spectral measures by :func:`rnndyn.stability` and ``diverged_at`` by
    :func:`rnndyn.simulate` over all ``transient + steps`` steps.

    Parameters
    ----------
    config : tuple
        (cell, size, eps, gamma, init, activation), canonical values (:func:`parse_axis`).
    seed : int
    measures : sequence of (name, k)
        As :func:`parse_measure` returns them.
    steps, transient : int
    inputs : None or str
        ``"noise:STD"``.
    backend : str

    Returns
    -------
    values : list of float
        One per column, in the order of the measures.
    error : str
        The error raised, or the divergence reported, else "".
    """
    from rnndyn.analysis.gradients import bptt
    from rnndyn.analysis.lyapunov import lyapunov_spectrum
    from rnndyn.analysis.stability import singular_values, stability
    from rnndyn.analysis.trajectories import simulate, tangent

    ncols = len(_measure_columns(measures))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DivergenceWarning)
            cell, h0, x, u = _problem(config, seed, steps, transient, inputs)
            spectra, start, report, values = {}, None, None, []

            def les(k):
                if k not in spectra:
                    spectra[k] = lyapunov_spectrum(cell, h0, x, steps=steps, k=k, transient=transient,
                                                   backend=backend).exponents
                return spectra[k]

            def after_transient():
                if transient == 0:
                    return h0, x
                tr = simulate(cell, h0, None if x is None else x[:transient], steps=transient, record="last",
                              backend=backend)
                return tr.final, None if x is None else x[transient:]

            for name, k in measures:
                if name == "lyapunov_max":
                    values.append(float(les(1)[0]))
                elif name == "lyapunov_sum":
                    values.append(float(np.sum(les(None))))
                elif name == "lyapunov_top":
                    values += [float(v) for v in les(k)]
                elif name == "diverged_at":
                    values.append(float(simulate(cell, h0, x, steps=transient + steps, record="last",
                                                 backend=backend).diverged_at))
                elif name in ("jacobian_sv", "grad_ratio"):
                    start = start or after_transient()
                    if name == "jacobian_sv":
                        sv = singular_values(tangent(cell, start[0], start[1], steps=steps, backend=backend).jacobian)
                        with np.errstate(divide="ignore", invalid="ignore"):
                            values.append(float(np.log10(sv.min() / sv.max())))
                    else:
                        up = np.zeros((steps + 1, cell.n))
                        up[-1] = u
                        dn = bptt(cell, start[0], start[1], steps=steps, dL_dh=up, backend=backend).delta_norms
                        with np.errstate(divide="ignore", invalid="ignore"):
                            values.append(float(np.log10(dn[0] / dn[-1])))
                else:
                    report = report or stability(cell)
                    v = getattr(report, name)
                    values.append(math.nan if v is None else float(v))
        diverged = [str(w.message) for w in caught if issubclass(w.category, DivergenceWarning)]
        return values, ("diverged: " + diverged[0]) if diverged else ""
    except Exception as exc:  # noqa: BLE001  one configuration's failure is recorded in its rows, not raised
        return [math.nan] * ncols, f"{type(exc).__name__}: {exc}"


def run_chunk(items, measures, steps, transient, inputs, backend="auto"):
    """Measure the rows ``items``, each ``(row, config, seed)``: the task of a sweep.

    Returns
    -------
    list of (row, values, error)
    """
    return [(int(i), *measure_row(config, seed, measures, steps, transient, inputs, backend))
            for i, config, seed in items]


def _row_seconds(config, measures, steps, transient) -> float:
    """Estimated seconds of one row on one core (multiply-adds of the kernels the measures run)."""
    n = config[1]
    T = steps + transient
    work = 0.0
    for name, k in measures:
        kk = {"lyapunov_max": 1, "lyapunov_sum": n, "lyapunov_top": k}.get(name)
        if kk is not None:
            work += T * n * (n * kk + 4 * kk * kk)
        elif name == "jacobian_sv":
            work += steps * n * n * n
        elif name == "grad_ratio":
            work += 3 * steps * n * n
        elif name == "diverged_at":
            work += T * n * n
        else:
            work += 30 * n * n * n
    return _ROW_OVERHEAD + work / _FLOPS


def _chunks(plan: _Plan, todo, chunk, workers: int):
    """Rows grouped by shape (cell, size, activation), each group cut into chunks of ``chunk`` rows (or a size
    chosen from the cost estimate)."""
    groups: dict = {}
    for i in todo:
        c = plan.configs[i // len(plan.seeds)]
        groups.setdefault((c[0], c[1], c[5]), []).append(i)
    out = []
    for rows in groups.values():
        if chunk is None:
            cfg = plan.configs[rows[0] // len(plan.seeds)]
            per = _row_seconds(cfg, plan.measures, plan.steps, plan.transient)
            size = max(1, int(max(CHUNK_SECONDS, 100 * TASK_OVERHEAD * workers) / per))
            # at least four chunks per worker over the whole sweep, so that no worker idles at the end
            size = min(size, max(1, -(-len(todo) // (4 * max(1, workers)))))
        else:
            size = chunk
        out += [[(i, *plan.row(i)) for i in rows[j:j + size]] for j in range(0, len(rows), size)]
    return out


# --------------------------------------------------------------------------- the result


class _Table:
    columns: tuple
    data: dict

    def __len__(self) -> int:
        return len(self.data[self.columns[0]]) if self.columns else 0

    def __getitem__(self, column):
        return self.data[column]

    def rows(self) -> list[tuple]:
        """The table as a list of row tuples, in the order of :attr:`columns`."""
        return list(zip(*(self.data[c].tolist() for c in self.columns)))

    def to_csv(self, path=None) -> str:
        """Write the table as CSV to ``path`` (atomically) and return the text; floats as ``repr`` (exact)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in self.rows():
            w.writerow([repr(v) if isinstance(v, float) else v for v in r])
        text = buf.getvalue()
        if path is not None:
            _write_atomic(Path(path), text)
        return text

    def to_pandas(self):
        """The table as a :class:`pandas.DataFrame` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame({c: self.data[c] for c in self.columns}, columns=list(self.columns))

    def to_dict(self) -> dict:
        """``{"columns": [...], "rows": [[...], ...]}`` for JSON."""
        return {"columns": list(self.columns), "rows": [list(r) for r in self.rows()]}


@dataclass(frozen=True, eq=False)
class SweepResult(_Table):
    """Result of :func:`sweep`: one row per configuration × seed.

    Attributes
    ----------
    columns : tuple of str
        The axes (:data:`AXES`), ``seed``, one column per measured value
        (``lyapunov_top:K`` gives ``lyapunov_top_1`` .. ``lyapunov_top_K``), and
        ``error`` ("" when the row ran cleanly; the exception or the divergence
        otherwise, with nan in the measures that could not be computed).
    data : dict of str -> ndarray
        Each column as an array (object arrays for the names, ints for size and
        seed, floats for the measures).
    measures : tuple of str
        The measure specs, as given.
    steps, transient : int
    inputs : str or None
    seeds : tuple of int
    engine : str
        What ran the sweep: "dask (N workers)", "this process (serial)", or "nothing left to run
        (resumed)" when every row was already in ``out``.
    """

    columns: tuple
    data: dict
    measures: tuple
    steps: int
    transient: int
    inputs: str | None
    seeds: tuple
    engine: str = "this process (serial)"

    @property
    def value_columns(self) -> tuple:
        """The columns of measured values."""
        return self.columns[len(AXES) + 1:-1]

    @property
    def varying(self) -> tuple:
        """The axes that take more than one value."""
        return tuple(a for a in AXES if len(set(self.data[a].tolist())) > 1)

    def summary(self) -> SweepSummary:
        """Mean, std, min and max of every measured value over the seeds of each configuration.

        Rows with an error are left out of the statistics (``errors`` counts
        them); a configuration whose every row failed gets nan.
        """
        keys = list(zip(*(self.data[a].tolist() for a in AXES)))
        groups: dict = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        err = self.data["error"]
        cols = list(AXES) + ["seeds", "errors"]
        stats = ("mean", "std", "min", "max")
        for m in self.value_columns:
            cols += [f"{m}_{s}" for s in stats]
        data = {c: [] for c in cols}
        for k, idx in groups.items():
            for a, v in zip(AXES, k):
                data[a].append(v)
            ok = [i for i in idx if not err[i]]
            data["seeds"].append(len(idx))
            data["errors"].append(len(idx) - len(ok))
            for m in self.value_columns:
                v = self.data[m][ok]
                v = v[np.isfinite(v)] if m == "diverged_at" else v
                funcs = (np.mean, np.std, np.min, np.max)
                for s, f in zip(stats, funcs):
                    data[f"{m}_{s}"].append(float(f(v)) if v.size else math.nan)
        return SweepSummary(tuple(cols), {c: _array(c, data[c]) for c in cols})

    def pivot(self, measure: str, x: str, y: str | None = None, stat: str = "mean"):
        """A measure over one or two axes, reduced over seeds (rows with errors left out).

        Parameters
        ----------
        measure : str
            A value column.
        x, y : str
            Axes; every other axis must take one value.
        stat : {"mean", "std", "min", "max"}

        Returns
        -------
        xs : ndarray
        ys : ndarray or None
        values : ndarray, shape (len(xs),) or (len(ys), len(xs))
        """
        if measure not in self.value_columns:
            raise ValidationError(f"measure: expected one of {', '.join(self.value_columns)}, got {measure!r}")
        for a in (x, y):
            if a is not None and a not in AXES:
                raise ValidationError(f"axis: expected one of {', '.join(AXES)}, got {a!r}")
        fixed = [a for a in self.varying if a not in (x, y)]
        if fixed:
            raise ValidationError(f"axis: {', '.join(fixed)} also {'varies' if len(fixed) == 1 else 'vary'}; pick a "
                                  "sweep where only the plotted axes vary")
        s = self.summary()
        xs = sorted(set(s[x].tolist()))
        col = s[f"{measure}_{stat}"]
        if y is None:
            vals = np.full(len(xs), math.nan)
            for xv, v in zip(s[x].tolist(), col):
                vals[xs.index(xv)] = v
            return np.array(xs), None, vals
        ys = sorted(set(s[y].tolist()))
        vals = np.full((len(ys), len(xs)), math.nan)
        for xv, yv, v in zip(s[x].tolist(), s[y].tolist(), col):
            vals[ys.index(yv), xs.index(xv)] = v
        return np.array(xs), np.array(ys), vals


@dataclass(frozen=True, eq=False)
class SweepSummary(_Table):
    """:meth:`SweepResult.summary`: per configuration the axes, the number of seeds and of failed rows, and
    ``MEASURE_mean``, ``_std``, ``_min``, ``_max`` over its seeds."""

    columns: tuple
    data: dict


def _array(column, values):
    if column in ("cell", "init", "activation", "error"):
        return np.array(values, dtype=object)
    if column in ("size", "seed", "seeds", "errors"):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=np.float64)


def _result(plan: _Plan, done: dict, engine: str) -> SweepResult:
    cols = (*AXES, "seed", *plan.columns, "error")
    data = {c: [] for c in cols}
    for i in range(plan.nrows):
        config, seed = plan.row(i)
        values, error = done[i]
        for a, v in zip(AXES, config):
            data[a].append(v)
        data["seed"].append(seed)
        for c, v in zip(plan.columns, values):
            data[c].append(v)
        data["error"].append(error)
    specs = tuple(m if not k else f"{m}:{k}" for m, k in plan.measures)
    return SweepResult(cols, {c: _array(c, data[c]) for c in cols}, specs, plan.steps, plan.transient,
                       plan.inputs, plan.seeds, engine)


# --------------------------------------------------------------------------- the folder: manifest, parts, table


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _open_folder(out, plan: _Plan, resume: bool) -> dict:
    """Create ``out`` with its manifest, or check the manifest of a sweep to resume; the rows already done."""
    out = Path(out)
    manifest = plan.manifest()
    path = out / "manifest.json"
    done: dict = {}
    if path.exists():
        if not resume:
            raise ValidationError(f"out: {str(out)!r} already holds a sweep (manifest.json); pass resume=True "
                                  "(--resume) to continue it, or choose another folder")
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(f"out: cannot read {str(path)!r}: {exc}") from None
        diff = [k for k in manifest if old.get(k) != manifest[k]]
        if diff:
            raise ValidationError(f"resume: the sweep in {str(out)!r} differs in {', '.join(diff)} "
                                  f"({'; '.join(f'{k}: {old.get(k)!r} there, {manifest[k]!r} here' for k in diff)}); "
                                  "run it with the same arguments, or choose another folder")
        for part in sorted((out / "parts").glob("part-*.json")):
            try:
                rec = json.loads(part.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a part is only ever renamed into place whole; anything else is not one
            for i, values, error in rec["rows"]:
                done[int(i)] = ([float(v) for v in values], error)
        return done
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(manifest, indent=1) + "\n")
    return done


def _write_part(out, rows) -> None:
    first = min(r[0] for r in rows)
    last = max(r[0] for r in rows)
    rec = {"rows": [[i, list(v), e] for i, v, e in rows]}
    _write_atomic(Path(out) / "parts" / f"part-{first:09d}-{last:09d}.json", json.dumps(rec) + "\n")


# --------------------------------------------------------------------------- engines


def _have_distributed() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


class _TextProgress:
    def __init__(self):
        self.tty = bool(getattr(sys.stderr, "isatty", lambda: False)())

    def __call__(self, done, total):
        if self.tty:
            sys.stderr.write(f"\rsweep: {done}/{total} chunks")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def sweep(grid, measures, *, steps, transient=0, inputs=None, seeds=1, client=None, chunk=None, out=None,
          resume=False, progress=True, backend="auto", workers=None) -> SweepResult:
    """Measure every configuration of a grid, for several seeds, on a Dask cluster or in this process.

    Parameters
    ----------
    grid : mapping of str -> value, spec or list
        Axes of :data:`AXES`: ``cell`` (:data:`CELLS`), ``size``, ``eps``,
        ``gamma``, ``init`` (init specs, :func:`rnndyn.init.from_spec`),
        ``activation``; each a value, a list, or a spec :func:`parse_axis`
        reads (``"0:0.5:11"``). An axis not given takes its
        :data:`AXIS_DEFAULTS` value. The configurations are the Cartesian
        product, the last axis varying fastest.
    measures : str or sequence of str
        Of :data:`MEASURES` (``lyapunov_top:K`` for the K largest exponents);
        :func:`measure_row` says which library function computes each.
    steps : int
        Steps T measured (after the transient).
    transient : int
        Steps run first and not measured.
    inputs : None or "noise:STD"
        Autonomous cells, or driven by seeded Gaussian inputs of standard
        deviation STD in one channel (input weights N(0, 1)).
    seeds : int or sequence of int
        How many seeds (0 .. seeds − 1) or which.
    client : distributed.Client, optional
        A client of an existing cluster (``dask scheduler`` + ``dask worker``,
        dask-jobqueue, Kubernetes). None: a ``LocalCluster`` of worker
        processes with one thread each is started for this sweep and closed
        after it.
    chunk : int, optional
        Rows per task. Default: chosen from a cost estimate so that a task
        takes about :data:`CHUNK_SECONDS` and every worker gets several tasks.
    out : str or Path, optional
        A folder: ``manifest.json`` (the sweep's arguments and rnndyn
        version), ``parts/`` (each finished chunk, written as soon as it
        arrives) and the merged table ``sweep.csv``.
    resume : bool
        Continue the sweep in ``out``: the rows already in its parts are not
        run again. Refused when the manifest differs from these arguments.
    progress : bool or callable
        True: a line on stderr when it is a terminal; a callable is called as
        ``progress(done_chunks, total_chunks)``.
    backend : str
        Passed to every measure (:func:`rnndyn.get_backend`).
    workers : int, optional
        Worker processes of the ``LocalCluster`` (default: the CPU count,
        at most the number of chunks); 0 runs the sweep in this process.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValidationError
        Bad grid, measures, steps or seeds, or a folder that cannot be
        resumed; the message names the argument. A configuration that raises
        while it is measured does not raise here: its rows carry the error.

    Warns
    -----
    UserWarning
        Once, when ``distributed`` is not installed and the sweep runs serially.

    Notes
    -----
    A row is a pure function of its configuration and seed (module notes), so
    any number of workers, any chunking and any order give the same table, and
    a resumed sweep the table of an uninterrupted one. A worker that dies
    mid-task has its chunk run again by Dask. The parts are written by this
    process as results arrive (temporary file + rename), so a cluster's
    workers need no shared file system.

    Chang et al., ICLR 2019, "Weaknesses": forward Euler does not guarantee
    stability and the diffusion γ has to be searched for; a sweep over (ε, γ)
    with ``lyapunov_max`` and ``euler_factor`` shows where the antisymmetric
    cell is stable and critical.

    Examples
    --------
    >>> import rnndyn as rd
    >>> r = rd.sweep({"cell": "antisymmetric", "size": 4, "gamma": "0:0.2:2"}, ["euler_factor", "critical_gamma"],
    ...              steps=10, seeds=2, workers=0, progress=False)
    >>> r.columns[6:]
    ('seed', 'euler_factor', 'critical_gamma', 'error')
    >>> len(r), r.summary()["euler_factor_mean"].shape
    (4, (2,))
    """
    plan = _plan(grid, measures, steps, transient, inputs, seeds)
    if chunk is not None:
        chunk = as_int(chunk, "chunk", minimum=1)
    if workers is not None:
        workers = as_int(workers, "workers", minimum=0)
    if not isinstance(resume, (bool, np.bool_)):
        raise ValidationError(f"resume: expected True or False, got {resume!r}")
    if resume and out is None:
        raise ValidationError("resume: needs out, the folder of the sweep to resume")
    if progress is True:
        progress = _TextProgress()
    elif progress is False or progress is None:
        progress = None
    elif not callable(progress):
        raise ArgumentTypeError(f"progress: expected True, False or a callable, got {_describe(progress)}")
    done = {} if out is None else _open_folder(out, plan, resume)
    todo = [i for i in range(plan.nrows) if i not in done]

    serial = workers == 0
    if not serial and client is None and not _have_distributed():
        warnings.warn("sweep: dask.distributed is not installed, so the sweep runs serially in this process "
                      "(pip install 'rnndyn[sweep]' to run it on worker processes or a cluster)", UserWarning,
                      stacklevel=2)
        serial = True
    nworkers = 1 if serial else (workers or os.cpu_count() or 1)
    if client is not None and not serial:
        nworkers = max(1, len(client.scheduler_info().get("workers", {})))
    chunks = _chunks(plan, todo, chunk, nworkers)
    args = (plan.measures, plan.steps, plan.transient, plan.inputs, backend)
    total = len(chunks)

    def finished(rows, k):
        for i, values, error in rows:
            done[i] = (values, error)
        if out is not None:
            _write_part(out, rows)
        if progress is not None:
            progress(k, total)

    if not chunks:
        engine = "nothing left to run (resumed)"
    elif serial:
        engine = "this process (serial)"
        for k, rows in enumerate(chunks, 1):
            finished(run_chunk(rows, *args), k)
    else:
        from rnndyn.analysis import _sweep_dask

        engine = _sweep_dask.run(run_chunk, measure_row, chunks, args, finished, client=client, workers=nworkers)
    result = _result(plan, done, engine)
    if out is not None:
        result.to_csv(Path(out) / "sweep.csv")
    return result


# --------------------------------------------------------------------------- overlays


def stability_overlay(result: SweepResult, x: str = "eps", y: str = "gamma") -> dict:
    """The forward-Euler stability of a sweep's grid: for the plot's overlays.

    For an (ε, γ) sweep of Euler or antisymmetric cells, the seed mean of
    max |1 + ελ| at every grid point (its level 1 is the forward-Euler
    boundary) and of the critical γ(ε) at every ε, each computed by
    :func:`rnndyn.stability` on the same cells as the sweep's rows (taken from
    the table when it measured them).

    Parameters
    ----------
    result : SweepResult
    x, y : str
        The plotted axes.

    Returns
    -------
    dict
        ``{"euler_factor": (ys, xs) array}`` when ``(x, y)`` is ``("eps",
        "gamma")`` or ``("gamma", "eps")``, and ``"critical_gamma"``: the
        critical γ at each ε, averaged over the seeds where it exists (nan
        where it exists for none; ``"eps"``: those ε); empty when the cells have no
        ε (vanilla) or the axes are others.
    """
    if {x, y} != {"eps", "gamma"} or any(c == "vanilla" for c in result["cell"].tolist()):
        return {}
    fixed = [a for a in result.varying if a not in (x, y)]
    if fixed:
        return {}
    values = {}
    for m in ("euler_factor", "critical_gamma"):
        if m in result.value_columns:
            values[m] = np.array(result[m], dtype=float)
        else:
            values[m] = np.array([measure_row(tuple(result[a][i] for a in AXES), int(result["seed"][i]), [(m, 0)],
                                              result.steps, result.transient, result.inputs)[0][0]
                                  for i in range(len(result))])
    eps_values = sorted(set(result["eps"].tolist()))
    gam_values = sorted(set(result["gamma"].tolist()))
    xs, ys = (eps_values, gam_values) if x == "eps" else (gam_values, eps_values)
    ef = np.full((len(ys), len(xs)), math.nan)
    cg = np.full(len(eps_values), math.nan)
    for j, yv in enumerate(ys):
        for i, xv in enumerate(xs):
            sel = (result[x] == xv) & (result[y] == yv)
            ef[j, i] = np.nanmean(values["euler_factor"][sel]) if sel.any() else math.nan
    for i, e in enumerate(eps_values):
        v = values["critical_gamma"][result["eps"] == e]
        v = v[np.isfinite(v)]
        cg[i] = v.mean() if v.size else math.nan
    return {"euler_factor": ef, "critical_gamma": cg, "eps": np.array(eps_values), "x": np.array(xs),
            "y": np.array(ys)}
