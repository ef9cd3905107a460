/* weights.c — lookup and cleanup of a model's named tensors. Lookup is a
 * linear scan: a few hundred names, done once per parameter while building
 * a network, never in the inference path. */
#define _DEFAULT_SOURCE /* madvise(MADV_DONTNEED): posix_madvise's is a no-op in glibc */
#include "core/weights.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const gc_sd_tensor *gc_sd_find(const gc_state_dict *sd, const char *name)
{
    if (!sd || !name)
        return NULL;
    for (int i = 0; i < sd->count; i++)
        if (sd->tensors[i].name && !strcmp(sd->tensors[i].name, name))
            return &sd->tensors[i];
    return NULL;
}

void gc_sd_drop_data(gc_sd_tensor *t)
{
    if (t->borrowed && t->data) {
        /* The whole pages inside the tensor: a private file mapping's
         * pages dropped this way leave the process's memory. */
        const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        const uintptr_t lo = ((uintptr_t)t->data + page - 1) / page * page;
        const uintptr_t hi = ((uintptr_t)(t->data + t->numel)) / page * page;
        if (hi > lo)
            madvise((void *)lo, hi - lo, MADV_DONTNEED);
    } else {
        free(t->data);
    }
    t->data = NULL;
    t->borrowed = 0;
}

void gc_sd_free(gc_state_dict *sd)
{
    if (!sd)
        return;
    for (int i = 0; i < sd->count; i++) {
        free(sd->tensors[i].name);
        if (!sd->tensors[i].borrowed)
            free(sd->tensors[i].data);
    }
    free(sd->tensors);
    if (sd->map)
        munmap(sd->map, sd->map_len);
    sd->tensors = NULL;
    sd->count = 0;
    sd->map = NULL;
    sd->map_len = 0;
}
