"""One-dimensional iterated maps ``x_{t+1} = f(x_t)`` and the safe expression parser that builds them.

An RNN's hidden state obeys ``h_t = f(h_{t-1}, x_t)``; with the input held fixed,
this is an *iterated function*, and a scalar iterated map ``x_{t+1} = f(x_t)`` is
the smallest model of it (Grosse, CSC321 Lecture 15, "Iterated Functions"). The
lecture's two examples are the logistic map ``f(x) = 3.5 x (1 - x)``, whose
compositions ``f∘f``, ``f∘f∘f``, ... quickly become complicated, and the quadratic
map ``x_{t+1} = x_t² + 0.15``, whose fixed points (where ``f`` crosses the
diagonal) are a sink (``|f'| < 1``) and a source (``|f'| > 1``).

A map is a :class:`Map1D`: a name, a vectorised function, its exact derivative and
an optional parameter. :func:`parse_map` builds one from ``"logistic:R"``,
``"quadratic:C"``, ``"tent:MU"``, ``"sine:R"`` or an expression in ``x`` such as
``"3.5*x*(1-x)"``. Expressions are parsed with :mod:`ast` against a whitelist
and evaluated by a small tree walker (nothing is ever passed to ``eval``); the
derivative is the symbolic derivative of the same tree. :func:`compose` builds
the k-fold composition with its chain-rule derivative.

This module holds the model only. What is computed over a map — orbits, cobwebs,
fixed and periodic points, Lyapunov exponents, compositions over an interval and
orbit diagrams — is in :mod:`rnndyn.analysis.orbits1d`.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rnndyn._validate import _describe, as_float, as_int
from rnndyn.errors import ArgumentTypeError, UnknownNameError, ValidationError

__all__ = ["FAMILIES", "Map1D", "compose", "parse_map"]

#: Longest expression string :func:`parse_map` accepts.
MAX_EXPRESSION_LENGTH = 1000
#: Deepest expression tree :func:`parse_map` accepts.
MAX_EXPRESSION_DEPTH = 50
#: Largest |constant exponent| allowed after ``**``.
MAX_EXPONENT = 64.0

#: Named families: name -> (formula of f, formula of f', parameter symbol).
FAMILIES = {
    "logistic": ("R*x*(1 - x)", "R*(1 - 2*x)", "R"),
    "quadratic": ("x**2 + C", "2*x", "C"),
    "tent": ("MU*min(x, 1 - x)", "MU if x < 0.5 else -MU", "MU"),
    "sine": ("R*sin(pi*x)", "R*pi*cos(pi*x)", "R"),
}

_FUNCS = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    "abs": np.abs,
    # Not advertised, but accepted so that a printed derivative (d|u| = sign(u) du)
    # parses again.
    "sign": np.sign,
}
_CONSTS = {"pi": math.pi, "e": math.e}
_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_ALLOWED = (
    "numbers, the variable x, the constants pi and e, + - * / **, unary minus, "
    "parentheses and calls of sin cos tan exp log sqrt tanh abs"
)
_SPEC_HELP = (
    "'logistic:R', 'quadratic:C', 'tent:MU', 'sine:R' or an expression in x "
    "such as '3.5*x*(1-x)'"
)
_NODE_NAMES = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "subscripts ('[...]')",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "conditional expressions",
    ast.Tuple: "tuples",
    ast.List: "lists",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.NamedExpr: "assignment (':=')",
    ast.JoinedStr: "strings",
    ast.Starred: "'*' unpacking",
    ast.Await: "await",
}


# ---------------------------------------------------------------------------
# Expression trees: ("x",), ("num", v), ("const", name), ("neg", a),
# (op, a, b) with op in add sub mul div pow, ("call", fname, a).
# ---------------------------------------------------------------------------

_ZERO = ("num", 0.0)
_ONE = ("num", 1.0)
_TWO = ("num", 2.0)


def _refuse(argname: str, spec: str, what: str):
    raise ValidationError(
        f"{argname}: {what} is not allowed in a map expression; allowed are {_ALLOWED}; "
        f"got {spec!r}"
    )


def _has_x(t) -> bool:
    k = t[0]
    if k == "x":
        return True
    if k in ("num", "const"):
        return False
    if k == "call":
        return _has_x(t[2])
    return any(_has_x(c) for c in t[1:])


def _eval(t, x):
    """Value of tree ``t`` at ``x`` (a float64 array or a float)."""
    k = t[0]
    if k == "x":
        return x
    if k == "num":
        return t[1]
    if k == "const":
        return _CONSTS[t[1]]
    if k == "neg":
        return -_eval(t[1], x)
    if k == "call":
        return _FUNCS[t[1]](_eval(t[2], x))
    a = _eval(t[1], x)
    b = _eval(t[2], x)
    if k == "add":
        return a + b
    if k == "sub":
        return a - b
    if k == "mul":
        return a * b
    if k == "div":
        return np.divide(a, b)
    return np.power(a, b)


def _eval_const(t) -> float:
    with np.errstate(all="ignore"):
        return float(_eval(t, np.float64(0.0)))


def _convert(node, argname: str, spec: str, depth: int):
    """Validated ast node -> tree; refuses everything outside the whitelist."""
    if depth > MAX_EXPRESSION_DEPTH:
        raise ValidationError(
            f"{argname}: the expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep; "
            f"got {spec[:80]!r}"
        )
    d = depth + 1
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            _refuse(argname, spec, f"the constant {v!r}"[:80])
        try:
            fv = float(v)
        except OverflowError:
            fv = math.inf
        if not math.isfinite(fv):
            raise ValidationError(
                f"{argname}: numbers in a map expression must be finite floats; got {spec[:80]!r}"
            )
        return ("num", fv)
    if isinstance(node, ast.Name):
        if node.id == "x":
            return ("x",)
        if node.id in _CONSTS:
            return ("const", node.id)
        if node.id in _FUNCS:
            raise ValidationError(
                f"{argname}: the function {node.id!r} must be called, as in {node.id}(x); got {spec!r}"
            )
        raise ValidationError(
            f"{argname}: unknown name {node.id!r}; the only variable is x and the only "
            f"constants are pi and e (allowed are {_ALLOWED}); got {spec!r}"
        )
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return ("neg", _convert(node.operand, argname, spec, d))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, argname, spec, d)
        _refuse(argname, spec, f"the unary operator {type(node.op).__name__}")
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            _refuse(argname, spec, f"the operator {type(node.op).__name__}")
        a = _convert(node.left, argname, spec, d)
        b = _convert(node.right, argname, spec, d)
        if op == "pow" and not _has_x(b):
            v = _eval_const(b)
            if not abs(v) <= MAX_EXPONENT:
                raise ValidationError(
                    f"{argname}: the exponent {v:g} after '**' is too large; a constant "
                    f"exponent must lie in [-{MAX_EXPONENT:g}, {MAX_EXPONENT:g}]; got {spec[:80]!r}"
                )
        return (op, a, b)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
            _refuse(argname, spec, f"calling {ast.unparse(node.func)[:40]!r}")
        name = node.func.id
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise ValidationError(
                f"{argname}: {name}() takes exactly one positional argument; got {spec!r}"
            )
        return ("call", name, _convert(node.args[0], argname, spec, d))
    _refuse(argname, spec, _NODE_NAMES.get(type(node), f"the syntax {type(node).__name__}"))


def _parse_tree(spec: str, argname: str):
    if len(spec) > MAX_EXPRESSION_LENGTH:
        raise ValidationError(
            f"{argname}: the expression is longer than {MAX_EXPRESSION_LENGTH} characters "
            f"(got {len(spec)})"
        )
    try:
        node = ast.parse(spec.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        msg = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        raise ValidationError(
            f"{argname}: expected {_SPEC_HELP}; got {spec[:80]!r}, which does not parse ({msg})"
        ) from None
    return _convert(node.body, argname, spec, 0)


# -- building derivative trees, with light simplification -------------------


def _is(t, v) -> bool:
    return t[0] == "num" and t[1] == v


def _neg(a):
    if a[0] == "num":
        return ("num", -a[1])
    if a[0] == "neg":
        return a[1]
    if a[0] == "mul" and a[1][0] == "num":
        return ("mul", ("num", -a[1][1]), a[2])
    return ("neg", a)


def _negated(b):
    """``c`` if ``b`` is ``-c`` (in one of its spellings), else None."""
    if b[0] == "neg":
        return b[1]
    if b[0] == "num" and b[1] < 0:
        return ("num", -b[1])
    if b[0] == "mul" and b[1][0] == "num" and b[1][1] < 0:
        return _mul(("num", -b[1][1]), b[2])
    return None


def _add(a, b):
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if a[0] == "num" and b[0] == "num":
        return ("num", a[1] + b[1])
    c = _negated(b)
    if c is not None:
        return ("sub", a, c)
    return ("add", a, b)


def _sub(a, b):
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return _neg(b)
    if a[0] == "num" and b[0] == "num":
        return ("num", a[1] - b[1])
    c = _negated(b)
    if c is not None:
        return _add(a, c)
    return ("sub", a, b)


def _mul(a, b):
    if _is(a, 0.0) or _is(b, 0.0):
        return _ZERO
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if a[0] == "num" and b[0] == "num":
        return ("num", a[1] * b[1])
    if _is(a, -1.0):
        return _neg(b)
    if _is(b, -1.0):
        return _neg(a)
    if a[0] == "neg":
        return _neg(_mul(a[1], b))
    if b[0] == "neg":
        return _neg(_mul(a, b[1]))
    if b[0] == "num":
        a, b = b, a
    if a[0] == "num" and b[0] == "mul" and b[1][0] == "num":
        return _mul(("num", a[1] * b[1][1]), b[2])
    return ("mul", a, b)


def _div(a, b):
    if _is(a, 0.0):
        return _ZERO
    if _is(b, 1.0):
        return a
    if a[0] == "num" and b[0] == "num" and b[1] != 0.0:
        return ("num", a[1] / b[1])
    return ("div", a, b)


def _pow(a, b):
    if _is(b, 1.0):
        return a
    if _is(b, 0.0):
        return _ONE
    return ("pow", a, b)


def _call(name, a):
    return ("call", name, a)


def _diff(t):
    """Symbolic derivative d t / d x of a tree."""
    k = t[0]
    if k == "x":
        return _ONE
    if k in ("num", "const"):
        return _ZERO
    if k == "neg":
        return _neg(_diff(t[1]))
    if k == "call":
        name, u = t[1], t[2]
        du = _diff(u)
        if _is(du, 0.0) or name == "sign":
            return _ZERO
        if name == "log":
            return _div(du, u)
        if name == "sqrt":
            return _div(du, _mul(_TWO, t))
        outer = {
            "sin": lambda: _call("cos", u),
            "cos": lambda: _neg(_call("sin", u)),
            "tan": lambda: _add(_ONE, _pow(_call("tan", u), _TWO)),
            "exp": lambda: t,
            "tanh": lambda: _sub(_ONE, _pow(_call("tanh", u), _TWO)),
            "abs": lambda: _call("sign", u),
        }[name]()
        return _mul(outer, du)
    a, b = t[1], t[2]
    da, db = _diff(a), _diff(b)
    if k == "add":
        return _add(da, db)
    if k == "sub":
        return _sub(da, db)
    if k == "mul":
        return _add(_mul(da, b), _mul(a, db))
    if k == "div":
        if _is(db, 0.0):
            return _div(da, b)
        return _div(_sub(_mul(da, b), _mul(a, db)), _pow(b, _TWO))
    # pow
    if not _has_x(b):  # (a^c)' = c a^(c-1) a'
        c = _eval_const(b)
        return _mul(_mul(("num", c), _pow(a, ("num", c - 1.0))), da)
    # (a^b)' = a^b (b' log a + b a'/a)
    return _mul(t, _add(_mul(db, _call("log", a)), _div(_mul(b, da), a)))


#: Highest power a derivative is expanded to when it is a polynomial in x.
_MAX_EXPAND_DEGREE = 12


def _poly(t):
    """{degree: coefficient} of a tree that is a polynomial in x, else None."""
    k = t[0]
    if k == "x":
        return {1: 1.0}
    if k == "num":
        return {0: t[1]}
    if k == "neg":
        p = _poly(t[1])
        return None if p is None else {d: -c for d, c in p.items()}
    if k in ("add", "sub", "mul"):
        a, b = _poly(t[1]), _poly(t[2])
        if a is None or b is None:
            return None
        out: dict = {}
        if k == "mul":
            for da, ca in a.items():
                for db, cb in b.items():
                    out[da + db] = out.get(da + db, 0.0) + ca * cb
        else:
            sign = 1.0 if k == "add" else -1.0
            out = dict(a)
            for d, c in b.items():
                out[d] = out.get(d, 0.0) + sign * c
        return out if max(out, default=0) <= _MAX_EXPAND_DEGREE else None
    if k == "pow" and t[2][0] == "num" and float(t[2][1]).is_integer() and 0 <= t[2][1] <= _MAX_EXPAND_DEGREE:
        base = _poly(t[1])
        if base is None or sum(c != 0.0 for c in base.values()) > 1:
            return None  # a power of a sum stays factored: 3*(x + 1)**2, not 3*x**2 + 6*x + 3
        out = {0: 1.0}
        for _ in range(int(t[2][1])):
            out = _poly(("mul", _from_poly(out), _from_poly(base)))
        return out
    return None


def _from_poly(p: dict):
    """The tree of Σ c_d x^d, highest degree first, zero terms dropped."""
    t = _ZERO
    for d in sorted(p, reverse=True):
        c = p[d]
        if c == 0.0:
            continue
        term = _mul(("num", c), _ONE if d == 0 else ("x",) if d == 1 else _pow(("x",), ("num", float(d))))
        t = term if _is(t, 0.0) else _add(t, term)
    return t


def _collect(t):
    """Like terms collected: every largest polynomial subtree expanded (``3.5*(1 - x - x)`` -> ``-7*x + 3.5``)."""
    p = _poly(t)
    if p is not None:
        return _from_poly(p)
    k = t[0]
    if k in ("x", "num", "const"):
        return t
    if k == "neg":
        return _neg(_collect(t[1]))
    if k == "call":
        return _call(t[1], _collect(t[2]))
    a, b = _collect(t[1]), _collect(t[2])
    return {"add": _add, "sub": _sub, "mul": _mul, "div": _div, "pow": _pow}[k](a, b)


# -- printing --------------------------------------------------------------

_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}
_SYMBOL = {"add": " + ", "sub": " - ", "mul": "*", "div": "/", "pow": "**"}


def _fmt_num(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(float(v))


def _prec(t) -> int:
    if t[0] == "num":
        return 3 if t[1] < 0 else 5
    return _PREC.get(t[0], 5)


def _to_str(t) -> str:
    """Formula of a tree, in the grammar :func:`parse_map` reads back."""
    k = t[0]
    if k == "x":
        return "x"
    if k == "num":
        return _fmt_num(t[1])
    if k == "const":
        return t[1]
    if k == "call":
        return f"{t[1]}({_to_str(t[2])})"
    if k == "neg":
        s = _to_str(t[1])
        return "-" + (f"({s})" if _prec(t[1]) < 4 else s)
    a, b = t[1], t[2]
    p = _PREC[k]
    sa, sb = _to_str(a), _to_str(b)
    if k == "pow":
        left_paren = _prec(a) <= 4
        right_paren = _prec(b) < 5
    else:
        left_paren = _prec(a) < p
        right_paren = _prec(b) <= p
    if left_paren:
        sa = f"({sa})"
    if right_paren:
        sb = f"({sb})"
    return f"{sa}{_SYMBOL[k]}{sb}"


# ---------------------------------------------------------------------------
# Callables stored in a Map1D (picklable, comparable)
# ---------------------------------------------------------------------------


def _out(y):
    """0-d -> Python float, otherwise the float64 array."""
    y = np.asarray(y, dtype=np.float64)
    return float(y) if y.ndim == 0 else y


@dataclass(frozen=True)
class _TreeFunction:
    tree: tuple

    def __call__(self, x):
        xa = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            y = np.asarray(_eval(self.tree, xa), dtype=np.float64)
        if y.shape != xa.shape:  # a constant expression
            y = np.broadcast_to(y, xa.shape).copy()
        return _out(y)


@dataclass(frozen=True)
class _FamilyFunction:
    family: str
    param: float
    derivative: bool = False

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        p = self.param
        with np.errstate(all="ignore"):
            if self.family == "logistic":
                y = p * (1.0 - 2.0 * x) if self.derivative else p * x * (1.0 - x)
            elif self.family == "quadratic":
                y = 2.0 * x if self.derivative else x * x + p
            elif self.family == "tent":
                y = np.where(x < 0.5, p, -p) if self.derivative else p * np.minimum(x, 1.0 - x)
            else:  # sine
                y = p * np.pi * np.cos(np.pi * x) if self.derivative else p * np.sin(np.pi * x)
        return _out(y)


@dataclass(frozen=True)
class _Iterate:
    f: Callable
    k: int

    def __call__(self, x):
        y = np.asarray(x, dtype=np.float64)
        for _ in range(self.k):
            y = np.asarray(self.f(y), dtype=np.float64)
        return _out(y)


@dataclass(frozen=True)
class _IterateDerivative:
    """Chain rule: (f^k)'(x) = f'(x_{k-1}) ... f'(x_1) f'(x_0)."""

    f: Callable
    df: Callable
    k: int

    def __call__(self, x):
        y = np.asarray(x, dtype=np.float64)
        d = np.ones_like(y)
        with np.errstate(all="ignore"):
            for _ in range(self.k):
                d = d * np.asarray(self.df(y), dtype=np.float64)
                y = np.asarray(self.f(y), dtype=np.float64)
        return _out(d)


# ---------------------------------------------------------------------------
# Public model and results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Map1D:
    """A one-dimensional map ``x_{t+1} = f(x_t)`` with its exact derivative.

    Usually built by :func:`parse_map`; any pair of vectorised callables works.

    Parameters
    ----------
    name : str
        Canonical name (``"logistic:3.5"``, or the expression for expressions).
    f : callable
        ``f(x)`` for a float or a float array ``x`` of any shape (same shape out).
    df : callable
        The derivative ``f'(x)``, same calling convention.
    param : float, optional
        The family parameter (R, C or MU), None for expressions.
    expr, dexpr : str, optional
        Formulas of ``f`` and ``f'`` in ``x`` (for display).
    family : str
        ``"logistic"``, ``"quadratic"``, ``"tent"``, ``"sine"``, ``"expression"``,
        ``"composition"`` or ``"custom"``.

    Examples
    --------
    >>> m = Map1D("cube", lambda x: x**3, lambda x: 3 * x**2)
    >>> m(2.0), m.derivative(2.0)
    (8.0, 12.0)
    """

    name: str
    f: Callable = field(repr=False)
    df: Callable = field(repr=False)
    param: float | None = None
    expr: str | None = None
    dexpr: str | None = None
    family: str = "custom"

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ArgumentTypeError(f"name: expected a string, got {_describe(self.name)}")
        for arg in ("f", "df"):
            if not callable(getattr(self, arg)):
                raise ArgumentTypeError(
                    f"{arg}: expected a callable of x, got {_describe(getattr(self, arg))}"
                )
        if self.param is not None:
            object.__setattr__(self, "param", as_float(self.param, "param"))

    def __call__(self, x):
        """``f(x)``."""
        return self.f(x)

    def derivative(self, x):
        """``f'(x)``."""
        return self.df(x)


# ---------------------------------------------------------------------------
# Building maps
# ---------------------------------------------------------------------------


def _family_map(family: str, p: float) -> Map1D:
    f_expr, d_expr, sym = FAMILIES[family]
    ps = _fmt_num(p)
    if family == "quadratic":
        expr = "x**2" if p == 0 else (f"x**2 + {ps}" if p > 0 else f"x**2 - {_fmt_num(-p)}")
    else:
        expr = f_expr.replace(sym, ps)
    return Map1D(
        name=f"{family}:{ps}",
        f=_FamilyFunction(family, p),
        df=_FamilyFunction(family, p, derivative=True),
        param=p,
        expr=expr,
        dexpr=d_expr.replace(sym, ps),
        family=family,
    )


def parse_map(spec, *, argname: str = "map") -> Map1D:
    """Build a :class:`Map1D` from a family name with a parameter or an expression.

    Parameters
    ----------
    spec : str or Map1D
        ``"logistic:R"`` (``R x (1 - x)``), ``"quadratic:C"`` (``x² + C``),
        ``"tent:MU"`` (``MU min(x, 1 - x)``), ``"sine:R"`` (``R sin(pi x)``), or an
        expression in ``x`` built from numbers, ``x``, ``pi``, ``e``,
        ``+ - * / **``, unary minus, parentheses and the functions ``sin cos tan
        exp log sqrt tanh abs``. The parameter after ``:`` may itself be a
        constant expression (``"logistic:1+sqrt(8)"``). A :class:`Map1D` is
        returned unchanged.
    argname : str
        The argument name used in error messages.

    Returns
    -------
    Map1D
        With the exact derivative: hand-written for the families, the symbolic
        derivative of the parsed tree for expressions.

    Raises
    ------
    ValidationError
        For anything outside the grammar (attribute access, names other than
        ``x``, ``pi``, ``e``, calls of other functions, lambdas, subscripts,
        comprehensions, constant exponents beyond ±64, ...). The expression is
        parsed with :func:`ast.parse` and walked against a whitelist; it is
        never passed to ``eval``.
    UnknownNameError
        For an unknown family before ``:``.

    Examples
    --------
    >>> m = parse_map("logistic:3.5")
    >>> m.expr, m(0.5), m.derivative(0.25)
    ('3.5*x*(1 - x)', 0.875, 1.75)
    >>> g = parse_map("sin(x) + 0.5*x**2")
    >>> g.dexpr
    'cos(x) + x'
    >>> parse_map("__import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rnndyn.errors.ValidationError: map: calling '__import__' is not allowed in a map expression; ...
    """
    if isinstance(spec, Map1D):
        return spec
    if not isinstance(spec, str):
        raise ArgumentTypeError(f"{argname}: expected a Map1D or a string {_SPEC_HELP}, got {_describe(spec)}")
    s = spec.strip()
    if not s:
        raise ValidationError(f"{argname}: expected {_SPEC_HELP}, got an empty string")
    if ":" in s:
        head, _, tail = s.partition(":")
        family = head.strip().lower()
        if family not in FAMILIES:
            raise UnknownNameError(
                f"{argname}: unknown map family {head.strip()!r}; expected one of "
                f"{sorted(FAMILIES)} as 'family:value', or an expression in x; got {spec[:80]!r}"
            )
        if not tail.strip():
            raise ValidationError(
                f"{argname}: the family {family!r} needs a value after ':', e.g. '{family}:3.5'; got {spec!r}"
            )
        tree = _parse_tree(tail, argname)
        if _has_x(tree):
            raise ValidationError(
                f"{argname}: the value after '{family}:' must be a number, not an expression in x; got {spec!r}"
            )
        p = _eval_const(tree)
        if not math.isfinite(p):
            raise ValidationError(f"{argname}: the value after '{family}:' must be finite; got {spec!r}")
        return _family_map(family, p)
    if s.lower() in FAMILIES:
        sym = FAMILIES[s.lower()][2]
        raise ValidationError(
            f"{argname}: the family {s!r} needs a parameter, as '{s.lower()}:{sym}' "
            f"(e.g. '{s.lower()}:3.5'); got {spec!r}"
        )
    tree = _parse_tree(s, argname)
    expr = _to_str(tree)
    dtree = _collect(_diff(tree))
    return Map1D(
        name=expr,
        f=_TreeFunction(tree),
        df=_TreeFunction(dtree),
        param=None,
        expr=expr,
        dexpr=_to_str(dtree),
        family="expression",
    )


def _as_map(f, argname: str = "f") -> Map1D:
    if isinstance(f, Map1D):
        return f
    if isinstance(f, str):
        return parse_map(f, argname=argname)
    raise ArgumentTypeError(f"{argname}: expected a Map1D or a string {_SPEC_HELP}, got {_describe(f)}")


def compose(f, k) -> Map1D:
    """The k-fold composition ``f∘…∘f`` with its chain-rule derivative.

    Parameters
    ----------
    f : Map1D or str
        The map (a string goes through :func:`parse_map`).
    k : int
        Number of applications, ``k >= 0`` (``k = 0`` is the identity).

    Returns
    -------
    Map1D
        ``name == "compose(<f.name>, k)"``, ``family == "composition"``; its
        derivative is ``f'(x_{k-1}) ⋯ f'(x_0)`` along the orbit (exact, no
        finite differences).

    Examples
    --------
    >>> f = parse_map("logistic:3.5")
    >>> f6 = compose(f, 6)
    >>> x = 0.3
    >>> for _ in range(6):
    ...     x = f(x)
    >>> f6(0.3) == x
    True
    """
    m = _as_map(f, "f")
    k = as_int(k, "k", minimum=0, maximum=10**6)
    return Map1D(
        name=f"compose({m.name}, {k})",
        f=_Iterate(m.f, k),
        df=_IterateDerivative(m.f, m.df, k),
        param=m.param,
        expr=None,
        dexpr=None,
        family="composition",
    )
