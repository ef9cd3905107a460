/* registry.h — the model formats gradcam reads, as one table: how each is
 * recognised from a file's first bytes, and how it is loaded into a
 * model. gc_model_load (registry.c) walks it; adding a format is one
 * entry there. */
#ifndef GC_LOADERS_REGISTRY_H
#define GC_LOADERS_REGISTRY_H

#include "core/model.h"

#include <stddef.h>

/* How many leading bytes a sniffer is shown (fewer if the file is shorter). */
#define GC_SNIFF_BYTES 16

typedef struct gc_loader {
    const char *name; /* as users know the format: "ONNX", "safetensors" */
    /* Whether a file starting with these n bytes is in this format. */
    int (*sniff)(const unsigned char *head, size_t n);
    /* Fills m's weights and graph from the file (m is freshly zeroed);
     * opt is never NULL. */
    gc_status (*load)(gc_model *m, const char *path, const gc_load_options *opt,
                      gc_error *err);
} gc_loader;

/* The loader for a file with these first bytes: the first whose sniffer
 * accepts them (the table's last entry, .pth, accepts anything). */
const gc_loader *gc_loader_for(const unsigned char *head, size_t n);

#endif
