"""Device functions shared by the CUDA kernels: one trajectory's cell step, norms, the QR of the Lyapunov kernel.

Everything here works on one trajectory held by one thread: its state and its
tangent matrices are ``cuda.local.array`` buffers (registers or per-thread local
memory) of a compile-time size, of which the first ``n`` (or ``n × k``) entries
are used. The scalar math (activations, their derivatives, the gate) is
:mod:`rnndyn.kernels.scalar`'s, the same code the CPU kernels inline; the
helpers follow :mod:`rnndyn.kernels.cpu.common` operation by operation, so the
two agree to rounding.

The cell, with the arguments of :class:`rnndyn.kernels.params.CellParams`::

    a   = M h + V x + b          (a_z = M h + V_z x + b_z when gated)
    h'  = alpha h + eps [σ(a_z)] φ(a)
    J   = alpha I + diag(D) M,   D = eps φ'(a)   (gated: eps (z φ'(a) + φ(a) z (1 - z)))

Host-side helpers (:func:`launch_geometry`, :func:`check_size`, :func:`to_device`)
are plain Python used by the host functions of the kernel modules.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from rnndyn.kernels.scalar import column_norm, dphi, phi, pow2_scale, sigmoid

#: Threads per block when a host function is not told (the "cuda" backend passes
#: ``config.CUDA_THREADS_PER_BLOCK``; the kernels cannot read the config themselves).
DEFAULT_THREADS_PER_BLOCK = 128

#: Largest state size of the thread-per-trajectory kernels, by kernel: the state
#: (and for ``tangent``/``lyapunov`` the n × n tangent and its scratch) lives in
#: per-thread local arrays whose size is fixed at compile time.
MAX_N = {"simulate": 256, "tangent": 32, "lyapunov": 32, "basin_trajectories": 32}

#: Sum-of-squares bounds inside which a QR column norm is computed unscaled (as the CPU's ``_qr_cols``).
_QR_SAFE_LO = 2.0 ** -960
_QR_SAFE_HI = 2.0 ** 960
#: Jacobi sweeps of :func:`sym_max_eigenvalue` at most (it converges quadratically: about 6-10 suffice).
_JACOBI_MAX_SWEEPS = 50
#: Off-diagonal mass (squared, relative to the diagonal's) at which the Jacobi iteration stops: 2^-106,
#: one rounding error of float64 squared. λ_max is then within about sqrt(n) ulp.
_JACOBI_TOL2 = 2.0 ** -106


# --------------------------------------------------------------------------- host side


def launch_geometry(B, threads_per_block=None):
    """(blocks, threads) for a grid-stride launch over a batch of B trajectories.

    Parameters
    ----------
    B : int
        Trajectories (at least one thread each until the grid is full).
    threads_per_block : int or None
        Threads per block; None takes :data:`DEFAULT_THREADS_PER_BLOCK`.

    Returns
    -------
    (int, int)

    Examples
    --------
    >>> launch_geometry(9, 4)
    (3, 4)
    >>> launch_geometry(0)
    (1, 128)
    """
    tpb = DEFAULT_THREADS_PER_BLOCK if threads_per_block is None else int(threads_per_block)
    tpb = max(1, tpb)
    return max(1, -(-int(B) // tpb)), tpb


def check_size(kernel, n):
    """Raise ValueError when the state size ``n`` exceeds what ``kernel``'s local arrays hold (:data:`MAX_N`).

    Examples
    --------
    >>> check_size("tangent", 33)
    Traceback (most recent call last):
    ...
    ValueError: h0: the CUDA tangent kernel holds states of n ≤ 32 in per-thread memory, got n = 33
    """
    limit = MAX_N[kernel]
    if n > limit:
        raise ValueError(f"h0: the CUDA {kernel} kernel holds states of n ≤ {limit} in per-thread memory, "
                         f"got n = {n}")


def to_device(*arrays):
    """Each array copied to the device (contiguous, as the kernels index them)."""
    return tuple(cuda.to_device(np.ascontiguousarray(a)) for a in arrays)


# --------------------------------------------------------------------------- the cell, one unit at a time


@cuda.jit(device=True)
def unit_preactivations(i, h, n, M, V, b, Vz, bz, inputs, bi, s, d, gated):
    """Pre-activations of unit i: (a_i, a_z,i) for the state h (its first n entries) and input step s.

    ``a_i = Σ_j M_ij h_j + b_i + Σ_j V_ij x_j`` summed in that order (as the CPU kernels);
    ``x = inputs[bi, s]``. The gate's a_z,i shares Σ_j M_ij h_j (a_i is returned in its place when not gated).
    The sums take the arrays' dtype (float32 stays float32).
    """
    acc = M[i, 0] * h[0]
    for j in range(1, n):
        acc += M[i, j] * h[j]
    sa = acc + b[i]
    for j in range(d):
        sa += V[i, j] * inputs[bi, s, j]
    sz = sa  # not used unless gated
    if gated:
        sz = acc + bz[i]
        for j in range(d):
            sz += Vz[i, j] * inputs[bi, s, j]
    return sa, sz


@cuda.jit(device=True)
def unit_next(hi, a, az, alpha, eps, act, gated):
    """h'_i = alpha h_i + eps [σ(a_z)] φ(a) from unit i's state and pre-activations.

    φ and σ are evaluated in float64 (then rounded once when the state is float32):
    the scalar math reduces its argument in float64, which a float32 argument would
    break where Python arithmetic keeps float32 (the simulator).
    """
    a = np.float64(a)
    az = np.float64(az)
    y = phi(act, a)
    if gated:
        return alpha * hi + eps * sigmoid(az) * y
    return alpha * hi + eps * y


@cuda.jit(device=True)
def unit_derivative(a, az, eps, act, gated):
    """D_i of J = alpha I + diag(D) M: eps φ'(a), or eps (z φ'(a) + φ(a) z (1 - z)) with z = σ(a_z) when gated."""
    a = np.float64(a)
    az = np.float64(az)
    y = phi(act, a)
    dy = dphi(act, a, y)
    if gated:
        z = sigmoid(az)
        return eps * (z * dy + y * z * (1.0 - z))
    return eps * dy


@cuda.jit(device=True)
def unit_next_and_derivative(hi, a, az, alpha, eps, act, gated):
    """(h'_i, D_i): :func:`unit_next` and :func:`unit_derivative` sharing φ(a) and σ(a_z)."""
    a = np.float64(a)
    az = np.float64(az)
    y = phi(act, a)
    dy = dphi(act, a, y)
    if gated:
        z = sigmoid(az)
        return alpha * hi + eps * z * y, eps * (z * dy + y * z * (1.0 - z))
    return alpha * hi + eps * y, eps * dy


@cuda.jit(device=True)
def cell_step(h, hn, D, n, M, V, b, Vz, bz, inputs, bi, s, d, alpha, eps, act, gated, want_D):
    """One step of one trajectory: hn = the next state of h (first n entries); D too when ``want_D``.

    Input step s of row bi of ``inputs``. Returns whether every entry of hn is finite.
    """
    ok = True
    for i in range(n):
        a, az = unit_preactivations(i, h, n, M, V, b, Vz, bz, inputs, bi, s, d, gated)
        if want_D:
            v, di = unit_next_and_derivative(h[i], a, az, alpha, eps, act, gated)
            D[i] = di
        else:
            v = unit_next(h[i], a, az, alpha, eps, act, gated)
        hn[i] = v
        if not math.isfinite(v):
            ok = False
    return ok


@cuda.jit(device=True)
def tangent_step(A, tmp, n, k, alpha, D, M):
    """A <- alpha A + diag(D) (M A) for the first n × k entries of A, column by column (``tmp``: n scratch).

    The Jacobian is never formed. Returns whether every updated entry is finite.
    """
    ok = True
    for c in range(k):
        for i in range(n):
            s = M[i, 0] * A[0, c]
            for j in range(1, n):
                s += M[i, j] * A[j, c]
            tmp[i] = s
        for i in range(n):
            v = alpha * A[i, c] + D[i] * tmp[i]
            A[i, c] = v
            if not math.isfinite(v):
                ok = False
    return ok


@cuda.jit(device=True)
def all_finite(x, n):
    """Whether the first n entries of x are finite."""
    for i in range(n):
        if not math.isfinite(x[i]):
            return False
    return True


# --------------------------------------------------------------------------- norms


@cuda.jit(device=True)
def fro_norm(A, n, k):
    """‖A[:n, :k]‖_F, scaled by a power of two near max|a_ij| so that it overflows only when the result does.

    NaN propagates; ±inf gives inf.
    """
    amax = 0.0
    for i in range(n):
        for j in range(k):
            v = abs(A[i, j])
            if not v <= amax:  # also takes NaN
                amax = v
    if amax == 0.0 or not math.isfinite(amax):
        return amax
    e, s1, s2 = pow2_scale(amax)
    s = 0.0
    for i in range(n):
        for j in range(k):
            v = (A[i, j] * s1) * s2
            s += v * v
    return math.ldexp(math.sqrt(s), e)


@cuda.jit(device=True)
def vec_norm(x, n):
    """‖x[:n]‖₂, scaled as :func:`fro_norm`."""
    amax = 0.0
    for i in range(n):
        v = abs(x[i])
        if not v <= amax:
            amax = v
    if amax == 0.0 or not math.isfinite(amax):
        return amax
    e, s1, s2 = pow2_scale(amax)
    s = 0.0
    for i in range(n):
        v = (x[i] * s1) * s2
        s += v * v
    return math.ldexp(math.sqrt(s), e)


@cuda.jit(device=True)
def sym_max_eigenvalue(S, n):
    """Largest eigenvalue of the symmetric S[:n, :n], by cyclic Jacobi rotations (S is overwritten).

    Rotations until the off-diagonal mass is below 2^-106 of the diagonal's: the
    eigenvalues are then the diagonal to within about sqrt(n) ulp of the largest
    (Weyl). Jacobi rather than power iteration: its accuracy does not depend on
    the gap between the two largest eigenvalues.
    """
    for _ in range(_JACOBI_MAX_SWEEPS):
        off = 0.0
        dia = 0.0
        for p in range(n):
            dia += S[p, p] * S[p, p]
            for q in range(p + 1, n):
                off += S[p, q] * S[p, q]
        if not off > _JACOBI_TOL2 * dia:  # converged (or NaN: stop)
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                spq = S[p, q]
                if spq == 0.0:
                    continue
                theta = (S[q, q] - S[p, p]) / (2.0 * spq)
                at = abs(theta)
                if at > 1e150:  # theta² would overflow: t ≈ 1/(2θ)
                    t = 0.5 / theta
                else:
                    t = 1.0 / (at + math.sqrt(at * at + 1.0))
                    if theta < 0.0:
                        t = -t
                c = 1.0 / math.sqrt(t * t + 1.0)
                sn = t * c
                for r in range(n):  # columns p, q
                    srp = S[r, p]
                    srq = S[r, q]
                    S[r, p] = c * srp - sn * srq
                    S[r, q] = sn * srp + c * srq
                for r in range(n):  # rows p, q
                    spr = S[p, r]
                    sqr = S[q, r]
                    S[p, r] = c * spr - sn * sqr
                    S[q, r] = sn * spr + c * sqr
    lam = S[0, 0]
    for p in range(1, n):
        if S[p, p] > lam:
            lam = S[p, p]
    return lam


@cuda.jit(device=True)
def spectral_norm(A, S, n):
    """‖A[:n, :n]‖₂ = 2^e sqrt(λ_max(BᵀB)), B = A 2^-e with 2^e ≈ ‖A‖_F (as the CPU's ``_spectral_norm``).

    ``S`` (n × n at least) is scratch. The eigenvalue comes from :func:`sym_max_eigenvalue`
    (cyclic Jacobi) where the CPU calls LAPACK's dsyevd on the same matrix.
    """
    fro = fro_norm(A, n, n)
    if fro == 0.0 or not math.isfinite(fro):
        return fro
    e, s1, s2 = pow2_scale(fro)
    for i in range(n):
        for j in range(i, n):
            s = 0.0
            for r in range(n):
                s += ((A[r, i] * s1) * s2) * ((A[r, j] * s1) * s2)
            S[i, j] = s
            S[j, i] = s
    lam = sym_max_eigenvalue(S, n)
    return math.ldexp(math.sqrt(max(lam, 0.0)), e)


# --------------------------------------------------------------------------- Householder QR


@cuda.jit(device=True)
def reflect(A, Vh, w, j, n, k):
    """Apply H_j = I - tau_j v_j v_jᵀ (tau_j = Vh[j, j], v_j below it, leading 1) to columns 0..k-1 of A.

    w = Aᵀv summed row by row from row j (the CPU's ``_reflect`` order), then A -= tau v wᵀ.
    """
    tau = Vh[j, j]
    for c in range(k):
        w[c] = A[j, c]
    for i in range(j + 1, n):
        vi = Vh[i, j]
        for c in range(k):
            w[c] += vi * A[i, c]
    for c in range(k):
        w[c] *= tau
        A[j, c] -= w[c]
    for i in range(j + 1, n):
        vi = Vh[i, j]
        for c in range(k):
            A[i, c] -= vi * w[c]


@cuda.jit(device=True)
def qr_positive(A, Vh, w, rdiag, n, k):
    """Householder QR of A[:n, :k] in place: A <- Q with diag(R) ≥ 0 into ``rdiag`` (k).

    The CPU's ``_qr_cols`` (LAPACK dgeqr2 + dorg2r, unblocked) step by step; ``Vh`` (n × k)
    holds the reflectors, ``w`` (k) is scratch. Returns whether R's diagonal is NaN or
    +inf (the tangent vectors diverged).
    """
    for j in range(k):
        a0 = A[j, j]
        sigma = 0.0
        for i in range(j + 1, n):
            sigma += A[i, j] * A[i, j]
        ss = a0 * a0 + sigma
        if not (_QR_SAFE_LO < ss < _QR_SAFE_HI):
            norm = column_norm(A, j, n)
            if norm == abs(a0):
                tau = 0.0
                rdiag[j] = a0
            else:
                beta = -norm if a0 >= 0.0 else norm
                tau = (beta - a0) / beta
                den = a0 - beta
                for i in range(j + 1, n):
                    Vh[i, j] = A[i, j] / den
                rdiag[j] = beta
        elif sigma == 0.0:
            tau = 0.0
            rdiag[j] = a0
        else:
            norm = math.sqrt(a0 * a0 + sigma)
            beta = -norm if a0 >= 0.0 else norm
            tau = (beta - a0) / beta
            scale = 1.0 / (a0 - beta)
            for i in range(j + 1, n):
                Vh[i, j] = A[i, j] * scale
            rdiag[j] = beta
        Vh[j, j] = tau
        if tau != 0.0 and j + 1 < k:
            reflect(A, Vh, w, j, n, k)
    for i in range(n):
        for c in range(k):
            A[i, c] = 1.0 if i == c else 0.0
    for j in range(k - 1, -1, -1):
        if Vh[j, j] != 0.0:
            reflect(A, Vh, w, j, n, k)
    bad = False
    for j in range(k):
        if rdiag[j] < 0.0:
            rdiag[j] = -rdiag[j]
            for i in range(n):
                A[i, j] = -A[i, j]
        if math.isnan(rdiag[j]) or rdiag[j] == math.inf:
            bad = True
    return bad


@cuda.jit(device=True)
def lyap_is_qr_time(t, transient, total, every):
    """Whether the tangent basis is re-orthonormalised after global step t."""
    if t == total or t == transient:
        return True
    if t < transient:
        return t % every == 0
    return (t - transient) % every == 0
