"""Peer implementations (NumPy, PyTorch, JAX) of the rnndyn benchmark workloads.

These are the bars rnndyn has to beat. Each is written the way a user of that
library would write it, not tuned against rnndyn:

* numpy: a Python loop over time with ``@`` and ``np.tanh`` (hand-written
  backward pass for ``bptt``);
* torch: a Python loop over time with tensor ops, ``torch.no_grad()`` for
  forward-only work, autograd (``requires_grad`` + ``backward``) for gradients;
* jax: ``jax.jit`` over ``lax.scan``, ``vmap`` over the batch where natural,
  ``jax.value_and_grad`` for gradients; the scan carries only what is returned
  (``record="last"``: the state alone), loop invariants (``M.T``) are formed
  once outside the loop, and the autonomous 2-D cell is written elementwise on
  its two coordinates (as in torch), which beats a (B, 2) x (2, 2) product.
  Callers time after a first (compiling) call and block until ready.

Everything is float64 (``jax_enable_x64``; torch default dtype float64) and torch
runs on 2 threads. ``torch.compile`` is not used: compiling the step of the n = 32
simulation made the 1000-step loop slower (measured: 4.2 s against 1.5 s eager, on a
loaded machine), and compiling a whole time loop unrolls it. torch and jax are imported lazily: a factory returns ``None``
when its backend is not installed. They are benchmark-only, never dependencies
of rnndyn.

The cell (one form for all three cells)::

    a_t = M h_{t-1} + V x_t + b
    h_t = alpha h_{t-1} + eps tanh(a_t)

    euler:          alpha = 1, M = W - gamma I
    antisymmetric:  alpha = 1, M = W - W^T - gamma I
    vanilla:        alpha = 0, eps = 1, M = W

States are row batches ``(B, n)`` (so ``a = h @ M.T + x_t @ V.T + b``), inputs
``(B, T, d)``.

Usage::

    p = problem("simulate", n=32, B=64, T=1000, d=1)
    fn = make_simulate("jax", **p)       # setup (arrays moved to the backend)
    out = fn()                           # first call compiles / warms up
    out = fn()                           # timed calls; returns a NumPy array

Factories: ``make_euler2d_grid``, ``make_simulate``, ``make_tangent``,
``make_bptt``, ``make_lyapunov`` (or ``make(workload, backend, **p)``). Each
takes the keys of :func:`problem`'s dict as keyword arguments and ignores the
ones it does not use. ``SIZES`` holds the benchmark sizes.

Run ``python benchmarks/peers.py`` to time the full sizes (see ``--help``).
"""

from __future__ import annotations

import functools

import numpy as np

BACKENDS = ("numpy", "torch", "jax")
WORKLOADS = ("euler2d_grid", "simulate", "tangent", "bptt", "lyapunov")
CELLS = ("euler", "antisymmetric", "vanilla")

#: The benchmark sizes (full). ``record`` is a workload option, not a problem size.
SIZES: dict[str, list[dict]] = {
    "euler2d_grid": [dict(n=2, B=512 * 512, T=50, d=0, record="last"),
                     dict(n=2, B=512 * 512, T=50, d=0, record="all")],
    "simulate": [
        dict(n=32, B=64, T=1000, d=1, record="last"),
        dict(n=32, B=64, T=1000, d=1, record="all"),
        dict(n=128, B=256, T=1000, d=1, record="last"),
        dict(n=128, B=256, T=1000, d=1, record="all"),
    ],
    "tangent": [dict(n=8, B=64, T=1000, d=1), dict(n=32, B=64, T=1000, d=1)],
    "bptt": [
        dict(n=8, B=1, T=1000, d=1),
        dict(n=32, B=1, T=1000, d=1),
        dict(n=128, B=64, T=784, d=1),
    ],
    "lyapunov": [dict(n=16, B=1, T=2000, d=0), dict(n=128, B=1, T=1000, d=0)],
}

#: Default cell per workload.
DEFAULT_CELL = {
    "euler2d_grid": "euler",
    "simulate": "euler",
    "tangent": "euler",
    "bptt": "antisymmetric",
    "lyapunov": "euler",
}


# --------------------------------------------------------------------------- #
# problem generation (shared by every backend)
# --------------------------------------------------------------------------- #
def problem(workload: str, n: int | None = None, B: int | None = None, T: int | None = None,
            d: int | None = None, seed: int = 0, cell: str | None = None,
            gamma: float = 0.1, eps: float = 0.1) -> dict:
    """Arrays and scalars of one benchmark problem, as NumPy float64.

    Returned keys: ``workload, cell, n, B, T, d, seed, W, V, b, h0, x, gamma,
    eps, alpha``. Draws (``np.random.default_rng(seed)``, in this order):
    W ~ N(0, 1/sqrt(n)) (std), V ~ N(0, 1), b ~ 0.1 N(0, 1), h0 ~ N(0, 0.5),
    x ~ N(0, 1).

    * ``euler2d_grid``: fixed problem; W = [[0, -2], [2, 0]], gamma = 0.15,
      eps = 0.1, b = 0, no input; h0 is a sqrt(B) x sqrt(B) grid over [-1, 1]^2
      (B defaults to 512^2), T defaults to 50. ``n``/``d`` are ignored.
    * ``lyapunov``: autonomous (``x = None``, V of shape (n, 0)), one initial
      state ``h0`` of shape (n,); ``B`` and ``d`` are ignored.
    * otherwise h0 is (B, n) and x is (B, T, d) (``None`` when d == 0).

    ``cell`` defaults to :data:`DEFAULT_CELL`; ``vanilla`` forces alpha = 0, eps = 1.
    """
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; expected one of {WORKLOADS}")
    cell = DEFAULT_CELL[workload] if cell is None else cell
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {CELLS}")
    rng = np.random.default_rng(seed)

    if workload == "euler2d_grid":
        B = 512 * 512 if B is None else int(B)
        side = int(round(np.sqrt(B)))
        if side * side != B:
            raise ValueError(f"euler2d_grid: B must be a square, got {B}")
        T = 50 if T is None else int(T)
        lin = np.linspace(-1.0, 1.0, side)
        X, Y = np.meshgrid(lin, lin)
        h0 = np.ascontiguousarray(np.stack([X.ravel(), Y.ravel()], axis=1))
        return dict(workload=workload, cell="euler", n=2, B=B, T=T, d=0, seed=seed,
                    W=np.array([[0.0, -2.0], [2.0, 0.0]]), V=np.zeros((2, 0)), b=np.zeros(2),
                    h0=h0, x=None, gamma=0.15, eps=0.1, alpha=1.0)

    defaults = SIZES[workload][0]
    n = defaults["n"] if n is None else int(n)
    T = defaults["T"] if T is None else int(T)
    if workload == "lyapunov":
        B, d = 1, 0
    else:
        B = defaults["B"] if B is None else int(B)
        d = defaults["d"] if d is None else int(d)

    W = rng.normal(0.0, 1.0 / np.sqrt(n), size=(n, n))
    V = rng.normal(0.0, 1.0, size=(n, d))
    b = 0.1 * rng.normal(0.0, 1.0, size=n)
    if workload == "lyapunov":
        h0 = rng.normal(0.0, 0.5, size=n)
    else:
        h0 = rng.normal(0.0, 0.5, size=(B, n))
    x = rng.normal(0.0, 1.0, size=(B, T, d)) if d > 0 and workload != "lyapunov" else None

    alpha = 1.0
    if cell == "vanilla":
        alpha, eps = 0.0, 1.0
    return dict(workload=workload, cell=cell, n=n, B=B, T=T, d=d, seed=seed,
                W=W, V=V, b=b, h0=h0, x=x, gamma=float(gamma), eps=float(eps), alpha=alpha)


def recurrent_matrix(W, gamma, cell, xp=np):
    """M of the cell, built with the array namespace ``xp`` (numpy, torch or jax.numpy)."""
    n = W.shape[0]
    if cell == "euler":
        return W - gamma * xp.eye(n)
    if cell == "antisymmetric":
        return W - W.T - gamma * xp.eye(n)
    if cell == "vanilla":
        return W
    raise ValueError(f"unknown cell {cell!r}")


def _combine(alpha, h, u):
    """alpha h + u, written as a user would (h + u for the alpha = 1 cells)."""
    if alpha == 1.0:
        return h + u
    if alpha == 0.0:
        return u
    return alpha * h + u


# --------------------------------------------------------------------------- #
# lazy backends
# --------------------------------------------------------------------------- #
@functools.lru_cache(maxsize=None)
def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(2)
    return torch


@functools.lru_cache(maxsize=None)
def _jax():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax
    return jax, jnp, lax


def available_backends() -> list[str]:
    out = ["numpy"]
    if _torch() is not None:
        out.append("torch")
    if _jax() is not None:
        out.append("jax")
    return out


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend == "torch":
        return _torch() is not None
    if backend == "jax":
        return _jax() is not None
    return True


def _t(a):
    """NumPy -> torch float64 tensor (None passes through)."""
    return None if a is None else _torch().from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _j(a):
    """NumPy -> jax float64 array on the default device (None passes through)."""
    if a is None:
        return None
    _, jnp, _ = _jax()
    return _jax()[0].device_put(jnp.asarray(a, dtype=jnp.float64))


# --------------------------------------------------------------------------- #
# 1./2. euler2d_grid and simulate (forward trajectories)
# --------------------------------------------------------------------------- #
def make_simulate(backend, *, W, V, b, h0, x, gamma, eps, alpha=1.0, cell="euler",
                  record="all", T=None, **_):
    """Trajectory of the cell: ``record="all"`` -> (B, T+1, n) including h0;
    ``record="last"`` -> (B, n). With ``x=None`` the cell is autonomous and runs T steps."""
    if record not in ("all", "last"):
        raise ValueError(f"record must be 'all' or 'last', got {record!r}")
    if not _check_backend(backend):
        return None
    if x is not None:
        T = x.shape[1]
    elif T is None:
        raise ValueError("autonomous simulate needs T")
    T = int(T)
    return {"numpy": _simulate_numpy, "torch": _simulate_torch, "jax": _simulate_jax}[backend](
        W, V, b, h0, x, float(gamma), float(eps), float(alpha), cell, record, T)


def make_euler2d_grid(backend, *, W, b, h0, T, gamma, eps, alpha=1.0, cell="euler", record="last", **_):
    """Last state (B, 2) (``record="all"``: every state, (B, T+1, 2)) of the autonomous 2-D Euler cell
    from a grid of initial states."""
    return make_simulate(backend, W=W, V=None, b=b, h0=h0, x=None, gamma=gamma, eps=eps,
                         alpha=alpha, cell=cell, record=record, T=T)


def _simulate_numpy(W, V, b, h0, x, gamma, eps, alpha, cell, record, T):
    M = recurrent_matrix(W, gamma, cell)

    def run():
        h = h0.copy()
        if record == "all":
            out = np.empty((h0.shape[0], T + 1, h0.shape[1]))
            out[:, 0] = h
        for t in range(T):
            a = h @ M.T + b
            if x is not None:
                a = a + x[:, t] @ V.T
            h = _combine(alpha, h, eps * np.tanh(a))
            if record == "all":
                out[:, t + 1] = h
        return out if record == "all" else h

    return run


def _simulate_torch(W, V, b, h0, x, gamma, eps, alpha, cell, record, T):
    torch = _torch()
    W_, V_, b_, h0_, x_ = _t(W), _t(V), _t(b), _t(h0), _t(x)
    if h0.shape[1] == 2 and x is None:
        return _simulate_2d_torch(W_, b_, h0_, gamma, eps, alpha, cell, record, T)

    def run():
        with torch.no_grad():
            M = recurrent_matrix(W_, gamma, cell, torch)
            h = h0_
            hs = [h]
            for t in range(T):
                a = h @ M.T + b_
                if x_ is not None:
                    a = a + x_[:, t] @ V_.T
                h = _combine(alpha, h, eps * torch.tanh(a))
                if record == "all":
                    hs.append(h)
            out = torch.stack(hs, dim=1) if record == "all" else h
        return out.numpy()

    return run


def _simulate_2d_torch(W_, b_, h0_, gamma, eps, alpha, cell, record, T):
    """The autonomous 2-D cell written elementwise on the two coordinate columns (a (B, 2) @ (2, 2)
    product per step is slower than four multiply-adds on (B,) vectors)."""
    torch = _torch()

    def run():
        with torch.no_grad():
            M = recurrent_matrix(W_, gamma, cell, torch)
            m00, m01, m10, m11 = (float(M[i, j]) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
            b0, b1 = float(b_[0]), float(b_[1])
            x, y = h0_[:, 0].clone(), h0_[:, 1].clone()
            xs, ys = [x], [y]
            for _ in range(T):
                u = torch.tanh(m00 * x + m01 * y + b0)
                v = torch.tanh(m10 * x + m11 * y + b1)
                x, y = _combine(alpha, x, eps * u), _combine(alpha, y, eps * v)
                if record == "all":
                    xs.append(x)
                    ys.append(y)
            if record == "all":
                out = torch.stack([torch.stack(xs, dim=1), torch.stack(ys, dim=1)], dim=2)
            else:
                out = torch.stack([x, y], dim=1)
        return out.numpy()

    return run


def _simulate_jax(W, V, b, h0, x, gamma, eps, alpha, cell, record, T):
    jax, jnp, lax = _jax()
    if h0.shape[1] == 2 and x is None:
        return _simulate_2d_jax(W, b, h0, gamma, eps, alpha, cell, record, T)

    @jax.jit
    def sim(W, V, b, h0, x):
        MT = recurrent_matrix(W, gamma, cell, jnp).T  # transposed once, outside the loop
        VT = V.T

        def step(h, xt):
            a = h @ MT + b
            if xt is not None:
                a = a + xt @ VT
            h = _combine(alpha, h, eps * jnp.tanh(a))
            return h, (h if record == "all" else None)

        xs = None if x is None else jnp.swapaxes(x, 0, 1)  # (T, B, d)
        hT, hs = lax.scan(step, h0, xs, length=T)
        if record == "last":
            return hT
        return jnp.concatenate([h0[:, None, :], jnp.swapaxes(hs, 0, 1)], axis=1)

    args = tuple(_j(a) for a in (W, V, b, h0, x))
    return lambda: np.asarray(sim(*args).block_until_ready())


def _simulate_2d_jax(W, b, h0, gamma, eps, alpha, cell, record, T):
    """The autonomous 2-D cell elementwise on the two coordinate columns, carried as a pair of (B,)
    arrays (XLA's (B, 2) x (2, 2) dot per step is slower than the fused elementwise step)."""
    jax, jnp, lax = _jax()

    @jax.jit
    def sim(W, b, h0):
        M = recurrent_matrix(W, gamma, cell, jnp)

        def step(c, _):
            x, y = c
            u = jnp.tanh(M[0, 0] * x + M[0, 1] * y + b[0])
            v = jnp.tanh(M[1, 0] * x + M[1, 1] * y + b[1])
            c = (_combine(alpha, x, eps * u), _combine(alpha, y, eps * v))
            return c, (jnp.stack(c, axis=1) if record == "all" else None)

        (xT, yT), hs = lax.scan(step, (h0[:, 0], h0[:, 1]), None, length=T)
        if record == "last":
            return jnp.stack([xT, yT], axis=1)
        return jnp.concatenate([h0[:, None, :], jnp.swapaxes(hs, 0, 1)], axis=1)

    args = (_j(W), _j(b), _j(h0))
    return lambda: np.asarray(sim(*args).block_until_ready())


# --------------------------------------------------------------------------- #
# 3. tangent: dh_T/dh_0 per trajectory, (B, n, n)
# --------------------------------------------------------------------------- #
def make_tangent(backend, *, W, V, b, h0, x, gamma, eps, alpha=1.0, cell="euler", T=None,
                 method="scan", **_):
    """End-to-end Jacobians dh_T/dh_0, shape (B, n, n), by A_t = J_t A_{t-1}, A_0 = I.

    JAX ``method``: ``"scan"`` (default: lax.scan carrying (h, A), vmap over the
    batch; the faster of the two here) or ``"jacfwd"`` (vmap(jacfwd(final state))).
    numpy/torch propagate the batch of A's with batched matmuls (torch under no_grad).
    """
    if not _check_backend(backend):
        return None
    T = int(x.shape[1] if x is not None else T)
    args = (W, V, b, h0, x, float(gamma), float(eps), float(alpha), cell, T)
    if backend == "numpy":
        return _tangent_numpy(*args)
    if backend == "torch":
        return _tangent_torch(*args)
    if method not in ("scan", "jacfwd"):
        raise ValueError(f"method must be 'scan' or 'jacfwd', got {method!r}")
    return _tangent_jax(*args, method=method)


def _tangent_numpy(W, V, b, h0, x, gamma, eps, alpha, cell, T):
    M = recurrent_matrix(W, gamma, cell)
    B, n = h0.shape
    I = np.eye(n)

    def run():
        h = h0.copy()
        A = np.broadcast_to(I, (B, n, n)).copy()
        for t in range(T):
            a = h @ M.T + b
            if x is not None:
                a = a + x[:, t] @ V.T
            y = np.tanh(a)
            J = alpha * I + (eps * (1.0 - y * y))[:, :, None] * M  # (B, n, n)
            A = J @ A
            h = _combine(alpha, h, eps * y)
        return A

    return run


def _tangent_torch(W, V, b, h0, x, gamma, eps, alpha, cell, T):
    torch = _torch()
    W_, V_, b_, h0_, x_ = _t(W), _t(V), _t(b), _t(h0), _t(x)
    B, n = h0.shape

    def run():
        with torch.no_grad():
            M = recurrent_matrix(W_, gamma, cell, torch)
            I = torch.eye(n)
            h = h0_
            A = I.expand(B, n, n).clone()
            for t in range(T):
                a = h @ M.T + b_
                if x_ is not None:
                    a = a + x_[:, t] @ V_.T
                y = torch.tanh(a)
                J = alpha * I + (eps * (1.0 - y * y)).unsqueeze(-1) * M
                A = torch.bmm(J, A)
                h = _combine(alpha, h, eps * y)
        return A.numpy()

    return run


def _tangent_jax(W, V, b, h0, x, gamma, eps, alpha, cell, T, method="scan"):
    jax, jnp, lax = _jax()
    n = h0.shape[1]

    def pre(M, V, b, h, xt):
        a = M @ h + b
        if xt is not None:
            a = a + V @ xt
        return a

    if method == "scan":
        def one(M, V, b, h0, x):  # h0 (n,), x (T, d) or None
            I = jnp.eye(n)

            def step(carry, xt):
                h, A = carry
                y = jnp.tanh(pre(M, V, b, h, xt))
                J = alpha * I + (eps * (1.0 - y * y))[:, None] * M
                return (_combine(alpha, h, eps * y), J @ A), None

            (_, A), _ = lax.scan(step, (h0, I), x, length=T)
            return A
    else:
        def one(M, V, b, h0, x):
            def final(h0):
                def step(h, xt):
                    return _combine(alpha, h, eps * jnp.tanh(pre(M, V, b, h, xt))), None

                hT, _ = lax.scan(step, h0, x, length=T)
                return hT

            return jax.jacfwd(final)(h0)

    @jax.jit
    def tan(W, V, b, h0, x):
        M = recurrent_matrix(W, gamma, cell, jnp)
        return jax.vmap(one, in_axes=(None, None, None, 0, None if x is None else 0))(M, V, b, h0, x)

    args = tuple(_j(a) for a in (W, V, b, h0, x))
    return lambda: np.asarray(tan(*args).block_until_ready())


# --------------------------------------------------------------------------- #
# 4. bptt: gradients of L = 1/2 sum_batch |h_T|^2
# --------------------------------------------------------------------------- #
def make_bptt(backend, *, W, V, b, h0, x, gamma, eps, alpha=1.0, cell="antisymmetric", T=None, **_):
    """Loss and gradients of L = 1/2 sum_batch ||h_T||^2 with respect to W (the free
    matrix, M = W - W^T - gamma I for the antisymmetric cell), V, b and h0.

    The callable returns ``{"loss": float, "W": (n, n), "V": (n, d), "b": (n,), "h0": (B, n)}``.
    """
    if not _check_backend(backend):
        return None
    T = int(x.shape[1] if x is not None else T)
    return {"numpy": _bptt_numpy, "torch": _bptt_torch, "jax": _bptt_jax}[backend](
        W, V, b, h0, x, float(gamma), float(eps), float(alpha), cell, T)


def _bptt_numpy(W, V, b, h0, x, gamma, eps, alpha, cell, T):
    M = recurrent_matrix(W, gamma, cell)
    B, n = h0.shape

    def run():
        # forward, keeping h_{t-1} and tanh(a_t)
        hs = np.empty((T + 1, B, n))
        ys = np.empty((T, B, n))
        h = hs[0] = h0
        for t in range(T):
            a = h @ M.T + b
            if x is not None:
                a = a + x[:, t] @ V.T
            y = ys[t] = np.tanh(a)
            h = hs[t + 1] = _combine(alpha, h, eps * y)
        loss = 0.5 * np.sum(h * h)
        # backward
        g = h.copy()  # dL/dh_T
        dM = np.zeros((n, n))
        dV = np.zeros_like(V)
        db = np.zeros(n)
        for t in range(T - 1, -1, -1):
            y = ys[t]
            delta = g * (eps * (1.0 - y * y))  # dL/da_t
            dM += delta.T @ hs[t]
            if x is not None:
                dV += delta.T @ x[:, t]
            db += delta.sum(axis=0)
            g = delta @ M if alpha == 0.0 else alpha * g + delta @ M
        if cell == "antisymmetric":
            dW = dM - dM.T
        else:
            dW = dM
        return {"loss": float(loss), "W": dW, "V": dV, "b": db, "h0": g}

    return run


def _bptt_torch(W, V, b, h0, x, gamma, eps, alpha, cell, T):
    torch = _torch()
    W_ = _t(W).clone().requires_grad_(True)
    V_ = _t(V).clone().requires_grad_(True)
    b_ = _t(b).clone().requires_grad_(True)
    h0_ = _t(h0).clone().requires_grad_(True)
    x_ = _t(x)
    leaves = (W_, V_, b_, h0_)

    def run():
        for p in leaves:
            p.grad = None
        M = recurrent_matrix(W_, gamma, cell, torch)
        h = h0_
        for t in range(T):
            a = h @ M.T + b_
            if x_ is not None:
                a = a + x_[:, t] @ V_.T
            h = _combine(alpha, h, eps * torch.tanh(a))
        loss = 0.5 * (h * h).sum()
        loss.backward()
        out = {"loss": float(loss.detach())}
        for name, p in zip(("W", "V", "b", "h0"), leaves):
            out[name] = p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape))
        return out

    return run


def _bptt_jax(W, V, b, h0, x, gamma, eps, alpha, cell, T):
    jax, jnp, lax = _jax()

    def loss_fn(W, V, b, h0, x):
        M = recurrent_matrix(W, gamma, cell, jnp)

        def step(h, xt):
            a = h @ M.T + b
            if xt is not None:
                a = a + xt @ V.T
            return _combine(alpha, h, eps * jnp.tanh(a)), None

        xs = None if x is None else jnp.swapaxes(x, 0, 1)
        hT, _ = lax.scan(step, h0, xs, length=T)
        return 0.5 * jnp.sum(hT * hT)

    vg = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1, 2, 3)))
    args = tuple(_j(a) for a in (W, V, b, h0, x))

    def run():
        loss, grads = vg(*args)
        grads = jax.block_until_ready(grads)
        out = {"loss": float(loss)}
        out.update({k: np.asarray(g) for k, g in zip(("W", "V", "b", "h0"), grads)})
        return out

    return run


# --------------------------------------------------------------------------- #
# 5. lyapunov: full spectrum by Benettin / QR
# --------------------------------------------------------------------------- #
def make_lyapunov(backend, *, W, b, h0, T, gamma, eps, alpha=1.0, cell="euler", **_):
    """Lyapunov spectrum (n,), sorted descending, of the autonomous cell from h0 (n,).

    Per step: J at the current state, h <- F(h), Q <- J Q, (Q, R) = qr(Q) with signs
    fixed so diag(R) > 0, accumulate log diag(R); exponents = sum / T.
    """
    if not _check_backend(backend):
        return None
    return {"numpy": _lyap_numpy, "torch": _lyap_torch, "jax": _lyap_jax}[backend](
        W, b, np.asarray(h0, dtype=np.float64).reshape(-1), int(T), float(gamma), float(eps),
        float(alpha), cell)


def _lyap_numpy(W, b, h0, T, gamma, eps, alpha, cell):
    M = recurrent_matrix(W, gamma, cell)
    n = h0.shape[0]
    I = np.eye(n)

    def run():
        h = h0.copy()
        Q = I.copy()
        s = np.zeros(n)
        for _ in range(T):
            y = np.tanh(M @ h + b)
            J = alpha * I + (eps * (1.0 - y * y))[:, None] * M
            h = _combine(alpha, h, eps * y)
            Q, R = np.linalg.qr(J @ Q)
            d = np.diagonal(R)
            Q = Q * np.where(d < 0.0, -1.0, 1.0)
            s += np.log(np.abs(d))
        return np.sort(s / T)[::-1]

    return run


def _lyap_torch(W, b, h0, T, gamma, eps, alpha, cell):
    torch = _torch()
    W_, b_, h0_ = _t(W), _t(b), _t(h0)
    n = h0.shape[0]

    def run():
        with torch.no_grad():
            M = recurrent_matrix(W_, gamma, cell, torch)
            I = torch.eye(n)
            h = h0_
            Q = I.clone()
            s = torch.zeros(n)
            for _ in range(T):
                y = torch.tanh(M @ h + b_)
                J = alpha * I + (eps * (1.0 - y * y)).unsqueeze(1) * M
                h = _combine(alpha, h, eps * y)
                Q, R = torch.linalg.qr(J @ Q)
                d = torch.diagonal(R)
                Q = Q * torch.where(d < 0.0, -1.0, 1.0)
                s += torch.log(torch.abs(d))
            return torch.sort(s / T, descending=True).values.numpy()

    return run


def _lyap_jax(W, b, h0, T, gamma, eps, alpha, cell):
    jax, jnp, lax = _jax()
    n = h0.shape[0]

    @jax.jit
    def lyap(W, b, h0):
        M = recurrent_matrix(W, gamma, cell, jnp)
        I = jnp.eye(n)

        def step(carry, _):
            h, Q, s = carry
            y = jnp.tanh(M @ h + b)
            J = alpha * I + (eps * (1.0 - y * y))[:, None] * M
            Q, R = jnp.linalg.qr(J @ Q)
            d = jnp.diagonal(R)
            Q = Q * jnp.where(d < 0.0, -1.0, 1.0)
            return (_combine(alpha, h, eps * y), Q, s + jnp.log(jnp.abs(d))), None

        (_, _, s), _ = lax.scan(step, (h0, I, jnp.zeros(n)), None, length=T)
        return -jnp.sort(-s / T)

    args = (_j(W), _j(b), _j(h0))
    return lambda: np.asarray(lyap(*args).block_until_ready())


# --------------------------------------------------------------------------- #
FACTORIES = {
    "euler2d_grid": make_euler2d_grid,
    "simulate": make_simulate,
    "tangent": make_tangent,
    "bptt": make_bptt,
    "lyapunov": make_lyapunov,
}


def make(workload: str, backend: str, /, **kwargs):
    """Dispatch to ``make_<workload>``."""
    if workload not in FACTORIES:
        raise ValueError(f"unknown workload {workload!r}; expected one of {WORKLOADS}")
    return FACTORIES[workload](backend, **kwargs)


def size_label(workload: str, size: dict) -> str:
    """Short label of a size, e.g. ``n=32 B=64 T=1000 d=1 (all)``."""
    keys = ("n", "T") if workload == "lyapunov" else ("n", "B", "T", "d")
    s = " ".join(f"{k}={size[k]}" for k in keys if k in size)
    if "record" in size:
        s += f" ({size['record']})"
    return s


# --------------------------------------------------------------------------- #
def main(argv=None):
    import argparse
    import json
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness

    ap = argparse.ArgumentParser(description="Time the peer implementations at the benchmark sizes.")
    ap.add_argument("--workloads", nargs="*", default=list(WORKLOADS))
    ap.add_argument("--backends", nargs="*", default=list(BACKENDS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-time", type=float, default=40.0,
                    help="stop repeating a size after this many seconds (at least 3 repeats)")
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args(argv)

    backends = [bk for bk in args.backends if bk in available_backends()]
    harness.warn_if_loaded()
    rows = []
    for w in args.workloads:
        for size in SIZES[w]:
            p = problem(w, n=size["n"], B=size["B"], T=size["T"], d=size["d"])
            opts = {k: v for k, v in size.items() if k == "record"}
            fns = {bk: make(w, bk, **p, **opts) for bk in backends}
            res = harness.time_interleaved(fns, repeats=args.repeats, max_time=args.max_time)
            label = size_label(w, size)
            for bk, r in res.items():
                rows.append(dict(workload=w, size=label, backend=bk, **{k: r[k] for k in
                                 ("median", "iqr", "min", "times", "repeats", "number", "warmup", "load")}))
            print(harness.format_table([r for r in rows if r["workload"] == w and r["size"] == label]),
                  flush=True)
    print()
    print(harness.format_table(rows, baseline="numpy"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": harness.machine_info(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
