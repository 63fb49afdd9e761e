"""Compute kernels: arrays in, arrays out. No Tensor, no autograd."""
