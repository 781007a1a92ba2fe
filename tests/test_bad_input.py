"""Bad input to helpers and constructors: a typed rnndyn error naming the argument, never a raw NumPy/LAPACK one."""

from __future__ import annotations

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.errors import ArgumentTypeError, RnndynError, ValidationError
from rnndyn.formatting import format_eigenvalues


@pytest.mark.parametrize("make, names", [
    (lambda: rd.EulerRNN([[-1e308, 0], [0, 0]], gamma=1e308), "W, gamma"),
    (lambda: rd.AntisymmetricRNN([[0, 1e308], [-1e308, 0]]), "W"),
    (lambda: rd.AntisymmetricRNN([[1e308, 1e308], [-1e308, 0]], gamma=1e308), "W, gamma"),
])
def test_overflowing_effective_matrix_is_refused_by_the_cell(make, names):
    with pytest.raises(ValidationError, match=f"^{names}: the cell's matrix .* overflows"):
        make()


def test_largest_representable_cells_still_work():
    cell = rd.EulerRNN([[-1e307, 0], [0, 0]], gamma=1e307)
    rep = rd.stability(cell)
    assert np.isfinite(rep.max_real)


@pytest.mark.parametrize("call, exc, name", [
    (lambda: rd.analysis.stability.euler_factor([[1, 2], [3]], 0.1), ValidationError, "eigs"),
    (lambda: rd.analysis.stability.euler_factor("ab", 0.1), ArgumentTypeError, "eigs"),
    (lambda: format_eigenvalues("ab"), ArgumentTypeError, "eigs"),
    (lambda: format_eigenvalues(None), ArgumentTypeError, "eigs"),
    (lambda: format_eigenvalues([[1, 2], [3]]), ValidationError, "eigs"),
    (lambda: rd.EulerRNN(np.eye(2)).replace(bogus=1), ValidationError, "bogus"),
    (lambda: rd.simulate(rd.EulerRNN(np.eye(2)), [[0, 0], [1]], steps=1), ValidationError, "h0"),
])
def test_helpers_refuse_bad_arguments_by_name(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    assert isinstance(info.value, RnndynError)
    assert str(info.value).startswith(f"{name}:"), str(info.value)


def test_format_eigenvalues_shows_nonfinite_values_as_such():
    assert format_eigenvalues([np.inf, 1.0]) == "inf, 1"
