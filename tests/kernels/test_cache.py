"""rnndyn.kernels._cache: a kernel's cache entry follows every kernel source, not only its own file."""

import importlib.util
import os
import textwrap

from numba.core.caching import FunctionCache

from rnndyn.kernels import _cache
from rnndyn.kernels.cpu import common, trajectories


def _tree(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_digest_follows_contents_not_places_or_times(tmp_path):
    files = {"a.py": "x = 1\n", "cpu/b.py": "def f():\n    return 2\n", "notes.txt": "not source"}
    _tree(tmp_path / "one", files)
    _tree(tmp_path / "two", files)
    d1 = _cache.sources_digest(tmp_path / "one")
    assert d1 == _cache.sources_digest(tmp_path / "two")
    os.utime(tmp_path / "one" / "a.py", (0, 0))  # a checkout touches files: no change
    assert _cache.sources_digest(tmp_path / "one") == d1
    (tmp_path / "one" / "notes.txt").write_text("edited")  # not a .py file
    assert _cache.sources_digest(tmp_path / "one") == d1
    (tmp_path / "one" / "cpu" / "b.py").write_text("def f():\n    return 3\n")  # a helper edited
    assert _cache.sources_digest(tmp_path / "one") != d1
    _tree(tmp_path / "two", {"cpu/c.py": ""})  # a module added
    assert _cache.sources_digest(tmp_path / "two") != d1
    (tmp_path / "two" / "cpu" / "c.py").unlink()
    (tmp_path / "two" / "cpu" / "b.py").rename(tmp_path / "two" / "cpu" / "c.py")  # a module renamed
    assert _cache.sources_digest(tmp_path / "two") != d1


def test_the_kernels_use_the_package_locators_and_their_stamp_holds_the_digest():
    digest = _cache.sources_digest(os.path.dirname(_cache.__file__))
    for dispatcher in (trajectories.simulate, common._block_step):
        locator = FunctionCache(dispatcher.py_func)._impl.locator
        assert isinstance(locator, _cache.LOCATORS)
        own, kernels = locator.get_source_stamp()
        assert kernels == digest and own  # numba's own stamp of the file is kept as well


def test_functions_outside_rnndyn_keep_numbas_locators(tmp_path):
    path = tmp_path / "user_module.py"
    path.write_text(textwrap.dedent("""
        from numba import njit

        @njit(cache=True)
        def f(x):
            return x + 1
    """))
    spec = importlib.util.spec_from_file_location("user_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    locator = FunctionCache(module.f.py_func)._impl.locator
    assert not isinstance(locator, _cache.LOCATORS)


def test_install_is_idempotent():
    assert len(_cache.LOCATORS) == 3  # this numba has the three locators to extend
    _cache.install()
    _cache.install()
    classes = _cache._numba("CacheImpl")._locator_classes
    assert classes[:3] == list(_cache.LOCATORS)
    assert len(classes) == len(set(classes))
