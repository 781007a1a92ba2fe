"""The README's promises as checks, shared by the promise suites (tests/test_promises*.py, tests/cli/).

``keep_promises(fn, *args, **kwargs)`` calls a public function and asserts, whatever the outcome:

1. bad input raises an :class:`rnndyn.RnndynError` whose one-line message starts with the name of an
   argument (``steps: ...``, ``W, gamma: ...``, ``box[0]: ...``);
2. no raw NumPy ``RuntimeWarning`` escapes (rnndyn's own :class:`~rnndyn.DivergenceWarning` may);
3. no silent non-finite values: a result whose ``diverged_at`` says finite (-1) holds finite arrays, and
   any other non-finite array came with a DivergenceWarning.

Any other exception propagates and fails the test.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import signal
import warnings
from contextlib import contextmanager

import numpy as np

import rnndyn as rd

ERR = object()  # the outcome "an RnndynError naming an argument was raised"

#: Names a message may start with besides the function's own parameters: the fields of a cell or map it
#: was given, and the state a step or a trajectory is at.
CELL_FIELDS = {"cell", "W", "V", "b", "eps", "gamma", "activation", "gated", "Vz", "bz", "W_ih", "W_hh", "h",
               "x", "f", "rule", "jacobian", "dim", "params"}

#: Result fields that are allowed to be non-finite without a divergence: they say "undefined" on purpose
#: (f or f' at a pole of a 1-D map, e.g. sqrt at 0; no critical γ exists; log 0 of a superstable cycle; a Kaplan-Yorke
#: dimension of a contracting system).
NONFINITE_BY_DESIGN = {"graph", "derivative", "critical_gamma", "kaplan_yorke", "exponents", "exponent", "history",
                       "error", "growth_per_step", "growth_verdict", "log_growth", "max_real_history"}


def _param_names(fn) -> set[str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return set()
    return set(sig.parameters)


def message_names(msg: str) -> list[str]:
    """The argument names a message starts with: ``"W, gamma: ..."`` -> ["W", "gamma"]."""
    head, sep, _ = msg.partition(": ")
    if not sep:
        return []
    # "box[0]: ..." names box; "spec (w.npy): ..." names spec, then the file it read
    return [re.sub(r"(\[.*|\s*\(.*\))$", "", part.strip()) for part in head.split(",")]


def assert_names_an_argument(exc: BaseException, allowed: set[str]) -> None:
    assert isinstance(exc, rd.RnndynError), f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, (ValueError, TypeError)), type(exc)
    msg = str(exc)
    assert msg and "\n" not in msg, f"message should be one line: {msg!r}"
    names = message_names(msg)
    assert names and all(n in allowed for n in names), \
        f"message should start with the name of an argument among {sorted(allowed)}: {msg!r}"


def _arrays(obj, prefix="", depth=0):
    """(name, float array) pairs of a result: dataclass fields, tuples and lists of them, arrays."""
    if depth > 4:
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            yield prefix, obj
    elif isinstance(obj, (float, np.floating, complex, np.complexfloating)):
        yield prefix, np.asarray(obj)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _arrays(getattr(obj, f.name), f.name, depth + 1)
    elif isinstance(obj, (tuple, list)) and len(obj) < 10_000:
        for item in obj:
            yield from _arrays(item, prefix, depth + 1)


#: Fields that hold the forward pass: finite whenever ``diverged_at`` says so.
FORWARD = {"states", "final", "trajectory"}


def assert_no_silent_nonfinite(result, divergence_warned: bool, what: str = "") -> None:
    diverged = getattr(result, "diverged_at", None)
    bad = [name for name, a in _arrays(result, what)  # a bare number is named after its function
           if name not in NONFINITE_BY_DESIGN and a.size and not np.all(np.isfinite(a))]
    if not bad:
        return
    forward = [name for name in bad if name in FORWARD]
    if forward and diverged is not None and np.all(np.asarray(diverged) == -1):
        raise AssertionError(f"{what}: diverged_at says finite but {forward} hold non-finite values")
    assert divergence_warned, f"{what}: {bad} hold non-finite values and no DivergenceWarning was issued"


def keep_promises(fn, *args, names=(), check_result=True, **kwargs):
    """``fn(*args, **kwargs)`` under the promises; its result, or ERR for an RnndynError naming an argument.

    ``names``: further names a message may start with (an argument of an inner call, say).
    """
    allowed = _param_names(fn) | CELL_FIELDS | set(names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("always", rd.DivergenceWarning)
        try:
            result = fn(*args, **kwargs)
        except rd.DivergenceWarning:  # pragma: no cover - "always" above
            raise
        except RuntimeWarning as w:
            raise AssertionError(f"a raw RuntimeWarning escaped from {getattr(fn, '__name__', fn)}: {w}") from w
        except rd.RnndynError as exc:
            assert_names_an_argument(exc, allowed)
            return ERR
    warned = any(issubclass(w.category, rd.DivergenceWarning) for w in caught)
    if check_result:
        assert_no_silent_nonfinite(result, warned, getattr(fn, "__name__", str(fn)))
    return result


@contextmanager
def time_limit(seconds: int, what: str = "a call"):
    """A call that runs away is a failure, not a stuck CI job."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"{what} ran for more than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextmanager
def peak_memory():
    """Measure the peak of Python-visible allocations (NumPy's included) in the block: ``with ... as peak:``
    then ``peak()``."""
    import tracemalloc

    tracemalloc.start()
    tracemalloc.reset_peak()
    box = [0]
    try:
        yield lambda: box[0]
    finally:
        box[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
