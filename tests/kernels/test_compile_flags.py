"""Every CPU kernel helper compiles with one set of fastmath flags, whichever kernel the process compiles first.

numba takes a flag a function leaves unset (``fastmath``, ``error_model``) from the caller that compiles
it first in the process (numba issue #7168), and the on-disk cache keeps that build. A helper that leaves
``fastmath`` unset and is called both from a kernel that contracts ``a * b + c`` into fused
multiply-adds and from one that does not rounds one way or the other depending on compile order. This
static check walks the call graph of ``rnndyn.kernels.cpu`` and fails for any such helper: give it an
explicit ``fastmath=``. (``register_jitable`` functions are compiled once per caller's flags and do not
have the problem; they are not ``@njit`` dispatchers and are not checked here.)
"""

from __future__ import annotations

import ast
import pathlib
from collections import defaultdict

import rnndyn.kernels.cpu as cpu

_ROOT = pathlib.Path(cpu.__file__).parent


def _njit_functions():
    """{name: (module, explicit fastmath source or None, names it calls)} of the package's @njit functions."""
    found = {}
    for path in sorted(_ROOT.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for dec in node.decorator_list:
                call = dec if isinstance(dec, ast.Call) else None
                name = getattr(call.func if call else dec, "id", None)
                if name != "njit":
                    continue
                flag = next((ast.unparse(k.value) for k in (call.keywords if call else []) if k.arg == "fastmath"),
                            None)
                calls = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
                assert node.name not in found, f"two @njit functions named {node.name}"
                found[node.name] = (path.name, flag, calls)
    return found


def test_no_helper_takes_its_flags_from_whichever_caller_compiles_first():
    funcs = _njit_functions()
    callers = defaultdict(set)
    for name, (_, _, calls) in funcs.items():
        for c in calls & funcs.keys():
            callers[c].add(name)

    def effective(name, path=()):
        flag = funcs[name][1]
        if flag is not None:
            return {flag}
        if not callers[name]:
            return {"False"}  # a kernel called from Python: numba's default, no fast-math
        return set().union(*(effective(c, path + (name,)) for c in callers[name] if c not in path))

    assert len(funcs) > 40  # the walk found the package's kernels
    mixed = {name: sorted(effective(name)) for name in funcs
             if funcs[name][1] is None and len(effective(name)) > 1}
    assert not mixed, f"helpers compiled with their first caller's fastmath flags: {mixed}"
