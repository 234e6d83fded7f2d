#!/usr/bin/env bash
# Everything a session with a lent GPU should run, in one call of the device tool (about 15 minutes
# on an H100): build for sm_90, the CUDA tests, compute-sanitizer memcheck on the op tests, and the
# GPU benchmarks of every family. Logs and bench.json land in $OUT (default results/gpu).
#
# Peers missing on the GPU image (diffusers, kornia) travel as wheels: here, once,
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#       -d .whl diffusers==0.42.1 importlib_metadata kornia==0.9.0 kornia_rs
# then call the device tool with carry [".whl"] and the command `bash benchmarks/gpu_session.sh`.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-results/gpu}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}" MAX_JOBS="${MAX_JOBS:-16}"
status=0

if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/device.txt"
python3 -m pip install --no-build-isolation --no-deps -e . >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
python3 -c "import torch, vision_ext, json; print(torch.__version__, torch.version.cuda); \
print(json.dumps(vision_ext.build_info()))" | tee -a "$OUT/device.txt"

# 1. The CUDA test cases (the same files CI runs; CI skips these for want of a GPU).
python3 -m pytest -q -p no:cacheprovider -m cuda tests 2>&1 | tee "$OUT/cuda_tests.log" | tail -30 || status=1

# 2. Out-of-bounds and uninitialised accesses in our kernels: memcheck over the op tests' CUDA cases.
timeout 300 compute-sanitizer --tool memcheck --error-exitcode 9 \
  python3 -m pytest -q -p no:cacheprovider -m cuda tests/ops 2>&1 | tee "$OUT/memcheck.log" | tail -15 || status=1

# 3. GPU benchmarks, every family, peers side by side (one run; ratios go to benchmarks/RESULTS.md).
python3 -m vision_ext.cli bench --device cuda --out "$OUT/bench" 2>&1 | tee "$OUT/bench.log" | tail -40 || status=1
exit $status
