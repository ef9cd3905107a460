/* state_dict.h — a flat list of named float32 tensors, what every weight
 * loader (.pth, safetensors) produces and every architecture builder reads.
 * Tensors are dense and C-ordered here whatever their layout in the file;
 * integer buffers (num_batches_tracked) are converted to float too. */
#ifndef GC_LOADERS_STATE_DICT_H
#define GC_LOADERS_STATE_DICT_H

#include "gradcam.h"

typedef struct gc_sd_tensor {
    char *name;                   /* "layer1.0.conv1.weight"            */
    int ndim;                     /* 0 for a scalar                     */
    int64_t shape[GC_MAX_DIMS];
    int64_t numel;
    float *data;                  /* numel floats, owned                */
} gc_sd_tensor;

typedef struct gc_state_dict {
    gc_sd_tensor *tensors;
    int count;
} gc_state_dict;

/* Loads a state_dict saved by torch.save, zip (torch >= 1.6) or legacy
 * format, detected by content. Accepts a bare state_dict or one nested under
 * "state_dict" / "model" in a dict; strips a leading "module." (DataParallel).
 * Never executes anything: the unpickler knows only the opcodes and globals
 * a state_dict needs and rejects everything else, naming it. lim may be
 * NULL (the defaults); over its max_weight_bytes is GC_ERR_LIMIT. */
gc_status gc_pth_load(const char *path, const gc_limits *lim, gc_state_dict *out,
                      gc_error *err);

/* NULL if absent. */
const gc_sd_tensor *gc_sd_find(const gc_state_dict *sd, const char *name);
void gc_sd_free(gc_state_dict *sd);

#endif
