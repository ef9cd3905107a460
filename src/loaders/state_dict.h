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
    float *data;                  /* numel floats, owned unless ...     */
    int borrowed;                 /* ... they lie in the dict's map     */
} gc_sd_tensor;

typedef struct gc_state_dict {
    gc_sd_tensor *tensors;
    int count;
    void *map;      /* the mapped file borrowed tensors lie in, or NULL */
    size_t map_len;
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
/* Frees (or, if borrowed, gives the system back the pages of) one
 * tensor's data, which nothing may read any more. */
void gc_sd_drop_data(gc_sd_tensor *t);
void gc_sd_free(gc_state_dict *sd);
/* A loader's last step, with st its status so far: on failure sd is
 * freed and st returned; on success, if any tensor was lent out of the
 * buffer map (len bytes, a mapped file), sd takes the mapping for
 * gc_sd_free to unmap, and err is cleared. */
gc_status gc_sd_finish(gc_state_dict *sd, gc_status st, const void *map, size_t len,
                       gc_error *err);

/* Loads a model file with a loader's from_memory (gc_pth_load_memory,
 * gc_safetensors_load_memory), called with lend set: the file is checked
 * as gc_file_open_model does (an empty one is a format error naming
 * what), mapped read-only and
 * handed over whole, so loaders read their data straight out of the page
 * cache with no copy of the file in memory. It is unmapped after, unless
 * *out keeps it (out->map) for tensors that lie in it. *out is emptied
 * first; no path or no out is GC_ERR_USAGE. */
typedef gc_status (*gc_from_memory)(const void *data, size_t len, const char *label,
                                    const gc_limits *lim, int lend, gc_state_dict *out,
                                    gc_error *err);
gc_status gc_sd_load_file(const char *path, const char *what, const gc_limits *lim,
                          gc_from_memory from_memory, gc_state_dict *out, gc_error *err);

#endif
