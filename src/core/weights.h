/* weights.h — a flat list of named float32 tensors: what a model owns and
 * its graph borrows. Every weight loader (.pth, safetensors, ONNX
 * initialisers' storage aside) fills one and every architecture builder
 * reads it. Tensors are dense and C-ordered here whatever their layout in
 * the file; integer buffers (num_batches_tracked) are converted to float
 * too. Tensors may lie in a mapped file (borrowed) rather than on the heap. */
#ifndef GC_CORE_WEIGHTS_H
#define GC_CORE_WEIGHTS_H

#include "gradcam.h"

#include <stddef.h>

typedef struct gc_sd_tensor {
    char *name;                   /* "layer1.0.conv1.weight"            */
    int ndim;                     /* 0 for a scalar                     */
    int64_t shape[GC_MAX_DIMS];
    int64_t numel;
    float *data;                  /* numel floats, owned unless ...     */
    int borrowed;                 /* ... they lie in the dict's map     */
} gc_sd_tensor;

typedef struct gc_state_dict {
    gc_sd_tensor *tensors;
    int count;
    void *map;      /* the mapped file borrowed tensors lie in, or NULL */
    size_t map_len;
} gc_state_dict;

/* NULL if absent. */
const gc_sd_tensor *gc_sd_find(const gc_state_dict *sd, const char *name);
/* Frees (or, if borrowed, gives the system back the pages of) one
 * tensor's data, which nothing may read any more. */
void gc_sd_drop_data(gc_sd_tensor *t);
void gc_sd_free(gc_state_dict *sd);

#endif
