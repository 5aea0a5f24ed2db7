"""pivotsim.compiled: the rules kernels are called with, and the first-run notice."""

from types import SimpleNamespace

import numpy as np
import pytest

from pivotsim import compiled


def test_per_path_and_rows_of_give_writable_contiguous_float_arrays():
    column = np.arange(3.0).reshape(-1, 1)
    for value, n in ((2.5, 4), (column, 3), (np.broadcast_to(1.0, (1,)), 1)):
        out = compiled.per_path(value, n)
        assert out.shape == (n,) and out.flags.c_contiguous and out.flags.writeable and out.dtype == float
    assert np.array_equal(compiled.per_path(column, 3), [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="expected 1 or 4"):
        compiled.per_path(column, 4)
    read_only = np.broadcast_to(np.arange(5.0), (2, 5))
    rows = compiled.rows_of(read_only, 2, 5)
    assert rows.flags.writeable and rows.flags.c_contiguous and np.array_equal(rows, read_only)
    own = np.ones((2, 5))
    assert compiled.rows_of(own, 2, 5) is own  # no copy of an array that is already right


def _fake_kernel(path):
    return SimpleNamespace(_cache=SimpleNamespace(_cache_file=SimpleNamespace(_index_path=str(path))))


def test_needs_compiling_when_most_kernels_have_no_cache_index(tmp_path, monkeypatch):
    present = tmp_path / "k.nbi"
    present.write_bytes(b"")
    missing = tmp_path / "none.nbi"
    monkeypatch.setattr(compiled, "_KERNELS", [_fake_kernel(missing)] * 3 + [_fake_kernel(present)])
    assert compiled.needs_compiling()
    monkeypatch.setattr(compiled, "_KERNELS", [_fake_kernel(missing)] + [_fake_kernel(present)] * 3)
    assert not compiled.needs_compiling()  # a kernel a run never calls stays uncompiled
    monkeypatch.setattr(compiled, "_KERNELS", [object()])
    assert not compiled.needs_compiling()  # unknown cache layout: no notice


def test_engine_kernels_are_registered():
    import pivotsim.simulate  # noqa: F401  (imports every model)

    names = {k.py_func.__name__ for k in compiled._KERNELS}
    assert {"_valuation_kernel", "_tax_kernel", "_hashrate_response_paths", "_contract_kernel",
            "_mining_months"} <= names
