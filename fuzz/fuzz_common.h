/* fuzz_common.h — what the libFuzzer targets share: a private scratch
 * directory for parsers that only read paths, a checker for the library's
 * error contract, and a synthetic torchvision ResNet state_dict built in
 * memory (no Python, no file) for the builder and description targets.
 *
 * Not a test framework: a broken contract calls abort(), which libFuzzer
 * reports as a crash with the input that caused it. */
#ifndef GC_FUZZ_COMMON_H
#define GC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "gradcam.h"
#include "loaders/state_dict.h"

/* A directory of our own, created on first use, removed at exit. */
const char *fz_tmpdir(void); /* /dev/shm if writable, else $TMPDIR */
/* dir/name, in a static buffer (targets are single-threaded). */
const char *fz_path(const char *name);
/* Writes the whole buffer to path (truncating); aborts on failure, which
 * is the harness's problem, not the parser's. */
void fz_write(const char *path, const uint8_t *data, size_t size);

/* Every failing call must fill err with its own status and a non-empty,
 * one-line, NUL-terminated message; a success must not say it failed. */
void fz_check(gc_status st, const gc_error *err);

/* After a weight loader ran: a failure must leave sd empty; a success must
 * hold self-consistent tensors readable end to end (strict: also unique,
 * "module."-stripped names and at most one element per input byte), and is
 * handed to the ResNet builder as gc_model_load would. Takes sd. */
void fz_check_state_dict_and_build(gc_status st, gc_error *err, gc_state_dict *sd,
                                   const char *label, size_t input_size, int strict);

/* A BasicBlock ResNet with one block per stage: conv1 width w, stages w, 2w,
 * 4w, 8w, fc with `classes` outputs. Values are small, deterministic and
 * running_var positive. Returns 0 on success. */
int fz_resnet_sd(gc_state_dict *sd, int w, int classes);
/* Appends (or replaces) a tensor; takes ownership of nothing. Returns 0. */
int fz_sd_put(gc_state_dict *sd, const char *name, int ndim, const int64_t *shape);

#endif
