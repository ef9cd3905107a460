#!/usr/bin/env bash
# fuzz/run_smoke.sh SECONDS [TARGET...] — builds the libFuzzer targets (in
# build-fuzz, clang + ASan + UBSan) if needed and runs each for SECONDS on a
# scratch copy of its seed corpus, so the repository is never modified.
# Fails on the first crash, leak, timeout or out-of-memory; the reproducer
# is left in the scratch directory printed at the end. BUILD_DIR overrides
# the build directory, JOBS the build parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(pth pickle npy image description model onnx safetensors)
build=${BUILD_DIR:-build-fuzz}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/gc_fuzz_smoke.XXXXXX")
if ! { [ -f "$build/CMakeCache.txt" ] ||
       cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
         -DGC_FUZZ=ON -DGC_SANITIZE=ON -DGC_BUILD_TESTS=OFF; } >"$scratch/build.log" 2>&1 ||
   ! cmake --build "$build" -j"${JOBS:-$(nproc)}" \
       --target $(printf 'fuzz_%s ' "${targets[@]}") >>"$scratch/build.log" 2>&1; then
  tail -30 "$scratch/build.log"
  echo "run_smoke: building the fuzz targets failed (log: $scratch/build.log)"
  exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=1
status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t/corpus" "$scratch/$t/artifacts"
  cp fuzz/corpus/"$t"/* "$scratch/$t/corpus/"
  log="$scratch/$t/log"
  # -rss_limit_mb: the library's own caps (4 GiB of tensor output) are above
  # what a smoke run should use; an input that needs more is reported.
  if "$build/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=3072 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$scratch/$t/artifacts/" \
      "$scratch/$t/corpus" >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
    echo "fuzz_$t: ok, $execs runs in ${secs}s, $cov coverage points"
  else
    echo "fuzz_$t: FAILED (log and reproducer in $scratch/$t)"
    grep -E 'ERROR|SUMMARY|runtime error|contract' "$log" | head -5 || true
    status=1
  fi
done
[ $status -eq 0 ] && rm -rf "$scratch"
exit $status
