/* pipeline.h — runs three stages over items 0..n-1 on three threads, so
 * decoding the next image and writing the last one's figures overlap the
 * current one's computation:
 *
 *     load (own thread)  ->  compute (calling thread)  ->  write (own thread)
 *
 * Each stage sees the items in order; at most three are in flight. Only the
 * write stage may print, so output keeps the order of the inputs. When load
 * or compute fails for an item, that item goes straight to write (which
 * reports the failure it stored in the item) and nothing after it is
 * started; when write returns non-zero, everything stops. */
#ifndef GC_CLI_PIPELINE_H
#define GC_CLI_PIPELINE_H

#include <stddef.h>

typedef struct cli_pipeline {
    int n;              /* items                                            */
    size_t item_size;   /* bytes of the caller's per-item state             */
    void *ctx;
    /* Return 0 to go on; otherwise the item carries its own failure. */
    int (*load)(void *ctx, int i, void *item);
    int (*compute)(void *ctx, int i, void *item);
    /* failed: what load or compute returned (0 if both went well). Returns
     * the item's exit code; non-zero stops the pipeline. */
    int (*write)(void *ctx, int i, void *item, int failed);
    /* Frees an item that will not be written (after a stop). */
    void (*discard)(void *ctx, void *item);
    /* Non-zero: a failed load or compute does not stop the items after it
     * (write still reports it; only write's non-zero return stops). */
    int keep_going;
} cli_pipeline;

/* The first non-zero exit code write returned, or 0; -1 if the threads
 * could not be started (nothing was run). */
int cli_pipeline_run(const cli_pipeline *p);

#endif
