"""GPU benchmarks: rnndyn's CUDA kernels against PyTorch (CUDA), JAX (GPU) and rnndyn's CPU backend.

    python benchmarks/bench_cuda.py --out-json gpu.json --out-md gpu.md      # on a machine with an NVIDIA GPU
    python benchmarks/bench_cuda.py --simulator-smoke --out-json /tmp/s.json --out-md /tmp/s.md

Workloads (full sizes; ``--simulator-smoke`` shrinks every one of them):

* ``euler2d_grid``: the 2-D Euler cell of Chang et al. (ICLR 2019), W0 = [[0, -2], [2, 0]], eps 0.1,
  gamma 0.15, no input, from every point of a 2048 × 2048 grid over [-1, 1]², 1000 steps, last state;
  float64 and float32;
* ``simulate``: AntisymmetricRNN n = 128, B = 4096 trajectories, T = 1000, a 1-D input, last state;
  float64 and float32;
* ``lyapunov``: full Lyapunov spectra (QR every step) of B = 4096 trajectories of one EulerRNN,
  n = 16, 1000 steps, float64;
* ``bptt``: gradients of ½ Σ_batch ‖h_T‖² for an AntisymmetricRNN, n = 128, B = 256, T = 784,
  a 1-D input, float64.

Contenders, each in its own subprocess (no framework shares a process or a CUDA context with
another): ``rnndyn-cuda`` (``backend="cuda"``), ``torch`` (CUDA; ``torch.no_grad`` for forward work,
autograd for the gradients, in-place ops; ``torch.compile`` of the step function is tried for the
forward workloads and kept only where it is faster: both are in the JSON), ``jax`` (GPU; ``jit``,
x64, ``lax.scan`` carrying only what is returned, ``block_until_ready``; the 2-D cell, compiled torch
included, written elementwise on its two coordinates, as in ``peers.py``) and ``rnndyn-cpu``
(``backend="cpu"``, all cores; ``--cpu-fraction K`` runs B/K trajectories and multiplies the
time by K, marked in the table).

Timing: the first call (compilation included) is timed on its own; then ``harness.time_interleaved``
(warm-up, several samples) gives min and median. "total" starts from NumPy arrays on the host
and ends with NumPy arrays on the host (transfers included; the device is synchronised by the copy
back). "kernel" is the device work alone: for torch and JAX the same computation with its inputs
already on the device and its output left there (``torch.cuda.synchronize`` /
``block_until_ready``); for rnndyn-cuda the sum over the kernel launches of one call of the
host time from a synchronised device to the launch's completion (each launch is wrapped; a launch
given host arrays, which numba copies implicitly, makes it "not measurable"). Every result is
compared with rnndyn-cpu float64 (max |difference| / max |reference| over a fixed subset of rows).

Where no GPU is visible the script prints one line saying so, writes every row as "not measured"
(the CPU rows too: their ratios mean something only next to GPU rows of the same machine) and exits 0.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import peers  # noqa: E402

FRAMEWORKS = ("rnndyn-cuda", "torch", "jax", "rnndyn-cpu")
REFERENCE = "rnndyn-cpu"
NOT_MEASURED = "not measured"
#: rows of a batch output kept for the agreement check (a fixed stride through the batch)
CHECK_ROWS = 65536

FULL = {
    "euler2d_grid": dict(side=2048, T=1000, dtypes=("float64", "float32")),
    "simulate": dict(n=128, B=4096, T=1000, d=1, dtypes=("float64", "float32")),
    "lyapunov": dict(n=16, B=4096, T=1000, dtypes=("float64",)),
    "bptt": dict(n=128, B=256, T=784, d=1, dtypes=("float64",)),
}
SMOKE = {
    "euler2d_grid": dict(side=8, T=12, dtypes=("float64", "float32")),
    "simulate": dict(n=6, B=8, T=9, d=1, dtypes=("float64", "float32")),
    "lyapunov": dict(n=4, B=5, T=7, dtypes=("float64",)),
    "bptt": dict(n=6, B=3, T=8, d=1, dtypes=("float64",)),
}
CELL = {"euler2d_grid": "euler", "simulate": "antisymmetric", "lyapunov": "euler", "bptt": "antisymmetric"}
#: float32 results are compared with the float64 reference: this is what "agrees" means for them
TOL = {"float64": 1e-10, "float32": 1e-3}


# --------------------------------------------------------------------------- #
# problems (built the same way in every subprocess)
# --------------------------------------------------------------------------- #
def size_label(workload: str, s: dict) -> str:
    if workload == "euler2d_grid":
        return f"{s['side']}² grid, T={s['T']}"
    keys = ("n", "B", "T", "d")
    return " ".join(f"{k}={s[k]}" for k in keys if k in s)


def problem(workload: str, s: dict, rows: int | None = None) -> dict:
    """NumPy float64 arrays of a workload; ``rows`` keeps the first rows of the batch (scaled CPU runs)."""
    if workload == "euler2d_grid":
        p = peers.problem("euler2d_grid", B=s["side"] ** 2, T=s["T"])
    elif workload == "lyapunov":
        p = peers.problem("lyapunov", n=s["n"], T=s["T"], cell=CELL[workload])
        p["h0"] = np.random.default_rng(1).normal(0.0, 0.5, size=(s["B"], s["n"]))
        p["B"] = s["B"]
    else:
        p = peers.problem(workload, n=s["n"], B=s["B"], T=s["T"], d=s["d"], cell=CELL[workload])
    p["B_full"] = p["h0"].shape[0]
    if rows is not None and rows < p["B_full"]:
        p["h0"] = np.ascontiguousarray(p["h0"][:rows])
        if p["x"] is not None:
            p["x"] = np.ascontiguousarray(p["x"][:rows])
    return p


def check_index(B_full: int, B_run: int) -> np.ndarray:
    """The rows compared across contenders: a fixed stride through the full batch, those that ran."""
    idx = np.arange(0, B_full, max(1, B_full // CHECK_ROWS))
    return idx[idx < B_run]


def cast(p: dict, dtype: str) -> dict:
    q = dict(p)
    for k in ("W", "V", "b", "h0", "x"):
        if q[k] is not None:
            q[k] = np.ascontiguousarray(q[k], dtype=dtype)
    return q


# --------------------------------------------------------------------------- #
# contenders: each returns {"total": callable, "kernel": callable or None, ...}
# --------------------------------------------------------------------------- #
def _rnndyn_cell(rd, p):
    V = p["V"] if (p["V"] is not None and p["V"].shape[1] > 0) else None
    if p["cell"] == "antisymmetric":
        return rd.AntisymmetricRNN(p["W"], V, p["b"], eps=p["eps"], gamma=p["gamma"])
    return rd.EulerRNN(p["W"], V, p["b"], eps=p["eps"], gamma=p["gamma"])


def rnndyn_fns(workload, p, dtype, backend):
    import rnndyn as rd

    cell = _rnndyn_cell(rd, p)
    h0, x, T = p["h0"], p["x"], p["T"]
    if workload in ("euler2d_grid", "simulate"):
        def run():
            return rd.simulate(cell, h0, x, steps=T, record="last", backend=backend, dtype=dtype).states
    elif workload == "lyapunov":
        def run():
            return rd.lyapunov_spectrum(cell, h0, steps=T, backend=backend).exponents
    else:
        def run():
            g = rd.bptt(cell, h0, x, steps=T, backend=backend)
            return {"loss": g.loss, "W": g.dW, "V": g.dV, "b": g.db, "h0": g.dh0}
    return {"total": run, "kernel": None}


def torch_fns(workload, p, dtype, device, use_compile):
    import torch

    dt = getattr(torch, dtype)
    dev = torch.device(device)
    eps, gamma, T = p["eps"], p["gamma"], p["T"]
    cell = p["cell"]

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def put(a):
        return None if a is None else torch.from_numpy(a).to(dev)

    def host(out):
        if isinstance(out, dict):
            return {k: (v if isinstance(v, float) else v.cpu().numpy()) for k, v in out.items()}
        return out.cpu().numpy()

    def matrix(W):
        return peers.recurrent_matrix(W, gamma, cell, _TorchNS(torch, dt, dev))

    if workload == "euler2d_grid" and use_compile:
        # two coordinates, elementwise: the compiled step is one fused kernel (no (B, 2) x (2, 2) product)
        (m00, m01), (m10, m11) = peers.recurrent_matrix(p["W"], gamma, cell).tolist()
        b0, b1 = (float(v) for v in p["b"])

        def step2(u, v):
            return (u + eps * torch.tanh(m00 * u + m01 * v + b0), v + eps * torch.tanh(m10 * u + m11 * v + b1))

        step2_c = torch.compile(step2, dynamic=False)

        def core(W, V, b, h0, x):
            with torch.no_grad():
                u, v = h0[:, 0].contiguous(), h0[:, 1].contiguous()
                for _ in range(T):
                    u, v = step2_c(u, v)
                return torch.stack((u, v), dim=1)
    elif workload in ("euler2d_grid", "simulate"):
        step_c = None
        if use_compile:
            def step(h, MT, xt, VT, b):
                a = h @ MT + b
                if xt is not None:
                    a = a + xt @ VT
                return h + eps * torch.tanh(a)

            step_c = torch.compile(step, dynamic=False)

        def core(W, V, b, h0, x):
            with torch.no_grad():
                MT = matrix(W).T.contiguous()
                VT = None if x is None else V.T.contiguous()
                xs = None if x is None else x.transpose(0, 1).contiguous()  # (T, B, d): one row block per step
                h = h0.clone()
                for t in range(T):
                    xt = None if xs is None else xs[t]
                    if step_c is not None:
                        h = step_c(h, MT, xt, VT, b)
                        continue
                    a = torch.addmm(b, h, MT)
                    if xt is not None:
                        a.addmm_(xt, VT)
                    h.add_(a.tanh_(), alpha=eps)
                return h
    elif workload == "lyapunov":
        def core(W, V, b, h0, x):
            with torch.no_grad():
                M = matrix(W)
                MT = M.T.contiguous()
                B, n = h0.shape
                h = h0.clone()
                Q = torch.eye(n, dtype=dt, device=dev).expand(B, n, n).clone()
                s = torch.zeros(B, n, dtype=dt, device=dev)
                for _ in range(T):
                    y = torch.tanh(torch.addmm(b, h, MT))
                    Q = Q + (eps * (1.0 - y * y)).unsqueeze(-1) * (M @ Q)  # J Q = Q + diag(D) M Q
                    h.add_(y, alpha=eps)
                    Q, R = torch.linalg.qr(Q)
                    d = torch.diagonal(R, dim1=-2, dim2=-1)
                    Q = Q * torch.where(d < 0.0, -1.0, 1.0).unsqueeze(-2)
                    s += torch.log(torch.abs(d))
                return torch.sort(s / T, dim=1, descending=True).values
    else:
        def core(W, V, b, h0, x):
            leaves = [a.detach().clone().requires_grad_(True) for a in (W, V, b, h0)]
            W_, V_, b_, h0_ = leaves
            M = matrix(W_)
            xs = x.transpose(0, 1)
            h = h0_
            for t in range(T):
                h = h + eps * torch.tanh(h @ M.T + xs[t] @ V_.T + b_)
            loss = 0.5 * (h * h).sum()
            loss.backward()
            out = {"loss": loss.detach()}
            out.update({k: a.grad for k, a in zip(("W", "V", "b", "h0"), leaves)})
            return out

    arrays = tuple(p[k] for k in ("W", "V", "b", "h0", "x"))
    on_dev = tuple(put(a) for a in arrays)

    def total():
        out = host(core(*(put(a) for a in arrays)))
        if isinstance(out, dict):
            out["loss"] = float(out["loss"])
        return out

    def kernel():
        out = core(*on_dev)
        sync()
        return out

    return {"total": total, "kernel": kernel}


class _TorchNS:
    """``xp.eye`` for peers.recurrent_matrix with the dtype and device of the benchmark."""

    def __init__(self, torch, dt, dev):
        self.torch, self.dt, self.dev = torch, dt, dev

    def eye(self, n):
        return self.torch.eye(n, dtype=self.dt, device=self.dev)


def jax_fns(workload, p, dtype, device):
    import jax
    import jax.numpy as jnp
    from jax import lax

    dev = jax.devices(device)[0]
    eps, gamma, T, cell = p["eps"], p["gamma"], p["T"], p["cell"]

    class NS:
        @staticmethod
        def eye(n):
            return jnp.eye(n, dtype=dtype)

    if workload == "euler2d_grid":
        def fn(W, V, b, h0, x):
            M = peers.recurrent_matrix(W, gamma, cell, NS)

            def step(c, _):  # two coordinates, elementwise: cheaper than a (B, 2) x (2, 2) product
                u, v = c
                return (u + eps * jnp.tanh(M[0, 0] * u + M[0, 1] * v + b[0]),
                        v + eps * jnp.tanh(M[1, 0] * u + M[1, 1] * v + b[1])), None

            (u, v), _ = lax.scan(step, (h0[:, 0], h0[:, 1]), None, length=T)
            return jnp.stack((u, v), axis=1)
    elif workload == "simulate":
        def fn(W, V, b, h0, x):
            M = peers.recurrent_matrix(W, gamma, cell, NS)

            def step(h, xt):
                a = h @ M.T + b
                if xt is not None:
                    a = a + xt @ V.T
                return h + eps * jnp.tanh(a), None

            xs = None if x is None else jnp.swapaxes(x, 0, 1)
            hT, _ = lax.scan(step, h0, xs, length=T)
            return hT
    elif workload == "lyapunov":
        def fn(W, V, b, h0, x):
            M = peers.recurrent_matrix(W, gamma, cell, NS)
            B, n = h0.shape

            def step(carry, _):
                h, Q, s = carry
                y = jnp.tanh(h @ M.T + b)
                Q = Q + (eps * (1.0 - y * y))[:, :, None] * (M @ Q)
                Q, R = jnp.linalg.qr(Q)
                d = jnp.diagonal(R, axis1=-2, axis2=-1)
                Q = Q * jnp.where(d < 0.0, -1.0, 1.0)[:, None, :]
                return (h + eps * y, Q, s + jnp.log(jnp.abs(d))), None

            Q0 = jnp.broadcast_to(jnp.eye(n, dtype=dtype), (B, n, n))
            (_, _, s), _ = lax.scan(step, (h0, Q0, jnp.zeros((B, n), dtype)), None, length=T)
            return -jnp.sort(-s / T, axis=1)
    else:
        def loss_fn(W, V, b, h0, x):
            M = peers.recurrent_matrix(W, gamma, cell, NS)

            def step(h, xt):
                return h + eps * jnp.tanh(h @ M.T + xt @ V.T + b), None

            hT, _ = lax.scan(step, h0, jnp.swapaxes(x, 0, 1), length=T)
            return 0.5 * jnp.sum(hT * hT)

        vg = jax.value_and_grad(loss_fn, argnums=(0, 1, 2, 3))

        def fn(W, V, b, h0, x):
            loss, g = vg(W, V, b, h0, x)
            return dict(zip(("loss", "W", "V", "b", "h0"), (loss,) + tuple(g)))

    jfn = jax.jit(fn)
    arrays = tuple(p[k] for k in ("W", "V", "b", "h0", "x"))
    on_dev = jax.device_put(arrays, dev)
    jax.block_until_ready(on_dev)

    def total():
        out = jfn(*jax.device_put(arrays, dev))
        if isinstance(out, dict):
            out = {k: np.asarray(v) for k, v in out.items()}
            out["loss"] = float(out["loss"])
            return out
        return np.asarray(out)

    def kernel():
        return jax.block_until_ready(jfn(*on_dev))

    return {"total": total, "kernel": kernel}


# --------------------------------------------------------------------------- #
# rnndyn-cuda kernel time: every launch wrapped, device synchronised around it
# --------------------------------------------------------------------------- #
class LaunchTimer:
    def __init__(self):
        self.seconds = 0.0
        self.launches = 0
        self.host_args = False
        self._undo = None

    def install(self):
        from numba import config as nconfig
        from numba import cuda

        if nconfig.ENABLE_CUDASIM:
            from numba.cuda.simulator import kernel as km

            cls, attr = km.FakeCUDAKernel, "__call__"

            def inner_call(self_):
                return self_._device or km._kernel_context is not None
        else:
            from numba.cuda import dispatcher as km

            cls, attr = km._LaunchConfiguration, "__call__"

            def inner_call(self_):
                return False
        orig = getattr(cls, attr)
        timer = self

        def timed(self_, *args):
            if inner_call(self_):
                return orig(self_, *args)
            if any(isinstance(a, np.ndarray) and a.ndim > 0 for a in args):
                timer.host_args = True
            cuda.synchronize()
            t0 = time.perf_counter()
            try:
                return orig(self_, *args)
            finally:
                cuda.synchronize()
                timer.seconds += time.perf_counter() - t0
                timer.launches += 1

        setattr(cls, attr, timed)
        self._undo = (cls, attr, orig)

    def remove(self):
        if self._undo is not None:
            cls, attr, orig = self._undo
            setattr(cls, attr, orig)
            self._undo = None


def kernel_times_rnndyn(fn, repeats):
    timer = LaunchTimer()
    timer.install()
    samples = []
    try:
        for _ in range(repeats):
            timer.seconds, timer.launches = 0.0, 0
            fn()
            samples.append(timer.seconds)
    finally:
        timer.remove()
    if timer.host_args:
        return None, "not measurable: a kernel was launched with host arrays (numba copies them implicitly)"
    if timer.launches == 0:
        return None, "not measurable: no kernel launch seen"
    return samples, f"{timer.launches} launch(es) per call, host-timed between device synchronisations"


# --------------------------------------------------------------------------- #
# worker (one framework, one subprocess)
# --------------------------------------------------------------------------- #
def _flatten(out):
    if isinstance(out, dict):
        return np.concatenate([np.ravel(np.asarray(out[k], dtype=np.float64)) for k in ("loss", "W", "V", "b", "h0")])
    return np.asarray(out, dtype=np.float64)


def _availability(fw, smoke):
    """(device string or None, reason when unavailable, versions)."""
    if fw in ("rnndyn-cuda", "rnndyn-cpu"):
        import rnndyn as rd

        versions = {"rnndyn": harness._version("rnndyn")}
        if fw == "rnndyn-cpu":
            import numba

            return "cpu", None, dict(versions, numba=numba.__version__, threads=numba.config.NUMBA_NUM_THREADS)
        if "cuda" not in rd.available_backends():
            return None, "rnndyn has no 'cuda' backend in this checkout", versions
        from rnndyn.backends import cuda_available

        if not cuda_available():
            return None, "numba.cuda sees no GPU", versions
        versions["numba-cuda"] = harness._version("numba-cuda")
        return "cuda", None, versions
    if fw == "torch":
        try:
            import torch
        except ImportError:
            return None, "torch is not installed", {}
        versions = {"torch": torch.__version__, "cuda": torch.version.cuda}
        if smoke:
            return "cpu", None, versions
        if not torch.cuda.is_available():
            return None, "torch sees no CUDA device (a CPU-only build?)", versions
        return "cuda", None, dict(versions, device=torch.cuda.get_device_name(0))
    try:
        import jax
    except ImportError:
        return None, "jax is not installed", {}
    jax.config.update("jax_enable_x64", True)
    versions = {"jax": jax.__version__, "jaxlib": harness._version("jaxlib")}
    if smoke:
        return "cpu", None, versions
    try:
        devs = jax.devices("gpu")
    except RuntimeError as e:
        return None, f"jax has no GPU backend ({str(e).splitlines()[0][:120]})", versions
    return "gpu", None, dict(versions, device=str(devs[0]))


def worker(args):
    fw = args.worker
    sizes = SMOKE if args.simulator_smoke else FULL
    report = {"framework": fw, "rows": []}
    device, reason, versions = _availability(fw, args.simulator_smoke)
    report.update(device=device, reason=reason, versions=versions)
    outputs = {}
    if device is not None:
        for w in args.workloads:
            s = sizes[w]
            rows = None
            if fw == "rnndyn-cpu" and args.cpu_fraction > 1 and w != "bptt":
                B_full = s["side"] ** 2 if w == "euler2d_grid" else s["B"]
                rows = max(1, B_full // args.cpu_fraction)
            base = problem(w, s, rows)
            for dtype in s["dtypes"]:
                for variant in _variants(fw, w):
                    row = dict(workload=w, size=size_label(w, s), dtype=dtype, framework=fw, variant=variant,
                               device=device)
                    if rows is not None:
                        row["scale"] = base["B_full"] / base["h0"].shape[0]
                        row["note"] = f"ran B={base['h0'].shape[0]} of {base['B_full']}, time × {row['scale']:g}"
                    print(f"[{fw}] {w} {dtype} {variant}", file=sys.stderr, flush=True)
                    try:
                        res = _measure(fw, w, cast(base, dtype), dtype, device, variant, args)
                    except Skipped as e:
                        row.update(status="skipped", note=str(e))
                        report["rows"].append(row)
                        continue
                    except Exception as e:  # a contender that fails is reported, not fatal to the others
                        traceback.print_exc()
                        row.update(status="failed", note=f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                                   if str(e) else type(e).__name__)
                        report["rows"].append(row)
                        continue
                    out = res.pop("output")
                    scale = row.get("scale", 1.0)
                    for k in ("total_min", "total_median", "total_iqr", "kernel_min", "kernel_median"):
                        if res.get(k) is not None:
                            res[k] *= scale
                    row.update(res, status="measured")
                    report["rows"].append(row)
                    key = f"{w}|{dtype}|{variant}"
                    flat = _flatten(out)
                    if w == "bptt":
                        outputs[key] = flat
                        outputs[key + "|idx"] = np.arange(flat.size)
                    else:
                        idx = check_index(base["B_full"], base["h0"].shape[0])
                        outputs[key] = flat[idx]
                        outputs[key + "|idx"] = idx
    np.savez(args.result + ".npz", **outputs)
    with open(args.result, "w") as f:
        json.dump(report, f, indent=1)


class Skipped(Exception):
    """A variant not run on purpose (reported as "skipped")."""


def _variants(fw, workload):
    if fw == "torch" and workload in ("euler2d_grid", "simulate"):
        return ("eager", "compile")
    return ("default",)


def _measure(fw, w, p, dtype, device, variant, args):
    if fw in ("rnndyn-cuda", "rnndyn-cpu"):
        fns = rnndyn_fns(w, p, dtype, "cuda" if fw == "rnndyn-cuda" else "cpu")
    elif fw == "torch":
        if variant == "compile" and args.torch_compile == "off":
            raise Skipped("--torch-compile off")
        fns = torch_fns(w, p, dtype, device, variant == "compile")
    else:
        fns = jax_fns(w, p, dtype, device)
    t0 = time.perf_counter()
    out = fns["total"]()
    first = time.perf_counter() - t0
    timed = {"total": fns["total"]}
    if fns["kernel"] is not None:
        timed["kernel"] = fns["kernel"]
    st = harness.time_interleaved(timed, repeats=args.repeats, max_time=args.max_time)
    res = dict(output=out, first_call_s=first, total_min=st["total"]["min"], total_median=st["total"]["median"],
               total_iqr=st["total"]["iqr"], repeats=st["total"]["repeats"], number=st["total"]["number"])
    if "kernel" in st:
        res.update(kernel_min=st["kernel"]["min"], kernel_median=st["kernel"]["median"],
                   kernel_note="inputs on the device, output left there, synchronised")
    elif fw == "rnndyn-cuda":
        samples, note = kernel_times_rnndyn(fns["total"], max(3, min(args.repeats, 7)))
        res["kernel_note"] = note
        if samples is not None:
            res.update(kernel_min=float(np.min(samples)), kernel_median=float(np.median(samples)))
    else:
        res["kernel_note"] = "n/a (CPU)"
    return res


# --------------------------------------------------------------------------- #
# device probe (its own subprocess too: the driver process never opens a CUDA context)
# --------------------------------------------------------------------------- #
def probe(args):
    info = {"gpu": False}
    try:
        from numba import config as nconfig
        from numba import cuda

        info["simulator"] = bool(nconfig.ENABLE_CUDASIM)
        if not cuda.is_available():
            info["reason"] = "numba.cuda.is_available() is False"
        else:
            info["gpu"] = True
            dev = cuda.get_current_device()
            info["name"] = _s(getattr(dev, "name", "CUDA simulator" if info["simulator"] else None))
            info["compute_capability"] = getattr(dev, "compute_capability", None)
            try:
                free, total = cuda.current_context().get_memory_info()
                info["memory_total_gib"] = total / 2 ** 30
                info["memory_free_gib"] = free / 2 ** 30
            except Exception as e:  # noqa: BLE001 - the simulator has no memory to report
                info["memory"] = f"unavailable ({type(e).__name__})"
            for key, get in (("driver_cuda_version", lambda: cuda.cudadrv.driver.driver.get_version()),
                             ("runtime_cuda_version", lambda: cuda.runtime.get_version())):
                try:
                    info[key] = ".".join(map(str, get()))
                except Exception as e:  # noqa: BLE001
                    info[key] = f"unavailable ({type(e).__name__})"
    except Exception as e:  # noqa: BLE001 - no numba-cuda at all is "no GPU"
        info["reason"] = f"numba.cuda unusable: {type(e).__name__}: {e}"
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            r = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                               capture_output=True, text=True, timeout=30)
            info["nvidia_smi"] = r.stdout.strip() or r.stderr.strip()
        except (OSError, subprocess.SubprocessError) as e:
            info["nvidia_smi"] = f"failed ({e})"
    with open(args.result, "w") as f:
        json.dump(info, f, indent=1)


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


# --------------------------------------------------------------------------- #
# driver
# --------------------------------------------------------------------------- #
def _spawn(role, args, tmp, env):
    result = os.path.join(tmp, role + ".json")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker" if role != "probe" else "--probe"]
    if role != "probe":
        cmd.append(role)
    cmd += ["--result", result, "--repeats", str(args.repeats), "--max-time", str(args.max_time),
            "--cpu-fraction", str(args.cpu_fraction), "--torch-compile", args.torch_compile,
            "--workloads", *args.workloads]
    if args.simulator_smoke:
        cmd.append("--simulator-smoke")
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, env=env, timeout=args.worker_timeout, capture_output=True, text=True)
        log, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired:
        log, rc = f"(killed after {args.worker_timeout} s: --worker-timeout)", "timeout"
    wall = time.perf_counter() - t0
    if rc != 0 or not os.path.exists(result):
        print(f"{role}: exit {rc} after {wall:.0f} s; last lines:\n" + "\n".join(log.splitlines()[-15:]),
              file=sys.stderr)
        return None, None
    if role != "probe":
        print(f"{role}: done in {wall:.0f} s", file=sys.stderr, flush=True)
    with open(result) as f:
        rep = json.load(f)
    outs = None
    if os.path.exists(result + ".npz"):
        with np.load(result + ".npz") as z:
            outs = {k: z[k] for k in z.files}
    return rep, outs


def _placeholder_rows(fw, workloads, sizes, reason):
    rows = []
    for w in workloads:
        for dtype in sizes[w]["dtypes"]:
            for variant in _variants(fw, w):
                rows.append(dict(workload=w, size=size_label(w, sizes[w]), dtype=dtype, framework=fw, variant=variant,
                                 status=NOT_MEASURED, note=reason))
    return rows


def _agreement(rows, outputs):
    """Max relative difference of every measured row against rnndyn-cpu float64 on the shared rows.

    bptt is never scaled (its gradients are sums over the batch), so all of it is compared.
    """
    ref = outputs.get(REFERENCE) or {}
    for r in rows:
        if r.get("status") != "measured":
            continue
        key = f"{r['workload']}|{r['dtype']}|{r['variant']}"
        rkey = f"{r['workload']}|float64|default"
        mine = (outputs.get(r["framework"]) or {})
        if key not in mine or rkey not in ref:
            continue
        common, ia, ib = np.intersect1d(mine[key + "|idx"], ref[rkey + "|idx"], return_indices=True)
        if common.size == 0:
            continue
        a, b = mine[key][ia], ref[rkey][ib]
        denom = max(float(np.max(np.abs(b))), 1e-300)
        err = float(np.max(np.abs(a - b)) / denom)
        r["rel_diff_vs_cpu64"] = err
        r["agrees"] = bool(err <= TOL[r["dtype"]])


def _pick_torch(rows):
    """torch.compile only where it helps: the faster torch variant per (workload, dtype) is the torch row."""
    for w, dtype in {(r["workload"], r["dtype"]) for r in rows if r["framework"] == "torch"}:
        group = [r for r in rows if r["framework"] == "torch" and r["workload"] == w and r["dtype"] == dtype]
        measured = [r for r in group if r.get("status") == "measured"]
        best = min(measured, key=lambda r: r["total_median"]) if measured else group[0]
        for r in group:
            r["shown"] = r is best


def _ratios(rows):
    """rnndyn-cuda's speed-up over each contender: its median / rnndyn-cuda's median (total and kernel)."""
    for r in rows:
        if r.get("status") != "measured":
            continue
        mine = [x for x in rows if x["framework"] == "rnndyn-cuda" and x["workload"] == r["workload"]
                and x["dtype"] == r["dtype"] and x.get("status") == "measured"]
        if not mine:
            continue
        c = mine[0]
        r["cuda_speedup_total"] = r["total_median"] / c["total_median"]
        if r.get("kernel_median") and c.get("kernel_median"):
            r["cuda_speedup_kernel"] = r["kernel_median"] / c["kernel_median"]


def _ms(v):
    if v is None:
        return ""
    return harness._fmt_ms(v)


def markdown(report) -> str:
    lines = []
    dev = report["device"]
    mode = report["mode"]
    if mode == "no-gpu":
        lines.append(f"No GPU visible ({dev.get('reason', '')}): every row is **not measured**.")
    elif mode == "simulator-smoke":
        lines.append("**Smoke run** (`--simulator-smoke`): tiny sizes, rnndyn-cuda in numba's CUDA simulator, torch "
                     "and JAX on the CPU. These times check that the script runs; they are not GPU measurements.")
    else:
        lines.append(f"Device: {dev.get('name')} (compute capability {dev.get('compute_capability')}, "
                     f"{dev.get('memory_total_gib', 0):.0f} GiB; CUDA driver {dev.get('driver_cuda_version')}, "
                     f"runtime {dev.get('runtime_cuda_version')}; nvidia-smi: {dev.get('nvidia_smi', 'n/a')}).")
    lines += ["",
              "| workload | size | dtype | contender | total min ms | total median ms | kernel min ms "
              "| kernel median ms | first call s | rel. diff vs CPU f64 | rnndyn-cuda speed-up (total / kernel) "
              "| note |",
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in report["rows"]:
        if r["framework"] == "torch" and not r.get("shown", True):
            continue
        name = r["framework"] + (f" ({r['variant']})" if r["variant"] != "default" else "")
        if r.get("status") != "measured":
            cells = [NOT_MEASURED if r.get("status") == NOT_MEASURED else r.get("status", "")] + [""] * 6
        else:
            sp = ""
            if r.get("cuda_speedup_total") is not None:
                sp = f"{r['cuda_speedup_total']:.2f}x"
                if r.get("cuda_speedup_kernel") is not None:
                    sp += f" / {r['cuda_speedup_kernel']:.2f}x"
            err = r.get("rel_diff_vs_cpu64")
            cells = [_ms(r["total_min"]), _ms(r["total_median"]), _ms(r.get("kernel_min")),
                     _ms(r.get("kernel_median")), f"{r['first_call_s']:.2f}",
                     "" if err is None else f"{err:.1e}" + ("" if r.get("agrees") else " (!)"), sp]
        note = r.get("note", "") or ""
        if r.get("status") == "measured" and r.get("kernel_min") is None and r.get("kernel_note"):
            note = (note + "; " if note else "") + "kernel: " + r["kernel_note"]
        lines.append(f"| {r['workload']} | {r['size']} | {r['dtype']} | {name} | " + " | ".join(cells)
                     + f" | {note} |")
    lines += ["", "Times per call; total = NumPy in, NumPy out (transfers included); kernel = device work only "
              "(see the script's docstring). Speed-up = contender median / rnndyn-cuda median (> 1: rnndyn-cuda "
              "faster). rel. diff: max |difference| / max |reference| against rnndyn-cpu float64 "
              f"(float64 rows should be ≤ {TOL['float64']:g}; float32 rows show float32's own error; "
              "(!) marks a row above that)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-json", default=os.path.join(HERE, "results_cuda.json"))
    ap.add_argument("--out-md", default=os.path.join(HERE, "results_cuda.md"))
    ap.add_argument("--workloads", nargs="*", default=list(FULL), choices=list(FULL))
    ap.add_argument("--frameworks", nargs="*", default=list(FRAMEWORKS), choices=list(FRAMEWORKS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-time", type=float, default=20.0, help="seconds of timed rounds per row (≥ 3 rounds)")
    ap.add_argument("--cpu-fraction", type=int, default=1,
                    help="rnndyn-cpu runs B/K trajectories (not bptt) and its times are multiplied by K")
    ap.add_argument("--torch-compile", choices=("on", "off"), default="on",
                    help="also time torch.compile of the step function (forward workloads)")
    ap.add_argument("--worker-timeout", type=float, default=1200.0, help="seconds per framework subprocess")
    ap.add_argument("--simulator-smoke", action="store_true",
                    help="tiny sizes, rnndyn-cuda under NUMBA_ENABLE_CUDASIM=1, torch/JAX on the CPU: checks the "
                         "script end to end, measures nothing about a GPU")
    ap.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.probe:
        return probe(args)

    sizes = SMOKE if args.simulator_smoke else FULL
    env = dict(os.environ)
    if args.simulator_smoke:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    else:
        env.pop("NUMBA_ENABLE_CUDASIM", None)  # a real measurement never runs the simulator
    with tempfile.TemporaryDirectory(prefix="bench_cuda_") as tmp:
        dev, _ = _spawn("probe", args, tmp, env)
        dev = dev or {"gpu": False, "reason": "the device probe failed"}
        mode = "simulator-smoke" if args.simulator_smoke else ("gpu" if dev.get("gpu") else "no-gpu")
        rows, outputs, frameworks = [], {}, {}
        if mode == "no-gpu":
            print(f"bench_cuda: no GPU visible ({dev.get('reason')}); every row written as '{NOT_MEASURED}'")
            for fw in args.frameworks:
                rows += _placeholder_rows(fw, args.workloads, sizes, "no GPU on the machine that ran the script")
        else:
            for fw in args.frameworks:
                rep, outs = _spawn(fw, args, tmp, env)
                if rep is None:
                    rows += _placeholder_rows(fw, args.workloads, sizes, "its subprocess failed (see stderr)")
                    continue
                frameworks[fw] = {k: rep.get(k) for k in ("device", "reason", "versions")}
                if rep["device"] is None:
                    rows += _placeholder_rows(fw, args.workloads, sizes, rep["reason"])
                    continue
                rows += rep["rows"]
                outputs[fw] = outs
            _agreement(rows, outputs)
            _ratios(rows)
        order = {w: i for i, w in enumerate(FULL)}
        rows.sort(key=lambda r: (order[r["workload"]], r["dtype"] != "float64", FRAMEWORKS.index(r["framework"])))
        _pick_torch(rows)
    report = dict(date=datetime.date.today().isoformat(), mode=mode, device=dev, machine=harness.machine_info(),
                  frameworks=frameworks, settings={k: getattr(args, k) for k in
                                                   ("repeats", "max_time", "cpu_fraction", "torch_compile")},
                  sizes={w: sizes[w] for w in args.workloads}, rows=rows)
    md = markdown(report)
    for path in (args.out_json, args.out_md):
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
    with open(args.out_json, "w") as f:
        json.dump(report, f, indent=1, default=str)
    with open(args.out_md, "w") as f:
        f.write(md)
    if mode != "no-gpu":
        print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
