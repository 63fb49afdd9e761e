#!/usr/bin/env bash
# Everything a session with a lent GPU runs, in one call (the device machine starts bare each time):
# versions, the install, the GPU test suite, the GPU benchmark and the demo on cuda. Logs go to $OUT
# when it is set (the device tool), else to ./gpu-logs.
#   bash benchmarks/gpu_checks.sh [pytest args...]   e.g.  -k "conv2d or lenet"
# Environment: TEST_SECONDS (330), BENCH_SECONDS (200) and REPEATS (10) bound each part;
# SKIP_BENCH=1 and SKIP_DEMO=1 leave parts out. On the lent H100 image (NumPy 2.5) carry a NumPy 2.4
# wheel in .whl/ (see setup.cfg's cuda extra for why).
set -u
export PYTHONUNBUFFERED=1
LOGS=${OUT:-gpu-logs}
mkdir -p "$LOGS"
# Wheels carried in .whl/ (e.g. numpy<2.5: numba-cuda 0.30.4 fails on numpy 2.5, which lacks np.row_stack)
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import sys, numpy, numba, numba_cuda, cupy, torch; print('python', sys.version.split()[0], 'numpy', numpy.__version__, 'numba', numba.__version__, 'numba-cuda', numba_cuda.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__)"
python3 -m pip install -q --no-deps --no-build-isolation -e . >"$LOGS/install.log" 2>&1 || { cat "$LOGS/install.log"; exit 1; }
timeout "${TEST_SECONDS:-330}" python3 -m pytest -m gpu -q --tb=short -p no:cacheprovider "$@" 2>&1 \
    | tee "$LOGS/gpu_tests.log" | grep -E "passed|failed|error|^FAILED|^ERROR" | tail -40
[ "${SKIP_BENCH:-0}" = 1 ] || timeout "${BENCH_SECONDS:-200}" python3 benchmarks/bench_gpu.py \
    --repeats "${REPEATS:-10}" 2>&1 | tee "$LOGS/bench_gpu.log"
[ "${SKIP_DEMO:-0}" = 1 ] || timeout 120 python3 demos/mnist_lenet.py --device cuda --epochs 2 2>&1 \
    | tr '\r' '\n' | grep -E "^epoch [0-9]+:|^test|Error|error" | tee "$LOGS/demo.log"
