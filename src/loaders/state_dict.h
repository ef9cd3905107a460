/* state_dict.h — what the weight loaders (.pth, safetensors) share: reading
 * a mapped file into a gc_state_dict (core/weights.h), and finishing one. */
#ifndef GC_LOADERS_STATE_DICT_H
#define GC_LOADERS_STATE_DICT_H

#include "core/weights.h"


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
