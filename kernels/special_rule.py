"""The error function family on one float, shared by the CPU and the CUDA kernels, which each
compile these rules (numba.njit / numba.cuda.jit(device=True)) and apply them to every element.
Plain Python on floats: math.erf and math.erfc compile on both targets."""
import math

TWO_OVER_SQRT_PI = 1.1283791670955126
MAX_STEPS = 8


def erf_rule(x):
    return math.erf(x)


def erfc_rule(x):
    return math.erfc(x)


def erfinv_rule(y):
    """The x with erf(x) = y: nan outside [-1, 1] (and for nan), +-inf at +-1. The guess is refined
    by Halley steps (cubic convergence: two reach float64 accuracy from 1e-7; the far tail, past
    the guess's range, takes a few more). Past |y| = 0.5 the steps solve
    erfc(x) = 1 - |y| instead, which keeps the relative accuracy of 1 - |y| in the tails."""
    if math.isnan(y) or y < -1.0 or y > 1.0:
        return math.nan
    if y == 1.0 or y == -1.0:
        return math.copysign(math.inf, y)
    if y == 0.0:
        return y  # keeps the sign of -0.0
    a = abs(y)
    # the first guess, good to about 1e-7: M. Giles's polynomials in w = -log(1 - a^2), one for
    # the centre and one for the tails
    w = -math.log((1.0 - a) * (1.0 + a))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    x = p * a
    for _ in range(MAX_STEPS):
        slope = TWO_OVER_SQRT_PI * math.exp(-x * x)
        if a <= 0.5:
            ratio = (math.erf(x) - a) / slope
        else:
            ratio = ((1.0 - a) - math.erfc(x)) / slope
        step = ratio / (1.0 + x * ratio)
        x -= step
        if abs(step) <= 1e-12 * x:  # converged: the next step would be below rounding
            break
    return math.copysign(x, y)
