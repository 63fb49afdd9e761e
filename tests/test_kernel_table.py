"""Both kernel tables implement exactly the kernels kernels/table.py declares, with its parameters.
The CPU table is inspected; the CUDA table is read from its source (it imports CuPy, which this
machine need not have), so both are checked in every run."""
import ast
import inspect
import pathlib
import types

import pytest

import minigrad.kernels.cpu as cpu_table
from minigrad.device import Backend, Device
from minigrad.kernels import table

CUDA_DIR = pathlib.Path(table.__file__).parent / "cuda"


def declared():
    return {name: list(inspect.signature(getattr(table, name)).parameters) for name in table.NAMES}


def test_the_table_declares_each_kernel_with_a_docstring():
    assert len(table.NAMES) >= 20 and "relu_max_pool2d_forward" in table.NAMES
    for name in table.NAMES:
        assert inspect.getdoc(getattr(table, name)), name


def test_cpu_table_matches_the_declaration():
    assert sorted(cpu_table.__all__) == sorted(table.NAMES)
    for name, parameters in declared().items():
        assert list(inspect.signature(getattr(cpu_table, name)).parameters) == parameters, name


def _cuda_definitions():
    """{kernel name: its parameter names} of what kernels/cuda/__init__.py imports, read from the
    modules' top-level defs."""
    init = ast.parse((CUDA_DIR / "__init__.py").read_text())
    found = {}
    for node in init.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            module = ast.parse((CUDA_DIR / f"{node.module}.py").read_text())
            defs = {d.name: d for d in module.body if isinstance(d, ast.FunctionDef)}
            for alias in node.names:
                args = defs[alias.name].args
                found[alias.asname or alias.name] = [a.arg for a in args.posonlyargs + args.args]
    return found


def test_cuda_table_matches_the_declaration():
    assert _cuda_definitions() == declared()
    assert "__all__ = list(NAMES)" in (CUDA_DIR / "__init__.py").read_text()


def test_the_op_layer_sees_only_declared_kernels():
    kernels = Backend(Device("cpu"), None, cpu_table).kernels
    assert sorted(vars(kernels)) == sorted(table.NAMES)
    assert not hasattr(kernels, "keep_freed_memory")


def test_a_table_that_lacks_a_kernel_is_refused():
    partial = types.ModuleType("partial_table")
    partial.matmul = lambda a, b: a @ b
    with pytest.raises(ImportError, match=r"partial_table lacks the kernels \['conv2d_forward'"):
        table.bind(partial)
