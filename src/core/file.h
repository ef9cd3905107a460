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

#endif
