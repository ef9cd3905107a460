/* fuzz_onnx.c — libFuzzer target: a whole .onnx protobuf through
 * gc_onnx_load_memory (decoding, operator conversion, layer naming). When
 * a model loads, every layer's shape is asked for and, if its input is
 * small, one Grad-CAM runs, so a graph the loader should have refused
 * shows up as an out-of-bounds access. External data files are looked up
 * beside the label, in a scratch directory that holds none. */
#include <stdlib.h>

#include "core/model.h"
#include "fuzz_common.h"
#include "loaders/onnx.h"

static void run_model(const gc_model *m)
{
    gc_error err;
    gc_preprocess p = gc_model_preprocess(m);
    int side = p.size > 0 && p.size <= 64 ? p.size : 32;
    for (int i = 0; i < gc_model_num_layers(m); i++) {
        int shape[3], nd;
        fz_check(gc_model_layer_shape(m, i, side, side, shape, &nd, &err), &err);
    }
    gc_session *s;
    gc_status st = gc_session_new(m, &s, &err);
    fz_check(st, &err);
    if (st != GC_OK)
        return;
    float *x = calloc((size_t)3 * side * side, sizeof *x);
    if (x) {
        for (int i = 0; i < 3 * side * side; i++)
            x[i] = (float)(i % 17) / 8.0f - 1.0f;
        gc_request req = {.class_index = GC_CLASS_TOP1};
        gc_result r;
        st = gc_explain(s, x, 1, side, side, &req, &r, &err);
        fz_check(st, &err);
        if (st == GC_OK)
            gc_result_free(&r);
    }
    free(x);
    gc_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_model *m = calloc(1, sizeof *m);
    if (!m)
        return 0;
    gc_error err;
    gc_status st = gc_onnx_load_memory(m, data, size, fz_path("fuzz.onnx"), NULL, &err);
    fz_check(st, &err);
    if (st == GC_OK)
        run_model(m);
    gc_model_free(m);
    return 0;
}
