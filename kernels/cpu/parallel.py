"""run_parts: a serial kernel's parts on Numba's threads, without compiling the kernel into a
parallel one.

A prange loop (parallel=True) is compiled into a gufunc, which Numba then links, with everything
it calls, into the library of the kernel that runs it: a large loop body is compiled to machine
code three to four times, and typed twice. For the direct convolution (conv_direct.py) that was
most of a LeNet step's cold compile. Here the kernel is a plain @njit function
`kernel(part, parts, *args)` that does part `part` of `parts`, compiled once and called on Numba's
OpenMP threads through a function pointer (a first-class function: Numba's
WrapperAddressProtocol), so the parallel launcher, one call in a prange loop, holds none of the
kernel's code and compiles in a fraction of the time. The threads are those of the parallel=True
kernels: the same start-up cost per call, well under Python threads' wake-up.

The launcher releases the GIL: a kernel that raised would take it to report the error (as an
unraisable exception: a first-class function cannot raise) and must not wait for it.

A kernel run in parts is compiled with `pipeline_class=NoAliasArguments`: its array arguments are
marked noalias, as Numba marks a prange loop's: without it LLVM must assume a store to an output
may change an input, and max pooling's loops ran slower than as a prange loop (README, Start-up).
"""
import numpy as np
from numba import njit, prange, typeof
from numba.core import types
from numba.core.compiler import Compiler


class NoAliasArguments(Compiler):
    """Numba's nopython pipeline, promising LLVM that no two array arguments overlap where one of
    them is written: true of run_parts kernels, whose arguments are distinct arrays."""

    def define_pipelines(self):
        self.state.flags.noalias = True
        return super().define_pipelines()

@njit(inline="always")
def part_range(part, parts, count):
    """The items [lo, hi) of `count` that part `part` of `parts` owns: contiguous, in order."""
    return part * count // parts, (part + 1) * count // parts


_ARRAY_FLAGS = 0x1 | 0x2 | 0x100 | 0x400  # C, F contiguous, aligned, writeable: what typeof reads


@njit(parallel=True, nogil=True, cache=True)
def _launch(kernel, parts, args):
    for part in prange(parts):
        kernel(np.int64(part), parts, *args)  # the gufunc's index is unsigned


_launchers = {}


def _key(kernel, args):
    return (kernel,) + tuple((a.dtype, a.ndim, a.flags.num & _ARRAY_FLAGS)
                             if isinstance(a, np.ndarray) else type(a) for a in args)


def run_parts(kernel, parts, *args):
    """kernel(part, parts, *args) for part in range(parts), in parallel; each part must own what it
    writes. Arguments: arrays, ints, floats, bools (as for any @njit call); arrays that one part
    writes must not overlap any other argument (see NoAliasArguments)."""
    key = _key(kernel, args)
    launcher = _launchers.get(key)
    if launcher is None:  # typing the arguments costs microseconds each: once per key
        signature = (types.int64, types.int64) + tuple(typeof(a) for a in args)
        kernel.compile(signature)
        function = types.CompileResultWAP(kernel.overloads[signature])
        # the compiled entry point: called without the dispatcher's typing of the argument tuple
        entry = _launch.compile((typeof(function), types.int64, typeof(args)))
        launcher = _launchers[key] = (function, entry)
    function, entry = launcher
    entry(function, parts, args)
