/* state_dict.c — lookup and cleanup for gc_state_dict, shared by every
 * weight loader. Lookup is a linear scan: a few hundred names, done once per
 * parameter while building a network, never in the inference path. */
#include "loaders/state_dict.h"

#include <stdlib.h>
#include <string.h>

const gc_sd_tensor *gc_sd_find(const gc_state_dict *sd, const char *name)
{
    if (!sd || !name)
        return NULL;
    for (int i = 0; i < sd->count; i++)
        if (sd->tensors[i].name && !strcmp(sd->tensors[i].name, name))
            return &sd->tensors[i];
    return NULL;
}

void gc_sd_free(gc_state_dict *sd)
{
    if (!sd)
        return;
    for (int i = 0; i < sd->count; i++) {
        free(sd->tensors[i].name);
        free(sd->tensors[i].data);
    }
    free(sd->tensors);
    sd->tensors = NULL;
    sd->count = 0;
}
