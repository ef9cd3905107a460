/* file.h — opening a user's input file for reading: the checks and the
 * messages every loader shares (missing, unreadable, a directory, a device,
 * larger than the loader accepts). */
#ifndef GC_CORE_FILE_H
#define GC_CORE_FILE_H

#include "gradcam.h"

#include <stddef.h>
#include <stdint.h>

/* Opens path read-only and checks it is a regular file of at most
 * max_bytes; what names the expected kind in messages ("checkpoint file").
 * On success *fd is open (the caller closes it) and *len is its size. */
gc_status gc_file_open(const char *path, const char *what, uint64_t max_bytes, int *fd,
                       size_t *len, gc_error *err);

/* The same for a model file under a caller's limits (NULL: the defaults):
 * resolves them into *resolved, then opens path with the file size they
 * allow. */
gc_status gc_file_open_model(const char *path, const char *what, const gc_limits *lim,
                             gc_limits *resolved, int *fd, size_t *len, gc_error *err);

/* Loads a model file with a loader's from_memory (gc_pth_load_memory,
 * gc_safetensors_load_memory): the file is checked as gc_file_open_model
 * does (an empty one is a format error naming what), mapped read-only and
 * handed over whole, so loaders read their data straight out of the page
 * cache with no copy of the file in memory, then unmapped. */
struct gc_state_dict;
typedef gc_status (*gc_from_memory)(const void *data, size_t len, const char *label,
                                    const gc_limits *lim, struct gc_state_dict *out,
                                    gc_error *err);
gc_status gc_file_load_model(const char *path, const char *what, const gc_limits *lim,
                             gc_from_memory from_memory, struct gc_state_dict *out,
                             gc_error *err);

#endif
