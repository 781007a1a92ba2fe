"""CUDA kernel of backpropagation through time: ``bptt``.

Twins: :func:`rnndyn.kernels.cpu.gradients.bptt` (same signature and outputs) and
:func:`rnndyn.kernels.numpy.gradients.bptt` (the readable definition).

Two ways to run a sequence, chosen by the state size:

* n < ``block_min_n`` (``config.CUDA_BPTT_BLOCK_MIN_N``): one thread per sequence, grid-stride over the
  batch. Its stored states live in global scratch laid out (slot, entry, sequence),
  the sequence innermost, so that the threads of a warp touch consecutive words.
* larger n: one block per sequence, threads over the state index. h_{t-1} (forward) and
  g_t = g^a_t + g^z_t (backward) go through shared memory, so the matvecs M h and Mᵀ g
  read M from global memory once per block and step, coalesced along a row of Mᵀ
  (forward) or M (backward). Scratch laid out (slot, sequence, entry).

Checkpointing as on the CPU: the forward pass keeps the segment starts h_0, h_L, ...;
the backward pass recomputes each segment from its start (the last one is still in
the buffers) with the same code, hence the same bits. During the backward pass the
slots of φ(a_t) and σ(a^z_t) are overwritten by g^a_t and g^z_t.

Batch sums, deterministic: no atomics. After the backward pass through a segment, a
reduction kernel sums the weight gradients ∂L/∂M = Σ g_t h_{t-1}ᵀ, ∂L/∂V = Σ g^a_t x_tᵀ,
∂L/∂b = Σ g^a_t (and V_z, b_z) over the segment's steps and the whole batch: one
thread per (gradient entry, block of steps) sums its block sequentially (steps, then
sequences in order) into a partial, and a second kernel adds the partials in block
order to the running sums. ∂L/∂ε is summed per (sequence, entry) during the backward
pass and reduced in a fixed order at the end; ∂L/∂U, ∂L/∂c of the readout loss in
sequence order. The blocks depend on T and ``checkpoint`` only, not on the launch
geometry: a result is the same run to run and for any ``threads_per_block``
on the thread-per-sequence path (the block path's norms and per-step loss sums are
tree reductions over the block's threads). Checkpointed runs group the steps
differently, so they agree with stored runs to rounding, not bit for bit.

The kernels compile on first use (``import rnndyn`` never needs CUDA); tests run them
under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from rnndyn.kernels.cuda.common import launch_geometry
from rnndyn.kernels.scalar import phi as _phi
from rnndyn.kernels.scalar import sigmoid as _sigmoid

#: n from which a block of threads runs each sequence when the caller does not say
#: (the "cuda" backend passes ``config.CUDA_BPTT_BLOCK_MIN_N``): below a warp's width of
#: state, a thread per sequence keeps the threads busier.
DEFAULT_BLOCK_MIN_N = 33
#: Most blocks of steps a segment's weight-gradient sums are split into (the partial sums
#: take this many copies of the gradients); enough threads to fill a GPU at n = 32.
_MAX_STEP_BLOCKS = 64
#: Dynamic shared memory a block-per-sequence launch may ask for (the default limit of
#: every CUDA device since compute capability 2.0); larger n runs a thread per sequence.
_SHARED_BYTES = 48 * 1024
#: Scratch layouts: (slot, sequence, entry) for the block path, (slot, entry, sequence) for the thread path.
_BY_SEQUENCE, _BY_ENTRY = 0, 1


@cuda.jit(device=True)
def _ix(layout, slot, q, r, B, n):
    """Flat index of entry r of sequence q in slot ``slot`` of a scratch array."""
    if layout == 0:
        return (slot * B + q) * n + r
    return (slot * n + r) * B + q


@cuda.jit(device=True)
def _norm(v, base, stride, n, s):
    """‖v‖ of v[base + r·stride], r < n, given s = Σ v_r²: sqrt(s) while s is in range, else scaled by a power of
    two near max|v_r| first (as the CPU kernel's fallback), so that it overflows only when the norm does."""
    if 1e-300 < s < 1e300:
        return math.sqrt(s)
    amax = 0.0
    for r in range(n):
        a = abs(v[base + r * stride])
        if not a <= amax:  # also takes NaN, which then propagates
            amax = a
    if amax == 0.0 or not math.isfinite(amax):
        return amax
    e = math.frexp(amax)[1]
    s1 = math.ldexp(1.0, -(e // 2))
    s2 = math.ldexp(1.0, -(e - e // 2))
    t = 0.0
    for r in range(n):
        w = (v[base + r * stride] * s1) * s2
        t += w * w
    return math.ldexp(math.sqrt(t), e)


@cuda.jit(device=True)
def _dphi_from_y(act, y):
    """φ'(a) from y = φ(a), as the CPU kernel's backward pass takes it (ReLU: y > 0 exactly when a > 0)."""
    if act == 0:
        return 1.0 - y * y
    if act == 1:
        return 1.0 if y > 0.0 else 0.0
    if act == 3:
        return y * (1.0 - y)
    return 1.0


@cuda.jit(device=True)
def _block_sum2(red, off, tid, nt, x, y):
    """(Σ x, Σ y) over the threads of a block, by a fixed tree in shared memory red[off : off + 2 nt].

    Every thread of the block must call it; every thread gets the sums.
    """
    red[off + tid] = x
    red[off + nt + tid] = y
    cuda.syncthreads()
    half = 1
    while half < nt:
        half *= 2
    half //= 2
    while half > 0:
        if tid < half and tid + half < nt:
            red[off + tid] += red[off + tid + half]
            red[off + nt + tid] += red[off + nt + tid + half]
        cuda.syncthreads()
        half //= 2
    return red[off], red[off + nt]


# ---- per-sequence kernels of both paths (a thread per sequence) ----


@cuda.jit
def _start(layout, h0, loss_kind, dL_dh, Hs, acc, div, pe):
    """Slot 0 = h_0; the loss starts at ⟨dL_dh_0, h_0⟩ (upstream loss) or 0; no divergence yet; ∂L/∂ε partials 0."""
    B, n = h0.shape
    Bd = dL_dh.shape[0]
    for q in range(cuda.grid(1), B, cuda.gridsize(1)):
        bd = q if Bd > 1 else 0
        s = 0.0
        for r in range(n):
            h = h0[q, r]
            Hs[_ix(layout, 0, q, r, B, n)] = h
            pe[_ix(layout, 0, q, r, B, n)] = 0.0
            if loss_kind == 3:
                s += dL_dh[bd, 0, r] * h
        acc[q] = s
        div[q] = -1


@cuda.jit
def _loss_at_T(layout, last, T, Hs, loss_kind, dL_dh, U, c, targets, D, acc, lg, pr, final):
    """h_T into ``final``; the loss at T (last, readout) and δ_T = ∂ℓ/∂h_T into D; the readout's p − onehot into pr."""
    B = final.shape[0]
    n = final.shape[1]
    kc = U.shape[0]
    Bd = dL_dh.shape[0]
    for q in range(cuda.grid(1), B, cuda.gridsize(1)):
        for r in range(n):
            final[q, r] = Hs[_ix(layout, last, q, r, B, n)]
        if loss_kind == 0:
            s = 0.0
            for r in range(n):
                h = final[q, r]
                D[_ix(layout, 0, q, r, B, n)] = h
                s += h * h
            acc[q] = 0.5 * s
        elif loss_kind == 1:
            for r in range(n):
                D[_ix(layout, 0, q, r, B, n)] = final[q, r] if T > 0 else 0.0
        elif loss_kind == 2:
            mx = -math.inf
            for j in range(kc):
                s = c[j]
                for r in range(n):
                    s += U[j, r] * final[q, r]
                lg[q, j] = s
                mx = max(mx, s)
            tot = 0.0
            for j in range(kc):
                e = math.exp(lg[q, j] - mx)
                pr[q, j] = e
                tot += e
            tg = targets[q]
            acc[q] = (mx + math.log(tot)) - lg[q, tg]
            for j in range(kc):
                pr[q, j] = pr[q, j] / tot
            pr[q, tg] -= 1.0
            for r in range(n):
                s = 0.0
                for j in range(kc):
                    s += pr[q, j] * U[j, r]
                D[_ix(layout, 0, q, r, B, n)] = s
        else:
            bd = q if Bd > 1 else 0
            for r in range(n):
                D[_ix(layout, 0, q, r, B, n)] = dL_dh[bd, T, r]


@cuda.jit
def _finish(layout, D, acc, div, dh0, delta_norms, loss, diverged_at):
    """δ_0 into dh0 and its norm into delta_norms[:, 0]; the losses and divergence steps into their outputs."""
    B, n = dh0.shape
    stride = 1 if layout == 0 else B
    for q in range(cuda.grid(1), B, cuda.gridsize(1)):
        s = 0.0
        for r in range(n):
            v = D[_ix(layout, 0, q, r, B, n)]
            dh0[q, r] = v
            s += v * v
        delta_norms[q, 0] = _norm(D, _ix(layout, 0, q, 0, B, n), stride, n, s)
        loss[q] = acc[q]
        diverged_at[q] = div[q]


# ---- thread per sequence ----


@cuda.jit
def _forward_thread(s0, l, seg, first, carry, inputs, alpha, eps, act, gated, MT, VT, b, VzT, bz, loss_kind,
                    dL_dh, Hs, Ys, Zs, CP, acc, div):
    """Steps t = s0+1 .. s0+l: slot i of Hs = h_{s0+i}, slot i-1 of Ys = φ(a_t), of Zs = σ(a^z_t).

    The first pass saves slot 0 as checkpoint ``seg``, adds the sum/upstream loss terms to ``acc`` and marks
    divergence in ``div``; with ``carry`` it then moves h_{s0+l} to slot 0 for the next segment. A later pass
    restores slot 0 from the checkpoint.
    """
    B = acc.shape[0]
    n = MT.shape[0]
    Bi = inputs.shape[0]
    d = inputs.shape[2]
    Bd = dL_dh.shape[0]
    for q in range(cuda.grid(1), B, cuda.gridsize(1)):
        bi = q if Bi > 1 else 0
        bd = q if Bd > 1 else 0
        for r in range(n):
            if first:
                CP[_ix(1, seg, q, r, B, n)] = Hs[_ix(1, 0, q, r, B, n)]
            else:
                Hs[_ix(1, 0, q, r, B, n)] = CP[_ix(1, seg, q, r, B, n)]
        for i in range(1, l + 1):
            t = s0 + i
            sm = 0.0
            sq = 0.0
            for r in range(n):
                s = 0.0
                for j in range(n):
                    s += Hs[_ix(1, i - 1, q, j, B, n)] * MT[j, r]
                a = s + b[r]
                for j in range(d):
                    a += inputs[bi, t - 1, j] * VT[j, r]
                y = _phi(act, a)
                Ys[_ix(1, i - 1, q, r, B, n)] = y
                hp = Hs[_ix(1, i - 1, q, r, B, n)]
                if gated:
                    az = s + bz[r]
                    for j in range(d):
                        az += inputs[bi, t - 1, j] * VzT[j, r]
                    z = _sigmoid(az)
                    Zs[_ix(1, i - 1, q, r, B, n)] = z
                    h = alpha * hp + eps * z * y
                else:
                    h = alpha * hp + eps * y
                Hs[_ix(1, i, q, r, B, n)] = h
                sm += h
                if loss_kind == 1:
                    sq += h * h
                elif loss_kind == 3:
                    sq += dL_dh[bd, t, r] * h
            if first:
                if not math.isfinite(sm) and div[q] < 0:
                    div[q] = t
                if loss_kind == 1:
                    acc[q] += 0.5 * sq
                elif loss_kind == 3:
                    acc[q] += sq
        if first and carry:
            for r in range(n):
                Hs[_ix(1, 0, q, r, B, n)] = Hs[_ix(1, l, q, r, B, n)]


@cuda.jit
def _backward_thread(s0, l, alpha, eps, act, gated, M, loss_kind, dL_dh, Hs, Ys, Zs, D, pe, delta_norms):
    """Steps t = s0+l down to s0+1: D holds δ_t on entry and δ_{s0} on exit; Ys, Zs slots become g^a_t, g^z_t."""
    B = delta_norms.shape[0]
    n = M.shape[0]
    Bd = dL_dh.shape[0]
    for q in range(cuda.grid(1), B, cuda.gridsize(1)):
        bd = q if Bd > 1 else 0
        for i in range(l, 0, -1):
            t = s0 + i
            s = 0.0
            for r in range(n):
                v = D[_ix(1, 0, q, r, B, n)]
                s += v * v
            delta_norms[q, t] = _norm(D, q, B, n, s)
            for r in range(n):
                k = _ix(1, i - 1, q, r, B, n)
                dl = D[_ix(1, 0, q, r, B, n)]
                y = Ys[k]
                dy = _dphi_from_y(act, y)
                if gated:
                    z = Zs[k]
                    ed = eps * dl
                    Ys[k] = ed * z * dy
                    Zs[k] = ed * y * z * (1.0 - z)
                    pe[_ix(1, 0, q, r, B, n)] += dl * z * y
                else:
                    Ys[k] = eps * dl * dy
                    pe[_ix(1, 0, q, r, B, n)] += dl * y
            # δ_{t-1} = alpha δ_t + Mᵀ g_t + ∂ℓ/∂h_{t-1}; entry r of δ_t is needed only by entry r, so in place
            for r in range(n):
                v = alpha * D[_ix(1, 0, q, r, B, n)]
                for j in range(n):
                    k = _ix(1, i - 1, q, j, B, n)
                    g = Ys[k] + Zs[k] if gated else Ys[k]
                    v += g * M[j, r]
                if loss_kind == 1 and t - 1 >= 1:
                    v += Hs[_ix(1, i - 1, q, r, B, n)]
                elif loss_kind == 3:
                    v += dL_dh[bd, t - 1, r]
                D[_ix(1, 0, q, r, B, n)] = v


# ---- block per sequence ----


@cuda.jit
def _forward_block(s0, l, seg, first, carry, inputs, alpha, eps, act, gated, MT, VT, b, VzT, bz, loss_kind,
                   dL_dh, Hs, Ys, Zs, CP, acc, div):
    """:func:`_forward_thread` with a block per sequence: h_{t-1} in shared memory, thread r computes entry r."""
    sh = cuda.shared.array(0, dtype=float64)  # [h (n) | h' (n) | reduction (2 nt)]
    B = acc.shape[0]
    n = MT.shape[0]
    Bi = inputs.shape[0]
    d = inputs.shape[2]
    Bd = dL_dh.shape[0]
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for q in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        bi = q if Bi > 1 else 0
        bd = q if Bd > 1 else 0
        for r in range(tid, n, nt):
            if first:
                h = Hs[_ix(0, 0, q, r, B, n)]
                CP[_ix(0, seg, q, r, B, n)] = h
            else:
                h = CP[_ix(0, seg, q, r, B, n)]
                Hs[_ix(0, 0, q, r, B, n)] = h
            sh[r] = h
        cuda.syncthreads()
        cur = 0
        for i in range(1, l + 1):
            t = s0 + i
            nxt = n - cur
            sm = 0.0
            sq = 0.0
            for r in range(tid, n, nt):
                s = 0.0
                for j in range(n):
                    s += sh[cur + j] * MT[j, r]
                a = s + b[r]
                for j in range(d):
                    a += inputs[bi, t - 1, j] * VT[j, r]
                y = _phi(act, a)
                Ys[_ix(0, i - 1, q, r, B, n)] = y
                hp = sh[cur + r]
                if gated:
                    az = s + bz[r]
                    for j in range(d):
                        az += inputs[bi, t - 1, j] * VzT[j, r]
                    z = _sigmoid(az)
                    Zs[_ix(0, i - 1, q, r, B, n)] = z
                    h = alpha * hp + eps * z * y
                else:
                    h = alpha * hp + eps * y
                Hs[_ix(0, i, q, r, B, n)] = h
                sh[nxt + r] = h
                sm += h
                if loss_kind == 1:
                    sq += h * h
                elif loss_kind == 3:
                    sq += dL_dh[bd, t, r] * h
            if first:
                sm, sq = _block_sum2(sh, 2 * n, tid, nt, sm, sq)
                if tid == 0:
                    if not math.isfinite(sm) and div[q] < 0:
                        div[q] = t
                    if loss_kind == 1:
                        acc[q] += 0.5 * sq
                    elif loss_kind == 3:
                        acc[q] += sq
            cuda.syncthreads()
            cur = nxt
        if first and carry:
            for r in range(tid, n, nt):
                Hs[_ix(0, 0, q, r, B, n)] = Hs[_ix(0, l, q, r, B, n)]
        cuda.syncthreads()


@cuda.jit
def _backward_block(s0, l, alpha, eps, act, gated, M, loss_kind, dL_dh, Hs, Ys, Zs, D, pe, delta_norms):
    """:func:`_backward_thread` with a block per sequence: δ_t and g_t in shared memory, thread r owns entry r."""
    sh = cuda.shared.array(0, dtype=float64)  # [δ (n) | g (n) | reduction (2 nt)]
    B = delta_norms.shape[0]
    n = M.shape[0]
    Bd = dL_dh.shape[0]
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for q in range(cuda.blockIdx.x, B, cuda.gridDim.x):
        bd = q if Bd > 1 else 0
        for r in range(tid, n, nt):
            sh[r] = D[_ix(0, 0, q, r, B, n)]
        cuda.syncthreads()
        for i in range(l, 0, -1):
            t = s0 + i
            s = 0.0
            for r in range(tid, n, nt):
                s += sh[r] * sh[r]
            s, _ = _block_sum2(sh, 2 * n, tid, nt, s, 0.0)
            if tid == 0:
                delta_norms[q, t] = _norm(sh, 0, 1, n, s)
            for r in range(tid, n, nt):
                k = _ix(0, i - 1, q, r, B, n)
                dl = sh[r]
                y = Ys[k]
                dy = _dphi_from_y(act, y)
                if gated:
                    z = Zs[k]
                    ed = eps * dl
                    ga = ed * z * dy
                    gz = ed * y * z * (1.0 - z)
                    Ys[k] = ga
                    Zs[k] = gz
                    sh[n + r] = ga + gz
                    pe[_ix(0, 0, q, r, B, n)] += dl * z * y
                else:
                    ga = eps * dl * dy
                    Ys[k] = ga
                    sh[n + r] = ga
                    pe[_ix(0, 0, q, r, B, n)] += dl * y
            cuda.syncthreads()
            for r in range(tid, n, nt):
                v = alpha * sh[r]
                for j in range(n):
                    v += sh[n + j] * M[j, r]
                if loss_kind == 1 and t - 1 >= 1:
                    v += Hs[_ix(0, i - 1, q, r, B, n)]
                elif loss_kind == 3:
                    v += dL_dh[bd, t - 1, r]
                sh[r] = v
            cuda.syncthreads()
        for r in range(tid, n, nt):
            D[_ix(0, 0, q, r, B, n)] = sh[r]
        cuda.syncthreads()


# ---- deterministic batch sums ----


@cuda.jit
def _weight_partials(layout, B, n, s0, l, nblk, gated, inputs, Hs, Ys, Zs, part):
    """part[c, e] = the sum over the steps of block c of the segment and over the batch, for gradient entry e.

    Entries, flat: ∂L/∂M (n·n), ∂L/∂V (n·d), ∂L/∂b (n), then when gated ∂L/∂V_z (n·d), ∂L/∂b_z (n). Block c
    holds the slots [c·l // nblk, (c+1)·l // nblk); slot u is step t = s0 + u + 1, so Ys/Zs there hold g^a_t,
    g^z_t, Hs holds h_{t-1} and x_t = inputs[:, s0 + u]. Steps from the last, sequences in order.
    """
    Bi = inputs.shape[0]
    d = inputs.shape[2]
    ne = part.shape[1]
    nn = n * n
    nd = n * d
    for k in range(cuda.grid(1), nblk * ne, cuda.gridsize(1)):
        c = k // ne
        e = k - c * ne
        u0 = c * l // nblk
        u1 = (c + 1) * l // nblk
        v = 0.0
        if e < nn:  # ∂L/∂M[i, j] = Σ (g^a + g^z)_i h_j
            i = e // n
            j = e - i * n
            for u in range(u1 - 1, u0 - 1, -1):
                for q in range(B):
                    kg = _ix(layout, u, q, i, B, n)
                    g = Ys[kg] + Zs[kg] if gated else Ys[kg]
                    v += g * Hs[_ix(layout, u, q, j, B, n)]
        else:  # ∂L/∂V[i, j] = Σ g^a_i x_j and ∂L/∂b[i] = Σ g^a_i; then the same two against g^z (V_z, b_z)
            if e < nn + nd + n:
                G = Ys
                f = e - nn
            else:
                G = Zs
                f = e - (nn + nd + n)
            if f < nd:
                i = f // d
                j = f - i * d
                for u in range(u1 - 1, u0 - 1, -1):
                    for q in range(B):
                        v += G[_ix(layout, u, q, i, B, n)] * inputs[q if Bi > 1 else 0, s0 + u, j]
            else:
                i = f - nd
                for u in range(u1 - 1, u0 - 1, -1):
                    for q in range(B):
                        v += G[_ix(layout, u, q, i, B, n)]
        part[c, e] = v


@cuda.jit
def _add_partials(nblk, part, out):
    """out[e] += part[c, e] for c = nblk-1 down to 0 (one thread per entry, a fixed order)."""
    ne = out.shape[0]
    for e in range(cuda.grid(1), ne, cuda.gridsize(1)):
        v = out[e]
        for c in range(nblk - 1, -1, -1):
            v += part[c, e]
        out[e] = v


@cuda.jit
def _readout_sums(pr, final, dU, dc):
    """∂L/∂U = Σ_q (p_q − onehot_q) h_{T,q}ᵀ and ∂L/∂c = Σ_q (p_q − onehot_q), sequences in order."""
    B, kc = pr.shape
    n = final.shape[1]
    for e in range(cuda.grid(1), kc * n + kc, cuda.gridsize(1)):
        v = 0.0
        if e < kc * n:
            j = e // n
            r = e - j * n
            for q in range(B):
                v += pr[q, j] * final[q, r]
            dU[j, r] = v
        else:
            j = e - kc * n
            for q in range(B):
                v += pr[q, j]
            dc[j] = v


#: Sequences per partial sum of ∂L/∂ε.
_EPS_ROWS = 64


@cuda.jit
def _eps_partials(layout, B, n, pe, part):
    """part[c, r] = Σ of pe over entry r of the sequences [c·_EPS_ROWS, (c+1)·_EPS_ROWS), in order."""
    nc = part.shape[0]
    for k in range(cuda.grid(1), nc * n, cuda.gridsize(1)):
        c = k // n
        r = k - c * n
        v = 0.0
        for q in range(c * _EPS_ROWS, min(B, (c + 1) * _EPS_ROWS)):
            v += pe[_ix(layout, 0, q, r, B, n)]
        part[c, r] = v


@cuda.jit
def _sum_all(part, out):
    """out[0] = Σ part, row by row (a single thread: a fixed order)."""
    if cuda.grid(1) == 0:
        v = 0.0
        for c in range(part.shape[0]):
            for r in range(part.shape[1]):
                v += part[c, r]
        out[0] = v


def _grid(work, tpb):
    """Blocks of ``tpb`` threads for ``work`` grid-stride items (at least one block)."""
    return max(1, -(-work // tpb))


def _dev(a, dtype=np.float64):
    """A C-contiguous device copy of ``a`` (zero-size arrays included: a launch never reads them)."""
    return cuda.to_device(np.ascontiguousarray(a, dtype=dtype))


def bptt(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, loss_kind, dL_dh, U, c, targets, checkpoint,
         dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at,
         work=None, chunk=None, blas_min_n=None, *, threads_per_block=None, block_min_n=None):
    """Backpropagation through time for a batch, on a CUDA device (see ``reference.bptt``).

    The same arguments and outputs as :func:`rnndyn.kernels.cpu.gradients.bptt`; the
    results agree with it to rounding (1e-12 relative in float64).

    Parameters
    ----------
    h0 : (B, n) float64
    inputs : (Bi, T, d), Bi in {1, B}
    alpha, eps : float
    act : int
        Activation code (``rnndyn.kernels.params``).
    gated : bool
    M : (n, n), V : (n, d), b : (n,), Vz : (n, dz), bz : (nz,)
        The cell (dz = d, nz = n when gated, else 0).
    loss_kind : int
        ``LOSS_LAST``, ``LOSS_SUM``, ``LOSS_READOUT`` or ``LOSS_UPSTREAM``.
    dL_dh : (Bd, T+1, n), Bd in {1, B}
        Upstream gradients (read only for the upstream loss).
    U : (k, n), c : (k,), targets : (B,) int64
        Readout (read only for the readout loss).
    checkpoint : int
        Segment length: 0 (or ≥ T) keeps every state, L keeps every L-th and
        recomputes the segments during the backward pass.
    dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at : ndarray
        Host arrays that receive the results, shaped as for the CPU kernel.
    work, chunk, blas_min_n : ignored
        Scratch space and tuning of the CPU kernel.
    threads_per_block : int, optional
        Launch geometry (default :data:`~rnndyn.kernels.cuda.common.DEFAULT_THREADS_PER_BLOCK`); also the most threads
        of a block that runs one sequence.
    block_min_n : int, optional
        State size from which a block of threads runs each sequence (default
        :data:`DEFAULT_BLOCK_MIN_N`); below it, a thread per sequence.

    Notes
    -----
    The block path needs 8 (2 n + 2 nt) bytes of shared memory (nt threads per block);
    past 48 KiB it falls back to a thread per sequence.
    Device memory: (2 L + 1 + nseg) B n words of scratch (3 L + 1 + nseg when gated),
    L the segment length and nseg the number of segments. Batch sums are reduced in a
    fixed order, without atomics (see the module's notes).

    See Also
    --------
    rnndyn.kernels.cpu.gradients.bptt, rnndyn.kernels.numpy.gradients.bptt
    """
    B, n = h0.shape
    T = inputs.shape[1]
    d = inputs.shape[2]
    kc = U.shape[0]
    gated = bool(gated)
    alpha = float(alpha)
    eps = float(eps)
    act = int(act)
    loss_kind = int(loss_kind)
    checkpoint = int(checkpoint)
    L = T if (checkpoint <= 0 or checkpoint >= T) else checkpoint
    nseg = -(-T // L) if T > 0 else 0
    per_seq = launch_geometry(B, threads_per_block)
    tpb = per_seq[1]
    nt = min(tpb, -(-n // 32) * 32)  # a block path thread per state entry, at most tpb
    shared = 8 * (2 * n + 2 * nt)
    block_min_n = DEFAULT_BLOCK_MIN_N if block_min_n is None else int(block_min_n)
    block = n >= block_min_n and shared <= _SHARED_BYTES
    layout = _BY_SEQUENCE if block else _BY_ENTRY

    d_h0 = _dev(h0)
    d_in = _dev(inputs)
    d_M = _dev(M)
    d_MT = _dev(np.asarray(M).T)
    d_VT = _dev(np.asarray(V).T)
    d_b = _dev(b)
    d_VzT = _dev(np.asarray(Vz).T)
    d_bz = _dev(bz)
    d_up = _dev(dL_dh)
    d_U = _dev(U)
    d_c = _dev(c)
    d_tg = _dev(targets, np.int64)
    words = B * n
    Hs = cuda.device_array((L + 1) * words)
    Ys = cuda.device_array(max(L, 1) * words)
    Zs = cuda.device_array(max(L, 1) * words if gated else 1)
    CP = cuda.device_array(max(nseg, 1) * words)
    D = cuda.device_array(words)
    pe = cuda.device_array(words)
    acc = cuda.device_array(B)
    div = cuda.device_array(B, np.int64)
    lg = cuda.device_array((B, max(kc, 1)))
    pr = cuda.device_array((B, max(kc, 1)))
    d_final = cuda.device_array((B, n))
    d_norms = cuda.device_array((B, T + 1))
    ne = n * n + n * d + n + ((n * d + n) if gated else 0)
    sums = cuda.to_device(np.zeros(ne))
    part = cuda.device_array((min(max(L, 1), _MAX_STEP_BLOCKS), ne))

    if block:
        forward = _forward_block[max(1, min(B, 65535)), nt, 0, shared]
        backward = _backward_block[max(1, min(B, 65535)), nt, 0, shared]
    else:
        forward = _forward_thread[per_seq]
        backward = _backward_thread[per_seq]

    _start[per_seq](layout, d_h0, loss_kind, d_up, Hs, acc, div, pe)
    last = 0
    for s in range(nseg):
        s0 = s * L
        last = min(L, T - s0)
        forward(s0, last, s, True, s < nseg - 1, d_in, alpha, eps, act, gated, d_MT, d_VT, d_b, d_VzT, d_bz,
                loss_kind, d_up, Hs, Ys, Zs, CP, acc, div)
    _loss_at_T[per_seq](layout, last, T, Hs, loss_kind, d_up, d_U, d_c, d_tg, D, acc, lg, pr, d_final)
    for s in range(nseg - 1, -1, -1):
        s0 = s * L
        ln = min(L, T - s0)
        if s < nseg - 1:  # the last segment is still in the buffers
            forward(s0, ln, s, False, False, d_in, alpha, eps, act, gated, d_MT, d_VT, d_b, d_VzT, d_bz,
                    loss_kind, d_up, Hs, Ys, Zs, CP, acc, div)
        backward(s0, ln, alpha, eps, act, gated, d_M, loss_kind, d_up, Hs, Ys, Zs, D, pe, d_norms)
        nblk = min(ln, _MAX_STEP_BLOCKS)
        _weight_partials[_grid(nblk * ne, tpb), tpb](layout, B, n, s0, ln, nblk, gated, d_in, Hs, Ys, Zs, part)
        _add_partials[_grid(ne, tpb), tpb](nblk, part, sums)

    d_dh0 = cuda.device_array((B, n))
    d_loss = cuda.device_array(B)
    d_div = cuda.device_array(B, np.int64)
    _finish[per_seq](layout, D, acc, div, d_dh0, d_norms, d_loss, d_div)
    d_dU = cuda.device_array((max(kc, 1), n))
    d_dc = cuda.device_array(max(kc, 1))
    if kc > 0:
        _readout_sums[_grid(kc * n + kc, tpb), tpb](pr, d_final, d_dU, d_dc)
    epart = cuda.device_array((-(-B // _EPS_ROWS), n))
    d_de = cuda.device_array(1)
    _eps_partials[_grid(epart.shape[0] * n, tpb), tpb](layout, B, n, pe, epart)
    _sum_all[1, 1](epart, d_de)

    g = sums.copy_to_host()
    o = 0
    dM[...] = g[o:o + n * n].reshape(n, n)
    o += n * n
    dV[...] = g[o:o + n * d].reshape(n, d)
    o += n * d
    db[...] = g[o:o + n]
    o += n
    if gated:
        dVz[...] = g[o:o + n * d].reshape(n, d)
        o += n * d
        dbz[...] = g[o:o + n]
    if kc > 0:
        dU[...] = d_dU.copy_to_host()[:kc]
        dc[...] = d_dc.copy_to_host()[:kc]
    else:
        dU[...] = 0.0
        dc[...] = 0.0
    deps[0] = d_de.copy_to_host()[0]
    dh0[...] = d_dh0.copy_to_host()
    delta_norms[...] = d_norms.copy_to_host()
    loss[...] = d_loss.copy_to_host()
    final[...] = d_final.copy_to_host()
    diverged_at[...] = d_div.copy_to_host()
