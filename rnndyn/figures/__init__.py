"""The registry of the source documents' figures, each rebuilt from rnndyn's own computations.

A figure is a function ``build(quick=False) -> matplotlib.figure.Figure``
registered with :func:`register` under a name, with the source it comes from and a
one-line description. ``rnndyn figures`` (and :func:`build_all`) rebuild every
registered figure into ``figures/`` with :func:`save_figure` (reproducible
bytes, atomic) and write the gallery (:func:`write_gallery`); ``quick=True``
asks for small sizes (the test-suite uses it).

One module per source document defines its figures (:data:`FIGURE_MODULES`):
:mod:`~rnndyn.figures.chang2019` (Chang et al., ICLR 2019),
:mod:`~rnndyn.figures.smerity` (Smerity's post), :mod:`~rnndyn.figures.csc321`
(Grosse, CSC321 Lecture 15) and :mod:`~rnndyn.figures.d2l` (Zhang et al., d2l
§5.4); rnndyn's own figures follow: :mod:`~rnndyn.figures.sweeps` (where the
AntisymmetricRNN is stable and critical, by a parameter sweep) and
:mod:`~rnndyn.figures.chaos` (the transition to chaos of random networks) and
:mod:`~rnndyn.figures.training` (the slow points of a trained flip-flop).
:func:`_load_all` imports them, so registering a new figure is one
decorator. This is the layer that both computes (:mod:`rnndyn.analysis`) and
draws (:mod:`rnndyn.plots`). References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rnndyn._validate import as_int
from rnndyn.errors import UnknownNameError, ValidationError


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure."""

    name: str
    build: Callable  # build(quick: bool = False) -> matplotlib.figure.Figure
    source: str  # the source and its section, e.g. "Chang et al., ICLR 2019, Figure 2"
    description: str
    command: str = ""  # the rnndyn command that draws the same picture, if any


_REGISTRY: dict[str, FigureSpec] = {}

# Modules whose import registers figures, one per source document, in gallery order (kept explicit:
# no import-time scanning).
FIGURE_MODULES = [
    "rnndyn.figures.chang2019",  # Chang, Chen, Haber & Chi, ICLR 2019
    "rnndyn.figures.smerity",  # Smerity's orthogonal-initialisation post
    "rnndyn.figures.csc321",  # Grosse, CSC321 Lecture 15
    "rnndyn.figures.d2l",  # Zhang et al., Dive into Deep Learning §5.4
    "rnndyn.figures.sweeps",  # parameter sweeps over the cells of Chang et al., ICLR 2019
    "rnndyn.figures.chaos",  # random tanh networks and the transition to chaos
    "rnndyn.figures.training",  # a trained network opened up: slow points (Sussillo & Barak 2013)
]


def register(name: str, source: str, description: str, command: str = ""):
    """Decorator registering ``build(quick=False) -> Figure`` as figure ``name``."""

    def deco(fn):
        _REGISTRY[name] = FigureSpec(name, fn, source, description, command)
        return fn

    return deco


def _load_all() -> None:
    for mod in FIGURE_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:  # a real missing dependency inside the module
                raise


def registry() -> dict[str, FigureSpec]:
    """All registered figures, by name (in registration order)."""
    _load_all()
    return dict(_REGISTRY)


def get(name: str) -> FigureSpec:
    """The registered figure ``name``."""
    reg = registry()
    if name not in reg:
        raise UnknownNameError(f"figure: unknown figure {name!r}; expected one of {', '.join(reg)}")
    return reg[name]


def compute_backend(quick: bool, full: str = "auto") -> str:
    """The backend a figure computes on: ``"reference"`` (the NumPy twins of the kernels) when ``quick``.

    At quick sizes the twins take milliseconds, and a quick build then compiles no kernel: with an
    empty numba cache that is most of its time. The full figures use ``full`` (the compiled kernels;
    ``"cpu"`` for functions that offer no ``"auto"``).

    >>> compute_backend(True), compute_backend(False), compute_backend(False, "cpu")
    ('reference', 'auto', 'cpu')
    """
    return "reference" if quick else full


# --------------------------------------------------------------------------- building and the gallery

#: Output formats of :func:`build_all`.
FORMATS = ("png", "svg", "pdf")

#: Resolution of raster output.
DPI = 110

# Dates and random ids are what make two renderings of one figure differ; with
# them fixed, a rebuild is byte-identical to the committed file (matplotlib's
# own version string aside).
_METADATA = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
_RC = {"svg.hashsalt": "rnndyn", "pdf.compression": 6}

GALLERY = "README.md"


@dataclass(frozen=True)
class BuiltFigure:
    """One figure written by :func:`build_all`."""

    name: str
    path: Path
    seconds: float


def _names(names) -> list[str]:
    reg = registry()
    if names is None:
        return list(reg)
    if isinstance(names, str):
        names = [names]
    out = []
    for n in names:
        get(n)  # unknown names: one error listing the valid ones
        if n not in out:
            out.append(n)
    return out


def save_figure(fig, path, fmt: str | None = None, dpi: int = DPI, *, bbox_inches=None) -> Path:
    """Write ``fig`` to ``path`` reproducibly (no dates, fixed SVG ids) and atomically.

    The one way rnndyn writes a figure: the gallery (:func:`build_all`) and the
    command line's ``--out`` both come here.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Its folder is created if missing.
    fmt : {"png", "svg", "pdf"}, optional
        Default: the suffix of ``path``.
    dpi : int
        Resolution of raster output.
    bbox_inches : None or "tight"
        Passed to :meth:`~matplotlib.figure.Figure.savefig`; ``"tight"`` trims
        the white margin.

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        A format (or suffix) other than png, svg, pdf.

    Notes
    -----
    The file is written to a temporary name in the same folder and renamed, so
    a reader never sees half a figure; it gets the permissions a plain
    ``open()`` would give (``0o666`` less the umask).

    Examples
    --------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> _ = fig.add_subplot().plot([0, 1])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     print(save_figure(fig, Path(d) / "line.svg").suffix)
    .svg
    """
    import matplotlib
    import numpy as np

    path = Path(path)
    if fmt is None:
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValidationError(f"path: expected a file ending in .png, .svg or .pdf, got {str(path)!r}")
    if fmt not in FORMATS:
        raise ValidationError(f"fmt: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=f".{fmt}", dir=path.parent)
    os.close(fd)
    try:
        # Matplotlib's transforms evaluate powers and exponentials of data near the float64 range (a
        # diverging norm on a log axis); their overflow warnings say nothing about the picture.
        with matplotlib.rc_context(_RC), np.errstate(over="ignore", under="ignore", invalid="ignore"):
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_METADATA[fmt], bbox_inches=bbox_inches)
        umask = os.umask(0)  # read without changing it: os.umask only reads by setting
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a figure is for everyone to read
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def build(name: str, quick: bool = False):
    """Build the registered figure ``name`` under matplotlib's default style; returns the Figure."""
    return _build_with(get(name).build, quick)


def _build_with(fn: Callable, quick: bool):
    import matplotlib
    import matplotlib.style

    # The default style (not the user's matplotlibrc), so the committed files are what anyone rebuilds.
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        return fn(quick=quick)


def _build_and_save(fn: Callable, name: str, out: Path, fmt: str, quick: bool, dpi: int) -> BuiltFigure:
    t0 = time.perf_counter()
    path = save_figure(_build_with(fn, quick), out / f"{name}.{fmt}", fmt=fmt, dpi=dpi)
    return BuiltFigure(name, path, time.perf_counter() - t0)


def _one_core_worker() -> None:
    # ``jobs`` workers share the machine: each runs its kernels and BLAS on one thread (set before numba or
    # NumPy's BLAS start in this fresh process).
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def _picklable(fn) -> bool:
    import pickle

    try:
        pickle.dumps(fn)
    except Exception:  # noqa: BLE001 - a lambda, a closure or a local function: whatever pickle raises
        return False
    return True


def default_jobs() -> int:
    """Figures to build at once by default: the cores the load average leaves idle, at least 1.

    On a shared machine a second worker on a busy core is slower than one worker (measured: 22 quick figures
    in 36.8 s on two workers against 28.2 s on one while another process held a core).
    """
    from rnndyn.backends.blas import idle_cores

    return idle_cores()


def build_all(outdir="figures", names=None, fmt: str = "png", quick: bool = False, *, dpi: int = DPI,
              on_built: Callable | None = None, gallery: bool = True, jobs: int = 1) -> tuple[BuiltFigure, ...]:
    """Rebuild registered figures into ``outdir`` as ``NAME.FMT`` (and regenerate the gallery).

    Parameters
    ----------
    outdir : str or Path
        Created if missing.
    names : sequence of str, optional
        Figures to build; all registered ones by default.
    fmt : {"png", "svg", "pdf"}
    quick : bool
        Small sizes (for tests), passed to every figure.
    dpi : int
        Resolution of png output.
    on_built : callable, optional
        Called with each :class:`BuiltFigure` as soon as it is written (progress),
        in the order they finish.
    gallery : bool
        Also write ``outdir/README.md`` with :func:`write_gallery`.
    jobs : int
        Figures built at once, each in a worker process of its own
        (:class:`concurrent.futures.ProcessPoolExecutor`, started with "spawn")
        whose kernels and BLAS run on one thread; 1 builds them here, one after
        the other. The files are the same either way. A figure whose build
        function cannot be pickled (a lambda, a local function) is built here.

    Returns
    -------
    tuple of BuiltFigure
        name, path and build time of each figure, in order.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     built = build_all(d, names=["d2l_sigmoid_gradient"], quick=True)
    ...     print(built[0].path.name, sorted(p.name for p in Path(d).iterdir()))
    d2l_sigmoid_gradient.png ['README.md', 'd2l_sigmoid_gradient.png']
    """
    if fmt not in FORMATS:
        raise ValidationError(f"fmt: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    todo = _names(names)
    jobs = as_int(jobs, "jobs", minimum=1)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    specs = [get(name) for name in todo]
    remote = [sp for sp in specs if _picklable(sp.build)] if jobs > 1 and len(specs) > 1 else []
    done: dict[str, BuiltFigure] = {}

    def finished(b: BuiltFigure) -> None:
        done[b.name] = b
        if on_built is not None:
            on_built(b)

    if remote:
        import concurrent.futures
        import multiprocessing

        # "spawn": a fresh interpreter per worker, never a fork of a process whose numba/OpenMP threads run.
        with concurrent.futures.ProcessPoolExecutor(min(jobs, len(remote)), multiprocessing.get_context("spawn"),
                                                    initializer=_one_core_worker) as pool:
            futures = [pool.submit(_build_and_save, sp.build, sp.name, out, fmt, quick, dpi) for sp in remote]
            try:
                for sp in specs:
                    if sp not in remote:
                        finished(_build_and_save(sp.build, sp.name, out, fmt, quick, dpi))
                for fut in concurrent.futures.as_completed(futures):
                    finished(fut.result())
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    else:
        for sp in specs:
            finished(_build_and_save(sp.build, sp.name, out, fmt, quick, dpi))
    if gallery:
        write_gallery(out, fmt=fmt)
    return tuple(done[name] for name in todo)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _commands(spec: FigureSpec) -> str:
    cmds = [f"rnndyn figures --only {spec.name}"]
    cmds += [c.strip() for c in spec.command.split(";") if c.strip()]
    return "<br>".join(f"`{_cell(c)}`" for c in cmds)


def write_gallery(outdir="figures", fmt: str | None = None) -> Path:
    """Write ``outdir/README.md``: a table of every registered figure with its source and image.

    Each row gives the figure's name, its source (document and section), what
    it shows, the commands that rebuild it and the image (``NAME.FMT`` found in
    ``outdir``, preferring ``fmt``; "not built yet" when there is none).

    Returns
    -------
    Path
        The README written.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    order = [fmt] + [f for f in FORMATS if f != fmt] if fmt in FORMATS else list(FORMATS)
    lines = [
        "# Figures",
        "",
        "Every picture of the source material (the documents named in the source column), rebuilt by rnndyn",
        "from its own computations. This file is generated: `rnndyn figures` rebuilds every figure below and",
        "this gallery; `rnndyn figures --only NAME` rebuilds one; `rnndyn figures --list` names them.",
        "Seeds are fixed and dates are left out of the files, so a rebuild reproduces them.",
        "",
        "| figure | source | what it shows | rebuild | image |",
        "|---|---|---|---|---|",
    ]
    for name, spec in registry().items():
        image = "not built yet"
        for f in order:
            if (out / f"{name}.{f}").exists():
                image = (f'<a href="{name}.{f}"><img src="{name}.{f}" width="420" alt="{name}"></a>'
                         if f != "pdf" else f"[{name}.pdf]({name}.pdf)")
                break
        lines.append(f"| **{name}** | {_cell(spec.source)} | {_cell(spec.description)} | {_commands(spec)} | {image} |")
    lines.append("")
    path = out / GALLERY
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return path
