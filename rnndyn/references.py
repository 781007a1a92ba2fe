"""The works rnndyn is built from and the works its docstrings cite.

The four source documents, whose figures and numbers rnndyn reproduces
(``rnndyn figures``; one module of :mod:`rnndyn.figures` each) and checks in its
tests:

1. Chang, B., Chen, M., Haber, E. & Chi, E. H. "AntisymmetricRNN: A Dynamical
   System View on Recurrent Neural Networks." ICLR 2019. — the Euler and
   antisymmetric cells, diffusion γ, the stability criteria, the phase portraits
   of Figures 1 and 2, the end-to-end Jacobian spectra
   (:mod:`rnndyn.figures.chang2019`).
2. Merity, S. (Smerity). "Explaining and illustrating orthogonal initialization
   for recurrent neural networks." Blog post, 2016. — norm growth of W^t for
   vanishing, exploding and orthogonal matrices, the Fibonacci matrix
   (:mod:`rnndyn.figures.smerity`).
3. Grosse, R. CSC321 Lecture 15, "Exploding and Vanishing Gradients."
   University of Toronto. — the 1-D linear RNN (1.1⁵⁰ ≈ 117.4, 0.9⁵⁰ ≈ 0.00515),
   iterated functions, cobwebs, sinks and sources, gradient clipping
   (:mod:`rnndyn.figures.csc321`).
4. Zhang, A., Lipton, Z. C., Li, M. & Smola, A. J. Dive into Deep Learning,
   §5.4 "Numerical Stability and Initialization." — the sigmoid's vanishing
   gradient, products of Gaussian matrices, Xavier initialisation
   (:mod:`rnndyn.figures.d2l`).

Other works cited in the docstrings:

5. Benettin, G., Galgani, L., Giorgilli, A. & Strelcyn, J.-M. "Lyapunov
   characteristic exponents for smooth dynamical systems and for Hamiltonian
   systems; a method for computing all of them." Meccanica 15, 1980. — the QR
   method of :func:`rnndyn.lyapunov_spectrum`.
6. Engelken, R., Wolf, F. & Abbott, L. F. "Lyapunov spectra of chaotic
   recurrent neural networks." arXiv:2006.02427, 2020.
7. Datseris, G. "DynamicalSystems.jl: A Julia software library for chaos and
   nonlinear dynamics." Journal of Open Source Software 3(23), 2018 — its
   ChaosTools ``lyapunovspectrum``.
8. Sussillo, D. & Barak, O. "Opening the black box: low-dimensional dynamics in
   high-dimensional recurrent neural networks." Neural Computation 25(3), 2013.
   — fixed and slow points of a trained RNN.
9. Pascanu, R., Mikolov, T. & Bengio, Y. "On the difficulty of training
   recurrent neural networks." ICML 2013. — exploding gradients as
   bifurcations, gradient clipping.
10. Glorot, X. & Bengio, Y. "Understanding the difficulty of training deep
    feedforward neural networks." AISTATS 2010. — Xavier initialisation.
11. Saxe, A. M., McClelland, J. L. & Ganguli, S. "Exact solutions to the
    nonlinear dynamics of learning in deep linear neural networks." ICLR 2014.
    — orthogonal initialisation.
12. Le, Q. V., Jaitly, N. & Hinton, G. E. "A Simple Way to Initialize
    Recurrent Networks of Rectified Linear Units." arXiv:1504.00941, 2015. —
    the identity RNN (identity initialisation with ReLU).
13. Jozefowicz, R., Zaremba, W. & Sutskever, I. "An Empirical Exploration of
    Recurrent Network Architectures." ICML 2015. — the LSTM's unit forget bias.
14. Mezzadri, F. "How to generate random matrices from the classical compact
    groups." Notices of the AMS 54(5), 2007. — Haar-distributed orthogonal
    matrices by QR with a sign correction.
15. Ginelli, F., Poggi, P., Turchi, A., Chaté, H., Livi, R. & Politi, A.
    "Characterizing Dynamics with Covariant Lyapunov Vectors." Physical Review
    Letters 99, 130601, 2007. — the forward-backward method of
    :func:`rnndyn.covariant_lyapunov_vectors`.
16. Molgedey, L., Schuchhardt, J. & Schuster, H. G. "Suppressing chaos in neural
    networks by noise." Physical Review Letters 69, 3717, 1992. — the
    mean-field Lyapunov exponent of random discrete-time networks
    (:func:`rnndyn.mean_field_lyapunov`).
17. Poole, B., Lahiri, S., Raghu, M., Sohl-Dickstein, J. & Ganguli, S.
    "Exponential expressivity in deep neural networks through transient chaos."
    NeurIPS 2016. — the same mean-field fixed point q* and slope χ₁.

:data:`REFERENCES` maps a short key to each full citation, in this order.

Examples
--------
>>> from rnndyn.references import REFERENCES
>>> REFERENCES["chang2019"].split('"')[1]
'AntisymmetricRNN: A Dynamical System View on Recurrent Neural Networks.'
>>> list(REFERENCES)[:4]
['chang2019', 'smerity2016', 'grosse_csc321', 'd2l']
"""

from __future__ import annotations

__all__ = ["REFERENCES", "SOURCE_DOCUMENTS"]

#: Short key -> full citation (the numbered list of the module docstring, in order).
REFERENCES: dict[str, str] = {
    "chang2019": (
        'Chang, B., Chen, M., Haber, E. & Chi, E. H. "AntisymmetricRNN: A Dynamical System View on '
        'Recurrent Neural Networks." ICLR 2019.'
    ),
    "smerity2016": (
        'Merity, S. (Smerity). "Explaining and illustrating orthogonal initialization for recurrent '
        'neural networks." Blog post, 2016.'
    ),
    "grosse_csc321": (
        'Grosse, R. CSC321 Lecture 15, "Exploding and Vanishing Gradients." University of Toronto.'
    ),
    "d2l": (
        "Zhang, A., Lipton, Z. C., Li, M. & Smola, A. J. Dive into Deep Learning, "
        '§5.4 "Numerical Stability and Initialization."'
    ),
    "benettin1980": (
        "Benettin, G., Galgani, L., Giorgilli, A. & Strelcyn, J.-M. \"Lyapunov characteristic exponents for "
        "smooth dynamical systems and for Hamiltonian systems; a method for computing all of them.\" "
        "Meccanica 15, 1980."
    ),
    "engelken2020": (
        'Engelken, R., Wolf, F. & Abbott, L. F. "Lyapunov spectra of chaotic recurrent neural networks." '
        "arXiv:2006.02427, 2020."
    ),
    "datseris2018": (
        'Datseris, G. "DynamicalSystems.jl: A Julia software library for chaos and nonlinear dynamics." '
        "Journal of Open Source Software 3(23), 2018."
    ),
    "sussillo2013": (
        'Sussillo, D. & Barak, O. "Opening the black box: low-dimensional dynamics in high-dimensional '
        'recurrent neural networks." Neural Computation 25(3), 2013.'
    ),
    "pascanu2013": (
        'Pascanu, R., Mikolov, T. & Bengio, Y. "On the difficulty of training recurrent neural networks." '
        "ICML 2013."
    ),
    "glorot2010": (
        'Glorot, X. & Bengio, Y. "Understanding the difficulty of training deep feedforward neural networks." '
        "AISTATS 2010."
    ),
    "saxe2014": (
        'Saxe, A. M., McClelland, J. L. & Ganguli, S. "Exact solutions to the nonlinear dynamics of learning '
        'in deep linear neural networks." ICLR 2014.'
    ),
    "le2015": (
        'Le, Q. V., Jaitly, N. & Hinton, G. E. "A Simple Way to Initialize Recurrent Networks of Rectified '
        'Linear Units." arXiv:1504.00941, 2015.'
    ),
    "jozefowicz2015": (
        'Jozefowicz, R., Zaremba, W. & Sutskever, I. "An Empirical Exploration of Recurrent Network '
        'Architectures." ICML 2015.'
    ),
    "mezzadri2007": (
        'Mezzadri, F. "How to generate random matrices from the classical compact groups." '
        "Notices of the AMS 54(5), 2007."
    ),
    "ginelli2007": (
        'Ginelli, F., Poggi, P., Turchi, A., Chaté, H., Livi, R. & Politi, A. "Characterizing Dynamics with '
        'Covariant Lyapunov Vectors." Physical Review Letters 99, 130601, 2007.'
    ),
    "molgedey1992": (
        'Molgedey, L., Schuchhardt, J. & Schuster, H. G. "Suppressing chaos in neural networks by noise." '
        "Physical Review Letters 69, 3717, 1992."
    ),
    "poole2016": (
        'Poole, B., Lahiri, S., Raghu, M., Sohl-Dickstein, J. & Ganguli, S. "Exponential expressivity in deep '
        'neural networks through transient chaos." NeurIPS 2016.'
    ),
}

#: The keys of the four source documents, each with its module of :mod:`rnndyn.figures`.
SOURCE_DOCUMENTS: dict[str, str] = {
    "chang2019": "rnndyn.figures.chang2019",
    "smerity2016": "rnndyn.figures.smerity",
    "grosse_csc321": "rnndyn.figures.csc321",
    "d2l": "rnndyn.figures.d2l",
}
