"""Every public compiled kernel has a plain NumPy twin of the same name, in the module of the same name."""

import importlib
import inspect
import math
import pkgutil

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

import rnndyn as rd
from rnndyn.kernels import cpu
from rnndyn.kernels import numpy as npk

# Per-point callbacks handed to the map kernels, not kernels themselves; their batch twins
# are lstm_step / lstm_jacobian.
_CALLBACKS = {"lstm_rule", "lstm_jac"}
# building blocks inlined into the kernels, with no kernel (and so no twin) of their own
_HELPER_MODULES = {"common", "intrinsics", "tiles"}
_CPU_MODULES = sorted(m.name for m in pkgutil.iter_modules(cpu.__path__) if m.name not in _HELPER_MODULES)


def _public_kernels(module):
    names = {n for n, v in vars(module).items() if isinstance(v, CPUDispatcher) and not n.startswith("_")}
    names |= set(getattr(module, "_LAZY", {}))
    return sorted(names - _CALLBACKS)


def test_the_two_packages_have_the_same_modules():
    numpy_modules = {m.name for m in pkgutil.iter_modules(npk.__path__)} - {"cell"}
    assert set(_CPU_MODULES) == numpy_modules


@pytest.mark.parametrize("modname", _CPU_MODULES)
def test_every_public_kernel_has_a_twin_in_the_same_module(modname):
    fast_mod = importlib.import_module(f"rnndyn.kernels.cpu.{modname}")
    slow_mod = importlib.import_module(f"rnndyn.kernels.numpy.{modname}")
    kernels = _public_kernels(fast_mod)
    assert kernels, modname
    missing = [n for n in kernels if not callable(getattr(slow_mod, n, None))]
    assert not missing, f"kernels without a NumPy twin in rnndyn.kernels.numpy.{modname}: {missing}"
    for name in kernels:
        assert cpu.KERNELS[name] == modname and npk.KERNELS[name] == modname, name


def test_every_cuda_kernel_is_a_twin_of_a_cpu_kernel():
    """Same name, same module name, the CPU kernel's arguments first (importing needs numba-cuda, not a GPU)."""
    pytest.importorskip("numba.cuda")
    from rnndyn.kernels import cuda as cuk

    cuda_modules = {m.name for m in pkgutil.iter_modules(cuk.__path__)} - {"common"}
    assert cuda_modules <= set(_CPU_MODULES)
    assert set(cuk.KERNELS.values()) <= cuda_modules
    assert {"simulate", "tangent", "lyapunov", "bptt"} <= set(cuk.KERNELS)
    for name, modname in cuk.KERNELS.items():
        assert cpu.KERNELS[name] == modname, name
        gpu_fn = getattr(importlib.import_module(f"rnndyn.kernels.cuda.{modname}"), name)
        assert callable(gpu_fn), name
        cpu_fn = getattr(importlib.import_module(f"rnndyn.kernels.cpu.{modname}"), name)
        fast = list(inspect.signature(cpu_fn.py_func).parameters)
        gpu = list(inspect.signature(gpu_fn).parameters)
        assert gpu[:len(fast)] == fast, name


def test_the_package_namespaces_list_every_kernel():
    expected = {"simulate", "tangent", "bptt", "lyapunov", "bifurcation", "map_simulate", "map_tangent",
                "map_lyapunov", "lstm_step", "lstm_jacobian", "map1d_step"}
    assert expected <= set(cpu.KERNELS) and expected <= set(npk.KERNELS)
    for name in expected:
        assert callable(getattr(cpu, name)) and callable(getattr(npk, name))


@pytest.mark.parametrize("modname", _CPU_MODULES)
def test_twins_take_the_same_leading_arguments(modname):
    fast_mod = importlib.import_module(f"rnndyn.kernels.cpu.{modname}")
    slow_mod = importlib.import_module(f"rnndyn.kernels.numpy.{modname}")
    for name in _public_kernels(fast_mod):
        fast_fn = getattr(fast_mod, name)
        fast = list(inspect.signature(getattr(fast_fn, "py_func", fast_fn)).parameters)
        slow = list(inspect.signature(getattr(slow_mod, name)).parameters)
        # The compiled kernels may take trailing tuning arguments the reference ignores.
        k = min(len(fast), len(slow))
        assert k > 0 and fast[:k] == slow[:k], name


def test_kernels_import_nothing_above_them():
    for pkg in (cpu, npk):
        for m in pkgutil.iter_modules(pkg.__path__):
            mod = importlib.import_module(f"{pkg.__name__}.{m.name}")
            for value in vars(mod).values():
                origin = getattr(value, "__module__", None) or getattr(value, "__name__", "")
                if isinstance(origin, str) and origin.startswith("rnndyn."):
                    assert origin.startswith("rnndyn.kernels"), (mod.__name__, origin)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_tangent_norms_are_scaled_not_squared(backend, scale):
    """‖A‖ of 1e±200 is representable; its sum of squares is not."""
    cell = rd.VanillaRNN([[scale, 0.0], [0.0, scale / 2]], activation="linear")
    for norm in ("fro", "spectral"):
        t = rd.tangent(cell, [0.0, 0.0], steps=1, norm=norm, vectors=np.eye(2), backend=backend)
        assert int(t.diverged_at) == -1
        want = scale * (math.sqrt(1.25) if norm == "fro" else 1.0)
        assert t.norms[-1] == pytest.approx(want, rel=1e-14)
        np.testing.assert_allclose(t.vector_norms[-1], [scale, scale / 2], rtol=1e-14)


@pytest.mark.parametrize("scale", [1e-309, 1e-200, 1.0, 1e200, 1e300])
def test_scaled_norms_hold_across_the_float_range(scale):
    """Subnormal entries included: the scaling multiplies by powers of two (a division by a subnormal
    maximum may be compiled as a multiplication by its reciprocal, which overflows)."""
    from rnndyn.kernels.cpu.common import _fro, _spectral_norm

    B = np.random.default_rng(0).standard_normal((16, 16))
    A = B * scale
    want_f, want_2 = np.linalg.norm(B) * scale, np.linalg.norm(B, 2) * scale
    tol = 1e-12 if scale > 1e-300 else 1e-6  # subnormals keep fewer digits
    assert _fro(A) == pytest.approx(want_f, rel=tol)
    assert _spectral_norm(A, np.empty((16, 16)), np.empty((16, 16))) == pytest.approx(want_2, rel=tol)
