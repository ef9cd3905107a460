/* inputs.h — reading what the user points the tool at. */
#ifndef GC_CLI_INPUTS_H
#define GC_CLI_INPUTS_H

#include "cli/cli.h"

/* The model's own preprocessing, overridden by --preprocess. */
int cli_preprocess_from_args(const cli_args *a, const gc_model *m, gc_preprocess *p);
/* Loads an image under lim and its normalised 1x3xSxS tensor (caller frees
 * both). The first reports a failure on stderr, the second only in err. */
gc_status cli_read_image_tensor(const char *path, const gc_limits *lim, const gc_preprocess *p,
                                gc_image *photo, float **x, gc_error *err);
int cli_load_image_tensor(const char *path, const gc_limits *lim, const gc_preprocess *p,
                          gc_image *photo, float **x);
/* A directory given as an image (or as --input-npy, --labels) is refused,
 * every one before any work starts, so that `explain photos` does not fail
 * after a model load with a decoder's puzzled message: exit 1 (bad input,
 * like a missing file), saying it is a directory and how to name its images. */
int cli_refuse_directories(const cli_args *a);
/* Loads a float32 [N,3,H,W] batch. */
int cli_load_npy_batch(const char *path, gc_array *x);
/* "dir/shark.jpeg" -> "shark". */
void cli_stem(const char *path, char *buf, size_t cap);

#endif
