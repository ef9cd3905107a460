#!/bin/sh
# check_isa.sh — fails if any object file under the given CMake object
# folders, outside src/ops/x86/, contains an instruction on a ymm or zmm
# register: the portable build's promise that only the ISA-specific kernel
# files (chosen at run time, src/ops/cpu.c) use AVX. It also fails if the
# x86 kernel objects show no such register, since then the pattern, or
# the build, is not what this script thinks. Deliberately not a check of
# xmm instructions (SSE2 is baseline x86-64) or of linked libraries.
# Usage: check_isa.sh SRCDIR OBJDIR... (e.g. . build/CMakeFiles/gradcam_lib.dir)
# An object whose source file no longer exists (left in an old build
# folder after a file moved) is not part of the build and is skipped.
set -eu
srcdir=$1
shift
command -v objdump >/dev/null || { echo "check_isa: objdump not found" >&2; exit 1; }
wide='%[yz]mm[0-9]'
bad=0 kernels=0 checked=0
for dir in "$@"; do
  for obj in $(find "$dir" -name '*.o' | sort); do
    src="$srcdir/${obj#"$dir"/}"
    [ -e "${src%.o}" ] || continue
    case "$obj" in
    */src/ops/x86/*)
      if objdump -d --no-show-raw-insn "$obj" | grep -q "$wide"; then
        kernels=$((kernels + 1))
      fi ;;
    *)
      checked=$((checked + 1))
      hits=$(objdump -d --no-show-raw-insn "$obj" | grep -c "$wide" || true)
      if [ "$hits" -gt 0 ]; then
        echo "check_isa: $obj: $hits instructions on ymm/zmm registers, e.g.:"
        objdump -d --no-show-raw-insn "$obj" | grep "$wide" | head -3
        bad=$((bad + 1))
      fi ;;
    esac
  done
done
echo "check_isa: $checked objects outside src/ops/x86 checked, $bad with ymm/zmm;" \
     "$kernels x86 kernel objects use them"
[ "$checked" -gt 0 ] || { echo "check_isa: no objects found" >&2; exit 1; }
[ "$kernels" -gt 0 ] || { echo "check_isa: the x86 kernels show no ymm/zmm" >&2; exit 1; }
[ "$bad" -eq 0 ]
