# Convenience entry points; the build itself is CMake.
#   make demo   install what is missing, build, explain the sample scenes
#   make test   install what is missing, build, run the whole test suite:
#               plain build, again under AddressSanitizer + UBSan, the CLI
#               under Valgrind, a fuzz smoke run, ThreadSanitizer
# Builds run on any x86-64 and choose their kernels at run time (README,
# "CPU features"); cmake -DGC_NATIVE=ON compiles for this machine only.
JOBS ?= $(shell nproc)

.PHONY: deps test-deps build build-tests build-asan demo test clean

deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh --test

# The demo's build has no test-only package; the tests' build insists on them.
build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
	cmake --build build -j$(JOBS)

build-tests: test-deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGC_BUILD_TESTS=ON
	cmake --build build -j$(JOBS)

build-asan: test-deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGC_SANITIZE=ON -DGC_BUILD_TESTS=ON
	cmake --build build-asan -j$(JOBS)

demo: build
	./build/gradcam explain --model models/shapes.pth --out demo-out examples/scenes/*.png
	@echo "figures written to demo-out/"

test: test-deps build-tests build-asan
	ctest --test-dir build --output-on-failure
	# Under ASan + UBSan: everything but the long PyTorch comparisons, whose
	# code paths the fixture parity, method and malformed-file tests cover,
	# and the data set metrics, report and Slurm runs (the dataset test runs
	# the same CLI code on fewer images).
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  ctest --test-dir build-asan --output-on-failure \
	    -E '^(parity_live|onnx_parity|onnx_windows|cam_methods_extra|cam_methods_onnx|localisation|metrics|report|slurm_shards)$$'
	# Valgrind: the default build (not GC_NATIVE, whose -march=native may
	# emit AVX-512, which valgrind cannot run), with symbols.
	cmake -S . -B build-hard -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGC_BUILD_TESTS=OFF
	cmake --build build-hard -j$(JOBS) --target gradcam
	scripts/valgrind_cli.sh build-hard
	JOBS=$(JOBS) fuzz/run_smoke.sh 20
	# ThreadSanitizer on the concurrency test. OpenBLAS's threads are not
	# instrumented: one thread. libarcher tells TSan about OpenMP's barriers.
	cmake -S . -B build-tsan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  "-DCMAKE_C_FLAGS=-fsanitize=thread -O1 -g" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
	cmake --build build-tsan -j$(JOBS) --target test_threads gradcam
	OPENBLAS_NUM_THREADS=1 OMP_TOOL_LIBRARIES=$$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | head -1) \
	  TSAN_OPTIONS="halt_on_error=1 ignore_noninstrumented_modules=1" build-tsan/tests/test_threads
	# ... and on the CLI's decode / compute / write threads, with a failure
	# in the middle (exit 1 expected, any race report fails).
	OPENBLAS_NUM_THREADS=1 OMP_TOOL_LIBRARIES=$$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | head -1) \
	  TSAN_OPTIONS="halt_on_error=1 ignore_noninstrumented_modules=1 exitcode=66" scripts/tsan_cli.sh build-tsan

clean:
	rm -rf build build-asan build-hard build-fuzz build-tsan demo-out

# make bench         build, then time gradcam against PyTorch on this machine
#                    and print the report (bench/README.md); e.g.
#                    BENCH_ARGS="--quick" for a short run
# make bench-write   the same, and replace bench/README.md's current results
#                    with the report (= make bench WRITE=1, or
#                    BENCH_ARGS="--write")
BENCH_ARGS ?=
WRITE ?=
.PHONY: bench bench-write
bench: build
	/usr/bin/python3 bench/run_bench.py --gradcam build/gradcam $(if $(WRITE),--write) $(BENCH_ARGS)

bench-write:
	$(MAKE) bench WRITE=1

# make bench-ort        build, then time gradcam against ONNX Runtime (CPU) on
#                       eight torchvision models (bench/README.md, "Against
#                       ONNX Runtime"); needs node and npm, and the npm
#                       registry once to fetch onnxruntime-node into build/ort
# make bench-ort-write  the same, and replace that section's results
.PHONY: bench-ort bench-ort-write
bench-ort: build
	/usr/bin/python3 bench/run_ort_bench.py --gradcam build/gradcam $(if $(WRITE),--write) $(BENCH_ARGS)

bench-ort-write:
	$(MAKE) bench-ort WRITE=1
