/* fuzz_npy.c — libFuzzer target: gc_npy_read on a file holding the input
 * (the reader takes a path, so the input goes through a scratch file). */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_path("in.npy");
    fz_write(path, data, size);
    gc_error err;
    gc_array a;
    gc_status st = gc_npy_read(path, &a, &err);
    fz_check(st, &err);
    if (st == GC_OK) {
        int64_t n = gc_array_numel(&a);
        if (a.ndim < 0 || a.ndim > GC_MAX_DIMS || n < 0 || (uint64_t)n > size)
            abort(); /* no element can come from nowhere */
        volatile float sink = n ? a.data[0] + a.data[n - 1] : 0;
        (void)sink;
        gc_array_free(&a);
    }
    return 0;
}
