"""What each CPU benchmark prints first, so that a figure says where it ran: the CPU model and its
widest vector ISA, the BLAS NumPy calls (and the core OpenBLAS picked for this CPU), PyTorch's CPU
capability, Numba's
threading layer and the thread counts."""
import ctypes
import os
import platform
import re

OPENBLAS_PREFIXES = ("scipy_openblas_", "openblas_")


def share_openmp_cores():
    """Before either library loads: the OpenMP policy minigrad sets for itself when its CPU kernels
    are imported (kernels/cpu/__init__.py), for both runtimes in the process (Numba's and
    PyTorch's). Idle workers spin for about 0.1 ms, then sleep: spinning for long, as by default,
    they would take the cores the other library needs; sleeping at once, each parallel region
    waits for its workers to wake, which on a KVM guest costs tens of microseconds (README,
    Benchmarks) and taxed PyTorch, whose steps hold more parallel regions, more than minigrad. A
    wait policy set by the caller wins."""
    import minigrad.kernels.cpu  # noqa: F401


def cpu_line(threads):
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        fields = dict(line.split(":", 1) for line in info.split("\n\n")[0].splitlines()
                      if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        # the family and model tell the generations apart where the name does not ("AMD EPYC")
        model = (f"{fields['model name']}, family {fields.get('cpu family', '?')} model "
                 f"{fields.get('model', '?')}")
        isa = "AVX-512" if "avx512f" in info else "AVX2" if "avx2" in info else "SSE"
    except (OSError, KeyError):
        isa = "?"
    return f"CPU: {model} ({isa}), {threads} threads"


def _openblas(function, restype):
    """OpenBLAS's `function` (get_corename, get_num_threads) from the library NumPy loaded."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read())))
    except OSError:
        return "?"
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in (p + function + suffix for p in OPENBLAS_PREFIXES for suffix in ("64_", "")):
            found = getattr(library, symbol, None)
            if found is not None:
                found.restype = restype
                return found()
    return "?"


def _numba_layer():
    """Numba's threading layer, known once a parallel kernel has run: minigrad's relu runs one."""
    import numba
    import numpy as np

    from minigrad.kernels import cpu
    cpu.relu_forward(np.ones(1 << 16, np.float32))
    try:
        return numba.threading_layer()
    except ValueError:
        return numba.config.THREADING_LAYER


def machine_lines(threads):
    """The lines: CPU and ISA; NumPy's BLAS and its core, PyTorch's CPU capability; Numba."""
    import numba
    import numpy as np

    layer = _numba_layer()  # first: loading minigrad's kernels sets OpenBLAS's threads
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    lines = [cpu_line(threads),
             f"BLAS: NumPy's {blas.get('name', '?')} {blas.get('version', '')}, core "
             f"{_openblas('get_corename', ctypes.c_char_p).decode()}"
             f"{' (OPENBLAS_CORETYPE set)' if 'OPENBLAS_CORETYPE' in os.environ else ''}, "
             f"{_openblas('get_num_threads', ctypes.c_int)} thread(s)"]
    try:
        import torch
        lines.append(f"PyTorch {torch.__version__}: CPU capability "
                     f"{torch.backends.cpu.get_cpu_capability()}, oneDNN "
                     f"{'on' if torch.backends.mkldnn.is_available() else 'off'}, "
                     f"{torch.get_num_threads()} threads")
    except ImportError:
        pass
    lines.append(f"Numba {numba.__version__}: threading layer {layer}, "
                 f"{numba.get_num_threads()} threads, OMP_WAIT_POLICY="
                 f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}, GOMP_SPINCOUNT="
                 f"{os.environ.get('GOMP_SPINCOUNT', 'unset')}")
    return lines
