"""Runs tests/cuda_sim_cases.py (the CUDA kernel table against the CPU table and torch) under Numba's
CUDA simulator, in a child process: NUMBA_ENABLE_CUDASIM must be set before numba.cuda is first
imported and holds for the whole process, and this process must keep the real numba.cuda for the GPU
tests (tests/test_gpu.py) where there is a GPU. No GPU is needed."""
import os
import subprocess
import sys

import pytest

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cuda_sim_cases.py")


def test_cuda_kernel_table_under_the_simulator():
    pytest.importorskip("torch")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", CASES],
                            capture_output=True, text=True, env=env, timeout=600)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout and "skipped" not in result.stdout.splitlines()[-1], report
