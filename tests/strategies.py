"""Hypothesis strategies for random cells and problems shared by the test files."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import rnndyn as rd

CELL_KINDS = ("vanilla", "euler", "antisymmetric", "gated")
ACTS = ("tanh", "relu", "linear", "sigmoid")


def make_cell(kind, n, d, rng, act="tanh", eps=0.1, gamma=0.1, scale=1.0):
    W = rng.normal(scale=scale / np.sqrt(n), size=(n, n))
    V = rng.normal(size=(n, d)) if d else None
    b = rng.normal(scale=0.3, size=n)
    if kind == "vanilla":
        return rd.VanillaRNN(W, V, b, activation=act)
    if kind == "euler":
        return rd.EulerRNN(W, V, b, eps=eps, gamma=gamma, activation=act)
    if kind == "antisymmetric":
        return rd.AntisymmetricRNN(W, V, b, eps=eps, gamma=gamma, activation=act)
    Vz = rng.normal(size=(n, d)) if d else None
    return rd.AntisymmetricRNN(W, V, b, eps=eps, gamma=gamma, gated=True, Vz=Vz,
                               bz=rng.normal(size=n), activation=act)


@st.composite
def problems(draw, max_n=6, max_b=5, max_t=8, max_d=2, acts=ACTS, kinds=CELL_KINDS):
    """(cell, h0, inputs, steps) with random sizes, including B = 1, n = 1, d = 0, T = 0."""
    kind = draw(st.sampled_from(kinds))
    act = draw(st.sampled_from(acts))
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(0, max_d))
    T = draw(st.integers(0, max_t))
    B = draw(st.integers(1, max_b))
    batched = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, n, d, rng, act=act)
    h0 = rng.normal(scale=0.7, size=(B, n) if batched else (n,))
    inputs = None
    if d:
        shared = draw(st.booleans())
        shape = (T, d) if (shared or not batched) else (B, T, d)
        inputs = rng.normal(size=shape)
    return cell, h0, inputs, T
