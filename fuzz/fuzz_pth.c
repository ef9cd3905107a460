/* fuzz_pth.c — libFuzzer target: a whole .pth checkpoint (zip or legacy
 * torch.save) through gc_pth_load_memory, and whatever loads handed on to
 * the ResNet builder, as gc_model_load would. */
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "fuzz_common.h"
#include "loaders/pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_error err;
    gc_state_dict sd;
    gc_status st = gc_pth_load_memory(data, size, "fuzz.pth", &sd, &err);
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
        if (!t->name || t->ndim < 0 || t->ndim > GC_MAX_DIMS || n != t->numel ||
            (n && !t->data))
            abort();
        volatile float sink = n ? t->data[0] + t->data[n - 1] : 0; /* in bounds? */
        (void)sink;
    }
    gc_model *m = calloc(1, sizeof *m);
    if (!m) {
        gc_sd_free(&sd);
        return 0;
    }
    m->weights = sd;
    fz_check(gc_resnet_build(m, "fuzz.pth", &err), &err);
    gc_model_free(m);
    return 0;
}
