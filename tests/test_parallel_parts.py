"""parallel.run_parts: a serial kernel's parts on Numba's threads, and NoAliasArguments."""
import re

import numpy as np
import pytest
from numba import config, get_num_threads, njit, set_num_threads

from minigrad.kernels.cpu import pool
from minigrad.kernels.cpu.parallel import NoAliasArguments, run_parts


@njit(pipeline_class=NoAliasArguments)
def _scaled_rows(part, parts, x, factor, out):
    rows = x.shape[0]
    for i in range(part * rows // parts, (part + 1) * rows // parts):
        for j in range(x.shape[1]):
            out[i, j] = x[i, j] * factor + part


@njit
def _plain_copy(x, out):
    out[:] = x


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_every_part_runs_once_and_writes_only_its_rows(parts):
    x = np.arange(14 * 3, dtype=np.float32).reshape(14, 3)
    out = np.full_like(x, np.nan)
    run_parts(_scaled_rows, parts, x, np.float32(2.0), out)
    owner = np.concatenate([[part] * ((part + 1) * 14 // parts - part * 14 // parts)
                            for part in range(parts)])
    np.testing.assert_array_equal(out, x * 2 + owner[:, None])


def test_arguments_of_another_type_compile_another_launcher():
    x = np.ones((4, 2), dtype=np.float64)
    out = np.zeros_like(x)
    run_parts(_scaled_rows, 2, x, 0.5, out)
    np.testing.assert_array_equal(out, [[0.5] * 2] * 2 + [[1.5] * 2] * 2)


def _argument_pointers(ir, name):
    """The attributes of each pointer parameter (%arg.*) of the LLVM function Numba emitted for
    `name`."""
    definition = next(line for line in ir.splitlines()
                      if line.startswith("define") and name in line and "cpython" not in line)
    return re.findall(r"ptr([^,%]*)%arg\.", definition)


def test_no_alias_arguments_marks_array_pointers_noalias():
    x = np.ones((4, 2), dtype=np.float32)
    run_parts(_scaled_rows, 1, x, np.float32(1), np.empty_like(x))
    _plain_copy(x, np.empty_like(x))
    marked = _argument_pointers(next(iter(_scaled_rows.inspect_llvm().values())), "_scaled_rows")
    plain = _argument_pointers(next(iter(_plain_copy.inspect_llvm().values())), "_plain_copy")
    assert len(marked) >= 4 and all("noalias" in attributes for attributes in marked), marked
    assert plain and not any("noalias" in attributes for attributes in plain), plain


@pytest.mark.skipif(config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
def test_max_pooling_in_parts_does_not_depend_on_the_thread_count():
    x = np.random.default_rng(0).standard_normal((5, 3, 9, 8)).astype(np.float32)
    x[1, 2, 3, 4] = np.nan
    threads = get_num_threads()
    try:
        set_num_threads(1)
        one = pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
        set_num_threads(2)
        two = pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    finally:
        set_num_threads(threads)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
