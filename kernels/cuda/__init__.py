"""CUDA kernels (CuPy and Numba-CUDA); imported only by set_device("cuda").

Not written yet: until this table has the CPU table's kernels, loading it fails, so that
set_device("cuda") says so plainly instead of failing inside the first convolution.
"""
raise ImportError("minigrad's CUDA kernels are not written yet; only the CPU backend exists for now")
