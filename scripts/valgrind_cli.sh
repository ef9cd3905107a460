#!/usr/bin/env bash
# scripts/valgrind_cli.sh BUILD_DIR — runs the gradcam CLI from BUILD_DIR (a
# build without sanitizers and without GC_NATIVE: valgrind cannot run the
# AVX-512 code -march=native may produce; it hides AVX-512 from the CPU
# probe, so the AVX2 kernels run) under Valgrind memcheck on a few real cases:
# explain on an image and on a .npy batch, predict, layers (with the model
# description beside the checkpoint), and two error paths (a hostile pickle,
# an image that is not one). Any memory error or definite leak fails it
# (exit 99 from valgrind); fontconfig's one-off allocations behind cairo's
# text are suppressed (tests/valgrind.supp). Uses the width-1 ResNet seed of
# the fuzz corpus and the reduced-width ResNet-18 parity fixture so each run
# takes seconds. OpenBLAS runs one thread: its thread pool's stacks are not
# ours to free.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/valgrind_cli.sh BUILD_DIR}
gradcam=$build/gradcam
[ -x "$gradcam" ] || { echo "valgrind_cli: no $gradcam (build it first)"; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind_cli: valgrind is not installed"; exit 2; }

tiny=fuzz/corpus/pth/resnet_w1.pth
w8=tests/fixtures/parity/resnet18_w8.pth
photo=tests/fixtures/image/photo.jpg
png=tests/fixtures/image/rgb.png
out=$(mktemp -d "${TMPDIR:-/tmp}/gc_valgrind.XXXXXX")
trap 'rm -rf "$out"' EXIT
# A set wait policy also keeps the CLI from restarting itself (src/cli/main.c),
# which would leave valgrind behind.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

# A float32 [2,3,40,48] batch written without Python: a 10-byte preamble,
# the header dict padded with spaces to byte 128 (length 118 = 0x76), zeros.
hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 40, 48), }"
{ printf '\x93NUMPY\x01\x00\x76\x00%s' "$hdr"; printf '%*s\n' $((128 - 10 - ${#hdr} - 1)) ''
  head -c $((2 * 3 * 40 * 48 * 4)) /dev/zero; } >"$out/x.npy"

vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --track-origins=yes
    --suppressions=tests/valgrind.supp)
failed=0
check() { # NAME EXPECTED_EXIT ARGS...
  local name=$1 want=$2
  shift 2
  "${vg[@]}" "$gradcam" "$@" >"$out/stdout" 2>"$out/stderr"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then
    echo "valgrind ok   $name"
  else
    echo "valgrind FAIL $name: exit $rc, expected $want (99: memcheck found errors)"
    sed -n '1,40p' "$out/stderr"
    failed=1
  fi
}

check "explain image"  0 explain --model "$tiny" --out "$out/o" "$photo" "$png"
check "explain npy"    0 explain --model "$tiny" --method gradcam,layercam --out "$out/o" \
                         --input-npy "$out/x.npy"
check "predict"        0 predict --model "$w8" --top 3 "$photo"
check "layers"         0 layers --model "$w8"
check "hostile pickle" 1 layers --model tests/fixtures/pth/evil_os_system.pth
check "not an image"   1 predict --model "$tiny" tests/fixtures/image/not_an_image.png
exit $failed
