/* pth.h — the .pth (torch.save) loader's entry points: from a file, and,
 * for tests and fuzz targets that already hold a checkpoint, from memory. */
#ifndef GC_LOADERS_PTH_H
#define GC_LOADERS_PTH_H

#include <stddef.h>

#include "loaders/state_dict.h"

/* The cap on data.pkl. The float32 bytes produced, raw storage read and
 * file size follow the caller's gc_limits (core/limits.h). */
#define GC_PTH_MAX_PICKLE ((size_t)256 << 20)

/* Parses a zip-format or legacy checkpoint held in buf. label (usually the
 * file path) starts every error message. lim may be NULL (the defaults).
 * Without lend, buf must stay valid during the call only and *out owns
 * everything it holds. With lend, buf outlives *out (a mapped file, as
 * gc_sd_load_file passes it): whole float32 tensors stored uncompressed
 * are left where they lie, borrowed, and *out then holds buf (map) for
 * gc_sd_free to unmap. On failure *out is empty. */
gc_status gc_pth_load_memory(const void *buf, size_t len, const char *label,
                             const gc_limits *lim, int lend, gc_state_dict *out, gc_error *err);

/* Loads a state_dict saved by torch.save, zip (torch >= 1.6) or legacy
 * format, detected by content. Accepts a bare state_dict or one nested under
 * "state_dict" / "model" in a dict; strips a leading "module." (DataParallel).
 * Never executes anything: the unpickler knows only the opcodes and globals
 * a state_dict needs and rejects everything else, naming it. lim may be
 * NULL (the defaults); over its max_weight_bytes is GC_ERR_LIMIT. */
gc_status gc_pth_load(const char *path, const gc_limits *lim, gc_state_dict *out,
                      gc_error *err);

#endif
