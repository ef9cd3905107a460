/* fuzz_image.c — libFuzzer target: gc_image_load (JPEG or PNG by content)
 * on a file holding the input, then, for images of modest size, both
 * preprocessing modes, which resize from whatever shape was decoded. */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_path("in.img");
    fz_write(path, data, size);
    gc_error err;
    gc_image img;
    gc_status st = gc_image_load(path, &img, &err);
    fz_check(st, &err);
    if (st != GC_OK) {
        if (img.pixels)
            abort(); /* nothing handed out on failure */
        return 0;
    }
    if (img.width <= 0 || img.height <= 0 || !img.pixels)
        abort();
    volatile unsigned char sink =
        img.pixels[(size_t)img.width * (size_t)img.height * 3 - 1];
    (void)sink;
    if ((long long)img.width * img.height <= (1 << 20)) {
        float x[3 * 16 * 16];
        gc_preprocess p = gc_preprocess_imagenet();
        p.size = 16;
        for (int mode = 0; mode < 2; mode++) {
            p.mode = mode ? GC_PREPROCESS_CROP : GC_PREPROCESS_STRETCH;
            fz_check(gc_image_to_tensor(&img, &p, x, &err), &err);
        }
    }
    gc_image_free(&img);
    return 0;
}
