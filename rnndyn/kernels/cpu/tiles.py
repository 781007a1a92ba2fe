"""Register-tiled products for the small-n CPU kernels: ``out[i:i+4, c:c+2L] = M[i:i+4] @ H[:, c:c+2L]``.

Why
---
The product of a step, ``A = M @ H`` with ``H`` of shape ``(n, m)`` (batch
innermost) and ``n`` up to ~48, is too small for a BLAS call to pay (the call
and its packing cost more than the arithmetic) and too small for numba's loops
to reach the machine: LLVM's loop vectoriser only vectorises an innermost loop,
so a loop nest written in numba keeps the output row in memory and reloads and
stores it for every few terms of the sum, and each entry into a short inner loop
pays a runtime check that the rows of ``out`` and ``H`` do not overlap (numba
has no way to declare arrays non-aliasing). At n = 32, m = 32 that ran at about
half of one core's peak.

Here a tile of 4 rows by two SIMD vectors of ``out`` (4 x 8 doubles or 4 x 16
floats on AVX2) stays in eight vector registers for the whole sum over ``j``:
each step of the sum loads two vectors of ``H[j]``, broadcasts four entries of
``M[:, j]`` and issues eight fused multiply-adds, the shape of a BLAS
micro-kernel. numba cannot express vector registers, so the tile is emitted as
LLVM IR (``numba.extending.intrinsic``); everything around it is ordinary
``@njit`` code.

Where the target has AVX-512 (:func:`rnndyn.kernels.cpu.intrinsics.wide_vector_bytes`),
column strips of two 512-bit vectors (4 x 16 doubles, 4 x 32 floats) come first
and 256-bit tiles take the columns left over: numba's own loops stay at 256 bits
there (see that module), while these hosts' multiply-add units are 512 bits wide.
One core of an AVX-512 Xeon, n = 32, m = 32: 0.81 against 1.16 µs per product
(81 against 57 GFLOP/s), bit for bit the same.

Where the right factor is the same for many products (backprop's weight matrix over the steps of a
sequence), :func:`pack_panels` copies its columns once into panels of one tile's width and
:func:`tiled_product_panels` reads those front to back: rows of 1 KB (n = 128 float64) put a column strip of
the matrix on a few L1 sets, so each tile streamed it from L2. One Zen 4 core, (32, 128) by (128, 128):
0.958 of the time of the strips (paired), the same bits.

The column sums that ``simulate``'s divergence check reads after every step
(:func:`tiled_column_sums`) use the same device: a strip of four vectors of
sums stays in registers while the rows pass, in place of a loop nest that
reloads and stores the sums for each row. At n = 32, m = 32 that took the sums
from 0.23-0.29 to about 0.05 µs per step; the rows are added in the same order.

So do the Householder reflections of the small QR of the Lyapunov kernels
(:func:`tiled_reflect`): a strip of ``w = Aᵀv`` stays in registers while the
rows pass, then updates them, with no overlap checks and no reloads of ``w``.
With the QR's panels and column strips (rnndyn.kernels.cpu.common._qr_cols)
the 16 x 16 QR of a Lyapunov step went from 1.9 to 1.1-1.2 µs and the
128 x 128 one from 570-590 to 210-310 µs, bit for bit the same.
A run of reflections over one strip (:func:`tiled_reflect_run`: a panel's
reflectors over the columns right of it, and the accumulation of Q) then
takes one pass over the rows per reflection instead of two, each row's update
also adding it into the next reflector's ``w``: on a Zen 4 core the 128 x 128
QR went from 385-470 to 235-270 µs, again bit for bit.

The triangular solve of the covariant vectors' backward step, X = R⁻¹C with R and C
upper triangular (:func:`tiled_solve_upper`), keeps a tile of 4 rows of X by two vectors
in registers while the rows below it pass, then finishes the tile's own 4 × 4 triangle
there: at k = 128 it went from 180-250 to 25-31 µs on a Zen 4 core, where the row-by-row
solve paid a loop entry and a reload of the row it updates for each of its ~8000 short
axpys. Its rounding is its own (fused multiply-adds, the sum below the tile first), not
the plain loop's; it solves to the same accuracy.

Rounding
--------
Each entry is accumulated as ``fma(M[i, j], H[j, c], acc)`` from ``acc = 0``,
``j`` ascending: exactly what the plain loops in
:mod:`rnndyn.kernels.cpu.common` compute when compiled with FMA contraction
(they are, see ``FASTMATH``), so the tiled and untiled products agree bit for
bit and a tile can border a plain-loop remainder. The affine variant then adds
``b[i]`` and, for each input ``j < d`` in order, ``fma(V[i, j], X[j, c], acc)``,
as :func:`rnndyn.kernels.cpu.common._block_step` does after its product.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload, register_jitable

from rnndyn.kernels.cpu.intrinsics import emit_fma, wide_vector_bytes

#: Rows of a tile (accumulators per vector column).
TILE_ROWS = 4
#: SIMD vectors per tile row; a tile is TILE_ROWS x (TILE_VECS * lanes) entries.
TILE_VECS = 2
#: SIMD vectors per strip of :func:`tiled_column_sums`: four independent chains of additions.
SUM_VECS = 4
#: SIMD vectors per (wide or narrow) strip of :func:`tiled_reflect`.
REFLECT_VECS = 2
#: Bytes of one SIMD vector of the narrow tiles (AVX2 ymm). Other targets still get correct code: LLVM
#: splits or merges lanes.
_VECTOR_BYTES = 32


def _tileable(*arrays) -> bool:
    """Whether the arrays are 2-D, C-contiguous and of one float type (the tile reads rows as vectors)."""
    first = arrays[0]
    return all(isinstance(a, types.Array) and a.ndim == 2 and a.layout == "C" and a.dtype == first.dtype
               for a in arrays) and first.dtype in (types.float32, types.float64)


def _lanes(dtype, vector_bytes=_VECTOR_BYTES):
    return vector_bytes * 8 // dtype.bitwidth


def _tile_columns(dtype, vecs=TILE_VECS) -> int:
    """Columns of a narrow (256-bit) tile or strip of ``vecs`` vectors of ``dtype``."""
    return vecs * _lanes(dtype)


def _wide_columns(dtype, vecs=TILE_VECS) -> int:
    """Columns of a wide (512-bit) tile or strip of ``vecs`` vectors of ``dtype`` on numba's target, 0 where the
    target has no such vectors."""
    wide = wide_vector_bytes()
    return vecs * _lanes(dtype, wide) if wide else 0


@register_jitable
def _strip_ends(m, w, ww):
    """(end of the wide strips, end of all strips) over m columns: strips of ww columns first (none where ww
    is 0), then strips of w up to the last whole one."""
    mw = m - m % ww if ww > 0 else 0
    return mw, m - m % w


def _rows(context, builder, aty, val):
    """(data pointer, number of rows, row length) of a C-contiguous 2-D array value."""
    ary = context.make_array(aty)(context, builder, val)
    nrows, ncols = cgutils.unpack_tuple(builder, ary.shape, 2)
    return ary.data, nrows, ncols


def _vector_at(builder, data, index, vty):
    """Pointer to the vector that starts at element ``index`` of ``data``."""
    return builder.bitcast(builder.gep(data, [index]), vty.as_pointer())


def _broadcast(builder, scalar, vty):
    undef = ir.Constant(vty, ir.Undefined)
    first = builder.insert_element(undef, scalar, ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), vty.count), [0] * vty.count)
    return builder.shuffle_vector(first, undef, mask)


def _accumulate(builder, acc, a_data, lda, i0, b_data, ldb, c0, count, vty, align):
    """acc[r][v] = fma(A[i0 + r, j], B[j, c0 + v L : c0 + (v + 1) L], acc[r][v]) for j = 0 .. count - 1 in order:
    per j, the tile's vectors of row j of B are loaded once and each row's entry of A is broadcast."""
    i64 = ir.IntType(64)
    lanes = vty.count
    row_a = [builder.mul(builder.add(i0, ir.Constant(i64, r)), lda) for r in range(TILE_ROWS)]
    with cgutils.for_range(builder, count) as loop:
        j = loop.index
        b_row = builder.add(builder.mul(j, ldb), c0)
        bv = [builder.load(_vector_at(builder, b_data, builder.add(b_row, ir.Constant(i64, v * lanes)), vty),
                           align=align) for v in range(TILE_VECS)]
        for r in range(TILE_ROWS):
            a = _broadcast(builder, builder.load(builder.gep(a_data, [builder.add(row_a[r], j)])), vty)
            for v in range(TILE_VECS):
                builder.store(emit_fma(builder, a, bv[v], builder.load(acc[r][v])), acc[r][v])


def _tile_codegen(context, builder, sig, args, affine, vector_bytes, panel=False):
    aty = sig.args[0]
    ety = context.get_value_type(aty.dtype)
    lanes = _lanes(aty.dtype, vector_bytes)
    vty = ir.VectorType(ety, lanes)
    align = aty.dtype.bitwidth // 8
    i64 = ir.IntType(64)
    if affine:
        M, H, b, V, X, out, i0, c0 = args
        m_t, h_t, b_t, v_t, x_t, o_t = sig.args[:6]
    else:
        M, H, out, i0, c0 = args
        m_t, h_t, o_t = sig.args[:3]
    i0 = context.cast(builder, i0, sig.args[-2], types.int64)
    c0 = context.cast(builder, c0, sig.args[-1], types.int64)
    m_data, _, ldm = _rows(context, builder, m_t, M)
    h_data, n, ldh = _rows(context, builder, h_t, H)
    o_data, _, ldo = _rows(context, builder, o_t, out)
    zero = ir.Constant(vty, [ir.Constant(ety, 0.0)] * lanes)
    acc = [[cgutils.alloca_once_value(builder, zero) for _ in range(TILE_VECS)] for _ in range(TILE_ROWS)]
    # a panel is the tile's own columns of H, stored apart: it is read from its column 0
    _accumulate(builder, acc, m_data, ldm, i0, h_data, ldh, ir.Constant(i64, 0) if panel else c0, n, vty, align)
    if affine:
        b_data = context.make_array(b_t)(context, builder, b).data
        v_data, _, d = _rows(context, builder, v_t, V)
        x_data, _, ldx = _rows(context, builder, x_t, X)
        for r in range(TILE_ROWS):
            bb = _broadcast(builder, builder.load(builder.gep(b_data, [builder.add(i0, ir.Constant(i64, r))])), vty)
            for v in range(TILE_VECS):
                builder.store(builder.fadd(builder.load(acc[r][v]), bb), acc[r][v])
        _accumulate(builder, acc, v_data, d, i0, x_data, ldx, c0, d, vty, align)
    for r in range(TILE_ROWS):
        o_row = builder.add(builder.mul(builder.add(i0, ir.Constant(i64, r)), ldo), c0)
        for v in range(TILE_VECS):
            ptr = _vector_at(builder, o_data, builder.add(o_row, ir.Constant(i64, v * lanes)), vty)
            builder.store(builder.load(acc[r][v]), ptr, align=align)
    return context.get_dummy_value()


def _tile_product_intrinsic(vector_bytes, panel=False):
    @intrinsic
    def tile_product(typingctx, M, H, out, i0, c0):
        if not (_tileable(M, H, out) and isinstance(i0, types.Integer) and isinstance(c0, types.Integer)):
            return None
        sig = types.void(M, H, out, i0, c0)

        def codegen(context, builder, sig, args):
            return _tile_codegen(context, builder, sig, args, False, vector_bytes, panel)

        return sig, codegen

    return tile_product


def _tile_affine_intrinsic(vector_bytes):
    @intrinsic
    def tile_affine(typingctx, M, H, b, V, X, out, i0, c0):
        ok = (_tileable(M, H, V, X, out) and isinstance(b, types.Array) and b.ndim == 1 and b.layout == "C"
              and b.dtype == M.dtype and isinstance(i0, types.Integer) and isinstance(c0, types.Integer))
        if not ok:
            return None
        sig = types.void(M, H, b, V, X, out, i0, c0)

        def codegen(context, builder, sig, args):
            return _tile_codegen(context, builder, sig, args, True, vector_bytes)

        return sig, codegen

    return tile_affine


def _sums_codegen(context, builder, sig, args, vector_bytes):
    h_t, a_t = sig.args[:2]
    H, acc, c0 = args
    ety = context.get_value_type(h_t.dtype)
    lanes = _lanes(h_t.dtype, vector_bytes)
    vty = ir.VectorType(ety, lanes)
    align = h_t.dtype.bitwidth // 8
    i64 = ir.IntType(64)
    c0 = context.cast(builder, c0, sig.args[-1], types.int64)
    h_data, n, ldh = _rows(context, builder, h_t, H)
    a_data = context.make_array(a_t)(context, builder, acc).data
    zero = ir.Constant(vty, [ir.Constant(ety, 0.0)] * lanes)
    sums = [cgutils.alloca_once_value(builder, zero) for _ in range(SUM_VECS)]
    with cgutils.for_range(builder, n) as loop:
        row = builder.add(builder.mul(loop.index, ldh), c0)
        for v in range(SUM_VECS):
            hv = builder.load(_vector_at(builder, h_data, builder.add(row, ir.Constant(i64, v * lanes)), vty),
                              align=align)
            builder.store(builder.fadd(builder.load(sums[v]), hv), sums[v])
    for v in range(SUM_VECS):
        ptr = _vector_at(builder, a_data, builder.add(c0, ir.Constant(i64, v * lanes)), vty)
        builder.store(builder.load(sums[v]), ptr, align=align)
    return context.get_dummy_value()


def _column_sums_intrinsic(vector_bytes):
    @intrinsic
    def column_sums_strip(typingctx, H, acc, c0):
        ok = (_tileable(H) and isinstance(acc, types.Array) and acc.ndim == 1 and acc.layout == "C"
              and acc.dtype == H.dtype and isinstance(c0, types.Integer))
        if not ok:
            return None
        sig = types.void(H, acc, c0)

        def codegen(context, builder, sig, args):
            return _sums_codegen(context, builder, sig, args, vector_bytes)

        return sig, codegen

    return column_sums_strip


def _strip_access(builder, a_data, lda, v_data, ldv, c0, vty, vecs):
    """(``rows(i)``: pointers to the ``vecs`` vectors of row i of the strip from column c0, ``v_at(i, j)``:
    the scalar ``Vh[i, j]``) for the reflections' code."""
    i64 = ir.IntType(64)

    def rows(i):
        row = builder.add(builder.mul(i, lda), c0)
        return [_vector_at(builder, a_data, builder.add(row, ir.Constant(i64, v * vty.count)), vty)
                for v in range(vecs)]

    def v_at(i, j):
        return builder.load(builder.gep(v_data, [builder.add(builder.mul(i, ldv), j)]))

    return rows, v_at


def _emit_sum(builder, w, rows, v_at, j, n, align):
    """w = A[j] + sum_{i > j} v_i A[i] (v_i = Vh[i, j]), rows in order, each product and each sum rounded on its
    own (no contraction), as common._reflect's plain loops."""
    for v, p in enumerate(rows(j)):
        builder.store(builder.load(p, align=align), w[v])
    one = ir.Constant(ir.IntType(64), 1)
    with cgutils.for_range_slice(builder, builder.add(j, one), n, one) as (i, _):
        vi = _broadcast(builder, v_at(i, j), w[0].type.pointee)
        for v, p in enumerate(rows(i)):
            builder.store(builder.fadd(builder.load(w[v]), builder.fmul(vi, builder.load(p, align=align))), w[v])


def _emit_scale_head(builder, w, head, tau, align):
    """w *= tau; A[j] -= w (``head``: row j's vectors)."""
    for v, p in enumerate(head):
        wv = builder.fmul(builder.load(w[v]), tau)
        builder.store(wv, w[v])
        builder.store(builder.fsub(builder.load(p, align=align), wv), p, align=align)


def _emit_update(builder, w, rows, v_at, j, n, align):
    """A[i] -= v_i w for the rows i > j."""
    one = ir.Constant(ir.IntType(64), 1)
    with cgutils.for_range_slice(builder, builder.add(j, one), n, one) as (i, _):
        vi = _broadcast(builder, v_at(i, j), w[0].type.pointee)
        for v, p in enumerate(rows(i)):
            builder.store(builder.fsub(builder.load(p, align=align), builder.fmul(vi, builder.load(w[v]))), p,
                          align=align)


def _reflect_strip(builder, a_data, lda, v_data, ldv, n, j, c0, vty, vecs, align):
    """Emit H_j applied to rows j.. of the strip of ``vecs`` vectors of A from column c0 (see :func:`tiled_reflect`)."""
    rows, v_at = _strip_access(builder, a_data, lda, v_data, ldv, c0, vty, vecs)
    w = [cgutils.alloca_once(builder, vty) for _ in range(vecs)]
    _emit_sum(builder, w, rows, v_at, j, n, align)
    _emit_scale_head(builder, w, rows(j), _broadcast(builder, v_at(j, j), vty), align)
    _emit_update(builder, w, rows, v_at, j, n, align)


def _reflect_run_strip(builder, a_data, lda, v_data, ldv, n, j_lo, j_hi, backward, c0, vty, vecs, align):
    """Emit H_j for every j of [j_lo, j_hi) (descending if ``backward``, a Python bool) applied to the strip of
    ``vecs`` vectors of A from column c0 (see :func:`tiled_reflect_run`)."""
    i64 = ir.IntType(64)
    one = ir.Constant(i64, 1)
    rows, v_at = _strip_access(builder, a_data, lda, v_data, ldv, c0, vty, vecs)
    w = [cgutils.alloca_once(builder, vty) for _ in range(vecs)]
    wn = [cgutils.alloca_once(builder, vty) for _ in range(vecs)]
    have = cgutils.alloca_once_value(builder, ir.Constant(ir.IntType(1), 0))
    count = builder.sub(j_hi, j_lo)
    with cgutils.for_range(builder, count) as loop:
        r = loop.index
        j = builder.sub(builder.sub(j_hi, one), r) if backward else builder.add(j_lo, r)
        first = builder.add(j, one)
        tau_s = v_at(j, j)
        with builder.if_else(builder.fcmp_ordered("==", tau_s, ir.Constant(vty.element, 0.0))) as (skip, apply):
            with skip:
                builder.store(ir.Constant(ir.IntType(1), 0), have)  # H_j = I: the next w from scratch
            with apply:
                with builder.if_then(builder.not_(builder.load(have))):
                    _emit_sum(builder, w, rows, v_at, j, n, align)
                head = rows(j)
                _emit_scale_head(builder, w, head, _broadcast(builder, tau_s, vty), align)
                with builder.if_else(builder.icmp_signed("<", builder.add(r, one), count)) as (fused, last):
                    with fused:
                        # A[i] -= v_i w for the rows after j, and the next reflector's w from the rows as they
                        # are stored: its sum runs over its rows in the same order as on a pass of its own
                        jn = builder.sub(j, one) if backward else first
                        if backward:
                            # row j - 1 is not H_j's: the next sum starts there, then takes row j, updated above
                            vj = _broadcast(builder, v_at(j, jn), vty)
                            for v, (pp, ph) in enumerate(zip(rows(jn), head)):
                                builder.store(builder.fadd(builder.load(pp, align=align),
                                                           builder.fmul(vj, builder.load(ph, align=align))), wn[v])
                            rows_from = first
                        else:
                            # the first row after j is the next reflector's own: its sum starts with it
                            vi = _broadcast(builder, v_at(first, j), vty)
                            for v, p in enumerate(rows(first)):
                                a = builder.fsub(builder.load(p, align=align), builder.fmul(vi, builder.load(w[v])))
                                builder.store(a, p, align=align)
                                builder.store(a, wn[v])
                            rows_from = builder.add(first, one)
                        with cgutils.for_range_slice(builder, rows_from, n, one) as (i, _):
                            vi = _broadcast(builder, v_at(i, j), vty)
                            vn = _broadcast(builder, v_at(i, jn), vty)
                            for v, p in enumerate(rows(i)):
                                a = builder.fsub(builder.load(p, align=align), builder.fmul(vi, builder.load(w[v])))
                                builder.store(a, p, align=align)
                                builder.store(builder.fadd(builder.load(wn[v]), builder.fmul(vn, a)), wn[v])
                        for v in range(vecs):
                            builder.store(builder.load(wn[v]), w[v])
                        builder.store(ir.Constant(ir.IntType(1), 1), have)
                    with last:
                        _emit_update(builder, w, rows, v_at, j, n, align)


def _reflect_run_codegen(context, builder, sig, args, wide_bytes, backward):
    A, Vh, j_lo, j_hi, c_lo, c_hi = args
    j_lo, j_hi = (context.cast(builder, v, t, types.int64) for v, t in zip((j_lo, j_hi), sig.args[2:4]))

    def strip(a_data, lda, v_data, ldv, n, c, vty, vecs, itemsize):
        _reflect_run_strip(builder, a_data, lda, v_data, ldv, n, j_lo, j_hi, backward, c, vty, vecs, itemsize)

    return _over_strips(context, builder, sig, A, Vh, c_lo, c_hi, wide_bytes, strip)


def _over_strips(context, builder, sig, A, Vh, c_lo, c_hi, wide_bytes, strip):
    """Emit ``strip(a_data, lda, v_data, ldv, n, c, vty, vecs, itemsize)`` for each whole strip of columns of
    [c_lo, c_hi) (:func:`_reflect_strips`, the widest first); returns the end of the columns covered. Rows
    whose entries are not adjacent (a strided view) are left to the caller's loops: no strips at all."""
    a_t, v_t = sig.args[:2]
    ety = context.get_value_type(a_t.dtype)
    itemsize = a_t.dtype.bitwidth // 8
    i64 = ir.IntType(64)
    c_lo, c_hi = (context.cast(builder, v, t, types.int64) for v, t in zip((c_lo, c_hi), sig.args[-2:]))
    a_data, n, lda, a_unit = _strided_rows(context, builder, a_t, A, itemsize)
    v_data, _, ldv, v_unit = _strided_rows(context, builder, v_t, Vh, itemsize)
    c_hi = builder.select(builder.and_(a_unit, v_unit), c_hi, c_lo)
    end = c_lo
    for vty, vecs in _reflect_strips(ety, a_t.dtype, wide_bytes):
        width = ir.Constant(i64, vty.count * vecs)
        stop = builder.add(end, builder.mul(builder.udiv(builder.sub(c_hi, end), width), width))
        with cgutils.for_range_slice(builder, end, stop, width) as (c, _):
            strip(a_data, lda, v_data, ldv, n, c, vty, vecs, itemsize)
        end = stop
    return end


def _reflect_strips(ety, dtype, wide_bytes):
    """(vector type, vectors per strip) of the reflections' strips, the widest first, each taken while it fits."""
    strips = []
    if wide_bytes:
        wide = ir.VectorType(ety, _lanes(dtype, wide_bytes))
        strips += [(wide, 2 * REFLECT_VECS), (wide, REFLECT_VECS)]
    return strips + [(ir.VectorType(ety, _lanes(dtype)), REFLECT_VECS), (ir.VectorType(ety, _lanes(dtype)), 1)]


def _reflect_codegen(context, builder, sig, args, wide_bytes):
    A, Vh, j, c_lo, c_hi = args
    j = context.cast(builder, j, sig.args[2], types.int64)

    def strip(a_data, lda, v_data, ldv, n, c, vty, vecs, itemsize):
        _reflect_strip(builder, a_data, lda, v_data, ldv, n, j, c, vty, vecs, itemsize)

    return _over_strips(context, builder, sig, A, Vh, c_lo, c_hi, wide_bytes, strip)


def _strided_rows(context, builder, aty, val, itemsize):
    """(data pointer, number of rows, row stride in elements, whether the entries of a row are adjacent) of a
    2-D array value, C-contiguous or a view of whole rows of a wider array."""
    ary = context.make_array(aty)(context, builder, val)
    nrows, _ = cgutils.unpack_tuple(builder, ary.shape, 2)
    s0, s1 = cgutils.unpack_tuple(builder, ary.strides, 2)
    size = ir.Constant(s0.type, itemsize)
    return ary.data, nrows, builder.sdiv(s0, size), builder.icmp_signed("==", s1, size)


def _reflect_args_ok(A, Vh, *indices) -> bool:
    """Whether the reflections' intrinsics take these types: A and Vh 2-D arrays of one float type, C-contiguous
    or views of whole rows ("A" layout, checked at run time), and integer indices."""
    return (all(isinstance(a, types.Array) and a.ndim == 2 and a.layout in ("C", "A") and a.dtype == A.dtype
                for a in (A, Vh)) and A.dtype in (types.float32, types.float64)
            and all(isinstance(v, types.Integer) for v in indices))


def _reflect_intrinsic(wide_bytes):
    """The intrinsic :func:`tiled_reflect`, its widest strips of ``wide_bytes`` vectors (None: as the target)."""

    @intrinsic
    def tiled_reflect(typingctx, A, Vh, j, c_lo, c_hi):
        """Apply the Householder reflection H_j = I - tau_j v_j v_jᵀ (``tau_j = Vh[j, j]``,
        ``v_j = [1; Vh[j+1:, j]]``) to rows ``j..`` of the whole strips of columns ``c_lo..c_hi-1`` of ``A``;
        returns the end of the columns it covered (from ``c_lo``). No bounds are checked. ``A`` and ``Vh`` are
        2-D, of one float type, C-contiguous or views of whole rows of wider arrays (a row stride padded
        away from a multiple of 4 KB keeps the rows of a strip apart in L1); other strides cover nothing.

        As ``w = A[j] + sum_i v_i A[i]`` (rows in order), ``w *= tau``, ``A[j] -= w``, ``A[i] -= v_i w``, each
        product and each sum rounded on its own: the arithmetic of :func:`rnndyn.kernels.cpu.common._reflect`'s
        loops, so the columns left to them round the same. A strip's ``w`` stays in vector registers over all
        rows. The strips: four and two 512-bit vectors where the target has them, then two 256-bit vectors,
        then one.

        One intrinsic for all strips, rather than an ``@njit`` loop over intrinsic strips: a function taking
        the arrays, inlined into the QR's loop, kept its reference counting there (ten atomic operations per
        reflection, slower than the reflection they frame).
        """
        if not _reflect_args_ok(A, Vh, j, c_lo, c_hi):
            return None

        def codegen(context, builder, sig, args):
            wide = wide_vector_bytes() if wide_bytes is None else wide_bytes
            return _reflect_codegen(context, builder, sig, args, wide)

        return types.intp(A, Vh, j, c_lo, c_hi), codegen

    return tiled_reflect


def _reflect_run_intrinsic(backward):
    """The intrinsic :func:`tiled_reflect_run` (``backward``: the reflectors in descending order)."""

    @intrinsic
    def tiled_reflect_run(typingctx, A, Vh, j_lo, j_hi, c_lo, c_hi):
        """Apply H_j for j = j_lo .. j_hi - 1 (ascending, or descending in the ``backward`` variant; those
        with ``tau_j = Vh[j, j]`` = 0 are skipped, H_j = I) to the whole strips of columns ``c_lo..c_hi-1`` of
        ``A``, as :func:`tiled_reflect` one after another; returns the end of the columns it covered.

        The same operations on the same values, so the same bits, in one pass over the rows per reflection
        where :func:`tiled_reflect` takes two: the pass that subtracts ``v_i w`` from row i also adds row i,
        as stored, into the next reflector's ``w`` (its rows, in order). A strip of columns stays in registers
        and L1 while the whole run passes; each row is loaded once and stored once per reflection instead of
        loaded twice. Descending runs are the accumulation of Q (H_{j-1} also reads row j - 1, untouched by
        H_j, which starts its sum); ascending runs, a panel's reflectors over the columns right of it.
        """
        if not _reflect_args_ok(A, Vh, j_lo, j_hi, c_lo, c_hi):
            return None

        def codegen(context, builder, sig, args):
            return _reflect_run_codegen(context, builder, sig, args, wide_vector_bytes(), backward)

        return types.intp(A, Vh, j_lo, j_hi, c_lo, c_hi), codegen

    return tiled_reflect_run


tiled_reflect = _reflect_intrinsic(None)
#: ``tiled_reflect_run(A, Vh, j_lo, j_hi, c_lo, c_hi)``: H_{j_lo}, ..., H_{j_hi - 1} in that order (see
#: :func:`_reflect_run_intrinsic`).
tiled_reflect_run = _reflect_run_intrinsic(False)
#: The same run in descending order, H_{j_hi - 1} first.
tiled_reflect_run_backward = _reflect_run_intrinsic(True)
#: :func:`tiled_reflect` with 512-bit strips on any host (LLVM splits them where there are no such vectors).
tiled_reflect_wide = _reflect_intrinsic(64)


def _solve_codegen(context, builder, sig, args, vector_bytes):
    """X[i0:i0+4, strip] from R, C and the rows of X below the tile (see :func:`tiled_solve_upper`)."""
    r_t, c_t, x_t = sig.args[:3]
    R, C, X, i0, j1, c0 = args
    ety = context.get_value_type(r_t.dtype)
    lanes = _lanes(r_t.dtype, vector_bytes)
    vty = ir.VectorType(ety, lanes)
    align = r_t.dtype.bitwidth // 8
    i64 = ir.IntType(64)
    i0 = context.cast(builder, i0, sig.args[3], types.int64)
    j1 = context.cast(builder, j1, sig.args[4], types.int64)
    c0 = context.cast(builder, c0, sig.args[5], types.int64)
    r_data, _, ldr = _rows(context, builder, r_t, R)
    c_data, _, ldc = _rows(context, builder, c_t, C)
    x_data, _, ldx = _rows(context, builder, x_t, X)
    zero = ir.Constant(vty, [ir.Constant(ety, 0.0)] * lanes)
    acc = [[cgutils.alloca_once_value(builder, zero) for _ in range(TILE_VECS)] for _ in range(TILE_ROWS)]
    # the rows below the tile, j = i0 + 4 .. j1 - 1: R's columns and X's rows from there on
    lo = builder.add(i0, ir.Constant(i64, TILE_ROWS))
    _accumulate(builder, acc, builder.gep(r_data, [lo]), ldr, i0, builder.gep(x_data, [builder.mul(lo, ldx)]), ldx,
                c0, builder.sub(j1, lo), vty, align)
    x = [None] * TILE_ROWS
    for r in range(TILE_ROWS - 1, -1, -1):  # then the tile's own triangle, bottom up, in registers
        row = builder.add(i0, ir.Constant(i64, r))

        def r_at(col):
            return builder.load(builder.gep(r_data, [builder.add(builder.mul(row, ldr), col)]))

        val = []
        for v in range(TILE_VECS):
            col = builder.add(c0, ir.Constant(i64, v * lanes))
            cv = builder.load(_vector_at(builder, c_data, builder.add(builder.mul(row, ldc), col), vty), align=align)
            val.append(builder.fsub(cv, builder.load(acc[r][v])))
        for q in range(r + 1, TILE_ROWS):
            f = _broadcast(builder, builder.fneg(r_at(builder.add(i0, ir.Constant(i64, q)))), vty)
            val = [emit_fma(builder, f, x[q][v], val[v]) for v in range(TILE_VECS)]
        d = _broadcast(builder, r_at(row), vty)
        x[r] = [builder.fdiv(val[v], d) for v in range(TILE_VECS)]
        for v in range(TILE_VECS):
            col = builder.add(c0, ir.Constant(i64, v * lanes))
            builder.store(x[r][v], _vector_at(builder, x_data, builder.add(builder.mul(row, ldx), col), vty),
                          align=align)
    return context.get_dummy_value()


def _solve_intrinsic(vector_bytes):
    @intrinsic
    def tile_solve_upper(typingctx, R, C, X, i0, j1, c0):
        if not (_tileable(R, C, X) and all(isinstance(a, types.Integer) for a in (i0, j1, c0))):
            return None
        sig = types.void(R, C, X, i0, j1, c0)

        def codegen(context, builder, sig, args):
            return _solve_codegen(context, builder, sig, args, vector_bytes)

        return sig, codegen

    return tile_solve_upper


#: ``tile_product(M, H, out, i0, c0)``: ``out[i0:i0+4, c0:c0+w] = M[i0:i0+4, :] @ H[:, c0:c0+w]`` with
#: w = TILE_VECS * (32 // itemsize); M (n_out, n), H (n, m), out (n_out, m), C-contiguous, one float type. The
#: tile must lie inside ``out``: no bounds are checked.
tile_product = _tile_product_intrinsic(_VECTOR_BYTES)
#: The same tile with 512-bit vectors: w = TILE_VECS * (64 // itemsize).
tile_product_wide = _tile_product_intrinsic(64)
#: ``tile_product_panel(M, P, out, i0, c0)``: ``out[i0:i0+4, c0:c0+w] = M[i0:i0+4, :] @ P`` for a panel P (n, w)
#: holding columns c0 .. c0+w-1 of the right factor (see :func:`pack_panels`).
tile_product_panel = _tile_product_intrinsic(_VECTOR_BYTES, panel=True)
#: The same tile with 512-bit vectors.
tile_product_panel_wide = _tile_product_intrinsic(64, panel=True)
#: ``tile_affine(M, H, b, V, X, out, i0, c0)``: ``out[i0:i0+4, c0:c0+w] = M[i0:i0+4] @ H[:, c0:c0+w] +
#: b[i0:i0+4, None] + V[i0:i0+4] @ X[:, c0:c0+w]``, the tile of ``tile_product`` and then the bias and the
#: inputs added in the order of the plain loops; ``b`` 1-D, ``V`` (n_out, d), ``X`` (d, m).
tile_affine = _tile_affine_intrinsic(_VECTOR_BYTES)
#: The same tile with 512-bit vectors.
tile_affine_wide = _tile_affine_intrinsic(64)

#: ``tile_solve_upper(R, C, X, i0, j1, c0)``: rows i0 .. i0 + 3 of X = R^-1 C on the columns c0 .. c0 + w - 1,
#: for upper-triangular R (k, k), given the rows i0 + 4 .. j1 - 1 of X on those columns (``j1 >= i0 + 4``; the
#: rows from j1 on must be zero there): ``X[i] = (C[i] - sum_j R[i, j] X[j]) / R[i, i]``, the sum over the rows
#: below the tile accumulated from 0 with j ascending, then the tile's own rows from the bottom. No bounds are
#: checked.
tile_solve_upper = _solve_intrinsic(_VECTOR_BYTES)
#: The same tile with 512-bit vectors.
tile_solve_upper_wide = _solve_intrinsic(64)

#: ``column_sums_strip(H, acc, c0)``: ``acc[c0:c0+w] = H[:, c0:c0+w].sum(axis=0)``, the rows added in order from
#: 0, w = SUM_VECS * (32 // itemsize); no bounds are checked.
column_sums_strip = _column_sums_intrinsic(_VECTOR_BYTES)
#: The same strip with 512-bit vectors: w = SUM_VECS * (64 // itemsize).
column_sums_strip_wide = _column_sums_intrinsic(64)


def tiled_product(M, H, out):
    """``out = M @ H`` on the whole 4-row, w-column tiles; returns the (rows, columns) it covered.

    Arrays that cannot be tiled (not C-contiguous, mixed types) cover nothing,
    ``(0, 0)``: the caller computes what is left with plain loops.
    """
    raise NotImplementedError("tiled_product is only callable from @njit code")


def pack_panels(H):
    """The columns of ``H`` (n, m) as panels (m // w, n, w), w the column count of the widest tile of the
    target (16 float64 on AVX-512, else 8), for :func:`tiled_product_panels`; columns past the last whole
    panel are left out.

    A right factor that stays the same over many products (a weight matrix over the steps of a sequence)
    is worth copying once: a column strip of a row-major matrix with rows of 1 KB falls on a few sets of
    L1 and streams from L2 for every tile, where a panel is read front to back.
    """
    raise NotImplementedError("pack_panels is only callable from @njit code")


def tiled_product_panels(M, P, out):
    """``out[:, :k w] = M @ H[:, :k w]`` from the k panels ``P`` of H (:func:`pack_panels`) on the whole 4-row
    tiles; returns the rows it covered (the columns are all of the panels'). Same rounding as
    :func:`tiled_product`, whose tiles these are. Panels of another width or shape than ``pack_panels``
    makes for these arrays, or arrays that cannot be tiled, cover nothing: 0."""
    raise NotImplementedError("tiled_product_panels is only callable from @njit code")


@overload(pack_panels, jit_options={"error_model": "numpy"})
def _pack_panels(H):
    if not _tileable(H):
        return None
    w = _wide_columns(H.dtype) or _tile_columns(H.dtype)

    def impl(H):
        n, m = H.shape
        P = np.empty((m // w, n, w), H.dtype)
        for s in range(m // w):
            for j in range(n):
                for c in range(w):
                    P[s, j, c] = H[j, s * w + c]
        return P

    return impl


@overload(tiled_product_panels, jit_options={"error_model": "numpy"})
def _tiled_product_panels(M, P, out):
    if not (_tileable(M, out) and isinstance(P, types.Array) and P.ndim == 3 and P.layout == "C"
            and P.dtype == M.dtype):
        return lambda M, P, out: 0
    w = _wide_columns(M.dtype) or _tile_columns(M.dtype)
    tile = tile_product_panel_wide if _wide_columns(M.dtype) else tile_product_panel

    def impl(M, P, out):
        # the tiles read w columns of each panel and write w columns of out per panel: anything else covers nothing
        if P.shape[2] != w or P.shape[1] != M.shape[1] or P.shape[0] * w > out.shape[1] or out.shape[0] < M.shape[0]:
            return 0
        nt = M.shape[0] - M.shape[0] % TILE_ROWS
        for s in range(P.shape[0]):
            Ps = P[s]
            for i in range(0, nt, TILE_ROWS):
                tile(M, Ps, out, i, s * w)
        return nt

    return impl


def tiled_affine(M, H, b, V, X, out):
    """``out = M @ H + b[:, None] + V @ X`` on the whole tiles, as :func:`tiled_product`."""
    raise NotImplementedError("tiled_affine is only callable from @njit code")


@overload(tiled_product, jit_options={"error_model": "numpy"})
def _tiled_product(M, H, out):
    if not _tileable(M, H, out):
        return lambda M, H, out: (0, 0)
    w = _tile_columns(H.dtype)
    ww = _wide_columns(H.dtype)
    wide_step = ww or w  # the wide strips' loop is empty where ww is 0

    def impl(M, H, out):
        nt = M.shape[0] - M.shape[0] % TILE_ROWS
        mw, mt = _strip_ends(H.shape[1], w, ww)
        for c in range(0, mw, wide_step):  # a column strip of H stays in L1 while every row block of M passes it
            for i in range(0, nt, TILE_ROWS):
                tile_product_wide(M, H, out, i, c)
        for c in range(mw, mt, w):
            for i in range(0, nt, TILE_ROWS):
                tile_product(M, H, out, i, c)
        return nt, mt

    return impl


@overload(tiled_affine, jit_options={"error_model": "numpy"})
def _tiled_affine(M, H, b, V, X, out):
    if not (_tileable(M, H, V, X, out) and isinstance(b, types.Array) and b.layout == "C" and b.dtype == M.dtype):
        return lambda M, H, b, V, X, out: (0, 0)
    w = _tile_columns(H.dtype)
    ww = _wide_columns(H.dtype)
    wide_step = ww or w

    def impl(M, H, b, V, X, out):
        nt = M.shape[0] - M.shape[0] % TILE_ROWS
        mw, mt = _strip_ends(H.shape[1], w, ww)
        for c in range(0, mw, wide_step):
            for i in range(0, nt, TILE_ROWS):
                tile_affine_wide(M, H, b, V, X, out, i, c)
        for c in range(mw, mt, w):
            for i in range(0, nt, TILE_ROWS):
                tile_affine(M, H, b, V, X, out, i, c)
        return nt, mt

    return impl


def tiled_solve_upper(R, C, X, kt):
    """Rows ``0 .. kt - 1`` of ``X = R^-1 C`` for upper-triangular ``R`` and ``C`` (k, k) on the whole column
    strips, given the rows from ``kt`` on (``kt`` a multiple of 4); returns ``mt``, the columns it covered (0 for
    arrays it cannot take). ``X`` must be zero below the diagonal on entry: a strip leaves the rows under its last
    column alone.

    A tile of 4 rows by two vectors keeps its sum over the rows below it in registers, each row of ``X`` loaded
    once per tile for four rows of ``R``, where a row-by-row solve loads and stores the row it updates for every
    term (and pays a loop entry per short axpy).
    """
    raise NotImplementedError("tiled_solve_upper is only callable from @njit code")


@overload(tiled_solve_upper, jit_options={"error_model": "numpy"})
def _tiled_solve_upper(R, C, X, kt):
    if not _tileable(R, C, X):
        return lambda R, C, X, kt: 0
    w = _tile_columns(R.dtype)
    ww = _wide_columns(R.dtype)
    wide_step = ww or w

    def impl(R, C, X, kt):
        k = R.shape[0]
        mw, mt = _strip_ends(k, w, ww)
        for c in range(0, mw, wide_step):
            top = min(k, c + wide_step)  # rows from top on are zero in the strip
            for i in range((min(top, kt) - 1) // TILE_ROWS * TILE_ROWS, -1, -TILE_ROWS):
                tile_solve_upper_wide(R, C, X, i, top, c)
        for c in range(mw, mt, w):
            top = min(k, c + w)
            for i in range((min(top, kt) - 1) // TILE_ROWS * TILE_ROWS, -1, -TILE_ROWS):
                tile_solve_upper(R, C, X, i, top, c)
        return mt

    return impl


def tiled_column_sums(H, acc):
    """``acc[:mt] = H[:, :mt].sum(axis=0)``, each column's rows added in order from row 0, on the whole strips of
    columns; returns ``mt``, the columns it covered (0 for arrays it cannot take).

    The sums of a strip stay in vector registers over all rows: a numba loop nest would reload and store ``acc``
    for every row and check at each entry into its short inner loop that ``acc`` and the row do not overlap.
    """
    raise NotImplementedError("tiled_column_sums is only callable from @njit code")


@overload(tiled_column_sums, jit_options={"error_model": "numpy"})
def _tiled_column_sums(H, acc):
    if not (_tileable(H) and isinstance(acc, types.Array) and acc.ndim == 1 and acc.layout == "C"
            and acc.dtype == H.dtype):
        return lambda H, acc: 0
    w = _tile_columns(H.dtype, SUM_VECS)
    ww = _wide_columns(H.dtype, SUM_VECS)
    wide_step = ww or w

    def impl(H, acc):
        mw, mt = _strip_ends(H.shape[1], w, ww)
        for c in range(0, mw, wide_step):
            column_sums_strip_wide(H, acc, c)
        for c in range(mw, mt, w):
            column_sums_strip(H, acc, c)
        return mt

    return impl
