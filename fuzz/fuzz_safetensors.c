/* fuzz_safetensors.c — libFuzzer target: a whole .safetensors file through
 * gc_safetensors_load_memory, and whatever loads handed on to the ResNet
 * builder, as gc_model_load would. Checks that every tensor it returns is
 * self-consistent and readable end to end. */
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "fuzz_common.h"
#include "loaders/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_error err;
    gc_state_dict sd;
    gc_status st = gc_safetensors_load_memory(data, size, "fuzz.safetensors", &sd, &err);
    fz_check(st, &err);
    if (st != GC_OK) {
        if (sd.count || sd.tensors)
            abort(); /* a failed load must leave the output empty */
        return 0;
    }
    for (int i = 0; i < sd.count; i++) {
        const gc_sd_tensor *t = &sd.tensors[i];
        int64_t n = 1;
        for (int d = 0; d < t->ndim; d++)
            n *= t->shape[d];
        if (!t->name || t->ndim < 0 || t->ndim > GC_MAX_DIMS || n != t->numel || !t->data ||
            (uint64_t)n > (uint64_t)size || !strncmp(t->name, "module.", 7) ||
            gc_sd_find(&sd, t->name) != t)
            abort(); /* each element takes a byte at least; names are unique and stripped */
        volatile float sink = n ? t->data[0] + t->data[n - 1] : 0; /* in bounds? */
        (void)sink;
    }
    gc_model *m = calloc(1, sizeof *m);
    if (!m) {
        gc_sd_free(&sd);
        return 0;
    }
    m->weights = sd;
    fz_check(gc_resnet_build(m, "fuzz.safetensors", &err), &err);
    gc_model_free(m);
    return 0;
}
