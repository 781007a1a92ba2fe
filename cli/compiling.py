"""Never silent while numba compiles: a notice on stderr when a kernel is compiled, and a bar while it is.

numba broadcasts a ``"numba:compile"`` event only when a dispatcher really compiles
(its in-memory overloads and its on-disk cache both missed; a cache load fires
nothing), and nests one event per helper a kernel calls. Listening to the
outermost of them tells exactly when a command pays for compilation, with no
guessing from cache files or timings.
"""

from __future__ import annotations

import sys
import threading
import time

import click

#: Approximate cold compile time in seconds of each kernel on an idle 2-core machine (``rnndyn compile --json``
#: measures them); only the "about N s" of the notice and the length of the bar come from here.
KERNEL_SECONDS = {
    "simulate": 18.0,
    "tangent": 21.0,
    "bptt": 48.0,
    "lyapunov": 22.0,
    "basin_trajectories": 19.0,
    "clv_forward": 20.0,
    "clv_backward": 24.0,
    "slow_points_adam": 6.0,
    "map_simulate": 8.0,
    "map_tangent": 10.0,
    "map_lyapunov": 11.0,
    "map_clv_forward": 11.0,
    "lstm_step": 2.0,
    "lstm_jacobian": 2.0,
    "lstm_rule": 3.0,
    "lstm_jac": 3.0,
    "bifurcation": 1.0,
}

#: Approximate cold compile time in seconds of all the kernels a command at its defaults needs (idle 2-core
#: machine; "figures" is the quick gallery, which computes on the NumPy twins and compiles the LSTM's rule).
COMMAND_SECONDS = {"phase": 19.0, "basins": 19.0, "gradients": 48.0, "lyapunov": 22.0, "norms": 21.0, "clv": 44.0,
                   "slowpoints": 6.0, "figures": 20.0}

#: Seconds assumed for a compiled function not in :data:`KERNEL_SECONDS` (a map's rule or Jacobian).
OTHER_SECONDS = 1.0

NOTICE = "compiling kernels (first run only, about {seconds:.0f} s; `rnndyn compile` does it ahead)…"


def kernel_name(dispatcher) -> str:
    """The name a compiled function is known by (its Python function's name, without a leading underscore)."""
    fn = getattr(dispatcher, "py_func", None)
    return getattr(fn, "__name__", type(dispatcher).__name__).lstrip("_")


def estimate(name: str) -> float:
    """Approximate cold compile seconds of kernel ``name``."""
    return KERNEL_SECONDS.get(name, OTHER_SECONDS)


class CompileWatch:
    """Listener for numba's ``"numba:compile"`` events: the notice, a bar per kernel and the seconds each took.

    Only the outermost compile is reported (a kernel's helpers compile inside it). ``compiled`` lists
    ``(name, seconds)`` in order. ``on_kernel`` is called with ``(name, seconds)`` after each kernel.
    """

    def __init__(self, stream=None, bars: bool | None = None, notice: bool = True):
        self.stream = stream
        self.bars = bars
        self.notice = notice
        self.announced = False
        self.compiled: list[tuple[str, float]] = []
        self.on_kernel = None
        self.command = None  # the running command's name: its total compile time is announced
        self._depth = 0
        self._t0 = 0.0
        self._name = ""
        self._ticker = None

    def _stderr(self):
        return self.stream if self.stream is not None else sys.stderr

    def _bars(self) -> bool:
        if self.bars is not None:
            return self.bars
        from .output import progress_enabled

        return progress_enabled()

    def on_start(self, event):
        self._depth += 1
        if self._depth != 1:
            return
        self._name = kernel_name(event.data["dispatcher"])
        self._t0 = time.perf_counter()
        if self.notice and not self.announced:
            self.announced = True
            from .output import break_line

            break_line(self._stderr())
            seconds = COMMAND_SECONDS.get(self.command, estimate(self._name))
            click.echo(NOTICE.format(seconds=max(1.0, seconds)), file=self._stderr())
        if self._bars():
            self._ticker = _Ticker(f"compiling {self._name}", estimate(self._name), self._stderr())
            self._ticker.start()

    def on_end(self, event):
        self._depth -= 1
        if self._depth != 0:
            return
        seconds = time.perf_counter() - self._t0
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.compiled.append((self._name, seconds))
        if self.on_kernel is not None:
            self.on_kernel(self._name, seconds)


class _Ticker:
    """A click progress bar over a kernel's estimated compile time, advanced by a thread.

    The compiling thread spends most of its time in LLVM, which releases the GIL, so the bar moves;
    it holds at 99 % when the estimate runs out and completes when the kernel is done.
    """

    STEPS = 100

    def __init__(self, label: str, seconds: float, stream):
        self.label, self.seconds, self.stream = label, max(seconds, 0.1), stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def _run(self):
        t0, shown = time.perf_counter(), 0
        from .output import _drawn

        with _drawn(click.progressbar(length=self.STEPS, label=self.label, file=self.stream, show_eta=False,
                                      show_percent=True)) as bar:
            while not self._stop.wait(0.2):
                want = min(self.STEPS - 1, int(self.STEPS * (time.perf_counter() - t0) / self.seconds))
                if want > shown:
                    bar.update(want - shown)
                    shown = want
            bar.update(self.STEPS - shown)


_WATCH: CompileWatch | None = None


def watch_for(command: str | None) -> None:
    """Announce compilation while ``command`` runs: :func:`watch` now if numba is loaded, else once it is.

    Importing numba only to listen costs a command that never compiles (``stability``, ``spectrum``,
    a help text) about half a second; nothing can compile before numba is imported, so the listener
    is installed right after numba's own import, by a finder that steps aside after that one use.
    """
    if "numba" in sys.modules:
        watch().command = command
        return
    for finder in sys.meta_path:
        if isinstance(finder, _AfterNumbaImport):
            finder.command = command
            return
    sys.meta_path.insert(0, _AfterNumbaImport(command))


class _AfterNumbaImport:
    """A meta-path finder that finds nothing itself: it wraps numba's loader to call :func:`watch` after it."""

    def __init__(self, command):
        self.command = command

    def find_spec(self, name, path=None, target=None):
        if name != "numba":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, command = spec.loader, self.command

        class _Then(type(loader)):
            def exec_module(self, module):
                super().exec_module(module)
                watch().command = command

        try:
            loader.__class__ = _Then
        except TypeError:  # a loader whose class cannot be swapped: listen from the next command on
            pass
        return spec


def watch() -> CompileWatch:
    """Install (once per process) the listener that announces compilation on stderr; return it."""
    global _WATCH
    if _WATCH is None:
        from numba.core import event

        listener = type("NumbaCompileWatch", (CompileWatch, event.Listener), {})
        _WATCH = listener()
        event.register("numba:compile", _WATCH)
    return _WATCH
