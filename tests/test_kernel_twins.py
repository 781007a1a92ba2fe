"""Every public compiled kernel has a plain NumPy twin of the same name in kernels/reference.py."""

import inspect

from numba.core.registry import CPUDispatcher

from rnndyn.kernels import cpu, cpu_discrete, reference


# Per-point callbacks handed to the map kernels, not kernels themselves; their batch twins
# are lstm_step / lstm_jacobian.
_CALLBACKS = {"lstm_rule", "lstm_jac"}


def _public_kernels(module):
    names = {n for n, v in vars(module).items() if isinstance(v, CPUDispatcher) and not n.startswith("_")}
    names |= set(getattr(module, "_LAZY", {}))
    return sorted(names - _CALLBACKS)


def test_every_public_kernel_has_a_reference_twin():
    kernels = _public_kernels(cpu) + _public_kernels(cpu_discrete)
    assert {"simulate", "tangent", "bptt", "lyapunov", "bifurcation"} <= set(kernels)
    missing = [n for n in kernels if not callable(getattr(reference, n, None))]
    assert not missing, f"kernels without a NumPy twin in reference.py: {missing}"


def test_twins_take_the_same_leading_arguments():
    for name in _public_kernels(cpu):
        fast = list(inspect.signature(getattr(cpu, name).py_func).parameters)
        slow = list(inspect.signature(getattr(reference, name)).parameters)
        # The compiled kernels may take trailing tuning arguments the reference ignores.
        k = min(len(fast), len(slow))
        assert fast[:k] == slow[:k], name
