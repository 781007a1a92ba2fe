"""The ``rnndyn`` command line (installed as the package ``rnndyn_cli``)."""
