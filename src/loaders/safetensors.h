/* safetensors.h — the safetensors weight format (Hugging Face, timm): an
 * 8-byte little-endian header length N, N bytes of JSON naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data. Loaded into
 * the same gc_state_dict as a .pth, so the ResNet builder cannot tell them
 * apart. Not here: writing the format, or anything the __metadata__ says. */
#ifndef GC_LOADERS_SAFETENSORS_H
#define GC_LOADERS_SAFETENSORS_H

#include <stddef.h>

#include "loaders/state_dict.h"

/* The cap on the JSON header. The float32 bytes produced and the file size
 * follow the caller's gc_limits (core/limits.h). */
#define GC_ST_MAX_HEADER ((uint64_t)100 << 20)

/* 1 when the first bytes look like a safetensors file: a header length of
 * at least 2 and below 2^32, then '{'. Needs 9 bytes; fewer is "no". */
int gc_safetensors_sniff(const void *head, size_t n);
/* The same, reading the first bytes of path; 0 if it cannot be read. */
int gc_safetensors_sniff_file(const char *path);

/* Parses a safetensors file held in buf into *out (every dtype converted to
 * float32, a leading "module." stripped). label starts every message; lim
 * may be NULL (the defaults). With lend, buf outlives *out (a mapped
 * file): aligned float32 tensors are used where they lie, borrowed, and
 * *out then holds buf (map) for gc_sd_free to unmap. On failure *out is
 * empty. */
gc_status gc_safetensors_load_memory(const void *buf, size_t len, const char *label,
                                     const gc_limits *lim, int lend, gc_state_dict *out,
                                     gc_error *err);

/* Maps path and parses it as above, lending; messages start with path. */
gc_status gc_safetensors_load(const char *path, const gc_limits *lim, gc_state_dict *out,
                              gc_error *err);

#endif
