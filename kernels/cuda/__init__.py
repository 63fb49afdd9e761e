"""CUDA kernels (CuPy and Numba-CUDA); imported only by set_device("cuda")."""
