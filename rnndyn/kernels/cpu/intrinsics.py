"""LLVM-level tools for the CPU kernels' vectorised loops: constants LLVM cannot see through, a fused
multiply-add whose place in the expression is fixed, a product that is never fused, and 512-bit vectors
where the target has them.

Opaque constants (:func:`opaque`)
---------------------------------
A vectorised tanh (:mod:`rnndyn.kernels.vecmath`) needs about twenty constants
in its loop: the polynomial's coefficients, ln 2 in two parts, the shifter,
the clamp. AVX2 has sixteen vector registers, so they cannot all stay in
registers across the loop. LLVM knows they are constants and, inside a loop
nest, rather than spilling them, re-creates each one in every iteration with a
broadcast from its constant pool (``vbroadcastsd``). On AMD Zen 3 a broadcast
from memory is a load *and* an operation on the floating-point pipes, the same
pipes that the polynomial's fused multiply-adds need: about twenty of them per
four elements made the loop bound by those pipes (``llvm-mca -mcpu=znver3``:
24 of 25 cycles per iteration).

:func:`opaque` returns the same values through an empty inline-assembly
statement that LLVM cannot evaluate. To LLVM they are then loop-invariant
values of unknown content: it computes them once before the loop, broadcasts
them once, and spills the vectors that do not fit in registers to the stack,
from where the loop reads them as memory operands of its arithmetic (a load
port, no floating-point pipe). The arithmetic is unchanged, so every result
is bit-for-bit what the plain constants give; only the instruction mix
changes. Measured on Zen 3: a loop of float64 tanh from 3.1 to 2.2-2.4 ns per
element (``benchmarks/RESULTS.md``).

The statement is an empty string with one input tied to its output in a
floating-point register (constraint ``0`` ties them), marked as reading and
writing no memory, so LLVM may still hoist it out of loops and merge
duplicates. Only x86-64 and AArch64 get it (``x`` and ``w`` name their vector
registers); on other targets :func:`opaque` returns its argument as it is.

A fixed fused multiply-add (:func:`fma`)
----------------------------------------
The kernels compile with FMA contraction, which lets LLVM fuse ``a*b + c*d``
into ``fma(a, b, c*d)`` or ``fma(c, d, a*b)`` as it sees fit, and it does not
always see fit the same way in a loop's vectorised body and in its scalar
remainder: in the float32 gated cell, ``alpha*h + eps*(sigmoid(z)*tanh(a))``
rounded differently for about 5 % of entries, so that a trajectory's bits
depended on where in the batch it sat. :func:`fma` is ``llvm.fma``: one
rounding, in the place written, in both.

A product rounded on its own (:func:`rounded_product`)
-----------------------------------------------------
The converse of :func:`fma`: ``c + rounded_product(a, b)`` is a multiplication
and an addition, each rounded, whatever the contraction flags. The cells'
update ``alpha h + eps t`` contracts to ``fma(alpha, h, eps t)``; for alpha = 1
that is ``h + rounded_product(eps, t)``, the same bits with one multiplication
fewer on the pipes a tanh-bound loop is short of.

512-bit vectors (:func:`wide_vector_bytes`, :func:`prefer_wide_vectors`)
-------------------------------------------------------------------------
On Intel targets with AVX-512, LLVM's tuning (``prefer-256-bit``, chosen for
the clock penalty of 512-bit arithmetic on the first AVX-512 parts) makes the
loop vectoriser stop at 256-bit vectors, so numba's loops use half the width of
hosts whose two fused multiply-add units are 512 bits wide. Two ways past it,
both only where :func:`wide_vector_bytes` says the target has such vectors:

* vector operations that code emits explicitly at 512 bits are kept at 512 bits
  (numba's functions carry no ``min-legal-vector-width`` limit): the register
  tiles of :mod:`rnndyn.kernels.cpu.tiles` do that;
* :func:`prefer_wide_vectors`, called in a kernel, sets the function attribute
  ``"prefer-vector-width"="512"`` (clang's ``-mprefer-vector-width=512``, per
  function) on the function being compiled, so that the loops in its body are
  vectorised 8 doubles wide. Loops over the whole batch gain (a tanh loop on an
  AVX-512 Xeon: 1.27-1.40 to 1.07-1.12 ns per element); short loops would lose
  (a 16-entry row leaves no full iteration of 8 lanes times LLVM's unroll of 4),
  so it is not set on kernels whose loops run over one state.

The lane width changes no result: each lane computes what a scalar would, and
the contractions into fused multiply-adds are chosen per expression.
"""

from __future__ import annotations

import functools
import platform

from llvmlite import binding as ll
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic, overload

_MACHINE = platform.machine().lower()
#: Register constraint of a floating-point value for the host's LLVM target, or None (no statement).
_FLOAT_REGISTER = "x" if _MACHINE in ("x86_64", "amd64") else "w" if _MACHINE in ("aarch64", "arm64") else None


def fma(a, b, c):
    """``a * b + c`` with one rounding (``llvm.fma``); called from Python, ``a * b + c`` with two.

    Parameters
    ----------
    a, b, c : float
        Of one float type.
    """
    return a * b + c


def emit_fma(builder, a, b, c):
    """Emit ``llvm.fma`` on three LLVM values of one float or float-vector type (IRBuilder.fma takes scalars
    only); used here and by the register tiles of :mod:`rnndyn.kernels.cpu.tiles`."""
    ty = a.type
    suffix = f"v{ty.count}{ty.element.intrinsic_name}" if isinstance(ty, ir.VectorType) else ty.intrinsic_name
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty, ty, ty]), f"llvm.fma.{suffix}")
    return builder.call(fn, [a, b, c])


@intrinsic
def _fma(typingctx, a, b, c):
    if not (isinstance(a, types.Float) and a == b == c):
        return None
    sig = a(a, b, c)

    def codegen(context, builder, sig, args):
        return emit_fma(builder, *args)

    return sig, codegen


@overload(fma)
def _fma_impl(a, b, c):
    if isinstance(a, types.Float) and a == b == c:
        return lambda a, b, c: _fma(a, b, c)
    return None


def rounded_product(a, b):
    """``a * b`` rounded on its own: never fused with a sum that uses it (called from Python, ``a * b``).

    Parameters
    ----------
    a, b : float
        Of one float type.

    Notes
    -----
    numba marks every floating-point operation of a kernel compiled with FMA contraction as contractable,
    unless the operation carries fast-math flags already (``numba.core.fastmathpass``). This product carries
    ``nsz`` alone (no effect on a product), so LLVM must round it before a sum adds it: ``h + ε t`` stays one
    multiplication and one addition, where LLVM would otherwise fuse it into ``fma(ε, t, h)`` and round
    once. That keeps the bits of the cells' update ``α h + ε t``, which the kernels contract as
    ``fma(α, h, ε t)``, when α = 1 is dropped from it, and leaves the addition to the adder pipes, which
    the multiply-add pipes of a tanh-bound loop need more.
    """
    return a * b


@intrinsic
def _rounded_product(typingctx, a, b):
    if not (isinstance(a, types.Float) and a == b):
        return None
    sig = a(a, b)

    def codegen(context, builder, sig, args):
        return builder.fmul(args[0], args[1], flags=("nsz",))

    return sig, codegen


@overload(rounded_product)
def _rounded_product_impl(a, b):
    if isinstance(a, types.Float) and a == b:
        return lambda a, b: _rounded_product(a, b)
    return None


def _hidden(builder, value):
    """``value`` through an empty inline-assembly statement (same register in and out)."""
    if _FLOAT_REGISTER is None:
        return value
    asm = ir.InlineAsm(ir.FunctionType(value.type, [value.type]), "", f"={_FLOAT_REGISTER},0", side_effect=False)
    call = builder.call(asm, [value])
    for attribute in ("nounwind", "readnone"):
        call.attributes.add(attribute)
    return call


def opaque(values):
    """The tuple of floats ``values``, unchanged, that LLVM no longer knows to be constant.

    Parameters
    ----------
    values : tuple of float
        All of one float type (a numba ``UniTuple``), e.g. a module's tuple of
        constants.

    Returns
    -------
    tuple of float
        The same values. Internally one empty assembly statement yields a zero
        ``z`` that LLVM cannot evaluate, and each entry is returned as
        ``z + value``: exact (``+0.0 + v`` is ``v`` for every ``v`` but ``-0.0``,
        which none of the callers' constants is), one statement for the whole
        tuple however long it is. Called from Python, ``values`` itself.
    """
    return values


@intrinsic
def _opaque(typingctx, values):
    if not (isinstance(values, types.UniTuple) and isinstance(values.dtype, types.Float)):
        return None
    sig = values(values)

    def codegen(context, builder, sig, args):
        (tup,) = args
        fty = context.get_value_type(sig.args[0].dtype)
        zero = _hidden(builder, ir.Constant(fty, 0.0))
        out = tup
        for i in range(sig.args[0].count):
            out = builder.insert_value(out, builder.fadd(zero, builder.extract_value(tup, i)), i)
        return out

    return sig, codegen


@overload(opaque)
def _opaque_impl(values):
    if isinstance(values, types.UniTuple) and isinstance(values.dtype, types.Float):
        return lambda values: _opaque(values)
    return None


@functools.cache
def target_features() -> frozenset:
    """The CPU features numba compiles for, as LLVM names them (``"+avx2"``, ``"+avx512f"``, ...).

    numba's own rule: ``NUMBA_CPU_FEATURES`` where set (``NUMBA_CPU_NAME=generic`` sets it empty), else the
    host's features.
    """
    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else ll.get_host_cpu_features().flatten()
    return frozenset(f for f in features.split(",") if f)


def wide_vector_bytes() -> int:
    """Bytes of the widest SIMD vector the kernels' target offers beyond 256 bits: 64 with AVX-512, else 0."""
    return 64 if "+avx512f" in target_features() else 0


def prefer_wide_vectors():
    """In ``@njit`` code: vectorise the calling function's loops with 512-bit vectors where the target has
    them (see the module docstring); elsewhere, and called from Python, nothing."""


@intrinsic
def _prefer_wide_vectors(typingctx):
    sig = types.none()

    def codegen(context, builder, sig, args):
        if wide_vector_bytes():
            # llvmlite's attribute set takes only the keyword attributes it knows; a string attribute goes in
            # through set.add and is printed into the function's definition as written
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()

    return sig, codegen


# inlined at numba's level, so that the intrinsic is generated into the caller's function, not the overload's
@overload(prefer_wide_vectors, inline="always")
def _prefer_wide_vectors_impl():
    return lambda: _prefer_wide_vectors()


@intrinsic
def flat_view(typingctx, arr):
    """A 1-D view of all entries of the C-contiguous array ``arr``, in order, that holds no reference.

    ``arr.reshape(arr.size)`` in numba calls the runtime's reshape helper and counts a reference on the
    array, two atomic operations: about 28 ns per view, which three views in the step of a 32 x 32 block
    (2.6 µs) paid every step. This view is a plain (pointer, size) with no owner: valid while ``arr`` is,
    so it must not outlive the function that makes it (never returned or stored).
    """
    if not (isinstance(arr, types.Array) and arr.layout == "C" and arr.ndim >= 1):
        return None
    flat = arr.copy(ndim=1, layout="C")

    def codegen(context, builder, sig, args):
        aty = sig.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        out = context.make_array(flat)(context, builder)
        size = context.get_constant(types.intp, 1)
        for extent in cgutils.unpack_tuple(builder, ary.shape, aty.ndim):
            size = builder.mul(size, extent)
        itemsize = context.get_constant(types.intp, context.get_abi_sizeof(context.get_data_type(aty.dtype)))
        meminfo = ir.Constant(ary.meminfo.type, None)
        context.populate_array(out, data=ary.data, shape=[size], strides=[itemsize], itemsize=itemsize,
                               meminfo=meminfo, parent=ir.Constant(ary.parent.type, None))
        return out._getvalue()

    return flat(arr), codegen
