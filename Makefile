# Two entry points for a fresh machine (Python 3.11, nothing installed):
#   make run   - set up .venv, build, run `vision-ext bench --quick`
#   make test  - set up .venv, build, run the test suite and the CUDA compile check
# Opt-in: make fuzz (long property-based run), make sanitize (ASan + UBSan build running the op tests)
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
PIP     := $(VPY) -m pip
STAMP   := $(VENV)/.deps-stamp
SOURCES := $(shell find csrc -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh') setup.py
EXT     := $(VENV)/.ext-stamp
JOBS    ?= 2

.PHONY: run test deps build pytest pytest-levels cuda-check aarch64-check bench fuzz sanitize clean

run: build
	$(VENV)/bin/vision-ext bench --quick

test: build
	$(MAKE) pytest
	$(MAKE) cuda-check
	$(MAKE) aarch64-check

$(VPY):
	$(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first and alone: torch==2.13.0 (a CPU wheel already on our machines)
# unless some torch is already importable, so no later line can pull another.
$(STAMP): requirements.txt | $(VPY)
	$(VPY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	touch $@

deps: $(STAMP)

# Editable install (console script + in-place _C); ninja keeps rebuilds incremental.
$(EXT): $(STAMP) $(SOURCES)
	MAX_JOBS=$(JOBS) $(PIP) install -q --no-build-isolation --no-deps -e .
	$(VPY) -c "import vision_ext, json; print(json.dumps(vision_ext.build_info()))"
	touch $@

build: $(EXT)

pytest: build
	$(VPY) -m pytest -q -p no:cacheprovider tests
	$(MAKE) pytest-levels

# The op and feature tests again at every other CPU kernel level this machine can run (runtime
# dispatch: all three levels on an AVX-512 machine, default and avx2 on an AVX2 one).
pytest-levels: build
	@for level in $$($(VPY) -c "import vision_ext as v; print(*[l for l in v.build_info()['cpu_capabilities_supported'] if l != v.cpu_capability()])"); do \
	  echo "== op tests at CPU level $$level"; \
	  VISION_EXT_CPU_CAPABILITY=$$level $(VPY) -m pytest -q -p no:cacheprovider tests/ops tests/features || exit 1; \
	done

# Compile every torch-free CUDA kernel with nvcc (sm_80, sm_90) and run the
# host ctest of the shared headers. Needs nvcc and cmake, not a GPU.
cuda-check: deps
	cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release \
	  -DTORCH_INCLUDE_DIRS="$$($(VPY) -c 'import sysconfig, torch.utils.cpp_extension as c; print(";".join(c.include_paths() + [sysconfig.get_paths()["include"]]))')" > /dev/null
	cmake --build build-cuda -j $(JOBS)
	ctest --test-dir build-cuda --output-on-failure
	@# The same host ctests under valgrind memcheck: any invalid read/write, uninitialised use or leak fails.
	set -e; for t in $$(ctest --test-dir build-cuda -N | sed -n 's/^ *Test *#[0-9]*: //p'); do \
	  echo "valgrind $$t"; valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite -q build-cuda/$$t; done

# The fuzz tests (tests/fuzz) with many more examples than CI's bounded run.
FUZZ_EXAMPLES ?= 2000
fuzz: build
	VE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VPY) -m pytest -q -p no:cacheprovider tests/fuzz

# The extension built with AddressSanitizer + UndefinedBehaviorSanitizer into build-sanitize/ (a copy of the
# package, so the normal in-place build stays), then the op tests against it with the ASan runtime preloaded
# into Python. Any report fails the run. SANITIZE_TESTS picks the tests (default the op tests and fuzzers).
SAN_DIR        := build-sanitize
SAN_FLAGS      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANITIZE_TESTS ?= tests/ops tests/fuzz
sanitize: deps
	rm -rf $(SAN_DIR)/pkg && mkdir -p $(SAN_DIR)/pkg && cp -r vision_ext $(SAN_DIR)/pkg/
	rm -f $(SAN_DIR)/pkg/vision_ext/_C*.so
	CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" MAX_JOBS=$(JOBS) \
	  $(VPY) setup.py -q build_ext --build-temp $(SAN_DIR)/tmp --build-lib $(SAN_DIR)/pkg
	LD_PRELOAD="$$($(CXX) -print-file-name=libasan.so) $$($(CXX) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:alloc_dealloc_mismatch=0:new_delete_type_mismatch=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PYTHONPATH=$(SAN_DIR)/pkg \
	  $(VPY) -m pytest -q -p no:cacheprovider -x $(SANITIZE_TESTS)

# The CPU code for aarch64 (Apple silicon, Graviton): every per-level kernel at the portable level
# (NEON) compiled, and the CPU glue type-checked against the torch headers, with Debian's cross
# compiler (apt-get install g++-aarch64-linux-gnu) where it is installed.
AARCH64_CXX ?= aarch64-linux-gnu-g++
# The cross compiler comes from Debian (g++-aarch64-linux-gnu) where this runs as root with apt,
# so a fresh CI machine checks aarch64 instead of skipping it.
aarch64-check: deps
	@if ! command -v $(AARCH64_CXX) >/dev/null && [ "$(AARCH64_CXX)" = aarch64-linux-gnu-g++ ] \
	    && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "aarch64-check: installing g++-aarch64-linux-gnu"; \
	  apt-get install -y -q g++-aarch64-linux-gnu >/dev/null 2>&1 \
	    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q g++-aarch64-linux-gnu >/dev/null 2>&1; } || true; \
	fi
	@if command -v $(AARCH64_CXX) >/dev/null; then \
	  inc="$$($(VPY) -c 'import sysconfig, torch.utils.cpp_extension as c; print(" ".join("-isystem " + p for p in c.include_paths() + [sysconfig.get_paths()["include"]]))')"; \
	  for f in csrc/ops/cpu/simd/*.cpp; do \
	    $(AARCH64_CXX) -O3 -std=c++20 -fPIC -ffp-contract=off -fopenmp-simd -Wall -Werror -Icsrc/include -DVE_CPU_NS=base -c $$f -o /dev/null || exit 1; \
	  done; \
	  for f in csrc/module.cpp csrc/ops/*.cpp csrc/ops/cpu/*.cpp; do \
	    $(AARCH64_CXX) -fsyntax-only -std=c++20 -fopenmp -Wall -Wno-unknown-pragmas $$inc -Icsrc/include $$f || exit 1; \
	  done; \
	  echo "aarch64-check: every CPU source compiles for aarch64"; \
	else echo "aarch64-check: skipped ($(AARCH64_CXX) not installed)"; fi

bench: build
	$(VPY) -m pytest benchmarks --benchmark-only -q

clean:
	rm -rf build build-cuda $(SAN_DIR) *.egg-info vision_ext/_C*.so $(EXT)
