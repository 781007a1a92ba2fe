"""What is measured: one module per kind of analysis.

* :mod:`~rnndyn.analysis.trajectories` — ``simulate``, ``tangent``;
* :mod:`~rnndyn.analysis.gradients` — ``bptt``, gradient norms, clipping;
* :mod:`~rnndyn.analysis.lyapunov` — Lyapunov spectra;
* :mod:`~rnndyn.analysis.stability` — spectra, stability verdicts, critical γ;
* :mod:`~rnndyn.analysis.fixed_points` — fixed points of cells and maps;
* :mod:`~rnndyn.analysis.phase` — phase portraits of 2-D systems;
* :mod:`~rnndyn.analysis.orbits1d` — orbits, cobwebs and orbit diagrams of 1-D maps;
* :mod:`~rnndyn.analysis.growth` — norm-growth experiments (matrix powers, products,
  initialisers).
* :mod:`~rnndyn.analysis.chaos` — random networks and the transition to chaos (Lyapunov
  spectra over sizes and gains, the mean-field exponent).

The functions are re-exported at the top level (``rd.simulate``, ...); the
modules are reached as ``rd.analysis.stability`` and so on.
"""
