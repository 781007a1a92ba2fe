import inspect

import rnndyn.plots as plots


def test_every_plot_function_is_reachable_and_documented():
    for name in plots.__all__:
        fn = getattr(plots, name)
        assert callable(fn)
        assert inspect.getdoc(fn), name
