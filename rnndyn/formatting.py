"""Numbers as text, shared by the analyses' summaries, the plots' labels and the command line.

Pure string formatting with NumPy only: it sits below every layer that prints or
draws, so that a summary line, a figure title and a CLI table write the same
eigenvalues the same way.
"""

from __future__ import annotations

import numpy as np

from rnndyn._validate import as_complex_array

__all__ = ["MINUS", "format_eigenvalues", "format_number"]

#: The typographic minus sign (U+2212), for figure text.
MINUS = "\u2212"


def format_number(x: float, digits: int = 4, *, minus: str = "-") -> str:
    """``x`` with ``digits`` significant digits; ``-0`` is written ``0``.

    Parameters
    ----------
    x : float
    digits : int
        Significant digits (``%g`` style).
    minus : str
        The minus sign: ``"-"`` for plain text, :data:`MINUS` for figures.

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(-0.15), format_number(-0.15, minus=MINUS), format_number(-1e-30 * 0)
    ('-0.15', '−0.15', '0')
    """
    s = f"{float(x):.{digits}g}"
    if s in ("-0", "0"):
        return "0"
    return s.replace("-", minus) if minus != "-" else s


def format_eigenvalues(eigs, digits: int = 4, limit: int | None = 6, *, minus: str = "-") -> str:
    """Eigenvalues as text: a conjugate pair as ``-0.15 ± 2i``, real ones as ``2, 2``.

    Parameters
    ----------
    eigs : array_like of complex
        The eigenvalues, in the order to print them.
    digits : int
        Significant digits of each real and imaginary part.
    limit : int or None
        Print at most this many entries (a conjugate pair is one entry), then
        ``… (N eigenvalues)``; None prints all.
    minus : str
        The minus sign: ``"-"`` for plain text (summaries, the command line),
        :data:`MINUS` for figure text.

    Returns
    -------
    str
        Entries joined by ``", "``. A real part or imaginary part below
        1e-12 of the largest modulus counts as zero, so a purely imaginary pair
        reads ``±2i`` and a unit one ``±i``.

    Examples
    --------
    >>> format_eigenvalues([-0.15 + 2j, -0.15 - 2j])
    '-0.15 ± 2i'
    >>> format_eigenvalues([-0.15 + 2j, -0.15 - 2j], minus=MINUS)
    '−0.15 ± 2i'
    >>> format_eigenvalues([1j, -1j]), format_eigenvalues([2.0, 2.0]), format_eigenvalues([1.0, -1.0])
    ('±i', '2, 2', '1, -1')
    >>> format_eigenvalues(np.arange(8.0), limit=3)
    '0, 1, 2, … (8 eigenvalues)'
    """
    z = as_complex_array(eigs, "eigs", what="an array of (complex) eigenvalues", allow_nonfinite=True)
    scale = max(1.0, float(np.max(np.abs(z)))) if z.size else 1.0
    tiny = 1e-12 * scale

    def num(v):
        return format_number(v, digits, minus=minus)

    out, used = [], np.zeros(z.size, bool)
    for i, a in enumerate(z):
        if used[i]:
            continue
        used[i] = True
        if abs(a.imag) <= tiny:
            out.append(num(a.real))
            continue
        j = next((j for j in range(i + 1, z.size) if not used[j] and abs(z[j] - np.conj(a)) <= 1e-9 * scale), None)
        re = "" if abs(a.real) <= tiny else num(a.real) + " "
        im = num(abs(a.imag))
        im = "" if im == "1" else im
        if j is not None:
            used[j] = True
            out.append(f"{re}± {im}i" if re else f"±{im}i")
        else:
            sign = "+" if a.imag > 0 else minus
            out.append(f"{re}{sign} {im}i" if re else f"{'' if sign == '+' else minus}{im}i")
    if limit is not None and len(out) > limit:
        return ", ".join(out[:limit]) + f", … ({z.size} eigenvalues)"
    return ", ".join(out)
